"""Issue 10's attacks, reproduced exactly as the review tried them, through the library's public API.

Each test builds what the attacker can build (a participant's own key in a genuine trust list, a batch of their
own making) and checks that the verdict now fails closed with its own code and names the signer as the trust list
names them. The CLI half of findings 1-2 is tests/cli/test_attacks.py; the hostile-input half of finding 5 is
tests/unit/test_hostile.py.
"""

from __future__ import annotations

import hashlib
import io
from datetime import date

import ocop_provenance as op
import pytest
from ocop_provenance.events import open_batch
from ocop_provenance.seals import make_seal
from ocop_provenance.trust import (
    DataRequirement,
    Participant,
    StepRule,
    VerifiedTrustList,
    audit_bundle,
    dried_cordyceps_policy,
    sign_policy,
    sign_trust_list,
    verify_policy,
    verify_trust_list,
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
    RETAILER,
    RIVAL,
    WHERE,
    at,
    bundle,
    cordyceps_batch,
    pin,
    pkey,
    step,
    trust_draft,
)
from tests.verifying import ANY_BATCH, options

R = "https://id.example.vn"
SHOP = RETAILER
#: The first producer's product (its GS1 Company Prefix 8931234 is on record) and its registered claims.
GENUINE_GTIN = "08931234567897"
GENUINE_NAME = "HTX Nông nghiệp Nghi Sơn"


def _list(**keys: op.PrivateKey) -> VerifiedTrustList:
    """The genuine list, plus a second producer (its own prefix and commune) and a retailer, each legitimately."""
    draft = trust_draft()
    rival = Participant(
        id="htx-rival",
        name="HTX Đối thủ",
        role="producer",
        keys=(pkey(keys.get("rival", RIVAL)),),
        admin_code="17000",
        gs1_prefixes=("8939999",),
    )
    shop = Participant(id="shop", name="Cửa hàng Đặc sản", role="retailer", keys=(pkey(SHOP),))
    draft = draft.with_participant(rival).with_participant(shop)
    return verify_trust_list(sign_trust_list(draft, AUTH), pin(), now=NOW)


def _impersonating_batch(signer: op.PrivateKey, *, gtin: str | None = GENUINE_GTIN) -> list[op.SignedEvent]:
    """A complete dried-cordyceps record whose genesis claims the first producer's name, commune code and GTIN."""
    genesis = op.Genesis(
        time=at(1, 8),
        product=op.Product(name="Đông trùng hạ thảo sấy khô", lot="DT2411-99", quantity="12.5", unit="kg", gtin=gtin),
        producer=op.Producer(name=GENUINE_NAME, admin_code="16000", province="Thanh Hóa"),
        location=WHERE,
    )
    events = [open_batch(genesis, signer)]
    for i, (name, who) in enumerate(
        [
            ("commissioning", signer),
            ("ocop:drying", PROCESSOR),
            ("inspecting", LAB),
            ("packing", signer),
            ("shipping", DISTRIBUTOR),
        ]
    ):
        extra: dict[str, object] = {}
        if name == "ocop:drying":
            extra["data"] = {"moisture": "11.8"}
        if name == "inspecting":
            extra["attachments"] = (PDF,)
        events.append(step(events[-1], who, name, 2 + i, **extra))
    return events


def _policy(trust: VerifiedTrustList) -> op.trust.VerifiedPolicy:
    policy = dried_cordyceps_policy(issued_at=ISSUED)
    return verify_policy(sign_policy(policy, AUTH), trust, now=NOW)


# ---- finding 1: a second producer passes off the first producer's product -----------------------------------


def test_finding_1_audit_names_the_signer_from_the_list_and_reports_every_false_claim() -> None:
    trust = _list()
    events = _impersonating_batch(RIVAL)
    report = audit_bundle(io.BytesIO(bundle(events)), options(trust, now=NOW), root=ANY_BATCH, policy=_policy(trust))
    assert not report.ok
    claims = [(f.code, f.field) for f in report.findings if f.code in ("E_CLAIM_MISMATCH", "E_GTIN_NOT_OWNED")]
    assert claims == [
        ("E_CLAIM_MISMATCH", "producer.name"),
        ("E_CLAIM_MISMATCH", "producer.admin_code"),
        ("E_GTIN_NOT_OWNED", "product.gtin"),
    ]
    assert all(f.seq == 0 and f.event_id == events[0].event_id for f in report.findings if f.field)
    root = report.batches[0]
    assert root.producer is not None
    assert (root.producer.id, root.producer.name) == ("htx-rival", "HTX Đối thủ")  # as the list names the signer
    assert root.declared_producer == GENUINE_NAME  # what the record says of itself, kept apart
    assert report.to_dict()["ok"] is False


def test_finding_1_the_same_record_by_the_genuine_producer_is_clean() -> None:
    trust = _list()
    report = audit_bundle(
        io.BytesIO(bundle(_impersonating_batch(PRODUCER))),
        options(trust, now=NOW),
        root=ANY_BATCH,
        policy=_policy(trust),
    )
    assert report.ok, report.codes
    assert report.batches[0].producer is not None
    assert report.batches[0].producer.name == "HTX Nông nghiệp Nghi Sơn"


