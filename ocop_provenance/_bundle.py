"""The offline bundle: one file holding a batch, every batch it was made from, and the signers' keys.

Layout (docs/format.md §Bundle): an RFC 8742 CBOR sequence of byte strings. The first holds the header, a
deterministic CBOR map; each of the rest holds one event, a plain tagged COSE_Sign1, so any COSE library can check
it. Batches follow the header's order (the root first, then each input after the batches that consume it), each
from genesis to head. Reading and verifying stream item by item: memory does not grow with the chain.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from . import _cbor
from ._errors import ChainError, FormatError, KeyFormatError, Where
from ._keys import PublicKey
from ._model import InputRef, Step
from ._parallel import ChunkPool, ChunkResult, min_parallel_events
from ._verify import ANY_BATCH, ChainSummary, ChainVerifier, KeySource, LiteChain, Subject, VerifyOptions
from ._wire import MAX_EVENT_SIZE, SignedEvent

__all__ = [
    "BUNDLE_MAGIC",
    "BundleBatch",
    "BundleHeader",
    "BundleReader",
    "BundleSummary",
    "LineageLink",
    "VerifiedEvents",
    "iter_verified",
    "verify_bundle",
    "write_bundle",
]

BUNDLE_MAGIC = "ocop-bundle"
BUNDLE_VERSION = 1
MAX_HEADER_SIZE = 1 << 20
MAX_BATCHES = 10_000
MAX_KEYS = 10_000
#: Most CBOR items a header can hold: the map and its five labels and values, every key, every batch entry.
MAX_HEADER_ITEMS = 11 + MAX_KEYS + 4 * MAX_BATCHES

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleBatch:
    """One batch's entry in the bundle header.

    Attributes:
        batch_id: The batch.
        count: Number of events the bundle holds for it (genesis to head).
        head: The head event's id.
    """

    batch_id: bytes
    count: int
    head: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleHeader:
    """The bundle header (unauthenticated: every claim in it is checked against the events).

    Attributes:
        root: The batch the bundle is about.
        batches: Every batch in file order, the root first.
        keys: Public keys the signers used, as shipped (not trusted by being here).
    """

    root: bytes
    batches: tuple[BundleBatch, ...]
    keys: tuple[PublicKey, ...]

    @property
    def total_events(self) -> int:
        """Events the bundle declares."""
        return sum(b.count for b in self.batches)

    def to_bytes(self) -> bytes:
        """Return the header's deterministic CBOR."""
        return _cbor.encode(
            {
                0: BUNDLE_MAGIC,
                1: BUNDLE_VERSION,
                2: self.root,
                3: [k.raw for k in self.keys],
                4: [[b.batch_id, b.count, b.head] for b in self.batches],
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> BundleHeader:
        """Parse a header.

        Args:
            data: The header's deterministic CBOR (the bundle's first item).

        Returns:
            The header, its claims not yet checked against the events.

        Raises:
            FormatError: Not a bundle header of a supported version (``E_BUNDLE``, ``E_VERSION``).
            KeyFormatError: A shipped key is malformed or weak.
        """
        m = _cbor.decode(data, max_size=MAX_HEADER_SIZE, max_depth=3, max_items=MAX_HEADER_ITEMS)
        if not isinstance(m, dict) or m.get(0) != BUNDLE_MAGIC:
            raise FormatError("not an ocop bundle", code="E_BUNDLE")
        if m.get(1) != BUNDLE_VERSION or isinstance(m.get(1), bool):
            raise FormatError(f"unsupported bundle version {m.get(1)!r}", code="E_VERSION")
        if set(m) != {0, 1, 2, 3, 4}:
            raise FormatError("bundle header has unknown or missing labels", code="E_BUNDLE")
        root, keys, batches = m[2], m[3], m[4]
        if not isinstance(root, bytes) or len(root) != 32:
            raise FormatError("bundle root must be a 32-byte batch id", code="E_BUNDLE", field="root")
        if not isinstance(keys, list) or len(keys) > MAX_KEYS or not all(isinstance(k, bytes) for k in keys):
            raise FormatError("bundle keys must be a list of byte strings", code="E_BUNDLE", field="keys")
        if not isinstance(batches, list) or not 1 <= len(batches) <= MAX_BATCHES:
            raise FormatError("bundle must list 1 to 10000 batches", code="E_BUNDLE", field="batches")
        entries = []
        for entry in batches:
            if not (
                isinstance(entry, list)
                and len(entry) == 3
                and isinstance(entry[0], bytes)
                and len(entry[0]) == 32
                and isinstance(entry[1], int)
                and not isinstance(entry[1], bool)
                and entry[1] >= 1
                and isinstance(entry[2], bytes)
                and len(entry[2]) == 32
            ):
                raise FormatError("malformed batch entry", code="E_BUNDLE", field="batches")
            entries.append(BundleBatch(batch_id=entry[0], count=entry[1], head=entry[2]))
        if entries[0].batch_id != root:
            raise FormatError("the root batch must come first", code="E_BUNDLE", field="batches")
        if len({e.batch_id for e in entries}) != len(entries):
            raise FormatError("a batch is listed twice", code="E_BUNDLE", field="batches")
        try:
            parsed_keys = tuple(PublicKey.from_raw(k) for k in keys)
        except KeyFormatError as e:
            e.field = "keys"
            raise
        return cls(root=root, batches=tuple(entries), keys=parsed_keys)


def _write_item(out: BinaryIO, data: bytes) -> None:
    out.write(_cbor.encode_bstr_head(len(data)))
    out.write(data)


def bundle_order(root: bytes, inputs_of: Callable[[bytes], Iterable[bytes]]) -> list[bytes]:
    """Order a batch's lineage as a bundle holds it (docs/format.md §10.3).

    The root comes first, then every upstream batch once, each after every batch that consumes it: the graph is
    discovered breadth-first and ordered topologically (Kahn), ties broken in the order of discovery. The ledger's
    export and the portal's use this one order, so the same lineage gives the same bundle.

    Args:
        root: The bundle's root batch.
        inputs_of: A batch's input batches, each once, in the order the batch first consumed them.

    Returns:
        The batch ids, root first.

    Raises:
        ValueError: The lineage loops (appends and audits refuse that, so only altered data can).
    """
    edges: dict[bytes, list[bytes]] = {}
    order, seen, queue = [root], {root}, deque([root])
    while queue:
        batch = queue.popleft()
        edges[batch] = ups = list(inputs_of(batch))
        for up in ups:
            if up not in seen:
                seen.add(up)
                order.append(up)
                queue.append(up)
    consumers = dict.fromkeys(order, 0)
    for batch in order:
        for up in edges[batch]:
            consumers[up] += 1
    result: list[bytes] = []
    ready = deque([root])
    while ready:
        batch = ready.popleft()
        result.append(batch)
        for up in edges[batch]:
            consumers[up] -= 1
            if consumers[up] == 0:
                ready.append(up)
    if len(result) != len(order):
        raise ValueError("the lineage loops")
    return result


def write_bundle(
    out: BinaryIO,
    header: BundleHeader,
    events: Iterable[bytes],
    *,
    progress: Progress | None = None,
) -> int:
    """Stream a bundle to ``out``.

    Args:
        out: A binary file opened for writing.
        header: The header; its batches and counts must match ``events``.
        events: Every event's COSE bytes, in header order.
        progress: Called with (events written, total) as it goes.

    Returns:
        The number of events written.

    Raises:
        FormatError: ``events`` holds more or fewer events than the header declares (``E_BUNDLE``).
    """
    total = header.total_events
    _write_item(out, header.to_bytes())
    n = 0
    for raw in events:
        n += 1
        if n > total:
            raise FormatError("more events than the header declares", code="E_BUNDLE")
        _write_item(out, raw)
        if progress is not None and (n % 1024 == 0 or n == total):
            progress(n, total)
    if n != total:
        raise FormatError(f"{n} events written, the header declares {total}", code="E_BUNDLE")
    return n


def _read_exact(src: BinaryIO, n: int) -> bytes:
    data = src.read(n)
    if len(data) != n:
        # A raw stream (an unbuffered pipe or socket) may return less than asked before its end.
        parts = [data]
        got = len(data)
        while got < n:
            chunk = src.read(n - got)
            if not chunk:
                raise FormatError("the bundle ends in the middle of an item", code="E_TRUNCATED")
            parts.append(chunk)
            got += len(chunk)
        data = b"".join(parts)
    return data


def _read_item(src: BinaryIO, limit: int) -> bytes | None:
    first = src.read(1)
    if not first:
        return None
    major, info = first[0] >> 5, first[0] & 0x1F
    if major != 2:
        raise FormatError("bundle items must be byte strings", code="E_BUNDLE")
    if info < 24:
        length = info
    elif info <= 27:
        width = 1 << (info - 24)
        length = int.from_bytes(_read_exact(src, width), "big")
        if length < (24 if width == 1 else 1 << (4 * width)):
            raise FormatError("non-shortest length in the bundle", code="E_NONCANONICAL")
    else:
        raise FormatError("indefinite or reserved length in the bundle", code="E_BUNDLE")
    if length > limit:
        raise FormatError(f"bundle item of {length} bytes exceeds the limit of {limit}", code="E_SIZE")
    return _read_exact(src, length)


class BundleReader:
    """Reads a bundle item by item: the header, then ``(batch index, event bytes)`` pairs.

    Nothing here is verified: pass the events to a verifier (:func:`verify_bundle` does).
    """

    def __init__(self, src: BinaryIO) -> None:
        """Read the header.

        Raises:
            FormatError: Not a bundle, or a malformed header.
        """
        self._src = src
        raw = _read_item(src, MAX_HEADER_SIZE)
        if raw is None:
            raise FormatError("the bundle is empty", code="E_BUNDLE")
        self.header = BundleHeader.from_bytes(raw)

    def events(self) -> Iterator[tuple[int, bytes]]:
        """Yield ``(batch index, event bytes)`` in file order.

        Raises:
            FormatError: Fewer or more items than the header declares (``E_TRUNCATED``, ``E_TRAILING``), or a
                malformed item.
        """
        for index, batch in enumerate(self.header.batches):
            for _ in range(batch.count):
                raw = _read_item(self._src, MAX_EVENT_SIZE)
                if raw is None:
                    raise FormatError("the bundle ends before every declared event", code="E_TRUNCATED")
                yield index, raw
        if self._src.read(1):
            raise FormatError("data after the last declared event", code="E_TRAILING")


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageLink:
    """A verified step that consumed another batch (one step back, in Circular 02/2024's words).

    Attributes:
        batch_id: The consuming batch.
        seq: The consuming step's seq.
        step: The consuming step's business step.
        input: The consumed batch, pinned to the head that the step signed for (checked against the bundle).
    """

    batch_id: bytes
    seq: int
    step: str
    input: InputRef


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleSummary:
    """What a verified bundle holds.

    Attributes:
        header: The bundle header.
        chains: One summary per batch, in file order (the root first).
        lineage: Every step that consumed another batch, in file order.
    """

    header: BundleHeader
    chains: tuple[ChainSummary, ...]
    lineage: tuple[LineageLink, ...] = ()

    @property
    def root(self) -> ChainSummary:
        """The root batch's summary."""
        return self.chains[0]


class _Lineage:
    """Tracks input references: each must match the event at that seq of the consumed batch."""

    def __init__(self, header: BundleHeader) -> None:
        self._position = {b.batch_id: i for i, b in enumerate(header.batches)}
        self._required: dict[tuple[bytes, int], tuple[bytes, int]] = {}
        self._referenced: set[bytes] = {header.root}
        self._done: set[bytes] = set()
        self.links: list[LineageLink] = []

    def consume(self, event: SignedEvent, index: int) -> None:
        if not isinstance(event.body, Step):
            return
        for ref in event.body.inputs:
            if ref.batch_id not in self._position:
                raise ChainError(
                    f"input batch {ref.batch_id.hex()[:16]} is not in the bundle",
                    code="E_INPUT_MISSING",
                    **_where(event, index),
                )
            if ref.batch_id in self._done:
                raise FormatError(
                    "an input batch comes before the batch that consumes it",
                    code="E_BUNDLE_ORDER",
                    **_where(event, index),
                )
            self._referenced.add(ref.batch_id)
            prior = self._required.get((ref.batch_id, ref.seq))
            if prior is None:
                self._required[(ref.batch_id, ref.seq)] = (ref.head, index)
            elif prior[0] != ref.head:
                # Two consumers name different events at one seq of the input: at most one can be true.
                raise ChainError(
                    f"the event at position {prior[1]} named another head for seq {ref.seq} of input batch "
                    f"{ref.batch_id.hex()[:16]}",
                    code="E_INPUT_HEAD",
                    **_where(event, index),
                )
            self.links.append(LineageLink(batch_id=event.batch_id, seq=event.seq, step=event.step, input=ref))

    def check_upstream(self, event: SignedEvent, index: int) -> None:
        need = self._required.pop((event.batch_id, event.seq), None)
        if need is not None and need[0] != event.event_id:
            raise ChainError(
                f"the consuming event (at position {need[1]}) names another head for this input batch at seq "
                f"{event.seq}",
                code="E_INPUT_HEAD",
                **_where(event, index),
            )

    def watch(self, result: ChunkResult, start: int) -> list[int]:
        """Return the positions in a checked chunk (from ``start``) whose events the lineage checks must see."""
        assert result.first is not None
        batch_id, first_seq = result.first.batch_id, result.first.seq
        positions = [p for p in result.with_inputs if p >= start]
        for b, seq in self._required:
            pos = seq - first_seq
            if b == batch_id and start <= pos < result.good:
                positions.append(pos)
        return positions

    def start(self, batch_id: bytes) -> None:
        if batch_id not in self._referenced:
            raise FormatError(
                f"batch {batch_id.hex()[:16]} is in the bundle but nothing consumes it",
                code="E_BUNDLE_EXTRA",
                batch_id=batch_id,
            )

    def finish_batch(self, batch_id: bytes) -> None:
        self._done.add(batch_id)
        for b, seq in self._required:
            if b == batch_id:
                raise ChainError(
                    f"an event consumed seq {seq} of batch {b.hex()[:16]}, which the bundle does not hold",
                    code="E_INPUT_HEAD",
                    batch_id=b,
                    seq=seq,
                )


def _open(source: str | os.PathLike[str] | BinaryIO) -> tuple[BinaryIO, bool]:
    if isinstance(source, (str, os.PathLike)):
        try:
            return Path(source).open("rb"), True
        except OSError as e:
            raise FormatError(f"cannot read {source}: {e.strerror}", code="E_IO") from e
    return source, False


def _where(event: SignedEvent, position: int) -> Where:
    return {"position": position, "batch_id": event.batch_id, "seq": event.seq, "event_id": event.event_id}


def verify_bundle(
    source: str | os.PathLike[str] | BinaryIO,
    options: VerifyOptions[KeySource],
    *,
    root: Subject,
    progress: Progress | None = None,
    on_event: Callable[[int, SignedEvent], None] | None = None,
) -> BundleSummary:
    """Verify a bundle offline: every chain, every lineage link, every signature against the trusted keys.

    Args:
        source: A path or a binary file.
        options: Keys, clock, tolerance, backend and processes (:class:`~ocop_provenance.VerifyOptions`); the keys
            shipped inside the bundle are *not* trusted by being there. With several processes, bundles of more
            than one chunk (with ``"auto"``: of at least 32,768 events) are parsed and signature-checked in worker
            processes, streaming with bounded read-ahead; the result, the error raised and its location are the
            same as without (``ocop verify`` uses ``"auto"``).
        root: The batch the caller expects the bundle to be about, or :data:`~ocop_provenance.ANY_BATCH`.
        progress: Called with (events verified, total) as it goes (with several workers, once per chunk).
        on_event: Called with (batch index in the header, event) for each event once its signature, chain links
            and upstream head have been checked, before its own inputs are registered; an exception it raises stops
            verification and propagates (the trust and lineage checks of :func:`~ocop_provenance.audit_bundle`).

    Returns:
        The verified summary.

    Raises:
        FormatError: A malformed bundle or event (``E_BUNDLE``, ``E_TRUNCATED``, ``E_TRAILING``, …).
        VerificationError: The first failed check; ``position`` is the event's 0-based position among the
            bundle's events, ``batch_id`` and ``seq`` its place. Lineage failures are ``E_INPUT_MISSING`` and
            ``E_INPUT_HEAD``; header claims that the events contradict are ``E_HEADER_MISMATCH``; a bundle about
            another batch than ``root`` is ``E_BATCH``; a correction that names no earlier step of its chain is
            ``E_CORRECTION_TARGET``.
        TypeError: ``root`` is neither a batch id nor ``ANY_BATCH``.
    """
    src, close = _open(source)
    try:
        reader = _reader_for(src, root)
        return _drain(_verify_events(reader, options, progress=progress, on_event=on_event, emit=False))
    finally:
        if close:
            src.close()


def _reader_for(src: BinaryIO, root: Subject) -> BundleReader:
    if root is not ANY_BATCH and not (isinstance(root, bytes) and len(root) == 32):
        raise TypeError("root must be a 32-byte batch id or ANY_BATCH")
    reader = BundleReader(src)
    if root is not ANY_BATCH and reader.header.root != root:
        raise ChainError("the bundle is about another batch", code="E_BATCH", batch_id=reader.header.root)
    return reader


_Verified = Generator[tuple[int, SignedEvent], None, BundleSummary]


def _drain(events: _Verified) -> BundleSummary:
    while True:
        try:
            next(events)
        except StopIteration as stop:
            summary: BundleSummary = stop.value
            return summary


def _verify_events(
    reader: BundleReader,
    options: VerifyOptions[KeySource],
    *,
    progress: Progress | None,
    on_event: Callable[[int, SignedEvent], None] | None,
    emit: bool,
) -> _Verified:
    """Verify the bundle's events; yield ``(batch index, event)`` for each (only when ``emit``); return the summary."""
    header = reader.header
    lineage = _Lineage(header)
    n = options.processes
    if n > 1 and header.total_events >= min_parallel_events(options.workers, options.chunk_size):
        return (
            yield from _verify_parallel(
                reader, lineage, options, workers=n, progress=progress, on_event=on_event, emit=emit
            )
        )
    chains: list[ChainSummary] = []
    verifier: ChainVerifier | None = None
    current = -1
    total = header.total_events
    done = 0
    for batch_index, raw in reader.events():
        if batch_index != current:
            if verifier is not None:
                chains.append(_finish(verifier, header.batches[current], lineage))
            current = batch_index
            lineage.start(header.batches[current].batch_id)
            verifier = ChainVerifier(options, batch=header.batches[current].batch_id, first_position=done)
        assert verifier is not None
        event = verifier.feed(raw)
        lineage.check_upstream(event, done)
        if on_event is not None:
            on_event(current, event)
        lineage.consume(event, done)
        done += 1
        if progress is not None and (done % 1024 == 0 or done == total):
            progress(done, total)
        if emit:
            yield current, event
    assert verifier is not None
    chains.append(_finish(verifier, header.batches[current], lineage))
    _check_header_keys(header, chains)
    return BundleSummary(header=header, chains=tuple(chains), lineage=tuple(lineage.links))


class VerifiedEvents:
    """A bundle's events, each yielded as ``(batch index, event)`` once verified, then the summary.

    Made by :func:`iter_verified`. Iterating verifies the bundle exactly as :func:`verify_bundle` does, in bounded
    memory (an event is dropped once yielded, unless the caller keeps it). Each event yielded has passed every
    check that concerns it: its signature against the trusted keys (and its key's window), its chain links, the
    head an earlier consumer named for it, and its own inputs. Checks of the bundle as a whole (each batch's last
    event is the head the header names, inputs consumed at a seq the bundle holds, the header's keys) come at the
    end: **until iteration ends without an error, treat what was yielded as provisional**. Then :attr:`summary` is
    set. An error stops iteration and closes the source; so does leaving a ``with`` block or calling
    :meth:`close`.

    Attributes:
        header: The bundle header (unauthenticated until the end, like everything the header claims).
    """

    def __init__(self, src: BinaryIO, close: bool, events: _Verified, header: BundleHeader) -> None:
        """Wrap a verification in progress (use :func:`iter_verified`)."""
        self._src = src
        self._close_src = close
        self._events = events
        self._summary: BundleSummary | None = None
        self.header = header

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> tuple[int, SignedEvent]:
        try:
            return next(self._events)
        except StopIteration as stop:
            self._summary = stop.value
            self.close()
            raise StopIteration from None
        except BaseException:
            self.close()
            raise

    @property
    def summary(self) -> BundleSummary:
        """The verified summary, once every event has been yielded.

        Raises:
            RuntimeError: Iteration has not ended yet, or ended with an error (then nothing is verified).
        """
        if self._summary is None:
            raise RuntimeError("the bundle is verified only once every event has been read without an error")
        return self._summary

    def close(self) -> None:
        """Stop verifying (worker processes, if any, are stopped) and close the source if it was opened here."""
        self._events.close()
        if self._close_src:
            self._src.close()
            self._close_src = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def iter_verified(
    source: str | os.PathLike[str] | BinaryIO,
    options: VerifyOptions[KeySource],
    *,
    root: Subject,
    progress: Progress | None = None,
) -> VerifiedEvents:
    """Verify a bundle and hand back its events as they are verified, then the summary (no callback needed).

    For exports and viewers (EPCIS, the portal) that need the verified events themselves: memory stays bounded, as
    for :func:`verify_bundle`, and with several processes events come back in file order a chunk at a time::

        with iter_verified(path, options, root=batch_id) as events:
            for batch_index, event in events:
                ...  # provisional until the loop ends without an error
            summary = events.summary

    Args:
        source: A path or a binary file (a path is opened here and closed when iteration ends or stops).
        options: As for :func:`verify_bundle`.
        root: As for :func:`verify_bundle`.
        progress: As for :func:`verify_bundle`.

    Returns:
        The events, as an iterator of ``(batch index in the header, event)`` with a :attr:`~VerifiedEvents.summary`.

    Raises:
        FormatError: The file cannot be read, or its header is malformed (at once); during iteration, every error
            of :func:`verify_bundle`.
        ChainError: The bundle is about another batch than ``root`` (``E_BATCH``, at once).
        TypeError: ``root`` is neither a batch id nor ``ANY_BATCH``.
    """
    src, close = _open(source)
    try:
        reader = _reader_for(src, root)
    except BaseException:
        if close:
            src.close()
        raise
    events = _verify_events(reader, options, progress=progress, on_event=None, emit=True)
    return VerifiedEvents(src, close, events, reader.header)


def _check_header_keys(header: BundleHeader, chains: list[ChainSummary]) -> None:
    # The header is not signed: its key list must be exactly the events' signers, or any byte of it could change.
    signers = {key_id for chain in chains for key_id in chain.signers}
    if {k.key_id for k in header.keys} != signers or len(header.keys) != len(signers):
        raise ChainError(
            "the header's keys are not exactly the keys that signed the events",
            code="E_HEADER_MISMATCH",
            field="keys",
        )


def _finish(verifier: ChainVerifier | LiteChain, declared: BundleBatch, lineage: _Lineage) -> ChainSummary:
    summary = verifier.finish()
    if summary.head.event_id != declared.head:
        raise ChainError(
            "the header names another head than the chain ends with",
            code="E_HEADER_MISMATCH",
            batch_id=declared.batch_id,
            seq=summary.head.seq,
            field="batches",
        )
    lineage.finish_batch(declared.batch_id)
    return summary


def _bundle_chunks(
    reader: BundleReader, size: int, *, total: int, workers: int
) -> Iterator[tuple[tuple[int, int], list[bytes]]]:
    """Yield ``((batch index, index of the first event), raws)``; a chunk never spans two batches.

    Chunks hold ``size`` events until the last ``2 * workers * size`` of the ``total`` the header declares. Then each
    holds a ``2 * workers``-th of what remains (at least ``size // 16``: 64 events by default), so that the workers
    finish within a small chunk of each other, instead of one waiting while another checks a whole last chunk
    (guided self-scheduling). The sizes change only how the work is shared, never what is checked.
    """
    chunk: list[bytes] = []
    current, start, done, limit = -1, 0, 0, size
    smallest = max(1, size // 16)
    for batch_index, raw in reader.events():
        if chunk and (batch_index != current or len(chunk) >= limit):
            yield (current, start), chunk
            chunk = []
        if not chunk:
            current, start = batch_index, done
            limit = min(size, max(smallest, -(-(total - done) // (2 * workers))))
        chunk.append(raw)
        done += 1
    if chunk:
        yield (current, start), chunk


def _verify_parallel(
    reader: BundleReader,
    lineage: _Lineage,
    options: VerifyOptions[KeySource],
    *,
    workers: int,
    progress: Progress | None,
    on_event: Callable[[int, SignedEvent], None] | None,
    emit: bool,
) -> _Verified:
    header = reader.header
    total = header.total_events
    chains: list[ChainSummary] = []
    lite: LiteChain | None = None
    current, done = -1, 0
    verified: list[tuple[int, SignedEvent]] = []  # one chunk's events, yielded once the chunk is taken
    with ChunkPool[tuple[int, int]](workers, options.chunk_context()) as pool:
        for (batch_index, first), raws, result in pool.run(
            _bundle_chunks(reader, options.chunk_size, total=total, workers=workers)
        ):
            if batch_index != current:
                if lite is not None:
                    chains.append(_finish(lite, header.batches[current], lineage))
                current = batch_index
                batch_id = header.batches[current].batch_id
                lineage.start(batch_id)
                lite = LiteChain(ChainVerifier(options, batch=batch_id, first_position=first))
            assert lite is not None

            def visit(pos: int, event: SignedEvent, first: int = first, batch: int = current) -> None:
                lineage.check_upstream(event, first + pos)
                if on_event is not None:
                    on_event(batch, event)
                lineage.consume(event, first + pos)
                if emit:
                    verified.append((batch, event))

            # on_event (or the caller of iter_verified) must see every event, in order: then every event is decoded
            # here too (not re-verified).
            every = on_event is not None or emit
            lite.take(raws, result, watch=_every if every else lineage.watch, visit=visit)
            yield from verified
            verified.clear()
            for mark in range(done // 1024 + 1, (done + result.count) // 1024 + 1):
                if progress is not None and mark * 1024 != total:
                    progress(mark * 1024, total)
            done += result.count
            if progress is not None and done == total:
                progress(done, total)
        assert lite is not None
        chains.append(_finish(lite, header.batches[current], lineage))
    _check_header_keys(header, chains)
    return BundleSummary(header=header, chains=tuple(chains), lineage=tuple(lineage.links))


def _every(result: ChunkResult, start: int) -> range:
    return range(start, result.good)
