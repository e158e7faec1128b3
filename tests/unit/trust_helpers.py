"""Shared builders for the trust, policy and audit tests: an authority, participants, a cordyceps batch."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import ocop_provenance as op
from ocop_provenance.events import BundleBatch, BundleHeader, append_step, open_batch, write_bundle
from ocop_provenance.trust import (
    AuthorityPin,
    Participant,
    ParticipantKey,
    TrustList,
    VerifiedTrustList,
    sign_trust_list,
)

from tests.conftest import ICT, key, sample_genesis

T_START = datetime(2024, 1, 1, tzinfo=UTC)
T_END = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2024, 12, 1, tzinfo=UTC)
ISSUED = datetime(2024, 10, 1, tzinfo=UTC)
EXPIRES = datetime(2025, 10, 1, tzinfo=UTC)

AUTH = [key(50), key(51), key(52)]
PRODUCER, PROCESSOR, LAB, DISTRIBUTOR, CERTIFIER, LAB2 = key(1), key(2), key(3), key(4), key(5), key(6)
STRANGER = key(9)
RIVAL, RETAILER = key(7), key(8)  # a second producer and a retailer, for the attacks of issue 10
_ALL = {
    k.key_id: k.public_key
    for k in (*AUTH, PRODUCER, PROCESSOR, LAB, DISTRIBUTOR, CERTIFIER, LAB2, STRANGER, RIVAL, RETAILER)
}


def signer_keys(events: Sequence[op.SignedEvent]) -> tuple[op.PublicKey, ...]:
    """The public keys that signed ``events``: what a bundle header must ship."""
    return tuple(dict.fromkeys(_ALL[e.key_id] for e in events))


PDF = op.Attachment(
    name="phieu-kiem-nghiem.pdf", media_type="application/pdf", size=1234, sha256=hashlib.sha256(b"pdf").digest()
)
PHOTO = op.Attachment(name="anh.jpg", media_type="image/jpeg", size=99, sha256=hashlib.sha256(b"jpg").digest())
WHERE = op.Location(name="Xã Nghi Sơn, Thanh Hóa", admin_code="16000")


def pkey(signer: op.PrivateKey, **kw: object) -> ParticipantKey:
    fields: dict[str, object] = {"key": signer.public_key, "not_before": T_START, "not_after": T_END}
    fields.update(kw)
    return ParticipantKey(**fields)  # type: ignore[arg-type]


def participants(**keys: ParticipantKey) -> tuple[Participant, ...]:
    """The demo's participants; pass e.g. ``lab=pkey(LAB, status="revoked")`` to override one key entry."""
    spec = [
        ("htx-nghi-son", "HTX Nông nghiệp Nghi Sơn", "producer", PRODUCER),
        ("xuong-say-thanh-hoa", "Xưởng sấy Thanh Hóa", "processor", PROCESSOR),
        ("lab", "Trung tâm Kiểm nghiệm Thanh Hóa", "lab", LAB),
        ("lab-2", "Phòng thí nghiệm Hà Nội", "lab", LAB2),
        ("distributor", "Công ty Phân phối Miền Bắc", "distributor", DISTRIBUTOR),
        ("certifier", "Hội đồng OCOP tỉnh", "certifier", CERTIFIER),
    ]
    out = []
    for pid, name, role, signer in spec:
        entry = keys.get(pid.replace("-", "_"), pkey(signer))
        claims: dict[str, object] = {}
        if role == "producer":  # what the producer's records claim: its commune codes and GS1 Company Prefix
            claims = {"admin_codes": ("16000",), "gs1_prefixes": ("8931234",)}
        out.append(Participant(id=pid, name=name, role=role, keys=(entry,), admin_code="38", **claims))  # type: ignore[arg-type]
    return tuple(out)


