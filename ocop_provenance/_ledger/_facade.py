"""The producer's ledger: an append-only SQLite store of signed events (docs/store.md).

:class:`Ledger` is a facade: each of its calls is done by one room of this package, all sharing one
:class:`~._db.Database` (the connection and its transaction state):

* ``_db``: opening, pragmas, schema, transactions, sqlite3's errors (the only module that imports sqlite3);
* ``_keyring``: the public keys; ``_read``: heads, batches, verified event streams, ``verify_stored``;
* ``_append``: the append rules, ``append``, ``append_many``, ``open_batch``, ``add_step``;
* ``_bulk``: ``add_steps`` and its two signing pipelines; ``_lineage``: bundle order and the loop check;
* ``_exchange``: ``export_bundle``, ``export_cose_sequence``, ``import_bundle``.

What it guarantees:

* **No fork can be stored.** ``UNIQUE(batch_id, seq)`` plus a trigger that refuses any step whose ``prev`` is not
  the stored event at ``seq - 1``; the head is read and the next event appended in one ``BEGIN IMMEDIATE``
  transaction, so two writers cannot both extend the same head.
* **Append-only.** Triggers abort every ``UPDATE`` and ``DELETE`` of events and inputs, and any change of a key.
* **Durable by default.** WAL with ``synchronous=FULL``: once :meth:`Ledger.append` returns, the event survives a
  killed process and a power cut. Pragmas are set on every connection (they do not persist).
* **What it reads, it verifies.** Event ids are recomputed from the stored COSE bytes and compared with the
  indexed columns; signatures and links are checked again. A row edited behind the store's back raises
  :class:`~ocop_provenance.TamperError` and is never served.
* **sqlite3 never leaks.** Every :mod:`sqlite3` error is wrapped once in the :class:`StoreError` family.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from .._bundle import BundleHeader
from .._chain import ChainHead
from .._errors import StoreError
from .._keys import PublicKey, Signer
from .._model import Attachment, DataValue, Genesis, Location
from .._verify import DEFAULT_TIME_TOLERANCE, KeyRing, KeySource, VerifyOptions
from .._wire import SignedEvent
from ._append import Appender
from ._bulk import BulkSigner, NewStep
from ._db import Connection, Database
from ._exchange import Exchange, ImportResult
from ._guard import JournalStatus, RollbackGuard
from ._keyring import KeyStore
from ._lineage import lineage
from ._read import BatchInfo, Reader

__all__ = ["Ledger"]


class Ledger:
    """A local, append-only ledger of signed events in one SQLite file.

    Open with :meth:`open`; use as a context manager or call :meth:`close`. One ``Ledger`` object belongs to one
    thread; any number of processes may open the same file (writers take turns; see docs/store.md).

    Every write is one transaction: the head is read, the new event checked and stored, and the transaction
    committed before the call returns. Inside :meth:`bulk`, writes share one transaction committed at the end.
    """

    def __init__(self, conn: Connection, path: Path, *, durable: bool, time_tolerance: timedelta) -> None:
        """Wrap an open connection (use :meth:`open`)."""
        self._db = Database(conn, path)
        self._durable = durable
        self._keys = KeyStore(self._db)
        self._reader = Reader(self._db, self._keys, time_tolerance=time_tolerance)
        self._guard = RollbackGuard(self._db, self._reader)
        self._appender = Appender(self._db, self._keys, self._reader, self._guard, time_tolerance=time_tolerance)
        self._bulk = BulkSigner(self._db, self._keys, self._reader, self._appender, self._guard)
        self._exchange = Exchange(self._db, self._keys, self._reader, self._appender, self._guard)

    # ---- opening and closing ---------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        durable: bool = True,
        timeout: float = 5.0,
        time_tolerance: timedelta = DEFAULT_TIME_TOLERANCE,
        allow_rollback: bool = False,
    ) -> Ledger:
        """Open the ledger at ``path``, creating the file and its directory if absent.

        The head journal beside it (``path`` + ``.heads``: every head that was exported, sealed or published) is
        read and checked: the ledger must still hold each journaled head. A missing journal is started, holding
        the current head of every batch (:meth:`journal_status` says so).

        Args:
            path: The ledger file.
            durable: ``synchronous=FULL`` (every commit reaches the disk) when True; ``NORMAL`` when False
                (survives a killed process, may lose the last commits on power loss).
            timeout: Seconds to wait for another process's write lock before :class:`ConflictError` ``E_BUSY``.
            time_tolerance: How far a step may claim to be earlier than its predecessor (as the verifier).
            allow_rollback: Open even if the ledger lacks heads it handed out (deleted events, an old copy
                restored), to read it and restore them by importing a bundle that holds them; signing at or below
                a missing head stays refused (``E_HEAD_HANDED_OUT``), and :meth:`journal_status` lists them.

        Returns:
            The open ledger.

        Raises:
            TamperError: The ledger lacks a head it handed out, or holds another event at its seq
                (``E_LEDGER_ROLLBACK``, naming the seq and event id; see ``allow_rollback``), or the head journal
                is malformed or its hash chain broken (``E_JOURNAL_BROKEN``).
            StoreError: The directory cannot be created or written (``E_CANT_OPEN``, ``E_READ_ONLY``), the file is
                not a ledger (``E_NOT_LEDGER``), is corrupt (``E_CORRUPT``) or was made by a newer version
                (``E_VERSION``); the head journal cannot be read or written (``E_IO``, ``E_READ_ONLY``).
            ConflictError: Another process held the lock for longer than ``timeout`` (``E_BUSY``).
        """
        p = Path(path)
        conn = Database.connect(p, timeout=timeout)
        ledger = cls(conn, p, durable=durable, time_tolerance=time_tolerance)
        try:
            ledger._db.setup(timeout=timeout, durable=ledger._durable)
            ledger._guard.open(allow_rollback=allow_rollback)
        except BaseException:
            conn.close()
            raise
        return ledger

    @property
    def path(self) -> Path:
        """The ledger file."""
        return self._db.path

    def close(self) -> None:
        """Close the ledger (idempotent). An unfinished :meth:`bulk` is rolled back."""
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- transactions ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def bulk(self) -> Iterator[Ledger]:
        """Group many writes into one transaction (bulk mode): all of them are stored, or none.

        Inside the block, :meth:`append`, :meth:`append_many`, :meth:`open_batch`, :meth:`add_step` and
        :meth:`add_key` join the one transaction, committed (with one sync) when the block ends. If the block
        raises, nothing it wrote is stored. The write lock is held for the whole block.

        Yields:
            This ledger.

        Raises:
            StoreError: As for the writes; ``E_NESTED`` if a bulk block is already open.
        """
        if self._db.in_txn:
            raise StoreError("a bulk block is already open on this ledger", code="E_NESTED")
        with self._db.write("bulk write"):
            yield self

    # ---- keys ------------------------------------------------------------------------------------------------

    def add_key(self, key: PublicKey, *, label: str | None = None) -> None:
        """Record a public key (idempotent); events signed by it can then be appended.

        Args:
            key: The public key.
            label: A name for people (kept; a later call with another label replaces it).

        Raises:
            TypeError: ``key`` is not a :class:`PublicKey`.
            StoreError: The ledger cannot be written.
        """
        self._keys.add_key(key, label=label)

    def key_ring(self) -> KeyRing:
        """Return every public key the ledger knows.

        Raises:
            TamperError: A stored key does not match its id.
        """
        return self._keys.ring()

    def key_labels(self) -> dict[bytes, str | None]:
        """Return each known key id with its label."""
        return self._keys.labels()

    # ---- reading -------------------------------------------------------------------------------------------------

    def head(self, batch_id: bytes) -> ChainHead:
        """Return the current head of a batch (its last event, verified).

        Args:
            batch_id: The batch.

        Returns:
            The head: what :meth:`add_step` or :func:`~ocop_provenance.append_step` extends.

        Raises:
            NotFoundError: No such batch (``E_NOT_FOUND``).
            TamperError: The head row was changed outside the library.
        """
        return self._reader.head(batch_id)

    def resolve(self, text: str) -> bytes:
        """Return the batch id that ``text`` names: a full hex id or a unique prefix of at least 6 hex digits.

        Args:
            text: What a person typed (case and surrounding spaces are ignored).

        Returns:
            The 32-byte batch id.

        Raises:
            FormatError: Not hex, or too short (``E_FIELD``); a prefix that matches several batches
                (``E_AMBIGUOUS``).
            NotFoundError: No batch matches (``E_NOT_FOUND``).
        """
        return self._reader.resolve(text)

    def batches(self) -> list[BatchInfo]:
        """Return every batch, oldest first (genesis and head of each are verified).

        Raises:
            TamperError: A genesis or head row was changed outside the library.
        """
        return self._reader.batches()

    # ---- appending ---------------------------------------------------------------------------------------------

    def append(self, event: SignedEvent) -> None:
        """Store an event that extends the current head of its batch (or opens a new batch).

        Checks, in one transaction: the signer's key is known, the signature verifies, the event is a genesis or
        extends the head (seq and prev) within the time tolerance, and every input names a stored event.
        Appending an event that is already stored does nothing.

        Args:
            event: A signed event (its ``raw`` bytes are what is stored and checked).

        Raises:
            UntrustedKeyError: The signer's key is not in the ledger (``E_UNKNOWN_KEY``); add it with
                :meth:`add_key`.
            SignatureError: The signature does not verify.
            ConflictError: Another event was stored at that seq first (``E_CONFLICT``): read the head, re-sign,
                retry. ``E_BUSY`` if another process held the lock too long.
            ChainError: The event skips a seq (``E_SEQ``), does not link to the head (``E_LINK``), goes back in
                time (``E_TIME``), or would make a batch its own input (``E_LINEAGE_CYCLE``).
            NotFoundError: Its batch or an input batch is not in the ledger (``E_NOT_FOUND``).
        """
        self._appender.append(event)

    def append_many(self, events: Iterable[SignedEvent]) -> int:
        """Store many events in one transaction (bulk mode): all of them, or none.

        Args:
            events: Signed events in an order where each extends what precedes it.

        Returns:
            The number of events newly stored (events already present are skipped).

        Raises:
            As for :meth:`append`; the error's ``position`` is the event's 0-based place in ``events``.
        """
        return self._appender.append_many(events)

    # ---- signing and appending -------------------------------------------------------------------------------

    def open_batch(self, genesis: Genesis, signer: Signer) -> SignedEvent:
        """Sign a genesis event and store it: a new batch whose id is the returned event's id.

        The signer's public key is added to the ledger. Opening an identical genesis again (the same content, signed
        by the same key) is idempotent: the batch id is the event id, which covers every signed byte, so it names
        the batch already stored; that stored event is returned and nothing is written (a retry after a crash is
        safe). A genesis that differs in any field, its time included, opens another batch: give each real lot its
        own lot code.

        Args:
            genesis: What the batch is.
            signer: The producer's key.

        Returns:
            The stored genesis event.

        Raises:
            FormatError: The event would be too large.
            SignatureError: The signer returned an invalid signature (``E_SIGNER``).
            StoreError: The ledger cannot be written.
        """
        return self._appender.open_batch(genesis, signer)

    def add_step(
        self,
        batch_id: bytes,
        signer: Signer,
        *,
        step: str,
        time: datetime,
        location: Location,
        inputs: Iterable[bytes] = (),
        attachments: Iterable[Attachment] = (),
        data: Mapping[str, DataValue] | None = None,
    ) -> SignedEvent:
        """Sign the next step of a batch and store it, in one transaction (no other writer can interleave).

        Args:
            batch_id: The batch.
            signer: The key of whoever performed the step (its public key is added to the ledger).
            step: GS1 CBV 2.0 business step or namespaced custom step.
            time: When it happened (timezone-aware).
            location: Where it happened.
            inputs: Ids of batches consumed; each is pinned to that batch's current head.
            attachments: Files by hash.
            data: Key data elements.

        Returns:
            The stored event.

        Raises:
            NotFoundError: The batch or an input batch is not in the ledger (``E_NOT_FOUND``).
            FormatError: A field is invalid (``E_FIELD``, with the field) or the event is too large.
            ChainError: ``time`` is earlier than the head's beyond the tolerance (``E_TIME``), or an input would
                make the lineage loop (``E_LINEAGE_CYCLE``).
            StoreError: The ledger cannot be written (``E_BUSY`` if another process held the lock too long).
        """
        return self._appender.add_step(
            batch_id, signer, step=step, time=time, location=location, inputs=inputs, attachments=attachments, data=data
        )

    def correct_step(
        self,
        batch_id: bytes,
        signer: Signer,
        *,
        seq: int,
        reason: str,
        time: datetime,
        location: Location,
        data: Mapping[str, DataValue] | None = None,
        attachments: Iterable[Attachment] = (),
    ) -> SignedEvent:
        """Sign a correction of the step at ``seq`` as the batch's next step, and store it (docs/format.md §19).

        The erroneous step stays in the chain; the correction names it by seq and event id, says why, and gives the
        corrected key data elements, or none to withdraw the step. It is in force only when signed by the corrected
        step's signer (the same trust-list participant); the latest such correction of a step holds.

        Args:
            batch_id: The batch.
            signer: The key of whoever corrects (its public key is added to the ledger).
            seq: The erroneous step's seq (not 0: a genesis cannot be corrected; not a correction itself).
            reason: Why, in plain words.
            time: When the correction is made (timezone-aware).
            location: Where it is made.
            data: The corrected key data elements, replacing or adding to the step's own; None (or empty) withdraws
                the step: it did not happen as recorded.
            attachments: Supporting files, by hash (a re-issued certificate).

        Returns:
            The stored correction.

        Raises:
            NotFoundError: The batch, or a step at ``seq``, is not in the ledger (``E_NOT_FOUND``).
            ChainError: The step at ``seq`` is itself a correction (``E_CORRECTION_TARGET``), or ``time`` is earlier
                than the head's beyond the tolerance (``E_TIME``).
            FormatError: A field is invalid, ``seq`` is 0 (a genesis cannot be corrected) or more than 4096 steps back
                (``E_FIELD``).
            StoreError: The ledger cannot be written.
        """
        return self._appender.correct_step(
            batch_id,
            signer,
            seq=seq,
            reason=reason,
            time=time,
            location=location,
            data=data,
            attachments=attachments,
        )

    def add_steps(
        self,
        batch_id: bytes,
        signer: Signer,
        steps: Iterable[NewStep],
        *,
        chunk: int = 512,
        workers: int | str | None = None,
    ) -> ChainHead:
        """Sign and store many steps of one batch in one transaction (bulk mode): all of them, or none.

        The fast way to record a long run of steps: rows are written ``chunk`` at a time and committed (with one
        sync) at the end; memory is bounded by ``chunk`` (and the read-ahead below), not by the number of steps.
        Signatures made by a :class:`PrivateKey` are trusted as made; any other signer's are checked.

        With ``workers``, a :class:`PrivateKey`'s signatures are made by signing processes while this process
        builds, encodes and stores the steps (docs/adr/0014-parallel-bulk-signing.md): the key's seed is sent to
        each signing process, which holds it until the call returns. The events, the stored chain and every
        error are those of the sequential path (Ed25519 is deterministic).

        Args:
            batch_id: The batch.
            signer: The key of whoever performed the steps (its public key is added to the ledger).
            steps: The steps, in chain order.
            chunk: Rows written per round (and messages per chunk sent to a signing process).
            workers: Processes to use: None or 1 (the default) signs in this process, so the library never
                starts processes unless asked; ``"auto"`` or 0 uses every CPU this process may run on (this
                process and one signing process per other CPU, at least one); ``n`` uses this process and
                ``n - 1`` signing processes. Runs of at most ``chunk`` steps (with ``"auto"``, fewer than
                32,768 steps, read ahead to decide) and signers that are not a :class:`PrivateKey` (a token, a
                KMS) are signed in this process.

        Returns:
            The batch's new head.

        Raises:
            As for :meth:`add_step`; a :class:`FormatError` or :class:`ChainError` carries the step's 0-based place in
            ``steps`` as ``position``. ``SignatureError`` ``E_SIGNER`` if a signing process fails. ``ValueError``
            if ``chunk`` is below 1 or ``workers`` is not an accepted value; ``TypeError`` for an item of
            ``steps`` that is not a :class:`NewStep`.
        """
        return self._bulk.add_steps(batch_id, signer, steps, chunk=chunk, workers=workers)

    # ---- reading events and lineage --------------------------------------------------------------------------

    def events(self, batch_id: bytes) -> Iterator[SignedEvent]:
        """Stream a batch's events in seq order, verifying each as it is read.

        Each stored row is parsed again, its id recomputed and compared with the indexed columns, its signature
        checked against the stored key and its link to the previous event checked. The iterator is lazy: memory
        does not grow with the chain.

        Args:
            batch_id: The batch.

        Returns:
            An iterator of verified events, genesis first.

        Raises:
            NotFoundError: No such batch (raised at once, before iterating).
            TamperError: While iterating, a row that does not verify (``E_TAMPERED``, naming its seq and id).
        """
        return self._reader.events(batch_id)

    def verify_stored(self, batch_id: bytes | None = None) -> int:
        """Verify stored chains in full: every event of one batch, or of every batch, and every input link.

        Args:
            batch_id: One batch, or None for all.

        Returns:
            The number of events checked.

        Raises:
            NotFoundError: No such batch.
            TamperError: The first row that does not verify, or an input that names no stored event.
        """
        return self._reader.verify_stored(batch_id)

    def lineage(self, batch_id: bytes) -> list[bytes]:
        """Return the batch, then every upstream batch, each once, consumers before their inputs.

        This is the order a bundle carries them in: breadth-first from the root, except that a batch comes after
        every batch in the list that consumes it.

        Args:
            batch_id: The root batch.

        Returns:
            Batch ids, the root first.

        Raises:
            NotFoundError: No such batch.
        """
        return lineage(self._db.connection(), batch_id)

    # ---- hand-outs: the head journal --------------------------------------------------------------------------

    def record_handout(self, batch_id: bytes, *, purpose: str = "seal", seq: int | None = None) -> ChainHead:
        """Journal a head that is about to leave the ledger in a seal or a publication (exports journal themselves).

        Call it before the seal or the publication leaves (it returns once the record is synced to disk): from then
        on the ledger refuses to sign another event at or below that seq, and refuses to open if it loses that
        event. A head is journaled once; a later call for it, or for an earlier seq, writes nothing.

        Args:
            batch_id: The batch.
            purpose: ``"seal"`` (a QR seal or label sheet), ``"publish"`` (a public log) or ``"export"``.
            seq: The seq of the event handed out; None for the batch's current head.

        Returns:
            The journaled head (verified): hand out exactly this one.

        Raises:
            NotFoundError: No such batch, or no event at ``seq`` (``E_NOT_FOUND``).
            TamperError: The head's row does not verify (``E_TAMPERED``), or the journal names another event at
                that seq (``E_LEDGER_ROLLBACK``) or is broken (``E_JOURNAL_BROKEN``).
            StoreError: The journal cannot be written (``E_IO``, ``E_DISK_FULL``, ``E_READ_ONLY``); inside a bulk
                block (``E_NESTED``: what it holds could still be rolled back).
            ValueError: Another ``purpose``, or ``seq`` not a non-negative integer.
        """
        return self._guard.record_handout(batch_id, purpose=purpose, seq=seq)

    def journal_status(self) -> JournalStatus:
        """Return the state of the head journal: its file, how many records, and whether this open started it.

        Raises:
            TamperError: The journal is broken (``E_JOURNAL_BROKEN``).
            StoreError: It cannot be read.
        """
        return self._guard.status()

    # ---- export and import -----------------------------------------------------------------------------------

    def export_bundle(
        self,
        batch_id: bytes,
        out: BinaryIO,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> BundleHeader:
        """Write the offline bundle of a batch and its whole lineage, streaming (memory does not grow).

        Everything written is verified as it is read from the ledger, in one read snapshot (concurrent appends
        are not seen). The head of every batch in the bundle is written to the head journal (and synced) before
        the first byte of the bundle (see :meth:`record_handout`).

        Args:
            batch_id: The root batch.
            out: A binary file opened for writing.
            progress: Called with (events written, total) as it goes.

        Returns:
            The bundle header written.

        Raises:
            NotFoundError: No such batch.
            TamperError: A stored row does not verify; the bundle written so far is incomplete. The journal names
                another event at a head's seq (``E_LEDGER_ROLLBACK``) or is broken (``E_JOURNAL_BROKEN``).
            StoreError: Inside a bulk block (``E_NESTED``); the journal cannot be written (``E_IO``, …).
        """
        return self._exchange.export_bundle(batch_id, out, progress=progress)

    def export_cose_sequence(self, batch_id: bytes, out: BinaryIO) -> int:
        """Write a batch's events, verified, as an RFC 8742 CBOR sequence of tagged COSE_Sign1, in chain order.

        Read in one snapshot; the head is written to the head journal (and synced) before the first byte.

        Args:
            batch_id: The batch.
            out: A binary file opened for writing.

        Returns:
            The number of events written.

        Raises:
            NotFoundError: No such batch.
            TamperError: A stored row does not verify; the journal is broken or names another event at the head's
                seq (``E_JOURNAL_BROKEN``, ``E_LEDGER_ROLLBACK``).
            StoreError: Inside a bulk block (``E_NESTED``); the journal cannot be written.
        """
        return self._exchange.export_cose_sequence(batch_id, out)

    def import_bundle(
        self,
        source: BinaryIO | str | os.PathLike[str],
        options: VerifyOptions[KeySource],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportResult:
        """Verify a bundle against the trusted keys and store its events (idempotent: events already held are skipped).

        One pass: the bundle is read once, as :func:`~ocop_provenance.verify_bundle` reads it, and each event is
        stored as soon as it has been checked (signature, chain links, upstream head), then checked against what
        the ledger holds, all in one write transaction. If anything fails, a later event, the header's claims or
        an input, the transaction is rolled back: nothing is stored and nothing stored is changed. Inputs are
        checked at the end (a bundle carries inputs after their consumers). The trusted keys that signed the
        events are added to the ledger. The write lock is held while the bundle is verified.

        Args:
            source: A path or a binary file, read once from its current position (a pipe is fine: nothing is
                spooled).
            options: Keys trusted to have signed the bundle's events (a verified trust list enforces each key's
                window), the clock, and processes that check signatures, as for
                :func:`~ocop_provenance.verify_bundle`; this process still stores every event.
            progress: Called with (events verified, total) as it goes.

        Returns:
            What was stored (``stored``) and the verified bundle (``summary``): what ``verify_bundle`` returns, so
            the caller need not verify it again to report it.

        Raises:
            FormatError: A malformed bundle (``E_IO`` if the path cannot be read).
            VerificationError: The bundle does not verify (see :func:`~ocop_provenance.verify_bundle`).
            ForkError: The bundle holds another signed event where the ledger already has one (``E_FORK``).
            ChainError: An event does not extend what the ledger holds (``E_SEQ``, ``E_LINK``, ``E_TIME``), or
                an input names an event the ledger does not hold (``E_INPUT_HEAD``).
            NotFoundError: An input batch is neither in the bundle nor in the ledger (``E_NOT_FOUND``).
            StoreError: The ledger cannot be written.
        """
        return self._exchange.import_bundle(source, options, progress=progress)
