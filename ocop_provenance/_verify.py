"""Pure chain verification: fail-closed by default, a full report on request (docs/format.md §8).

No clock, no files, no environment: the caller configures verification once in a :class:`VerifyOptions` value
(trusted keys, the clock ``now``, the time tolerance, the Ed25519 backend, the processes to use) and passes it to
every verifying function. Skipping a check takes a named value (:data:`NO_CLOCK`, :data:`ANY_BATCH`), never a
silent ``None``. The checks for each event, in the order the specification lists them:

1. envelope: a tagged COSE_Sign1 of the event content type, EdDSA, empty unprotected header;
2. payload: the one deterministic encoding of a valid event;
3. signer: a trusted key whose id is the header's kid (kid is a hint: every key with that id is tried);
4. signature over the ToBeSigned bytes;
5. key status: when the keys come from a trust list, the key may sign at the time the event claims;
6. genesis, batch, seq, link and time: :func:`~._chain.link_problem`, the one statement of the chain rules;
7. future: not after ``now`` plus the tolerance.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain, islice
from typing import Final, Generic, Literal, Protocol, TypeVar

from . import _cbor
from ._chain import Link, link_problem
from ._errors import (
    ChainError,
    ForkError,
    FormatError,
    ProvenanceError,
    SignatureError,
    UntrustedKeyError,
    VerificationError,
    Where,
)
from ._keys import KeyWindow, PublicKey
from ._parallel import DEFAULT_CHUNK_SIZE, ChunkContext, ChunkPool, ChunkResult, min_parallel_events, resolve_workers
from ._wire import SignedEvent, parse_unverified_event

__all__ = [
    "ANY_BATCH",
    "DEFAULT_TIME_TOLERANCE",
    "NO_CLOCK",
    "ChainReport",
    "ChainSummary",
    "ChainVerifier",
    "EquivocationProof",
    "KeyRing",
    "KeySource",
    "LiteChain",
    "Unchecked",
    "VerifyOptions",
    "check_signer",
    "find_forks",
    "report_chain",
    "verify_chain",
]

#: How far a step's claimed time may run behind the previous step's (signers' clocks differ).
DEFAULT_TIME_TOLERANCE = timedelta(minutes=5)
_PROOF_MAGIC = "ocop-equivocation"
_MAX_PROOF = 2 * 65536 + 64


class Unchecked(enum.Enum):
    """The named ways to skip a check: a verifier never skips one because an argument was left out."""

    NO_CLOCK = "no clock"
    """No clock: events claiming a time in the future are not refused (``E_FUTURE`` is not checked)."""
    ANY_BATCH = "any batch"
    """No expected subject: the chain or bundle may be about any batch (``E_BATCH`` against the caller's batch is
    not checked; the chain's own batch rules still are)."""


#: Skip the future-time check (pass as ``now``): only for data whose time cannot be judged, such as one's own ledger.
NO_CLOCK: Final = Unchecked.NO_CLOCK
#: Accept whatever batch the chain or bundle is about (pass as ``batch`` / ``root``).
ANY_BATCH: Final = Unchecked.ANY_BATCH
Clock = datetime | Literal[Unchecked.NO_CLOCK]
Subject = bytes | Literal[Unchecked.ANY_BATCH]


@dataclass(frozen=True, slots=True)
class KeyRing:
    """A set of trusted public keys, looked up by key id, optionally with when each may sign.

    Build with :meth:`of` (keys trusted at any time) or from a verified trust list (each key with its window and
    status, which every verifier then enforces). Two distinct keys can share an id only if SHA-256 collides; the ring
    still keeps both and the verifier tries each, because a kid is a hint, not an authenticator.
    """

    _by_id: dict[bytes, tuple[PublicKey, ...]] = field(default_factory=dict)
    _windows: Mapping[bytes, KeyWindow] = field(default_factory=dict)

    @classmethod
    def of(cls, keys: Iterable[PublicKey]) -> KeyRing:
        """Return a ring of ``keys`` (duplicates collapse), each trusted whatever time an event claims.

        Args:
            keys: The trusted public keys.

        Returns:
            The ring.

        Raises:
            TypeError: An item is not a :class:`PublicKey`.
        """
        return cls.with_windows((key, None) for key in keys)

    @classmethod
    def with_windows(cls, keys: Iterable[tuple[PublicKey, KeyWindow | None]]) -> KeyRing:
        """Return a ring whose keys may sign only inside their window (None: at any time).

        Args:
            keys: ``(key, window)`` pairs; a key listed twice keeps its first window.

        Returns:
            The ring.

        Raises:
            TypeError: An item is not a :class:`PublicKey` or a window is not a :class:`KeyWindow`.
        """
        by_id: dict[bytes, tuple[PublicKey, ...]] = {}
        windows: dict[bytes, KeyWindow] = {}
        for key, window in keys:
            if not isinstance(key, PublicKey):
                raise TypeError("KeyRing holds PublicKey objects")
            present = by_id.get(key.key_id, ())
            if key in present:
                continue
            by_id[key.key_id] = (*present, key)
            if window is not None:
                if not isinstance(window, KeyWindow):
                    raise TypeError("a key's window is a KeyWindow")
                windows[key.raw] = window
        return cls(by_id, windows)

    def candidates(self, key_id: bytes) -> tuple[PublicKey, ...]:
        """Return the trusted keys whose id is ``key_id`` (usually zero or one)."""
        return self._by_id.get(key_id, ())

    def window(self, key: PublicKey) -> KeyWindow | None:
        """Return when ``key`` may sign, or None if at any time."""
        return self._windows.get(key.raw)

    def key_ring(self) -> KeyRing:
        """Return this ring (a ring is its own :class:`KeySource`)."""
        return self

    def without_windows(self) -> KeyRing:
        """Return the same keys, each trusted at any time (an audit judges key status itself and reports it)."""
        return KeyRing(self._by_id, {})

    def pairs(self) -> list[tuple[PublicKey, KeyWindow | None]]:
        """Return every key with its window (None: at any time)."""
        return [(k, self._windows.get(k.raw)) for keys in self._by_id.values() for k in keys]

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_id.values())

    def __iter__(self) -> Iterator[PublicKey]:
        for keys in self._by_id.values():
            yield from keys


