"""Pure chain verification: fail-closed by default, a full report on request (docs/format.md §Verification).

No clock, no files, no environment: the caller passes ``now`` and the tolerance. The checks for each event, in
the order the specification lists them:

1. envelope: a tagged COSE_Sign1 of the event content type, EdDSA, empty unprotected header;
2. payload: the one deterministic encoding of a valid event;
3. signer: a trusted key whose id is the header's kid (kid is a hint: every key with that id is tried);
4. signature over the ToBeSigned bytes;
5. genesis: the first event opens the batch (seq 0) and is the batch the caller expects;
6. batch: every later event names that batch;
7. seq: exactly one more than the previous event (the same seq with another id is a fork);
8. link: ``prev`` is the previous event's id;
9. time: not earlier than the previous step's minus the tolerance (the genesis sets no floor), and not after ``now``
   plus the tolerance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain, islice

from . import _cbor
from ._errors import (
    ChainError,
    ForkError,
    FormatError,
    ProvenanceError,
    SignatureError,
    UntrustedKeyError,
    VerificationError,
)
from ._keys import PublicKey
from ._model import SignedEvent, Step, in_time_order
from ._parallel import DEFAULT_CHUNK_SIZE, ChunkPool, ChunkResult, Record, min_parallel_events, resolve_workers
from ._wire import decode_event

__all__ = [
    "DEFAULT_TIME_TOLERANCE",
    "ChainReport",
    "ChainSummary",
    "ChainVerifier",
    "EquivocationProof",
    "KeyRing",
    "LiteChain",
    "find_forks",
    "report_chain",
    "verify_chain",
]

#: How far a step's claimed time may run behind the previous step's (signers' clocks differ).
DEFAULT_TIME_TOLERANCE = timedelta(minutes=5)
_PROOF_MAGIC = "ocop-equivocation"
_MAX_PROOF = 2 * 65536 + 64


@dataclass(frozen=True, slots=True)
class KeyRing:
    """A set of trusted public keys, looked up by key id.

    Build with :meth:`of`. Two distinct keys can share an id only if SHA-256 collides; the ring still keeps
    both and the verifier tries each, because a kid is a hint, not an authenticator.
    """

    _by_id: dict[bytes, tuple[PublicKey, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, keys: Iterable[PublicKey]) -> KeyRing:
        """Return a ring of ``keys`` (duplicates collapse).

        Args:
            keys: The trusted public keys.

        Returns:
            The ring.

        Raises:
            TypeError: An item is not a :class:`PublicKey`.
        """
        by_id: dict[bytes, tuple[PublicKey, ...]] = {}
        for key in keys:
            if not isinstance(key, PublicKey):
                raise TypeError("KeyRing holds PublicKey objects")
            present = by_id.get(key.key_id, ())
            if key not in present:
                by_id[key.key_id] = (*present, key)
        return cls(by_id)

    def candidates(self, key_id: bytes) -> tuple[PublicKey, ...]:
        """Return the trusted keys whose id is ``key_id`` (usually zero or one)."""
        return self._by_id.get(key_id, ())

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_id.values())

    def __iter__(self) -> Iterator[PublicKey]:
        for keys in self._by_id.values():
            yield from keys


def _where(event: SignedEvent, index: int) -> dict[str, object]:
    return {"index": index, "event_id": event.event_id.hex(), "key_id": event.key_id.hex()}


def _check_signature(event: SignedEvent, keys: KeyRing, backend: str | None, index: int) -> PublicKey:
    candidates = keys.candidates(event.key_id)
    if not candidates:
        raise UntrustedKeyError("signed by a key that is not trusted", **_where(event, index))  # type: ignore[arg-type]
    for key in candidates:
        if key.verify(event.signature, event.to_be_signed, backend=backend):
            return key
    raise SignatureError("signature does not verify", **_where(event, index))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class EquivocationProof:
    """Two validly signed events for one batch and seq: evidence that a signer forked the chain.

    Anyone can check it with :meth:`verify` and the signers' public keys, without the rest of the chain.

    Attributes:
        event_a: One event's COSE bytes (the one with the smaller event id).
        event_b: The other's.
    """

    event_a: bytes
    event_b: bytes

    @classmethod
    def of(cls, first: SignedEvent, second: SignedEvent) -> EquivocationProof:
        """Return the proof for two events, in canonical (event id) order."""
        a, b = sorted((first, second), key=lambda e: e.event_id)
        return cls(a.raw, b.raw)

    def to_bytes(self) -> bytes:
        """Return the proof as deterministic CBOR (docs/format.md §Equivocation proof)."""
        return _cbor.encode({0: _PROOF_MAGIC, 1: [self.event_a, self.event_b]})

    @classmethod
    def from_bytes(cls, data: bytes) -> EquivocationProof:
        """Parse a proof (unverified).

        Args:
            data: The proof's bytes (:meth:`to_bytes`).

        Returns:
            The proof; check it with :meth:`verify`.

        Raises:
            FormatError: Not an equivocation proof.
        """
        m = _cbor.decode(data, max_size=_MAX_PROOF, max_depth=2)
        if (
            not isinstance(m, dict)
            or set(m) != {0, 1}
            or m[0] != _PROOF_MAGIC
            or not isinstance(m[1], list)
            or len(m[1]) != 2
            or not all(isinstance(x, bytes) for x in m[1])
        ):
            raise FormatError("not an equivocation proof", code="E_SCHEMA")
        return cls(m[1][0], m[1][1])

    def verify(self, keys: KeyRing, *, backend: str | None = None) -> tuple[bytes, int]:
        """Check the proof.

        Args:
            keys: Keys trusted to have signed the two events.
            backend: Ed25519 backend name, or None for the fastest.

        Returns:
            The forked batch id and seq.

        Raises:
            FormatError: An event is malformed (``index`` 0 names ``event_a``, 1 ``event_b``).
            VerificationError: A signature fails, or the events are not a fork (``E_NOT_A_FORK``).
        """
        a, b = _decode_at(self.event_a, 0), _decode_at(self.event_b, 1)
        _check_signature(a, keys, backend, 0)
        _check_signature(b, keys, backend, 1)
        if a.event_id == b.event_id:
            raise VerificationError("both halves are the same event", code="E_NOT_A_FORK")
        if a.batch_id != b.batch_id or a.seq != b.seq:
            raise VerificationError("the events are at different places", code="E_NOT_A_FORK")
        return a.batch_id, a.seq


def _decode_at(raw: bytes, index: int) -> SignedEvent:
    try:
        return decode_event(raw)
    except ProvenanceError as e:
        e.index = index
        raise


def find_forks(events: Iterable[SignedEvent]) -> list[EquivocationProof]:
    """Group events by (batch, seq) and return a proof for each pair that differs.

    Signatures are not checked here; check each proof with :meth:`EquivocationProof.verify`.

    Args:
        events: Parsed events, of any batches, in any order.

    Returns:
        One proof for each event whose (batch, seq) an earlier event with another id already holds.
    """
    seen: dict[tuple[bytes, int], SignedEvent] = {}
    proofs = []
    for event in events:
        place = (event.batch_id, event.seq)
        other = seen.setdefault(place, event)
        if other.event_id != event.event_id:
            proofs.append(EquivocationProof.of(other, event))
    return proofs


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainSummary:
    """What a verified chain holds.

    Attributes:
        batch_id: The batch.
        genesis: The genesis event.
        head: The last event.
        count: Number of events.
        signers: Key ids that signed, in order of first appearance.
    """

    batch_id: bytes
    genesis: SignedEvent
    head: SignedEvent
    count: int
    signers: tuple[bytes, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainReport:
    """Every failure found in a chain (:func:`report_chain`).

    Attributes:
        ok: True when nothing failed.
        count: Events read.
        batch_id: The batch, if a genesis was read.
        head: The last event read, if any.
        failures: The failures, in chain order (capped at ``max_failures``).
    """

    ok: bool
    count: int
    batch_id: bytes | None
    head: SignedEvent | None
    failures: tuple[ProvenanceError, ...]


class ChainVerifier:
    """Streaming verifier for one batch's chain: feed events in order, then :meth:`finish`.

    Memory stays constant whatever the chain length: only the genesis and the last event are kept.
    """

    def __init__(
        self,
        keys: KeyRing,
        *,
        batch_id: bytes | None = None,
        time_tolerance: timedelta = DEFAULT_TIME_TOLERANCE,
        now: datetime | None = None,
        backend: str | None = None,
    ) -> None:
        """Set up a verifier.

        Args:
            keys: Trusted keys.
            batch_id: The batch the caller expects; None accepts whatever batch the genesis opens.
            time_tolerance: See :data:`DEFAULT_TIME_TOLERANCE`.
            now: The verifier's clock; events claiming a later time (beyond the tolerance) fail. None skips it.
            backend: Ed25519 backend, or None for the fastest installed.

        Raises:
            ValueError: ``now`` is a naive datetime.
        """
        if now is not None and now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        self._keys = keys
        self._expect = batch_id
        self._tolerance = time_tolerance
        self._now = now
        self._backend = backend
        self._genesis: SignedEvent | None = None
        self._last: SignedEvent | None = None
        self._count = 0
        self._signers: dict[bytes, None] = {}

    @property
    def count(self) -> int:
        """Events accepted so far."""
        return self._count

    @property
    def head(self) -> SignedEvent | None:
        """The last event fed, if any."""
        return self._last

    def feed(self, data: bytes | SignedEvent) -> SignedEvent:
        """Verify the next event and advance.

        Args:
            data: The event's COSE bytes, or a parsed event whose ``raw`` bytes are what gets verified (its
                other attributes are ignored: they could have been edited after parsing).

        Returns:
            The verified event.

        Raises:
            FormatError: The bytes are malformed.
            VerificationError: A check failed; the verifier's state is unchanged.
        """
        index = self._count
        event = self._parse(data, index)
        self._check(event, index, verify_signature=True)
        self._advance(event)
        return event

    def _parse(self, data: bytes | SignedEvent, index: int) -> SignedEvent:
        # Verify the bytes, never a decoded object: a SignedEvent's fields can be replaced after parsing.
        return _decode_at(data.raw if isinstance(data, SignedEvent) else data, index)

    def _check(self, event: SignedEvent, index: int, *, verify_signature: bool) -> None:
        if verify_signature:
            _check_signature(event, self._keys, self._backend, index)
        last = self._last
        body = event.body
        if last is None:
            if not event.is_genesis:
                raise ChainError(
                    f"the chain must start with its genesis event, not seq {event.seq}",
                    code="E_GENESIS",
                    **_where(event, index),  # type: ignore[arg-type]
                )
            if self._expect is not None and event.event_id != self._expect:
                raise ChainError("genesis opens a different batch", code="E_BATCH", **_where(event, index))  # type: ignore[arg-type]
        elif (
            type(body) is Step
            and self._genesis is not None
            and body.batch_id == self._genesis.event_id
            and body.seq == last.seq + 1
            and body.prev == last.event_id
            and in_time_order(last.seq, last.time, body.time, self._tolerance)
        ):
            pass  # the common case, checked at once; any failure is named below in the specified order
        else:
            where = _where(event, index)
            # Without a genesis (only in a report, which goes on after E_GENESIS), the caller's batch if given.
            batch = self._genesis.event_id if self._genesis is not None else self._expect
            if batch is not None and event.batch_id != batch:
                raise ChainError("event belongs to another batch", code="E_BATCH", **where)  # type: ignore[arg-type]
            if event.seq == last.seq:
                if event.event_id == last.event_id:
                    raise ChainError("the same event appears twice", code="E_DUPLICATE", **where)  # type: ignore[arg-type]
                raise ForkError(
                    f"two different signed events at seq {event.seq}",
                    proof=EquivocationProof.of(last, event),
                    **where,
                )
            if event.seq != last.seq + 1:
                raise ChainError(
                    f"seq {event.seq} follows seq {last.seq}",
                    code="E_SEQ",
                    **where,  # type: ignore[arg-type]
                )
            if event.prev != last.event_id:
                raise ChainError("prev does not match the previous event's id", code="E_LINK", **where)  # type: ignore[arg-type]
            if not in_time_order(last.seq, last.time, event.time, self._tolerance):
                raise ChainError(
                    f"time {event.time.isoformat()} is earlier than the previous step's "
                    f"{last.time.isoformat()} (tolerance {self._tolerance})",
                    code="E_TIME",
                    **where,  # type: ignore[arg-type]
                )
        if self._now is not None and event.time > self._now + self._tolerance:
            raise ChainError(
                f"time {event.time.isoformat()} is in the future",
                code="E_FUTURE",
                **_where(event, index),  # type: ignore[arg-type]
            )

    def _advance(self, event: SignedEvent) -> None:
        if self._genesis is None and event.is_genesis:
            self._genesis = event
        self._last = event
        self._count += 1
        self._signers.setdefault(event.key_id, None)

    def finish(self) -> ChainSummary:
        """Return what was verified.

        Raises:
            ChainError: No event was fed (``E_EMPTY``).
        """
        if self._genesis is None or self._last is None:
            raise ChainError("the chain has no events", code="E_EMPTY")
        return ChainSummary(
            batch_id=self._genesis.event_id,
            genesis=self._genesis,
            head=self._last,
            count=self._count,
            signers=tuple(self._signers),
        )

    def report_feed(self, data: bytes | SignedEvent, failures: list[ProvenanceError]) -> None:
        """Check the next event and record every failure instead of raising (for :func:`report_chain`).

        An event that parses advances the chain even if a check fails, so one bad event is reported once rather
        than breaking every later link.
        """
        index = self._count
        try:
            event = self._parse(data, index)
        except ProvenanceError as e:
            failures.append(e)
            self._count += 1
            return
        try:
            _check_signature(event, self._keys, self._backend, index)
        except VerificationError as e:
            failures.append(e)
        try:
            self._check(event, index, verify_signature=False)
        except VerificationError as e:
            failures.append(e)
        self._advance(event)


def verify_chain(
    events: Iterable[bytes | SignedEvent],
    keys: KeyRing,
    *,
    batch_id: bytes | None = None,
    time_tolerance: timedelta = DEFAULT_TIME_TOLERANCE,
    now: datetime | None = None,
    backend: str | None = None,
    workers: int | str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ChainSummary:
    """Verify one batch's chain, in order, and raise on the first failure.

    Args:
        events: The events' COSE bytes in chain order (any iterable: it is consumed once, in constant memory).
        keys: Trusted keys.
        batch_id: The batch expected; None accepts the batch the genesis opens.
        time_tolerance: How far a step may claim to be earlier than its predecessor.
        now: The verifier's clock; None skips the future-time check.
        backend: Ed25519 backend name, or None for the fastest installed.
        workers: Processes to verify with: None or 1 verifies in this process (the default: the library starts
            no processes unless asked); ``"auto"`` or 0 uses every CPU this process may run on; n uses n. With
            more than one, inputs longer than one chunk (with ``"auto"``: longer than ``AUTO_MIN_EVENTS``, 32,768,
            below which starting processes costs more than it saves) are parsed and signature-checked in worker
            processes; the result, the error raised and its index are the same as without.
        chunk_size: Events per chunk sent to a worker.

    Returns:
        What was verified.

    Raises:
        FormatError: An event is malformed (``index`` names it).
        VerificationError: The first failed check: ``E_UNKNOWN_KEY``, ``E_SIGNATURE``, ``E_GENESIS``,
            ``E_BATCH``, ``E_SEQ``, ``E_DUPLICATE``, ``E_FORK`` (:class:`ForkError` with the proof), ``E_LINK``,
            ``E_TIME``, ``E_FUTURE``, ``E_EMPTY``.
        ValueError: ``now`` is naive, ``workers`` is not None, ``"auto"`` or a non-negative integer, or
            ``chunk_size`` is below 1 when processes are used (a programming error, never the events' fault).
        TypeError: ``workers`` is a boolean.
    """
    verifier = ChainVerifier(keys, batch_id=batch_id, time_tolerance=time_tolerance, now=now, backend=backend)
    n = resolve_workers(workers)
    if n > 1:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        chunks = _chunks((e.raw if isinstance(e, SignedEvent) else e for e in events), chunk_size)
        # Read ahead just enough chunks to know the input is worth the processes (bounded memory either way).
        needed = -(-min_parallel_events(workers, chunk_size) // chunk_size)
        head = list(islice(chunks, needed))
        if sum(len(c) for c in head) >= min_parallel_events(workers, chunk_size):
            return _verify_parallel(
                verifier, keys, chain(head, chunks), workers=n, tolerance=time_tolerance, now=now, backend=backend
            )
        events = [raw for c in head for raw in c]
    for item in events:
        verifier.feed(item)
    return verifier.finish()


def _chunks(raws: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    it = iter(raws)
    while chunk := list(islice(it, size)):
        yield chunk


def _verify_parallel(
    verifier: ChainVerifier,
    keys: KeyRing,
    chunks: Iterable[list[bytes]],
    *,
    workers: int,
    tolerance: timedelta,
    now: datetime | None,
    backend: str | None,
) -> ChainSummary:
    lite = LiteChain(verifier)
    with ChunkPool[None](workers, keys, backend=backend, tolerance=tolerance, now=now) as pool:
        for _, raws, result in pool.run((None, raws) for raws in chunks):
            lite.take(raws, result)
    return lite.finish()


def _record(event: SignedEvent) -> Record:
    return (event.event_id, event.key_id, event.batch_id, event.seq, event.prev, event.time, event.is_genesis)


class LiteChain:
    """Advances a :class:`ChainVerifier` over chunks that workers checked (:mod:`._parallel`).

    Only the links between chunks and the genesis are checked here. Whatever a worker did not pass, and every
    chunk whose first event does not link, is fed to the sequential verifier, which raises exactly its error.
    """

    def __init__(self, verifier: ChainVerifier) -> None:
        """Wrap a fresh verifier."""
        self._v = verifier
        self._last: Record | None = None
        self._last_raw: bytes = b""
        self._stale = False  # the verifier's last event is behind: self._last_raw holds it

    def _sync(self) -> None:
        if self._stale:
            self._v._last = decode_event(self._last_raw)
            self._stale = False

    def feed(self, raw: bytes) -> SignedEvent:
        """Verify one event sequentially (after any chunk taken in bulk)."""
        self._sync()
        event = self._v.feed(raw)
        self._last, self._last_raw = _record(event), raw
        return event

    def _links(self, first: Record) -> bool:
        last, genesis = self._last, self._v._genesis
        return (
            last is not None
            and genesis is not None
            and not first[6]
            and first[2] == genesis.event_id
            and first[3] == last[3] + 1
            and first[4] == last[0]
            and in_time_order(last[3], last[5], first[5], self._v._tolerance)
        )

    def take(
        self,
        raws: list[bytes],
        result: ChunkResult,
        *,
        watch: Callable[[ChunkResult, int], Iterable[int]] | None = None,
        visit: Callable[[int, SignedEvent], None] | None = None,
    ) -> None:
        """Advance over a checked chunk.

        Args:
            raws: The chunk's events.
            result: What a worker found.
            watch: Returns the positions (from the given start) of events ``visit`` must see among those taken in
                bulk (``visit`` sees every event verified one by one).
            visit: Called in chain order with each watched or sequentially verified event.

        Raises:
            FormatError: As :meth:`ChainVerifier.feed`.
            VerificationError: As :meth:`ChainVerifier.feed`.
        """
        start = 0
        if result.good > 0:
            assert result.first is not None
            if self._last is None:  # the chain's first event: the genesis rules are the sequential verifier's
                event = self.feed(raws[0])
                if visit is not None:
                    visit(0, event)
                linked, start = True, 1
            else:
                linked = self._links(result.first)
            if linked:
                if visit is not None and watch is not None:
                    for pos in sorted(set(watch(result, start))):
                        visit(pos, decode_event(raws[pos]))
                if start < result.good:
                    v = self._v
                    v._count += result.good - start
                    for key_id in result.signers:
                        v._signers.setdefault(key_id, None)
                    self._last, self._last_raw, self._stale = result.last, raws[result.good - 1], True
                start = result.good
        for pos in range(start, result.count):
            event = self.feed(raws[pos])
            if visit is not None:
                visit(pos, event)

    def finish(self) -> ChainSummary:
        """Return the summary, as :meth:`ChainVerifier.finish`."""
        self._sync()
        return self._v.finish()


def report_chain(
    events: Iterable[bytes | SignedEvent],
    keys: KeyRing,
    *,
    batch_id: bytes | None = None,
    time_tolerance: timedelta = DEFAULT_TIME_TOLERANCE,
    now: datetime | None = None,
    backend: str | None = None,
    max_failures: int = 100,
) -> ChainReport:
    """Check a whole chain and list every failure instead of stopping at the first.

    Args:
        events: As for :func:`verify_chain`.
        keys: Trusted keys.
        batch_id: The batch expected.
        time_tolerance: As for :func:`verify_chain`.
        now: As for :func:`verify_chain`.
        backend: As for :func:`verify_chain`.
        max_failures: Stop after this many failures (bounded output for hostile input).

    Returns:
        The report; ``ok`` is True only if every check passed.
    """
    verifier = ChainVerifier(keys, batch_id=batch_id, time_tolerance=time_tolerance, now=now, backend=backend)
    failures: list[ProvenanceError] = []
    for item in events:
        verifier.report_feed(item, failures)
        if len(failures) >= max_failures:
            break
    if verifier.count == 0:
        failures.append(ChainError("the chain has no events", code="E_EMPTY"))
    genesis = verifier._genesis
    return ChainReport(
        ok=not failures,
        count=verifier.count,
        batch_id=genesis.event_id if genesis is not None else None,
        head=verifier.head,
        failures=tuple(failures),
    )
