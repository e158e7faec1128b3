"""Reads: everything the pages and the API ask of the database (the writes are :mod:`.registry`'s)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import ocop_provenance as op
import sqlalchemy as sa
from ocop_provenance.events import BundleBatch, BundleHeader, bundle_order, write_bundle
from sqlalchemy.engine import Connection

from . import db
from .search import like_patterns

__all__ = [
    "batch_row",
    "by_gtin",
    "catalogue",
    "consumers_of",
    "event_raws",
    "export_bundle",
    "file_content",
    "files_held",
    "find_batches",
    "forks_of",
    "inputs_of",
    "participant_batches",
    "participant_row",
    "producers",
    "scan_of",
    "trust_list_raws",
]

_BATCH_COLUMNS = (
    db.batches.c.batch_id,
    db.batches.c.gtin,
    db.batches.c.lot,
    db.batches.c.product_name,
    db.batches.c.producer_name,
    db.batches.c.producer_province,
    db.batches.c.stars,
    db.batches.c.genesis_key_id,
    db.batches.c.head_seq,
    db.batches.c.head_id,
    db.batches.c.first_published,
    db.batches.c.last_published,
    db.participants.c.participant_id,
    db.participants.c.name.label("participant_name"),
    db.participants.c.role.label("participant_role"),
    db.participants.c.admin_code.label("participant_admin_code"),
)


def _with_participant(query: sa.Select[Any]) -> sa.Select[Any]:
    return query.select_from(
        db.batches.outerjoin(
            db.participant_keys, db.participant_keys.c.key_id == db.batches.c.genesis_key_id
        ).outerjoin(db.participants, db.participants.c.participant_id == db.participant_keys.c.participant_id)
    )


def find_batches(conn: Connection, *, gtin: str | None, batch_ref: bytes | None, lot: str) -> Sequence[Any]:
    """The batches a Digital Link names: by GTIN and lot, or by batch reference and lot (several can share them)."""
    where = db.batches.c.gtin == gtin if gtin is not None else db.batches.c.batch_ref == batch_ref
    return conn.execute(
        sa.select(db.batches.c.batch_id, db.batches.c.head_seq, db.batches.c.head_id).where(
            where, db.batches.c.lot == lot
        )
    ).all()


def batch_row(conn: Connection, batch_id: bytes) -> Any:
    """A batch's index row with the trust-list participant of its genesis signer, or None."""
    return conn.execute(_with_participant(sa.select(*_BATCH_COLUMNS)).where(db.batches.c.batch_id == batch_id)).first()


def event_raws(conn: Connection, batch_id: bytes) -> list[bytes]:
    """A batch's events as signed, in chain order."""
    rows = conn.execute(
        sa.select(db.events.c.raw).where(db.events.c.batch_id == batch_id).order_by(db.events.c.seq)
    ).scalars()
    return [bytes(r) for r in rows]


def event_id_at(conn: Connection, batch_id: bytes, seq: int) -> bytes | None:
    """The id of the event at ``seq`` of a batch, or None."""
    value = conn.execute(
        sa.select(db.events.c.event_id).where(db.events.c.batch_id == batch_id, db.events.c.seq == seq)
    ).scalar()
    return None if value is None else bytes(value)


def inputs_of(conn: Connection, batch_id: bytes) -> Sequence[Any]:
    """One step back: each consumed batch, with what the portal knows of it (None columns if not published)."""
    return conn.execute(
        sa.select(
            db.inputs.c.seq,
            db.inputs.c.input_batch_id,
            db.inputs.c.input_seq,
            db.batches.c.product_name,
            db.batches.c.lot,
            db.batches.c.producer_name,
        )
        .select_from(db.inputs.outerjoin(db.batches, db.batches.c.batch_id == db.inputs.c.input_batch_id))
        .where(db.inputs.c.batch_id == batch_id)
        .order_by(db.inputs.c.seq)
    ).all()


def consumers_of(conn: Connection, batch_id: bytes) -> Sequence[Any]:
    """One step forward: the published batches made from this one."""
    return conn.execute(
        sa.select(db.inputs.c.batch_id, db.inputs.c.seq, db.batches.c.product_name, db.batches.c.lot)
        .select_from(db.inputs.join(db.batches, db.batches.c.batch_id == db.inputs.c.batch_id))
        .where(db.inputs.c.input_batch_id == batch_id)
        .order_by(db.batches.c.first_published)
    ).all()


def forks_of(conn: Connection, batch_id: bytes) -> Sequence[Any]:
    """Equivocation proofs kept for a batch, oldest first."""
    return conn.execute(
        sa.select(db.forks.c.seq, db.forks.c.proof, db.forks.c.detected_at)
        .where(db.forks.c.batch_id == batch_id)
        .order_by(db.forks.c.detected_at, db.forks.c.seq)
    ).all()


def files_held(conn: Connection, hashes: Sequence[bytes]) -> set[bytes]:
    """Which of ``hashes`` the portal holds the file of."""
    if not hashes:
        return set()
    rows = conn.execute(sa.select(db.files.c.sha256).where(db.files.c.sha256.in_(list(hashes)))).scalars()
    return {bytes(r) for r in rows}


def file_content(conn: Connection, sha256: bytes) -> bytes | None:
    """An uploaded attachment's bytes, or None."""
    value = conn.execute(sa.select(db.files.c.content).where(db.files.c.sha256 == sha256)).scalar()
    return None if value is None else bytes(value)


