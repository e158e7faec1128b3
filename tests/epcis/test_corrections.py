"""EPCIS 2.0 export of corrections (docs/epcis.md §2.4, ADR 0100): declarations, corrective events, the §5 check.

The demo's dried batch gets four corrections: the processor corrects its drying step (superseded by its second
correction, which is in force), the lab withdraws its test (in force), and the producer "corrects" the lab's test
(unauthorised: shown, never declared).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import ocop_provenance as op
import pytest
from ocop_provenance import epcis
from ocop_provenance.events import append_correction, append_step

from tests.epcis.helpers import export, own_events, same_step, schema_errors, verified
from tests.epcis.test_export import KEYS, LAB_PLACE, WORKSHOP, at, demo_chains
from tests.unit.trust_helpers import LAB, PROCESSOR, PRODUCER, trusted

MAX_DATA_ITEMS = 64  # key data elements of one step (docs/format.md §7.2)

# Index of each event in the exported document.
(G, DRYING, TEST, SHIPPING, K1, K2, WITHDRAWN, K3, K4, DECLARED, CORRECTIVE, FRESH, HARVEST) = range(13)


def corrected_chains() -> tuple[list[op.SignedEvent], list[op.SignedEvent]]:
    dried, fresh = demo_chains()
    drying, test = dried[1], dried[2]

    def correct(signer: op.PrivateKey, target: op.SignedEvent, day: int, reason: str, **kw: Any) -> None:
        place = WORKSHOP if signer is PROCESSOR else LAB_PLACE
        dried.append(
            append_correction(dried[-1], signer, corrected=target, reason=reason, time=at(day, 9), location=place, **kw)
        )

    correct(PROCESSOR, drying, 7, "Ghi nhầm nhiệt độ sấy", data={"temperature_c": 55})
    correct(LAB, test, 8, "Mẫu lấy nhầm lô", attachments=[])
    correct(PRODUCER, test, 9, "Kết quả đạt, không phải của phòng thử nghiệm", data={"result": "Đạt"})
    correct(
        PROCESSOR, drying, 10, "Nhiệt độ sấy đúng là 60 °C, thời gian 30 giờ", data={"temperature_c": 60, "hours": 30}
    )
    return dried, fresh


@pytest.fixture(scope="module")
def document() -> bytes:
    return export(corrected_chains(), KEYS)


@pytest.fixture(scope="module")
def batches() -> list[list[op.SignedEvent]]:
    return verified(corrected_chains(), KEYS)[0]


def events_of(document: bytes | dict[str, Any]) -> list[dict[str, Any]]:
    doc = json.loads(document, parse_float=Decimal) if isinstance(document, bytes) else document
    return doc["epcisBody"]["eventList"]  # type: ignore[no-any-return]


def test_a_corrected_batch_exports_and_validates_against_the_epcis_2_schema(document: bytes) -> None:
    assert schema_errors(document) == []
    assert export(corrected_chains(), KEYS) == document  # deterministic


def test_each_correction_is_its_own_event_with_how_it_stands(document: bytes) -> None:
    events = events_of(document)
    assert len(events) == 13
    dried = corrected_chains()[0]
    for index, seq, status in (
        (K1, 4, "superseded"),
        (K2, 5, "in_force"),
        (K3, 6, "unauthorised"),
        (K4, 7, "in_force"),
    ):
        own = events[index]
        assert (own["type"], own["action"], own["bizStep"]) == ("ObjectEvent", "OBSERVE", "ocop:correcting")
        assert own["ocop:eventId"] == dried[seq].event_id.hex()
        assert own["ocop:corrects"]["ocop:status"] == status
        assert "errorDeclaration" not in own
    assert events[K2]["ocop:corrects"] == {
        "ocop:seq": 2,
        "ocop:eventId": dried[2].event_id.hex(),
        "ocop:reason": "Mẫu lấy nhầm lô",
        "ocop:status": "in_force",
    }
    assert events[K4]["ocop:corrects"]["ocop:data"] == [  # in key order, as signed
        {"ocop:key": "hours", "ocop:integer": "30"},
        {"ocop:key": "temperature_c", "ocop:integer": "60"},
    ]


def test_a_correction_in_force_declares_the_corrected_event_in_error(document: bytes) -> None:
    events = events_of(document)
    dried = corrected_chains()[0]
    declared, corrective = events[DECLARED], events[CORRECTIVE]
    # EPCIS 2.0: otherwise identical to the erroneous event, eventID included (the CBV hash leaves it out).
    assert {k: v for k, v in declared.items() if k != "errorDeclaration"} == events[DRYING]
    assert declared["errorDeclaration"] == {
        "declarationTime": "2024-11-10T09:00:00+07:00",
        "reason": "incorrect_data",
        "correctiveEventIDs": [corrective["eventID"]],
        "ocop:correction": dried[7].event_id.hex(),
        "ocop:reason": "Nhiệt độ sấy đúng là 60 °C, thời gian 30 giờ",
    }
    assert list(declared)[:4] == ["eventID", "type", "eventTime", "eventTimeZoneOffset"]
    # The corrective event: the drying step with the corrected values (not cumulative: 55 was superseded).
    assert corrective["ocop:eventId"] == dried[1].event_id.hex()
    assert corrective["ocop:correctedBy"] == dried[7].event_id.hex()
    assert corrective["sensorElementList"] == [{"sensorReport": [{"type": "Temperature", "value": 60, "uom": "CEL"}]}]
    assert {"ocop:key": "hours", "ocop:integer": "30"} in corrective["ocop:data"]
    assert {"ocop:key": "moisture", "ocop:text": "12.4"} in corrective["ocop:data"]
    assert corrective["eventID"] != events[DRYING]["eventID"]
    for key in ("type", "eventTime", "inputQuantityList", "outputQuantityList", "bizStep", "ocop:input"):
        assert corrective[key] == events[DRYING][key]


def test_a_withdrawal_is_declared_did_not_occur_without_a_corrective_event(document: bytes) -> None:
    events = events_of(document)
    withdrawn = events[WITHDRAWN]
    assert withdrawn["eventID"] == events[TEST]["eventID"]
    assert withdrawn["errorDeclaration"] == {
        "declarationTime": "2024-11-08T09:00:00+07:00",
        "reason": "did_not_occur",
        "ocop:correction": corrected_chains()[0][5].event_id.hex(),
        "ocop:reason": "Mẫu lấy nhầm lô",
    }


def test_superseded_and_unauthorised_corrections_are_never_declared(document: bytes) -> None:
    dried = corrected_chains()[0]
    declared = [e["errorDeclaration"]["ocop:correction"] for e in events_of(document) if "errorDeclaration" in e]
    assert declared == [dried[5].event_id.hex(), dried[7].event_id.hex()]
    assert sum("ocop:correctedBy" in e for e in events_of(document)) == 1


def test_every_event_id_is_the_cbv_event_hash(document: bytes) -> None:
    for event in events_of(document):
        body = {k: v for k, v in event.items() if k != "eventID"}
        assert event["eventID"] == epcis.epcis_event_hash(body, epcis.CONTEXT_PREFIXES)


def test_with_a_trust_list_corrections_are_judged_by_participant() -> None:
    listed = trusted()
    document = export(corrected_chains(), KEYS, trust=listed)
    statuses = [e["ocop:corrects"]["ocop:status"] for e in events_of(document) if "ocop:corrects" in e]
    assert statuses == ["superseded", "in_force", "unauthorised", "in_force"]
    batches, _ = verified(corrected_chains(), KEYS)
    assert len(epcis.check_epcis(document, batches, trust=listed)) == 13


def test_reading_back_gives_each_signed_event_and_each_declaration(document: bytes) -> None:
    back = epcis.read_epcis(document, corrections=True)
    dried, fresh = corrected_chains()
    for read, signed in zip(own_events(back), [*dried, *fresh], strict=True):
        assert read.signed_event_id == signed.event_id
        if isinstance(signed.body, op.Step):
            assert isinstance(read.content, epcis.EpcisStep)
            assert same_step(read.content, signed.body)
    declaration = back[DECLARED].declaration
    assert declaration is not None
    assert declaration.reason == "incorrect_data"
    assert declaration.correction == dried[7].event_id
    assert declaration.corrective_event_ids == (back[CORRECTIVE].event_hash,)
    assert declaration.time == dried[7].time
    assert back[CORRECTIVE].corrected_by == dried[7].event_id
    assert back[K3].status == "unauthorised"


def test_check_epcis_accepts_declarations_and_corrective_events(document: bytes, batches: Any) -> None:
    assert len(epcis.check_epcis(document, batches)) == 13


def _rehash(event: dict[str, Any]) -> None:
    del event["eventID"]
    event["eventID"] = epcis.epcis_event_hash(event, epcis.CONTEXT_PREFIXES)  # a forger recomputes the hash


def _tamper(document: bytes, edit: str) -> dict[str, Any]:
    doc = json.loads(document, parse_float=Decimal)
    events = events_of(doc)
    dried = corrected_chains()[0]
    declaration = events[DECLARED]["errorDeclaration"]
    if edit == "reason":
        events[WITHDRAWN]["errorDeclaration"]["reason"] = "incorrect_data"
    elif edit == "time":
        declaration["declarationTime"] = "2024-11-10T10:00:00+07:00"
    elif edit == "reason text":
        declaration["ocop:reason"] = "Không có lý do"
    elif edit == "declares the unauthorised":
        events[WITHDRAWN]["errorDeclaration"]["ocop:correction"] = dried[6].event_id.hex()
    elif edit == "declares the superseded":
        declaration["ocop:correction"] = dried[4].event_id.hex()
    elif edit == "declares another event":
        events[SHIPPING]["errorDeclaration"] = dict(events[WITHDRAWN]["errorDeclaration"])
    elif edit == "corrective list":
        declaration["correctiveEventIDs"] = [events[DRYING]["eventID"]]
    elif edit == "corrective value":
        events[CORRECTIVE]["sensorElementList"][0]["sensorReport"][0]["value"] = 61
        _rehash(events[CORRECTIVE])
        declaration["correctiveEventIDs"] = [events[CORRECTIVE]["eventID"]]
    elif edit == "corrective of the unauthorised":
        # A document may leave events out: without the declaration, the corrective event is checked on its own.
        events[CORRECTIVE]["ocop:correctedBy"] = dried[6].event_id.hex()
        _rehash(events[CORRECTIVE])
        del events[DECLARED]
    elif edit == "declared content":
        events[DECLARED]["bizStep"] = "ocop:roasting"
        _rehash(events[DECLARED])
    elif edit == "status":
        events[K3]["ocop:corrects"]["ocop:status"] = "in_force"
        _rehash(events[K3])
    elif edit == "corrected values":
        events[K4]["ocop:corrects"]["ocop:data"][0]["ocop:integer"] = "65"
        _rehash(events[K4])
    return doc


@pytest.mark.parametrize(
    ("edit", "index", "field"),
    [
        ("reason", WITHDRAWN, "errorDeclaration.reason"),
        ("time", DECLARED, "errorDeclaration.declarationTime"),
        ("reason text", DECLARED, "errorDeclaration.ocop:reason"),
        ("declares the unauthorised", WITHDRAWN, "errorDeclaration.ocop:correction"),
        ("declares the superseded", DECLARED, "errorDeclaration.ocop:correction"),
        ("declares another event", SHIPPING, "errorDeclaration.ocop:correction"),
        ("corrective list", DECLARED, "errorDeclaration.correctiveEventIDs"),
        ("corrective value", CORRECTIVE, "data"),
        ("corrective of the unauthorised", CORRECTIVE - 1, "ocop:correctedBy"),
        ("declared content", DECLARED, "step"),
        ("status", K3, "ocop:corrects.ocop:status"),
        ("corrected values", K4, "ocop:corrects"),
    ],
)
def test_check_epcis_catches_a_changed_declaration_or_correction(
    document: bytes, batches: Any, edit: str, index: int, field: str
) -> None:
    with pytest.raises(op.VerificationError) as e:
        epcis.check_epcis(_tamper(document, edit), batches)
    assert e.value.code == "E_EPCIS_MISMATCH"
    assert e.value.position == index
    assert e.value.field == f"epcisBody.eventList[{index}].{field}"


def test_a_declaration_is_not_hashed_so_changing_it_keeps_the_event_id(document: bytes) -> None:
    doc = _tamper(document, "reason text")
    assert events_of(doc)[DECLARED]["eventID"] == events_of(document)[DRYING]["eventID"]
    epcis.read_epcis(doc, corrections=True)  # reads: only the check against the signed events catches it (above)


def test_a_foreign_error_declaration_is_refused_by_the_reader() -> None:
    doc = {
        "@context": [epcis.EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-01-01T00:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "2024-11-02T08:00:00+07:00",
                    "eventTimeZoneOffset": "+07:00",
                    "errorDeclaration": {"declarationTime": "2024-11-03T08:00:00+07:00", "reason": "did_not_occur"},
                    "quantityList": [{"epcClass": "https://id.gs1.org/01/08931234567897/10/L1"}],
                    "action": "OBSERVE",
                    "bizStep": "inspecting",
                    "readPoint": {"id": "https://id.gs1.org/414/8934567000017"},
                }
            ]
        },
    }
    for corrections in (False, True):
        with pytest.raises(op.FormatError) as e:
            epcis.read_epcis(json.dumps(doc), corrections=corrections)
        assert e.value.code == "E_EPCIS_UNSUPPORTED"
        assert e.value.field == "epcisBody.eventList[0].errorDeclaration"


@pytest.mark.parametrize(
    ("index", "field"), [(WITHDRAWN, "errorDeclaration"), (K1, "ocop:corrects"), (CORRECTIVE, "ocop:correctedBy")]
)
def test_reading_steps_to_sign_refuses_corrections(document: bytes, index: int, field: str) -> None:
    with pytest.raises(op.FormatError) as e:
        epcis.read_epcis(document)  # what `ocop step import` reads: steps to sign
    assert e.value.code == "E_EPCIS_UNSUPPORTED"
    assert e.value.position == K1  # the first correction event in the document
    doc = json.loads(document, parse_float=Decimal)
    doc["epcisBody"]["eventList"] = [events_of(doc)[index]]
    with pytest.raises(op.FormatError) as e:
        epcis.read_epcis(doc)
    assert (e.value.code, e.value.field) == ("E_EPCIS_UNSUPPORTED", f"epcisBody.eventList[0].{field}")


def test_a_corrective_event_may_hold_more_data_elements_than_a_step() -> None:
    dried, fresh = demo_chains()
    full = {f"chi_tieu_{i:02d}": i for i in range(MAX_DATA_ITEMS)}
    dried.append(append_step(dried[-1], LAB, step="inspecting", time=at(7, 9), location=LAB_PLACE, data=full))
    more = {"ket_luan": "Đạt", "chi_tieu_00": 1}
    dried.append(
        append_correction(
            dried[-1], LAB, corrected=dried[-1], reason="Thiếu kết luận", time=at(7, 10), location=LAB_PLACE, data=more
        )
    )
    document = export([dried, fresh], KEYS)
    assert schema_errors(document) == []
    batches, _ = verified([dried, fresh], KEYS)
    events = epcis.check_epcis(document, batches)
    corrective = next(e for e in events if e.corrected_by is not None)
    assert isinstance(corrective.content, epcis.EpcisStep)
    assert dict(corrective.content.data) == {**full, **more}
    assert len(corrective.content.data) == MAX_DATA_ITEMS + 1
