"""The registry: the only writer of the portal's database (publishing, trust lists, policies, files, scans).

No accounts: signatures are the authorisation. A bundle is accepted only when it verifies against the current trust
list (the library enforces every key's window and status at the time each event claims:
:func:`~ocop_provenance.verify_bundle` with the verified list as keys), when every genesis claims only what its
signer may claim (name, administrative-unit code, GLN, a GTIN of its GS1 Company Prefixes:
:func:`~ocop_provenance.trust.genesis_claims`), and when its root batch meets the policy that governs it, if any
(:meth:`~ocop_provenance.trust.VerifiedPolicy.evaluate`). Then, in one write transaction, each batch of the bundle
is compared with what the portal holds: the same events are a no-op, more events extend the chain, a different event
at a held seq is a fork (refused; the equivocation proof is kept and shown), and a root batch shorter than what is
held is a rollback (refused). Nothing is written unless everything is accepted.

Upload bounds: the caller streams the body into a file with a size cap (:mod:`.api`); the header's event count is
checked before any signature; verification and storing run under a wall-time budget.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import ocop_provenance as op
import sqlalchemy as sa
from ocop_provenance.events import BundleHeader, BundleReader, EquivocationProof, parse_unverified_event
from ocop_provenance.tlog import LogLeaf
from ocop_provenance.trust import (
    AuthorityPin,
    Finding,
    Participant,
    TrustError,
    VerifiedPolicy,
    genesis_claims,
    verify_policy,
)

from . import db
from .db import Database
from .search import fold
from .settings import Settings
from .tlog import LogRequestError, PortalLog
from .trust import TrustState, load_state, policy_for

__all__ = ["PublishError", "PublishResult", "Registry"]

_INSERT_CHUNK = 1000


class PublishError(Exception):
    """A refused upload, trust list or policy: a stable code, an HTTP status and details for the JSON answer.

    Attributes:
        code: A stable code (the library's, such as ``E_SIGNATURE``, or the portal's ``E_FORK``, ``E_ROLLBACK``…).
        message: What was wrong, in plain words.
        status: The HTTP status to answer with.
        details: Extra JSON-ready detail (the library error's location, policy findings, the fork proof).
    """

    def __init__(self, message: str, *, code: str, status: int = 422, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details = details or {}

    @classmethod
    def of(cls, error: op.ProvenanceError, status: int = 422) -> PublishError:
        """Wrap a library error (its code and location kept)."""
        return cls(error.message, code=error.code, status=status, details={"error": error.to_dict()})

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of the refusal."""
        return {"accepted": False, "code": self.code, "message": self.message, **self.details}


class _OverBudgetError(Exception):
    """The wall-time budget of one upload ran out."""


class _RetryError(Exception):
    """The trust list changed while a bundle was verified: verify again with the new one."""


@dataclass(frozen=True, slots=True)
class _Record:
    """What the database indexes about one verified event (its bytes are read again from the upload file)."""

    batch_index: int
    batch_id: bytes
    seq: int
    event_id: bytes
    key_id: bytes
    inputs: tuple[tuple[bytes, int, bytes], ...]
    attachments: tuple[tuple[bytes, int], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchOutcome:
    """What publishing did to one batch of the bundle.

    Attributes:
        batch_id: The batch.
        status: ``new``, ``extended`` or ``unchanged``.
        held: Events the portal held before (0 for a new batch).
        count: Events it holds now.
    """

    batch_id: bytes
    status: str
    held: int
    count: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"batch_id": self.batch_id.hex(), "status": self.status, "held": self.held, "count": self.count}


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishResult:
    """An accepted bundle.

    Attributes:
        root: The bundle's root batch.
        batches: One outcome per batch, in bundle order.
        added: Events stored by this upload.
        policy: The policy the root batch was checked against, if any.
        trust_version: The trust list version it was checked against.
    """

    root: bytes
    batches: tuple[BatchOutcome, ...]
    added: int
    policy: VerifiedPolicy | None
    trust_version: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the body of ``POST /api/v1/bundles``)."""
        return {
            "accepted": True,
            "root": self.root.hex(),
            "added": self.added,
            "batches": [b.to_dict() for b in self.batches],
            "policy": None if self.policy is None else {"name": self.policy.name, "version": self.policy.version},
            "trust_list": {"version": self.trust_version},
        }


@dataclass(slots=True)
class _Collector:
    """Receives each event as :func:`ocop_provenance.verify_bundle` accepts it: claims, policy input, index rows.

    The bundle verifier has already judged the event's key against the trust list at the time the event claims
    (unknown, revoked, expired or not yet valid keys fail there), so the signer is in the list.
    """

    trust: op.VerifiedTrustList
    deadline: float
    keep_root: bool
    records: list[_Record] = field(default_factory=list)
    genesis: dict[bytes, dict[str, Any]] = field(default_factory=dict)
    claims: list[Finding] = field(default_factory=list)
    root_events: list[tuple[op.SignedEvent, Participant | None]] = field(default_factory=list)

    def on_event(self, batch_index: int, event: op.SignedEvent) -> None:
        if time.monotonic() > self.deadline:
            raise _OverBudgetError
        found = self.trust.lookup(event.key_id)
        assert found is not None  # verify_bundle accepted the key from this list
        body = event.body
        refs: tuple[tuple[bytes, int, bytes], ...] = ()
        if isinstance(body, op.Genesis):
            self.genesis[event.event_id] = _genesis_columns(body, event.key_id)
            # Who may claim what (issue 10, finding 1): a genesis claims only its signer's name, codes and GTINs.
            self.claims += [
                Finding(
                    code=code,
                    message=message,
                    batch_id=event.batch_id,
                    seq=event.seq,
                    event_id=event.event_id,
                    key_id=event.key_id,
                    step=event.step,
                    field=field_name,
                )
                for code, field_name, message in genesis_claims(found[0], body)
            ]
        elif body.inputs:
            refs = tuple((r.batch_id, r.seq, r.head) for r in body.inputs)
        files = tuple((a.sha256, a.size) for a in body.attachments) if body.attachments else ()
        self.records.append(_Record(batch_index, event.batch_id, event.seq, event.event_id, event.key_id, refs, files))
        if self.keep_root and batch_index == 0:
            self.root_events.append((event, found[0]))


def _genesis_columns(body: op.Genesis, key_id: bytes) -> dict[str, Any]:
    product, producer = body.product, body.producer
    return {
        "gtin": product.gtin,
        "lot": product.lot,
        "product_name": product.name,
        "producer_name": producer.name,
        "producer_province": producer.province,
        "stars": None if body.certificate is None else body.certificate.stars,
        "genesis_key_id": key_id,
        "search_text": fold(
            product.name, product.lot, product.gtin, producer.name, producer.commune, producer.province
        ),
    }


@dataclass(slots=True)
class _Checked:
    header: BundleHeader
    records: list[_Record]
    genesis: dict[bytes, dict[str, Any]]
    policy: VerifiedPolicy | None


class Registry:
    """Writes the portal's database; keeps the current :class:`TrustState`."""

    def __init__(self, database: Database, settings: Settings) -> None:
        """Wrap the database (migrated already) with the settings."""
        self.db = database
        self.settings = settings
        self.log = PortalLog(database, settings)
        self._state: TrustState | None = None

    # ---- the trust state -------------------------------------------------------------------------------------

    def state(self, *, refresh: bool = False) -> TrustState:
        """Return the current trust state, re-read from the database when it is older than the refresh interval."""
        state = self._state
        if refresh or state is None or time.monotonic() - state.loaded_at > self.settings.trust_refresh_seconds:
            state = self._load()
            self._state = state
        return state

    def fresh_state(self) -> TrustState | None:
        """The trust state if it is younger than the refresh interval, else None (never touches the database)."""
        state = self._state
        if state is None or time.monotonic() - state.loaded_at > self.settings.trust_refresh_seconds:
            return None
        return state

    def _load(self) -> TrustState:
        with self.db.read() as conn:
            lists = conn.execute(sa.select(db.trust_lists.c.raw).order_by(db.trust_lists.c.version)).scalars().all()
            rows = conn.execute(
                sa.select(db.policies.c.name, db.policies.c.raw).order_by(db.policies.c.name, db.policies.c.version)
            ).all()
        return load_state(
            [bytes(raw) for raw in lists],
            [(name, bytes(raw)) for name, raw in rows],
            authority=self.settings.authority,
            now=self.settings.clock(),
            loaded_at=time.monotonic(),
        )

    def install_trust_list(self, data: bytes) -> tuple[op.VerifiedTrustList, bool]:
        """Verify a signed trust list against the one held (or the pinned authority keys) and make it current.

        As the library's trust store does: from the held list when there is one (the trusted root, even expired:
        it carries its authority forward), else from the pinned keys; an older list is a rollback.

        Returns:
            The verified list and whether it was new (False: the same list was already current).

        Raises:
            PublishError: It does not verify (``E_TRUST_*``, ``E_NO_AUTHORITY`` when there is no list and no pin).
        """
        state = self.state(refresh=True)
        anchor: op.VerifiedTrustList | AuthorityPin | None = state.trust or self.settings.authority
        if anchor is None:
            raise PublishError(
                "the portal holds no trust list and no authority keys are pinned (ocop serve --authority-key)",
                code="E_NO_AUTHORITY",
                status=409,
            )
        try:
            trust = op.verify_trust_list(data, anchor, now=self.settings.clock())
        except TrustError as e:
            status = 409 if e.code in ("E_TRUST_ROLLBACK", "E_TRUST_CONFLICT") else 422
            raise PublishError.of(e, status) from e
        except op.ProvenanceError as e:
            raise PublishError.of(e) from e
        if state.trust is not None and trust.object_id == state.trust.object_id:
            return trust, False
        now = self.settings.clock()
        with self.db.write() as conn:
            held = conn.execute(sa.select(sa.func.max(db.trust_lists.c.version))).scalar()
            if held is not None and held >= trust.version:
                raise PublishError("another trust list was installed meanwhile", code="E_TRUST_ROLLBACK", status=409)
            conn.execute(
                db.trust_lists.insert().values(
                    version=trust.version, object_id=trust.object_id, raw=data, installed_at=now
                )
            )
            _index_participants(conn, trust)
        self.state(refresh=True)
        return trust, True

    def install_policy(self, name: str, data: bytes) -> tuple[VerifiedPolicy, bool]:
        """Verify a signed policy against the current trust list's authority and make it current for ``name``.

        Returns:
            The verified policy and whether it was new.

        Raises:
            PublishError: It does not verify, names another kind (``E_POLICY_NAME``), or is older than or conflicts
                with the one held (``E_POLICY_ROLLBACK``, ``E_POLICY_CONFLICT``).
        """
        state = self.state(refresh=True)
        if state.trust is None:
            raise PublishError("install a trust list first", code="E_NO_TRUST_LIST", status=409)
        try:
            policy = verify_policy(data, state.trust, now=self.settings.clock())
        except op.ProvenanceError as e:
            raise PublishError.of(e) from e
        if policy.name != name:
            raise PublishError(f"the policy is {policy.name!r}, not {name!r}", code="E_POLICY_NAME", status=422)
        with self.db.write() as conn:
            held = conn.execute(
                sa.select(db.policies.c.version, db.policies.c.object_id)
                .where(db.policies.c.name == name)
                .order_by(db.policies.c.version.desc())
                .limit(1)
            ).first()
            if held is not None:
                if held.version == policy.version:
                    if bytes(held.object_id) != policy.object_id:
                        raise PublishError(
                            f"another policy {name} version {policy.version} is held",
                            code="E_POLICY_CONFLICT",
                            status=409,
                        )
                    return policy, False
                if held.version > policy.version:
                    raise PublishError(
                        f"version {policy.version} is older than the held version {held.version}",
                        code="E_POLICY_ROLLBACK",
                        status=409,
                    )
            conn.execute(
                db.policies.insert().values(
                    name=name,
                    version=policy.version,
                    object_id=policy.object_id,
                    raw=data,
                    installed_at=self.settings.clock(),
                )
            )
        self.state(refresh=True)
        return policy, True

    # ---- publishing ------------------------------------------------------------------------------------------

    def publish(self, path: Path, *, started: float | None = None) -> PublishResult:
        """Verify the bundle in ``path`` and store what it adds, or refuse it and change nothing.

        Args:
            path: The uploaded bundle (a private file: it is read twice, to verify and then to store).
            started: ``time.monotonic()`` when the upload began (the wall-time budget counts from there).

        Returns:
            What was stored.

        Raises:
            PublishError: The refusal (the registry is unchanged, except that a fork's proof is kept).
        """
        deadline = (time.monotonic() if started is None else started) + self.settings.limits.publish_seconds
        for _ in range(3):
            state = self.state(refresh=True)
            checked = self._verify(path, state, deadline)
            try:
                return self._store(path, checked, state, deadline)
            except (_RetryError, sa.exc.IntegrityError):
                continue  # another writer changed the batch or the trust list meanwhile: check again
        raise PublishError("the registry was too busy; try again", code="E_BUSY", status=503)

    def _verify(self, path: Path, state: TrustState, deadline: float) -> _Checked:
        trust = state.trust
        if trust is None:
            raise PublishError("the portal has no trust list yet", code="E_NO_TRUST_LIST", status=409)
        if state.problem is not None:
            raise PublishError.of(state.problem, 503)
        limits = self.settings.limits
        try:
            with path.open("rb") as f:
                reader = BundleReader(f)
                header = reader.header
                if header.total_events > limits.max_events:
                    raise PublishError(
                        f"the bundle declares {header.total_events} events; this portal accepts {limits.max_events}",
                        code="E_TOO_MANY_EVENTS",
                        status=413,
                    )
                first = next(iter(reader.events()))[1]
            genesis = parse_unverified_event(first).body
            # The root's genesis picks the policy; verification below checks that very event.
            policy = policy_for(state.policies, genesis.product) if isinstance(genesis, op.Genesis) else None
            collector = _Collector(trust=trust, deadline=deadline, keep_root=policy is not None)
            with path.open("rb") as f:
                # With the verified list as keys, every event's key must be usable at the time it claims.
                op.verify_bundle(
                    f, state.options(self.settings.clock()), root=op.ANY_BATCH, on_event=collector.on_event
                )
        except _OverBudgetError as e:
            raise PublishError("verification took longer than the upload budget", code="E_TIMEOUT", status=408) from e
        except op.ProvenanceError as e:
            raise PublishError.of(e) from e
        if collector.claims:
            claim = collector.claims[0]
            raise PublishError(
                f"the record claims what its signer may not claim: {claim.message}",
                code=claim.code,
                details={"findings": [f.to_dict() for f in collector.claims]},
            )
        if policy is not None:
            findings = policy.evaluate(collector.root_events, batch_id=header.root)
            if findings:
                raise PublishError(
                    f"the record does not meet policy {policy.name} v{policy.version}: {findings[0].message}",
                    code=findings[0].code,
                    details={"policy": policy.name, "findings": [f.to_dict() for f in findings]},
                )
        return _Checked(header, collector.records, collector.genesis, policy)

    def _store(self, path: Path, checked: _Checked, state: TrustState, deadline: float) -> PublishResult:
        assert state.trust is not None
        header, now = checked.header, self.settings.clock()
        fork: PublishError | None = None
        outcomes: list[BatchOutcome] = []
        added = 0
        with self.db.write() as conn:
            held_version = conn.execute(sa.select(sa.func.max(db.trust_lists.c.version))).scalar()
            if held_version != state.trust.version:
                raise _RetryError
            starts = _batch_starts(checked.records)
            held: list[int] = []
            unlogged: list[tuple[bytes, int, bytes]] = []
            for index, batch in enumerate(header.batches):
                records = checked.records[starts[index] : starts[index] + batch.count]
                have = _held_count(conn, batch.batch_id)
                fork = _find_fork(conn, batch.batch_id, records[:have], path=path, batch_index=index, now=now)
                if fork is not None:
                    break
                logged = _check_logged(self.log, conn, records, root=index == 0)
                if logged is None and self.log.enabled and batch.count <= have:
                    unlogged.append(_held_head(conn, batch.batch_id))  # held from before the log was kept
                if index == 0 and batch.count < have:
                    raise PublishError(
                        f"the portal holds {have} events of this batch and the bundle only {batch.count}: a rollback",
                        code="E_ROLLBACK",
                        status=409,
                        details={"held": have, "bundle": batch.count},
                    )
                held.append(have)
            if fork is None:
                added = self._append(conn, path, checked, held=held, now=now, deadline=deadline)
                # Every head this publication moves is logged in the same transaction (docs/transparency.md).
                moved = [
                    (b.batch_id, b.count - 1, b.head) for b, h in zip(header.batches, held, strict=True) if b.count > h
                ]
                try:
                    self.log.append(conn, moved + unlogged, now)
                except LogRequestError as e:
                    raise PublishError(e.message, code=e.code, status=e.status) from e
                outcomes = [
                    BatchOutcome(
                        batch_id=b.batch_id,
                        status="new" if h == 0 else ("extended" if b.count > h else "unchanged"),
                        held=h,
                        count=max(h, b.count),
                    )
                    for b, h in zip(header.batches, held, strict=True)
                ]
        if fork is not None:
            raise fork  # the proof was committed with the transaction above; nothing else was written
        return PublishResult(
            root=header.root,
            batches=tuple(outcomes),
            added=added,
            policy=checked.policy,
            trust_version=state.trust.version,
        )

    def _append(
        self, conn: sa.Connection, path: Path, checked: _Checked, *, held: list[int], now: datetime, deadline: float
    ) -> int:
        header = checked.header
        known = set(conn.execute(sa.select(db.public_keys.c.key_id)).scalars().all())
        new_keys = [{"key_id": k.key_id, "raw": k.raw} for k in header.keys if k.key_id not in known]
        if new_keys:
            conn.execute(db.public_keys.insert(), new_keys)
        for index, batch in enumerate(header.batches):
            if held[index] == 0:
                conn.execute(
                    db.batches.insert().values(
                        batch_id=batch.batch_id,
                        batch_ref=batch.batch_id[:8],
                        head_seq=batch.count - 1,
                        head_id=batch.head,
                        is_root=index == 0,
                        first_published=now,
                        last_published=now,
                        **checked.genesis[batch.batch_id],
                    )
                )
            elif batch.count > held[index] or index == 0:
                values: dict[str, Any] = {"last_published": now}
                if batch.count > held[index]:
                    values.update(head_seq=batch.count - 1, head_id=batch.head)
                if index == 0:
                    values["is_root"] = True
                conn.execute(db.batches.update().where(db.batches.c.batch_id == batch.batch_id).values(**values))
        rows: list[tuple[Any, ...]] = []
        refs: list[tuple[Any, ...]] = []
        attachments: list[tuple[Any, ...]] = []
        added = 0
        for record, raw in _new_events(path, checked.records, held):
            if time.monotonic() > deadline:
                raise PublishError("storing took longer than the upload budget", code="E_TIMEOUT", status=408)
            rows.append((record.batch_id, record.seq, record.event_id, record.key_id, raw))
            refs += [(record.batch_id, record.seq, b, s, h) for b, s, h in record.inputs]
            attachments += [
                (record.batch_id, record.seq, i, sha, size) for i, (sha, size) in enumerate(record.attachments)
            ]
            added += 1
            if len(rows) >= _INSERT_CHUNK:
                self._flush(conn, rows, refs, attachments)
        self._flush(conn, rows, refs, attachments)
        return added

    def _flush(self, conn: sa.Connection, *batches: list[tuple[Any, ...]]) -> None:
        # The tuples follow the column order of db.events, db.inputs and db.attachment_refs.
        for table, items in zip((db.events, db.inputs, db.attachment_refs), batches, strict=True):
            self.db.insert_many(conn, table, items)
            items.clear()

    # ---- files and scans -------------------------------------------------------------------------------------

    def store_file(self, sha256: bytes, content: bytes) -> bool:
        """Keep an attachment's file, if a stored event names a file of that hash and size.

        Returns:
            True if it was stored now, False if it was already held.

        Raises:
            PublishError: The content's hash is not ``sha256`` (``E_HASH``), or no stored event names it
                (``E_NOT_ATTACHED``, 404).
        """
        if hashlib.sha256(content).digest() != sha256:
            raise PublishError("the file's SHA-256 is not the one in the URL", code="E_HASH", status=422)
        with self.db.write() as conn:
            sizes = set(
                conn.execute(sa.select(db.attachment_refs.c.size).where(db.attachment_refs.c.sha256 == sha256))
                .scalars()
                .all()
            )
            if len(content) not in sizes:
                raise PublishError(
                    "no published event attaches a file with this hash and size", code="E_NOT_ATTACHED", status=404
                )
            if conn.execute(sa.select(db.files.c.sha256).where(db.files.c.sha256 == sha256)).first() is not None:
                return False
            conn.execute(db.files.insert().values(sha256=sha256, content=content, uploaded_at=self.settings.clock()))
        return True

    def count_scan(self, link: str) -> tuple[int, datetime]:
        """Count one look-up of a serialised unit's code; return the count and the first look-up's time.

        Nothing about who looked is stored: the link, a counter and two times.
        """
        now = self.settings.clock()
        insert: Callable[..., Any]
        if self.db.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415 - the dialect's own upsert
        else:
            from sqlalchemy.dialects.sqlite import insert  # noqa: PLC0415
        stmt = insert(db.scans).values(link=link, count=1, first_at=now, last_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[db.scans.c.link], set_={"count": db.scans.c.count + 1, "last_at": now}
        ).returning(db.scans.c.count, db.scans.c.first_at)
        with self.db.write() as conn:
            count, first = conn.execute(stmt).one()
        return int(count), first


