"""The JSON API's shapes (pydantic models): what ``/api/v1`` answers and what the OpenAPI document describes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .views import BatchView, CorrectionView, StepView

__all__ = [
    "BatchDetail",
    "BatchSummary",
    "DocumentInstalled",
    "Material",
    "ParticipantOut",
    "ProducerOut",
    "PublishAccepted",
    "Refusal",
    "SealVerdict",
    "batch_detail",
]


class Refusal(BaseModel):
    """A refused request: a stable code and the reason (the library's error location in ``error``).

    Some refusals carry more members: ``held`` and ``bundle`` (E_ROLLBACK), ``batch_id`` and ``seq`` (E_FORK),
    ``policy`` (policy findings).
    """

    model_config = ConfigDict(extra="allow")
    accepted: bool = False
    code: str = Field(examples=["E_FORK"])
    message: str
    error: dict[str, Any] | None = None
    findings: list[dict[str, Any]] | None = None
    proof: str | None = Field(default=None, description="Base64 of the equivocation proof (E_FORK)")


class BatchOutcomeOut(BaseModel):
    """What publishing did to one batch."""

    batch_id: str
    status: str = Field(examples=["new", "extended", "unchanged"])
    held: int
    count: int


class PublishAccepted(BaseModel):
    """An accepted bundle."""

    accepted: bool = True
    root: str
    added: int
    batches: list[BatchOutcomeOut]
    policy: dict[str, Any] | None
    trust_list: dict[str, Any]
    page: str = Field(description="The batch's page on this portal")
    log: dict[str, Any] | None = Field(
        default=None,
        description="With a transparency log: its origin, a base64 receipt per batch (docs/format.md §18.5) and "
        "what each witness answered",
    )


class ParticipantOut(BaseModel):
    """A participant as the current trust list names it (where it is registered, too)."""

    id: str
    name: str
    role: str
    admin_code: str | None
    commune: str | None = None
    province: str | None = None


class BatchSummary(BaseModel):
    """A published batch in a list."""

    batch_id: str
    product: str
    lot: str
    gtin: str | None
    stars: int | None
    producer: ParticipantOut | None = Field(description="From the trust list (the genesis signer's participant)")
    declared_producer: str = Field(description="As declared by the producer in the record")
    declared_province: str | None
    events: int
    last_published: datetime
    page: str


class AttachmentOut(BaseModel):
    """An attachment by hash; ``url`` when the producer published the file."""

    name: str
    media_type: str
    size: int
    sha256: str
    url: str | None


class LinkOut(BaseModel):
    """A batch one step back or forward."""

    batch_id: str
    seq: int
    product: str | None
    lot: str | None
    published: bool


class CorrectionOut(BaseModel):
    """A correction of a step (docs/format.md §19)."""

    seq: int = Field(description="The corrected step")
    by_seq: int = Field(description="The correction's own step")
    status: str = Field(description="in_force, superseded or unauthorised (not the step's signer: not applied)")
    withdrawn: bool = Field(description="The step did not happen as recorded (no corrected values)")
    reason: str
    data: dict[str, str] | None = Field(description="The corrected key data elements; null when withdrawn")


class StepOut(BaseModel):
    """One signed step."""

    seq: int
    step: str
    time: datetime
    location: str | None
    location_code: str | None
    event_id: str
    key_id: str
    signer: ParticipantOut | None
    signer_problem: str | None = Field(description="Why the trust list does not allow this signer now, if it doesn't")
    data: dict[str, str]
    attachments: list[AttachmentOut]
    inputs: list[LinkOut]
    corrected_by: list[CorrectionOut] = Field(description="Every correction of this step, in order")
    corrects: CorrectionOut | None = Field(description="What this step corrects, when it is a correction")


class ForkOut(BaseModel):
    """An equivocation proof kept for the batch."""

    seq: int
    detected_at: datetime
    proof: str
    event_a: str
    event_b: str


class BatchDetail(BaseModel):
    """A published batch: who made it (trust list), what the record says, every step, lineage, forks."""

    batch_id: str
    product: dict[str, Any]
    producer: ParticipantOut | None
    declared_producer: dict[str, Any]
    certificate: dict[str, Any] | None
    steps: list[StepOut]
    back: list[LinkOut]
    forward: list[LinkOut]
    forks: list[ForkOut]
    events: int
    head: str
    first_published: datetime
    last_published: datetime
    policy: dict[str, Any] | None
    links: dict[str, str]


class ProducerOut(BaseModel):
    """A participant with published batches."""

    id: str
    name: str
    role: str
    admin_code: str | None
    batches: int
    page: str


class SealVerdict(BaseModel):
    """The verdict on a seal (``ok`` only when the seal, the record held and every signer check out)."""

    ok: bool
    code: str
    status: int
    message: str
    detail: str | None
    batch_id: str | None
    product: str | None
    producer: ParticipantOut | None
    verification: dict[str, Any] | None
    scans: dict[str, Any] | None


class DocumentInstalled(BaseModel):
    """A trust list or policy the portal verified and holds."""

    installed: bool = Field(description="False when the same document was already current")
    kind: str
    version: int
    id: str
    issuer: str | None = None
    name: str | None = None


class Material(BaseModel):
    """Everything an independent verifier needs for a batch, as signed (base64)."""

    batch_id: str
    bundle: str = Field(description="Base64 of the bundle (the batch and its lineage, as held)")
    trust_list: str = Field(description="Base64 of the current signed trust list")
    trust_list_version: int
    policy: str | None = Field(description="Base64 of the signed policy that governs the batch, if any")
    seal: str | None = Field(description="The sealed URL, when given as ?seal=")
    intermediates: list[str] = Field(
        default_factory=list,
        description="Base64 of every older trust list, oldest first: they carry the pinned authority keys forward to "
        "the current list (empty when the portal pins no authority keys)",
    )
    receipt: str | None = Field(
        default=None,
        description="Base64 of the transparency-log receipt of the batch's head (docs/format.md §18.5), if the portal "
        "keeps a log and has logged it",
    )


def participant_out(p: Any) -> ParticipantOut | None:
    """A trust-list participant as JSON (None stays None)."""
    if p is None:
        return None
    return ParticipantOut(
        id=p.id, name=p.name, role=p.role, admin_code=p.admin_code, commune=p.commune, province=p.province
    )


def _step(public: str, s: StepView) -> StepOut:
    return StepOut(
        seq=s.seq,
        step=s.step,
        time=s.time,
        location=s.location,
        location_code=s.location_code,
        event_id=s.event_id,
        key_id=s.key_id,
        signer=participant_out(s.signer),
        signer_problem=s.signer_problem,
        data={k: v for k, _, v in s.data},
        attachments=[
            AttachmentOut(
                name=a.name,
                media_type=a.media_type,
                size=a.size,
                sha256=a.sha256,
                url=f"{public}/files/{a.sha256}" if a.available else None,
            )
            for a in s.attachments
        ],
        inputs=[
            LinkOut(batch_id=i.batch_id, seq=i.seq, product=i.product, lot=i.lot, published=i.known) for i in s.inputs
        ],
        corrected_by=[_correction(c) for c in s.corrected_by],
        corrects=None if s.corrects is None else _correction(s.corrects),
    )


def _correction(c: CorrectionView) -> CorrectionOut:
    return CorrectionOut(
        seq=c.seq,
        by_seq=c.by_seq,
        status=c.status,
        withdrawn=c.withdrawn,
        reason=c.reason,
        data=None if c.withdrawn else {k: v for k, _, v in c.data},
    )


def batch_detail(public: str, v: BatchView) -> BatchDetail:
    """The API form of a batch view."""
    p, d, c = v.product, v.declared, v.certificate
    return BatchDetail(
        batch_id=v.batch_id,
        product={"name": p.name, "lot": p.lot, "gtin": p.gtin, "quantity": p.quantity, "unit": p.unit},
        producer=participant_out(v.maker),
        declared_producer={
            "name": d.name,
            "admin_code": d.admin_code,
            "commune": d.commune,
            "province": d.province,
            "gln": d.gln,
        },
        certificate=None if c is None else {"stars": c.stars, "number": c.number, "issued": c.issued.isoformat()},
        steps=[_step(public, s) for s in v.steps],
        back=[LinkOut(batch_id=b.batch_id, seq=b.seq, product=b.product, lot=b.lot, published=b.known) for b in v.back],
        forward=[
            LinkOut(batch_id=f.batch_id, seq=f.seq, product=f.product, lot=f.lot, published=f.known) for f in v.forward
        ],
        forks=[
            ForkOut(seq=f.seq, detected_at=f.detected_at, proof=f.proof, event_a=f.event_a, event_b=f.event_b)
            for f in v.forks
        ],
        events=v.count,
        head=v.head_id,
        first_published=v.first_published,
        last_published=v.last_published,
        policy=None if v.policy is None else {"name": v.policy.name, "version": v.policy.version},
        links={
            "page": f"{public}/batches/{v.batch_id}",
            "bundle": f"{public}/api/v1/batches/{v.batch_id}/bundle",
            "material": f"{public}/api/v1/batches/{v.batch_id}/material",
        },
    )
