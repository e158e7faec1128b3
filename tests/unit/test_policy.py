from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import cbor2
import ocop_provenance as op
import pytest
from ocop_provenance.events import append_step, open_batch
from ocop_provenance.trust import (
    POLICY_TYP,
    Policy,
    StepRule,
    TrustError,
    circular_02_2024_policy,
    dried_cordyceps_policy,
    sign_document,
    sign_policy,
    verify_policy,
)

from tests.conftest import key
from tests.unit.trust_helpers import (
    AUTH,
    CERTIFIER,
    DISTRIBUTOR,
    ISSUED,
    LAB,
    LAB2,
    NOW,
    PROCESSOR,
    PRODUCER,
    WHERE,
    cordyceps_batch,
    step,
    trusted,
    with_who,
)

CORDYCEPS = dried_cordyceps_policy(issued_at=ISSUED)
CIRCULAR = circular_02_2024_policy(issued_at=ISSUED)


def codes(policy: Policy, events: list[op.SignedEvent]) -> list[str]:
    return [f.code for f in policy.evaluate(with_who(trusted(), events), batch_id=events[0].event_id)]


def test_complete_batch_satisfies_both_starter_policies() -> None:
    events = cordyceps_batch()
    assert codes(CORDYCEPS, events) == []
    assert codes(CIRCULAR, events) == []


def test_wrong_role_is_reported_with_step_and_rule() -> None:
    events = cordyceps_batch(
        plan=[
            ("commissioning", PRODUCER),
            ("ocop:drying", PRODUCER),
            ("inspecting", LAB),
            ("packing", PRODUCER),
            ("shipping", DISTRIBUTOR),
        ]
    )
    findings = CORDYCEPS.evaluate(with_who(trusted(), events), batch_id=events[0].event_id)
    assert [f.code for f in findings] == ["E_POLICY_ROLE"]
    assert findings[0].seq == 2
    assert findings[0].event_id == events[2].event_id
    assert findings[0].rule == "steps[2]"
    assert findings[0].step == "ocop:drying"


def test_missing_step_is_reported() -> None:
    events = cordyceps_batch(
        plan=[("commissioning", PRODUCER), ("ocop:drying", PROCESSOR), ("packing", PRODUCER), ("shipping", DISTRIBUTOR)]
    )
    findings = CORDYCEPS.evaluate(with_who(trusted(), events))
    assert [(f.code, f.rule, f.seq) for f in findings] == [("E_POLICY_MISSING_STEP", "steps[3]", None)]


def test_out_of_order_step_is_reported() -> None:
    events = cordyceps_batch(
        plan=[
            ("commissioning", PRODUCER),
            ("packing", PRODUCER),
            ("ocop:drying", PROCESSOR),
            ("inspecting", LAB),
            ("shipping", DISTRIBUTOR),
        ]
    )
    findings = CORDYCEPS.evaluate(with_who(trusted(), events))
    # governed steps must follow the policy's order every time: drying and inspecting come after packing
    assert [(f.code, f.step, f.seq) for f in findings] == [
        ("E_POLICY_ORDER", "ocop:drying", 3),
        ("E_POLICY_ORDER", "inspecting", 4),
    ]


def test_missing_attachment_and_data_are_reported() -> None:
    events = cordyceps_batch(plan=[("commissioning", PRODUCER)])
    events.append(step(events[-1], PROCESSOR, "ocop:drying", 3))  # no moisture
    events.append(step(events[-1], LAB, "inspecting", 4))  # no certificate
    events.append(step(events[-1], PRODUCER, "packing", 5))
    events.append(step(events[-1], DISTRIBUTOR, "shipping", 6))
    findings = CORDYCEPS.evaluate(with_who(trusted(), events))
    assert [(f.code, f.seq) for f in findings] == [("E_POLICY_DATA", 2), ("E_POLICY_ATTACHMENT", 3)]


def test_every_violation_is_reported_not_only_the_first() -> None:
    events = cordyceps_batch(plan=[("commissioning", LAB), ("shipping", PRODUCER), ("ocop:drying", PRODUCER)])
    found = codes(CORDYCEPS, events)
    assert sorted(found) == sorted(
        [
            "E_POLICY_ROLE",  # commissioning by a lab
            "E_POLICY_ROLE",  # drying by a producer
            "E_POLICY_MISSING_STEP",  # inspecting
            "E_POLICY_MISSING_STEP",  # packing
            "E_POLICY_ORDER",  # drying after shipping
        ]
    )


def test_two_distinct_inspectors_threshold() -> None:
    rules = tuple(replace(r, min_signers=2) if r.step == "inspecting" else r for r in CORDYCEPS.steps)
    policy = replace(CORDYCEPS, steps=rules)
    same_lab = cordyceps_batch(
        plan=[
            ("commissioning", PRODUCER),
            ("ocop:drying", PROCESSOR),
            ("inspecting", LAB),
            ("packing", PRODUCER),
            ("shipping", DISTRIBUTOR),
        ]
    )
    extra = step(same_lab[3], LAB, "inspecting", 4, attachments=(same_lab[3].body.attachments[0],))
    assert "E_POLICY_THRESHOLD" in codes(policy, [*same_lab[:4], extra])
    two_labs = step(same_lab[3], LAB2, "inspecting", 4, attachments=(same_lab[3].body.attachments[0],))
    assert "E_POLICY_THRESHOLD" not in codes(policy, [*same_lab[:4], two_labs])


