"""Export and import: the offline bundle of a batch's lineage, and the bundles of others brought in.

Export reads in one snapshot and verifies every row it writes (as every read does). Import reads the bundle once:
:func:`verify_bundle` hands each event over as soon as it is checked, and it is stored at once, in one write
transaction that is rolled back if anything fails later (a later event, the header's claims, an input); a
different validly signed event where the ledger holds one is a fork (:class:`ForkError`, with its proof).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .._bundle import BundleBatch, BundleHeader, BundleSummary, verify_bundle, write_bundle
from .._model import Step
from .._verify import ANY_BATCH, KeySource, VerifyOptions
from .._wire import SignedEvent
from ._append import Appender
from ._db import Database, not_found, sql, tampered
from ._guard import RollbackGuard
from ._keyring import KeyStore
from ._lineage import lineage
from ._read import Reader

__all__ = ["Exchange", "ImportResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult:
    """What :meth:`Ledger.import_bundle` verified and stored.

    Attributes:
        stored: Events newly stored (events the ledger already held are skipped).
        summary: The verified bundle: its header, one summary per batch and its lineage links (what
            :func:`~ocop_provenance.verify_bundle` returns), so a caller can report it without verifying again.
    """

    stored: int
    summary: BundleSummary

    @property
    def total(self) -> int:
        """Events the bundle holds (``stored`` of them were new)."""
        return sum(chain.count for chain in self.summary.chains)


class Exchange:
    """What ``export_bundle``, ``export_cose_sequence`` and ``import_bundle`` do."""

    def __init__(self, db: Database, keys: KeyStore, reader: Reader, appender: Appender, guard: RollbackGuard) -> None:
        """Read through ``reader``; store imported events with ``appender``'s rules; journal exports in ``guard``."""
        self._db = db
        self._keys = keys
        self._reader = reader
        self._appender = appender
        self._guard = guard

    def export_bundle(
        self, batch_id: bytes, out: BinaryIO, *, progress: Callable[[int, int], None] | None
    ) -> BundleHeader:
        """Write the bundle of a batch and its lineage, verified, from one read snapshot."""
        with self._db.snapshot("an export", nested="cannot export inside a bulk block") as conn:
            order = lineage(conn, batch_id)
            batches = []
            heads = []
            key_ids: set[bytes] = set()
            with sql("reading batch heads"):
                for b in order:
                    head = self._reader.head_of(conn, b)  # verified: a head that does not verify is not journaled
                    assert head is not None  # lineage lists stored batches
                    heads.append(head)
                    batches.append(BundleBatch(batch_id=b, count=head.seq + 1, head=head.event_id))
                    key_ids.update(
                        bytes(r[0]) for r in conn.execute("SELECT DISTINCT key_id FROM events WHERE batch_id = ?", (b,))
                    )
            keys = []
            for kid in sorted(key_ids):
                key = self._keys.key(conn, kid)
                if key is None:
                    raise tampered("an event names a key the ledger does not hold")
                keys.append(key)
            header = BundleHeader(root=batch_id, batches=tuple(batches), keys=tuple(keys))
            # Journaled (and synced) before the first byte is written: a crash never hands out an unjournaled head.
            self._guard.hand_out(conn, heads, "export")
            members = set(order)

            def check_inputs(event: SignedEvent) -> None:
                if isinstance(event.body, Step):
                    for ref in event.body.inputs:
                        if ref.batch_id not in members:
                            raise tampered(
                                "an input batch is missing from the lineage index",
                                seq=event.seq,
                                event_id=event.event_id,
                            )

            def raws() -> Iterator[bytes]:
                for b in order:
                    for event in self._reader.stream(b, on_event=check_inputs):
                        yield event.raw

            write_bundle(out, header, raws(), progress=progress)
        return header

    def export_cose_sequence(self, batch_id: bytes, out: BinaryIO) -> int:
        """Write a batch's verified events as a CBOR sequence, from one read snapshot; return how many."""
        with self._db.snapshot("an export", nested="cannot export inside a bulk block") as conn:
            with sql("reading a batch head"):
                head = self._reader.head_of(conn, batch_id)
            if head is None:
                raise not_found(batch_id)
            self._guard.hand_out(conn, [head], "export")
            n = 0
            for event in self._reader.stream(batch_id):
                out.write(event.raw)
                n += 1
        return n

    def import_bundle(
        self,
        source: BinaryIO | str | os.PathLike[str],
        options: VerifyOptions[KeySource],
        *,
        progress: Callable[[int, int], None] | None,
    ) -> ImportResult:
        """Verify a bundle and store it in one pass and one transaction (see :meth:`Ledger.import_bundle`)."""
        appender, store_key = self._appender, self._keys.add
        deferred: list[SignedEvent] = []
        with self._db.write("importing a bundle") as conn:
            added_keys: set[bytes] = set()
            stored = 0
            index = 0

            def store(_batch: int, event: SignedEvent) -> None:
                # Called by verify_bundle once the event's signature, links and upstream head are checked.
                nonlocal stored, index
                if event.key_id not in added_keys:
                    for key in options.ring.candidates(event.key_id):
                        store_key(conn, key)
                    added_keys.add(event.key_id)
                stored += appender.append_one(
                    conn, event, index=index, import_mode=True, deferred=deferred, verified=True
                )
                index += 1

            summary = verify_bundle(source, options, root=ANY_BATCH, progress=progress, on_event=store)
            for event in deferred:
                assert isinstance(event.body, Step)
                where = {"event_id": event.event_id.hex(), "key_id": event.key_id.hex()}
                appender.check_inputs(conn, event.body, where)
        return ImportResult(stored=stored, summary=summary)
