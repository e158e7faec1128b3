from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import ocop_provenance as op
import pytest
from ocop_provenance.events import BundleBatch, BundleHeader, EquivocationProof, head_of, write_bundle
from ocop_provenance.trust import (
    AuditError,
    AuditReport,
    ParticipantKey,
    PinnedState,
    VerifiedTrustList,
    audit_bundles,
    dried_cordyceps_policy,
    require_trusted_bundle,
    sign_policy,
    verify_policy,
)

from tests.unit.trust_helpers import (
    AUTH,
    DISTRIBUTOR,
    ISSUED,
    LAB,
    NOW,
    PROCESSOR,
    PRODUCER,
    STRANGER,
    at,
    bundle,
    cordyceps_batch,
    fresh_batch,
    pkey,
    signer_keys,
    step,
    trusted,
)
from tests.verifying import ANY_BATCH, options

POLICY = verify_policy(sign_policy(dried_cordyceps_policy(issued_at=ISSUED), AUTH), trusted(), now=NOW)


def audit(data: bytes, trust: VerifiedTrustList | None = None, *, root: bytes | None = None, **kw: Any) -> AuditReport:
    return op.audit_bundle(
        io.BytesIO(data), options(trust or trusted(), now=NOW), root=ANY_BATCH if root is None else root, **kw
    )


def lineage() -> tuple[list[op.SignedEvent], list[op.SignedEvent]]:
    fresh = fresh_batch()
    dried = cordyceps_batch(inputs=[head_of(fresh[-1]).as_input()])
    return dried, fresh


def test_clean_audit_says_who_signed_what_and_shows_the_tree() -> None:
    dried, fresh = lineage()
    report = audit(bundle(dried, fresh), policy=POLICY)
    assert report.ok, report.codes
    root = report.batch(dried[0].event_id)
    lab_step = root.steps[3]
    assert lab_step.step == "inspecting"
    assert lab_step.participant is not None
    assert (lab_step.participant.name, lab_step.participant.role) == ("Trung tâm Kiểm nghiệm Thanh Hóa", "lab")
    assert lab_step.rule is not None
    assert lab_step.rule.attachments == ("application/pdf",)
    # one step back, one step forward
    assert [i[0] for i in root.inputs] == [fresh[0].event_id]
    upstream = report.batch(fresh[0].event_id)
    assert upstream.consumed_by == ((dried[0].event_id, 1, dried[1].event_id),)
    assert root.dispatches == (5,)
    assert upstream.depth == 1
    tree = report.tree()
    assert tree["inputs"][0]["batch_id"] == fresh[0].event_id.hex()
    text = json.dumps(report.to_dict(), ensure_ascii=False)
    assert "Đông trùng hạ thảo sấy khô" in text
    assert report.to_dict()["format"] == "ocop-audit-report"
    assert require_trusted_bundle(
        io.BytesIO(bundle(dried, fresh)), options(trusted(), now=NOW), root=ANY_BATCH, policy=POLICY
    ).ok


def test_unknown_key_stops_the_audit() -> None:
    events = cordyceps_batch(
        plan=[("commissioning", PRODUCER), ("ocop:drying", STRANGER)],
    )
    report = audit(bundle(events))
    assert not report.ok
    assert report.failure is not None
    assert report.failure.code == "E_UNKNOWN_KEY"
    with pytest.raises(AuditError) as info:
        require_trusted_bundle(io.BytesIO(bundle(events)), options(trusted(), now=NOW), root=ANY_BATCH)
    assert info.value.code == "E_UNKNOWN_KEY"
    assert (info.value.position, info.value.seq) == (2, 2)