def test_circular_02_2024_minimum_data() -> None:
    events = cordyceps_batch()
    bare = op.Genesis(
        time=events[0].time,
        product=op.Product(name="Đông trùng hạ thảo", lot="L1", quantity="1", unit="kg"),
        producer=op.Producer(name="HTX"),
    )
    g = open_batch(bare, PRODUCER)
    s = append_step(g, PRODUCER, step="packing", time=events[1].time, location=op.Location(name="Kho"))
    found = CIRCULAR.evaluate(with_who(trusted(), [g, s]))
    assert sorted({(f.code, f.rule) for f in found}) == [
        ("E_POLICY_ATTACHMENT", "steps[0]"),  # no product image
        ("E_POLICY_BATCH_DATA", "batch_data"),  # shelf_life, standards
        ("E_POLICY_FIELD", "every"),  # no location code
        ("E_POLICY_FIELD", "steps[0]"),  # no producer address
    ]
    assert sum(f.code == "E_POLICY_BATCH_DATA" for f in found) == 2


def test_closed_policy_and_gtin_scope() -> None:
    events = cordyceps_batch()
    extra = step(events[-1], DISTRIBUTOR, "storing", 9, location=WHERE)
    closed = replace(CORDYCEPS, closed=True, gtins=("08930000000001",))
    assert codes(closed, [*events, extra]) == ["E_POLICY_PRODUCT", "E_POLICY_EXTRA_STEP"]


def test_signed_policy_round_trips_and_checks_its_authority() -> None:
    raw = sign_policy(CORDYCEPS, AUTH[:2])
    policy = verify_policy(raw, trusted(), now=NOW)
    assert policy.policy.payload() == CORDYCEPS.payload()
    assert policy.kind == "Đông trùng hạ thảo sấy khô"
    assert policy.to_dict()["steps"][3]["attachments"] == ["application/pdf"]


def test_policy_signed_by_an_unknown_authority_is_refused() -> None:
    raw = sign_policy(CORDYCEPS, [key(70), key(71)])
    with pytest.raises(TrustError) as info:
        verify_policy(raw, trusted(), now=NOW)
    assert info.value.code == "E_POLICY_AUTHORITY"


def test_policy_below_authority_threshold_is_refused() -> None:
    with pytest.raises(TrustError) as info:
        verify_policy(sign_policy(CORDYCEPS, AUTH[:1]), trusted(), now=NOW)
    assert info.value.code == "E_POLICY_AUTHORITY"


def test_expired_policy_is_refused() -> None:
    raw = sign_policy(replace(CORDYCEPS, expires=NOW), AUTH)
    assert verify_policy(raw, trusted(), now=NOW - timedelta(seconds=1)).expires == NOW
    with pytest.raises(TrustError) as info:
        verify_policy(raw, trusted(), now=NOW)
    assert info.value.code == "E_POLICY_EXPIRED"


def test_policy_with_an_unknown_label_is_refused() -> None:
    payload = cbor2.loads(CORDYCEPS.payload())
    payload[30] = "x"
    raw = sign_document(cbor2.dumps(dict(sorted(payload.items()))), AUTH, POLICY_TYP)
    with pytest.raises(op.FormatError) as info:
        verify_policy(raw, trusted(), now=NOW)
    assert info.value.code == "E_SCHEMA"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"step": "harvesting"}, "steps.step"),
        ({"roles": ("farmer",)}, "steps.roles"),
        ({"attachments": ("PDF",)}, "steps.attachments"),
        ({"fields": ("producer.phone",)}, "steps.fields"),
        ({"min_signers": 0}, "steps.min_signers"),
    ],
)
def test_bad_rules_are_refused(changes: dict[str, object], field: str) -> None:
    with pytest.raises(op.FormatError) as info:
        StepRule(**{"step": "packing", **changes})  # type: ignore[arg-type]
    assert info.value.field == field


def test_ocop_certification_must_be_signed_by_a_certifier() -> None:
    policy = Policy(
        name="vn.ocop/certification",
        version=1,
        issued_at=ISSUED,
        kind="Sản phẩm OCOP",
        steps=(StepRule(step="ocop:certifying", roles=("certifier",), data=("stars",)),),
    )
    events = cordyceps_batch(plan=[("commissioning", PRODUCER)])
    by_producer = step(events[-1], PRODUCER, "ocop:certifying", 7, data={"stars": 4})
    by_certifier = step(events[-1], CERTIFIER, "ocop:certifying", 7, data={"stars": 4})
    assert codes(policy, [*events, by_producer]) == ["E_POLICY_ROLE"]
    assert codes(policy, [*events, by_certifier]) == []
