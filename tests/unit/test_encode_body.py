"""encode_body builds its maps presorted: it must equal the generic canonicalising encoder and round-trip."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import ocop_provenance as op
from hypothesis import given, settings
from hypothesis import strategies as st
from ocop_provenance import _cbor
from ocop_provenance._fields import event_time_text as _time_text
from ocop_provenance._wire import _ATTACHMENT, _INPUT, _LOCATION, _record, decode_body, encode_body
from ocop_provenance.events import DataValue

from tests.property.strategies import assigned

_text = (
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Cn")), min_size=1, max_size=30)
    .filter(str.strip)
    .filter(assigned)
)


def _generic(body: op.Step) -> bytes:
    """The step's payload through ``_cbor.encode``: every map sorted, every value type-checked."""
    m: dict[int, Any] = {
        0: 1,
        1: body.batch_id,
        2: body.seq,
        3: body.prev,
        4: _time_text(body.time),
        5: body.step,
        6: _record(body.location, _LOCATION),
    }
    if body.inputs:
        m[7] = [_record(i, _INPUT) for i in body.inputs]
    if body.attachments:
        m[8] = [_record(a, _ATTACHMENT) for a in body.attachments]
    if body.data:
        m[9] = dict(body.data)
    return _cbor.encode(m)


@settings(max_examples=150, deadline=None)
@given(
    seq=st.integers(1, 2**63 - 1),
    minutes=st.integers(0, 10**7),
    offset=st.integers(-12 * 60, 14 * 60),
    micro=st.integers(0, 999_999),
    step=st.sampled_from(["packing", "ocop:drying", "commissioning", "x-y:z_1"]),
    name=_text,
    data=st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9_.:-]{0,30}", fullmatch=True),
        st.one_of(
            st.booleans(),
            st.integers(-(2**63), 2**63 - 1),
            st.text(max_size=40).filter(lambda s: "\x00" not in s).filter(assigned),
        ),
        max_size=6,
    ).filter(lambda d: all(not isinstance(v, str) or v.isprintable() for v in d.values())),
    attach=st.booleans(),
    coords=st.booleans(),
)
def test_step_encoding_is_the_canonical_one(
    seq: int,
    minutes: int,
    offset: int,
    micro: int,
    step: str,
    name: str,
    data: dict[str, DataValue],
    attach: bool,
    coords: bool,
) -> None:
    time = datetime(2000, 1, 1, tzinfo=timezone(timedelta(minutes=offset))) + timedelta(
        minutes=minutes, microseconds=micro
    )
    where = op.Location(
        name=name, admin_code="38", lat_e6=19_000_000 if coords else None, lon_e6=-5 if coords else None
    )
    body = op.Step(
        batch_id=bytes(range(32)),
        seq=seq,
        prev=bytes(32),
        time=time,
        step=step,
        location=where,
        inputs=(op.InputRef(batch_id=b"\x07" * 32, seq=3, head=b"\x08" * 32),) if attach else (),
        attachments=(op.Attachment(name="lab.pdf", media_type="application/pdf", size=10, sha256=bytes(32)),)
        if attach
        else (),
        data=data,
    )
    payload = encode_body(body)
    assert payload == _generic(body)
    assert decode_body(payload) == body