@pytest.mark.parametrize(
    ("lab_key", "code"),
    [
        (pkey(LAB, not_before=at(4) + timedelta(seconds=1)), "E_KEY_NOT_YET_VALID"),  # signed 1 s before the window
        (pkey(LAB, not_after=at(4)), "E_KEY_EXPIRED"),  # signed exactly at not_after (exclusive)
        (pkey(LAB, status="retired", status_time=at(4)), "E_KEY_RETIRED"),  # signed at the retirement time
        (pkey(LAB, status="revoked", status_time=at(20)), "E_KEY_REVOKED"),  # claims a time before the revocation
    ],
)
def test_key_status_findings(lab_key: ParticipantKey, code: str) -> None:
    events = cordyceps_batch()  # the lab signs seq 3 at at(4)
    report = audit(bundle(events), trusted(lab=lab_key))
    assert [f.code for f in report.findings] == [code]
    finding = report.findings[0]
    assert (finding.seq, finding.event_id, finding.key_id) == (3, events[3].event_id, LAB.key_id)
    assert report.batches[0].steps[3].key_problem == code
    with pytest.raises(AuditError) as info:
        require_trusted_bundle(io.BytesIO(bundle(events)), options(trusted(lab=lab_key), now=NOW), root=ANY_BATCH)
    assert info.value.code == code


def test_key_window_boundaries_that_are_inside() -> None:
    events = cordyceps_batch()
    for lab_key in (
        pkey(LAB, not_before=at(4)),
        pkey(LAB, not_after=at(4) + timedelta(seconds=1)),
        pkey(LAB, status="retired", status_time=at(4) + timedelta(seconds=1)),
    ):
        assert audit(bundle(events), trusted(lab=lab_key)).ok


def test_wrong_role_and_missing_steps_through_the_audit() -> None:
    events = cordyceps_batch(plan=[("commissioning", PRODUCER), ("ocop:drying", PRODUCER), ("shipping", DISTRIBUTOR)])
    report = audit(bundle(events), policy=POLICY)
    assert report.codes == ("E_POLICY_ROLE", "E_POLICY_MISSING_STEP", "E_POLICY_MISSING_STEP")
    drying = report.batches[0].steps[2]
    assert drying.findings == ("E_POLICY_ROLE",)
    assert drying.rule is not None
    assert drying.rule.roles == ("processor",)
    assert report.to_dict()["findings"][1]["rule"] == "steps[3]"


def test_a_revoked_signer_does_not_count_for_the_policy() -> None:
    report = audit(bundle(cordyceps_batch()), trusted(lab=pkey(LAB, status="revoked")), policy=POLICY)
    assert report.codes == ("E_KEY_REVOKED", "E_POLICY_ROLE")


def test_input_whose_head_does_not_match() -> None:
    fresh = fresh_batch()
    wrong = op.InputRef(batch_id=fresh[0].event_id, seq=1, head=b"\x11" * 32)
    dried = cordyceps_batch(inputs=[wrong])
    report = audit(bundle(dried, fresh))
    assert report.failure is not None
    assert report.failure.code == "E_INPUT_HEAD"


def test_a_cycle_between_batches_is_rejected() -> None:
    # Hash links make an *event* cycle impossible (an event would have to contain its own hash), but two batches
    # can consume each other at different seqs: B@2 consumes A@1, then A@2 consumes B@1.
    a = fresh_batch(PRODUCER, 2)
    b = fresh_batch(PROCESSOR, 2)
    b.append(step(b[-1], PROCESSOR, "ocop:drying", 3, inputs=(head_of(a[1]).as_input(),)))
    a.append(step(a[-1], PRODUCER, "packing", 4, inputs=(head_of(b[1]).as_input(),)))
    report = audit(bundle(a, b))
    assert report.failure is not None
    assert report.failure.code == "E_LINEAGE_CYCLE"
    assert report.failure.event_id == b[2].event_id.hex()


def test_lineage_depth_and_size_are_bounded() -> None:
    dried, fresh = lineage()
    data = bundle(dried, fresh)
    too_deep = audit(data, max_depth=0)
    assert too_deep.failure is not None
    assert too_deep.failure.code == "E_LINEAGE_DEPTH"
    too_big = audit(data, max_batches=1)
    assert too_big.failure is not None
    assert too_big.failure.code == "E_LINEAGE_SIZE"
    assert audit(data, max_depth=1, max_batches=2).ok


