"""What a page shows: a batch as the portal holds it, and the verdict on a scanned seal.

Who signed is always the *trust list's* participant (the headline); what the record says about its producer is shown
apart, labelled as the producer's own declaration. Decoded events are kept in a small cache keyed by the batch and
its head (a held chain never changes below its head); seal verdicts are memoised by everything they depend on
(:class:`SealMemo`).
"""

from __future__ import annotations

import base64
import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import ocop_provenance as op
from ocop_provenance.events import CorrectionLog, CorrectionNote, EquivocationProof, parse_unverified_event
from ocop_provenance.seals import SealStatement, SealVerification
from ocop_provenance.trust import Participant, VerifiedPolicy
from sqlalchemy.engine import Connection

from . import queries
from .i18n import N_
from .trust import TrustState, policy_for

__all__ = [
    "SEAL_TEXTS",
    "AttachmentView",
    "BatchView",
    "CorrectionView",
    "ForkView",
    "LinkView",
    "LruCache",
    "StepView",
    "Verdict",
    "build_batch_view",
    "step_label",
]

#: What a valid seal proves and what it does not: the library's bilingual sentences.
SEAL_TEXTS: dict[str, str] = {
    f.name: f.default  # type: ignore[misc]
    for f in dataclasses.fields(SealVerification)
    if f.name in ("proves", "does_not_prove", "proves_vi", "does_not_prove_vi")
}

#: Plain-words names of the steps a record usually holds (a governing policy's own labels come first).
STEP_LABELS: dict[str, str] = {
    "genesis": N_("Batch opened"),
    "commissioning": N_("Harvest / production"),
    "ocop:drying": N_("Drying"),
    "inspecting": N_("Inspection"),
    "sampling": N_("Sampling"),
    "packing": N_("Packing"),
    "shipping": N_("Shipping"),
    "receiving": N_("Receiving"),
    "storing": N_("Storage"),
    "transporting": N_("Transport"),
    "retail_selling": N_("Retail sale"),
    "ocop:correcting": N_("Correction"),
}

#: Plain-words names of common key data elements.
DATA_LABELS: dict[str, str] = {
    "moisture": N_("Moisture, per cent"),
    "moisture_pct": N_("Moisture, per cent"),
    "weight_kg": N_("Weight (kg)"),
    "temperature_c": N_("Temperature (°C)"),
    "hours": N_("Hours"),
    "result": N_("Result"),
    "boxes": N_("Boxes"),
    "shelf_life": N_("Shelf life"),
    "standards": N_("Standards applied"),
}

ROLE_LABELS: dict[str, str] = {
    "producer": N_("producer"),
    "processor": N_("processor"),
    "lab": N_("testing laboratory"),
    "certifier": N_("certifier"),
    "distributor": N_("distributor"),
    "retailer": N_("retailer"),
}

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """A small thread-safe least-recently-used cache (``size`` 0 disables it)."""

    def __init__(self, size: int) -> None:
        """Hold at most ``size`` entries."""
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The cached value of ``key``, or None."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key`` (nothing when the cache is disabled)."""
        if self._size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """Return the cached value of ``key``, making and keeping it when absent."""
        if self._size <= 0:
            return make()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        self.put(key, value)
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentView:
    """An attachment of a step: by hash, and downloadable when the producer published the file."""

    name: str
    media_type: str
    size: int
    sha256: str
    available: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkView:
    """A batch one step back or forward (``known``: the portal holds it)."""

    batch_id: str
    seq: int
    product: str | None
    lot: str | None
    producer: str | None
    known: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectionView:
    """A correction of a step (docs/format.md §19), shown under the step it corrects and on its own step.

    ``status`` is ``in_force`` (the step's own signer, as the trust list names participants, made it and no later one
    replaced it), ``superseded`` or ``unauthorised`` (someone else made it: shown, never applied).
    """

    seq: int
    by_seq: int
    status: str
    withdrawn: bool
    reason: str
    data: tuple[tuple[str, str, str], ...]