def test_finding_1_a_seal_over_the_impersonating_record_is_refused() -> None:
    trust = _list()
    events = _impersonating_batch(RIVAL)
    url = make_seal(events[0], events[-1], RIVAL, resolver=R, sealed_on=date(2024, 11, 6)).to_url()
    # The rival's seal names the genuine GTIN: refused before the chain is even read.
    with pytest.raises(op.VerificationError) as info:
        op.verify_seal(url, options(trust, now=NOW), bundle=bundle(events))
    assert info.value.code == "E_GTIN_NOT_OWNED"
    with pytest.raises(op.VerificationError) as info:
        op.verify_seal(url, options(trust, now=NOW))
    assert info.value.code == "E_GTIN_NOT_OWNED"


def test_finding_1_without_a_gtin_the_genesis_claims_are_checked_against_the_sealer() -> None:
    trust = _list()
    events = _impersonating_batch(RIVAL, gtin=None)
    url = make_seal(events[0], events[-1], RIVAL, resolver=R, sealed_on=date(2024, 11, 6)).to_url()
    with pytest.raises(op.VerificationError) as info:
        op.verify_seal(url, options(trust, now=NOW), bundle=bundle(events))
    assert (info.value.code, info.value.field) == ("E_CLAIM_MISMATCH", "producer.name")
    assert info.value.event_id == events[0].event_id.hex()
    # Without the bundle nothing tells the seal's claims apart: the result says the chain was not checked.
    result = op.verify_seal(url, options(trust, now=NOW))
    assert result.signer is not None
    assert result.signer.name == "HTX Đối thủ"
    assert "chain" in result.not_checked
    assert "genesis-claims" not in result.checked


# ---- finding 2: any participant, of any role, seals any GTIN --------------------------------------------------


def test_finding_2_a_retailer_sealing_a_throwaway_genesis_is_refused_without_a_bundle() -> None:
    trust = _list()
    throwaway = [open_batch(_impersonating_batch(SHOP)[0].body, SHOP)]  # type: ignore[arg-type]
    url = make_seal(throwaway[0], throwaway[0], SHOP, resolver=R, sealed_on=date(2024, 11, 2)).to_url()
    with pytest.raises(op.VerificationError) as info:
        op.verify_seal(url, options(trust, now=NOW))
    assert info.value.code == "E_SEAL_ROLE"
    assert "Cửa hàng Đặc sản (retailer)" in info.value.message
    # A bare key ring cannot know roles: the seal verifies, and the result says what was not established.
    result = op.verify_seal(url, options(op.KeyRing.of([SHOP.public_key]), now=NOW))
    assert result.signer is None
    assert result.checked == ("signature", "signer-trusted")
    assert result.not_checked == ("signer-role", "gtin-owner", "chain")


def test_finding_2_a_producer_sealing_another_producers_gtin_is_refused() -> None:
    trust = _list()
    throwaway = open_batch(_impersonating_batch(RIVAL)[0].body, RIVAL)  # type: ignore[arg-type]
    url = make_seal(throwaway, throwaway, RIVAL, resolver=R, sealed_on=date(2024, 11, 2)).to_url()
    with pytest.raises(op.VerificationError) as info:
        op.verify_seal(url, options(trust, now=NOW))
    assert (info.value.code, info.value.field) == ("E_GTIN_NOT_OWNED", "gtin")


def test_finding_2_a_policy_may_name_other_sealers() -> None:
    trust = _list()
    genesis = op.Genesis(
        time=at(1, 8),
        product=op.Product(name="Quà tặng", lot="QT-1", quantity="1", unit="hộp"),
        producer=op.Producer(name="Cửa hàng Đặc sản"),
    )
    events = [open_batch(genesis, SHOP)]
    url = make_seal(events[0], events[0], SHOP, resolver=R, sealed_on=date(2024, 11, 2)).to_url()
    policy = op.trust.Policy(
        name="vn.ocop/gift-boxes",
        version=1,
        issued_at=ISSUED,
        kind="Hộp quà",
        steps=(StepRule(step="genesis", roles=("retailer",)),),
        sealers=("retailer",),
    )
    verified = verify_policy(sign_policy(policy, AUTH), trust, now=NOW)
    result = op.verify_seal(url, options(trust, now=NOW), bundle=bundle(events), policy=verified)
    assert result.signer is not None
    assert result.signer.role == "retailer"
    assert result.checked == ("signature", "signer-trusted", "signer-role", "gtin-owner", "chain", "genesis-claims")


# ---- finding 3: verify_seal with a trust list accepts events signed by a revoked key ----------------------------