def _batch_starts(records: list[_Record]) -> list[int]:
    starts: list[int] = []
    current = -1
    for i, r in enumerate(records):
        if r.batch_index != current:
            starts.append(i)
            current = r.batch_index
    return starts


def _held_count(conn: sa.Connection, batch_id: bytes) -> int:
    head = conn.execute(sa.select(db.batches.c.head_seq).where(db.batches.c.batch_id == batch_id)).scalar()
    return 0 if head is None else int(head) + 1


def _find_fork(
    conn: sa.Connection, batch_id: bytes, overlap: list[_Record], *, path: Path, batch_index: int, now: datetime
) -> PublishError | None:
    """Compare the bundle's events with the held ones at the same seqs; keep a proof of the first difference."""
    if not overlap:
        return None
    held = dict(
        conn.execute(
            sa.select(db.events.c.seq, db.events.c.event_id).where(
                db.events.c.batch_id == batch_id, db.events.c.seq <= overlap[-1].seq
            )
        ).all()
    )
    for record in overlap:
        if bytes(held[record.seq]) == record.event_id:
            continue
        mine = conn.execute(
            sa.select(db.events.c.raw).where(db.events.c.batch_id == batch_id, db.events.c.seq == record.seq)
        ).scalar_one()
        theirs = _raw_at(path, batch_index, record.seq)
        proof = EquivocationProof.of(parse_unverified_event(bytes(mine)), parse_unverified_event(theirs))
        proof_bytes = proof.to_bytes()
        proof_id = hashlib.sha256(proof_bytes).digest()
        if conn.execute(sa.select(db.forks.c.proof_id).where(db.forks.c.proof_id == proof_id)).first() is None:
            conn.execute(
                db.forks.insert().values(
                    proof_id=proof_id, batch_id=batch_id, seq=record.seq, proof=proof_bytes, detected_at=now
                )
            )
        return PublishError(
            f"the bundle forks batch {batch_id.hex()[:16]} at seq {record.seq}: the portal holds another signed "
            "event there; the equivocation proof is kept and shown on the batch's page",
            code="E_FORK",
            status=409,
            details={
                "batch_id": batch_id.hex(),
                "seq": record.seq,
                "proof": base64.b64encode(proof_bytes).decode("ascii"),
            },
        )
    return None


