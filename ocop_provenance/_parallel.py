"""Work on several cores: chain verification (docs/adr/0021-parallel-verification.md) and bulk signing (0014).

Worker processes take chunks of consecutive events of one chain, as raw bytes, and do what does not depend on
the rest of the chain: parse, check the signature against the trusted keys, and check the links *inside* the
chunk. Each returns a compact :class:`ChunkResult`: how many leading events passed everything, the first and
last of them, their signers and ids. The parent checks the links *between* chunks and the genesis, in order.

Nothing here decides an error. When a worker reports that event ``k`` of a chunk did not pass, the parent
verifies that event (and any after it) with the sequential verifier, which raises exactly the error, code and
index the sequential path gives: the parallel path can only be faster, never different.

Memory stays bounded: at most ``max_in_flight`` chunks are read ahead of the result being checked.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Self, TypeVar

from ._chain import ChainHead, head_of, link_problem
from ._errors import ProvenanceError
from ._keys import KeyWindow, PrivateKey, PublicKey
from ._model import Step
from ._wire import SignedEvent, parse_unverified_event

__all__ = [
    "AUTO_MIN_EVENTS",
    "DEFAULT_CHUNK_SIZE",
    "ChunkContext",
    "ChunkPool",
    "ChunkResult",
    "SigningPool",
    "check_chunk",
    "min_parallel_events",
    "resolve_workers",
]

#: Events per chunk sent to a worker: large enough that inter-process traffic is a small part of the work.
DEFAULT_CHUNK_SIZE = 1024

#: With ``workers="auto"``, inputs of at most this many events are verified in process: starting the fork
#: server and the workers costs about 0.3-0.4 s in a fresh process, the sequential time of some 8,000 events.
AUTO_MIN_EVENTS = 32_768

T = TypeVar("T")
R = TypeVar("R")


def min_parallel_events(workers: int | str | None, chunk_size: int) -> int:
    """Return the fewest events for which ``workers`` starts processes (more than one chunk; more with auto)."""
    return AUTO_MIN_EVENTS if workers in {"auto", 0} and not isinstance(workers, bool) else chunk_size + 1


def resolve_workers(workers: int | str | None) -> int:
    """Return the number of processes to use for ``workers`` (None or 1: sequential; 0 or ``"auto"``: all CPUs).

    Raises:
        TypeError: ``workers`` is a boolean.
        ValueError: ``workers`` is negative or not one of the accepted values.
    """
    if workers is None:
        return 1
    if isinstance(workers, bool):
        raise TypeError(f"workers must be None, 'auto' or a non-negative integer, not {workers!r}")
    if workers in {"auto", 0}:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    if not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers must be None, 'auto' or a non-negative integer, not {workers!r}")
    return workers


@dataclass(frozen=True, slots=True)
class ChunkContext:
    """What a worker needs to check a chunk on its own.

    Attributes:
        keys: Trusted keys by key id, each with its window (None: valid at any time).
        backend: Ed25519 backend name, or None for the fastest.
        tolerance: The time tolerance of the verifier.
        future: The latest time an event may claim, or None without a clock.
    """

    keys: dict[bytes, tuple[tuple[PublicKey, KeyWindow | None], ...]]
    backend: str | None
    tolerance: timedelta
    future: datetime | None

    @classmethod
    def of(
        cls,
        keys: Iterable[tuple[PublicKey, KeyWindow | None]],
        backend: str | None,
        tolerance: timedelta,
        future: datetime | None,
    ) -> ChunkContext:
        """Return the context for trusted ``keys`` (with their windows) and the verifier's settings."""
        by_id: dict[bytes, tuple[tuple[PublicKey, KeyWindow | None], ...]] = {}
        for key, window in keys:
            present = by_id.get(key.key_id, ())
            if all(k != key for k, _ in present):
                by_id[key.key_id] = (*present, (key, window))
        return cls(by_id, backend, tolerance, future)

    def to_args(self) -> tuple[object, ...]:
        """Return the context as the plain values a worker process is started with."""
        pairs = [(k.raw, w) for entries in self.keys.values() for k, w in entries]
        return (pairs, self.backend, self.tolerance, self.future)


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """What a worker found in a chunk.

    Attributes:
        count: Events in the chunk.
        good: How many leading events passed parsing, their signature and key window, and the links inside the
            chunk; event ``good`` (when ``good < count``) is the first that did not, and the parent re-checks it.
        first: The chain record of event 0, if ``good > 0``.
        last: The chain record of event ``good - 1``, if ``good > 0``.
        signers: Key ids of the good events, in order of first appearance.
        ids: The good events' ids, concatenated (32 bytes each).
        with_inputs: Positions of good events that consume other batches.
        corrections: Positions of good events that are corrections (their targets are checked by the parent).
    """

    count: int
    good: int
    first: ChainHead | None
    last: ChainHead | None
    signers: tuple[bytes, ...]
    ids: bytes
    with_inputs: tuple[int, ...]
    corrections: tuple[int, ...] = ()


