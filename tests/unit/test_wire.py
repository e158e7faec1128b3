"""Event payloads on the wire: the label table, canonical forms, and refusal of everything else."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
import ocop_provenance as op
import pytest
from ocop_provenance import _cbor, _cose, _wire
from ocop_provenance.events import EVENT_TYP, MAX_EVENT_SIZE, append_step, head_of, open_batch, parse_unverified_event

from tests.conftest import ICT, key, sample_genesis

T = datetime(2024, 11, 1, 8, 0, tzinfo=ICT)


def payload_of(event: op.SignedEvent) -> dict[int, Any]:
    m = _cbor.decode(event.payload, max_size=1 << 16)
    assert isinstance(m, dict)
    return m


def signed(payload: bytes) -> bytes:
    """A correctly signed envelope around arbitrary payload bytes."""
    return _cose.sign1(payload, key(1), EVENT_TYP).raw


def error_for(m: dict[Any, Any] | bytes) -> op.FormatError:
    data = m if isinstance(m, bytes) else _cbor.encode(m)
    with pytest.raises(op.FormatError) as info:
        parse_unverified_event(signed(data))
    return info.value


def genesis_map() -> dict[int, Any]:
    return payload_of(open_batch(sample_genesis(), key(1)))


def step_map(chain: list[op.SignedEvent]) -> dict[int, Any]:
    return payload_of(chain[1])


def test_round_trip(chain: list[op.SignedEvent]) -> None:
    for event in chain:
        again = parse_unverified_event(event.raw)
        assert again == event
        assert again.body == event.body
        assert _wire.encode_body(again.body) == event.payload


def test_genesis_labels() -> None:
    m = genesis_map()
    assert m[_wire.V] == 1
    assert m[_wire.SEQ] == 0
    assert m[_wire.TIME] == "2024-11-01T08:00:00+07:00"
    assert m[_wire.PRODUCT] == {0: "Đông trùng hạ thảo tươi", 1: "L2411-01", 2: "120", 3: "kg", 4: "08931234567897"}
    assert m[_wire.PRODUCER] == {0: "HTX Nông nghiệp Nghi Sơn", 1: "38", 3: "Thanh Hóa"}
    assert set(m) == {_wire.V, _wire.SEQ, _wire.TIME, _wire.PRODUCT, _wire.PRODUCER}


def test_step_labels(chain: list[op.SignedEvent]) -> None:
    m = step_map(chain)
    assert m[_wire.BATCH] == chain[0].event_id
    assert m[_wire.PREV] == chain[0].event_id
    assert m[_wire.SEQ] == 1
    assert m[_wire.STEP] == "commissioning"
    assert m[_wire.WHERE] == {0: "Nghi Sơn, Thanh Hóa", 1: "38"}
    assert m[_wire.DATA] == {"moisture": "12.5", "step_no": 1}


def test_full_genesis_round_trip() -> None:
    g = sample_genesis(
        location=op.Location(name="Xưởng", admin_code="38", lat_e6=19_500_000, lon_e6=105_800_000, gln="8930000000002"),
        certificate=op.Certificate(stars=4, number="1234/QĐ-UBND", issued=date(2024, 6, 30)),
        attachments=(op.Attachment(name="ảnh.jpg", media_type="image/jpeg", size=0, sha256=b"\x01" * 32),),
        data={"organic": True, "weight_g": -5, "note": ""},
    )
    event = open_batch(g, key(1))
    assert parse_unverified_event(event.raw).body == g
    assert payload_of(event)[_wire.CERTIFICATE] == {0: 4, 1: "1234/QĐ-UBND", 2: "2024-06-30"}


def test_nfd_input_signs_as_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Đông trùng hạ thảo tươi")
    event = open_batch(
        sample_genesis(product=op.Product(name=nfd, lot="L1", quantity="1", unit="kg")),
        key(1),
    )
    assert nfd.encode() not in event.payload
    assert unicodedata.normalize("NFC", nfd).encode() in event.payload
    assert event == open_batch(
        sample_genesis(product=op.Product(name="Đông trùng hạ thảo tươi", lot="L1", quantity="1", unit="kg")),
        key(1),
    )


def test_non_nfc_payload_rejected() -> None:
    m = genesis_map()
    m[_wire.PRODUCT][0] = unicodedata.normalize("NFD", "Đông trùng hạ thảo tươi")
    assert error_for(m).code == "E_NONCANONICAL"


def test_offset_kept_exactly() -> None:
    event = open_batch(sample_genesis(time=datetime(2024, 11, 1, 8, 0, tzinfo=ICT)), key(1))
    body = parse_unverified_event(event.raw).body
    assert body.time.utcoffset() == timedelta(hours=7)
    assert payload_of(event)[_wire.TIME] == "2024-11-01T08:00:00+07:00"
    # The same instant in UTC is a different event.
    utc = open_batch(sample_genesis(time=datetime(2024, 11, 1, 1, 0, tzinfo=UTC)), key(1))
    assert payload_of(utc)[_wire.TIME] == "2024-11-01T01:00:00+00:00"
    assert utc.event_id != event.event_id


def test_microseconds_kept() -> None:
    t = datetime(2024, 11, 1, 8, 0, 0, 120, tzinfo=ICT)
    event = open_batch(sample_genesis(time=t), key(1))
    assert payload_of(event)[_wire.TIME] == "2024-11-01T08:00:00.000120+07:00"
    assert parse_unverified_event(event.raw).time == t


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Exactly the profile of docs/format.md §7.4 is accepted; any other text is E_FIELD.
        ("2024-11-01T08:00:00", "E_FIELD"),  # no offset
        ("2024-11-01 08:00:00+07:00", "E_FIELD"),  # space separator
        ("2024-11-01t08:00:00+07:00", "E_FIELD"),  # lowercase separator
        ("2024-11-01U08:00:00+07:00", "E_FIELD"),  # any other character between date and time
        ("2024-11-01T08:00+07:00", "E_FIELD"),  # no seconds
        ("2024-11-01T08:00:00.000000+07:00", "E_FIELD"),  # zero microseconds written
        ("2024-11-01T08:00:00.5+07:00", "E_FIELD"),  # fraction not six digits
        ("2024-11-01T01:00:00Z", "E_FIELD"),  # Z instead of +00:00
        ("2024-11-01T01:00:00-00:00", "E_FIELD"),  # unknown local offset (RFC 3339 §4.3)
        ("2024-11-01T08:00:00+0700", "E_FIELD"),
        ("2024-11-01T08:00:00+24:00", "E_FIELD"),  # offset of a whole day
        ("2024-11-01T08:00:00+05:60", "E_FIELD"),  # minutes of the offset out of range (fromisoformat takes it)
        ("2024-11-01T08:00:00+23:60", "E_FIELD"),
        ("1969-12-31T23:59:59+00:00", "E_FIELD"),  # before 1970
        ("yesterday", "E_FIELD"),
        ("2024-13-01T08:00:00+07:00", "E_FIELD"),
        ("２０２４-11-01T08:00:00+07:00", "E_FIELD"),  # non-ASCII digits
    ],
)
def test_time_text(text: str, code: str) -> None:
    m = genesis_map()
    m[_wire.TIME] = text
    assert error_for(m).code == code


@pytest.mark.parametrize("value", [1730422800, b"2024", None, "x" * 41])
def test_time_type(value: object) -> None:
    m = genesis_map()
    m[_wire.TIME] = value
    assert error_for(m).code == "E_SCHEMA"


@pytest.mark.parametrize("version", [0, 2, -1, True, "1", None])
def test_unsupported_version(version: object) -> None:
    m = genesis_map()
    m[_wire.V] = version
    assert error_for(m).code == "E_VERSION"


def test_missing_version() -> None:
    m = genesis_map()
    del m[_wire.V]
    assert error_for(m).code == "E_VERSION"


@pytest.mark.parametrize("label", [13, 99, -1, "x"])
def test_unknown_top_level_label(label: object) -> None:
    m = genesis_map()
    m[label] = 1
    assert error_for(m).code == "E_SCHEMA"


def test_step_only_labels_in_genesis(chain: list[op.SignedEvent]) -> None:
    m = genesis_map()
    m[_wire.STEP] = "packing"
    assert error_for(m).code == "E_SCHEMA"
    s = step_map(chain)
    s[_wire.PRODUCT] = genesis_map()[_wire.PRODUCT]
    assert error_for(s).code == "E_SCHEMA"


@pytest.mark.parametrize(("record", "label"), [(_wire.PRODUCT, 5), (_wire.PRODUCER, 5), (_wire.PRODUCT, "name")])
def test_unknown_nested_label(record: int, label: object) -> None:
    m = genesis_map()
    m[record][label] = "x"
    err = error_for(m)
    assert err.code == "E_SCHEMA"
    assert err.field == ("product" if record == _wire.PRODUCT else "producer")


@pytest.mark.parametrize("label", [_wire.SEQ, _wire.TIME, _wire.PRODUCT, _wire.PRODUCER])
def test_missing_required_genesis_label(label: int) -> None:
    m = genesis_map()
    del m[label]
    assert error_for(m).code in ("E_SCHEMA", "E_VERSION")


@pytest.mark.parametrize("label", [_wire.BATCH, _wire.PREV, _wire.STEP, _wire.WHERE, _wire.TIME])
def test_missing_required_step_label(chain: list[op.SignedEvent], label: int) -> None:
    m = step_map(chain)
    del m[label]
    assert error_for(m).code == "E_SCHEMA"


def test_missing_nested_required() -> None:
    m = genesis_map()
    del m[_wire.PRODUCT][2]  # quantity
    err = error_for(m)
    assert err.code == "E_SCHEMA"
    assert err.field == "product.quantity"


@pytest.mark.parametrize("seq", [-1, "1", True, None])
def test_seq_type(chain: list[op.SignedEvent], seq: object) -> None:
    m = step_map(chain)
    m[_wire.SEQ] = seq
    assert error_for(m).code == "E_SCHEMA"


@pytest.mark.parametrize(
    ("record", "label", "value"),
    [
        (_wire.PRODUCT, 4, "8931234567897"),  # GTIN-13 not padded to 14
        (_wire.PRODUCT, 2, "120.0"),  # quantity not canonical
        (_wire.PRODUCT, 2, "0120"),
    ],
)
def test_non_canonical_field_forms(record: int, label: int, value: object) -> None:
    m = genesis_map()
    m[record][label] = value
    assert error_for(m).code == "E_NONCANONICAL"


@pytest.mark.parametrize(
    ("record", "label", "value", "field"),
    [
        (_wire.PRODUCT, 4, "08931234567890", "product.gtin"),
        (_wire.PRODUCT, 0, "a\x1bb", "product.name"),
        (_wire.PRODUCER, 1, "x", "producer.admin_code"),
    ],
)
def test_invalid_field_values(record: int, label: int, value: object, field: str) -> None:
    m = genesis_map()
    m[record][label] = value
    err = error_for(m)
    assert err.code == "E_FIELD"
    assert err.field == field


def test_null_optional_field_refused() -> None:
    m = genesis_map()
    m[_wire.PRODUCER][4] = None  # optional fields are absent, never null
    assert error_for(m).code in ("E_NONCANONICAL", "E_FIELD", "E_SCHEMA")


def test_empty_collections_refused(chain: list[op.SignedEvent]) -> None:
    m = step_map(chain)
    m[_wire.DATA] = {}
    assert error_for(m).code == "E_SCHEMA"
    m = step_map(chain)
    m[_wire.INPUTS] = []
    assert error_for(m).code == "E_SCHEMA"
    m = step_map(chain)
    m[_wire.ATTACHMENTS] = []
    assert error_for(m).code == "E_SCHEMA"


def test_payload_not_a_map() -> None:
    assert error_for([1, 2]).code == "E_SCHEMA"
    assert error_for(b"\x01").code == "E_SCHEMA"


def test_payload_too_deep() -> None:
    m = genesis_map()
    m[_wire.DATA] = {"k": [[[[1]]]]}
    assert error_for(m).code in ("E_CBOR", "E_SCHEMA", "E_FIELD")


def test_payload_non_deterministic_cbor() -> None:
    m = genesis_map()
    data = cbor2.dumps(dict(reversed(list(m.items()))))
    assert error_for(data).code == "E_NONCANONICAL"


def test_event_size_bounded() -> None:
    big = {f"k{i}": "ầ" * 1024 for i in range(64)}
    with pytest.raises(op.FormatError) as info:
        open_batch(sample_genesis(data=big), key(1))
    assert info.value.code == "E_SIZE"
    oversized = b"\xd2" + b"\x00" * MAX_EVENT_SIZE
    with pytest.raises(op.FormatError) as info:
        parse_unverified_event(oversized)
    assert info.value.code == "E_SIZE"


def test_largest_event_round_trips() -> None:
    data = {f"k{i}": "x" * 900 for i in range(64)}
    event = open_batch(sample_genesis(data=data), key(1))
    assert len(event.raw) <= MAX_EVENT_SIZE
    assert parse_unverified_event(event.raw) == event


def test_inputs_and_attachments_round_trip(chain: list[op.SignedEvent]) -> None:
    upstream = open_batch(sample_genesis(product=op.Product(name="Mật ong", lot="M1", quantity="5", unit="l")), key(2))
    event = append_step(
        chain[-1],
        key(1),
        step="packing",
        time=T + timedelta(days=1),
        location=op.Location(name="Xưởng đóng gói"),
        inputs=[head_of(upstream).as_input()],
        attachments=[op.Attachment(name="lab.pdf", media_type="application/pdf", size=10, sha256=b"\x09" * 32)],
    )
    m = payload_of(event)
    assert m[_wire.INPUTS] == [{0: upstream.event_id, 1: 0, 2: upstream.event_id}]
    assert m[_wire.ATTACHMENTS] == [{0: "lab.pdf", 1: "application/pdf", 2: 10, 3: b"\x09" * 32}]
    assert parse_unverified_event(event.raw) == event


def test_envelope_errors_come_first() -> None:
    raw = open_batch(sample_genesis(), key(1)).raw
    with pytest.raises(op.FormatError) as info:
        parse_unverified_event(raw[1:])
    assert info.value.code == "E_COSE"