def _held_head(conn: sa.Connection, batch_id: bytes) -> tuple[bytes, int, bytes]:
    seq, head = conn.execute(
        sa.select(db.batches.c.head_seq, db.batches.c.head_id).where(db.batches.c.batch_id == batch_id)
    ).one()
    return batch_id, int(seq), bytes(head)


def _check_logged(log: PortalLog, conn: sa.Connection, records: list[_Record], *, root: bool) -> LogLeaf | None:
    """Refuse a batch whose chain does not hold the head the log holds for it; return that logged leaf.

    The log, not only the events table, is what the portal promised: even if the events were restored from an old
    backup, a re-signed tail is refused here (``E_LOG_FORK``), and a root batch shorter than its logged head is a
    rollback (``E_ROLLBACK``).
    """
    if not records:
        return None
    found = log.logged_head(conn, records[0].batch_id)
    if found is None:
        return None
    index, leaf = found
    where = {"batch_id": leaf.batch_id.hex(), "seq": leaf.seq, "logged_head": leaf.head_id.hex(), "leaf_index": index}
    if leaf.seq < len(records):
        if records[leaf.seq].event_id != leaf.head_id:
            raise PublishError(
                f"the bundle's batch {leaf.batch_id.hex()[:16]} does not extend the head the transparency log holds "
                f"for it at seq {leaf.seq} (leaf {index}): a re-signed history",
                code="E_LOG_FORK",
                status=409,
                details=where,
            )
    elif root:
        raise PublishError(
            f"the transparency log holds seq {leaf.seq} of this batch and the bundle only {len(records)} events: "
            "a rollback",
            code="E_ROLLBACK",
            status=409,
            details={**where, "held": leaf.seq + 1, "bundle": len(records)},
        )
    return leaf


