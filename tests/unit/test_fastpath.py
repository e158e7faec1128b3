"""Guard of the decoding fast path (docs/adr/0020): it accepts only what the general path accepts, identically.

Each payload below is a valid step payload with one field replaced by an unusual value, encoded as is (so some
are not deterministic CBOR). For each, the fast path must either decline (the general path then names the
error) or return exactly the model the general path returns.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import cbor2
import ocop_provenance as op
import pytest
from ocop_provenance import _wire
from ocop_provenance.events import append_step, parse_unverified_event

from tests.conftest import ICT, key, sample_chain

ODD: list[object] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2**63,
    "",
    " ",
    "e\u0301",
    "\u00e9",
    "a\x07b",
    "a\u0085b",
    "x" * 300,
    b"",
    bytes(32),
    [],
    {},
    1.5,
    "ocop:drying",
    "38",
    "2024-11-01T11:00:00+07:00",
    "2024-11-01T11:00:00.000000+07:00",
    "2024-11-01T11:00:00.500000+07:00",
    "2024-11-01T11:00:00-00:00",
    "2024-11-01T11:00:00Z",
    "2024-11-01T11:00+07:00",
    "1969-12-31T23:59:59+00:00",
    "0893123456789",
    "0893123456788",
]


def _general(payload: bytes) -> tuple[str, object]:
    try:
        return "ok", _wire._decode_body_general(payload)
    except op.FormatError as e:
        return "error", e.code


def _variants() -> list[dict[object, object]]:
    event = sample_chain(key(1), 3)[2]
    base = cbor2.loads(event.payload)
    out: list[dict[object, object]] = [dict(base)]
    for label in range(12):
        for value in ODD:
            out.append({**base, label: value})
    for field in range(6):
        for value in ODD:
            out.append({**base, 6: {**base[6], field: value}})
    out.append({**base, 6: {0: "Kho", 2: 10_000_000, 3: 106_000_000}})
    out.append({**base, 6: {0: "Kho", 2: True, 3: 1}})
    out.append({**base, 6: {1: "38", 0: "Kho"}})
    out.append({**base, True: base[1]})
    for value in ODD:
        out.append({**base, 9: {"moisture": value}})
        out.append({**base, 9: {"a": 1, "bb": value}})
    out.append({**base, 9: {"bb": 1, "a": 2}})
    out.append({**base, 9: {"b": 1, "a": 2}})
    out.append({**base, 9: {"1a": 1}})
    ref = {0: bytes(range(32)), 1: 3, 2: bytes(32)}
    for inputs in (
        [ref],
        [ref, ref],
        [{**ref, 1: 0}],
        [{**ref, 1: 0, 2: ref[0]}],
        [{**ref, 1: True}],
        [{2: bytes(32), 0: ref[0], 1: 3}],
        [],
    ):
        out.append({**base, 7: inputs})
    att = {0: "kq.pdf", 1: "application/pdf", 2: 10, 3: bytes(32)}
    for atts in (
        [att],
        [{**att, 0: "../x"}],
        [{**att, 1: "PDF"}],
        [{**att, 2: -1}],
        [{**att, 2: False}],
        [{**att, 3: b"x"}],
        [],
    ):
        out.append({**base, 8: atts})
    return out


def test_fast_path_agrees_with_general_path() -> None:
    used = 0
    for m in _variants():
        payload = cbor2.dumps(m)
        fast = _wire._fast_step(payload)
        general = _general(payload)
        if fast is not None:
            used += 1
            assert general == ("ok", fast), m
            assert _wire.encode_body(fast) == payload
    assert used >= 10  # the fast path does take the ordinary valid forms


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=7), timedelta(hours=-3, minutes=-30)])
def test_fast_path_times_round_trip(offset: timedelta) -> None:
    signer = key(1)
    head = sample_chain(signer, 2)[-1]
    from datetime import timezone

    for t in (datetime(2024, 11, 1, 11, 0, tzinfo=timezone(offset)), datetime(2030, 1, 2, 3, 4, 5, 6, tzinfo=ICT)):
        event = append_step(head, signer, step="packing", time=t, location=op.Location(name="Kho"))
        assert _wire._fast_step(event.payload) == event.body
        assert parse_unverified_event(event.raw) == event


def test_fast_path_caches_stay_small_whatever_the_input() -> None:
    from ocop_provenance import _cbor, _fields

    base = cbor2.loads(sample_chain(key(1), 3)[2].payload)
    for i in range(300):
        long_text = f"{i:04d}" + "x" * 1000
        payload = cbor2.dumps({**base, 6: {0: long_text[:200]}, 9: {"note": long_text}})
        assert _wire._fast_step(payload) is not None
        _cbor.decode(cbor2.dumps({long_text: 1}), max_size=4096)
    assert all(len(t) <= 64 for t in _fields._valid_text)
    assert all(len(loc.name) <= 64 for loc in _wire._good_locations.values())
    assert all(len(k) <= 72 for k in _cbor._KEY_ORDER_CACHE if isinstance(k, str))
