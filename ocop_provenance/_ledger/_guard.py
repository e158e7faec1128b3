"""The rollback guard: the ledger never loses, and never signs over, a head it has handed out.

A head that left the ledger (in an exported bundle, a seal, a publication) is evidence held by others. If the
ledger later lost it, by deleted rows or a restored old copy, signing a different event at that seq would make two
valid histories: a fork, evidence against an honest producer. So every head is written to the head journal
(:mod:`._journal`, outside the database) before it is handed out, and the journal is checked against the database:

1. on open: every batch's latest journaled head must be in the ledger at its seq with its event id
   (``E_LEDGER_ROLLBACK``; with ``allow_rollback=True`` the ledger opens and lists them as missing instead);
2. before signing (``add_step``, ``add_steps``): the next seq must be above the batch's journaled head
   (``E_HEAD_HANDED_OUT``), which the ledger must still hold (``E_LEDGER_ROLLBACK``);
3. before a write transaction commits: a batch that received events at or below its journaled head (``append``,
   ``append_many``, ``import_bundle`` restoring it) must hold that head again, or nothing is stored
   (``E_LEDGER_ROLLBACK``).

Each costs a dictionary lookup per event at most; the journal file is read again (a ``stat``) once per write
transaction, and written once per hand-out of a head not journaled yet. See docs/adr/0015-head-journal.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from .._chain import ChainHead
from .._errors import TamperError
from ._db import Connection, Database, not_found, sql
from ._journal import JOURNAL_SUFFIX, HeadJournal, JournaledHead, Purpose
from ._read import Reader

__all__ = ["JournalStatus", "RollbackGuard"]

_HANDOUT_PURPOSES = ("export", "seal", "publish")
_EVENT_AT = "SELECT event_id FROM events WHERE batch_id = ? AND seq = ?"


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalStatus:
    """The head journal of an open ledger (:meth:`Ledger.journal_status`).

    Attributes:
        path: The journal file (the ledger's path + ``.heads``).
        records: Records it holds.
        started: This ``Ledger.open`` created the journal.
        adopted: Heads the journal was started with because the ledger already held batches (0 for a new ledger).
            Non-zero means the journal was missing: a first open by a version that keeps one, or a journal that
            was deleted, which cannot be told apart.
        missing: Journaled heads the ledger no longer holds, one per batch (empty unless opened with
            ``allow_rollback=True``); importing a bundle that holds them restores them.
    """

    path: Path
    records: int
    started: bool
    adopted: int
    missing: tuple[JournaledHead, ...]


def _rollback(head: JournaledHead, why: str) -> TamperError:
    return TamperError(
        f"the ledger no longer holds seq {head.seq} of batch {head.batch_id.hex()[:16]}, which was handed out "
        f"({head.purpose}, head journal record {head.number}): {why}",
        code="E_LEDGER_ROLLBACK",
        batch_id=head.batch_id,
        seq=head.seq,
        event_id=head.event_id,
        field="batch",
    )


class RollbackGuard:
    """Keeps the head journal, and the ledger in agreement with it.

    Attributes:
        journal: The head journal.
    """

    def __init__(self, db: Database, reader: Reader) -> None:
        """Guard ``db``, whose journal is the ledger's path + ``.heads``."""
        self._db = db
        self._reader = reader
        self.journal = HeadJournal(Path(f"{db.path}{JOURNAL_SUFFIX}"))
        self._started = False
        self._adopted = 0
        self._missing: dict[bytes, JournaledHead] = {}
        # State of the current write transaction, reset when it ends.
        self._fresh = False
        self._checked: set[bytes] = set()
        self._touched: set[bytes] = set()
        self._restored: set[bytes] = set()
        db.before_commit.append(self._before_commit)
        db.after_end.append(self._end)

    # ---- opening ---------------------------------------------------------------------------------------------

    def open(self, *, allow_rollback: bool) -> None:
        """Load (or start) the journal and check that the ledger holds every journaled head.

        Raises:
            TamperError: A journaled head is missing or replaced (``E_LEDGER_ROLLBACK``, unless
                ``allow_rollback``), or the journal is broken (``E_JOURNAL_BROKEN``).
            StoreError: The journal cannot be read or created.
        """
        conn = self._db.connection()
        if self.journal.exists():
            self.journal.load()
        else:
            with sql("reading batch heads"):
                heads = [
                    (bytes(b), s, bytes(conn.execute(_EVENT_AT, (b, s)).fetchone()[0]))
                    for b, s in conn.execute("SELECT batch_id, max(seq) FROM events GROUP BY batch_id").fetchall()
                ]
            self._started = self.journal.create(heads)
            self._adopted = len(heads) if self._started else 0
        # The journal is read before the database: a head is journaled only after its event was committed.
        with sql("checking the head journal"):
            missing = [h for h in self.journal.latest.values() if not self._holds(conn, h)]
        if missing and not allow_rollback:
            raise _rollback(
                missing[0], "its events were deleted or an older copy of the ledger was restored; see docs/store.md"
            )
        self._missing = {h.batch_id: h for h in missing}

    def status(self) -> JournalStatus:
        """Return the journal's state (records appended by other processes included)."""
        self.journal.refresh()
        return JournalStatus(
            path=self.journal.path,
            records=self.journal.records,
            started=self._started,
            adopted=self._adopted,
            missing=tuple(sorted(self._missing.values(), key=lambda h: h.number)),
        )

    # ---- checks on writes ------------------------------------------------------------------------------------

    def check_signing(self, conn: Connection, batch_id: bytes, seq: int) -> None:
        """Refuse to sign ``seq`` of a batch unless it is above the batch's journaled head, which must be held.

        Raises:
            TamperError: ``E_HEAD_HANDED_OUT``, ``E_LEDGER_ROLLBACK``.
        """
        self._refresh_once()
        head = self.journal.latest.get(batch_id)
        if head is None or batch_id in self._checked:
            return
        if head.seq >= seq:
            raise TamperError(
                f"refusing to sign seq {seq} of batch {batch_id.hex()[:16]}: seq {head.seq} was handed out "
                f"({head.purpose}, head journal record {head.number}) and the ledger no longer holds it; another "
                "event there would fork the batch (restore the missing events from a bundle: docs/store.md)",
                code="E_HEAD_HANDED_OUT",
                batch_id=batch_id,
                seq=seq,
                event_id=head.event_id,
                field="batch",
            )
        if not self._holds(conn, head):
            raise _rollback(head, "another event stands at that seq")
        self._checked.add(batch_id)

    def note_insert(self, batch_id: bytes, seq: int) -> None:
        """Note an event stored at ``seq``: at or below the journaled head, the head must be held at commit."""
        self._refresh_once()
        head = self.journal.latest.get(batch_id)
        if head is not None and seq <= head.seq:
            self._touched.add(batch_id)

    def _before_commit(self, conn: Connection) -> None:
        for batch_id in self._touched:
            head = self.journal.latest[batch_id]
            if not self._holds(conn, head):
                raise _rollback(head, "events may be stored below it only to restore it, in one transaction")
            self._restored.add(batch_id)

    def _end(self, committed: bool) -> None:
        if committed:
            for batch_id in self._restored:
                self._missing.pop(batch_id, None)
        self._fresh = False
        self._checked.clear()
        self._touched.clear()
        self._restored.clear()

    def _refresh_once(self) -> None:
        if not self._fresh:
            self.journal.refresh()
            self._fresh = self._db.in_txn

    # ---- handing out -----------------------------------------------------------------------------------------

    def hand_out(self, conn: Connection, heads: Iterable[ChainHead], purpose: Purpose) -> None:
        """Journal (and fsync) heads read from the ledger before they leave it.

        Raises:
            TamperError: The journal names another event at one of these seqs (``E_LEDGER_ROLLBACK``), or is broken.
            StoreError: The journal cannot be written.
        """
        self.journal.refresh()
        wanted = []
        for head in heads:
            held = self.journal.latest.get(head.batch_id)
            if held is not None and held.seq == head.seq and held.event_id != head.event_id:
                raise _rollback(held, "the ledger holds another event at that seq")
            wanted.append((head.batch_id, head.seq, head.event_id))
        self.journal.append(wanted, purpose)

    def record_handout(self, batch_id: bytes, *, purpose: str, seq: int | None) -> ChainHead:
        """Journal a batch's head (or its event at ``seq``), verified, in one read snapshot; return it."""
        if purpose not in _HANDOUT_PURPOSES:
            raise ValueError(f"purpose must be one of {', '.join(_HANDOUT_PURPOSES)}, not {purpose!r}")
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or seq < 0):
            raise ValueError("seq must be a non-negative integer or None")
        nested = "cannot record a hand-out inside a bulk block (it could still be rolled back)"
        with self._db.snapshot("a hand-out", nested=nested) as conn:
            with sql("reading a batch head"):
                head = self._reader.head_of(conn, batch_id)
                if head is None:
                    raise not_found(batch_id)
                if seq is not None and seq != head.seq:
                    row = conn.execute(
                        "SELECT batch_id, seq, event_id, key_id, raw FROM events WHERE batch_id = ? AND seq = ?",
                        (batch_id, seq),
                    ).fetchone()
                    if row is None:
                        raise not_found(batch_id, field="seq")
                    event = self._reader.verified_row(conn, row)
                    head = ChainHead(batch_id=batch_id, seq=event.seq, event_id=event.event_id, time=event.time)
            self.hand_out(conn, [head], cast("Purpose", purpose))
        return head

    @staticmethod
    def _holds(conn: Connection, head: JournaledHead) -> bool:
        row = conn.execute(_EVENT_AT, (head.batch_id, head.seq)).fetchone()
        return row is not None and bytes(row[0]) == head.event_id