def _signed_by_trusted(event: SignedEvent, ctx: ChunkContext) -> bool:
    # The same checks as the sequential verifier's check_signer, as a yes/no: any "no" is re-checked there.
    env = event.envelope
    for key, window in ctx.keys.get(env.key_id, ()):
        if key._valid(env.signature, env.to_be_signed, ctx.backend):
            return window is None or window.problem_at(event.body.time) is None
    return False


def check_chunk(raws: Sequence[bytes], ctx: ChunkContext) -> ChunkResult:
    """Check a chunk of consecutive events of one chain as far as it can be checked alone.

    Args:
        raws: The events' COSE bytes, in chain order.
        ctx: Keys and verifier settings.

    Returns:
        The compact result; it never raises for bad events (it stops at the first one).
    """
    signers: dict[bytes, None] = {}
    ids: list[bytes] = []
    with_inputs: list[int] = []
    corrections: list[int] = []
    first: ChainHead | None = None
    last: ChainHead | None = None
    tolerance, future = ctx.tolerance, ctx.future
    good = 0
    for raw in raws:
        try:
            event = parse_unverified_event(raw)
        except ProvenanceError:
            break
        if not _signed_by_trusted(event, ctx):
            break
        link = head_of(event)
        if future is not None and link.time > future:
            break
        if last is not None and link_problem(last, link, batch_id=last.batch_id, tolerance=tolerance) is not None:
            break
        body = event.body
        if type(body) is Step and body.inputs:
            with_inputs.append(good)
        if type(body) is Step and body.corrects is not None:
            corrections.append(good)
        if first is None:
            first = link
        last = link
        signers.setdefault(link.key_id or b"", None)
        ids.append(link.event_id)
        good += 1
    return ChunkResult(
        len(raws), good, first, last, tuple(signers), b"".join(ids), tuple(with_inputs), tuple(corrections)
    )


_worker_ctx: ChunkContext | None = None


def _init_worker(
    pairs: list[tuple[bytes, KeyWindow | None]], backend: str | None, tolerance: timedelta, future: datetime | None
) -> None:
    global _worker_ctx  # noqa: PLW0603 - one context per worker process, set once by the pool
    _worker_ctx = ChunkContext.of(((PublicKey.from_raw(k), w) for k, w in pairs), backend, tolerance, future)


def _work(raws: list[bytes]) -> ChunkResult:
    assert _worker_ctx is not None
    return check_chunk(raws, _worker_ctx)


def _context() -> multiprocessing.context.BaseContext:
    # Never fork a possibly threaded parent: forkserver where there is one, spawn elsewhere.
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    _preload_in_fork_server()
    return multiprocessing.get_context("forkserver")


def _preload_in_fork_server() -> None:
    """Have the fork server import this module (and so the library) once, before it forks any worker.

    A worker forked from a server that has it loaded starts in milliseconds; otherwise each worker imports the
    library itself (about 0.1-0.2 s, a tenth of verifying 20,000 events on two cores). The modules the program
    already asked the server to load are kept. Has no effect once the server runs (it keeps what it loaded).
    """
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    loaded = list(getattr(server, "_preload_modules", None) or ["__main__"])
    if __name__ not in loaded:
        multiprocessing.set_forkserver_preload([*loaded, __name__])


