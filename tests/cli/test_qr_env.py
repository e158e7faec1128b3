"""ocop qr in real processes: Vietnamese under LC_ALL=C, and a CLI installed without the qr extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PASSPHRASE, PLACE, PRODUCT

pytest.importorskip("zxingcpp")
pytestmark = pytest.mark.slow  # every test runs the CLI in real processes

R = "https://id.example.vn"

# Makes the QR, image and PDF libraries unimportable, as in an install of ocop-provenance[cli] without [qr].
BLOCK_QR = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("zxingcpp", "PIL", "fpdf"):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return None
sys.meta_path.insert(0, _Block())
"""


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONIOENCODING", "PYTHONUTF8"))}
    env.update(
        OCOP_HOME=str(home),
        OCOP_PASSPHRASE=PASSPHRASE,
        OCOP_TEST_KDF_COST="14",
        OCOP_RESOLVER=R,
        LC_ALL="C",
        LANG="C",
        **extra,
    )
    return env


def _ocop(env: dict[str, str], *args: str, block_qr: bool = False) -> subprocess.CompletedProcess[bytes]:
    prelude = BLOCK_QR if block_qr else ""
    code = prelude + "\nimport sys\nfrom ocop_cli.main import main\nsys.argv = ['ocop', *sys.argv[1:]]\nmain()\n"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, timeout=120, check=False)


def _batch(env: dict[str, str], tmp: Path) -> tuple[str, Path]:
    assert _ocop(env, "key", "new", "coop").returncode == 0
    made = _ocop(
        env,
        "batch", "new", "--key", "coop", "--product", PRODUCT, "--lot", "L1", "--quantity", "1", "--unit", "hộp",
        "--where", PLACE, "--at", "2024-11-01T08:00:00+07:00", "--producer", "HTX Nông nghiệp Nghi Sơn",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr.decode("utf-8", "replace")
    pem = tmp / "coop.pem"
    pem.write_bytes(_ocop(env, "key", "export", "coop").stdout)
    return made.stdout.decode("ascii").strip(), pem


@pytest.mark.parametrize("extra", [{}, {"PYTHONIOENCODING": "ascii:strict"}], ids=["LC_ALL=C", "ascii-terminal"])
def test_vietnamese_in_terminal_and_json_output_under_c_locale(tmp_path: Path, extra: dict[str, str]) -> None:
    env = _env(tmp_path / "home", **extra)
    batch, pem = _batch(env, tmp_path)
    made = _ocop(env, "qr", "make", batch, "--key", "coop", "-o", str(tmp_path / "c.png"))
    assert made.returncode == 0, made.stderr.decode("utf-8", "replace")
    url = made.stdout.decode("ascii").strip()
    bundle = tmp_path / "b.ocop"
    assert _ocop(env, "export", batch, "-o", str(bundle)).returncode == 0
    text = _ocop(env, "qr", "verify", "--image", str(tmp_path / "c.png"), "--trusted-key", str(pem), "--bundle",
                 str(bundle))  # fmt: skip
    assert text.returncode == 0, text.stderr.decode("utf-8", "replace")
    shown = text.stdout.decode("utf-8")
    assert PRODUCT in shown
    assert "HTX Nông nghiệp Nghi Sơn" in shown
    assert "Không chứng minh" in shown
    doc = _ocop(env, "qr", "verify", url, "--trusted-key", str(pem), "--bundle", str(bundle), "--json")
    assert doc.returncode == 0
    assert PRODUCT.encode("utf-8") in doc.stdout  # not ASCII-escaped
    parsed = json.loads(doc.stdout.decode("utf-8"))
    assert parsed["seal"]["chain"]["product_name"] == PRODUCT
    drawn = _ocop(env, "qr", "make", batch, "--key", "coop", "-o", "-")
    assert drawn.returncode == 0
    assert "█".encode() in drawn.stdout


def test_the_cli_works_without_the_qr_extra_and_names_it(tmp_path: Path) -> None:
    env = _env(tmp_path / "home")
    blocked = _ocop(env, "--help", block_qr=True)
    assert blocked.returncode == 0, blocked.stderr.decode("utf-8", "replace")
    assert b"qr" in blocked.stdout
    assert _ocop(env, "qr", "verify", "--help", block_qr=True).returncode == 0
    batch, pem = _batch(env, tmp_path)
    made = _ocop(env, "qr", "make", batch, "--key", "coop", "--json", block_qr=True)
    assert made.returncode == 3
    doc = json.loads(made.stdout)
    assert doc["error"]["code"] == "E_MISSING_EXTRA"
    assert "ocop-provenance[qr]" in doc["error"]["message"]
    text = _ocop(env, "qr", "labels", batch, "--key", "coop", "--count", "2", "-o", str(tmp_path / "s.pdf"),
                 block_qr=True)  # fmt: skip
    assert text.returncode == 3
    assert b"pip install 'ocop-provenance[qr]'" in text.stderr
    image = tmp_path / "x.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    doc = json.loads(
        _ocop(env, "qr", "verify", "--image", str(image), "--trusted-key", str(pem), "--json", block_qr=True).stdout
    )
    assert doc["error"]["code"] == "E_MISSING_EXTRA"
    # Seals themselves need no extra: a text form verifies without it (here: refused as malformed, exit 1).
    refused = _ocop(env, "qr", "verify", "OCOP1:XX", "--trusted-key", str(pem), block_qr=True)
    assert refused.returncode == 1
