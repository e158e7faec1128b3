"""One rule per field, applied alike by every path: the fast and the general decoder agree on every payload.

The fast decoder (docs/adr/0020) may decline a payload (the general decoder then decides), but whatever it accepts
the general decoder must accept as the very same body, and whatever the general decoder refuses the fast one must
decline. The suite also runs both decoders on every decode it makes (tests/conftest.py sets ``_wire.DIFFERENTIAL``).
"""

from __future__ import annotations

import unicodedata
from typing import Any

import cbor2
import ocop_provenance as op
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocop_provenance import _fields, _wire
from ocop_provenance.events import Step

from tests.conftest import examples
from tests.property.strategies import assigned, correction_bodies, every_body, step_bodies

SETTINGS = settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _general(payload: bytes) -> tuple[str, Any]:
    try:
        return "ok", _wire._decode_body_general(payload)
    except op.ProvenanceError as e:
        return "error", e.code


def _agree(payload: bytes) -> None:
    fast = _wire._fast_step(payload)
    general = _general(payload)
    if fast is not None:
        assert general == ("ok", fast), "the fast decoder accepted what the general one decodes otherwise"


# Values that break one rule each, or that a rule would change: what a forger or a careless encoder would send.
_TWISTS: list[Any] = [
    True,
    False,
    None,
    0,
    -1,
    2**63,
    "",
    " ",
    "x" * 300,
    "Ho\u0300a",  # NFD: the rule normalises it, so it is not canonical
    "a\x1bb",
    "0123456789012",  # 13 digits, wrong check digit
    "8934567890120",
    "12.50",
    "1e3",
    "2024-11-01T08:00:00+07:00",
    "2024-11-01t08:00:00+07:00",
    "2024-11-01T08:00:00.000000+07:00",
    "ocop:drying",
    "ocop:correcting",
    "harvest",
    b"\x00" * 32,
    b"\x00" * 31,
    [],
    {},
    {0: "x"},
    [{0: b"\x00" * 32, 1: 0, 2: b"\x00" * 32}],
    {0: 1, 1: b"\x00" * 32, 2: "sai"},  # a correction's declaration, wherever it lands
    {0: 1, 1: b"\x00" * 32, 2: "sai", 3: {}},
    {1: b"\x00" * 32, 2: "sai", 3: {"a": 1}},  # a declaration without its seq (found by the JS agreement test)
    {0: 1, 1: b"\x00" * 32, 3: {"a": 1}},
    {0: 1, 2: "sai", 3: {"a": 1}},
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@SETTINGS
@given(body=every_body)
def test_generated_bodies_decode_alike(body: op.Genesis | Step) -> None:
    payload = _wire.encode_body(body)
    _agree(payload)
    assert _general(payload) == ("ok", body)


@SETTINGS
@given(body=st.one_of(step_bodies(), correction_bodies()), data=st.data())
def test_mutated_step_payloads_are_decided_alike(body: Step, data: st.DataObject) -> None:
    m = cbor2.loads(_wire.encode_body(body))
    path = data.draw(st.sampled_from(_paths(m)[1:]))
    twisted = _replace(m, path, data.draw(st.sampled_from(_TWISTS)))
    # cbor2.dumps keeps insertion order: both the deterministic and a misordered map are tried.
    _agree(cbor2.dumps(twisted))
    _agree(cbor2.dumps(twisted, canonical=True))


@SETTINGS
@given(body=step_bodies(), data=st.data())
def test_a_correction_label_added_to_any_step_is_decided_alike(body: Step, data: st.DataObject) -> None:
    """Label 13 on steps that are not corrections, or with a declaration of any shape (docs/format.md §19)."""
    m = cbor2.loads(_wire.encode_body(body))
    if data.draw(st.booleans()):
        m[5] = "ocop:correcting"
    if data.draw(st.booleans()):
        m.pop(7, None)
        m.pop(9, None)
    back = data.draw(st.integers(-2, 5000))
    m[13] = data.draw(
        st.sampled_from(_TWISTS)
        | st.fixed_dictionaries(
            {0: st.just(m[2] - back), 1: st.binary(min_size=31, max_size=33), 2: st.sampled_from(["sai", "Đo\u0302"])},
            optional={3: st.sampled_from([{}, {"a": 1}, {"a": 1.5}, {"b": "x", "a": True}])},
        )
        | st.dictionaries(  # any subset of the labels, any values: a declaration of any shape
            st.integers(0, 4),
            st.sampled_from([1, m[2] - 1, b"\x00" * 32, "sai", {"a": 1}, {}, None]),
            max_size=5,
        )
    )
    _agree(cbor2.dumps(m))
    _agree(cbor2.dumps(m, canonical=True))


@SETTINGS
@given(body=st.one_of(step_bodies(), correction_bodies()), position=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_flipped_bits_are_decided_alike(body: Step, position: int, bit: int) -> None:
    payload = bytearray(_wire.encode_body(body))
    payload[position % len(payload)] ^= 1 << bit
    _agree(bytes(payload))


@SETTINGS
@given(text=st.text(max_size=80))
def test_a_text_rule_accepts_a_value_unchanged_exactly_when_it_is_canonical(text: str) -> None:
    """The decoders' test for a canonical value (the rule returns it unchanged) is the rule itself."""
    try:
        out = _fields.text(text, "t")
    except op.FormatError:
        assert (
            not text.strip()
            or not assigned(text)
            or len(unicodedata.normalize("NFC", text)) > _fields.MAX_TEXT
            or any(unicodedata.category(c) == "Cc" for c in text)
        )
        return
    assert out == unicodedata.normalize("NFC", text)
    assert (out == text) == unicodedata.is_normalized("NFC", text)


def test_the_suite_runs_both_decoders_on_every_decode() -> None:
    assert _wire.DIFFERENTIAL is True