class _OrderedPool(Generic[T, R]):
    """A process pool that runs one function over chunks and hands results back in submission order."""

    def __init__(
        self,
        workers: int,
        work: Callable[[list[bytes]], R],
        initializer: Callable[..., None],
        initargs: tuple[object, ...],
        max_in_flight: int,
    ) -> None:
        self._max = max_in_flight
        self._work = work
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=_context(), initializer=initializer, initargs=initargs
        )

    def close(self) -> None:
        """Stop the workers, dropping any chunk not yet done, and wait for them to exit."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        chunks: Iterable[tuple[T, list[bytes]]],
        *,
        helper: Callable[[list[bytes]], R] | None = None,
    ) -> Iterator[tuple[T, list[bytes], R]]:
        """Run the function on ``(tag, items)`` chunks; yield ``(tag, items, result)`` in the order given.

        At most ``max_in_flight`` chunks are held at a time, so memory does not grow with the input; the next
        chunks are taken from ``chunks`` (and may be prepared by it) while the workers process earlier ones.

        Args:
            chunks: The chunks, each with a tag handed back with its result.
            helper: The same function, run in this process: when the oldest result is not ready, this process
                takes the newest chunk that no worker has started and runs it itself instead of waiting (so a
                worker slowed down by other load on its CPU costs less). None: this process only waits.
        """
        pending: deque[_Pending[T, R]] = deque()
        for tag, items in chunks:
            pending.append(_Pending(tag, items, self._executor.submit(self._work, items)))
            if len(pending) >= self._max:
                yield self._next(pending, helper)
        while pending:
            yield self._next(pending, helper)

    @staticmethod
    def _next(pending: deque[_Pending[T, R]], helper: Callable[[list[bytes]], R] | None) -> tuple[T, list[bytes], R]:
        oldest = pending[0]
        while helper is not None and not oldest.helped and not oldest.future.done():
            for entry in reversed(pending):
                if not entry.helped and entry.future.cancel():  # no worker has started it
                    entry.result, entry.helped = helper(entry.items), True
                    break
            else:
                break
        pending.popleft()
        return oldest.tag, oldest.items, oldest.result if oldest.helped else oldest.future.result()  # type: ignore[return-value]


@dataclass(slots=True)
class _Pending(Generic[T, R]):
    tag: T
    items: list[bytes]
    future: Future[R]
    result: R | None = None
    helped: bool = False


class ChunkPool(_OrderedPool[T, ChunkResult]):
    """A process pool that checks chunks and hands results back in submission order, with bounded read-ahead."""

    def __init__(self, workers: int, ctx: ChunkContext, *, max_in_flight: int | None = None) -> None:
        """Start ``workers`` processes.

        Args:
            workers: Number of processes (2 or more).
            ctx: Trusted keys and the verifier's settings.
            max_in_flight: Chunks submitted and not yet handed back (default: twice the workers, plus one).
        """
        super().__init__(workers, _work, _init_worker, ctx.to_args(), max_in_flight or 2 * workers + 1)


# ---- signing (docs/adr/0014-parallel-bulk-signing.md) ----------------------------------------------------------
# A signing process holds one Ed25519 key, received once (its 32-byte seed, pickled over the pipe that starts
# the process), and turns chunks of ToBeSigned bytes into their signatures. It ignores SIGINT: the parent
# decides, and stops it on any outcome.

_signer: PrivateKey | None = None


def _init_signer(seed: bytes) -> None:
    global _signer  # noqa: PLW0603 - one key per signing process, set once by the pool
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _signer = PrivateKey.from_seed(seed)


def _sign_chunk(messages: list[bytes]) -> bytes:
    assert _signer is not None
    sign = _signer.sign
    return b"".join([sign(m) for m in messages])


class SigningPool(_OrderedPool[T, bytes]):
    """Processes that sign chunks of messages with one :class:`PrivateKey`.

    Each result is the chunk's 64-byte signatures, concatenated; results come back in submission order.
    """

    def __init__(self, workers: int, key: PrivateKey, *, max_in_flight: int | None = None) -> None:
        """Start ``workers`` signing processes holding ``key``.

        Args:
            workers: Number of processes (1 or more).
            key: The key; its seed is sent to each process once.
            max_in_flight: Chunks submitted and not yet handed back (default: twice the workers, plus eight: with
                ``run(..., helper=)``, the caller signs the chunks no worker has started, so it keeps working
                while the processes start, about 0.1 s, the time to import the library).
        """
        super().__init__(workers, _sign_chunk, _init_signer, (key._seed(),), max_in_flight or 2 * workers + 8)
