"""The producer's ledger: an append-only SQLite store of signed events (docs/store.md).

This is the only module that touches the database. What it guarantees:

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
import hashlib
import itertools
import os
import sqlite3
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from . import _fields
from ._bundle import BundleBatch, BundleHeader, BundleReader, verify_bundle, write_bundle
from ._chain import ChainHead, in_time_order, link_problem
from ._cose import protected_header, unsigned_sign1
from ._errors import (
    ChainError,
    ConflictError,
    ForkError,
    FormatError,
    KeyFormatError,
    NotFoundError,
    ProvenanceError,
    SignatureError,
    StoreError,
    TamperError,
    UntrustedKeyError,
)
from ._keys import PrivateKey, PublicKey, Signer
from ._model import Attachment, DataValue, Genesis, InputRef, Location, Step
from ._parallel import SigningPool, min_parallel_events, resolve_workers
from ._verify import (
    ANY_BATCH,
    DEFAULT_TIME_TOLERANCE,
    NO_CLOCK,
    ChainSummary,
    ChainVerifier,
    EquivocationProof,
    KeyRing,
    KeySource,
    VerifyOptions,
)
from ._wire import EVENT_TYP, SignedEvent, encode_signable, parse_unverified_event, sign_event

__all__ = ["SCHEMA_VERSION", "BatchInfo", "Ledger", "NewStep"]

#: Version of the database schema, kept in ``PRAGMA user_version``.
SCHEMA_VERSION = 1
#: ``PRAGMA application_id`` of an ocop ledger: ASCII "OCOP".
APPLICATION_ID = 0x4F434F50
_MIN_PREFIX = 6

_SCHEMA = """
CREATE TABLE keys (
    key_id BLOB PRIMARY KEY CHECK (length(key_id) = 32),
    raw    BLOB NOT NULL UNIQUE CHECK (length(raw) = 32),
    label  TEXT
) STRICT;
CREATE TABLE events (
    n        INTEGER PRIMARY KEY,
    batch_id BLOB NOT NULL CHECK (length(batch_id) = 32),
    seq      INTEGER NOT NULL CHECK (seq >= 0),
    event_id BLOB NOT NULL CHECK (length(event_id) = 32),
    prev     BLOB CHECK ((seq = 0) = (prev IS NULL)),
    key_id   BLOB NOT NULL REFERENCES keys (key_id),
    time     TEXT NOT NULL,
    step     TEXT NOT NULL,
    raw      BLOB NOT NULL,
    UNIQUE (batch_id, seq),
    CHECK ((seq = 0) = (batch_id = event_id))
) STRICT;
CREATE TABLE inputs (
    batch_id    BLOB NOT NULL,
    seq         INTEGER NOT NULL,
    input_batch BLOB NOT NULL,
    input_seq   INTEGER NOT NULL,
    input_head  BLOB NOT NULL,
    PRIMARY KEY (batch_id, seq, input_batch),
    FOREIGN KEY (batch_id, seq) REFERENCES events (batch_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX inputs_by_input ON inputs (input_batch);
CREATE UNIQUE INDEX genesis_ids ON events (event_id) WHERE seq = 0;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ocop ledger: events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ocop ledger: events are append-only'); END;
CREATE TRIGGER inputs_no_update BEFORE UPDATE ON inputs
BEGIN SELECT RAISE(ABORT, 'ocop ledger: inputs are append-only'); END;
CREATE TRIGGER inputs_no_delete BEFORE DELETE ON inputs
BEGIN SELECT RAISE(ABORT, 'ocop ledger: inputs are append-only'); END;
CREATE TRIGGER keys_no_rekey BEFORE UPDATE OF key_id, raw ON keys
BEGIN SELECT RAISE(ABORT, 'ocop ledger: keys are append-only'); END;
CREATE TRIGGER keys_no_delete BEFORE DELETE ON keys
BEGIN SELECT RAISE(ABORT, 'ocop ledger: keys are append-only'); END;
"""
_SCHEMA_STATEMENTS = tuple(s.strip() for s in _SCHEMA.split(";\n") if s.strip())
_TABLES = frozenset({"keys", "events", "inputs"})

_INSERT_EVENT = (
    "INSERT INTO events (batch_id, seq, event_id, prev, key_id, time, step, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_INPUT = "INSERT INTO inputs (batch_id, seq, input_batch, input_seq, input_head) VALUES (?, ?, ?, ?, ?)"


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


@dataclass(frozen=True, slots=True, kw_only=True)
class NewStep:
    """One step for :meth:`Ledger.add_steps`: the arguments of :meth:`Ledger.add_step`, as a value.

    Attributes:
        step: GS1 CBV 2.0 business step or namespaced custom step.
        time: When it happened (timezone-aware).
        location: Where it happened.
        inputs: Ids of batches consumed; each is pinned to that batch's current head.
        attachments: Files by hash.
        data: Key data elements.
    """

    step: str
    time: datetime
    location: Location
    inputs: tuple[bytes, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    data: Mapping[str, DataValue] | None = None


# ---- sqlite3 error mapping: the one place where sqlite3 errors become library errors -------------------------


def _store_error(e: sqlite3.Error, what: str) -> StoreError:
    name = getattr(e, "sqlite_errorname", "") or ""
    text = str(e)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return ConflictError(f"{what}: the ledger is busy (another process holds the write lock); retry", code="E_BUSY")
    if name.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return StoreError(f"{what}: the ledger file is corrupt ({text})", code="E_CORRUPT")
    if name == "SQLITE_NOTADB" or "not a database" in text:
        return StoreError(f"{what}: the file is not an ocop ledger (not a SQLite database)", code="E_NOT_LEDGER")
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return StoreError(f"{what}: the ledger is read-only ({text})", code="E_READ_ONLY")
    if name.startswith("SQLITE_CANTOPEN"):
        return StoreError(f"{what}: cannot open the ledger file ({text})", code="E_CANT_OPEN")
    if name.startswith("SQLITE_FULL"):
        return StoreError(f"{what}: the disk is full", code="E_DISK_FULL")
    if name.startswith("SQLITE_IOERR"):
        return StoreError(f"{what}: input/output error ({text})", code="E_IO")
    if name.startswith("SQLITE_CONSTRAINT") and "append-only" in text:
        return StoreError(f"{what}: {text}", code="E_APPEND_ONLY")
    if name.startswith("SQLITE_CONSTRAINT") and "UNIQUE" in text:
        return ConflictError(f"{what}: the batch changed while writing ({text}); retry", code="E_CONFLICT")
    return StoreError(f"{what}: {text}", code="E_STORE")


@contextlib.contextmanager
def _sql(what: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as e:
        raise _store_error(e, what) from e


def _tampered(message: str, *, seq: int | None = None, event_id: bytes | None = None) -> TamperError:
    return TamperError(
        f"{message}: the ledger was changed outside this library",
        code="E_TAMPERED",
        seq=seq,
        event_id=event_id,
    )


def _key_from_row(key_id: bytes, raw: bytes) -> PublicKey:
    try:
        key = PublicKey.from_raw(raw)
    except KeyFormatError as e:
        raise TamperError(
            "a stored public key is not a valid Ed25519 key: the ledger was changed outside this library",
            code="E_TAMPERED",
            key_id=bytes(key_id).hex(),
        ) from e
    if key.key_id != key_id:
        raise TamperError(
            "a stored public key does not match its key id: the ledger was changed outside this library",
            code="E_TAMPERED",
            key_id=bytes(key_id).hex(),
        )
    return key


class Ledger:
    """A local, append-only ledger of signed events in one SQLite file.

    Open with :meth:`open`; use as a context manager or call :meth:`close`. One ``Ledger`` object belongs to one
    thread; any number of processes may open the same file (writers take turns; see docs/store.md).

    Every write is one transaction: the head is read, the new event checked and stored, and the transaction
    committed before the call returns. Inside :meth:`bulk`, writes share one transaction committed at the end.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, *, durable: bool, time_tolerance: timedelta) -> None:
        """Wrap an open connection (use :meth:`open`)."""
        self._conn = conn
        self._path = path
        self._durable = durable
        self._tolerance = time_tolerance
        self._in_txn = False
        # Valid only inside the current write transaction (the write lock keeps them true); cleared at its end.
        self._heads: dict[bytes, ChainHead] = {}
        self._keys: dict[bytes, PublicKey] = {}
        self._known_keys: set[bytes] = set()

    # ---- opening and closing ---------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        durable: bool = True,
        timeout: float = 5.0,
        time_tolerance: timedelta = DEFAULT_TIME_TOLERANCE,
    ) -> Ledger:
        """Open the ledger at ``path``, creating the file and its directory if absent.

        Args:
            path: The ledger file.
            durable: ``synchronous=FULL`` (every commit reaches the disk) when True; ``NORMAL`` when False
                (survives a killed process, may lose the last commits on power loss).
            timeout: Seconds to wait for another process's write lock before :class:`ConflictError` ``E_BUSY``.
            time_tolerance: How far a step may claim to be earlier than its predecessor (as the verifier).

        Returns:
            The open ledger.

        Raises:
            StoreError: The directory cannot be created or written (``E_CANT_OPEN``, ``E_READ_ONLY``), the file is
                not a ledger (``E_NOT_LEDGER``), is corrupt (``E_CORRUPT``) or was made by a newer version
                (``E_VERSION``).
            ConflictError: Another process held the lock for longer than ``timeout`` (``E_BUSY``).
        """
        p = Path(path)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the ledger directory {p.parent}: {e.strerror}", code="E_CANT_OPEN") from e
        if p.exists() and not p.is_file():
            raise StoreError(f"{p} is not a file", code="E_CANT_OPEN")
        if not p.exists() and not os.access(p.parent, os.W_OK | os.X_OK):
            raise StoreError(f"cannot create the ledger in {p.parent}: the directory is read-only", code="E_READ_ONLY")
        with _sql(f"opening {p}"):
            conn = sqlite3.connect(p, timeout=timeout, isolation_level=None, check_same_thread=True)
        ledger = cls(conn, p, durable=durable, time_tolerance=time_tolerance)
        try:
            ledger._setup(timeout)
        except BaseException:
            conn.close()
            raise
        return ledger

    def _setup(self, timeout: float) -> None:
        conn = self._conn
        with _sql(f"opening {self._path}"):
            # Pragmas are per connection (journal_mode persists, the others do not): set them every time.
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                raise StoreError(f"{self._path}: cannot switch the ledger to WAL mode", code="E_STORE")
            conn.execute(f"PRAGMA synchronous = {'FULL' if self._durable else 'NORMAL'}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA trusted_schema = OFF")
            conn.execute("PRAGMA cache_size = -32768")
            if self._schema_ok():
                return
            # A new file: create the schema under the write lock (another process may be doing the same).
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._check_schema()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _schema_ok(self) -> bool:
        conn = self._conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        if version == 0 and app == 0:
            return False
        self._check_schema()
        return True

    def _check_schema(self) -> None:
        conn = self._conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        if version == 0 and app == 0 and not tables:
            for statement in _SCHEMA_STATEMENTS:
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return
        if app != APPLICATION_ID or not tables >= _TABLES:
            raise StoreError(f"{self._path} is a SQLite database but not an ocop ledger", code="E_NOT_LEDGER")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self._path} was written by a newer version (schema {version}; this one reads {SCHEMA_VERSION})",
                code="E_VERSION",
            )
        if version != SCHEMA_VERSION:
            raise StoreError(f"{self._path}: unknown ledger schema version {version}", code="E_VERSION")

    @property
    def path(self) -> Path:
        """The ledger file."""
        return self._path

    def close(self) -> None:
        """Close the ledger (idempotent). An unfinished :meth:`bulk` is rolled back."""
        conn, self._conn = self._conn, None  # type: ignore[assignment]
        if conn is not None:
            with _sql("closing the ledger"):
                conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the ledger is closed", code="E_CLOSED")
        return self._conn

    # ---- transactions ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        conn = self._db()
        if self._in_txn:
            with _sql(what):
                yield conn
            return
        with _sql(what):
            conn.execute("BEGIN IMMEDIATE")
        self._in_txn = True
        try:
            with _sql(what):
                yield conn
                conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        finally:
            self._in_txn = False
            self._heads.clear()
            self._known_keys.clear()

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
        if self._in_txn:
            raise StoreError("a bulk block is already open on this ledger", code="E_NESTED")
        with self._write("bulk write"):
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
        if not isinstance(key, PublicKey):
            raise TypeError("add_key takes a PublicKey")
        with self._write("adding a key") as conn:
            self._add_key(conn, key)
            if label is not None:
                conn.execute("UPDATE keys SET label = ? WHERE key_id = ?", (label, key.key_id))

    def _add_key(self, conn: sqlite3.Connection, key: PublicKey) -> None:
        if key.key_id in self._known_keys:
            return
        conn.execute("INSERT OR IGNORE INTO keys (key_id, raw) VALUES (?, ?)", (key.key_id, key.raw))
        stored = self._key(conn, key.key_id)
        if stored != key:  # pragma: no cover - only a SHA-256 collision or tampering gets here
            raise _tampered("another key is stored under this key id")
        self._known_keys.add(key.key_id)

    def _key(self, conn: sqlite3.Connection, key_id: bytes) -> PublicKey | None:
        key = self._keys.get(key_id)
        if key is not None:
            return key
        row = conn.execute("SELECT raw FROM keys WHERE key_id = ?", (key_id,)).fetchone()
        if row is None:
            return None
        key = _key_from_row(key_id, row[0])
        self._keys[key_id] = key
        return key

    def key_ring(self) -> KeyRing:
        """Return every public key the ledger knows.

        Raises:
            TamperError: A stored key does not match its id.
        """
        with _sql("reading keys"):
            rows = self._db().execute("SELECT key_id, raw FROM keys ORDER BY key_id").fetchall()
        return KeyRing.of(_key_from_row(k, r) for k, r in rows)

    def key_labels(self) -> dict[bytes, str | None]:
        """Return each known key id with its label."""
        with _sql("reading keys"):
            rows = self._db().execute("SELECT key_id, label FROM keys ORDER BY key_id").fetchall()
        return {bytes(k): label for k, label in rows}

    # ---- reading heads ---------------------------------------------------------------------------------------

    def _verified_row(self, conn: sqlite3.Connection, row: tuple[bytes, int, bytes, bytes, bytes]) -> SignedEvent:
        """Parse one stored row and check it against its columns and its signature."""
        batch_id, seq, event_id, key_id, raw = row
        try:
            event = parse_unverified_event(bytes(raw))
        except ProvenanceError as e:
            raise _tampered("stored bytes no longer parse", seq=seq, event_id=event_id) from e
        if event.event_id != event_id or event.batch_id != batch_id or event.seq != seq or event.key_id != key_id:
            raise _tampered("stored bytes do not match their indexed columns", seq=seq, event_id=event_id)
        key = self._key(conn, key_id)
        if key is None or not key._valid(event.signature, event.to_be_signed):
            raise _tampered("stored signature does not verify", seq=seq, event_id=event_id)
        return event

    def _head(self, conn: sqlite3.Connection, batch_id: bytes) -> ChainHead | None:
        cached = self._heads.get(batch_id)
        if cached is not None:
            return cached
        row = conn.execute(
            "SELECT batch_id, seq, event_id, key_id, raw FROM events WHERE batch_id = ? ORDER BY seq DESC LIMIT 1",
            (batch_id,),
        ).fetchone()
        if row is None:
            return None
        event = self._verified_row(conn, row)
        head = ChainHead(batch_id=batch_id, seq=event.seq, event_id=event.event_id, time=event.time)
        if self._in_txn:
            self._heads[batch_id] = head
        return head

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
        with _sql("reading a batch head"):
            head = self._head(self._db(), batch_id)
        if head is None:
            raise _not_found(batch_id)
        return head

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
        t = text.strip().lower()
        if not t or len(t) > 64 or any(c not in "0123456789abcdef" for c in t):
            raise FormatError(f"{text!r} is not a hex batch id", code="E_FIELD", field="batch")
        if len(t) < _MIN_PREFIX:
            raise FormatError(
                f"a batch id prefix needs at least {_MIN_PREFIX} hex digits", code="E_FIELD", field="batch"
            )
        low = bytes.fromhex((t + "0" * 64)[:64])
        high = bytes.fromhex((t + "f" * 64)[:64])
        with _sql("resolving a batch id"):
            rows = (
                self._db()
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
        """Return every batch, oldest first (genesis and head of each are verified).

        Raises:
            TamperError: A genesis or head row was changed outside the library.
        """
        out = []
        with _sql("listing batches"):
            conn = self._db()
            rows = conn.execute(
                "SELECT g.batch_id, g.seq, g.event_id, g.key_id, g.raw, "
                "h.batch_id, h.seq, h.event_id, h.key_id, h.raw FROM events AS g "
                "JOIN events AS h ON h.batch_id = g.batch_id "
                "AND h.seq = (SELECT max(seq) FROM events WHERE batch_id = g.batch_id) "
                "WHERE g.seq = 0 ORDER BY g.n"
            ).fetchall()
            for row in rows:
                genesis = self._verified_row(conn, row[:5])
                head = self._verified_row(conn, row[5:])
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

    # ---- appending -------------------------------------------------------------------------------------------

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
        with self._write("appending an event") as conn:
            self._append(conn, _reparse(event), index=None, import_mode=False)

    def append_many(self, events: Iterable[SignedEvent]) -> int:
        """Store many events in one transaction (bulk mode): all of them, or none.

        Args:
            events: Signed events in an order where each extends what precedes it.

        Returns:
            The number of events newly stored (events already present are skipped).

        Raises:
            As for :meth:`append`; the error's ``index`` is the event's position in ``events``.
        """
        stored = 0
        with self._write("appending events") as conn:
            for index, event in enumerate(events):
                stored += self._append(conn, _reparse(event, index), index=index, import_mode=False)
        return stored

    def _append(
        self,
        conn: sqlite3.Connection,
        event: SignedEvent,
        *,
        index: int | None,
        import_mode: bool,
        deferred: list[SignedEvent] | None = None,
    ) -> int:
        where: dict[str, Any] = {
            "position": index,
            "batch_id": event.batch_id,
            "seq": event.seq,
            "event_id": event.event_id,
            "key_id": event.key_id,
        }
        key = self._key(conn, event.key_id)
        if key is None:
            raise UntrustedKeyError("the signer's key is not in the ledger: add it first", **where)
        if not key._valid(event.signature, event.to_be_signed):
            raise SignatureError("signature does not verify", **where)
        existing = conn.execute(
            "SELECT event_id FROM events WHERE batch_id = ? AND seq = ?", (event.batch_id, event.seq)
        ).fetchone()
        if existing is not None and existing[0] == event.event_id:
            return 0
        if event.is_genesis:
            self._insert(conn, event, None)
            return 1
        head = self._head(conn, event.batch_id)
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
        self._check_extends(head, event.body, where)
        self._insert(conn, event, head, deferred=deferred, where=where)
        return 1

    def _check_extends(self, head: ChainHead, body: Genesis | Step, where: Mapping[str, Any]) -> None:
        assert isinstance(body, Step)
        link = ChainHead(batch_id=body.batch_id, seq=body.seq, event_id=b"", time=body.time, prev=body.prev)
        code = link_problem(head, link, batch_id=head.batch_id, tolerance=self._tolerance)
        if code == "E_SEQ":
            raise ChainError(f"seq {body.seq} does not follow the head's seq {head.seq}", code="E_SEQ", **where)
        if code == "E_LINK":
            raise ChainError("prev is not the head's event id", code="E_LINK", **where)
        if code == "E_TIME":
            raise ChainError(
                f"time {body.time.isoformat()} is earlier than the head's {head.time.isoformat()} "
                f"(tolerance {self._tolerance})",
                code="E_TIME",
                **where,
            )
        if code is not None:
            raise ChainError(f"the event does not extend the head ({code})", code=code, **where)

    def _check_inputs(self, conn: sqlite3.Connection, body: Step, where: Mapping[str, Any]) -> None:
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
            if body.batch_id in self._upstream(conn, ref.batch_id):
                raise ChainError(
                    f"batch {ref.batch_id.hex()[:16]} already consumes this batch: lineage would loop",
                    code="E_LINEAGE_CYCLE",
                    field="inputs",
                    **where,
                )

    def _upstream(self, conn: sqlite3.Connection, batch_id: bytes) -> set[bytes]:
        seen = {batch_id}
        queue = deque([batch_id])
        while queue:
            b = queue.popleft()
            for row in conn.execute("SELECT DISTINCT input_batch FROM inputs WHERE batch_id = ?", (b,)):
                up = bytes(row[0])
                if up not in seen:
                    seen.add(up)
                    queue.append(up)
        return seen

    def _insert(
        self,
        conn: sqlite3.Connection,
        event: SignedEvent,
        head: ChainHead | None,
        *,
        deferred: list[SignedEvent] | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> None:
        body = event.body
        if isinstance(body, Step) and body.inputs and deferred is not None:
            deferred.append(event)  # a bundle carries inputs after their consumers: checked at the end
        elif isinstance(body, Step) and body.inputs:
            if where is None:
                where = {"event_id": event.event_id.hex(), "key_id": event.key_id.hex()}
            self._check_inputs(conn, body, where)
        conn.execute(
            _INSERT_EVENT,
            (
                event.batch_id,
                event.seq,
                event.event_id,
                event.prev,
                event.key_id,
                _fields.event_time_text(body.time),
                event.step,
                event.raw,
            ),
        )
        if isinstance(body, Step) and body.inputs:
            conn.executemany(
                _INSERT_INPUT,
                [(body.batch_id, body.seq, r.batch_id, r.seq, r.head) for r in body.inputs],
            )
        if self._in_txn:
            self._heads[event.batch_id] = ChainHead(
                batch_id=event.batch_id, seq=event.seq, event_id=event.event_id, time=body.time
            )

    # ---- signing and appending -------------------------------------------------------------------------------

    def open_batch(self, genesis: Genesis, signer: Signer) -> SignedEvent:
        """Sign a genesis event and store it: a new batch whose id is the returned event's id.

        The signer's public key is added to the ledger.

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
        with self._write("opening a batch") as conn:
            self._add_key(conn, signer.public_key)
            event = sign_event(genesis, signer)
            _check_own_signature(event, signer)
            if (
                conn.execute("SELECT 1 FROM events WHERE event_id = ? AND seq = 0", (event.event_id,)).fetchone()
                is None
            ):
                self._insert(conn, event, None)
        return event

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
        with self._write("adding a step") as conn:
            head = self._head(conn, batch_id)
            if head is None:
                raise _not_found(batch_id)
            refs = [self._input_ref(conn, input_id) for input_id in inputs]
            self._add_key(conn, signer.public_key)
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
            self._check_extends(head, body, {"field": "time"})
            event = sign_event(body, signer)
            _check_own_signature(event, signer)
            self._insert(conn, event, head)
        return event

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
            As for :meth:`add_step`; a :class:`FormatError` or :class:`ChainError` carries the step's position in
            ``steps`` as ``index``. ``SignatureError`` ``E_SIGNER`` if a signing process fails. ``ValueError``
            if ``chunk`` is below 1 or ``workers`` is not an accepted value; ``TypeError`` for an item of
            ``steps`` that is not a :class:`NewStep`.
        """
        if chunk < 1:
            raise ValueError("chunk must be at least 1")
        processes = resolve_workers(workers)
        specs: Iterator[NewStep] = iter(steps)
        parallel = False
        if processes > 1 and type(signer) is PrivateKey:
            threshold = min_parallel_events(workers, chunk)
            ahead = list(itertools.islice(specs, threshold))
            parallel = len(ahead) >= threshold
            specs = itertools.chain(ahead, specs)
        with self._write("adding steps") as conn:
            head = self._head(conn, batch_id)
            if head is None:
                raise _not_found(batch_id)
            self._add_key(conn, signer.public_key)
            state = _BulkState(batch_id, signer.public_key.key_id, head.seq, head.event_id, head.time)
            chunks = self._prepare_chunks(conn, state, specs, chunk)
            if parallel:
                assert isinstance(signer, PrivateKey)
                self._sign_in_processes(conn, state, chunks, signer, max(1, processes - 1))
            else:
                self._sign_here(conn, state, chunks, signer)
            head = ChainHead(batch_id=batch_id, seq=state.seq, event_id=state.prev, time=state.prev_time)
            self._heads[batch_id] = head
        return head

    def _prepare_chunks(
        self, conn: sqlite3.Connection, state: _BulkState, specs: Iterator[NewStep], size: int
    ) -> Iterator[_Chunk]:
        """Build, check and encode the steps, ``size`` at a time: everything but the signatures.

        An event's id does not depend on its signature, so each step links to the previous one without waiting
        for it. An error is not raised here: the chunk that holds the failing step is cut before it and carries
        the error, so that the caller first signs (and, for earlier chunks, stores) what precedes it, exactly as
        if each step were signed as soon as it was built.
        """
        protected = protected_header(state.key_id, EVENT_TYP)
        sha256 = hashlib.sha256
        index = 0
        while True:
            current = _Chunk(index)
            for spec in itertools.islice(specs, size):
                try:
                    body, payload, time_text = self._prepare(conn, state, spec, index)
                except Exception as e:  # noqa: BLE001 - handed to the caller, raised after what precedes it
                    current.error = e
                    yield current
                    return
                tbs, unsigned = unsigned_sign1(protected, payload)
                event_id = sha256(tbs).digest()
                state.seq, state.prev, state.prev_time = body.seq, event_id, body.time
                current.tbs.append(tbs)
                current.rows.append(
                    (state.batch_id, body.seq, event_id, body.prev, state.key_id, time_text, body.step, unsigned)
                )
                if body.inputs:
                    current.input_rows.extend(
                        (state.batch_id, body.seq, r.batch_id, r.seq, r.head) for r in body.inputs
                    )
                index += 1
            if not current.tbs:
                return
            yield current

    def _sign_here(self, conn: sqlite3.Connection, state: _BulkState, chunks: Iterator[_Chunk], signer: Signer) -> None:
        public = signer.public_key
        check = type(signer) is not PrivateKey
        sign = signer.sign
        for current in chunks:
            signatures = []
            for offset, tbs in enumerate(current.tbs):
                signature = sign(tbs)
                if (
                    not isinstance(signature, bytes)
                    or len(signature) != 64
                    or (check and not public._valid(signature, tbs))
                ):
                    raise SignatureError(
                        "the signer returned an invalid signature", code="E_SIGNER", position=current.first + offset
                    )
                signatures.append(signature)
            if current.error is not None:
                raise current.error
            current.write(conn, signatures)

    def _sign_in_processes(
        self,
        conn: sqlite3.Connection,
        state: _BulkState,
        chunks: Iterator[_Chunk],
        signer: PrivateKey,
        processes: int,
    ) -> None:
        failed: list[Exception] = []

        def to_sign() -> Iterator[tuple[_Chunk, list[bytes]]]:
            for current in chunks:
                if current.error is not None:  # a PrivateKey cannot fail on what precedes it
                    failed.append(current.error)
                    return
                yield current, current.tbs

        def sign_here(messages: list[bytes]) -> bytes:
            return b"".join([signer.sign(m) for m in messages])

        public = signer.public_key
        try:
            with SigningPool[_Chunk](processes, signer) as pool:
                for current, tbs, signatures in pool.run(to_sign(), helper=sign_here):
                    # Spot check: a signing process that holds another key, or returns garbage, is caught at once.
                    if len(signatures) != 64 * len(tbs) or not public._valid(signatures[:64], tbs[0]):
                        raise SignatureError(
                            "a signing process returned an invalid signature", code="E_SIGNER", position=current.first
                        )
                    current.write(conn, [signatures[i : i + 64] for i in range(0, len(signatures), 64)])
        except BrokenProcessPool as e:
            raise SignatureError("a signing process ended unexpectedly", code="E_SIGNER") from e
        if failed:
            raise failed[0]

    def _prepare(
        self,
        conn: sqlite3.Connection,
        state: _BulkState,
        spec: NewStep,
        index: int,
    ) -> tuple[Step, bytes, str]:
        if type(spec) is not NewStep:
            raise TypeError("add_steps takes NewStep values")
        seq, prev, prev_time = state.seq + 1, state.prev, state.prev_time
        try:
            refs: tuple[InputRef, ...] = ()
            if spec.inputs:
                refs = tuple(self._input_ref(conn, input_id) for input_id in spec.inputs)
            body = Step(
                batch_id=state.batch_id,
                seq=seq,
                prev=prev,
                time=spec.time,
                step=spec.step,
                location=spec.location,
                inputs=refs,
                attachments=spec.attachments,
                data=spec.data or {},
            )
            if not in_time_order(seq - 1, prev_time, body.time, self._tolerance):
                head = ChainHead(batch_id=state.batch_id, seq=seq - 1, event_id=prev, time=prev_time)
                self._check_extends(head, body, {"field": "time"})
            if refs:
                self._check_inputs(conn, body, {})
            payload = encode_signable(body)
        except ProvenanceError as e:
            raise e.locate(position=index) from None
        return body, payload, _fields.event_time_text(body.time)

    def _input_ref(self, conn: sqlite3.Connection, input_id: bytes) -> InputRef:
        input_head = self._head(conn, input_id)
        if input_head is None:
            raise _not_found(input_id, field="inputs")
        return input_head.as_input()

    # ---- reading events --------------------------------------------------------------------------------------

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
        with _sql("reading events"):
            found = self._db().execute("SELECT 1 FROM events WHERE batch_id = ? AND seq = 0", (batch_id,)).fetchone()
        if found is None:
            raise _not_found(batch_id)
        return self._stream(batch_id)

    def _stream(
        self, batch_id: bytes, *, on_event: Callable[[SignedEvent], None] | None = None
    ) -> Iterator[SignedEvent]:
        conn = self._db()
        ring = self.key_ring()
        # The ledger's own events: their times are judged when they are exported and verified, not here.
        options = VerifyOptions(keys=ring, now=NO_CLOCK, time_tolerance=self._tolerance)
        verifier = ChainVerifier(options, batch=batch_id)
        with _sql("reading events"):
            cursor = conn.execute(
                "SELECT batch_id, seq, event_id, key_id, prev, raw FROM events WHERE batch_id = ? ORDER BY seq",
                (batch_id,),
            )
        try:
            while True:
                with _sql("reading events"):
                    rows = cursor.fetchmany(256)
                if not rows:
                    break
                for row_batch, seq, event_id, key_id, prev, raw in rows:
                    try:
                        event = verifier.feed(bytes(raw))
                    except ProvenanceError as e:
                        raise _tampered(
                            f"stored event does not verify ({e.code}: {e.message})", seq=seq, event_id=event_id
                        ) from e
                    if (
                        event.event_id != event_id
                        or event.batch_id != row_batch
                        or event.seq != seq
                        or event.key_id != key_id
                        or event.prev != (None if prev is None else bytes(prev))
                    ):
                        raise _tampered("stored bytes do not match their indexed columns", seq=seq, event_id=event_id)
                    if on_event is not None:
                        on_event(event)
                    yield event
        finally:
            cursor.close()

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
        if batch_id is None:
            with _sql("listing batches"):
                ids = [bytes(r[0]) for r in self._db().execute("SELECT event_id FROM events WHERE seq = 0 ORDER BY n")]
        else:
            ids = [batch_id]
        total = 0
        conn = self._db()
        for b in ids:
            for event in self.events(b):
                total += 1
                if isinstance(event.body, Step):
                    for ref in event.body.inputs:
                        with _sql("reading inputs"):
                            row = conn.execute(
                                "SELECT event_id FROM events WHERE batch_id = ? AND seq = ?", (ref.batch_id, ref.seq)
                            ).fetchone()
                        if row is None or row[0] != ref.head:
                            raise _tampered(
                                f"an input names event seq {ref.seq} of batch {ref.batch_id.hex()[:16]}, "
                                "which the ledger does not hold",
                                seq=event.seq,
                                event_id=event.event_id,
                            )
        return total

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
        conn = self._db()
        with _sql("reading lineage"):
            if conn.execute("SELECT 1 FROM events WHERE event_id = ? AND seq = 0", (batch_id,)).fetchone() is None:
                raise _not_found(batch_id)
            # Discover the upstream graph breadth-first, then order it topologically (Kahn), breadth-first ties.
            order = [batch_id]
            edges: dict[bytes, list[bytes]] = {}
            seen = {batch_id}
            queue = deque([batch_id])
            while queue:
                b = queue.popleft()
                ups = [
                    bytes(r[0])
                    for r in conn.execute(
                        "SELECT input_batch FROM inputs WHERE batch_id = ? GROUP BY input_batch ORDER BY min(seq)",
                        (b,),
                    )
                ]
                edges[b] = ups
                for up in ups:
                    if up not in seen:
                        seen.add(up)
                        order.append(up)
                        queue.append(up)
        consumers = dict.fromkeys(order, 0)
        for b in order:
            for up in edges[b]:
                consumers[up] += 1
        result: list[bytes] = []
        ready = deque([batch_id])
        while ready:
            b = ready.popleft()
            result.append(b)
            for up in edges[b]:
                consumers[up] -= 1
                if consumers[up] == 0:
                    ready.append(up)
        if len(result) != len(order):  # pragma: no cover - appends refuse loops
            raise _tampered("the lineage of this batch loops")
        return result

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
        are not seen).

        Args:
            batch_id: The root batch.
            out: A binary file opened for writing.
            progress: Called with (events written, total) as it goes.

        Returns:
            The bundle header written.

        Raises:
            NotFoundError: No such batch.
            TamperError: A stored row does not verify; the bundle written so far is incomplete.
        """
        conn = self._db()
        if self._in_txn:
            raise StoreError("cannot export inside a bulk block", code="E_NESTED")
        with _sql("starting an export"):
            conn.execute("BEGIN")
        try:
            order = self.lineage(batch_id)
            batches = []
            key_ids: set[bytes] = set()
            with _sql("reading batch heads"):
                for b in order:
                    row = conn.execute(
                        "SELECT seq, event_id FROM events WHERE batch_id = ? ORDER BY seq DESC LIMIT 1", (b,)
                    ).fetchone()
                    batches.append(BundleBatch(batch_id=b, count=row[0] + 1, head=bytes(row[1])))
                    key_ids.update(
                        bytes(r[0]) for r in conn.execute("SELECT DISTINCT key_id FROM events WHERE batch_id = ?", (b,))
                    )
            keys = []
            for kid in sorted(key_ids):
                key = self._key(conn, kid)
                if key is None:
                    raise _tampered("an event names a key the ledger does not hold")
                keys.append(key)
            header = BundleHeader(root=batch_id, batches=tuple(batches), keys=tuple(keys))
            members = set(order)

            def check_inputs(event: SignedEvent) -> None:
                if isinstance(event.body, Step):
                    for ref in event.body.inputs:
                        if ref.batch_id not in members:
                            raise _tampered(
                                "an input batch is missing from the lineage index",
                                seq=event.seq,
                                event_id=event.event_id,
                            )

            def raws() -> Iterator[bytes]:
                for b in order:
                    for event in self._stream(b, on_event=check_inputs):
                        yield event.raw

            write_bundle(out, header, raws(), progress=progress)
        finally:
            with _sql("finishing an export"):
                conn.execute("COMMIT")
        return header

    def export_cose_sequence(self, batch_id: bytes, out: BinaryIO) -> int:
        """Write a batch's events, verified, as an RFC 8742 CBOR sequence of tagged COSE_Sign1, in chain order.

        Args:
            batch_id: The batch.
            out: A binary file opened for writing.

        Returns:
            The number of events written.

        Raises:
            NotFoundError: No such batch.
            TamperError: A stored row does not verify.
        """
        n = 0
        for event in self.events(batch_id):
            out.write(event.raw)
            n += 1
        return n

    def import_bundle(self, source: BinaryIO | str | os.PathLike[str], options: VerifyOptions[KeySource]) -> int:
        """Verify a bundle against ``keys`` and store its events (idempotent: events already held are skipped).

        The bundle is verified in full first; then its events are appended in one transaction, each checked
        again. The trusted keys that signed them are added to the ledger.

        Args:
            source: A path or a binary file (read twice: non-seekable streams are spooled to a temporary file).
            options: Keys trusted to have signed the bundle's events, and the clock to judge them by.

        Returns:
            The number of events newly stored.

        Raises:
            FormatError: A malformed bundle.
            VerificationError: The bundle does not verify (see :func:`~ocop_provenance.verify_bundle`).
            ForkError: The bundle holds another signed event where the ledger already has one (``E_FORK``).
            StoreError: The ledger cannot be written.
        """
        if isinstance(source, (str, os.PathLike)):
            summary = verify_bundle(source, options, root=ANY_BATCH)
            with _open_for_import(source) as src:
                return self._import(src, options.ring, summary.chains)
        with _rewindable(source) as src:
            start = src.tell()
            summary = verify_bundle(src, options, root=ANY_BATCH)
            src.seek(start)
            return self._import(src, options.ring, summary.chains)

    def _import(self, src: BinaryIO, keys: KeyRing, chains: tuple[ChainSummary, ...]) -> int:
        signers: set[bytes] = set()
        for chain in chains:
            signers.update(chain.signers)
        stored = 0
        with self._write("importing a bundle") as conn:
            for kid in sorted(signers):
                for key in keys.candidates(kid):
                    self._add_key(conn, key)
            reader = BundleReader(src)
            deferred: list[SignedEvent] = []
            for index, (_, raw) in enumerate(reader.events()):
                try:
                    event = parse_unverified_event(raw)
                except ProvenanceError as e:
                    raise e.locate(position=index) from None
                stored += self._append(conn, event, index=index, import_mode=True, deferred=deferred)
            for event in deferred:
                assert isinstance(event.body, Step)
                self._check_inputs(conn, event.body, {"event_id": event.event_id.hex(), "key_id": event.key_id.hex()})
        return stored


@dataclass(slots=True)
class _BulkState:
    """Where a bulk run stands: the batch, the signer's key id, and the last event prepared."""

    batch_id: bytes
    key_id: bytes
    seq: int
    prev: bytes
    prev_time: datetime


@dataclass(slots=True)
class _Chunk:
    """Consecutive prepared steps: their ToBeSigned bytes and their rows, each lacking only its signature."""

    first: int
    tbs: list[bytes] = field(default_factory=list)
    rows: list[tuple[bytes, int, bytes, bytes, bytes, str, str, bytes]] = field(default_factory=list)
    input_rows: list[tuple[bytes, int, bytes, int, bytes]] = field(default_factory=list)
    error: Exception | None = None

    def write(self, conn: sqlite3.Connection, signatures: list[bytes]) -> None:
        """Insert the rows, each with its signature appended to its COSE bytes."""
        conn.executemany(
            _INSERT_EVENT,
            [(*row[:7], row[7] + signature) for row, signature in zip(self.rows, signatures, strict=True)],
        )
        if self.input_rows:
            conn.executemany(_INSERT_INPUT, self.input_rows)


def _not_found(batch_id: bytes, *, field: str = "batch") -> NotFoundError:
    return NotFoundError(f"no batch {batch_id.hex()[:16]} in the ledger", code="E_NOT_FOUND", field=field)


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


@contextlib.contextmanager
def _open_for_import(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    try:
        f = Path(path).open("rb")  # noqa: SIM115 - closed by the with below
    except OSError as e:
        raise StoreError(f"cannot read {path}: {e.strerror}", code="E_IO") from e
    with f:
        yield f


@contextlib.contextmanager
def _rewindable(source: BinaryIO) -> Iterator[BinaryIO]:
    seekable = False
    with contextlib.suppress(OSError, AttributeError, ValueError):
        seekable = source.seekable()
    if seekable:
        yield source
        return
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
        while chunk := source.read(1 << 16):
            spool.write(chunk)
        spool.seek(0)
        yield spool  # type: ignore[misc]
