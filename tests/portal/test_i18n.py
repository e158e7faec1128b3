"""Translations: every message of the templates and code is translated into Vietnamese and English."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

babel = pytest.importorskip("babel")

from babel.messages.extract import extract_from_dir  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402

PORTAL = Path(__file__).resolve().parents[2] / "portal"
LOCALE = PORTAL / "ocop_portal" / "locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"trim_blocks": "True", "lstrip_blocks": "True"}}
    return {
        msg if isinstance(msg, str) else msg[0]
        for _file, _line, msg, _comments, _context in extract_from_dir(
            str(PORTAL / "ocop_portal"), method_map, options_map=options
        )
    }


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_message_is_translated_with_the_same_placeholders(lang: str) -> None:
    po = (LOCALE / lang / "LC_MESSAGES" / "messages.po").read_bytes()
    catalog = read_po(io.BytesIO(po))
    entries = {m.id: m for m in catalog if m.id}
    assert set(entries) == _extracted()  # the catalogue is up to date (pybabel extract / update: docs/portal.md)
    for msgid, m in entries.items():
        assert m.string, f"{lang}: {msgid!r} is not translated"
        assert not m.fuzzy, f"{lang}: {msgid!r} is fuzzy"
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(m.string)), msgid
        assert "%" not in PLACEHOLDER.sub("", m.string), f"{lang}: a stray % in {m.string!r}"


def test_vietnamese_is_vietnamese() -> None:
    catalog = read_po(io.BytesIO((LOCALE / "vi" / "LC_MESSAGES" / "messages.po").read_bytes()))
    same = [m.id for m in catalog if m.id and m.string == m.id and not m.id.startswith("%")]
    assert same == []


def test_compiled_catalogue_is_used() -> None:
    from ocop_portal import i18n

    assert i18n.translations("vi").gettext("Verified") == "Đã xác minh"
    assert i18n.translations("en").gettext("Verified") == "Verified"
    assert i18n.choose(None, "en-US,en;q=0.9,vi;q=0.8") == "en"
    assert i18n.choose(None, "fr-FR, vi;q=0.5, en;q=0.4") == "vi"
    assert i18n.choose(None, None) == "vi"
    assert i18n.choose("en", "vi") == "en"
    assert i18n.choose("xx", "de") == "vi"