def trust_draft(version: int = 1, *, threshold: int = 2, **keys: ParticipantKey) -> TrustList:
    return TrustList(
        issuer="Văn phòng Điều phối OCOP tỉnh Thanh Hóa",
        version=version,
        issued_at=ISSUED,
        expires=EXPIRES,
        authority=AuthorityPin(tuple(k.public_key for k in AUTH), threshold),
        participants=participants(**keys),
    )


def pin(threshold: int = 2) -> AuthorityPin:
    return AuthorityPin(tuple(k.public_key for k in AUTH), threshold)


def trusted(**keys: ParticipantKey) -> VerifiedTrustList:
    """A verified trust list (version 1, signed by all three authority keys)."""
    raw = sign_trust_list(trust_draft(**keys), AUTH)
    return op.verify_trust_list(raw, pin(), now=NOW)


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2024, 11, day, hour, tzinfo=ICT)


def step(
    head: op.SignedEvent,
    signer: op.PrivateKey,
    name: str,
    day: int,
    *,
    location: op.Location = WHERE,
    **kw: object,
) -> op.SignedEvent:
    return append_step(head, signer, step=name, time=at(day), location=location, **kw)  # type: ignore[arg-type]


def cordyceps_batch(
    *,
    plan: Sequence[tuple[str, op.PrivateKey]] | None = None,
    inputs: Sequence[op.InputRef] = (),
    genesis_signer: op.PrivateKey = PRODUCER,
    lot: str = "DT2411-01",
) -> list[op.SignedEvent]:
    """A complete dried-cordyceps batch; ``plan`` overrides the steps after genesis as (step, signer)."""
    genesis = sample_genesis(
        time=at(1, 8),
        product=op.Product(name="Đông trùng hạ thảo sấy khô", lot=lot, quantity="12.5", unit="kg"),
        producer=op.Producer(name="HTX Nông nghiệp Nghi Sơn", admin_code="16000", province="Thanh Hóa"),
        location=WHERE,
        attachments=(PHOTO,),
        data={"standards": "TCVN 12850:2019", "shelf_life": "P12M"},
    )
    events = [open_batch(genesis, genesis_signer)]
    plan = plan or [
        ("commissioning", PRODUCER),
        ("ocop:drying", PROCESSOR),
        ("inspecting", LAB),
        ("packing", PRODUCER),
        ("shipping", DISTRIBUTOR),
    ]
    for i, (name, signer) in enumerate(plan):
        extra: dict[str, object] = {}
        if name == "ocop:drying":
            extra["data"] = {"moisture": "11.8"}
        if name == "inspecting":
            extra["attachments"] = (PDF,)
        if i == 0 and inputs:
            extra["inputs"] = tuple(inputs)
        events.append(step(events[-1], signer, name, 2 + i, **extra))
    return events


def fresh_batch(signer: op.PrivateKey = PRODUCER, length: int = 2) -> list[op.SignedEvent]:
    genesis = sample_genesis(time=at(1, 6), location=WHERE)
    events = [open_batch(genesis, signer)]
    for i in range(1, length):
        events.append(step(events[-1], signer, "commissioning", 1, location=WHERE, data={"n": i}))
    return events


def bundle(*chains: Sequence[op.SignedEvent]) -> bytes:
    """Write a bundle of ``chains`` (the first is the root; the order given is the file order)."""
    header = BundleHeader(
        root=chains[0][0].event_id,
        batches=tuple(BundleBatch(batch_id=c[0].event_id, count=len(c), head=c[-1].event_id) for c in chains),
        keys=signer_keys([e for c in chains for e in c]),
    )
    out = io.BytesIO()
    write_bundle(out, header, [e.raw for c in chains for e in c])
    return out.getvalue()


def with_who(
    trust: TrustList | VerifiedTrustList, events: Sequence[op.SignedEvent]
) -> list[tuple[op.SignedEvent, Participant | None]]:
    out = []
    for e in events:
        found = trust.lookup(e.key_id)
        out.append((e, None if found is None or found[1].problem_at(e.time) else found[0]))
    return out


ONE_SECOND = timedelta(seconds=1)
