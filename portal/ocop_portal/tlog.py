"""The portal's transparency log of published batch heads (docs/transparency.md, ADR 0070).

The tree is kept in the portal's database as leaves (``tlog_leaves``) and complete-subtree hashes (``tlog_nodes``),
written once and never changed; the library computes every root and proof from them
(:func:`ocop_provenance.tlog.append_leaf_hashes`, ``tree_root``, ``inclusion_proof``, ``consistency_proof``).

:meth:`PortalLog.append` runs inside the registry's publishing transaction: the leaves, the new nodes and the newly
signed checkpoint are written with the events, or none of them. After the commit, :meth:`PortalLog.witness` pushes
the newest checkpoint to the configured witnesses (C2SP tlog-witness ``add-checkpoint``) and stores the
cosignatures they return on it; the checkpoint is served with them.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import ocop_provenance as op
import sqlalchemy as sa
from ocop_provenance.tlog import (
    COSIGNATURE_V1,
    EMPTY_ROOT,
    AddCheckpoint,
    Checkpoint,
    LogLeaf,
    Node,
    NoteKey,
    NoteSigner,
    Receipt,
    SignedNote,
    add_cosignatures,
    append_leaf_hashes,
    consistency_proof,
    inclusion_proof,
    keys_in_note,
    make_receipt,
    sign_checkpoint,
)

from . import db
from .db import Database
from .settings import Settings, WitnessEndpoint

__all__ = ["MAX_LEAVES_PAGE", "DbHashes", "LogRequestError", "PortalLog", "WitnessOutcome"]

#: The most leaves one ``GET /tlog/leaves`` answers.
MAX_LEAVES_PAGE = 1000


class LogRequestError(Exception):
    """A log request the portal cannot answer: no log is kept (``E_NO_LOG``, 404) or it is outside the log.

    Attributes:
        message: What was wrong.
        code: ``E_NO_LOG``, ``E_LOG_RANGE`` (or ``E_LOG_GENERATION``: the tables hold another generation's log).
        status: The HTTP status to answer with.
    """

    def __init__(self, message: str, *, code: str = "E_LOG_RANGE", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def _no_log() -> LogRequestError:
    return LogRequestError("this portal keeps no transparency log", code="E_NO_LOG", status=404)


class DbHashes:
    """A :class:`~ocop_provenance.tlog.HashReader` over ``tlog_nodes``, inside one transaction."""

    def __init__(self, conn: sa.Connection) -> None:
        """Read through ``conn`` (the caller's transaction)."""
        self.conn = conn

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        """Return the stored hash of each node, in the order asked (KeyError for a node that is not stored)."""
        if not nodes:
            return []
        t = db.tlog_nodes
        found: dict[Node, bytes] = {}
        wanted = list(dict.fromkeys(nodes))
        # One query per 100 nodes, each node an equality on the primary key (SQLite answers an OR of them from the
        # index; a row-value IN would scan the table).
        for start in range(0, len(wanted), 100):
            part = wanted[start : start + 100]
            rows = self.conn.execute(
                sa.select(t.c.level, t.c.node_index, t.c.hash).where(
                    sa.or_(*(sa.and_(t.c.level == level, t.c.node_index == idx) for level, idx in part))
                )
            ).all()
            found.update({(int(level), int(idx)): bytes(h) for level, idx, h in rows})
        return [found[n] for n in nodes]


@dataclass(frozen=True, slots=True)
class WitnessOutcome:
    """What one witness answered to a pushed checkpoint.

    Attributes:
        url: The witness.
        status: The HTTP status (0 when it could not be reached).
        cosigned: Whether a cosignature by its key was added.
        message: Details of a refusal.
    """

    url: str
    status: int
    cosigned: bool
    message: str = ""


#: The PostgreSQL advisory lock that makes log appends take turns (released when the transaction ends).
_APPEND_LOCK = int.from_bytes(b"ocoptlog", "big") & 0x7FFF_FFFF_FFFF_FFFF


def _size(conn: sa.Connection) -> int:
    top = conn.execute(sa.select(sa.func.max(db.tlog_leaves.c.leaf_index))).scalar()
    return 0 if top is None else int(top) + 1


class PortalLog:
    """The log: append within a transaction, serve checkpoints, proofs, leaves and receipts, push to witnesses."""

    def __init__(self, database: Database, settings: Settings) -> None:
        """Use ``settings.log_key`` (the log is off without one) and the origin ``settings.log_origin``."""
        self.db = database
        self.settings = settings
        self.origin = settings.log_origin
        key = settings.log_key
        self.signer = None if key is None else NoteSigner(self.origin, key)
        self._push = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether the portal keeps a log."""
        return self.signer is not None

    @property
    def note_key(self) -> NoteKey:
        """The log's verifier key (``origin+hash+base64``)."""
        if self.signer is None:
            raise _no_log()
        return self.signer.key

    # ---- writing (inside the registry's transaction) -----------------------------------------------------------

    def append(self, conn: sa.Connection, heads: Sequence[tuple[bytes, int, bytes]], now: datetime) -> list[int]:
        """Append one leaf per head and sign the new checkpoint, in the caller's write transaction.

        Appends take turns: SQLite's write transactions do (``BEGIN IMMEDIATE``), and on PostgreSQL a transaction-level
        advisory lock is taken before the size is read, so concurrent publications queue here instead of failing
        and retrying. (Were two writers still to read the same size, the leaf index and the node are primary keys:
        the loser's transaction fails and the registry retries it.)

        Args:
            conn: The registry's write transaction.
            heads: ``(batch id, head seq, head event id)`` of each batch whose head this publication changed.
            now: The publication time (logged in whole seconds, UTC).

        Returns:
            The leaves' indexes.

        Raises:
            LogRequestError: The tables hold another origin's log (``E_LOG_GENERATION``): a new generation needs
                empty log tables.
        """
        if self.signer is None or not heads:
            return []
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
        size = _size(conn)
        if size:
            cp = db.tlog_checkpoints
            held = conn.execute(sa.select(cp.c.origin).order_by(cp.c.size.desc()).limit(1)).scalar()
            if held is not None and held != self.origin:
                raise LogRequestError(
                    f"the database holds log {held!r}, not {self.origin!r}: a new generation starts with empty log "
                    "tables (docs/portal.md §Transparency log)",
                    code="E_LOG_GENERATION",
                    status=503,
                )
        logged = now.astimezone(UTC).replace(microsecond=0)
        leaves = [LogLeaf(batch_id=b, seq=seq, head_id=h, logged=logged) for b, seq, h in heads]
        appended = append_leaf_hashes(size, (leaf.leaf_hash for leaf in leaves), DbHashes(conn))
        conn.execute(
            db.tlog_leaves.insert(),
            [
                {"leaf_index": size + i, "batch_id": leaf.batch_id, "seq": leaf.seq, "head_id": leaf.head_id,
                 "raw": leaf.to_bytes()}
                for i, leaf in enumerate(leaves)
            ],
        )  # fmt: skip
        conn.execute(
            db.tlog_nodes.insert(),
            [{"level": level, "node_index": idx, "hash": h} for (level, idx), h in appended.nodes],
        )
        note = sign_checkpoint(Checkpoint(origin=self.origin, size=appended.size, root_hash=appended.root), self.signer)
        conn.execute(
            db.tlog_checkpoints.insert().values(
                size=appended.size, origin=self.origin, note=note.to_text(), signed_at=now
            )
        )
        return list(range(size, appended.size))

    def logged_head(self, conn: sa.Connection, batch_id: bytes) -> tuple[int, LogLeaf] | None:
        """The newest leaf logging ``batch_id`` and its index, or None (or when no log is kept)."""
        if self.signer is None:
            return None
        t = db.tlog_leaves
        row = conn.execute(
            sa.select(t.c.leaf_index, t.c.raw).where(t.c.batch_id == batch_id).order_by(t.c.leaf_index.desc()).limit(1)
        ).first()
        return None if row is None else (int(row[0]), LogLeaf.from_bytes(bytes(row[1])))

    # ---- reading ------------------------------------------------------------------------------------------------

    def _latest(self, conn: sa.Connection) -> tuple[int, str] | None:
        row = conn.execute(
            sa.select(db.tlog_checkpoints.c.size, db.tlog_checkpoints.c.note)
            .where(db.tlog_checkpoints.c.origin == self.origin)
            .order_by(db.tlog_checkpoints.c.size.desc())
            .limit(1)
        ).first()
        return None if row is None else (int(row[0]), str(row[1]))

    def checkpoint(self) -> str:
        """The latest checkpoint as a signed note, with the witness cosignatures gathered (an empty tree's if none)."""
        if self.signer is None:
            raise _no_log()
        with self.db.read() as conn:
            latest = self._latest(conn)
        if latest is not None:
            return latest[1]
        empty = Checkpoint(origin=self.origin, size=0, root_hash=EMPTY_ROOT)
        return sign_checkpoint(empty, self.signer).to_text()

    def _tree_size(self, conn: sa.Connection) -> int:
        latest = self._latest(conn)
        return 0 if latest is None else latest[0]

    def inclusion(self, index: int, size: int) -> tuple[bytes, ...]:
        """The inclusion proof of leaf ``index`` in the tree of ``size`` leaves (a signed size)."""
        with self.db.read() as conn:
            if not 0 <= index < size <= self._tree_size(conn):
                raise LogRequestError(f"need 0 <= index < size <= the log's size, not index={index} size={size}")
            return inclusion_proof(index, size, DbHashes(conn))

    def consistency(self, old: int, new: int) -> tuple[bytes, ...]:
        """The consistency proof from the tree of ``old`` leaves to that of ``new`` leaves."""
        with self.db.read() as conn:
            if not 0 < old <= new <= self._tree_size(conn):
                raise LogRequestError(f"need 0 < old <= new <= the log's size, not old={old} new={new}")
            return consistency_proof(old, new, DbHashes(conn))

    def leaves(self, start: int, end: int) -> list[bytes]:
        """The leaves' bytes from ``start`` to ``end`` (exclusive; at most :data:`MAX_LEAVES_PAGE`)."""
        with self.db.read() as conn:
            size = self._tree_size(conn)
            if not 0 <= start < end <= size:
                raise LogRequestError(f"need 0 <= start < end <= the log's size {size}")
            end = min(end, start + MAX_LEAVES_PAGE)
            t = db.tlog_leaves
            rows = conn.execute(
                sa.select(t.c.raw).where(t.c.leaf_index >= start, t.c.leaf_index < end).order_by(t.c.leaf_index)
            ).scalars()
            return [bytes(r) for r in rows]

    def receipt_for(self, conn: sa.Connection, batch_id: bytes, seq: int | None = None) -> Receipt | None:
        """The receipt of a batch's logged head against the latest checkpoint (with its cosignatures).

        A stable entry point (the consumer page uses it): the newest leaf logging ``batch_id`` (at ``seq``, when
        given), or None when the log holds none (or the portal keeps no log).

        Args:
            conn: A transaction (read or write).
            batch_id: The batch.
            seq: The head's seq; None: the newest logged head of the batch.

        Returns:
            The receipt, or None.
        """
        if self.signer is None:
            return None
        t = db.tlog_leaves
        query = sa.select(t.c.leaf_index, t.c.raw).where(t.c.batch_id == batch_id)
        if seq is not None:
            query = query.where(t.c.seq == seq)
        row = conn.execute(query.order_by(t.c.leaf_index.desc()).limit(1)).first()
        latest = self._latest(conn)
        if row is None or latest is None:
            return None
        leaf = LogLeaf.from_bytes(bytes(row[1]))
        return make_receipt(leaf, int(row[0]), SignedNote.parse(latest[1]), DbHashes(conn))

    def receipts(self, batch_ids: Sequence[bytes]) -> dict[bytes, Receipt]:
        """The receipt of each batch's newest logged head (batches the log does not hold are left out)."""
        out: dict[bytes, Receipt] = {}
        if self.signer is None:
            return out
        with self.db.read() as conn:
            for batch_id in dict.fromkeys(batch_ids):
                receipt = self.receipt_for(conn, batch_id)
                if receipt is not None:
                    out[batch_id] = receipt
        return out

    # ---- witnesses ----------------------------------------------------------------------------------------------

    def witness(self) -> list[WitnessOutcome]:
        """Push the latest checkpoint to every configured witness and store the cosignatures they return.

        One push at a time per process; a witness that says it holds another size (409) is asked again once from
        that size. A refusal is reported, never raised: the publication is committed already.
        """
        if self.signer is None or not self.settings.witnesses:
            return []
        with self._push:
            with self.db.read() as conn:
                latest = self._latest(conn)
                held = dict(conn.execute(sa.select(db.tlog_witnesses.c.url, db.tlog_witnesses.c.size)).all())
            if latest is None:
                return []
            size, text = latest
            note = SignedNote.parse(text)
            bare = SignedNote(note.text, tuple(s for s in note.signatures if s.name == self.origin))
            outcomes = []
            for w in self.settings.witnesses:
                outcome, new_note = self._push_one(w, bare, size, int(held.get(w.url, 0)))
                outcomes.append(outcome)
                if new_note is not None:
                    note = note.with_signatures(s for s in new_note.signatures if s not in note.signatures)
                    with self.db.write() as conn:
                        conn.execute(
                            db.tlog_checkpoints.update()
                            .where(db.tlog_checkpoints.c.size == size)
                            .values(note=note.to_text())
                        )
                        self._set_witness_size(conn, w.url, size)
            return outcomes

    def _set_witness_size(self, conn: sa.Connection, url: str, size: int) -> None:
        t = db.tlog_witnesses
        if conn.execute(sa.select(t.c.size).where(t.c.url == url)).first() is None:
            conn.execute(t.insert().values(url=url, size=size))
        else:
            conn.execute(t.update().where(t.c.url == url).values(size=size))

    def _push_one(
        self, w: WitnessEndpoint, note: SignedNote, size: int, old: int
    ) -> tuple[WitnessOutcome, SignedNote | None]:
        for _ in range(2):
            proof: tuple[bytes, ...] = ()
            if 0 < old < size:
                with self.db.read() as conn:
                    proof = consistency_proof(old, size, DbHashes(conn))
            body = AddCheckpoint(old if old <= size else 0, proof, note.to_bytes()).to_bytes()
            request = urllib.request.Request(  # noqa: S310 - the operator configures http(s) witness URLs
                w.url.rstrip("/") + "/add-checkpoint", data=body, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=self.settings.witness_timeout) as response:  # noqa: S310
                    answer = response.read(1 << 16)
            except urllib.error.HTTPError as e:
                with e:
                    text = e.read(1 << 12).decode("utf-8", errors="replace")
                if e.code == 409 and text.strip().isdigit() and int(text.strip()) != old:
                    old = int(text.strip())  # the witness holds another size: ask again from it
                    continue
                return WitnessOutcome(w.url, e.code, False, text.strip()[:500]), None
            except (urllib.error.URLError, OSError) as e:
                return WitnessOutcome(w.url, 0, False, str(getattr(e, "reason", e))), None
            try:
                keys = keys_in_note(SignedNote.parse(note.text + "\n" + answer.decode("utf-8")), w.key, COSIGNATURE_V1)
                cosigned = add_cosignatures(note, answer, keys)
            except (op.ProvenanceError, UnicodeDecodeError) as e:
                return WitnessOutcome(w.url, 200, False, f"an answer that does not verify: {e}"), None
            added = len(cosigned.signatures) > len(note.signatures)
            return WitnessOutcome(w.url, 200, added), (cosigned if added else None)
        return WitnessOutcome(w.url, 409, False, "the witness's size keeps changing"), None
