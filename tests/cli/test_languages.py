"""ocop in Vietnamese and English: how a run picks its language, and the key workflows in both.

Every workflow runs twice, `--lang en` and `--lang vi`: same exit codes, the Vietnamese run says it in Vietnamese
(expected phrases, and no English sentence of the catalogue left untranslated), and `--json` is the same document.
"""

from __future__ import annotations

import io
import json
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from click.testing import Result

from ocop_cli import i18n

from .conftest import PLACE, Env, step
from .trust_setup import PINS, make_bundle, make_policy, make_trust

PO = Path(i18n.__file__).parent / "locale" / "vi" / "LC_MESSAGES" / "ocop.po"
LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE", "OCOP_LANG")


@pytest.fixture(autouse=True)
def _neutral_locale(env: Env, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No language settings at all (after ``env``, which pins English for the other CLI tests)."""
    for name in LOCALE_VARS:
        monkeypatch.delenv(name, raising=False)
    yield
    assert i18n.current() == "en"  # every run puts English back for whatever runs next in this process


@cache
def _english_sentences() -> tuple[str, ...]:
    """Literal pieces (four words or more) of every English message whose Vietnamese differs."""
    catalogue = read_po(io.BytesIO(PO.read_bytes()), locale="vi")
    pieces: set[str] = set()
    for m in catalogue:
        if not m.id:
            continue
        ids = (m.id,) if isinstance(m.id, str) else m.id
        translated = " ".join(m.string if isinstance(m.string, tuple) else (m.string,))
        for english in ids:
            for literal, *_ in string.Formatter().parse(english):
                for part in re.split(r"[\n:;()\[\]]", literal):
                    piece = part.strip(" .,")
                    if len(piece.split()) >= 4 and re.search(r"[a-z]{3}", piece) and piece not in translated:
                        pieces.add(piece)
    return tuple(sorted(pieces))


def untranslated(text: str) -> list[str]:
    return [p for p in _english_sentences() if p in text]


def both(result: Result) -> str:
    return result.stdout + result.stderr


def run(env: Env, lang: str, *args: str, code: int = 0) -> Result:
    result = env.run("--lang", lang, *args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    if lang == "vi":
        assert not untranslated(both(result)), untranslated(both(result))
    return result


# ---- choosing the language -------------------------------------------------------------------------------------

UNKNOWN_BATCH = ("batch", "show", "abcdef")  # an error with a CLI message and an explanation


@pytest.mark.parametrize(
    ("args", "environ", "expected"),
    [
        ((), {}, "en"),
        (("--lang", "vi"), {}, "vi"),
        (("--lang=vi",), {}, "vi"),
        ((), {"OCOP_LANG": "vi"}, "vi"),
        ((), {"LANG": "vi_VN.UTF-8"}, "vi"),
        ((), {"LC_MESSAGES": "vi_VN"}, "vi"),
        ((), {"LC_ALL": "vi_VN.UTF-8", "LANG": "en_US.UTF-8"}, "vi"),
        ((), {"LC_ALL": "C", "LANG": "vi_VN.UTF-8"}, "en"),  # the first locale variable set decides
        ((), {"LANG": "en_US.UTF-8"}, "en"),
        (("--lang", "en"), {"LANG": "vi_VN.UTF-8"}, "en"),
        (("--lang", "en"), {"OCOP_LANG": "vi"}, "en"),
        ((), {"OCOP_LANG": "en", "LANG": "vi_VN.UTF-8"}, "en"),
    ],
)
def test_the_language_comes_from_lang_then_ocop_lang_then_the_locale(
    env: Env, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], environ: dict[str, str], expected: str
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    result = env.run(*args, *UNKNOWN_BATCH)
    assert result.exit_code == 3
    if expected == "vi":
        assert "chưa có sổ cái trong" in result.stderr
        assert "(không có lô hoặc khóa như vậy)" in result.stderr
        assert "no ledger" not in result.stderr
    else:
        assert "there is no ledger yet in" in result.stderr
        assert "(there is no such batch or key)" in result.stderr


@pytest.mark.parametrize("args", [("--lang", "xx"), ("--lang=fr",)])
def test_an_unknown_language_is_a_usage_error(env: Env, args: tuple[str, ...]) -> None:
    result = env.run(*args, "key", "list")
    assert result.exit_code == 2
    assert "Invalid value for '--lang': " in result.stderr
    assert "'en', 'vi'" in result.stderr


def test_an_unknown_ocop_lang_is_a_usage_error(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCOP_LANG", "de")
    result = env.run("key", "list")
    assert result.exit_code == 2
    assert "'de' is not one of 'en', 'vi'" in result.stderr


def test_help_is_translated_command_docstrings_options_and_clicks_headings(env: Env) -> None:
    vi = run(env, "vi", "batch", "new", "--help").stdout
    assert vi.startswith("Cách dùng: cli batch new [OPTIONS]")
    assert "Mở một lô mới (sự kiện mở lô)" in vi
    assert "Tùy chọn:" in vi
    assert "Số lô in trên bao bì." in vi
    assert "[bắt buộc]" in vi
    assert "Hiển thị trợ giúp này rồi thoát." in vi
    en = run(env, "en", "batch", "new", "--help").stdout
    assert "Open a new batch (its genesis event)" in en
    assert "Lot code printed on the package." in en
    assert "Show this message and exit." in en
    root = run(env, "vi", "--help").stdout
    assert "  Mã thoát:\n    0  thành công / đã xác minh\n" in root  # the epilog, click's \b paragraph kept
    assert "Lệnh:" in root
    assert "Liệt kê các lô trong sổ cái." not in root  # a group's short help, not its subcommands'
    assert "Mở lô và đọc lịch sử của lô." in root


def test_usage_errors_from_click_are_translated(env: Env) -> None:
    result = run(env, "vi", "batch", "new", "--key", "coop", code=2)
    assert "Cách dùng: cli batch new [OPTIONS]" in result.stderr
    assert "Lỗi: Thiếu tùy chọn '--product'" in result.stderr
    result = run(env, "vi", "batch", "nwe", code=2)
    assert "Lỗi: Không có lệnh 'nwe'." in result.stderr


def test_our_usage_errors_are_translated(env: Env) -> None:
    result = run(env, "vi", "verify", str(env.tmp / "x.ocop"), code=2)
    assert "hãy dùng --trusted-key PEM hoặc --trust LIST" in result.stderr


@pytest.mark.slow
def test_vietnamese_survives_a_c_locale() -> None:
    """A real process under LANG=C with --lang vi: UTF-8 on stdout and stderr, whatever the locale says."""
    environ = {"LANG": "C", "LC_ALL": "C", "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": ""}
    out = subprocess.run(
        [sys.executable, "-m", "ocop_cli", "--lang", "vi", "batch", "--help"],
        capture_output=True,
        env=environ,
        check=True,
    )
    assert "Mở lô và đọc lịch sử của lô.".encode() in out.stdout
    assert "Cách dùng:".encode() in out.stdout


# ---- the key workflows in both languages ----------------------------------------------------------------------

EXPECTED_VI = {
    "key new": "đã tạo khóa coop trong",
    "batch new": "đã mở lô",
    "step add": "đã thêm commissioning làm bước #1 của lô",
    "export": "đã ghi gói dữ liệu",
    "verify ok": "ĐÃ XÁC MINH",
    "verify failed": "KHÔNG XÁC MINH ĐƯỢC",
    "qr make": "đã đóng dấu lô",
    "qr verify": "Chứng minh:",
    "trust verify": "ĐÃ XÁC MINH",
}


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_key_batch_step_export_and_verify(env: Env, lang: str) -> None:
    said: dict[str, str] = {}
    said["key new"] = both(run(env, lang, "key", "new", "coop"))
    run(env, lang, "key", "new", "other")
    pem = env.pem("coop")
    other = env.pem("other")
    result = run(
        env, lang, "batch", "new", "--key", "coop", "--product", "Đông trùng hạ thảo", "--lot", "L1",
        "--quantity", "12.5", "--unit", "kg", "--where", PLACE, "--at", "2024-11-01T08:00:00+07:00",
    )  # fmt: skip
    said["batch new"] = both(result)
    batch = result.stdout.strip()
    said["step add"] = both(
        run(env, lang, "step", "add", batch, "--key", "coop", "--step", "commissioning",
            "--at", "2024-11-02T07:30:00+07:00", "--where", PLACE)
    )  # fmt: skip
    run(env, lang, "batch", "show", batch[:8])
    run(env, lang, "batch", "list")
    run(env, lang, "key", "list")
    bundle = env.tmp / "b.ocop"
    said["export"] = both(run(env, lang, "export", batch, "-o", str(bundle)))
    said["verify ok"] = both(run(env, lang, "verify", str(bundle), "--trusted-key", str(pem)))
    said["verify failed"] = both(run(env, lang, "verify", str(bundle), "--trusted-key", str(other), code=1))
    if lang == "vi":
        for what in ("key new", "batch new", "step add", "export", "verify ok", "verify failed"):
            assert EXPECTED_VI[what] in said[what], (what, said[what])
        assert "được ký bằng một khóa không nằm trong các khóa tin cậy" in said["verify failed"]
    else:
        assert "created key coop in" in said["key new"]
        assert "VERIFIED" in said["verify ok"]
        assert "NOT VERIFIED" in said["verify failed"]


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_qr_make_and_verify(env: Env, lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("zxingcpp")
    monkeypatch.setenv("OCOP_RESOLVER", "https://id.example.vn")
    env.new_key("coop")
    batch = env.new_batch("coop", "Đông trùng hạ thảo", "L2411-01", "--gtin", "08931234567897")
    assert step(env, batch, "commissioning", "2024-11-01T09:00:00+07:00").exit_code == 0
    pem = env.pem("coop")
    made = run(env, lang, "qr", "make", batch, "--key", "coop", "-o", str(env.tmp / "c.png"))
    code = made.stdout.strip()
    checked = run(env, lang, "qr", "verify", code, "--trusted-key", str(pem))
    altered = code[:-1] + str((int(code[-1]) + 1) % 10)  # always another seal (a fixed "000" was not, 1 run in 1,000)
    bad = run(env, lang, "qr", "verify", altered, "--trusted-key", str(pem), code=1)
    assert "CON DẤU HỢP LỆ" in checked.stdout
    if lang == "vi":
        assert EXPECTED_VI["qr make"] in made.stderr
        assert EXPECTED_VI["qr verify"] in checked.stdout
        assert "Proves:" not in checked.stdout
        assert "NOT VERIFIED · KHÔNG XÁC MINH ĐƯỢC" in both(bad)
    else:
        assert "Proves:" in checked.stdout


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_trust_verify_inspect_and_an_audit_with_a_policy(env: Env, lang: str) -> None:
    auth = make_trust(env)
    result = run(env, lang, "trust", "verify", str(auth.signed), *PINS)
    inspected = run(env, lang, "trust", "inspect", str(auth.signed))
    policy = make_policy(env)
    run(env, lang, "policy", "inspect", str(policy))
    run(env, lang, "policy", "verify", str(policy), "--trust", str(auth.signed))
    good, _ = make_bundle(env)
    audit = run(env, lang, "verify", str(good), "--trust", str(auth.signed), "--policy", str(policy))
    bad, _ = make_bundle(env, "bad.ocop", attach_pdf=False)
    failed = run(env, lang, "verify", str(bad), "--trust", str(auth.signed), "--policy", str(policy), code=1)
    if lang == "vi":
        assert EXPECTED_VI["trust verify"] in result.stdout
        assert "bên cấp     Văn phòng Điều phối OCOP" in result.stdout
        assert "đang dùng" in inspected.stdout  # a key's status
        assert "quy trình được đáp ứng" in audit.stdout
        assert "thiếu một tệp đính kèm mà quy trình yêu cầu" in both(failed)
    else:
        assert "the policy is satisfied" in audit.stdout


# ---- --json is English and the same in both languages ------------------------------------------------------------

_VOLATILE = re.compile(r"[0-9a-f]{16,}|\d{4}-\d\d-\d\dT[0-9:.+\-Z]+|/tmp/\S+|" + re.escape("pytest-") + r"\S+")


def _masked(doc: Any) -> str:
    return _VOLATILE.sub("…", json.dumps(doc, ensure_ascii=False, sort_keys=True))


@pytest.mark.parametrize(
    "args",
    [
        ("key", "list"),
        ("batch", "list"),
        ("batch", "show", "BATCH"),
        ("verify", "BUNDLE", "--trusted-key", "PEM"),
        ("verify", "BUNDLE", "--trusted-key", "OTHER"),
        ("batch", "show", "ffffff"),
        ("export", "ffffff", "-o", "X"),
    ],
)
def test_json_is_the_same_document_in_both_languages(env: Env, args: tuple[str, ...]) -> None:
    env.new_key("coop")
    env.new_key("other")
    pem, other = env.pem("coop"), env.pem("other")
    batch = env.new_batch()
    bundle = env.tmp / "b.ocop"
    env.ok("export", batch, "-o", str(bundle))
    names = {"BATCH": batch, "BUNDLE": str(bundle), "PEM": str(pem), "OTHER": str(other), "X": str(env.tmp / "x")}
    argv = [names.get(a, a) for a in args]
    docs = []
    for lang_args in ((), ("--lang", "en"), ("--lang", "vi")):
        result = env.run(*lang_args, *argv, "--json")
        docs.append((result.exit_code, _masked(json.loads(result.stdout))))
    assert docs[0] == docs[1] == docs[2]


def test_json_errors_stay_english_in_a_vietnamese_locale(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "vi_VN.UTF-8")
    result = env.run("batch", "show", "abcdef", "--json")
    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert error["message"].startswith("there is no ledger yet in")
    assert error["explanation"] == "there is no such batch or key"
