"""Round-trip properties: CBOR values and signed events."""

from __future__ import annotations

import unicodedata

import ocop_provenance as op
from hypothesis import HealthCheck, given, settings
from ocop_provenance import _cbor, _wire
from ocop_provenance.events import MAX_EVENT_SIZE, parse_unverified_event, sign_event

from tests.conftest import examples, key
from tests.property.strategies import bodies, cbor_value
from tests.verifying import verifies

FAST = settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
SIGNER = key(1)


def same(a: object, b: object) -> bool:
    """Equality that also compares types (so True is not 1 and [] is not ())."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return (
            list(a) == list(b)
            and all(same(a[k], b[k]) for k in a)
            and all(type(k) is type(k2) for k, k2 in zip(a, b, strict=True))
        )
    return a == b


@FAST
@given(cbor_value)
def test_cbor_round_trip(value: object) -> None:
    data = _cbor.encode(value)
    decoded = _cbor.decode(data, max_size=1 << 20, max_depth=64)
    assert same(decoded, _normalise(value))
    assert _cbor.encode(decoded) == data


def _normalise(value: object) -> object:
    """What the decoder returns for `value`: maps in deterministic key order."""
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(value[k]) for k in sorted(value, key=_cbor.key_order)}
    return value


@FAST
@given(bodies)
def test_event_round_trip(body: op.Genesis | op.Step) -> None:
    event = sign_event(body, SIGNER)
    again = parse_unverified_event(event.raw)
    assert again == event
    assert again.body == body
    assert _wire.encode_body(again.body) == event.payload
    assert verifies(SIGNER.public_key.verify, again.signature, again.to_be_signed)


@FAST
@given(bodies)
def test_signed_text_is_nfc(body: op.Genesis | op.Step) -> None:
    payload = _cbor.decode(sign_event(body, SIGNER).payload, max_size=MAX_EVENT_SIZE)

    def walk(v: object) -> None:
        if isinstance(v, str):
            assert unicodedata.is_normalized("NFC", v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(k)
                walk(x)

    walk(payload)