class KeySource(Protocol):
    """Where trusted keys come from: a :class:`KeyRing`, or a verified trust list (its keys with their windows)."""

    def key_ring(self) -> KeyRing:
        """Return the keys as a ring."""
        ...


K_co = TypeVar("K_co", bound=KeySource, covariant=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyOptions(Generic[K_co]):
    """How to verify, configured once and passed to every verifying function.

    Attributes:
        keys: The trusted keys: a :class:`KeyRing`, or a verified trust list, whose keys then sign only inside
            their window and status, enforced at the time each event claims on every path (revoked keys never
            verify); functions that name signers by role (audits, seal checks) need a verified trust list.
        now: The verifier's clock (timezone-aware): events claiming a later time (beyond the tolerance) fail. Pass
            :data:`NO_CLOCK` to skip that check on purpose.
        time_tolerance: How far a step may claim to be earlier than its predecessor, and how far past ``now``.
        backend: Ed25519 backend name (``libsodium``, ``openssl``), or None for the fastest installed.
        workers: Processes to verify with: None or 1 verifies in this process (the default: the library starts no
            processes unless asked); ``"auto"`` or 0 uses every CPU this process may run on; n uses n. With more than
            one, inputs longer than one chunk (with ``"auto"``: at least ``AUTO_MIN_EVENTS``, 32,768) are parsed and
            signature-checked in worker processes; results, errors and their locations are those without.
        chunk_size: Events per chunk sent to a worker.

    Raises:
        TypeError: ``keys`` is not a :class:`KeyRing`, ``now`` neither a datetime nor :data:`NO_CLOCK`, or
            ``workers`` a boolean.
        ValueError: ``now`` is naive, ``workers`` is not an accepted value, or ``chunk_size`` is below 1.
    """

    keys: K_co
    now: Clock
    time_tolerance: timedelta = DEFAULT_TIME_TOLERANCE
    backend: str | None = None
    workers: int | str | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    ring: KeyRing = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key_ring = getattr(self.keys, "key_ring", None)
        if key_ring is None:
            raise TypeError("keys must be a KeyRing (KeyRing.of(keys)) or a VerifiedTrustList")
        ring = key_ring()
        if not isinstance(ring, KeyRing):
            raise TypeError("keys.key_ring() must return a KeyRing")
        object.__setattr__(self, "ring", ring)
        if self.now is not NO_CLOCK:
            if not isinstance(self.now, datetime):
                raise TypeError("now must be a timezone-aware datetime or NO_CLOCK")
            if self.now.utcoffset() is None:
                raise ValueError("now must be timezone-aware")
        resolve_workers(self.workers)
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")

    def with_keys(self, keys: KeySource) -> VerifyOptions[KeySource]:
        """Return the same settings with other keys."""
        return VerifyOptions(
            keys=keys,
            now=self.now,
            time_tolerance=self.time_tolerance,
            backend=self.backend,
            workers=self.workers,
            chunk_size=self.chunk_size,
        )

    @property
    def processes(self) -> int:
        """The number of processes :attr:`workers` asks for."""
        return resolve_workers(self.workers)

    def future_limit(self) -> datetime | None:
        """The latest time an event may claim, or None without a clock."""
        return None if self.now is NO_CLOCK else self.now + self.time_tolerance

    def chunk_context(self) -> ChunkContext:
        """Return what a worker process needs to check chunks alone."""
        return ChunkContext.of(self.ring.pairs(), self.backend, self.time_tolerance, self.future_limit())


def _where(event: SignedEvent, position: int | None) -> Where:
    return {
        "position": position,
        "batch_id": event.batch_id,
        "seq": event.seq,
        "event_id": event.event_id,
        "key_id": event.key_id,
    }


def check_signer(event: SignedEvent, keys: KeyRing, backend: str | None, position: int | None) -> PublicKey:
    """Return the trusted key that signed ``event``, checking its signature and, if the ring has it, its window.

    Raises:
        UntrustedKeyError: ``E_UNKNOWN_KEY``, or the window's code (``E_KEY_REVOKED``, ``E_KEY_EXPIRED``, …).
        SignatureError: No candidate key verifies the signature (``E_SIGNATURE``).
    """
    candidates = keys.candidates(event.key_id)
    if not candidates:
        raise UntrustedKeyError("signed by a key that is not trusted", **_where(event, position))
    envelope = event.envelope
    for key in candidates:
        if key._valid(envelope.signature, envelope.to_be_signed, backend):
            window = keys.window(key)
            problem = None if window is None else window.problem_at(event.time)
            if problem is not None:
                assert window is not None
                holder = f"{window.holder}: " if window.holder else ""
                raise UntrustedKeyError(f"{holder}{problem[1]}", code=problem[0], **_where(event, position))
            return key
    raise SignatureError("signature does not verify", **_where(event, position))


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
            FormatError: An event is malformed (``position`` 0 names ``event_a``, 1 ``event_b``).
            VerificationError: A signature fails, or the events are not a fork (``E_NOT_A_FORK``).
        """
        a, b = _parse_at(self.event_a, 0), _parse_at(self.event_b, 1)
        check_signer(a, keys, backend, 0)
        check_signer(b, keys, backend, 1)
        if a.event_id == b.event_id:
            raise VerificationError("both halves are the same event", code="E_NOT_A_FORK")
        if a.batch_id != b.batch_id or a.seq != b.seq:
            raise VerificationError("the events are at different places", code="E_NOT_A_FORK")
        return a.batch_id, a.seq


def _parse_at(raw: bytes, position: int | None) -> SignedEvent:
    try:
        return parse_unverified_event(raw)
    except ProvenanceError as e:
        raise e.locate(position=position) from None


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


_LINK_MESSAGES: Mapping[str, str] = {
    "E_GENESIS": "the chain must start with its genesis event",
    "E_BATCH": "event belongs to another batch",
    "E_DUPLICATE": "the same event appears twice",
    "E_SEQ": "seq does not follow the previous event's",
    "E_LINK": "prev does not match the previous event's id",
}


class ChainVerifier:
    """Streaming verifier for one batch's chain: feed events in order, then :meth:`finish`.

    Memory stays constant whatever the chain length: only the genesis and the last event are kept.
    """

    def __init__(self, options: VerifyOptions[KeySource], *, batch: Subject, first_position: int = 0) -> None:
        """Set up a verifier.

        Args:
            options: Keys, clock, tolerance and backend.
            batch: The batch the caller expects, or :data:`ANY_BATCH`.
            first_position: The position of the first event fed in the caller's input (for error locations).

        Raises:
            TypeError: ``batch`` is neither 32 bytes nor :data:`ANY_BATCH`.
        """
        if batch is not ANY_BATCH and not (isinstance(batch, bytes) and len(batch) == 32):
            raise TypeError("batch must be a 32-byte batch id or ANY_BATCH")
        self._options = options
        self._keys = options.ring
        self._backend = options.backend
        self._tolerance = options.time_tolerance
        self._future = options.future_limit()
        self._expect = None if batch is ANY_BATCH else batch
        self._genesis: SignedEvent | None = None
        self._last: SignedEvent | None = None
        self._last_link: Link | None = None
        self._count = 0
        self._position = first_position
        self._signers: dict[bytes, None] = {}

    @property
    def count(self) -> int:
        """Events accepted so far."""
        return self._count

    @property
    def head(self) -> SignedEvent | None:
        """The last event fed, if any."""
        return self._last

    @property
    def genesis(self) -> SignedEvent | None:
        """The genesis event, once fed."""
        return self._genesis

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
        position = self._position
        event = self._parse(data, position)
        check_signer(event, self._keys, self._backend, position)
        self._check(event, position)
        self._advance(event)
        return event

    def _parse(self, data: bytes | SignedEvent, position: int) -> SignedEvent:
        # Verify the bytes, never a decoded object: a SignedEvent's fields can be replaced after parsing.
        return _parse_at(data.raw if isinstance(data, SignedEvent) else data, position)

    def _batch(self) -> bytes | None:
        # Without a genesis (only in a report, which goes on after E_GENESIS), the caller's batch if given.
        return self._genesis.event_id if self._genesis is not None else self._expect

    def _check(self, event: SignedEvent, position: int) -> None:
        code = link_problem(self._last_link, event, batch_id=self._batch(), tolerance=self._tolerance)
        if code is not None:
            self._raise_link(code, event, position)
        if self._future is not None and event.time > self._future:
            raise ChainError(
                f"time {event.time.isoformat()} is in the future",
                code="E_FUTURE",
                **_where(event, position),
            )

    def _raise_link(self, code: str, event: SignedEvent, position: int) -> None:
        where = _where(event, position)
        last = self._last
        if code == "E_FORK":
            assert last is not None
            raise ForkError(
                f"two different signed events at seq {event.seq}", proof=EquivocationProof.of(last, event), **where
            )
        if code == "E_GENESIS":
            message = f"the chain must start with its genesis event, not seq {event.seq}"
        elif code == "E_BATCH" and last is None:
            message = "genesis opens a different batch"
        elif code == "E_SEQ" and last is not None:
            message = f"seq {event.seq} follows seq {last.seq}"
        elif code == "E_TIME" and last is not None:
            message = (
                f"time {event.time.isoformat()} is earlier than the previous step's "
                f"{last.time.isoformat()} (tolerance {self._tolerance})"
            )
        else:
            message = _LINK_MESSAGES[code]
        raise ChainError(message, code=code, **where)

    def _advance(self, event: SignedEvent) -> None:
        if self._genesis is None and event.is_genesis:
            self._genesis = event
        self._last = event
        self._last_link = event
        self._count += 1
        self._position += 1
        self._signers.setdefault(event.key_id, None)

    def finish(self) -> ChainSummary:
        """Return what was verified.

        Raises:
            ChainError: No event was fed (``E_EMPTY``).
        """
        if self._genesis is None or self._last is None:
            raise ChainError("the chain has no events", code="E_EMPTY", batch_id=self._expect, position=self._position)
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
        position = self._position
        try:
            event = self._parse(data, position)
        except ProvenanceError as e:
            failures.append(e)
            self._count += 1
            self._position += 1
            return
        try:
            check_signer(event, self._keys, self._backend, position)
        except VerificationError as e:
            failures.append(e)
        try:
            self._check(event, position)
        except VerificationError as e:
            failures.append(e)
        self._advance(event)


def verify_chain(
    events: Iterable[bytes | SignedEvent], options: VerifyOptions[KeySource], *, batch: Subject
) -> ChainSummary:
    """Verify one batch's chain, in order, and raise on the first failure.

    Args:
        events: The events' COSE bytes in chain order (any iterable: it is consumed once, in constant memory).
        options: Keys, clock, tolerance, backend and processes (:class:`VerifyOptions`).
        batch: The batch expected, or :data:`ANY_BATCH`.

    Returns:
        What was verified.

    Raises:
        FormatError: An event is malformed (``position`` names it).
        VerificationError: The first failed check: ``E_UNKNOWN_KEY``, ``E_KEY_*`` (a trust list's ring),
            ``E_SIGNATURE``, ``E_GENESIS``, ``E_BATCH``, ``E_SEQ``, ``E_DUPLICATE``, ``E_FORK`` (:class:`ForkError`
            with the proof), ``E_LINK``, ``E_TIME``, ``E_FUTURE``, ``E_EMPTY``.
        TypeError: ``batch`` is neither a batch id nor :data:`ANY_BATCH`.
    """
    verifier = ChainVerifier(options, batch=batch)
    n = options.processes
    if n > 1:
        size = options.chunk_size
        chunks = _chunks((e.raw if isinstance(e, SignedEvent) else e for e in events), size)
        # Read ahead just enough chunks to know the input is worth the processes (bounded memory either way).
        threshold = min_parallel_events(options.workers, size)
        head = list(islice(chunks, -(-threshold // size)))
        if sum(len(c) for c in head) >= threshold:
            lite = LiteChain(verifier)
            with ChunkPool[None](n, options.chunk_context()) as pool:
                for _, raws, result in pool.run((None, raws) for raws in chain(head, chunks)):
                    lite.take(raws, result)
            return lite.finish()
        events = [raw for c in head for raw in c]
    for item in events:
        verifier.feed(item)
    return verifier.finish()


def _chunks(raws: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    it = iter(raws)
    while chunk := list(islice(it, size)):
        yield chunk


class LiteChain:
    """Advances a :class:`ChainVerifier` over chunks that workers checked (:mod:`._parallel`).

    Only the links between chunks and the genesis are checked here, with the same :func:`~._chain.link_problem`.
    Whatever a worker did not pass, and every chunk whose first event does not link, is fed to the sequential
    verifier, which raises exactly its error.
    """

    def __init__(self, verifier: ChainVerifier) -> None:
        """Wrap a fresh verifier."""
        self._v = verifier
        self._last_raw: bytes = b""
        self._stale = False  # the verifier's last event is behind: self._last_raw holds it

    def _sync(self) -> None:
        if self._stale:
            self._v._last = parse_unverified_event(self._last_raw)
            self._stale = False

    def feed(self, raw: bytes) -> SignedEvent:
        """Verify one event sequentially (after any chunk taken in bulk)."""
        self._sync()
        event = self._v.feed(raw)
        self._last_raw = raw
        return event

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
        v = self._v
        start = 0
        if result.good > 0:
            assert result.first is not None
            assert result.last is not None
            if v._last_link is None:  # the chain's first event: the genesis rules are the sequential verifier's
                event = self.feed(raws[0])
                if visit is not None:
                    visit(0, event)
                linked, start = True, 1
            else:
                linked = link_problem(v._last_link, result.first, batch_id=v._batch(), tolerance=v._tolerance) is None
            if linked:
                if visit is not None and watch is not None:
                    for pos in sorted(set(watch(result, start))):
                        visit(pos, parse_unverified_event(raws[pos]))
                if start < result.good:
                    v._count += result.good - start
                    v._position += result.good - start
                    for key_id in result.signers:
                        v._signers.setdefault(key_id, None)
                    v._last_link = result.last
                    self._last_raw, self._stale = raws[result.good - 1], True
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
    options: VerifyOptions[KeySource],
    *,
    batch: Subject,
    max_failures: int = 100,
) -> ChainReport:
    """Check a whole chain and list every failure instead of stopping at the first.

    Args:
        events: As for :func:`verify_chain`.
        options: As for :func:`verify_chain` (``workers`` is not used: a report is sequential).
        batch: The batch expected, or :data:`ANY_BATCH`.
        max_failures: Stop after this many failures (bounded output for hostile input).

    Returns:
        The report; ``ok`` is True only if every check passed.
    """
    verifier = ChainVerifier(options, batch=batch)
    failures: list[ProvenanceError] = []
    for item in events:
        verifier.report_feed(item, failures)
        if len(failures) >= max_failures:
            break
    if verifier.count == 0:
        failures.append(ChainError("the chain has no events", code="E_EMPTY"))
    genesis = verifier.genesis
    return ChainReport(
        ok=not failures,
        count=verifier.count,
        batch_id=genesis.event_id if genesis is not None else None,
        head=verifier.head,
        failures=tuple(failures),
    )
