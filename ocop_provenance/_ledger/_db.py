"""The ledger's database: opening, pragmas, schema, transactions, and sqlite3's errors.

The only module that imports :mod:`sqlite3` (an import-linter contract keeps it so). Every :mod:`sqlite3` error is
wrapped here, once, in the :class:`StoreError` family; the other ledger modules name the connection type as
:data:`Connection` and run their statements inside :func:`sql` or a :class:`Database` transaction.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from .._chain import ChainHead
from .._errors import ConflictError, NotFoundError, StoreError, TamperError
from .._keys import PublicKey

__all__ = [
    "APPLICATION_ID",
    "INSERT_EVENT",
    "INSERT_INPUT",
    "SCHEMA_VERSION",
    "Connection",
    "Database",
    "not_found",
    "sql",
    "tampered",
]

#: The connection type, for the other ledger modules' annotations (they never import sqlite3).
Connection = sqlite3.Connection

#: Version of the database schema, kept in ``PRAGMA user_version``.
SCHEMA_VERSION = 1
#: ``PRAGMA application_id`` of an ocop ledger: ASCII "OCOP".
APPLICATION_ID = 0x4F434F50

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

INSERT_EVENT = (
    "INSERT INTO events (batch_id, seq, event_id, prev, key_id, time, step, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_INPUT = "INSERT INTO inputs (batch_id, seq, input_batch, input_seq, input_head) VALUES (?, ?, ?, ?, ?)"


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
def sql(what: str) -> Iterator[None]:
    """Run statements, turning any :mod:`sqlite3` error into a :class:`StoreError` that says ``what`` failed."""
    try:
        yield
    except sqlite3.Error as e:
        raise _store_error(e, what) from e


def tampered(message: str, *, seq: int | None = None, event_id: bytes | None = None) -> TamperError:
    """Return the error for a row that no longer matches what was signed."""
    return TamperError(
        f"{message}: the ledger was changed outside this library",
        code="E_TAMPERED",
        seq=seq,
        event_id=event_id,
    )


def not_found(batch_id: bytes, *, field: str = "batch") -> NotFoundError:
    """Return the error for a batch the ledger does not hold."""
    return NotFoundError(f"no batch {batch_id.hex()[:16]} in the ledger", code="E_NOT_FOUND", field=field)


class Database:
    """One open connection to a ledger file, and the state of its current transaction.

    The caches below are valid only inside the current write transaction (its write lock keeps them true) and are
    cleared when it ends; verified public keys are cached for good (keys are append-only).

    Attributes:
        path: The ledger file.
        in_txn: A write transaction (a call, or a :meth:`~ocop_provenance.Ledger.bulk` block) is open.
        heads: Batch heads read or written in the current write transaction.
        known_keys: Key ids recorded in the current write transaction.
        keys: Verified public keys by key id.
        before_commit: Checks run, in order, just before a write transaction commits; one that raises rolls it
            back.
        after_end: Called when a write transaction ends, with True if it committed.
    """

    def __init__(self, conn: Connection, path: Path) -> None:
        """Wrap an open connection (use :meth:`connect` and :meth:`setup`)."""
        self._conn: Connection | None = conn
        self.path = path
        self.in_txn = False
        self.heads: dict[bytes, ChainHead] = {}
        self.known_keys: set[bytes] = set()
        self.keys: dict[bytes, PublicKey] = {}
        self.before_commit: list[Callable[[Connection], None]] = []
        self.after_end: list[Callable[[bool], None]] = []

    # ---- opening and closing ---------------------------------------------------------------------------------

    @staticmethod
    def connect(path: Path, *, timeout: float) -> Connection:
        """Check that ``path`` can be a ledger file, creating its directory, and connect to it.

        Raises:
            StoreError: ``E_CANT_OPEN``, ``E_READ_ONLY`` (see :meth:`~ocop_provenance.Ledger.open`).
        """
        p = path
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the ledger directory {p.parent}: {e.strerror}", code="E_CANT_OPEN") from e
        if p.exists() and not p.is_file():
            raise StoreError(f"{p} is not a file", code="E_CANT_OPEN")
        if not p.exists() and not os.access(p.parent, os.W_OK | os.X_OK):
            raise StoreError(f"cannot create the ledger in {p.parent}: the directory is read-only", code="E_READ_ONLY")
        with sql(f"opening {p}"):
            return sqlite3.connect(p, timeout=timeout, isolation_level=None, check_same_thread=True)

    def setup(self, *, timeout: float, durable: bool) -> None:
        """Set this connection's pragmas and create the schema in a new file, or check an existing one.

        Raises:
            StoreError: ``E_NOT_LEDGER``, ``E_VERSION``, ``E_CORRUPT`` and the other codes of :func:`sql`.
        """
        conn = self.connection()
        with sql(f"opening {self.path}"):
            # Pragmas are per connection (journal_mode persists, the others do not): set them every time.
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                raise StoreError(f"{self.path}: cannot switch the ledger to WAL mode", code="E_STORE")
            conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
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
        conn = self.connection()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        if version == 0 and app == 0:
            return False
        self._check_schema()
        return True

    def _check_schema(self) -> None:
        conn = self.connection()
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
            raise StoreError(f"{self.path} is a SQLite database but not an ocop ledger", code="E_NOT_LEDGER")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer version (schema {version}; this one reads {SCHEMA_VERSION})",
                code="E_VERSION",
            )
        if version != SCHEMA_VERSION:
            raise StoreError(f"{self.path}: unknown ledger schema version {version}", code="E_VERSION")

    def connection(self) -> Connection:
        """Return the open connection.

        Raises:
            StoreError: The ledger is closed (``E_CLOSED``).
        """
        if self._conn is None:
            raise StoreError("the ledger is closed", code="E_CLOSED")
        return self._conn

    def close(self) -> None:
        """Close the connection (idempotent); an open transaction is rolled back."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with sql("closing the ledger"):
                conn.close()

    # ---- transactions ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self, what: str) -> Iterator[Connection]:
        """Run a write in one ``BEGIN IMMEDIATE`` transaction, or inside the one already open (a bulk block).

        Committed when the block ends (after the :attr:`before_commit` checks pass), rolled back if it raises; the
        transaction's caches are cleared and :attr:`after_end` called either way.

        Args:
            what: What is being written, for error messages.

        Yields:
            The connection.
        """
        conn = self.connection()
        if self.in_txn:
            with sql(what):
                yield conn
            return
        with sql(what):
            conn.execute("BEGIN IMMEDIATE")
        self.in_txn = True
        committed = False
        try:
            with sql(what):
                yield conn
                for check in self.before_commit:
                    check(conn)
                conn.execute("COMMIT")
            committed = True
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        finally:
            self.in_txn = False
            self.heads.clear()
            self.known_keys.clear()
            for end in self.after_end:
                end(committed)

    @contextlib.contextmanager
    def snapshot(self, what: str, *, nested: str) -> Iterator[Connection]:
        """Read in one snapshot (``BEGIN`` … ``COMMIT``): writes committed meanwhile by others are not seen.

        Args:
            what: What is being read (``an export``), for error messages.
            nested: The message of the error raised inside a bulk block.

        Yields:
            The connection.

        Raises:
            StoreError: Inside a bulk block (``E_NESTED``).
        """
        conn = self.connection()
        if self.in_txn:
            raise StoreError(nested, code="E_NESTED")
        with sql(f"starting {what}"):
            conn.execute("BEGIN")
        try:
            yield conn
        finally:
            with sql(f"finishing {what}"):
                conn.execute("COMMIT")
