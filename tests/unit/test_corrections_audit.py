"""Corrections in audits and policies: who may correct, what a corrected step counts as, nothing hidden."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import ocop_provenance as op
from ocop_provenance.events import append_correction
from ocop_provenance.trust import (
    AuditReport,
    Policy,
    StepRule,
    dried_cordyceps_policy,
    sign_policy,
    sign_trust_list,
    verify_policy,
)

from tests.unit.trust_helpers import (
    AUTH,
    DISTRIBUTOR,
    ISSUED,
    LAB,
    NOW,
    PDF,
    PROCESSOR,
    PRODUCER,
    STRANGER,
    WHERE,
    at,
    bundle,
    cordyceps_batch,
    pin,
    pkey,
    step,
    trust_draft,
    trusted,
    with_who,
)
from tests.verifying import ANY_BATCH, options

POLICY = verify_policy(sign_policy(dried_cordyceps_policy(issued_at=ISSUED), AUTH), trusted(), now=NOW)


def audit(events: list[op.SignedEvent], **kw: Any) -> AuditReport:
    return op.audit_bundle(io.BytesIO(bundle(events)), options(trusted(), now=NOW), root=ANY_BATCH, **kw)


def batch_with_bad_moisture() -> list[op.SignedEvent]:
    """The dried-cordyceps batch, but the drying step recorded moisture as words, not a number."""
    events = cordyceps_batch(plan=[("commissioning", PRODUCER)])
    events.append(step(events[-1], PROCESSOR, "ocop:drying", 3, data={"moisture": "mười một phẩy tám"}))
    events.append(step(events[-1], LAB, "inspecting", 4, attachments=(PDF,)))
    events.append(step(events[-1], PRODUCER, "packing", 5))
    events.append(step(events[-1], DISTRIBUTOR, "shipping", 6))
    return events


def correct(events: list[op.SignedEvent], signer: op.PrivateKey, seq: int, **kw: Any) -> list[op.SignedEvent]:
    fields: dict[str, Any] = {"reason": "ghi nhầm", "time": at(7), "location": WHERE, **kw}
    return [*events, append_correction(events[-1], signer, corrected=events[seq], **fields)]


def test_the_policy_judges_the_corrected_value_and_the_audit_shows_both() -> None:
    events = batch_with_bad_moisture()
    assert "E_POLICY_DATA_VALUE" in audit(events, policy=POLICY).codes
    events = correct(events, PROCESSOR, 2, data={"moisture": "11.8"}, reason="Độ ẩm ghi bằng chữ")
    report = audit(events, policy=POLICY)
    assert report.ok, report.codes
    steps = report.batches[0].steps
    drying, correction = steps[2], steps[6]
    assert drying.step == "ocop:drying"
    assert [(n.by_seq, n.status) for n in drying.corrected_by] == [(6, "in_force")]
    assert drying.correction is not None
    assert drying.correction.data == {"moisture": "11.8"}
    assert correction.corrects is not None
    assert (correction.corrects.seq, correction.corrects.reason) == (2, "Độ ẩm ghi bằng chữ")
    assert correction.rule is None
    as_json = report.to_dict()["batches"][0]["steps"]
    assert as_json[2]["corrected_by"][0]["status"] == "in_force"
    assert as_json[6]["corrects"]["seq"] == 2


def test_only_the_steps_signer_may_correct_it_and_the_audit_says_so() -> None:
    events = correct(cordyceps_batch(), PRODUCER, 3, data={"cordycepin": "9.9"}, reason="HTX sửa kết quả")
    report = audit(events, policy=POLICY)
    assert report.codes == ("E_CORRECTION_SIGNER",)
    finding = report.findings[0]
    assert (finding.seq, finding.field) == (6, "corrects")
    assert "Trung tâm Kiểm nghiệm Thanh Hóa" in finding.message
    assert "HTX Nông nghiệp Nghi Sơn" in finding.message
    lab_step = report.batches[0].steps[3]
    assert [n.status for n in lab_step.corrected_by] == ["unauthorised"]
    assert lab_step.correction is None


def test_a_withdrawn_step_counts_as_absent_but_stays_listed() -> None:
    events = correct(cordyceps_batch(), LAB, 3, reason="Mẫu của lô khác")
    report = audit(events, policy=POLICY)
    assert report.codes == ("E_POLICY_MISSING_STEP",)
    assert report.findings[0].step == "inspecting"
    lab_step = report.batches[0].steps[3]
    assert lab_step.step == "inspecting"
    assert lab_step.corrected_by[0].withdrawn


def test_a_correction_is_not_a_process_step_even_in_a_closed_policy() -> None:
    trust = trusted()
    closed = Policy(
        name="vn.ocop/closed",
        version=1,
        issued_at=ISSUED,
        kind="Đông trùng hạ thảo sấy khô",
        steps=tuple(StepRule(step=s) for s in ("genesis", "commissioning", "ocop:drying", "inspecting")),
        closed=True,
    )
    events = cordyceps_batch(plan=[("commissioning", PRODUCER), ("ocop:drying", PROCESSOR), ("inspecting", LAB)])
    events = correct(events, PROCESSOR, 2, data={"moisture": "11.5"})
    assert closed.evaluate(with_who(trust, events)) == []


def test_a_correction_by_a_participants_new_key_is_in_force() -> None:
    # The audit judges by participant: another key of the same participant may correct (keys are rotated).
    new_key = STRANGER  # a key the trust list gives no one, until the processor adds it
    draft = trust_draft()
    rotated = tuple(
        replace(p, keys=tuple(sorted((*p.keys, pkey(new_key)), key=lambda k: k.key.raw)))
        if p.id == "xuong-say-thanh-hoa"
        else p
        for p in draft.participants
    )
    trust = op.verify_trust_list(sign_trust_list(replace(draft, participants=rotated), AUTH), pin(), now=NOW)
    events = correct(batch_with_bad_moisture(), new_key, 2, data={"moisture": "11.8"})
    data = bundle(events)
    report = op.audit_bundle(io.BytesIO(data), options(trust, now=NOW), root=ANY_BATCH, policy=POLICY)
    assert report.ok, report.codes
    assert report.batches[0].steps[2].corrected_by[0].in_force
