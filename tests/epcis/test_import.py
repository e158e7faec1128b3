"""Reading EPCIS back: events from another system, and what is refused (each refusal names its field)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import ocop_provenance as op
import pytest
from ocop_provenance import epcis

from tests.epcis.helpers import export
from tests.epcis.test_export import KEYS, demo_chains

ERP_EVENT: dict[str, Any] = {
    "type": "ObjectEvent",
    "eventID": "urn:uuid:6f1c8f6e-2f44-4d2f-9a53-3f1c9f0d2c11",
    "eventTime": "2024-11-06T07:00:00.000Z",
    "eventTimeZoneOffset": "+07:00",
    "quantityList": [{"epcClass": "https://id.gs1.org/01/08931234567897/10/L2411-01"}],
    "action": "OBSERVE",
    "bizStep": "urn:epcglobal:cbv:bizstep:shipping",
    "disposition": "in_transit",
    "readPoint": {"id": "urn:epc:id:sgln:893456.700001.0"},
    "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 4.50, "uom": "CEL"}]}],
}


def document(*events: dict[str, Any], context: object = None) -> bytes:
    doc = {
        "@context": context or ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-11-06T07:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }
    return json.dumps(doc, ensure_ascii=False).encode()


def refused(data: bytes | str, code: str) -> op.FormatError:
    with pytest.raises(op.FormatError) as e:
        epcis.read_epcis(data)
    assert e.value.code == code, e.value
    return e.value


def test_an_erp_event_reads_as_a_step() -> None:
    (event,) = epcis.read_epcis(document(ERP_EVENT))
    assert event.epc_class == "https://id.gs1.org/01/08931234567897/10/L2411-01"
    assert event.batch_id is None
    assert event.signed_event_id is None
    step = event.content
    assert isinstance(step, epcis.EpcisStep)
    assert step.step == "shipping"
    assert step.time == datetime(2024, 11, 6, 14, 0, tzinfo=timezone(timedelta(hours=7)))
    assert step.time.utcoffset() == timedelta(hours=7)
    # An SGLN without extension is a GLN (check digit added); with no ocop:location the id is the place's name.
    assert step.location == op.Location(name="urn:epc:id:sgln:893456.700001.0", gln="8934567000017")
    # 4.50 is the measurement "4.5" (canonical decimal text); the ERP's own event id is kept as data.
    assert dict(step.data) == {"temperature_c": "4.5", "epcis_event_id": ERP_EVENT["eventID"]}
    assert event.event_hash.startswith("ni:///sha-256;")


def test_bizstep_forms_and_custom_steps() -> None:
    for given, want in (
        ("https://ref.gs1.org/cbv/BizStep-packing", "packing"),
        ("packing", "packing"),
        ("ocop:drying", "ocop:drying"),
        (epcis.OCOP_NS + "grinding", "ocop:grinding"),
        ("htx:say_kho", "htx:say_kho"),
    ):
        ev = {**ERP_EVENT, "bizStep": given}
        ev.pop("disposition")
        (event,) = epcis.read_epcis(document(ev))
        assert isinstance(event.content, epcis.EpcisStep)
        assert event.content.step == want


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (
            {"bizTransactionList": [{"type": "po", "bizTransaction": "urn:x:1"}]},
            "E_EPCIS_UNSUPPORTED",
            "bizTransactionList",
        ),
        ({"sourceList": [{"type": "owning_party", "source": "urn:x"}]}, "E_EPCIS_UNSUPPORTED", "sourceList"),
        ({"disposition": "damaged"}, "E_EPCIS_UNSUPPORTED", "disposition"),
        ({"action": "DELETE"}, "E_EPCIS_UNSUPPORTED", "action"),
        ({"bizLocation": {"id": "https://id.gs1.org/414/8934567000024"}}, "E_EPCIS_UNSUPPORTED", "bizLocation.id"),
        ({"readPoint": {"id": "urn:epc:id:sgln:893456.700001.7"}}, "E_EPCIS_UNSUPPORTED", "readPoint"),
        ({"bizStep": "harvesting"}, "E_EPCIS_FIELD", "bizStep"),
        ({"quantityList": [{"epcClass": "urn:x", "quantity": 3, "uom": "KGM"}]}, "E_EPCIS_UNSUPPORTED", "quantity"),
        ({"quantityList": [{"epcClass": "urn:a"}, {"epcClass": "urn:b"}]}, "E_EPCIS_UNSUPPORTED", "quantityList"),
        (
            {"sensorElementList": [{"sensorReport": [{"type": "Speed", "value": 3, "uom": "KMH"}]}]},
            "E_EPCIS_UNSUPPORTED",
            "sensorReport[0].type",
        ),
        (
            {"sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 3, "uom": "CEL", "time": "x"}]}]},
            "E_EPCIS_UNSUPPORTED",
            "sensorReport[0].time",
        ),
        ({"ex:batch": "42"}, "E_EPCIS_UNSUPPORTED", "ex:batch"),
        ({"eventTimeZoneOffset": "7"}, "E_EPCIS_FIELD", "eventTimeZoneOffset"),
        ({"eventTime": "yesterday"}, "E_EPCIS_FIELD", "eventTime"),
        ({"readPoint": None}, "E_EPCIS_FIELD", "readPoint"),
    ],
)
def test_what_cannot_be_represented_is_refused_with_its_field(change: dict[str, Any], code: str, field: str) -> None:
    ev = {**ERP_EVENT, **change}
    ev = {k: v for k, v in ev.items() if v is not None}
    error = refused(document(ev), code)
    assert error.field is not None
    assert error.field.startswith("epcisBody.eventList[0]")
    assert field in error.field
    assert error.position == 0


def test_other_event_types_are_refused() -> None:
    ev = {"type": "AggregationEvent", "eventTime": "2024-11-06T07:00:00Z", "eventTimeZoneOffset": "+07:00"}
    assert refused(document(ev), "E_EPCIS_UNSUPPORTED").field == "epcisBody.eventList[0].type"


def test_a_transformation_needs_pinned_inputs() -> None:
    ev = {
        **{k: v for k, v in ERP_EVENT.items() if k not in ("quantityList", "action", "disposition")},
        "type": "TransformationEvent",
        "bizStep": "ocop:drying",
        "inputQuantityList": [{"epcClass": "urn:in"}],
        "outputQuantityList": [{"epcClass": "urn:out"}],
    }
    assert "inputQuantityList" in str(refused(document(ev), "E_EPCIS_UNSUPPORTED").field)


def test_an_exported_event_with_a_changed_value_fails_its_hash() -> None:
    doc = json.loads(export(demo_chains(), KEYS))
    doc["epcisBody"]["eventList"][2]["ocop:data"][3]["ocop:text"] = "Không đạt"
    error = refused(json.dumps(doc, ensure_ascii=False), "E_EPCIS_HASH")
    assert error.field == "epcisBody.eventList[2].eventID"
    assert error.position == 2


def test_the_ocop_prefix_must_be_ours() -> None:
    ctx = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"ocop": "https://example.org/"}]
    assert refused(document(ERP_EVENT, context=ctx), "E_EPCIS_UNSUPPORTED").field == "@context"


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe",
        b"{",
        b'{"type": "EPCISDocument", "type": "EPCISDocument"}',
        b'{"type": "EPCISDocument", "epcisBody": {"eventList": [{"value": NaN}]}}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_not_json_is_refused(data: bytes) -> None:
    refused(data, "E_EPCIS_JSON")


def test_too_large_is_refused_before_parsing() -> None:
    refused(b" " * (epcis.MAX_EPCIS_SIZE + 1), "E_EPCIS_JSON")


def test_not_an_epcis_document() -> None:
    assert refused(b'{"type": "Other"}', "E_EPCIS_FIELD").field == "type"
    assert refused(b'{"type": "EPCISDocument"}', "E_EPCIS_FIELD").field == "epcisBody.eventList"


def test_a_genesis_lgtin_that_is_not_a_digital_link_is_a_field_error() -> None:
    doc = json.loads(export(demo_chains(), KEYS), parse_float=Decimal)
    event = doc["epcisBody"]["eventList"][0]
    event["quantityList"][0]["epcClass"] = "https://id.gs1.org/01/08931234567890/10/L2411%2F01"  # check digit
    event["eventID"] = epcis.epcis_event_hash(
        {k: v for k, v in event.items() if k != "eventID"}, epcis.CONTEXT_PREFIXES
    )
    error = refused(epcis.epcis_to_json(doc), "E_EPCIS_FIELD")
    assert error.field == "epcisBody.eventList[0].quantityList[0].epcClass"
