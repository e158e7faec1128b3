"""Bulk signing: many steps of one batch signed and stored in one transaction, in this process or in others.

An event's id is SHA-256 of its ToBeSigned bytes, which do not hold the signature, so every step is built,
checked, encoded and linked to the previous one without waiting for signatures (:meth:`BulkSigner._prepare_chunks`).
The signatures are then made here (:meth:`BulkSigner._sign_here`) or by signing processes
(:meth:`BulkSigner._sign_in_processes`); either way the rows are written ``chunk`` at a time into the one
transaction, in order. See docs/adr/0012-store-bulk-signing-path.md and docs/adr/0014-parallel-bulk-signing.md.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime

from .._chain import ChainHead, in_time_order
from .._cose import protected_header, unsigned_sign1
from .._errors import ProvenanceError, SignatureError
from .._fields import event_time_text
from .._keys import PrivateKey, Signer
from .._model import Attachment, DataValue, InputRef, Location, Step
from .._parallel import SigningPool, min_parallel_events, resolve_workers
from .._wire import EVENT_TYP, encode_signable
from ._append import Appender
from ._db import INSERT_EVENT, INSERT_INPUT, Connection, Database, not_found
from ._guard import RollbackGuard
from ._keyring import KeyStore
from ._read import Reader

__all__ = ["BulkSigner", "NewStep"]


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

    def write(self, conn: Connection, signatures: list[bytes]) -> None:
        """Insert the rows, each with its signature appended to its COSE bytes."""
        conn.executemany(
            INSERT_EVENT,
            [(*row[:7], row[7] + signature) for row, signature in zip(self.rows, signatures, strict=True)],
        )
        if self.input_rows:
            conn.executemany(INSERT_INPUT, self.input_rows)


class BulkSigner:
    """What :meth:`~ocop_provenance.Ledger.add_steps` does."""

    def __init__(self, db: Database, keys: KeyStore, reader: Reader, appender: Appender, guard: RollbackGuard) -> None:
        """Write to ``db``, reading heads through ``reader``, checking steps with ``appender``'s rules and ``guard``."""
        self._db = db
        self._keys = keys
        self._reader = reader
        self._rules = appender
        self._guard = guard

    def add_steps(
        self,
        batch_id: bytes,
        signer: Signer,
        steps: Iterable[NewStep],
        *,
        chunk: int,
        workers: int | str | None,
    ) -> ChainHead:
        """Sign and store many steps of one batch in one transaction; return the new head."""
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
        with self._db.write("adding steps") as conn:
            head = self._reader.head_of(conn, batch_id)
            if head is None:
                raise not_found(batch_id)
            self._guard.check_signing(conn, batch_id, head.seq + 1)
            self._keys.add(conn, signer.public_key)
            state = _BulkState(batch_id, signer.public_key.key_id, head.seq, head.event_id, head.time)
            chunks = self._prepare_chunks(conn, state, specs, chunk)
            if parallel:
                assert isinstance(signer, PrivateKey)
                self._sign_in_processes(conn, state, chunks, signer, max(1, processes - 1))
            else:
                self._sign_here(conn, state, chunks, signer)
            head = ChainHead(batch_id=batch_id, seq=state.seq, event_id=state.prev, time=state.prev_time)
            self._db.heads[batch_id] = head
        return head

    def _prepare_chunks(
        self, conn: Connection, state: _BulkState, specs: Iterator[NewStep], size: int
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

    def _sign_here(self, conn: Connection, state: _BulkState, chunks: Iterator[_Chunk], signer: Signer) -> None:
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
        conn: Connection,
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
        conn: Connection,
        state: _BulkState,
        spec: NewStep,
        index: int,
    ) -> tuple[Step, bytes, str]:
        if type(spec) is not NewStep:
            raise TypeError("add_steps takes NewStep values")
        seq, prev, prev_time = state.seq + 1, state.prev, state.prev_time
        rules = self._rules
        try:
            refs: tuple[InputRef, ...] = ()
            if spec.inputs:
                refs = tuple(rules.input_ref(conn, input_id) for input_id in spec.inputs)
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
            if not in_time_order(seq - 1, prev_time, body.time, rules.tolerance):
                head = ChainHead(batch_id=state.batch_id, seq=seq - 1, event_id=prev, time=prev_time)
                rules.check_extends(head, body, {"field": "time"})
            if refs:
                rules.check_inputs(conn, body, {})
            payload = encode_signable(body)
        except ProvenanceError as e:
            raise e.locate(position=index) from None
        return body, payload, event_time_text(body.time)