def test_finding_3_a_bundle_step_signed_by_a_revoked_key_fails_the_seal() -> None:
    events = cordyceps_batch()
    revoked = trust_draft(lab=pkey(LAB, status="revoked", status_time=at(20)))  # revoked after the step it signed
    trust = verify_trust_list(sign_trust_list(revoked, AUTH), pin(), now=NOW)
    url = make_seal(events[0], events[-1], PRODUCER, resolver=R, sealed_on=date(2024, 11, 7)).to_url()
    with pytest.raises(op.UntrustedKeyError) as info:
        op.verify_seal(url, options(trust, now=NOW), bundle=bundle(events))
    assert info.value.code == "E_KEY_REVOKED"
    assert info.value.seq == 3  # the lab's inspecting step
    assert info.value.key_id == LAB.key_id.hex()
    with pytest.raises(op.UntrustedKeyError) as info:
        op.verify_seal(url, options(trust, now=NOW), chain=[e.raw for e in events])
    assert info.value.code == "E_KEY_REVOKED"
    # The same through the chain and bundle verifiers: a verified trust list enforces status on every path.
    with pytest.raises(op.UntrustedKeyError):
        op.verify_chain([e.raw for e in events], options(trust, now=NOW), batch=ANY_BATCH)
    with pytest.raises(op.UntrustedKeyError):
        op.verify_bundle(io.BytesIO(bundle(events)), options(trust, now=NOW), root=ANY_BATCH)


# ---- finding 6: policies checked presence, not value ------------------------------------------------------------


@pytest.mark.parametrize(
    ("moisture", "code"),
    [("", "E_POLICY_DATA_VALUE"), (False, "E_POLICY_DATA_VALUE"), ("khô", "E_POLICY_DATA_VALUE"), ("11.8", None)],
)
def test_finding_6_moisture_must_be_a_number(moisture: object, code: str | None) -> None:
    trust = _list()
    events = cordyceps_batch(plan=[("commissioning", PRODUCER)])
    events.append(step(events[-1], PROCESSOR, "ocop:drying", 3, data={"moisture": moisture}))
    events.append(step(events[-1], LAB, "inspecting", 4, attachments=(PDF,)))
    events.append(step(events[-1], PRODUCER, "packing", 5))
    events.append(step(events[-1], DISTRIBUTOR, "shipping", 6))
    report = audit_bundle(io.BytesIO(bundle(events)), options(trust, now=NOW), root=ANY_BATCH, policy=_policy(trust))
    assert [(f.code, f.seq) for f in report.findings] == ([] if code is None else [(code, 2)])


def test_finding_6_an_empty_pdf_is_not_a_certificate() -> None:
    trust = _list()
    empty = op.Attachment(name="ket-qua.pdf", media_type="application/pdf", size=0, sha256=hashlib.sha256().digest())
    events = cordyceps_batch(plan=[("commissioning", PRODUCER), ("ocop:drying", PROCESSOR)])
    events.append(step(events[-1], LAB, "inspecting", 4, attachments=(empty,)))
    events.append(step(events[-1], PRODUCER, "packing", 5))
    events.append(step(events[-1], DISTRIBUTOR, "shipping", 6))
    report = audit_bundle(io.BytesIO(bundle(events)), options(trust, now=NOW), root=ANY_BATCH, policy=_policy(trust))
    assert [(f.code, f.seq) for f in report.findings] == [("E_POLICY_ATTACHMENT", 3)]
    assert "empty file" in report.findings[0].message


def test_finding_6_a_step_repeated_out_of_order_is_reported_at_every_occurrence() -> None:
    trust = _list()
    plan = [
        ("commissioning", PRODUCER),
        ("ocop:drying", PROCESSOR),
        ("inspecting", LAB),
        ("packing", PRODUCER),
        ("ocop:drying", PROCESSOR),  # dried again after packing: the second occurrence breaks the order
        ("shipping", DISTRIBUTOR),
    ]
    events = cordyceps_batch(plan=plan)
    report = audit_bundle(io.BytesIO(bundle(events)), options(trust, now=NOW), root=ANY_BATCH, policy=_policy(trust))
    assert [(f.code, f.seq, f.rule) for f in report.findings] == [("E_POLICY_ORDER", 5, "steps[2]")]


def test_finding_6_typed_requirements_round_trip_through_a_signed_policy() -> None:
    trust = _list()
    rule = StepRule(
        step="ocop:drying",
        data=(
            DataRequirement(key="moisture", kind="number", minimum="0", maximum="13.5", unit="%"),
            DataRequirement(key="batch_ok", kind="boolean"),
            "operator",  # type: ignore[arg-type] - a bare name: present and not blank
        ),
    )
    policy = op.trust.Policy(name="vn.ocop/typed", version=1, issued_at=ISSUED, kind="Thử", steps=(rule,))
    verified = verify_policy(sign_policy(policy, AUTH), trust, now=NOW)
    assert verified.steps[0].data == rule.data
    assert verified.steps[0].data[2] == DataRequirement(key="operator")


# ---- finding 8: naming and pinning --------------------------------------------------------------------------------


def test_finding_8_unverified_parsing_is_named_so_and_decode_event_is_gone() -> None:
    assert "decode_event" not in op.__all__
    assert not hasattr(op, "decode_event")
    from ocop_provenance import events

    assert "parse_unverified_event" in events.__all__
    assert "decode_event" not in events.__all__
