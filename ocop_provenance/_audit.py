"""The auditor's verification: a bundle checked against a trust list, a process policy and a pinned state.

:func:`audit_bundle` runs :func:`~ocop_provenance.verify_bundle` (signatures, chains, input heads) and, for each
event as it streams past, judges its key against the trust list at the time the event claims, builds the lineage
graph (refusing cycles and bounding depth and size), and compares it with the pinned state (forks, rollback).
When the bundle has been read, the root batch is checked against the policy. The report lists *every* finding; a
structural failure (bad signature, broken chain, lineage mismatch) stops the audit, because nothing after it can be
trusted, and is reported as ``failure``.

:func:`require_trusted_bundle` is the fail-closed variant: it raises :class:`AuditError` unless the audit is clean.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, BinaryIO

from ._bundle import BundleHeader, verify_bundle
from ._corrections import CorrectionLog, CorrectionNote
from ._errors import ChainError, ErrorCode, FormatError, ProvenanceError, VerificationError
from ._model import Genesis, Step
from ._policy import Finding, StepRule, VerifiedPolicy
from ._trust import Participant, VerifiedTrustList, genesis_claims
from ._verify import EquivocationProof, Subject, VerifyOptions
from ._wire import SignedEvent, parse_unverified_event

__all__ = [
    "DEFAULT_MAX_LINEAGE_BATCHES",
    "DEFAULT_MAX_LINEAGE_DEPTH",
    "PINNED_STATE_FORMAT",
    "AuditError",
    "AuditReport",
    "BatchAudit",
    "CrossCheck",
    "PinnedHead",
    "PinnedState",
    "StepAudit",
    "audit_bundle",
    "audit_bundles",
    "require_trusted_bundle",
]

#: Deepest lineage accepted: the root is depth 0, its inputs depth 1, …
DEFAULT_MAX_LINEAGE_DEPTH = 64
#: Most batches accepted in one lineage.
DEFAULT_MAX_LINEAGE_BATCHES = 10_000
PINNED_STATE_FORMAT = "ocop-pinned-state"
#: The ``format`` and ``version`` members of :meth:`AuditReport.to_dict` (a stable JSON schema for ``--json``).
REPORT_FORMAT = "ocop-audit-report"
REPORT_VERSION = 1
PINNED_STATE_VERSION = 1
_MAX_PINNED_STATE = 64 << 20
_DISPATCH_STEPS = frozenset({"shipping", "transporting", "retail_selling", "consigning", "departing"})
Source = str | os.PathLike[str] | BinaryIO


class AuditError(VerificationError):
    """An audit was not clean (:func:`require_trusted_bundle`).

    Its ``code`` is the code of the first structural failure, or of the first finding.

    Attributes:
        report: The full :class:`AuditReport`.
    """

    code = ErrorCode.AUDIT

    def __init__(self, message: str, *, report: AuditReport, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.report = report


# ---- pinned state ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PinnedHead:
    """The furthest point of a batch the auditor has seen.

    Attributes:
        seq: The head's seq.
        event_id: The head's event id.
        event: The head event's COSE bytes, if kept (lets a later fork come with a portable proof).
    """

    seq: int
    event_id: bytes
    event: bytes | None = None


@dataclass(frozen=True, slots=True)
class PinnedState:
    """What an auditor saw before: for each batch, the head it reached (JSON, docs/format.md §Pinned state).

    Attributes:
        heads: Batch id -> :class:`PinnedHead`.
    """

    heads: Mapping[bytes, PinnedHead] = field(default_factory=dict)

    def to_json(self) -> str:
        """Return the state as deterministic JSON text (sorted keys, hex ids, base64 event bytes)."""
        batches = {}
        for batch, head in sorted(self.heads.items()):
            entry: dict[str, Any] = {"seq": head.seq, "event_id": head.event_id.hex()}
            if head.event is not None:
                entry["event"] = base64.b64encode(head.event).decode("ascii")
            batches[batch.hex()] = entry
        doc = {"format": PINNED_STATE_FORMAT, "version": PINNED_STATE_VERSION, "batches": batches}
        return json.dumps(doc, sort_keys=True, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> PinnedState:
        """Parse a pinned state.

        Raises:
            FormatError: Not a pinned state of a supported version, or an entry whose event bytes do not match its
                id and seq (``E_PINNED_FORMAT``).
        """
        if len(text) > _MAX_PINNED_STATE:
            raise FormatError("pinned state too large", code="E_SIZE")
        try:
            doc = json.loads(text)
        except (ValueError, UnicodeDecodeError) as e:
            raise FormatError("pinned state is not JSON", code="E_PINNED_FORMAT") from e
        if not isinstance(doc, dict) or doc.get("format") != PINNED_STATE_FORMAT:
            raise FormatError("not a pinned state", code="E_PINNED_FORMAT")
        if doc.get("version") != PINNED_STATE_VERSION:
            raise FormatError(f"unsupported pinned state version {doc.get('version')!r}", code="E_VERSION")
        batches = doc.get("batches")
        if not isinstance(batches, dict):
            raise FormatError("batches must be an object", code="E_PINNED_FORMAT", field="batches")
        heads: dict[bytes, PinnedHead] = {}
        for batch_hex, entry in batches.items():
            where = f"batches.{batch_hex[:16]}"
            try:
                batch, seq, event_id, raw = _pinned_entry(batch_hex, entry)
            except (ValueError, KeyError, TypeError, binascii.Error) as e:
                raise FormatError(f"malformed entry ({e})", code="E_PINNED_FORMAT", field=where) from e
            if raw is not None:
                ev = parse_unverified_event(raw)
                if ev.event_id != event_id or ev.seq != seq or ev.batch_id != batch:
                    raise FormatError("the kept event is not the pinned head", code="E_PINNED_FORMAT", field=where)
            heads[batch] = PinnedHead(seq, event_id, raw)
        return cls(heads)

    def updated(self, report: AuditReport, *, keep_events: bool = True) -> PinnedState:
        """Return this state advanced to the heads a clean report saw (a head never moves backwards).

        Args:
            report: An audit report.
            keep_events: Keep the head events' bytes so a later fork comes with a proof.

        Raises:
            ValueError: The report is not clean (pinning what failed would hide the failure).
        """
        if not report.ok:
            raise ValueError("only a clean audit can advance the pinned state")
        heads = dict(self.heads)
        for b in report.batches:
            old = heads.get(b.batch_id)
            if old is None or b.head_seq > old.seq:
                heads[b.batch_id] = PinnedHead(b.head_seq, b.head_id, b.head_raw if keep_events else None)
        return PinnedState(heads)


def _pinned_entry(batch_hex: str, entry: object) -> tuple[bytes, int, bytes, bytes | None]:
    batch = _hex32(batch_hex)
    if not isinstance(entry, dict) or set(entry) - {"seq", "event_id", "event"}:
        raise ValueError("unknown members")
    seq = entry["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**63:
        raise ValueError("seq")
    event_id = _hex32(entry["event_id"])
    raw = base64.b64decode(entry["event"], validate=True) if "event" in entry else None
    return batch, seq, event_id, raw


def _hex32(value: object) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise ValueError("expected 64 hex digits")
    return bytes.fromhex(value)


# ---- the report ---------------------------------------------------------------------------------------------


def _participant(p: Participant) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "role": p.role, "commune": p.commune, "province": p.province}


@dataclass(frozen=True, slots=True, kw_only=True)
class StepAudit:
    """One event, who signed it and what the policy asked of it.

    Attributes:
        seq: Its seq.
        event_id: Its id.
        step: Its step (``genesis`` for the first).
        time: The time it claims.
        location: Location name, if any.
        location_code: Administrative-unit code or GLN, if any.
        key_id: The signer's key id.
        participant: Who holds the key in the trust list (even if the key may not sign at that time), or None.
        key_problem: The code of why the key may not sign at that time (``E_KEY_REVOKED``, …), or None.
        rule: The policy rule that governs this step, if any.
        findings: Codes of the findings about this event.
        corrects: For a correction, what it corrects and how it stands (in force only when signed by the same
            participant as the corrected step; docs/format.md §19).
        corrected_by: Every correction of this step, in chain order, each with its status: the step stays listed
            as recorded, and policies judge its corrected values (or leave it out, when withdrawn).
    """

    seq: int
    event_id: bytes
    step: str
    time: datetime
    location: str | None
    location_code: str | None
    key_id: bytes
    participant: Participant | None
    key_problem: str | None
    rule: StepRule | None = None
    findings: tuple[str, ...] = ()
    corrects: CorrectionNote | None = None
    corrected_by: tuple[CorrectionNote, ...] = ()

    @property
    def correction(self) -> CorrectionNote | None:
        """The correction in force for this step, if any."""
        return next((n for n in self.corrected_by if n.in_force), None)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        p = self.participant
        return {
            "seq": self.seq,
            "event_id": self.event_id.hex(),
            "step": self.step,
            "time": self.time.isoformat(),
            "location": self.location,
            "location_code": self.location_code,
            "key_id": self.key_id.hex(),
            "signer": None if p is None else _participant(p),
            "key_problem": self.key_problem,
            "required": None if self.rule is None else self.rule.to_dict(),
            "findings": list(self.findings),
            "corrects": None if self.corrects is None else self.corrects.to_dict(),
            "corrected_by": [n.to_dict() for n in self.corrected_by],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchAudit:
    """One batch of the lineage: what it is, its steps, one step back (inputs) and one step forward.

    Attributes:
        batch_id: The batch.
        product: Product name.
        lot: Lot (trace code).
        gtin: GTIN, if any.
        producer: Who signed the genesis, as the trust list names them (None if its key may not sign): the one
            name a report gives the producer.
        declared_producer: The producer's name as the genesis declares it (self-declared, shown as such).
        count: Number of events.
        head_seq: The head's seq.
        head_id: The head's event id.
        head_raw: The head event's bytes.
        depth: Distance from the root (0 for the root).
        steps: Each event.
        inputs: One step back: ``(input batch id, seq consumed, head event id, consuming seq)``.
        consumed_by: One step forward inside the bundle: ``(consuming batch id, consuming seq, event id)``.
        dispatches: One step forward outside the bundle: seqs of shipping-like steps (their location says where).
    """

    batch_id: bytes
    product: str
    lot: str
    gtin: str | None
    producer: Participant | None
    declared_producer: str
    count: int
    head_seq: int
    head_id: bytes
    head_raw: bytes
    depth: int
    steps: tuple[StepAudit, ...]
    inputs: tuple[tuple[bytes, int, bytes, int], ...]
    consumed_by: tuple[tuple[bytes, int, bytes], ...]
    dispatches: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "batch_id": self.batch_id.hex(),
            "product": self.product,
            "lot": self.lot,
            "gtin": self.gtin,
            "producer": None if self.producer is None else _participant(self.producer),
            "declared_producer": self.declared_producer,
            "count": self.count,
            "head": {"seq": self.head_seq, "event_id": self.head_id.hex()},
            "depth": self.depth,
            "back": [
                {"batch_id": b.hex(), "seq": s, "head": h.hex(), "consumed_at_seq": at} for b, s, h, at in self.inputs
            ],
            "forward": {
                "consumed_by": [{"batch_id": b.hex(), "seq": s, "event_id": e.hex()} for b, s, e in self.consumed_by],
                "dispatches": list(self.dispatches),
            },
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditReport:
    """The auditor's verdict on one bundle.

    Attributes:
        ok: True when there is no failure and no finding.
        root: The root batch id, if the header could be read.
        trust: The trust list used (issuer, version, id).
        policy: The policy used, if any.
        now: The clock the audit used.
        batches: Every batch, in bundle order (the root first); empty if a failure stopped the audit early.
        findings: Every finding (trust, policy, lineage, pinned state).
        failure: The structural failure that stopped the audit, if any.
        forks: Portable proofs of every fork found.
    """

    ok: bool
    root: bytes | None
    trust: VerifiedTrustList
    policy: VerifiedPolicy | None
    now: datetime
    batches: tuple[BatchAudit, ...]
    findings: tuple[Finding, ...]
    failure: ProvenanceError | None
    forks: tuple[EquivocationProof, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """The failure's code (if any) then every finding's code, in report order."""
        first = () if self.failure is None else (self.failure.code,)
        return first + tuple(f.code for f in self.findings)

    def batch(self, batch_id: bytes) -> BatchAudit:
        """Return the audit of one batch.

        Raises:
            KeyError: The batch is not in the report.
        """
        for b in self.batches:
            if b.batch_id == batch_id:
                return b
        raise KeyError(batch_id.hex())

    def tree(self) -> dict[str, Any]:
        """Return the lineage as a nested mapping from the root (each batch expanded once, later as a reference)."""
        by_id = {b.batch_id: b for b in self.batches}
        expanded: set[bytes] = set()

        def node(batch_id: bytes) -> dict[str, Any]:
            b = by_id.get(batch_id)
            out: dict[str, Any] = {"batch_id": batch_id.hex()}
            if b is None:
                return out
            producer = None if b.producer is None else b.producer.name
            out.update(product=b.product, lot=b.lot, producer=producer, head_seq=b.head_seq)
            if batch_id in expanded:
                out["see_above"] = True
                return out
            expanded.add(batch_id)
            out["inputs"] = [node(i[0]) for i in b.inputs]
            return out

        return node(self.root) if self.root is not None and self.root in by_id else {}

    def to_dict(self) -> dict[str, Any]:
        """Return the whole report as a JSON-ready mapping (ids as hex)."""
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "ok": self.ok,
            "root": None if self.root is None else self.root.hex(),
            "now": self.now.isoformat(),
            "trust_list": {
                "issuer": self.trust.issuer,
                "version": self.trust.version,
                "id": self.trust.object_id.hex(),
            },
            "policy": None
            if self.policy is None
            else {"name": self.policy.name, "version": self.policy.version, "id": self.policy.object_id.hex()},
            "failure": None if self.failure is None else self.failure.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "forks": [base64.b64encode(p.to_bytes()).decode("ascii") for p in self.forks],
            "tree": self.tree(),
            "batches": [b.to_dict() for b in self.batches],
        }


# ---- the auditor --------------------------------------------------------------------------------------------


@dataclass
class _Batch:
    events: list[SignedEvent] = field(default_factory=list)
    steps: list[StepAudit] = field(default_factory=list)
    who: list[Participant | None] = field(default_factory=list)
    inputs: list[tuple[bytes, int, bytes, int]] = field(default_factory=list)
    dispatches: list[int] = field(default_factory=list)
    genesis: SignedEvent | None = None
    head: SignedEvent | None = None
    count: int = 0
    corrections: CorrectionLog = field(default_factory=CorrectionLog)


class _Auditor:
    def __init__(
        self,
        trust: VerifiedTrustList,
        policy: VerifiedPolicy | None,
        pinned: PinnedState | None,
        *,
        max_depth: int,
        max_batches: int,
        seen: dict[tuple[bytes, int], SignedEvent] | None,
    ) -> None:
        self.trust = trust
        self.policy = policy
        self.pinned = pinned
        self.max_depth = max_depth
        self.max_batches = max_batches
        self.seen = seen
        self.findings: list[Finding] = []
        self.forks: list[EquivocationProof] = []
        self.order: list[bytes] = []
        self.batches: dict[bytes, _Batch] = {}
        self.edges: dict[bytes, set[bytes]] = {}
        self.depth: dict[bytes, int] = {}
        self.consumed_by: dict[bytes, list[tuple[bytes, int, bytes]]] = {}

    def _reachable(self, start: bytes, goal: bytes) -> bool:
        stack, visited = [start], {start}
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            for nxt in self.edges.get(node, ()):
                if nxt not in visited:
                    visited.add(nxt)
                    stack.append(nxt)
        return False

    def on_event(self, _batch_index: int, event: SignedEvent) -> None:
        batch_id = event.batch_id
        b = self.batches.get(batch_id)
        if b is None:
            if len(self.batches) >= self.max_batches:
                raise ChainError(f"the lineage holds more than {self.max_batches} batches", code="E_LINEAGE_SIZE")
            b = self.batches[batch_id] = _Batch()
            self.order.append(batch_id)
            self.depth.setdefault(batch_id, 0)
        where: dict[str, Any] = {"batch_id": batch_id, "seq": event.seq, "event_id": event.event_id}
        if isinstance(event.body, Step):
            for ref in event.body.inputs:
                if ref.batch_id == batch_id or self._reachable(ref.batch_id, batch_id):
                    raise ChainError(
                        f"batch {ref.batch_id.hex()[:16]} is both upstream and downstream of this batch",
                        code="E_LINEAGE_CYCLE",
                        **where,
                    )
                self.edges.setdefault(batch_id, set()).add(ref.batch_id)
                depth = self.depth[batch_id] + 1
                if depth > self.max_depth:
                    raise ChainError(
                        f"the lineage is deeper than {self.max_depth} batches", code="E_LINEAGE_DEPTH", **where
                    )
                self.depth[ref.batch_id] = max(self.depth.get(ref.batch_id, 0), depth)
                b.inputs.append((ref.batch_id, ref.seq, ref.head, event.seq))
                self.consumed_by.setdefault(ref.batch_id, []).append((batch_id, event.seq, event.event_id))
            if event.step in _DISPATCH_STEPS:
                b.dispatches.append(event.seq)
        # the trust list, judged at the time the event claims
        found = self.trust.lookup(event.key_id)
        problem = None if found is None else found[1].problem_at(event.time)
        who: Participant | None = None
        if found is None:
            self._add("E_UNKNOWN_KEY", "signed by a key that is not in the trust list", batch_id, event)
        elif problem is not None:
            self._add(problem[0], f"{found[0].name} ({found[0].role}): {problem[1]}", batch_id, event)
        else:
            who = found[0]
            body = event.body
            if isinstance(body, Genesis):
                # Who may claim what (issue 10): the genesis's claims must be its signer's, as the list records.
                for code, field_name, message in genesis_claims(who, body):
                    self._add(code, message, batch_id, event, field_name)
        # A correction is in force only when the corrected step's participant signed it (docs/format.md §19).
        note = b.corrections.add(event, None if who is None else who.id)
        if note is not None and not note.in_force:
            original = b.steps[note.seq].participant if note.seq < len(b.steps) else None
            by = "an unlisted or unusable key" if who is None else f"{who.name} ({who.role})"
            of = "an unlisted key" if original is None else f"{original.name} ({original.role})"
            self._add(
                "E_CORRECTION_SIGNER",
                f"the correction of step #{note.seq} is signed by {by}, not by {of} who signed that step: "
                "it is shown, not applied",
                batch_id,
                event,
                "corrects",
            )
        self._check_pinned(batch_id, event)
        if self.seen is not None:
            other = self.seen.setdefault((batch_id, event.seq), event)
            if other.event_id != event.event_id:
                self._fork(batch_id, other, event, "E_FORK", "another bundle holds a different event at this seq")
        loc = event.body.location
        b.steps.append(
            StepAudit(
                seq=event.seq,
                event_id=event.event_id,
                step=event.step,
                time=event.time,
                location=None if loc is None else loc.name,
                location_code=None if loc is None else (loc.admin_code or loc.gln),
                key_id=event.key_id,
                participant=None if found is None else found[0],
                key_problem=None if problem is None else problem[0],
            )
        )
        b.who.append(who)
        if self.policy is not None and batch_id == self.order[0]:
            b.events.append(event)
        if b.genesis is None:
            b.genesis = event
        b.head = event
        b.count += 1

    def _add(
        self, code: str, message: str, batch_id: bytes, event: SignedEvent | None, field_name: str | None = None
    ) -> None:
        self.findings.append(
            Finding(
                code=ErrorCode(code),
                message=message,
                batch_id=batch_id,
                seq=None if event is None else event.seq,
                event_id=None if event is None else event.event_id,
                key_id=None if event is None else event.key_id,
                step=None if event is None else event.step,
                field=field_name,
            )
        )

    def _fork(self, batch_id: bytes, a: SignedEvent, b: SignedEvent, code: str, message: str) -> None:
        self.forks.append(EquivocationProof.of(a, b))
        self._add(code, message, batch_id, b)

    def _check_pinned(self, batch_id: bytes, event: SignedEvent) -> None:
        if self.pinned is None:
            return
        head = self.pinned.heads.get(batch_id)
        if head is None or head.seq != event.seq or head.event_id == event.event_id:
            return
        if head.event is not None:
            self._fork(
                batch_id, parse_unverified_event(head.event), event, "E_PINNED_FORK", "the pinned head differs: a fork"
            )
        else:
            self._add("E_PINNED_FORK", "the event at the pinned seq is not the one seen before", batch_id, event)

    def finish(self) -> None:
        if self.pinned is not None:
            for batch_id, head in sorted(self.pinned.heads.items()):
                b = self.batches.get(batch_id)
                if b is not None and b.head is not None and b.head.seq < head.seq:
                    self._add(
                        "E_ROLLBACK",
                        f"the bundle ends this batch at seq {b.head.seq}; seq {head.seq} was seen before",
                        batch_id,
                        b.head,
                    )
        if self.policy is not None and self.order:
            root = self.batches[self.order[0]]
            found = self.policy.evaluate(list(zip(root.events, root.who, strict=True)), batch_id=self.order[0])
            self.findings.extend(found)
            rules = {r.step: r for r in self.policy.steps}
            by_seq: dict[int, list[str]] = {}
            for f in found:
                if f.seq is not None:
                    by_seq.setdefault(f.seq, []).append(f.code)
            root.steps = [
                replace(s, rule=rules.get(s.step), findings=(*s.findings, *by_seq.get(s.seq, ()))) for s in root.steps
            ]
        for b in self.batches.values():
            notes = b.corrections.notes
            if notes:
                by_correction = {n.by_seq: n for n in notes}
                b.steps = [
                    replace(s, corrects=by_correction.get(s.seq), corrected_by=b.corrections.of_step(s.seq))
                    for s in b.steps
                ]
        for batch_id, b in self.batches.items():
            codes: dict[int, list[str]] = {}
            for f in self.findings:
                if f.batch_id == batch_id and f.seq is not None and not f.code.startswith("E_POLICY"):
                    codes.setdefault(f.seq, []).append(f.code)
            b.steps = [replace(s, findings=(*codes.get(s.seq, ()), *s.findings)) for s in b.steps]

    def batch_audits(self) -> tuple[BatchAudit, ...]:
        out = []
        for batch_id in self.order:
            b = self.batches[batch_id]
            assert b.genesis is not None
            assert b.head is not None
            g = b.genesis.body
            assert isinstance(g, Genesis)
            out.append(
                BatchAudit(
                    batch_id=batch_id,
                    product=g.product.name,
                    lot=g.product.lot,
                    gtin=g.product.gtin,
                    producer=b.who[0],
                    declared_producer=g.producer.name,
                    count=b.count,
                    head_seq=b.head.seq,
                    head_id=b.head.event_id,
                    head_raw=b.head.raw,
                    depth=self.depth.get(batch_id, 0),
                    steps=tuple(b.steps),
                    inputs=tuple(b.inputs),
                    consumed_by=tuple(self.consumed_by.get(batch_id, ())),
                    dispatches=tuple(b.dispatches),
                )
            )
        return tuple(out)


@dataclass(frozen=True, slots=True)
class _Settings:
    policy: VerifiedPolicy | None
    pinned: PinnedState | None
    root: Subject
    max_depth: int
    max_batches: int


def _run(
    source: Source,
    options: VerifyOptions[VerifiedTrustList],
    settings: _Settings,
    seen: dict[tuple[bytes, int], SignedEvent] | None,
) -> AuditReport:
    trust, now = options.keys, options.now
    if not isinstance(trust, VerifiedTrustList):
        raise TypeError("an audit needs VerifyOptions whose keys are a VerifiedTrustList (from verify_trust_list)")
    if not isinstance(now, datetime):
        raise TypeError("an audit needs a clock: VerifyOptions(now=...) cannot be NO_CLOCK")
    if settings.policy is not None and not isinstance(settings.policy, VerifiedPolicy):
        raise TypeError("the policy must be a VerifiedPolicy (from verify_policy)")
    auditor = _Auditor(
        trust,
        settings.policy,
        settings.pinned,
        max_depth=settings.max_depth,
        max_batches=settings.max_batches,
        seen=seen,
    )
    failure: ProvenanceError | None = None
    header: BundleHeader | None = None
    try:
        # Key windows and status are judged here, per event, and reported as findings (not failures): the ring
        # handed to the bundle verifier checks signatures only.
        summary = verify_bundle(
            source,
            options.with_keys(options.ring.without_windows()),
            root=settings.root,
            on_event=auditor.on_event,
        )
        header = summary.header
    except ProvenanceError as e:
        failure = e
    if isinstance(failure, ChainError) and failure.code == "E_FORK":
        proof = getattr(failure, "proof", None)
        if isinstance(proof, EquivocationProof):
            auditor.forks.append(proof)
    batches: tuple[BatchAudit, ...] = ()
    if failure is None:
        auditor.finish()
        batches = auditor.batch_audits()
    root = header.root if header is not None else (auditor.order[0] if auditor.order else None)
    findings = tuple(auditor.findings)
    return AuditReport(
        ok=failure is None and not findings,
        root=root,
        trust=trust,
        policy=settings.policy,
        now=now,
        batches=batches,
        findings=findings,
        failure=failure,
        forks=tuple(auditor.forks),
    )


def audit_bundle(
    source: Source,
    options: VerifyOptions[VerifiedTrustList],
    *,
    root: Subject,
    policy: VerifiedPolicy | None = None,
    pinned: PinnedState | None = None,
    max_depth: int = DEFAULT_MAX_LINEAGE_DEPTH,
    max_batches: int = DEFAULT_MAX_LINEAGE_BATCHES,
) -> AuditReport:
    """Audit a bundle: signatures, chains and lineage, then keys, roles, claims, policy and pinned state.

    The policy applies to the root batch (upstream batches are other kinds of product). Memory grows with the
    number of events (each becomes a line of the report).

    Args:
        source: A bundle path or binary file.
        options: Verification settings whose ``keys`` are the trust list verified with
            :func:`~ocop_provenance.verify_trust_list` and whose ``now`` is the auditor's clock.
        root: The batch the auditor expects the bundle to be about (another batch fails with ``E_BATCH``), or
            :data:`~ocop_provenance.ANY_BATCH`.
        policy: The policy for the root batch's kind of product, verified with :func:`verify_policy`, if any.
        pinned: What the auditor saw before, if anything.
        max_depth: Deepest lineage accepted (``E_LINEAGE_DEPTH``).
        max_batches: Most batches accepted (``E_LINEAGE_SIZE``).

    Returns:
        The report; ``report.ok`` is True only if nothing failed and nothing was found. Finding codes:
        ``E_UNKNOWN_KEY``, ``E_KEY_NOT_YET_VALID``, ``E_KEY_EXPIRED``, ``E_KEY_RETIRED``, ``E_KEY_REVOKED``,
        ``E_CLAIM_MISMATCH``, ``E_GTIN_NOT_OWNED``, ``E_CORRECTION_SIGNER`` (a correction not signed by the
        corrected step's participant: listed, not applied), ``E_POLICY_*``, ``E_PINNED_FORK``, ``E_ROLLBACK``.
        Failures carry the codes of :func:`~ocop_provenance.verify_bundle` and ``E_LINEAGE_CYCLE``,
        ``E_LINEAGE_DEPTH``, ``E_LINEAGE_SIZE``.

    Raises:
        TypeError: ``options.keys`` is not a verified trust list, ``options.now`` is ``NO_CLOCK``, or ``policy``
            is not a verified policy.
    """
    return _run(source, options, _Settings(policy, pinned, root, max_depth, max_batches), None)


def require_trusted_bundle(
    source: Source,
    options: VerifyOptions[VerifiedTrustList],
    *,
    root: Subject,
    policy: VerifiedPolicy | None = None,
    pinned: PinnedState | None = None,
    max_depth: int = DEFAULT_MAX_LINEAGE_DEPTH,
    max_batches: int = DEFAULT_MAX_LINEAGE_BATCHES,
) -> AuditReport:
    """Fail-closed :func:`audit_bundle`: return the report only if it is clean.

    Raises:
        AuditError: The audit failed or found something; its code is the first failure's or finding's code and
            ``report`` holds everything.
        TypeError: As :func:`audit_bundle`.
    """
    report = _run(source, options, _Settings(policy, pinned, root, max_depth, max_batches), None)
    if report.ok:
        return report
    if report.failure is not None:
        f = report.failure
        raise AuditError(
            f"the bundle did not verify: {f.message}",
            report=report,
            code=f.code,
            position=f.position,
            batch_id=f.batch_id,
            seq=f.seq,
            event_id=f.event_id,
            key_id=f.key_id,
            field=f.field,
        )
    first = report.findings[0]
    raise AuditError(
        f"{len(report.findings)} finding(s), the first: {first.message}",
        report=report,
        code=first.code,
        batch_id=first.batch_id,
        seq=first.seq,
        event_id=first.event_id,
        key_id=first.key_id,
        field=first.field or first.rule,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossCheck:
    """Several bundles audited together (:func:`audit_bundles`).

    Attributes:
        reports: One report per bundle, in the order given.
        forks: Every fork found, within or across bundles.
    """

    reports: tuple[AuditReport, ...]
    forks: tuple[EquivocationProof, ...]

    @property
    def ok(self) -> bool:
        """True when every report is clean (a fork across bundles is a finding in the later bundle's report)."""
        return all(r.ok for r in self.reports)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "ok": self.ok,
            "forks": [base64.b64encode(p.to_bytes()).decode("ascii") for p in self.forks],
            "reports": [r.to_dict() for r in self.reports],
        }


def audit_bundles(
    sources: Iterable[Source],
    options: VerifyOptions[VerifiedTrustList],
    *,
    root: Subject,
    policy: VerifiedPolicy | None = None,
    pinned: PinnedState | None = None,
    max_depth: int = DEFAULT_MAX_LINEAGE_DEPTH,
    max_batches: int = DEFAULT_MAX_LINEAGE_BATCHES,
) -> CrossCheck:
    """Audit several bundles and find forks across them (two different events at one batch and seq).

    Every bundle is compared with ``pinned`` (if given); a fork between two bundles is reported as ``E_FORK`` in
    the later bundle's report, with a portable proof. Memory holds every event of every bundle. Takes the arguments
    of :func:`audit_bundle`; ``root``, unless ``ANY_BATCH``, is expected of every bundle.

    Raises:
        TypeError: As :func:`audit_bundle`.
    """
    seen: dict[tuple[bytes, int], SignedEvent] = {}
    settings = _Settings(policy, pinned, root, max_depth, max_batches)
    reports = tuple(_run(s, options, settings, seen) for s in sources)
    forks: list[EquivocationProof] = []
    for r in reports:
        forks.extend(p for p in r.forks if p not in forks)
    return CrossCheck(reports=reports, forks=tuple(forks))
