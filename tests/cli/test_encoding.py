"""Vietnamese survives any locale: real processes under LC_ALL=C, an ASCII-only locale and a Latin-1 terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PASSPHRASE, PLACE, PRODUCT, Env


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONIOENCODING", "PYTHONUTF8"))}
    env.update(OCOP_HOME=str(home), OCOP_PASSPHRASE=PASSPHRASE, OCOP_TEST_KDF_COST="14", LC_ALL="C", LANG="C", **extra)
    return env


def _ocop(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ocop_cli", *args], env=env, capture_output=True, timeout=120, check=False
    )


LOCALES = {
    "LC_ALL=C": {},
    "ascii-locale": {"PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
    "latin1-terminal": {"PYTHONIOENCODING": "latin-1"},
    "ascii-terminal": {"PYTHONIOENCODING": "ascii:strict"},
}


@pytest.mark.slow  # real processes
@pytest.mark.parametrize("locale", LOCALES)
def test_vietnamese_round_trips_through_a_real_process(tmp_path: Path, locale: str) -> None:
    env = _env(tmp_path / "home", **LOCALES[locale])
    assert _ocop(env, "key", "new", "coop").returncode == 0
    made = _ocop(
        env,
        "batch",
        "new",
        "--key",
        "coop",
        "--product",
        PRODUCT,
        "--lot",
        "L1",
        "--quantity",
        "1",
        "--unit",
        "hộp",
        "--where",
        PLACE,
        "--at",
        "2024-11-01T08:00:00+07:00",
    )
    assert made.returncode == 0, made.stderr.decode("utf-8", "replace")
    batch = made.stdout.decode("ascii").strip()
    shown = _ocop(env, "batch", "show", batch)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout.decode("utf-8")  # strict: the output is UTF-8 whatever the locale
    assert PRODUCT in text
    assert PLACE in text
    doc = json.loads(_ocop(env, "batch", "show", batch, "--json").stdout.decode("utf-8"))
    assert doc["events"][0]["product"]["name"] == PRODUCT
    assert doc["events"][0]["product"]["unit"] == "hộp"


@pytest.mark.slow  # real processes
def test_lc_all_c_without_pythonioencoding_errors_are_readable(tmp_path: Path) -> None:
    env = _env(tmp_path / "home")
    result = _ocop(env, "batch", "show", "abcdef")
    assert result.returncode == 3
    message = result.stderr.decode("utf-8")
    assert "E_NOT_FOUND" in message
    assert "Traceback" not in message
    verbose = _ocop(env, "--verbose", "batch", "show", "abcdef")
    assert verbose.returncode == 3
    assert "Traceback" in verbose.stderr.decode("utf-8")


@pytest.mark.slow  # real processes
def test_demo_under_lc_all_c(tmp_path: Path) -> None:
    result = _ocop(_env(tmp_path / "home"), "demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode("utf-8")
    assert "Đông trùng hạ thảo sấy khô" in out
    assert "NOT VERIFIED" in out


def test_invalid_utf8_in_arguments_is_a_usage_error(env: Env) -> None:
    env.new_key()
    bad = os.fsdecode(b"\xff\xfe")  # bytes that are not UTF-8, as Python receives them from argv
    result = env.run("batch", "new", "--key", "coop", "--product", bad, "--lot", "L", "--quantity", "1", "--unit", "kg")
    assert result.exit_code == 2
    assert "UTF-8" in result.stderr
    assert env.ledger_state() is None


def test_cli_runner_output_is_utf8(env: Env) -> None:
    env.new_key()
    batch = env.new_batch()
    result = env.run("batch", "show", batch)
    assert PRODUCT.encode("utf-8") in result.stdout_bytes
