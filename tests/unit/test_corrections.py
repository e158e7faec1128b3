"""Corrections (docs/format.md §19): the model and wire rules, the chain check, the log that says how steps stand."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import cbor2
import ocop_provenance as op
import pytest
from ocop_provenance import _wire
from ocop_provenance.events import (
    CORRECTION_STEP,
    MAX_CORRECTION_DISTANCE,
    BundleBatch,
    BundleHeader,
    ChainVerifier,
    CorrectionLog,
    append_correction,
    append_step,
    head_of,
    iter_verified,
    open_batch,
    report_chain,
    write_bundle,
)

from tests.conftest import ICT, key, sample_chain, sample_genesis
from tests.verifying import ANY_BATCH, options

PLACE = op.Location(name="Kho Nghi Sơn", admin_code="38")
LATER = datetime(2024, 11, 3, 8, 0, tzinfo=ICT)


def corrected_chain(coop: op.PrivateKey, **kw: Any) -> list[op.SignedEvent]:
    """Four events, then a correction of step #2 (moisture 12.5 -> 11.5) signed by the same key."""
    events = sample_chain(coop)
    fields: dict[str, Any] = {"reason": "Ghi nhầm độ ẩm: 11,5% chứ không phải 12,5%", "data": {"moisture": "11.5"}}
    fields.update(kw)
    events.append(append_correction(events[-1], coop, corrected=events[2], time=LATER, location=PLACE, **fields))
    return events


def signed(body: op.Step, signer: op.PrivateKey) -> op.SignedEvent:
    return _wire.sign_event(body, signer)


# ---- model and wire ------------------------------------------------------------------------------------------


def test_a_correction_round_trips_through_both_decoders(coop: op.PrivateKey) -> None:
    event = corrected_chain(coop)[-1]
    body = event.body
    assert isinstance(body, op.Step)
    assert body.step == CORRECTION_STEP
    assert body.corrects is not None
    assert body.corrects.seq == 2
    assert body.corrects.data == {"moisture": "11.5"}
    assert _wire._fast_step(event.payload) == body
    assert _wire._decode_body_general(event.payload) == body
    assert cbor2.loads(event.payload)[13] == {
        0: 2,
        1: body.corrects.event_id,
        2: "Ghi nhầm độ ẩm: 11,5% chứ không phải 12,5%",
        3: {"moisture": "11.5"},
    }


def test_a_correction_without_values_withdraws_and_an_empty_mapping_is_none() -> None:
    c = op.Correction(seq=1, event_id=bytes(32), reason="nhầm lô", data={})
    assert c.data is None
    assert c.withdrawn
    assert op.Correction(seq=1, event_id=bytes(32), reason="x", data={"a": 1}).withdrawn is False


def test_correction_text_is_nfc_normalised() -> None:
    import unicodedata

    c = op.Correction(seq=1, event_id=bytes(32), reason=unicodedata.normalize("NFD", "Độ ẩm sai"))
    assert c.reason == "Độ ẩm sai"


def _step(**kw: Any) -> op.Step:
    fields: dict[str, Any] = {
        "batch_id": bytes([1]) * 32,
        "seq": 5,
        "prev": bytes([2]) * 32,
        "time": LATER,
        "step": CORRECTION_STEP,
        "location": PLACE,
        "corrects": op.Correction(seq=3, event_id=bytes([3]) * 32, reason="sai"),
    }
    fields.update(kw)
    return op.Step(**fields)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"step": "packing"}, "step"),
        ({"corrects": None}, "corrects"),
        ({"corrects": op.Correction(seq=5, event_id=bytes(32), reason="sai")}, "corrects.seq"),
        ({"corrects": op.Correction(seq=7, event_id=bytes(32), reason="sai")}, "corrects.seq"),
        ({"seq": MAX_CORRECTION_DISTANCE + 4}, "corrects.seq"),
        ({"inputs": (op.InputRef(batch_id=bytes([9]) * 32, seq=0, head=bytes([9]) * 32),)}, "inputs"),
        ({"data": {"moisture": "11.5"}}, "data"),
    ],
    ids=["other-step", "no-corrects", "own-seq", "later-seq", "too-far-back", "inputs", "own-data"],
)
def test_the_correction_rules_refuse_with_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(op.FormatError) as info:
        _step(**change)
    assert (info.value.code, info.value.field) == ("E_FIELD", field)