def scan_of(conn: Connection, link: str) -> Any:
    """A serialised unit's look-up count and times, or None."""
    return conn.execute(
        sa.select(db.scans.c.count, db.scans.c.first_at, db.scans.c.last_at).where(db.scans.c.link == link)
    ).first()


def catalogue(conn: Connection, query: str | None, *, limit: int = 50, offset: int = 0) -> Sequence[Any]:
    """Published batches, newest first, optionally matching ``query`` with or without diacritics."""
    stmt = _with_participant(sa.select(*_BATCH_COLUMNS))
    for pattern in like_patterns(query or ""):
        stmt = stmt.where(
            sa.or_(
                db.batches.c.search_text.like(pattern, escape="\\"),
                db.participants.c.search_text.like(pattern, escape="\\"),
            )
        )
    return conn.execute(
        stmt.order_by(db.batches.c.last_published.desc(), db.batches.c.batch_id).limit(limit).offset(offset)
    ).all()


def by_gtin(conn: Connection, gtin: str, lot: str | None, *, limit: int = 50, offset: int = 0) -> Sequence[Any]:
    """Published batches of one GTIN (and lot), newest first (an online shop's look-up)."""
    stmt = _with_participant(sa.select(*_BATCH_COLUMNS)).where(db.batches.c.gtin == gtin)
    if lot is not None:
        stmt = stmt.where(db.batches.c.lot == lot)
    return conn.execute(
        stmt.order_by(db.batches.c.last_published.desc(), db.batches.c.batch_id).limit(limit).offset(offset)
    ).all()


def producers(conn: Connection, query: str | None = None) -> Sequence[Any]:
    """The current trust list's participants that opened a published batch, with their batch counts."""
    count = sa.func.count(db.batches.c.batch_id).label("batches")
    stmt = (
        sa.select(
            db.participants.c.participant_id,
            db.participants.c.name,
            db.participants.c.role,
            db.participants.c.admin_code,
            count,
        )
        .select_from(
            db.participants.join(
                db.participant_keys, db.participant_keys.c.participant_id == db.participants.c.participant_id
            ).join(db.batches, db.batches.c.genesis_key_id == db.participant_keys.c.key_id)
        )
        .group_by(
            db.participants.c.participant_id,
            db.participants.c.name,
            db.participants.c.role,
            db.participants.c.admin_code,
        )
        .order_by(db.participants.c.name)
    )
    for pattern in like_patterns(query or ""):
        stmt = stmt.where(db.participants.c.search_text.like(pattern, escape="\\"))
    return conn.execute(stmt).all()


def participant_row(conn: Connection, participant_id: str) -> Any:
    """A participant of the current trust list, or None."""
    return conn.execute(
        sa.select(
            db.participants.c.participant_id,
            db.participants.c.name,
            db.participants.c.role,
            db.participants.c.admin_code,
        ).where(db.participants.c.participant_id == participant_id)
    ).first()


def participant_batches(conn: Connection, participant_id: str) -> Sequence[Any]:
    """The published batches whose genesis a participant's key signed, newest first."""
    return conn.execute(
        _with_participant(sa.select(*_BATCH_COLUMNS))
        .where(db.participants.c.participant_id == participant_id)
        .order_by(db.batches.c.last_published.desc())
    ).all()


def lineage_order(conn: Connection, root: bytes) -> list[bytes]:
    """The root, then every upstream batch once, each after every batch that consumes it (a bundle's order)."""

    def inputs_of(batch: bytes) -> list[bytes]:
        rows = conn.execute(
            sa.select(db.inputs.c.input_batch_id)
            .where(db.inputs.c.batch_id == batch)
            .group_by(db.inputs.c.input_batch_id)
            .order_by(sa.func.min(db.inputs.c.seq))
        )
        return [bytes(up) for (up,) in rows]

    return bundle_order(root, inputs_of)


def export_bundle(conn: Connection, root: bytes) -> bytes | None:
    """A bundle of a batch and its whole lineage as held, from the stored bytes (None if the batch is unknown)."""
    if batch_row(conn, root) is None:
        return None
    order = lineage_order(conn, root)
    entries: list[BundleBatch] = []
    raws: list[bytes] = []
    signers: set[bytes] = set()
    for b in order:
        rows = conn.execute(
            sa.select(db.events.c.event_id, db.events.c.key_id, db.events.c.raw)
            .where(db.events.c.batch_id == b)
            .order_by(db.events.c.seq)
        ).all()
        entries.append(BundleBatch(batch_id=b, count=len(rows), head=bytes(rows[-1].event_id)))
        raws += [bytes(r.raw) for r in rows]
        signers.update(bytes(r.key_id) for r in rows)
    keys = conn.execute(
        sa.select(db.public_keys.c.raw)
        .where(db.public_keys.c.key_id.in_(sorted(signers)))
        .order_by(db.public_keys.c.key_id)
    ).scalars()
    header = BundleHeader(root=root, batches=tuple(entries), keys=tuple(op.PublicKey.from_raw(bytes(k)) for k in keys))
    out = io.BytesIO()
    write_bundle(out, header, raws)
    return out.getvalue()


def trust_list_raws(conn: Connection) -> list[bytes]:
    """Every trust list the portal accepted, as signed, oldest first (the chain from the pinned authority keys)."""
    rows = conn.execute(sa.select(db.trust_lists.c.raw).order_by(db.trust_lists.c.version)).scalars()
    return [bytes(raw) for raw in rows]
