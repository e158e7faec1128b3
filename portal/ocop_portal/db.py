"""The portal's database: one schema (SQLAlchemy Core), one code path for SQLite and PostgreSQL, Alembic migrations.

Events are stored exactly as signed (the COSE bytes in ``events.raw``); every other column is an index derived from
those bytes when they were accepted, for lookups (GTIN and lot, batch reference, signer, lineage, search).

SQLite (the default, one file): WAL journal, ``synchronous=NORMAL`` (a crash of the process loses nothing; a power
cut may lose the last commits, which a publisher repeats), foreign keys on, and write transactions that start with
``BEGIN IMMEDIATE`` so that two publishers take turns. PostgreSQL: psycopg 3; concurrent publishers of one batch
are kept apart by the primary keys (a loser's insert fails and its transaction is retried, and then sees the
winner's events).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

__all__ = [
    "METADATA",
    "Database",
    "attachment_refs",
    "batches",
    "events",
    "files",
    "forks",
    "inputs",
    "normalise_url",
    "participant_keys",
    "participants",
    "policies",
    "public_keys",
    "scans",
    "tlog_checkpoints",
    "tlog_leaves",
    "tlog_nodes",
    "tlog_witnesses",
    "trust_lists",
]

METADATA = sa.MetaData()
_ID = sa.LargeBinary(32)
_TIME = sa.DateTime(timezone=True)

#: One row per stored batch: what its genesis says (an index of the bytes), and its head.
batches = sa.Table(
    "batches",
    METADATA,
    sa.Column("batch_id", _ID, primary_key=True),
    sa.Column("batch_ref", sa.LargeBinary(8), nullable=False),
    sa.Column("gtin", sa.String(14), nullable=True),
    sa.Column("lot", sa.String(64), nullable=False),
    sa.Column("product_name", sa.Text, nullable=False),
    sa.Column("producer_name", sa.Text, nullable=False),
    sa.Column("producer_province", sa.Text, nullable=True),
    sa.Column("stars", sa.SmallInteger, nullable=True),
    sa.Column("genesis_key_id", _ID, nullable=False),
    sa.Column("head_seq", sa.BigInteger, nullable=False),
    sa.Column("head_id", _ID, nullable=False),
    sa.Column("is_root", sa.Boolean, nullable=False),
    sa.Column("first_published", _TIME, nullable=False),
    sa.Column("last_published", _TIME, nullable=False),
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Index("ix_batches_gtin_lot", "gtin", "lot"),
    sa.Index("ix_batches_ref_lot", "batch_ref", "lot"),
    sa.Index("ix_batches_genesis_key", "genesis_key_id"),
)

#: Every accepted event, exactly as signed.
events = sa.Table(
    "events",
    METADATA,
    sa.Column("batch_id", _ID, primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_id", _ID, nullable=False, unique=True),
    sa.Column("key_id", _ID, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
)

#: Lineage: each step that consumed another batch (one step back; read backwards, one step forward).
inputs = sa.Table(
    "inputs",
    METADATA,
    sa.Column("batch_id", _ID, primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("input_batch_id", _ID, primary_key=True),
    sa.Column("input_seq", sa.BigInteger, nullable=False),
    sa.Column("input_head", _ID, nullable=False),
    sa.Index("ix_inputs_input", "input_batch_id"),
)

#: The public keys that signed stored events (a bundle's header; needed to export bundles again).
public_keys = sa.Table(
    "public_keys",
    METADATA,
    sa.Column("key_id", _ID, primary_key=True),
    sa.Column("raw", sa.LargeBinary(32), nullable=False),
)

#: Attachments named by stored events (by hash), and the files a producer uploaded for them.
attachment_refs = sa.Table(
    "attachment_refs",
    METADATA,
    sa.Column("batch_id", _ID, primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sha256", _ID, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Index("ix_attachment_refs_sha256", "sha256"),
)
files = sa.Table(
    "files",
    METADATA,
    sa.Column("sha256", _ID, primary_key=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("uploaded_at", _TIME, nullable=False),
)

#: Equivocation proofs: two validly signed events at one batch and seq, refused at publishing and kept.
forks = sa.Table(
    "forks",
    METADATA,
    sa.Column("proof_id", _ID, primary_key=True),
    sa.Column("batch_id", _ID, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("proof", sa.LargeBinary, nullable=False),
    sa.Column("detected_at", _TIME, nullable=False),
    sa.Index("ix_forks_batch", "batch_id"),
)

#: Every trust list installed (the highest version is current), as signed.
trust_lists = sa.Table(
    "trust_lists",
    METADATA,
    sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("object_id", _ID, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("installed_at", _TIME, nullable=False),
)

#: Every policy installed, per kind (the highest version of a kind is current), as signed.
policies = sa.Table(
    "policies",
    METADATA,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("object_id", _ID, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("installed_at", _TIME, nullable=False),
)

#: The current trust list's participants and keys (rebuilt with each list), for the catalogue's joins and search.
participants = sa.Table(
    "participants",
    METADATA,
    sa.Column("participant_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("admin_code", sa.String(10), nullable=True),
    sa.Column("search_text", sa.Text, nullable=False),
)
participant_keys = sa.Table(
    "participant_keys",
    METADATA,
    sa.Column("key_id", _ID, primary_key=True),
    sa.Column("participant_id", sa.String(64), nullable=False),
    sa.Index("ix_participant_keys_participant", "participant_id"),
)

#: How often each serialised unit's code was looked up with a valid seal (no IP, no user agent, no cookie).
scans = sa.Table(
    "scans",
    METADATA,
    sa.Column("link", sa.String(200), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("first_at", _TIME, nullable=False),
    sa.Column("last_at", _TIME, nullable=False),
)


#: The transparency log (docs/transparency.md): one leaf per logged batch head, in log order, as signed into the tree.
tlog_leaves = sa.Table(
    "tlog_leaves",
    METADATA,
    sa.Column("leaf_index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("batch_id", _ID, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("head_id", _ID, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Index("ix_tlog_leaves_batch", "batch_id"),
)
#: The log's complete-subtree hashes ``(level, index)``, each written once (ocop_provenance.tlog.append_leaf_hashes).
tlog_nodes = sa.Table(
    "tlog_nodes",
    METADATA,
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("node_index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary(32), nullable=False),
)
#: Every checkpoint the log signed (the largest is current), as a signed note with the cosignatures gathered.
tlog_checkpoints = sa.Table(
    "tlog_checkpoints",
    METADATA,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("signed_at", _TIME, nullable=False),
)
#: The size each configured witness last cosigned (the ``old`` of the next add-checkpoint request).
tlog_witnesses = sa.Table(
    "tlog_witnesses",
    METADATA,
    sa.Column("url", sa.String(512), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
)


def normalise_url(url: str) -> str:
    """Return a SQLAlchemy URL: a bare path is a SQLite file; ``postgresql://`` uses psycopg 3.

    Raises:
        ValueError: Neither a SQLite nor a PostgreSQL URL.
    """
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().absolute()}"
    scheme = url.split("://", 1)[0]
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if scheme in ("sqlite", "postgresql+psycopg"):
        return url
    raise ValueError(f"the database must be a SQLite file or a postgresql:// URL, not {scheme}://")


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event (below) emit BEGIN: pysqlite's own transaction handling is off.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON", "busy_timeout = 30000"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("ocop_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The engines (a writer and, optionally, a read replica) and transactions on them.

    Attributes:
        url: The writer's SQLAlchemy URL.
        engine: The writer's engine.
        reader: The engine reads go to (the writer's unless a replica is configured).
    """

    def __init__(self, url: str, *, read_url: str | None = None) -> None:
        """Create the engines (no connection is made yet).

        Raises:
            ValueError: An unsupported URL.
        """
        self.url = normalise_url(url)
        self.engine = self._engine(self.url)
        self.reader = self._engine(normalise_url(read_url)) if read_url else self.engine

    @staticmethod
    def _engine(url: str) -> Engine:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            _sqlite_setup(engine)
            return engine
        return sa.create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite), committed when the block ends without error."""
        with self.engine.connect().execution_options(ocop_write=True) as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (a consistent snapshot on both databases)."""
        with self.reader.connect() as conn, conn.begin():
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest migration (Alembic ``upgrade head``); a no-op when it is current."""
        from alembic import command  # noqa: PLC0415 - only at start-up
        from alembic.config import Config  # noqa: PLC0415

        cfg = Config()
        cfg.set_main_option("script_location", str(resources.files("ocop_portal") / "migrations"))
        with self.engine.connect().execution_options(ocop_write=True) as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()

    def insert_many(self, conn: Connection, table: sa.Table, rows: list[tuple[Any, ...]]) -> None:
        """Insert rows (tuples in the table's column order) through the driver's ``executemany``.

        The bulk path of publishing: the values are bytes, integers, text and None, which both drivers take as they
        are, so SQLAlchemy's per-value processing is skipped. The statement is the same on both databases but for
        the driver's placeholder (``?`` for sqlite3, ``%s`` for psycopg).
        """
        if not rows:
            return
        mark = "?" if self.dialect == "sqlite" else "%s"
        names = ", ".join(c.name for c in table.columns)
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([mark] * len(table.columns))})"  # noqa: S608 - names from the schema
        conn.exec_driver_sql(sql, rows)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()