def _correction_view(note: CorrectionNote) -> CorrectionView:
    return CorrectionView(
        seq=note.seq,
        by_seq=note.by_seq,
        status=note.status,
        withdrawn=note.withdrawn,
        reason=note.reason,
        data=tuple((k, DATA_LABELS.get(k, k), str(v)) for k, v in (note.data or {}).items()),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class StepView:
    """One event as the page shows it."""

    seq: int
    step: str
    label: str
    time: datetime
    location: str | None
    location_code: str | None
    signer: Participant | None
    signer_problem: str | None
    key_id: str
    event_id: str
    data: tuple[tuple[str, str, str], ...]
    attachments: tuple[AttachmentView, ...]
    inputs: tuple[LinkView, ...]
    corrected_by: tuple[CorrectionView, ...] = ()
    """Every correction of this step, in order (the step as recorded stays shown above them)."""
    corrects: CorrectionView | None = None
    """What this step corrects, when it is a correction."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ForkView:
    """An equivocation proof held for the batch."""

    seq: int
    detected_at: datetime
    proof: str
    event_a: str
    event_b: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchView:
    """A batch as the portal holds it, with who signed each step according to the current trust list."""

    batch_id: str
    gtin: str | None
    product: op.Product
    declared: op.Producer
    certificate: op.Certificate | None
    maker: Participant | None
    maker_problem: str | None
    steps: tuple[StepView, ...]
    back: tuple[LinkView, ...]
    forward: tuple[LinkView, ...]
    forks: tuple[ForkView, ...]
    count: int
    head_id: str
    first_published: datetime
    last_published: datetime
    policy: VerifiedPolicy | None
    events: tuple[op.SignedEvent, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The answer to a scanned code.

    Attributes:
        ok: The seal verifies, covers the record held, and every signer is who the trust list says.
        code: ``SEAL_OK``, ``SEAL_OLDER_HEAD``, ``NO_SEAL`` or the failure's code.
        status: The HTTP status of the page.
        message: Why, in plain words (an English message id, translated on the page).
        detail: The library's message, if any.
        statement: What the seal claims (unverified when the seal failed), if it could be read.
        verification: The library's result when the seal verified.
        batch: The batch, when one was found.
        scans: For a serialised unit: (count, first look-up) after counting this one.
    """

    ok: bool
    code: str
    status: int
    message: str
    detail: str | None = None
    statement: SealStatement | None = None
    verification: SealVerification | None = None
    batch: BatchView | None = None
    scans: tuple[int, datetime] | None = None


def step_label(step: str, policy: VerifiedPolicy | None) -> str:
    """The plain-words name of a step: the governing policy's label, else a known name, else the step itself."""
    if policy is not None:
        for rule in policy.steps:
            if rule.step == step and rule.label:
                return rule.label
    return STEP_LABELS.get(step, step)


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _links_back(rows: Sequence[Any]) -> dict[int, list[LinkView]]:
    out: dict[int, list[LinkView]] = {}
    for r in rows:
        out.setdefault(int(r.seq), []).append(
            LinkView(
                batch_id=bytes(r.input_batch_id).hex(),
                seq=int(r.input_seq),
                product=r.product_name,
                lot=r.lot,
                producer=r.producer_name,
                known=r.product_name is not None,
            )
        )
    return out


def build_batch_view(
    conn: Connection,
    batch_id: bytes,
    state: TrustState,
    decoded: LruCache[tuple[bytes, bytes], tuple[op.SignedEvent, ...]],
) -> BatchView | None:
    """Read a batch and build its view (None if the portal does not hold it)."""
    row = queries.batch_row(conn, batch_id)
    if row is None:
        return None
    head_id = bytes(row.head_id)
    events = decoded.get_or_make(
        (batch_id, head_id),
        lambda: tuple(parse_unverified_event(raw) for raw in queries.event_raws(conn, batch_id)),
    )
    genesis = events[0].body
    assert isinstance(genesis, op.Genesis)  # the registry stores chains from their verified genesis
    policy = policy_for(state.policies, genesis.product)
    back = _links_back(queries.inputs_of(conn, batch_id))
    hashes = [a.sha256 for e in events for a in e.body.attachments]
    held = queries.files_held(conn, hashes)
    # How each step stands (docs/format.md §19.3): a correction is in force only when the corrected step's signer,
    # the same participant of the trust list, made it; a key the list does not know never corrects anything.
    corrections = CorrectionLog()
    for e in events:
        who = state.participant(e.key_id)
        corrections.add(e, None if who is None else who.id)
    steps = []
    for e in events:
        body = e.body
        loc = body.location
        own = corrections.by(e.seq)  # how this step's own correction stands, when it is one
        steps.append(
            StepView(
                seq=e.seq,
                step=e.step,
                label=step_label(e.step, policy),
                time=e.time,
                location=None if loc is None else loc.name,
                location_code=None if loc is None else (loc.admin_code or loc.gln),
                signer=state.participant(e.key_id),
                signer_problem=state.signer_problem(e.key_id, e.time),
                key_id=e.key_id.hex(),
                event_id=e.event_id_hex,
                data=tuple((k, DATA_LABELS.get(k, k), str(v)) for k, v in body.data.items()),
                attachments=tuple(
                    AttachmentView(
                        name=a.name,
                        media_type=a.media_type,
                        size=a.size,
                        sha256=a.sha256.hex(),
                        available=a.sha256 in held,
                    )
                    for a in body.attachments
                ),
                inputs=tuple(back.get(e.seq, ())),
                corrected_by=tuple(_correction_view(n) for n in corrections.of_step(e.seq)),
                corrects=None if own is None else _correction_view(own),
            )
        )
    forks = []
    for f in queries.forks_of(conn, batch_id):
        proof = EquivocationProof.from_bytes(bytes(f.proof))
        forks.append(
            ForkView(
                seq=int(f.seq),
                detected_at=_utc(f.detected_at),
                proof=base64.b64encode(bytes(f.proof)).decode("ascii"),
                event_a=parse_unverified_event(proof.event_a).event_id_hex,
                event_b=parse_unverified_event(proof.event_b).event_id_hex,
            )
        )
    forward = tuple(
        LinkView(
            batch_id=bytes(r.batch_id).hex(),
            seq=int(r.seq),
            product=r.product_name,
            lot=r.lot,
            producer=None,
            known=True,
        )
        for r in queries.consumers_of(conn, batch_id)
    )
    return BatchView(
        batch_id=batch_id.hex(),
        gtin=genesis.product.gtin,
        product=genesis.product,
        declared=genesis.producer,
        certificate=genesis.certificate,
        maker=state.participant(events[0].key_id),
        maker_problem=steps[0].signer_problem,
        steps=tuple(steps),
        back=tuple(link for links in back.values() for link in links),
        forward=forward,
        forks=tuple(forks),
        count=len(events),
        head_id=head_id.hex(),
        first_published=_utc(row.first_published),
        last_published=_utc(row.last_published),
        policy=policy,
        events=events,
    )
