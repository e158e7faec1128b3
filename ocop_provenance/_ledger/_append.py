"""Appending to the ledger: the rules every stored event obeys, and signing one event at a time.

Every write runs in one ``BEGIN IMMEDIATE`` transaction (or the open bulk block's): the head is read, the new
event checked and inserted, and the transaction committed under one write lock, so two writers cannot both extend
the same head. The rules: the signer's key is known and its signature verifies, the event is a genesis or extends
the head (seq, prev, time within the tolerance), and every input names a stored event without making lineage loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from .._chain import ChainHead, link_problem
from .._corrections import target_problem
from .._errors import (
    ChainError,
    ConflictError,
    ForkError,
    NotFoundError,
    ProvenanceError,
    SignatureError,
    UntrustedKeyError,
)
from .._fields import event_time_text
from .._keys import PrivateKey, Signer
from .._model import CORRECTION_STEP, Attachment, Correction, DataValue, Genesis, InputRef, Location, Step
from .._verify import EquivocationProof
from .._wire import SignedEvent, parse_unverified_event, sign_event
from ._db import INSERT_EVENT, INSERT_INPUT, Connection, Database, not_found, tampered
from ._guard import RollbackGuard
from ._keyring import KeyStore
from ._lineage import upstream
from ._read import Reader

__all__ = ["Appender"]


class Appender:
    """The append rules, and ``append``, ``append_many``, ``open_batch`` and ``add_step``.

    Attributes:
        tolerance: How far a step may claim to be earlier than its predecessor.
    """

    def __init__(
        self, db: Database, keys: KeyStore, reader: Reader, guard: RollbackGuard, *, time_tolerance: timedelta
    ) -> None:
        """Write to ``db``; read keys and heads through ``keys`` and ``reader``; keep to what ``guard`` allows."""
        self._db = db
        self._keys = keys
        self._reader = reader
        self._guard = guard
        self.tolerance = time_tolerance

    # ---- pre-signed events -----------------------------------------------------------------------------------

    def append(self, event: SignedEvent) -> None:
        """Store one pre-signed event in its own transaction (or the open bulk block's)."""
        with self._db.write("appending an event") as conn:
            self.append_one(conn, _reparse(event), index=None, import_mode=False)

    def append_many(self, events: Iterable[SignedEvent]) -> int:
        """Store many pre-signed events in one transaction; return how many were new."""
        stored = 0
        with self._db.write("appending events") as conn:
            for index, event in enumerate(events):
                stored += self.append_one(conn, _reparse(event, index), index=index, import_mode=False)
        return stored

    def append_one(
        self,
        conn: Connection,
        event: SignedEvent,
        *,
        index: int | None,
        import_mode: bool,
        deferred: list[SignedEvent] | None = None,
        verified: bool = False,
    ) -> int:
        """Check one event against the rules and store it, inside the current write transaction.

        Args:
            conn: The connection, in a write transaction.
            event: The event (parsed from its own ``raw``).
            index: Its position in the caller's input, for errors.
            import_mode: Another event at its seq is a fork (:class:`ForkError` with the proof), not a conflict.
            deferred: When given, steps with inputs are added to it and their inputs left for the caller to check
                (a bundle carries inputs after their consumers).
            verified: Its signature was just verified against the key the ledger holds under its key id (a key id
                is the key's thumbprint), so it is not verified again.

        Returns:
            1 if stored, 0 if the ledger already held it.
        """
        where: dict[str, Any] = {
            "position": index,
            "batch_id": event.batch_id,
            "seq": event.seq,
            "event_id": event.event_id,
            "key_id": event.key_id,
        }
        key = self._keys.key(conn, event.key_id)
        if key is None:
            raise UntrustedKeyError("the signer's key is not in the ledger: add it first", **where)
        if not verified and not key._valid(event.signature, event.to_be_signed):
            raise SignatureError("signature does not verify", **where)
        existing = conn.execute(
            "SELECT event_id FROM events WHERE batch_id = ? AND seq = ?", (event.batch_id, event.seq)
        ).fetchone()
        if existing is not None and existing[0] == event.event_id:
            return 0
        if event.is_genesis:
            self.insert(conn, event, None)
            return 1
        head = self._reader.head_of(conn, event.batch_id)
        if head is None:
            raise NotFoundError("the event's batch is not in the ledger", code="E_NOT_FOUND", **where)
        if event.seq <= head.seq:
            rival = conn.execute(
                "SELECT raw FROM events WHERE batch_id = ? AND seq = ?", (event.batch_id, event.seq)
            ).fetchone()
            if import_mode and rival is not None:
                other = parse_unverified_event(bytes(rival[0]))
                raise ForkError(
                    f"the ledger holds another signed event at seq {event.seq}",
                    proof=EquivocationProof.of(other, event),
                    **where,
                )
            raise ConflictError(
                f"seq {event.seq} is already taken (the head is at seq {head.seq}): re-read the head and retry",
                code="E_CONFLICT",
                **where,
            )
        self.check_extends(head, event.body, where)
        self.check_correction(conn, event.body, where)
        self.insert(conn, event, head, deferred=deferred, where=where)
        return 1

    # ---- the rules -------------------------------------------------------------------------------------------

    def check_extends(self, head: ChainHead, body: Genesis | Step, where: Mapping[str, Any]) -> None:
        """Check that a step extends ``head`` with the one chain-link rule (:func:`~.._chain.link_problem`)."""
        assert isinstance(body, Step)
        link = ChainHead(batch_id=body.batch_id, seq=body.seq, event_id=b"", time=body.time, prev=body.prev)
        code = link_problem(head, link, batch_id=head.batch_id, tolerance=self.tolerance)
        if code == "E_SEQ":
            raise ChainError(f"seq {body.seq} does not follow the head's seq {head.seq}", code="E_SEQ", **where)
        if code == "E_LINK":
            raise ChainError("prev is not the head's event id", code="E_LINK", **where)
        if code == "E_TIME":
            raise ChainError(
                f"time {body.time.isoformat()} is earlier than the head's {head.time.isoformat()} "
                f"(tolerance {self.tolerance})",
                code="E_TIME",
                **where,
            )
        if code is not None:
            raise ChainError(f"the event does not extend the head ({code})", code=code, **where)

    def check_correction(self, conn: Connection, body: Genesis | Step, where: Mapping[str, Any]) -> None:
        """Check that a correction names the stored, non-correction event at its seq (docs/format.md §19)."""
        if not isinstance(body, Step) or body.corrects is None:
            return
        c = body.corrects
        row = conn.execute(
            "SELECT event_id, step FROM events WHERE batch_id = ? AND seq = ?", (body.batch_id, c.seq)
        ).fetchone()
        problem = target_problem(c, None if row is None else (bytes(row[0]), row[1] == CORRECTION_STEP))
        if problem is not None:
            raise ChainError(problem, code="E_CORRECTION_TARGET", field="corrects", **where)

    def check_inputs(self, conn: Connection, body: Step, where: Mapping[str, Any]) -> None:
        """Check that every input names the event the ledger holds at that seq, and that lineage does not loop."""
        for ref in body.inputs:
            row = conn.execute(
                "SELECT event_id FROM events WHERE batch_id = ? AND seq = ?", (ref.batch_id, ref.seq)
            ).fetchone()
            if row is None:
                raise NotFoundError(
                    f"input batch {ref.batch_id.hex()[:16]} seq {ref.seq} is not in the ledger",
                    code="E_NOT_FOUND",
                    field="inputs",
                    **where,
                )
            if row[0] != ref.head:
                raise ChainError(
                    f"input batch {ref.batch_id.hex()[:16]} has another event at seq {ref.seq}",
                    code="E_INPUT_HEAD",
                    field="inputs",
                    **where,
                )
            if body.batch_id in upstream(conn, ref.batch_id):
                raise ChainError(
                    f"batch {ref.batch_id.hex()[:16]} already consumes this batch: lineage would loop",
                    code="E_LINEAGE_CYCLE",
                    field="inputs",
                    **where,
                )

    def input_ref(self, conn: Connection, input_id: bytes) -> InputRef:
        """Pin an input batch to its current head."""
        input_head = self._reader.head_of(conn, input_id)
        if input_head is None:
            raise not_found(input_id, field="inputs")
        return input_head.as_input()

    def insert(
        self,
        conn: Connection,
        event: SignedEvent,
        head: ChainHead | None,
        *,
        deferred: list[SignedEvent] | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> None:
        """Insert a checked event (checking its inputs, or deferring them) and its input rows."""
        body = event.body
        self._guard.note_insert(event.batch_id, event.seq)
        if isinstance(body, Step) and body.inputs and deferred is not None:
            deferred.append(event)  # a bundle carries inputs after their consumers: checked at the end
        elif isinstance(body, Step) and body.inputs:
            if where is None:
                where = {"event_id": event.event_id.hex(), "key_id": event.key_id.hex()}
            self.check_inputs(conn, body, where)
        conn.execute(
            INSERT_EVENT,
            (
                event.batch_id,
                event.seq,
                event.event_id,
                event.prev,
                event.key_id,
                event_time_text(body.time),
                event.step,
                event.raw,
            ),
        )
        if isinstance(body, Step) and body.inputs:
            conn.executemany(
                INSERT_INPUT,
                [(body.batch_id, body.seq, r.batch_id, r.seq, r.head) for r in body.inputs],
            )
        if self._db.in_txn:
            self._db.heads[event.batch_id] = ChainHead(
                batch_id=event.batch_id, seq=event.seq, event_id=event.event_id, time=body.time
            )

    # ---- signing one event -----------------------------------------------------------------------------------

    def open_batch(self, genesis: Genesis, signer: Signer) -> SignedEvent:
        """Sign a genesis event and store it; an identical genesis already stored is returned as stored."""
        with self._db.write("opening a batch") as conn:
            self._keys.add(conn, signer.public_key)
            event = sign_event(genesis, signer)
            _check_own_signature(event, signer)
            row = conn.execute("SELECT raw FROM events WHERE event_id = ? AND seq = 0", (event.event_id,)).fetchone()
            if row is None:
                self.insert(conn, event, None)
            else:
                # The same batch (the event id covers every signed byte but the signature): hand back the stored
                # event, whose signature a non-deterministic signer would not reproduce.
                stored = parse_unverified_event(bytes(row[0]))
                if stored.event_id != event.event_id:
                    raise tampered("the stored genesis does not match its id", seq=0, event_id=event.event_id)
                event = stored
        return event

    def add_step(
        self,
        batch_id: bytes,
        signer: Signer,
        *,
        step: str,
        time: datetime,
        location: Location,
        inputs: Iterable[bytes],
        attachments: Iterable[Attachment],
        data: Mapping[str, DataValue] | None,
    ) -> SignedEvent:
        """Read the head, sign the next step and store it, in one transaction."""
        with self._db.write("adding a step") as conn:
            head = self._reader.head_of(conn, batch_id)
            if head is None:
                raise not_found(batch_id)
            self._guard.check_signing(conn, batch_id, head.seq + 1)
            refs = [self.input_ref(conn, input_id) for input_id in inputs]
            self._keys.add(conn, signer.public_key)
            body = Step(
                batch_id=batch_id,
                seq=head.seq + 1,
                prev=head.event_id,
                time=time,
                step=step,
                location=location,
                inputs=tuple(refs),
                attachments=tuple(attachments),
                data=data or {},
            )
            self.check_extends(head, body, {"field": "time"})
            event = sign_event(body, signer)
            _check_own_signature(event, signer)
            self.insert(conn, event, head)
        return event

    def correct_step(
        self,
        batch_id: bytes,
        signer: Signer,
        *,
        seq: int,
        reason: str,
        time: datetime,
        location: Location,
        data: Mapping[str, DataValue] | None,
        attachments: Iterable[Attachment],
    ) -> SignedEvent:
        """Read the head and the step at ``seq``, sign a correction of that step and store it, in one transaction."""
        with self._db.write("correcting a step") as conn:
            head = self._reader.head_of(conn, batch_id)
            if head is None:
                raise not_found(batch_id)
            row = conn.execute("SELECT event_id FROM events WHERE batch_id = ? AND seq = ?", (batch_id, seq)).fetchone()
            if row is None:
                raise NotFoundError(
                    f"the batch has no step #{seq}", code="E_NOT_FOUND", batch_id=batch_id, field="corrects.seq"
                )
            self._guard.check_signing(conn, batch_id, head.seq + 1)
            self._keys.add(conn, signer.public_key)
            body = Step(
                batch_id=batch_id,
                seq=head.seq + 1,
                prev=head.event_id,
                time=time,
                step=CORRECTION_STEP,
                location=location,
                attachments=tuple(attachments),
                corrects=Correction(seq=seq, event_id=bytes(row[0]), reason=reason, data=data),
            )
            where = {"batch_id": batch_id, "seq": body.seq}
            self.check_extends(head, body, {**where, "field": "time"})
            self.check_correction(conn, body, where)
            event = sign_event(body, signer)
            _check_own_signature(event, signer)
            self.insert(conn, event, head)
        return event


def _reparse(event: SignedEvent, index: int | None = None) -> SignedEvent:
    """Parse the event's own bytes again: what is checked and stored is exactly ``raw``."""
    if not isinstance(event, SignedEvent):
        raise TypeError("expected a SignedEvent")
    try:
        return parse_unverified_event(event.raw)
    except ProvenanceError as e:
        raise e.locate(position=index) from None


def _check_own_signature(event: SignedEvent, signer: Signer) -> None:
    # A PrivateKey is this library's own Ed25519 implementation; any other Signer (a token, a KMS) is checked.
    if type(signer) is PrivateKey:
        return
    if not signer.public_key._valid(event.signature, event.to_be_signed):
        raise SignatureError("the signer returned a signature that does not verify", code="E_SIGNER")
