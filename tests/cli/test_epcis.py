"""``ocop export --epcis`` and ``ocop step import``: EPCIS 2.0 JSON-LD out of the ledger and back in as steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.conftest import PLACE, PRODUCT, Env, step
from tests.epcis.helpers import schema_errors


def _setup(env: Env) -> str:
    env.new_key("coop")
    batch = env.new_batch("coop")
    assert step(env, batch, "commissioning", "2024-11-01T09:00:00+07:00", "--data", "weight_kg=40").exit_code == 0
    return batch


def _export(env: Env, batch: str) -> tuple[dict[str, Any], Path]:
    path = env.tmp / "batch.jsonld"
    report = env.json("export", batch, "--epcis", "-o", str(path))
    return report, path


def test_export_epcis_writes_a_schema_valid_document(env: Env) -> None:
    batch = _setup(env)
    report, path = _export(env, batch)
    assert report["ok"] is True
    assert report["format"] == "epcis"
    assert report["events"] == 2
    assert report["batches"] == 1
    data = path.read_bytes()
    assert report["bytes"] == len(data)
    assert schema_errors(data) == []
    text = data.decode("utf-8")
    assert PRODUCT in text
    assert PLACE in text
    events = json.loads(text)["epcisBody"]["eventList"]
    assert [e["bizStep"] for e in events] == ["creating_class_instance", "commissioning"]
    assert events[1]["sensorElementList"][0]["sensorReport"] == [{"type": "Mass", "value": 40, "uom": "KGM"}]
    assert events[0]["ocop:batchId"] == events[0]["ocop:eventId"]
    assert events[0]["ocop:batchId"].startswith(batch[:16])


def test_export_epcis_human_output_names_the_file(env: Env) -> None:
    batch = _setup(env)
    path = env.tmp / "lô hàng.jsonld"
    result = env.ok("export", batch, "--epcis", "-o", str(path))
    assert "EPCIS 2.0 JSON-LD document" in result.stderr
    assert str(path) in result.stderr
    assert path.exists()


def test_export_option_conflicts_are_usage_errors(env: Env) -> None:
    batch = _setup(env)
    out = str(env.tmp / "x")
    assert env.run("export", batch, "--epcis", "--cose-seq", "-o", out).exit_code == 2
    assert env.run("export", batch, "--trust", str(env.tmp / "t.trust"), "-o", out).exit_code == 2


def _erp_document(epc_class: str, **change: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:0f7c6b1e-9a56-4a4e-8a53-2c1d8e0f6a01",
        "eventTime": "2024-11-03T10:00:00+07:00",
        "eventTimeZoneOffset": "+07:00",
        "quantityList": [{"epcClass": epc_class}],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": "https://id.gs1.org/414/8934567000017"},
        "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 4.5, "uom": "CEL"}]}],
        **change,
    }
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-11-03T10:00:00Z",
        "epcisBody": {"eventList": [event]},
    }


def _class_of(env: Env, batch: str) -> str:
    _, path = _export(env, batch)
    cls: str = json.loads(path.read_text(encoding="utf-8"))["epcisBody"]["eventList"][0]["quantityList"][0]["epcClass"]
    return cls


def test_step_import_signs_erp_events_as_steps(env: Env) -> None:
    batch = _setup(env)
    source = env.tmp / "erp.jsonld"
    source.write_text(json.dumps(_erp_document(_class_of(env, batch))), encoding="utf-8")
    report = env.json("step", "import", batch, str(source), "--key", "coop")
    assert report["imported"] == 1
    (event,) = report["events"]
    assert event["seq"] == 2
    assert event["step"] == "shipping"
    assert event["time"] == "2024-11-03T10:00:00+07:00"
    assert event["data"] == {
        "temperature_c": "4.5",
        "epcis_event_id": "urn:uuid:0f7c6b1e-9a56-4a4e-8a53-2c1d8e0f6a01",
    }
    assert event["location"]["gln"] == "8934567000017"
    assert event["epcis_event_hash"].startswith("ni:///sha-256;")
    # The signed step is in the ledger and exports again.
    events = json.loads(_export(env, batch)[1].read_text(encoding="utf-8"))["epcisBody"]["eventList"]
    assert [e["bizStep"] for e in events] == ["creating_class_instance", "commissioning", "shipping"]


def _refused(env: Env, batch: str, document: dict[str, Any]) -> dict[str, Any]:
    source = env.tmp / "in.jsonld"
    source.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    before = env.ledger_state()
    report = env.json("step", "import", batch, str(source), "--key", "coop", code=3)
    assert env.ledger_state() == before
    error: dict[str, Any] = report["error"]
    return error


def test_step_import_refuses_what_it_cannot_carry_and_signs_nothing(env: Env) -> None:
    batch = _setup(env)
    cls = _class_of(env, batch)
    error = _refused(env, batch, _erp_document(cls, bizTransactionList=[{"type": "po", "bizTransaction": "urn:x"}]))
    assert error["code"] == "E_EPCIS_UNSUPPORTED"
    assert error["field"] == "epcisBody.eventList[0].bizTransactionList"
    error = _refused(env, batch, _erp_document("https://id.gs1.org/01/08931234567897/10/OTHER"))
    assert error["code"] == "E_EPCIS_FIELD"
    assert error["field"] == "epcisBody.eventList[0].epcClass"
    error = _refused(env, batch, _erp_document(cls, eventTime="2999-01-01T00:00:00+07:00"))
    assert error["code"] == "E_EPCIS_FIELD"
    assert error["field"] == "epcisBody.eventList[0].eventTime"


def test_step_import_refuses_a_genesis(env: Env) -> None:
    batch = _setup(env)
    _, path = _export(env, batch)
    error = _refused(env, batch, json.loads(path.read_text(encoding="utf-8")))
    assert error["code"] == "E_EPCIS_UNSUPPORTED"
    assert error["field"] == "epcisBody.eventList[0]"
    assert error["index"] == 0


def test_step_import_refuses_events_exported_from_another_batch(env: Env) -> None:
    batch = _setup(env)
    other = env.new_batch("coop", PRODUCT, "L2411-02")
    assert step(env, other, "packing", "2024-11-02T09:00:00+07:00").exit_code == 0
    _, path = _export(env, other)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["epcisBody"]["eventList"] = doc["epcisBody"]["eventList"][1:]
    error = _refused(env, batch, doc)
    assert error["code"] == "E_EPCIS_FIELD"
    assert error["field"] == "epcisBody.eventList[0].ocop:batchId"


def test_a_corrected_batch_exports_its_declaration_and_its_corrections_are_not_imported(env: Env) -> None:
    batch = _setup(env)
    env.ok(
        "step", "correct", batch, "--seq", "1", "--key", "coop", "--reason", "Cân nhầm: 38 kg", "--data",
        "weight_kg=38", "--at", "2024-11-02T09:00:00+07:00",
    )  # fmt: skip
    _, path = _export(env, batch)
    assert schema_errors(path.read_bytes()) == []
    doc = json.loads(path.read_text(encoding="utf-8"))
    events = doc["epcisBody"]["eventList"]
    assert [e["bizStep"] for e in events] == [
        "creating_class_instance", "commissioning", "ocop:correcting", "commissioning", "commissioning",
    ]  # fmt: skip
    assert events[3]["errorDeclaration"]["reason"] == "incorrect_data"
    assert events[3]["eventID"] == events[1]["eventID"]
    assert events[4]["sensorElementList"][0]["sensorReport"][0]["value"] == 38
    for index, field in ((3, "errorDeclaration"), (2, "ocop:corrects"), (4, "ocop:correctedBy")):
        doc["epcisBody"]["eventList"] = [events[index]]
        error = _refused(env, batch, doc)
        assert error["code"] == "E_EPCIS_UNSUPPORTED"
        assert error["field"] == f"epcisBody.eventList[0].{field}"
