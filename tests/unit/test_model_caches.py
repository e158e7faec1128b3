"""The model's caches of already-valid short texts and data keys never change what is accepted or returned."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, timezone

import ocop_provenance as op
import pytest


def test_cached_text_still_obeys_each_fields_limit() -> None:
    text = "Hợp tác xã Nghi Sơn, Thanh Hóa, Việt Nam"  # 40 characters: valid as a name
    assert op.Location(name=text).name == text
    with pytest.raises(op.FormatError) as info:
        op.Product(name="Trà", lot="L1", quantity="1", unit=text)  # unit: at most 32 characters
    assert (info.value.code, info.value.field) == ("E_FIELD", "product.unit")


def test_cached_text_is_returned_in_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Đông trùng hạ thảo")
    for _ in range(2):
        assert op.Location(name=nfd).name == unicodedata.normalize("NFC", nfd)
        where = op.Location(name="x")
        step = op.Step(
            batch_id=bytes(32), seq=1, prev=bytes(32), time=_time(), step="packing", location=where, data={"note": nfd}
        )
        assert step.data["note"] == unicodedata.normalize("NFC", nfd)


def test_blank_text_is_never_taken_from_the_cache() -> None:
    assert (
        op.Step(
            batch_id=bytes(32),
            seq=1,
            prev=bytes(32),
            time=_time(),
            step="packing",
            location=op.Location(name="x"),
            data={"note": " "},
        ).data["note"]
        == " "
    )
    with pytest.raises(op.FormatError):
        op.Location(name=" ")


class _Key(str):
    """A str subclass: never taken as a known-good data key or text."""


def test_str_subclasses_take_the_full_checks() -> None:
    step = op.Step(
        batch_id=bytes(32),
        seq=1,
        prev=bytes(32),
        time=_time(),
        step="packing",
        location=op.Location(name="x"),
        data={_Key("moisture"): _Key("12.5")},
    )
    assert dict(step.data) == {"moisture": "12.5"}
    with pytest.raises(op.FormatError):
        op.Step(
            batch_id=bytes(32),
            seq=1,
            prev=bytes(32),
            time=_time(),
            step="packing",
            location=op.Location(name="x"),
            data={_Key("1bad"): 1},
        )


def _time() -> datetime:
    return datetime(2024, 11, 2, 7, 30, tzinfo=timezone(timedelta(hours=7)))
