"""Reading the ledger: heads, batches, id prefixes, and verified event streams.

What it reads, it verifies: each row is parsed again from its stored bytes, its id recomputed and compared with
the indexed columns, its signature checked against the stored key and, in a stream, its link to the previous
event checked by a :class:`ChainVerifier`. A row edited behind the ledger's back raises :class:`TamperError` and
is never served (docs/adr/0011-store-verifies-what-it-reads.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from .._chain import ChainHead
from .._errors import FormatError, NotFoundError, ProvenanceError
from .._model import Genesis, Step
from .._verify import NO_CLOCK, ChainVerifier, VerifyOptions
from .._wire import SignedEvent, parse_unverified_event
from ._db import Connection, Database, not_found, sql, tampered
from ._keyring import KeyStore

__all__ = ["BatchInfo", "Reader"]

_MIN_PREFIX = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchInfo:
    """A batch as the ledger holds it (read from its verified genesis and head events).

    Attributes:
        batch_id: The batch id (its genesis event id).
        product: The product name from the genesis event.
        lot: The lot code.
        gtin: The GTIN-14, if the genesis names one.
        count: Number of events (genesis included).
        head_seq: The head's seq.
        head_id: The head's event id.
        opened: Claimed time of the genesis event.
        updated: Claimed time of the head event.
    """

    batch_id: bytes
    product: str
    lot: str
    gtin: str | None
    count: int
    head_seq: int
    head_id: bytes
    opened: datetime
    updated: datetime


class Reader:
    """Verified reads: what ``head``, ``resolve``, ``batches``, ``events`` and ``verify_stored`` do."""

    def __init__(self, db: Database, keys: KeyStore, *, time_tolerance: timedelta) -> None:
        """Read ``db``, checking signatures against ``keys`` and links with ``time_tolerance``."""
        self._db = db
        self._keys = keys
        self._tolerance = time_tolerance

    # ---- heads -----------------------------------------------------------------------------------------------

    def verified_row(self, conn: Connection, row: tuple[bytes, int, bytes, bytes, bytes]) -> SignedEvent:
        """Parse one stored ``(batch_id, seq, event_id, key_id, raw)`` row; check its columns and signature."""
        batch_id, seq, event_id, key_id, raw = row
        try:
            event = parse_unverified_event(bytes(raw))
        except ProvenanceError as e:
            raise tampered("stored bytes no longer parse", seq=seq, event_id=event_id) from e
        if event.event_id != event_id or event.batch_id != batch_id or event.seq != seq or event.key_id != key_id:
            raise tampered("stored bytes do not match their indexed columns", seq=seq, event_id=event_id)
        key = self._keys.key(conn, key_id)
        if key is None or not key._valid(event.signature, event.to_be_signed):
            raise tampered("stored signature does not verify", seq=seq, event_id=event_id)
        return event

    def head_of(self, conn: Connection, batch_id: bytes) -> ChainHead | None:
        """Return a batch's head, verified (cached for the rest of a write transaction), or None."""
        cached = self._db.heads.get(batch_id)
        if cached is not None:
            return cached
        row = conn.execute(
            "SELECT batch_id, seq, event_id, key_id, raw FROM events WHERE batch_id = ? ORDER BY seq DESC LIMIT 1",
            (batch_id,),
        ).fetchone()
        if row is None:
            return None
        event = self.verified_row(conn, row)
        head = ChainHead(batch_id=batch_id, seq=event.seq, event_id=event.event_id, time=event.time)
        if self._db.in_txn:
            self._db.heads[batch_id] = head
        return head

    def head(self, batch_id: bytes) -> ChainHead:
        """Return a batch's head, verified; :class:`NotFoundError` if there is no such batch."""
        with sql("reading a batch head"):
            head = self.head_of(self._db.connection(), batch_id)
        if head is None:
            raise not_found(batch_id)
        return head

    def resolve(self, text: str) -> bytes:
        """Return the batch id that a full hex id or a unique prefix of at least 6 hex digits names."""
        t = text.strip().lower()
        if not t or len(t) > 64 or any(c not in "0123456789abcdef" for c in t):
            raise FormatError(f"{text!r} is not a hex batch id", code="E_FIELD", field="batch")
        if len(t) < _MIN_PREFIX:
            raise FormatError(
                f"a batch id prefix needs at least {_MIN_PREFIX} hex digits", code="E_FIELD", field="batch"
            )
        low = bytes.fromhex((t + "0" * 64)[:64])
        high = bytes.fromhex((t + "f" * 64)[:64])
        with sql("resolving a batch id"):
            rows = (
                self._db.connection()
                .execute(
                    "SELECT event_id FROM events WHERE event_id BETWEEN ? AND ? AND seq = 0 LIMIT 2",
                    (low, high),
                )
                .fetchall()
            )
        if not rows:
            raise NotFoundError(f"no batch id starts with {t}", code="E_NOT_FOUND", field="batch")
        if len(rows) > 1:
            raise FormatError(f"{t} names more than one batch: give more digits", code="E_AMBIGUOUS", field="batch")
        return bytes(rows[0][0])

    def batches(self) -> list[BatchInfo]:
        """Return every batch, oldest first, from its verified genesis and head rows."""
        out = []
        with sql("listing batches"):
            conn = self._db.connection()
            rows = conn.execute(
                "SELECT g.batch_id, g.seq, g.event_id, g.key_id, g.raw, "
                "h.batch_id, h.seq, h.event_id, h.key_id, h.raw FROM events AS g "
                "JOIN events AS h ON h.batch_id = g.batch_id "
                "AND h.seq = (SELECT max(seq) FROM events WHERE batch_id = g.batch_id) "
                "WHERE g.seq = 0 ORDER BY g.n"
            ).fetchall()
            for row in rows:
                genesis = self.verified_row(conn, row[:5])
                head = self.verified_row(conn, row[5:])
                body = genesis.body
                assert isinstance(body, Genesis)
                out.append(
                    BatchInfo(
                        batch_id=genesis.event_id,
                        product=body.product.name,
                        lot=body.product.lot,
                        gtin=body.product.gtin,
                        count=head.seq + 1,
                        head_seq=head.seq,
                        head_id=head.event_id,
                        opened=genesis.time,
                        updated=head.time,
                    )
                )
        return out

    # ---- events ----------------------------------------------------------------------------------------------

    def events(self, batch_id: bytes) -> Iterator[SignedEvent]:
        """Return a lazy, verified stream of a batch's events; :class:`NotFoundError` at once if there is none."""
        with sql("reading events"):
            found = (
                self._db.connection()
                .execute("SELECT 1 FROM events WHERE batch_id = ? AND seq = 0", (batch_id,))
                .fetchone()
            )
        if found is None:
            raise not_found(batch_id)
        return self.stream(batch_id)

    def stream(
        self, batch_id: bytes, *, on_event: Callable[[SignedEvent], None] | None = None
    ) -> Iterator[SignedEvent]:
        """Yield a batch's events in seq order, each verified (and passed to ``on_event``) before it is served."""
        conn = self._db.connection()
        ring = self._keys.ring()
        # The ledger's own events: their times are judged when they are exported and verified, not here.
        options = VerifyOptions(keys=ring, now=NO_CLOCK, time_tolerance=self._tolerance)
        verifier = ChainVerifier(options, batch=batch_id)
        with sql("reading events"):
            cursor = conn.execute(
                "SELECT batch_id, seq, event_id, key_id, prev, raw FROM events WHERE batch_id = ? ORDER BY seq",
                (batch_id,),
            )
        try:
            while True:
                with sql("reading events"):
                    rows = cursor.fetchmany(256)
                if not rows:
                    break
                for row_batch, seq, event_id, key_id, prev, raw in rows:
                    try:
                        event = verifier.feed(bytes(raw))
                    except ProvenanceError as e:
                        raise tampered(
                            f"stored event does not verify ({e.code}: {e.message})", seq=seq, event_id=event_id
                        ) from e
                    if (
                        event.event_id != event_id
                        or event.batch_id != row_batch
                        or event.seq != seq
                        or event.key_id != key_id
                        or event.prev != (None if prev is None else bytes(prev))
                    ):
                        raise tampered("stored bytes do not match their indexed columns", seq=seq, event_id=event_id)
                    if on_event is not None:
                        on_event(event)
                    yield event
        finally:
            cursor.close()

    def verify_stored(self, batch_id: bytes | None = None) -> int:
        """Verify one or every stored chain in full, and every input link; return the number of events."""
        if batch_id is None:
            with sql("listing batches"):
                ids = [
                    bytes(r[0])
                    for r in self._db.connection().execute("SELECT event_id FROM events WHERE seq = 0 ORDER BY n")
                ]
        else:
            ids = [batch_id]
        total = 0
        conn = self._db.connection()
        for b in ids:
            for event in self.events(b):
                total += 1
                if isinstance(event.body, Step):
                    for ref in event.body.inputs:
                        with sql("reading inputs"):
                            row = conn.execute(
                                "SELECT event_id FROM events WHERE batch_id = ? AND seq = ?", (ref.batch_id, ref.seq)
                            ).fetchone()
                        if row is None or row[0] != ref.head:
                            raise tampered(
                                f"an input names event seq {ref.seq} of batch {ref.batch_id.hex()[:16]}, "
                                "which the ledger does not hold",
                                seq=event.seq,
                                event_id=event.event_id,
                            )
        return total