def test_the_furthest_step_back_is_allowed() -> None:
    assert _step(seq=3 + MAX_CORRECTION_DISTANCE).corrects is not None


@pytest.mark.parametrize(
    ("corrects", "field"),
    [
        ({"seq": 0}, "corrects.seq"),
        ({"event_id": bytes(31)}, "corrects.event_id"),
        ({"reason": " "}, "corrects.reason"),
    ],
)
def test_correction_fields_are_checked(corrects: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {"seq": 1, "event_id": bytes(32), "reason": "sai", **corrects}
    with pytest.raises(op.FormatError) as info:
        op.Correction(**values)
    assert info.value.field == field


def _payload(event: op.SignedEvent, **changes: Any) -> bytes:
    m = cbor2.loads(event.payload)
    for label, value in changes.items():
        m[int(label[1:])] = value
    return cbor2.dumps(m, canonical=True)


@pytest.mark.parametrize(
    ("corrects", "code"),
    [
        ({0: 2, 1: bytes(32)}, "E_SCHEMA"),  # no reason
        ({1: bytes(32), 2: "x", 3: {"a": 1}}, "E_SCHEMA"),  # no seq: three labels, not 0-2
        ({0: 2, 1: bytes(32), 3: {"a": 1}}, "E_SCHEMA"),  # no reason, with data
        ({0: 2, 2: "x", 3: {"a": 1}}, "E_SCHEMA"),  # no event id, with data
        ({0: 2, 1: bytes(32), 2: "x", 4: 1}, "E_SCHEMA"),  # an unknown label
        ({0: 2, 1: bytes(32), 2: "x", 3: {}}, "E_SCHEMA"),  # an empty data map present
        ({0: 0, 1: bytes(32), 2: "x"}, "E_FIELD"),  # the genesis
        ({0: 2, 1: bytes(32), 2: "Đo\u0302"}, "E_NONCANONICAL"),  # NFD reason
        ("x", "E_SCHEMA"),
    ],
)
def test_malformed_corrections_are_refused(coop: op.PrivateKey, corrects: object, code: str) -> None:
    payload = _payload(corrected_chain(coop)[-1], _13=corrects)
    assert _wire._fast_step(payload) is None
    with pytest.raises(op.FormatError) as info:
        _wire._decode_body_general(payload)
    assert info.value.code == code


def test_a_genesis_cannot_carry_a_correction(coop: op.PrivateKey) -> None:
    genesis = open_batch(sample_genesis(), coop)
    with pytest.raises(op.FormatError) as info:
        _wire.decode_body(_payload(genesis, _13={0: 1, 1: bytes(32), 2: "x"}))
    assert info.value.code == "E_SCHEMA"


def test_a_misplaced_correction_label_is_not_taken_by_the_fast_decoder(coop: op.PrivateKey) -> None:
    event = corrected_chain(coop)[-1]
    m = cbor2.loads(event.payload)
    reordered = {13: m.pop(13), **m}  # the right content, not in deterministic order
    payload = cbor2.dumps(reordered)
    assert _wire._fast_step(payload) is None
    with pytest.raises(op.FormatError) as info:
        _wire.decode_body(payload)
    assert info.value.code == "E_NONCANONICAL"


def test_append_correction_refuses_another_batchs_step(coop: op.PrivateKey) -> None:
    mine = sample_chain(coop)
    other = [open_batch(sample_genesis(time=LATER), coop)]
    other.append(append_step(other[0], coop, step="packing", time=LATER, location=PLACE))
    with pytest.raises(op.FormatError) as info:
        append_correction(mine[-1], coop, corrected=other[1], reason="x", time=LATER, location=PLACE)
    assert info.value.field == "corrects"


# ---- the chain check ---------------------------------------------------------------------------------------


def test_a_chain_with_a_correction_verifies(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    events = corrected_chain(coop)
    summary = op.verify_chain(events, options(ring), batch=events[0].event_id)
    assert summary.count == 5


def _forge(events: list[op.SignedEvent], signer: op.PrivateKey, seq: int, event_id: bytes) -> op.SignedEvent:
    """A correction at the head naming (seq, event_id), signed: refused for what it names, not its signature."""
    head = head_of(events[-1])
    body = op.Step(
        batch_id=head.batch_id,
        seq=head.seq + 1,
        prev=head.event_id,
        time=LATER,
        step=CORRECTION_STEP,
        location=PLACE,
        corrects=op.Correction(seq=seq, event_id=event_id, reason="sai"),
    )
    return signed(body, signer)


def test_a_correction_naming_a_wrong_id_is_refused(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    events = sample_chain(coop)
    events.append(_forge(events, coop, 2, events[1].event_id))
    with pytest.raises(op.ChainError) as info:
        op.verify_chain(events, options(ring), batch=ANY_BATCH)
    e = info.value
    assert (e.code, e.seq, e.position, e.field) == ("E_CORRECTION_TARGET", 4, 4, "corrects")


def test_a_correction_naming_another_batchs_event_is_refused(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    events = sample_chain(coop)
    other = [open_batch(sample_genesis(time=LATER), coop)]
    other.append(append_step(other[0], coop, step="packing", time=LATER, location=PLACE))
    other.append(append_step(other[1], coop, step="packing", time=LATER, location=PLACE))
    events.append(_forge(events, coop, 2, other[2].event_id))
    with pytest.raises(op.ChainError) as info:
        op.verify_chain(events, options(ring), batch=ANY_BATCH)
    assert info.value.code == "E_CORRECTION_TARGET"


def test_a_correction_of_a_correction_is_refused(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    events = corrected_chain(coop)
    events.append(_forge(events, coop, 4, events[4].event_id))
    report = report_chain(events, options(ring), batch=ANY_BATCH)
    assert [f.code for f in report.failures] == ["E_CORRECTION_TARGET"]
    assert report.failures[0].seq == 5


def test_the_chain_verifier_keeps_a_bounded_window(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    verifier = ChainVerifier(options(ring), batch=ANY_BATCH)
    events = sample_chain(coop, length=2)
    for e in events:
        verifier.feed(e)
    head = events[-1]
    for i in range(MAX_CORRECTION_DISTANCE + 10):
        head = append_step(head, coop, step="sensor_reporting", time=LATER, location=PLACE, data={"i": i})
        verifier.feed(head)
    assert len(verifier._recent._entries) == MAX_CORRECTION_DISTANCE
    with pytest.raises(op.FormatError) as info:
        append_correction(head, coop, corrected=events[1], reason="x", time=LATER, location=PLACE)
    assert info.value.field == "corrects.seq"


# ---- several processes give the sequential answer --------------------------------------------------------------


def _long_chain(coop: op.PrivateKey, n: int) -> list[op.SignedEvent]:
    events = sample_chain(coop, length=2)
    for i in range(n):
        events.append(append_step(events[-1], coop, step="sensor_reporting", time=LATER, location=PLACE, data={"i": i}))
    return events


@pytest.mark.slow
def test_parallel_verification_checks_corrections_across_chunks(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    events = _long_chain(coop, 30)
    # corrections inside a chunk, across a chunk boundary, and of the chunk before
    for target in (3, 17, 28):
        events.append(
            append_correction(events[-1], coop, corrected=events[target], reason="x", time=LATER, location=PLACE)
        )
    parallel = op.verify_chain(events, options(ring, workers=2, chunk_size=8), batch=ANY_BATCH)
    assert parallel.count == len(events)
    bad = [*events, _forge(events, coop, 20, events[21].event_id)]
    bad.append(append_step(bad[-1], coop, step="packing", time=LATER, location=PLACE))
    errors = []
    for settings in ({}, {"workers": 2, "chunk_size": 8}):
        with pytest.raises(op.ChainError) as info:
            op.verify_chain(bad, options(ring, **settings), batch=ANY_BATCH)
        errors.append(info.value.to_dict())
    assert errors[0] == errors[1]
    assert errors[0]["code"] == "E_CORRECTION_TARGET"
    # a correction of a correction in another chunk
    worse = [*events, _forge(events, coop, len(events) - 2, events[-2].event_id)]
    with pytest.raises(op.ChainError) as info:
        op.verify_chain(worse, options(ring, workers=2, chunk_size=8), batch=ANY_BATCH)
    assert (info.value.code, info.value.position) == ("E_CORRECTION_TARGET", len(events))


# ---- bundles and the streaming API ------------------------------------------------------------------------


def _bundle(events: list[op.SignedEvent]) -> bytes:
    header = BundleHeader(
        root=events[0].event_id,
        batches=(BundleBatch(batch_id=events[0].event_id, count=len(events), head=events[-1].event_id),),
        keys=(key(1).public_key,),
    )
    out = io.BytesIO()
    write_bundle(out, header, [e.raw for e in events])
    return out.getvalue()


def test_a_bundle_with_a_correction_verifies_and_streams(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    events = corrected_chain(coop)
    data = _bundle(events)
    assert op.verify_bundle(io.BytesIO(data), options(ring), root=events[0].event_id).root.count == 5
    with iter_verified(io.BytesIO(data), options(ring), root=ANY_BATCH) as stream:
        got = [e.raw for _, e in stream]
    assert got == [e.raw for e in events]
    assert stream.summary.root.head.raw == events[-1].raw


def test_a_bundle_with_a_bad_correction_fails(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    events = sample_chain(coop)
    events.append(_forge(events, coop, 3, events[2].event_id))
    with pytest.raises(op.ChainError) as info:
        op.verify_bundle(io.BytesIO(_bundle(events)), options(ring), root=ANY_BATCH)
    assert (info.value.code, info.value.position) == ("E_CORRECTION_TARGET", 4)


# ---- how steps stand -------------------------------------------------------------------------------------


def test_the_log_applies_a_correction_by_the_same_signer(coop: op.PrivateKey) -> None:
    events = corrected_chain(coop)
    log = CorrectionLog()
    notes = [log.add(e) for e in events]
    assert notes[:4] == [None] * 4
    note = notes[4]
    assert note is not None
    assert (note.seq, note.by_seq, note.status, note.in_force) == (2, 4, "in_force", True)
    assert log.in_force(2) == note
    assert log.by(4) == note
    assert log.effective_data(events[2]) == {"moisture": "11.5", "step_no": 2}
    assert log.effective_data(events[1]) == events[1].body.data
    assert note.to_dict()["data"] == {"moisture": "11.5"}


def test_a_later_correction_supersedes_and_a_stranger_cannot_correct(coop: op.PrivateKey) -> None:
    events = corrected_chain(coop)
    stranger = key(9)
    events.append(
        append_correction(events[-1], stranger, corrected=events[2], reason="tôi sửa", time=LATER, location=PLACE)
    )
    events.append(
        append_correction(events[-1], coop, corrected=events[2], reason="nhầm lô", time=LATER, location=PLACE)
    )
    log = CorrectionLog()
    for e in events:
        log.add(e)
    assert [n.status for n in log.of_step(2)] == ["superseded", "unauthorised", "in_force"]
    assert log.effective_data(events[2]) is None  # the last one in force withdraws the step
    assert log.effective_attachments(events[2]) == ()


def test_the_log_judges_by_the_identity_it_is_given(coop: op.PrivateKey) -> None:
    events = corrected_chain(coop)
    log = CorrectionLog()
    for e in events:
        log.add(e, None if e.seq == 4 else "htx")  # the correction's signer may not correct anything
    assert log.in_force(2) is None
    assert log.of_step(2)[0].status == "unauthorised"


# ---- the ledger -------------------------------------------------------------------------------------------


def test_the_ledger_corrects_a_step_and_reads_it_back(tmp_path: Path, coop: op.PrivateKey) -> None:
    with op.Ledger.open(tmp_path / "l.sqlite") as ledger:
        events = sample_chain(coop)
        ledger.add_key(coop.public_key)
        ledger.append_many(events)
        batch = events[0].event_id
        event = ledger.correct_step(
            batch, coop, seq=2, reason="sai độ ẩm", time=LATER, location=PLACE, data={"moisture": "11.5"}
        )
        body = event.body
        assert isinstance(body, op.Step)
        assert body.corrects == op.Correction(
            seq=2, event_id=events[2].event_id, reason="sai độ ẩm", data={"moisture": "11.5"}
        )
        assert [e.raw for e in ledger.events(batch)][-1] == event.raw
        with pytest.raises(op.ChainError) as info:
            ledger.correct_step(batch, coop, seq=4, reason="x", time=LATER, location=PLACE)
        assert info.value.code == "E_CORRECTION_TARGET"
        with pytest.raises(op.NotFoundError):
            ledger.correct_step(batch, coop, seq=9, reason="x", time=LATER, location=PLACE)
        with pytest.raises(op.FormatError) as fmt:
            ledger.correct_step(batch, coop, seq=0, reason="x", time=LATER, location=PLACE)
        assert fmt.value.field == "corrects.seq"
        forged = _forge([*events, event], coop, 3, events[1].event_id)
        with pytest.raises(op.ChainError) as bad:
            ledger.append(forged)
        assert bad.value.code == "E_CORRECTION_TARGET"
        assert ledger.verify_stored() == 5


def test_the_ledger_imports_a_bundle_with_a_correction(tmp_path: Path, coop: op.PrivateKey, ring: op.KeyRing) -> None:
    events = corrected_chain(coop)
    path = tmp_path / "b.ocop"
    path.write_bytes(_bundle(events))
    with op.Ledger.open(tmp_path / "l.sqlite") as ledger:
        ledger.add_key(coop.public_key)
        result = ledger.import_bundle(path, options(ring))
        assert result.stored == 5
        assert [e.raw for e in ledger.events(events[0].event_id)] == [e.raw for e in events]


def test_reopening_an_identical_genesis_returns_the_stored_batch(tmp_path: Path, coop: op.PrivateKey) -> None:
    with op.Ledger.open(tmp_path / "l.sqlite") as ledger:
        first = ledger.open_batch(sample_genesis(), coop)
        again = ledger.open_batch(sample_genesis(), coop)
        assert again.raw == first.raw
        assert len(ledger.batches()) == 1
        other = ledger.open_batch(sample_genesis(time=LATER), coop)
        assert other.batch_id != first.batch_id
        assert len(ledger.batches()) == 2
    assert open_batch(sample_genesis(), coop).raw == first.raw  # deterministic: the same batch id


def test_a_label_for_a_corrected_head_still_verifies(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    from ocop_provenance.seals import make_seal

    events = corrected_chain(coop)
    seal = make_seal(events[0], events[-1], coop, resolver="https://id.example.vn", sealed_on=LATER.date())
    result = op.verify_seal(seal.to_url(), options(ring), chain=events)
    assert result.chain is not None
    assert [(n.seq, n.by_seq, n.status) for n in result.chain.corrections] == [(2, 4, "in_force")]
    assert result.to_dict()["chain"]["corrections"][0]["reason"].startswith("Ghi nhầm")


def test_a_seal_before_the_correction_reports_it(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    from ocop_provenance.seals import make_seal

    events = corrected_chain(coop)
    seal = make_seal(events[0], events[3], coop, resolver="https://id.example.vn", sealed_on=LATER.date())
    result = op.verify_seal(seal.to_url(), options(ring), chain=events)
    assert result.code == "SEAL_OLDER_HEAD"
    assert result.chain is not None
    assert [n.by_seq for n in result.chain.corrections] == [4]
    early = make_seal(events[0], events[1], coop, resolver="https://id.example.vn", sealed_on=LATER.date())
    assert op.verify_seal(early.to_url(), options(ring), chain=events).chain.corrections == ()  # type: ignore[union-attr]


@pytest.mark.slow
def test_parallel_bundle_verification_checks_corrections(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    events = _long_chain(coop, 20)
    events.append(append_correction(events[-1], coop, corrected=events[4], reason="x", time=LATER, location=PLACE))
    good = _bundle(events)
    with iter_verified(io.BytesIO(good), options(ring, workers=2, chunk_size=4), root=ANY_BATCH) as stream:
        assert [e.raw for _, e in stream] == [e.raw for e in events]
    bad = _bundle([*events[:-1], _forge(events[:-1], coop, 4, events[5].event_id)])
    errors = []
    for settings in ({}, {"workers": 2, "chunk_size": 4}):
        with pytest.raises(op.ChainError) as info:
            op.verify_bundle(io.BytesIO(bad), options(ring, **settings), root=ANY_BATCH)
        errors.append(info.value.to_dict())
    assert errors[0] == errors[1]
    assert errors[0]["code"] == "E_CORRECTION_TARGET"


def test_epcis_export_carries_a_correction_as_its_own_event(coop: op.PrivateKey) -> None:
    from ocop_provenance.epcis import batch_class, epcis_event

    events = corrected_chain(coop)
    classes = {events[0].event_id: batch_class(events[0])}
    assert epcis_event(events[3], classes)["bizStep"] == "ocop:drying"
    own = epcis_event(events[4], classes, status="in_force")  # its declaration: tests/epcis/test_corrections.py
    assert (own["type"], own["action"], own["bizStep"]) == ("ObjectEvent", "OBSERVE", CORRECTION_STEP)
    assert own["ocop:corrects"] == {
        "ocop:seq": 2,
        "ocop:eventId": events[2].event_id.hex(),
        "ocop:reason": "Ghi nhầm độ ẩm: 11,5% chứ không phải 12,5%",
        "ocop:data": [{"ocop:key": "moisture", "ocop:text": "11.5"}],
        "ocop:status": "in_force",
    }
