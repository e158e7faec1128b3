"""The Unicode 14.0 repertoire texts may hold (docs/format.md §2.1): the committed table and where it is enforced."""

from __future__ import annotations

import unicodedata

import cbor2
import ocop_provenance as op
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ocop_provenance import _cbor, _fields
from ocop_provenance._unicode import _RANGES, UNICODE_VERSION, first_unassigned

NEW_IN_15 = "\U0001fae8"  # SHAKING FACE, assigned in Unicode 15.0
IN_14 = "\U0001fae7"  # BUBBLES, assigned in Unicode 14.0


def _cn_ranges() -> list[tuple[int, int]]:
    ranges, start = [], None
    for cp in range(0x110000):
        unassigned = unicodedata.category(chr(cp)) == "Cn"
        if unassigned and start is None:
            start = cp
        elif not unassigned and start is not None:
            ranges.append((start, cp - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))
    return ranges


@pytest.mark.skipif(unicodedata.unidata_version != UNICODE_VERSION, reason="needs the Python of Unicode 14.0")
def test_the_table_is_unicode_14s_unassigned_code_points() -> None:
    assert list(_RANGES) == _cn_ranges()


def test_known_code_points() -> None:
    assert first_unassigned("Đông trùng hạ thảo " + IN_14) is None
    assert first_unassigned("ab" + NEW_IN_15) == 2
    assert first_unassigned("\ufdd0") == 0  # a noncharacter
    assert first_unassigned("\U0010ffff") == 0
    assert first_unassigned("\ue000\U000f0000") is None  # private use is assigned
    assert first_unassigned("\x00\x7f") is None


@settings(max_examples=500)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=20))
def test_the_lookup_agrees_with_the_table(text: str) -> None:
    expected = next(
        (i for i, c in enumerate(text) if any(a <= ord(c) <= b for a, b in _RANGES)),
        None,
    )
    assert first_unassigned(text) == expected


def test_the_decoder_refuses_unassigned_text_as_outside_the_data_model() -> None:
    for data in (cbor2.dumps("ab" + NEW_IN_15), cbor2.dumps({"\ufdd0": 0})):  # a text; a map key U+FDD0
        with pytest.raises(op.FormatError) as info:
            _cbor.decode(data, max_size=100)
        assert info.value.code == "E_TYPE"
    assert _cbor.decode(b"\x64" + IN_14.encode(), max_size=100) == IN_14


def test_the_encoder_and_the_field_rules_refuse_it_too() -> None:
    with pytest.raises(op.FormatError) as info:
        _cbor.encode({1: NEW_IN_15})
    assert info.value.code == "E_TYPE"
    with pytest.raises(op.FormatError) as info:
        _fields.text("Nấm " + NEW_IN_15, "product.name")
    assert (info.value.code, info.value.field) == ("E_FIELD", "product.name")


@pytest.mark.parametrize(
    ("text", "blank"),
    [
        ("", True),
        (" \u00a0\u3000\u2007\u202f\u205f\u1680\u2028", True),
        ("\u200b", False),  # ZERO WIDTH SPACE is not white space
        ("\ufeff", False),
        ("\u180e", False),  # MONGOLIAN VOWEL SEPARATOR: white space before Unicode 6.3, not since
        (" a ", False),
    ],
)
def test_blank_is_the_named_set_of_white_space(text: str, blank: bool) -> None:
    assert _fields.is_blank(text) is blank
