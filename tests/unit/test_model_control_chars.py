"""The control-character scan used on every text field is exactly Unicode category Cc."""

from __future__ import annotations

import sys
import unicodedata

import ocop_provenance as op
import pytest
from ocop_provenance._fields import _CONTROL


def test_control_scan_is_exactly_category_cc() -> None:
    for code in range(sys.maxunicode + 1):
        c = chr(code)
        assert (_CONTROL.search(c) is not None) == (unicodedata.category(c) == "Cc"), hex(code)


@pytest.mark.parametrize("bad", ["a\x1bb", "\x7f", "Nghi Sơn\x85", "x\u009f"])
def test_control_characters_are_refused(bad: str) -> None:
    with pytest.raises(op.FormatError) as info:
        op.Location(name=bad)
    assert (info.value.code, info.value.field) == ("E_FIELD", "location.name")
