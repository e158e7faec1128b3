"""The Vietnamese catalogue of the CLI: complete, translated, placeholders kept, and compiled by the build.

The messages are extracted at test time with Babel's Python API and the project's own mapping (cli/babel.cfg), so a
new English message that nobody translated fails here (`python3 tasks.py i18n` adds it to the .po, for translation).
"""

from __future__ import annotations

import io
import string
import unicodedata
from functools import cache
from pathlib import Path

import pytest

babel = pytest.importorskip("babel")

from babel.messages.extract import extract_from_dir  # noqa: E402
from babel.messages.frontend import parse_mapping_cfg  # noqa: E402
from babel.messages.mofile import read_mo  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402

import ocop_cli  # noqa: E402
from ocop_cli import i18n  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "cli"
LOCALE = CLI / "ocop_cli" / "locale"
PO = LOCALE / "vi" / "LC_MESSAGES" / "ocop.po"

Id = str | tuple[str, str]


@cache
def _extracted() -> frozenset[Id]:
    with (CLI / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: set[Id] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        CLI / "ocop_cli", method_map, options_map, keywords={"gettext": None, "ngettext": (1, 2)}
    ):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return frozenset(found)


@cache
def _catalogue():
    return read_po(io.BytesIO(PO.read_bytes()), locale="vi")


def _entries() -> dict[Id, object]:
    return {m.id if isinstance(m.id, str) else (m.id[0], m.id[1]): m for m in _catalogue() if m.id}


def _fields(text: str) -> set[str]:
    names = set()
    for _literal, name, _spec, _conversion in string.Formatter().parse(text):
        if name is not None:
            names.add(name)
    return names


def test_extraction_finds_the_cli_messages() -> None:
    found = _extracted()
    # one of each kind: a t() template, a tn() pair, an N_ mark, a click option help, a command docstring,
    # a CliError message, click's own help heading
    assert "created key {name} in {path}" in found
    assert ("{n} event", "{n} events") in found
    assert "the passphrase is missing or wrong" in found
    assert "Show tracebacks and more detail on errors." in found
    assert "Open batches and read their history." in found
    assert "the passphrase must not be empty" in found
    assert "Usage:" in found
    assert len(found) > 600


def test_every_extracted_message_is_in_the_catalogue_and_nothing_else() -> None:
    entries = set(_entries())
    missing = sorted(map(str, _extracted() - entries))
    assert not missing, f"run `python3 tasks.py i18n` and translate: {missing[:20]}"
    assert not sorted(map(str, entries - _extracted())), "obsolete entries: run `python3 tasks.py i18n`"


def test_every_message_has_a_vietnamese_translation() -> None:
    untranslated = []
    for key, m in _entries().items():
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if m.fuzzy or not all(s and s.strip() for s in strings):
            untranslated.append(key)
    assert not untranslated, untranslated[:20]


def test_placeholders_are_the_same_in_every_translation() -> None:
    for key, m in _entries().items():
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        # Vietnamese has one form (nplurals=1): it is filled with the fields of the plural form
        english = key if isinstance(key, str) else key[1]
        for s in strings:
            assert _fields(s) == _fields(english), (key, s)


def test_vietnamese_has_one_plural_form_and_nfc_text() -> None:
    text = PO.read_text(encoding="utf-8")
    assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in text
    assert _catalogue().num_plurals == 1
    assert unicodedata.is_normalized("NFC", text)


def test_the_build_compiled_the_catalogue_and_it_is_not_committed() -> None:
    mo = Path(ocop_cli.__file__).parent / "locale" / "vi" / "LC_MESSAGES" / "ocop.mo"
    assert mo.is_file(), "pip install -e . compiles the .po (hatch_build.py)"
    with mo.open("rb") as f:
        compiled = read_mo(f)
    assert compiled.get("Usage:").string == "Cách dùng:"
    assert "*.mo" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_the_running_cli_loads_the_compiled_catalogue() -> None:
    i18n.use("vi")
    try:
        assert i18n.gettext("the passphrase is missing or wrong") == "cụm mật khẩu bị thiếu hoặc sai"
        assert i18n.ngettext("{n} event", "{n} events", 1) == "{n} sự kiện"
    finally:
        i18n.use("en")
    assert i18n.gettext("the passphrase is missing or wrong") == "the passphrase is missing or wrong"


def test_help_paragraphs_keep_clicks_no_rewrap_marker_out_of_the_message_id() -> None:
    text = "First line\n    of it.\n\n    \b\n    Exit codes:\n      0  ok\n    "
    assert list(i18n.help_paragraphs(text)) == [("", "First line\nof it."), ("\b\n", "Exit codes:\n  0  ok")]