def _raw_at(path: Path, batch_index: int, seq: int) -> bytes:
    with path.open("rb") as f:
        for index, raw in _numbered(BundleReader(f)):
            if index == (batch_index, seq):
                return raw
    raise AssertionError("the verified bundle lost an event")  # pragma: no cover


def _numbered(reader: BundleReader) -> Iterator[tuple[tuple[int, int], bytes]]:
    seq, current = 0, -1
    for batch_index, raw in reader.events():
        seq = seq + 1 if batch_index == current else 0
        current = batch_index
        yield (batch_index, seq), raw


def _new_events(path: Path, records: list[_Record], held: list[int]) -> Iterator[tuple[_Record, bytes]]:
    """The events beyond what is held, with their bytes exactly as verified (the same private file, read again)."""
    with path.open("rb") as f:
        for record, ((batch_index, seq), raw) in zip(records, _numbered(BundleReader(f)), strict=True):
            assert (batch_index, seq) == (record.batch_index, record.seq)
            if seq >= held[batch_index]:
                yield record, raw


def _index_participants(conn: sa.Connection, trust: op.VerifiedTrustList) -> None:
    """Rebuild the current list's participant and key index (for the catalogue's joins and search)."""
    conn.execute(db.participant_keys.delete())
    conn.execute(db.participants.delete())
    people = [
        {
            "participant_id": p.id,
            "name": p.name,
            "role": p.role,
            "admin_code": p.admin_code,
            "search_text": fold(p.name, p.id),
        }
        for p in trust.participants
    ]
    keys = [{"key_id": k.key_id, "participant_id": p.id} for p in trust.participants for k in p.keys]
    if people:
        conn.execute(db.participants.insert(), people)
    if keys:
        conn.execute(db.participant_keys.insert(), keys)
