"""EPCIS 2.0 export: shape, schema validity, Vietnamese text, signer naming, event hashes, refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import ocop_provenance as op
import pytest
from ocop_provenance import epcis
from ocop_provenance.events import append_step, open_batch
from ocop_provenance.trust import sign_trust_list

from tests.conftest import ICT
from tests.epcis.helpers import CREATED, export, same_genesis, same_step, schema_errors, verified
from tests.unit.trust_helpers import AUTH, LAB, NOW, PROCESSOR, PRODUCER, pin, trust_draft, trusted

FARM = op.Location(
    name="Trang trại Nghi Sơn, Thanh Hóa", admin_code="38", lat_e6=19_335_512, lon_e6=105_796_114, gln="8934567000017"
)
WORKSHOP = op.Location(name="Xưởng sấy Tĩnh Gia", admin_code="38")
LAB_PLACE = op.Location(name="Phòng thử nghiệm", lat_e6=-1_500_000, lon_e6=-100)
REPORT = op.Attachment(name="phiếu-kết-quả.pdf", media_type="application/pdf", size=4321, sha256=bytes(range(32)))


def at(day: int, hour: int, micro: int = 0) -> datetime:
    return datetime(2024, 11, day, hour, 0, 0, micro, tzinfo=ICT)


def demo_chains() -> tuple[list[op.SignedEvent], list[op.SignedEvent]]:
    """Fresh cordyceps (no GTIN, kg) and dried cordyceps made from it (GTIN, boxes), as the demo tells it."""
    fresh = [
        open_batch(
            op.Genesis(
                time=at(1, 5),
                product=op.Product(name="Đông trùng hạ thảo tươi", lot="T2411-01", quantity="40", unit="kg"),
                producer=op.Producer(
                    name="HTX Đông trùng hạ thảo Nghi Sơn", admin_code="38", commune="Nghi Sơn", province="Thanh Hóa"
                ),
                location=FARM,
                certificate=op.Certificate(stars=3, number="1234/QĐ-UBND", issued=date(2020, 12, 30)),
                data={"expiry_date": "2025-01-31", "shelf_life": "7 ngày, bảo quản 2-4 °C", "temperature_c": 4},
            ),
            PRODUCER,
        )
    ]
    fresh.append(
        append_step(fresh[-1], PRODUCER, step="commissioning", time=at(1, 6), location=FARM, data={"weight_kg": 40})
    )
    dried = [
        open_batch(
            op.Genesis(
                time=at(2, 7),
                product=op.Product(
                    name="Đông trùng hạ thảo sấy khô", lot="L2411/01", quantity="4.5", unit="hộp", gtin="08931234567897"
                ),
                producer=op.Producer(name="HTX Đông trùng hạ thảo Nghi Sơn", gln="8934567000017"),
                attachments=(REPORT,),
                data={"standards": "TCCS 01:2022/NS", "brand": "Nghi Sơn", "expiry_date": "not a date"},
            ),
            PRODUCER,
        )
    ]
    dried.append(
        append_step(
            dried[-1],
            PROCESSOR,
            step="ocop:drying",
            time=at(2, 8),
            location=WORKSHOP,
            inputs=[op.InputRef(batch_id=fresh[0].batch_id, seq=1, head=fresh[1].event_id)],
            data={"temperature_c": 50, "hours": 36, "moisture": "12.4"},
        )
    )
    dried.append(
        append_step(
            dried[-1],
            LAB,
            step="inspecting",
            time=at(4, 9, 123_456),
            location=LAB_PLACE,
            attachments=[REPORT],
            data={"moisture_pct": "11.8", "result": "Đạt", "passed": True, "note": "", "code": "12.50"},
        )
    )
    dried.append(append_step(dried[-1], PRODUCER, step="shipping", time=at(6, 14), location=FARM))
    return dried, fresh


KEYS = [PRODUCER.public_key, PROCESSOR.public_key, LAB.public_key]


@pytest.fixture(scope="module")
def document() -> bytes:
    return export(demo_chains(), KEYS)


def events_of(document: bytes) -> list[dict[str, object]]:
    doc = json.loads(document)
    return doc["epcisBody"]["eventList"]  # type: ignore[no-any-return]


def test_document_is_valid_epcis_2_json_schema(document: bytes) -> None:
    assert schema_errors(document) == []


def test_document_shape_and_event_kinds(document: bytes) -> None:
    doc = json.loads(document)
    assert doc["type"] == "EPCISDocument"
    assert doc["schemaVersion"] == "2.0"
    assert doc["creationDate"] == "2025-01-01T00:00:00Z"
    assert doc["@context"] == [epcis.EPCIS_CONTEXT, {"ocop": epcis.OCOP_NS}]
    kinds = [(e["type"], e.get("action"), e["bizStep"]) for e in doc["epcisBody"]["eventList"]]
    assert kinds == [
        ("ObjectEvent", "ADD", "creating_class_instance"),
        ("TransformationEvent", None, "ocop:drying"),
        ("ObjectEvent", "OBSERVE", "inspecting"),
        ("ObjectEvent", "OBSERVE", "shipping"),
        ("ObjectEvent", "ADD", "creating_class_instance"),
        ("ObjectEvent", "OBSERVE", "commissioning"),
    ]


def test_vietnamese_text_is_written_as_utf8_not_escaped(document: bytes) -> None:
    text = document.decode("utf-8")
    for phrase in ("Đông trùng hạ thảo sấy khô", "Xưởng sấy Tĩnh Gia", "phiếu-kết-quả.pdf", "Đạt", "2-4 °C"):
        assert phrase in text
    assert "\\u" not in text


def test_lot_identifiers_quantities_and_units(document: bytes) -> None:
    dried, _, _, shipped, fresh, harvest = events_of(document)
    assert dried["quantityList"] == [
        {"epcClass": "https://id.gs1.org/01/08931234567897/10/L2411%2F01", "quantity": 4.5}
    ]
    assert dried["ocop:product"] == {"ocop:name": "Đông trùng hạ thảo sấy khô", "ocop:unit": "hộp"}
    fresh_class = f"{epcis.OCOP_NS}batch/{json.loads(document)['epcisBody']['eventList'][4]['ocop:batchId']}"
    assert fresh["quantityList"] == [{"epcClass": fresh_class, "quantity": 40, "uom": "KGM"}]
    assert harvest["quantityList"] == [{"epcClass": fresh_class}]
    assert shipped["disposition"] == "in_transit"
    assert harvest["disposition"] == "active"


def test_transformation_names_inputs_as_classes_and_pins_them(document: bytes) -> None:
    events = events_of(document)
    drying, fresh, harvest = events[1], events[4], events[5]
    assert drying["inputQuantityList"] == [{"epcClass": fresh["quantityList"][0]["epcClass"]}]  # type: ignore[index]
    assert drying["outputQuantityList"] == [{"epcClass": events[0]["quantityList"][0]["epcClass"]}]  # type: ignore[index]
    assert drying["ocop:input"] == [
        {"ocop:batchId": fresh["ocop:batchId"], "ocop:seq": 1, "ocop:head": harvest["ocop:eventId"]}
    ]


def test_places_sensor_data_ilmd_and_certificate(document: bytes) -> None:
    events = events_of(document)
    fresh, lab, drying = events[4], events[2], events[1]
    assert fresh["readPoint"] == {"id": "https://id.gs1.org/414/8934567000017"}
    assert fresh["ocop:location"] == {
        "ocop:name": "Trang trại Nghi Sơn, Thanh Hóa",
        "ocop:adminCode": "38",
        "ocop:geo": "geo:19.335512,105.796114",
    }
    assert lab["readPoint"] == {"id": "geo:-1.500000,-0.000100"}
    assert fresh["ilmd"] == {
        "cbvmda:lotNumber": "T2411-01",
        "cbvmda:itemExpirationDate": "2025-01-31",
        "ocop:shelfLife": "7 ngày, bảo quản 2-4 °C",
    }
    assert fresh["certificationInfo"] == f"{epcis.OCOP_NS}certificate/1234%2FQ%C4%90-UBND"
    assert fresh["ocop:certificate"] == {"ocop:number": "1234/QĐ-UBND", "ocop:stars": 3, "ocop:issued": "2020-12-30"}
    assert drying["sensorElementList"] == [{"sensorReport": [{"type": "Temperature", "value": 50, "uom": "CEL"}]}]
    assert lab["sensorElementList"] == [
        {"sensorReport": [{"type": "ocop:MoistureContent", "value": 11.8, "uom": "P1"}]}
    ]
    # What EPCIS has no field for stays typed in our namespace; "12.50" is text, not the measurement 12.5.
    assert lab["ocop:data"] == [
        {"ocop:key": "code", "ocop:text": "12.50"},
        {"ocop:key": "note", "ocop:text": ""},
        {"ocop:key": "passed", "ocop:boolean": "true"},
        {"ocop:key": "result", "ocop:text": "Đạt"},
    ]
    dried = events[0]
    assert dried["ilmd"] == {
        "cbvmda:lotNumber": "L2411/01",
        "ocop:standards": "TCCS 01:2022/NS",
        "ocop:brand": "Nghi Sơn",
    }
    assert dried["ocop:data"] == [{"ocop:key": "expiry_date", "ocop:text": "not a date"}]


def test_each_event_carries_its_signature_trace_and_hash(document: bytes) -> None:
    dried, fresh = demo_chains()
    by_id = {e.event_id.hex(): e for e in [*dried, *fresh]}
    for event in events_of(document):
        signed = by_id[str(event["ocop:eventId"])]
        assert event["ocop:batchId"] == signed.batch_id.hex()
        assert event["ocop:seq"] == signed.seq
        assert event.get("ocop:prev") == (None if signed.prev is None else signed.prev.hex())
        assert event["ocop:signer"] == {"ocop:keyId": signed.key_id.hex()}
        body = json.loads(json.dumps(event), parse_float=Decimal)
        del body["eventID"]
        assert event["eventID"] == epcis.epcis_event_hash(body, epcis.CONTEXT_PREFIXES)
        assert str(event["eventID"]).startswith("ni:///sha-256;")
        assert str(event["eventID"]).endswith("?ver=CBV2.0")


def test_signers_are_named_as_the_trust_list_names_them() -> None:
    doc = json.loads(export(demo_chains(), KEYS, trust=trusted()))
    signers = [e["ocop:signer"] for e in doc["epcisBody"]["eventList"]]
    assert signers[1] == {
        "ocop:keyId": PROCESSOR.key_id.hex(),
        "ocop:participant": "xuong-say-thanh-hoa",
        "ocop:name": "Xưởng sấy Thanh Hóa",
        "ocop:role": "processor",
    }
    assert signers[2]["ocop:role"] == "lab"


def test_signers_carry_the_commune_and_province_the_trust_list_registers() -> None:
    draft = trust_draft()
    registered = tuple(
        replace(p, commune="Xã Hải Ninh", province="Thanh Hóa") if p.role == "processor" else p
        for p in draft.participants
    )
    listed = op.verify_trust_list(sign_trust_list(replace(draft, participants=registered), AUTH), pin(), now=NOW)
    document = export(demo_chains(), KEYS, trust=listed)
    signers = [e["ocop:signer"] for e in json.loads(document)["epcisBody"]["eventList"]]
    assert signers[1]["ocop:commune"] == "Xã Hải Ninh"
    assert signers[1]["ocop:province"] == "Thanh Hóa"
    assert "ocop:commune" not in signers[2]  # the lab's entry registers neither
    assert "ocop:province" not in signers[2]
    batches, _ = verified(demo_chains(), KEYS)
    assert len(epcis.check_epcis(document, batches)) == 6


def test_export_is_deterministic() -> None:
    assert export(demo_chains(), KEYS) == export(demo_chains(), KEYS)


def test_read_back_gives_the_same_content(document: bytes) -> None:
    dried, fresh = demo_chains()
    back = epcis.read_epcis(document)
    originals = [*dried, *fresh]
    assert [e.index for e in back] == list(range(len(originals)))
    for read, signed in zip(back, originals, strict=True):
        assert read.signed_event_id == signed.event_id
        assert read.batch_id == signed.batch_id
        assert read.seq == signed.seq
        assert read.key_id == signed.key_id
        if isinstance(signed.body, op.Genesis):
            assert isinstance(read.content, op.Genesis)
            assert same_genesis(read.content, signed.body)
        else:
            assert isinstance(read.content, epcis.EpcisStep)
            assert same_step(read.content, signed.body)


def test_utc_offset_beyond_14_hours_is_refused() -> None:
    far = timezone(timedelta(hours=15))
    genesis = open_batch(
        op.Genesis(
            time=datetime(2024, 1, 1, tzinfo=far),
            product=op.Product(name="Mật ong", lot="M1", quantity="1", unit="kg"),
            producer=op.Producer(name="HTX"),
        ),
        PRODUCER,
    )
    batches, summary = verified([[genesis]], [PRODUCER.public_key])
    with pytest.raises(op.FormatError) as e:
        epcis.epcis_document(batches, summary, created=CREATED)
    assert e.value.code == "E_EPCIS_UNSUPPORTED"
    assert e.value.field == "time"
    assert e.value.event_id == genesis.event_id.hex()


def test_naive_creation_time_is_a_caller_error() -> None:
    batches, summary = verified([demo_chains()[1]], [PRODUCER.public_key])
    with pytest.raises(ValueError, match="timezone-aware"):
        epcis.epcis_document(batches, summary, created=datetime(2025, 1, 1))


def test_a_batch_must_start_with_its_genesis() -> None:
    batches, summary = verified([demo_chains()[1]], [PRODUCER.public_key])
    with pytest.raises(op.ChainError) as e:
        epcis.epcis_document([batches[0][1:]], summary, created=CREATED)
    assert e.value.code == "E_GENESIS"


def test_every_input_batch_must_be_given() -> None:
    batches, summary = verified(demo_chains(), KEYS)
    with pytest.raises(op.ChainError) as e:
        epcis.epcis_document(batches[:1], summary, created=CREATED)
    assert e.value.code == "E_INPUT_MISSING"
    assert e.value.event_id == batches[0][1].event_id.hex()


def test_check_epcis_accepts_the_export_of_the_verified_events(document: bytes) -> None:
    batches, _ = verified(demo_chains(), KEYS)
    events = epcis.check_epcis(document, batches)
    assert len(events) == 6
    # Signer names are not compared: an export with a trust list checks against the same events.
    assert len(epcis.check_epcis(export(demo_chains(), KEYS, trust=trusted()), batches)) == 6


def _edited(document: bytes, index: int, key: str, value: object) -> dict[str, object]:
    doc = json.loads(document, parse_float=Decimal)
    event = doc["epcisBody"]["eventList"][index]
    event[key] = value
    del event["eventID"]
    event["eventID"] = epcis.epcis_event_hash(event, epcis.CONTEXT_PREFIXES)  # a forger recomputes the hash
    return doc  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("index", "key", "value", "code", "field"),
    [
        (2, "ocop:location", {"ocop:name": "Phòng thử nghiệm khác"}, "E_EPCIS_MISMATCH", "location"),
        (2, "bizStep", "sampling", "E_EPCIS_MISMATCH", "step"),
        (1, "ocop:seq", 2, "E_EPCIS_MISMATCH", "ocop:seq"),
        (3, "ocop:signer", {"ocop:keyId": LAB.key_id.hex()}, "E_EPCIS_MISMATCH", "ocop:signer"),
        (
            1,
            "inputQuantityList",
            [{"epcClass": "https://id.gs1.org/01/08931234567897/10/KHAC"}],
            "E_EPCIS_MISMATCH",
            "inputQuantityList",
        ),
        (5, "eventTime", "2024-11-01T06:00:00.000001+07:00", "E_EPCIS_MISMATCH", "eventTime"),
        (3, "ocop:eventId", "00" * 32, "E_EPCIS_UNSIGNED", "ocop:eventId"),
    ],
)
def test_check_epcis_names_what_differs_from_the_signed_event(
    document: bytes, index: int, key: str, value: object, code: str, field: str
) -> None:
    batches, _ = verified(demo_chains(), KEYS)
    with pytest.raises(op.VerificationError) as e:
        epcis.check_epcis(_edited(document, index, key, value), batches)
    assert e.value.code == code
    assert e.value.position == index
    assert e.value.field == f"epcisBody.eventList[{index}].{field}"


def test_check_epcis_refuses_an_event_without_a_signed_original(document: bytes) -> None:
    batches, _ = verified(demo_chains(), KEYS)
    doc = json.loads(document, parse_float=Decimal)
    event = doc["epcisBody"]["eventList"][3]
    for key in ("ocop:eventId", "ocop:batchId", "ocop:seq", "ocop:prev", "ocop:signer", "eventID"):
        del event[key]
    with pytest.raises(op.VerificationError) as e:
        epcis.check_epcis(doc, batches)
    assert e.value.code == "E_EPCIS_UNSIGNED"