def test_pinned_state_round_trip_fork_and_rollback() -> None:
    events = cordyceps_batch()
    first = audit(bundle(events))
    pinned = PinnedState().updated(first)
    again = PinnedState.from_json(pinned.to_json())
    assert again == pinned
    assert audit(bundle(events), pinned=again).ok
    # a rival history that diverges at seq 5
    rival = [*events[:5], step(events[4], PRODUCER, "packing", 9)]
    forked = audit(bundle(rival), pinned=again)
    assert forked.codes == ("E_PINNED_FORK",)
    assert forked.forks[0].verify(trusted().key_ring()) == (events[0].event_id, 5)
    # a shorter chain than already seen
    rolled = audit(bundle(events[:4]), pinned=again)
    assert rolled.codes == ("E_ROLLBACK",)
    # without the kept event bytes a fork is still detected, without a proof
    bare = PinnedState.from_json(PinnedState().updated(first, keep_events=False).to_json())
    assert audit(bundle(rival), pinned=bare).codes == ("E_PINNED_FORK",)
    with pytest.raises(ValueError, match="clean"):
        PinnedState().updated(forked)


_HEX = "00" * 32


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[]", "E_PINNED_FORMAT"),
        ("not json", "E_PINNED_FORMAT"),
        ('{"format": "ocop-pinned-state", "version": 2, "batches": {}}', "E_VERSION"),
        (
            '{"format": "ocop-pinned-state", "version": 1, "batches": {"00": {"seq": 1, "event_id": "00"}}}',
            "E_PINNED_FORMAT",
        ),
        (
            json.dumps(
                {
                    "format": "ocop-pinned-state",
                    "version": 1,
                    "batches": {_HEX: {"seq": 1, "event_id": _HEX, "event": 5}},
                }
            ),
            "E_PINNED_FORMAT",
        ),
    ],
)
def test_malformed_pinned_state(text: str, code: str) -> None:
    with pytest.raises(op.FormatError) as info:
        PinnedState.from_json(text)
    assert info.value.code == code


def test_forks_across_bundles_come_with_a_proof() -> None:
    events = cordyceps_batch()
    rival = [*events[:5], step(events[4], PRODUCER, "packing", 9)]
    cross = audit_bundles(
        [io.BytesIO(bundle(events)), io.BytesIO(bundle(rival))], options(trusted(), now=NOW), root=ANY_BATCH
    )
    assert not cross.ok
    assert cross.reports[0].ok
    assert cross.reports[1].codes == ("E_FORK",)
    assert len(cross.forks) == 1
    proof = EquivocationProof.from_bytes(cross.forks[0].to_bytes())
    assert proof.verify(trusted().key_ring()) == (events[0].event_id, 5)
    assert json.loads(json.dumps(cross.to_dict()))["ok"] is False


def test_fork_inside_one_bundle_is_a_failure_with_proof() -> None:
    events = cordyceps_batch()
    rival = step(events[4], PRODUCER, "packing", 9)
    header = BundleHeader(
        root=events[0].event_id,
        batches=(BundleBatch(batch_id=events[0].event_id, count=7, head=rival.event_id),),
        keys=signer_keys([*events, rival]),
    )
    out = io.BytesIO()
    write_bundle(out, header, [e.raw for e in events] + [rival.raw])
    report = audit(out.getvalue())
    assert report.failure is not None
    assert report.failure.code == "E_FORK"
    assert len(report.forks) == 1


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        op.audit_bundle(
            io.BytesIO(bundle(cordyceps_batch())), options(trusted(), now=NOW.replace(tzinfo=None)), root=ANY_BATCH
        )


def test_root_the_auditor_expects() -> None:
    dried, fresh = lineage()
    data = bundle(dried, fresh)
    assert audit(data, root=dried[0].event_id).ok
    report = audit(data, root=fresh[0].event_id)
    assert not report.ok
    assert report.failure is not None
    assert report.failure.code == "E_BATCH"
    cross = audit_bundles([io.BytesIO(data)], options(trusted(), now=NOW), root=fresh[0].event_id)
    assert cross.reports[0].failure is not None
    assert cross.reports[0].failure.code == "E_BATCH"
