"""The head journal: an append-only, hash-chained file of every head that left the ledger (docs/store.md).

It lives beside the ledger (``ledger.sqlite`` → ``ledger.sqlite.heads``), outside the database, so that restoring
an old copy of the ledger, or deleting its newest rows, does not roll it back too. The format (docs/store.md §The
head journal) is ASCII lines, each ending in LF::

    ocop-heads 1
    <n> <purpose> <batch id> <seq> <event id> <previous line's SHA-256>

``n`` counts records from 1; ids and hashes are 64 lowercase hex digits; ``seq`` and ``n`` are decimal without
leading zeros; ``purpose`` is ``start``, ``export``, ``seal`` or ``publish``; the hash is SHA-256 of the whole
previous line, its LF included (for record 1, of the first line). A last line without its LF is a write that a
crash cut short (it was never handed out): it is ignored and cut off by the next append.

This module knows the file only: reading and checking it, appending under an exclusive lock with fsync. What the
heads must agree with in the database is checked by :mod:`._guard`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from .._errors import StoreError, TamperError

__all__ = ["JOURNAL_SUFFIX", "PURPOSES", "HeadJournal", "JournaledHead", "Purpose"]

JOURNAL_SUFFIX = ".heads"
_MAGIC = b"ocop-heads 1\n"
Purpose = Literal["start", "export", "seal", "publish"]
#: Why a head left the ledger: ``start`` (the heads a journal was started with), ``export``, ``seal``, ``publish``.
PURPOSES: tuple[Purpose, ...] = ("start", "export", "seal", "publish")
_RECORD = re.compile(
    rb"([1-9][0-9]{0,18}) (start|export|seal|publish) ([0-9a-f]{64}) (0|[1-9][0-9]{0,18})"
    rb" ([0-9a-f]{64}) ([0-9a-f]{64})\n"
)
_MAX_LINE = 256
_READ = 1 << 16


@dataclass(frozen=True, slots=True, kw_only=True)
class JournaledHead:
    """One record of the head journal: a head that was handed out.

    Attributes:
        number: The record's number in the journal, from 1.
        purpose: Why it was handed out: ``start``, ``export``, ``seal`` or ``publish``.
        batch_id: The batch.
        seq: The head's seq.
        event_id: The head's event id.
    """

    number: int
    purpose: str
    batch_id: bytes
    seq: int
    event_id: bytes


def _broken(path: Path, message: str, *, number: int | None = None) -> TamperError:
    where = f"record {number}: " if number is not None else ""
    return TamperError(
        f"the head journal {path} is broken: {where}{message} (it was changed outside this library)",
        code="E_JOURNAL_BROKEN",
        position=number,
    )


def _os_error(path: Path, e: OSError, what: str) -> StoreError:
    if e.errno == errno.ENOSPC:
        return StoreError(f"{what} {path}: the disk is full", code="E_DISK_FULL")
    if e.errno in {errno.EACCES, errno.EPERM, errno.EROFS}:
        return StoreError(f"{what} {path}: {e.strerror}", code="E_READ_ONLY")
    return StoreError(f"{what} {path}: {e.strerror}", code="E_IO")


@contextlib.contextmanager
def _io(path: Path, what: str) -> Iterator[None]:
    try:
        yield
    except StoreError:  # the library's own (an OSError too): already says what is wrong
        raise
    except OSError as e:
        raise _os_error(path, e, what) from e


def _lock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - not run on the project's CI
        import msvcrt  # noqa: PLC0415 - Windows only

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
    else:
        import fcntl  # noqa: PLC0415 - POSIX only

        fcntl.flock(fd, fcntl.LOCK_EX)


def _fsync_directory(path: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - directories cannot be opened there
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HeadJournal:
    """The journal file: what it holds (the latest head of each batch), and appending to it.

    Attributes:
        path: The journal file.
        records: Complete records read so far.
        latest: Per batch, its journaled head of the highest seq.
    """

    def __init__(self, path: Path) -> None:
        """Refer to the journal at ``path`` (nothing is read until :meth:`load`)."""
        self.path = path
        self.records = 0
        self.latest: dict[bytes, JournaledHead] = {}
        self._tip = hashlib.sha256(_MAGIC).digest()
        self._offset = 0  # bytes of complete lines read (magic included)
        self._identity: tuple[int, int] | None = None

    # ---- reading ---------------------------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the file exists."""
        return self.path.exists()

    def load(self) -> None:
        """Read and check the whole file.

        Raises:
            TamperError: Not a head journal, a malformed record, or a broken chain (``E_JOURNAL_BROKEN``).
            StoreError: It cannot be read (``E_IO``).
        """
        self.records, self.latest = 0, {}
        self._tip, self._offset, self._identity = hashlib.sha256(_MAGIC).digest(), 0, None
        self.refresh()

    def refresh(self) -> None:
        """Read the records appended since the last read (by this process or another); cheap when there are none.

        Raises:
            TamperError: The file shrank, was replaced, or holds a bad record (``E_JOURNAL_BROKEN``).
            StoreError: It cannot be read (``E_IO``).
        """
        with _io(self.path, "reading the head journal"):
            try:
                st = self.path.stat()
            except FileNotFoundError:
                raise _broken(self.path, "the file is gone") from None
            identity = (st.st_dev, st.st_ino)
            if self._identity is not None and identity != self._identity:
                raise _broken(self.path, "the file was replaced while the ledger was open")
            if st.st_size < self._offset:
                raise _broken(self.path, "records were removed from its end while the ledger was open")
            self._identity = identity
            if st.st_size == self._offset:
                return
            with self.path.open("rb") as f:
                f.seek(self._offset)
                self._read(f)

    def _read(self, f: BinaryIO) -> None:
        for line in _lines(f):
            if not line.endswith(b"\n"):
                return  # a record a crash cut short: never handed out
            if self._offset == 0:
                if line != _MAGIC:
                    raise _broken(self.path, "it does not start with the line 'ocop-heads 1'")
            else:
                self._take(line)
            self._offset += len(line)
            self._tip = hashlib.sha256(line).digest()

    def _take(self, line: bytes) -> None:
        number = self.records + 1
        m = _RECORD.fullmatch(line)
        if m is None:
            raise _broken(
                self.path, "not a record of the form '<n> <purpose> <batch> <seq> <event> <hash>'", number=number
            )
        n, purpose, batch, seq, event, prev = m.groups()
        if int(n) != number:
            raise _broken(self.path, f"numbered {int(n)}", number=number)
        if bytes.fromhex(prev.decode()) != self._tip:
            raise _broken(self.path, "the previous line's hash does not match: the chain is broken", number=number)
        head = JournaledHead(
            number=number,
            purpose=purpose.decode(),
            batch_id=bytes.fromhex(batch.decode()),
            seq=int(seq),
            event_id=bytes.fromhex(event.decode()),
        )
        if head.seq == 0 and head.event_id != head.batch_id:
            raise _broken(self.path, "a genesis head whose event id is not its batch id", number=number)
        held = self.latest.get(head.batch_id)
        if held is not None and held.seq == head.seq and held.event_id != head.event_id:
            raise _broken(self.path, f"two events at seq {head.seq} of one batch: a fork was handed out", number=number)
        if held is None or head.seq > held.seq:
            self.latest[head.batch_id] = head
        self.records = number

    def covers(self, batch_id: bytes, seq: int) -> bool:
        """Whether a head of ``batch_id`` at ``seq`` or later is journaled already (so ``seq`` needs no record)."""
        held = self.latest.get(batch_id)
        return held is not None and held.seq >= seq

    # ---- writing ---------------------------------------------------------------------------------------------

    def create(self, heads: Iterable[tuple[bytes, int, bytes]]) -> bool:
        """Create the journal holding ``heads`` (purpose ``start``), atomically: all of it appears, or nothing.

        Args:
            heads: ``(batch id, seq, event id)`` of each batch's current head, for a ledger that already holds
                batches (empty for a new ledger).

        Returns:
            True if this call created it; False if another process created it first (it is then loaded).

        Raises:
            StoreError: The file cannot be written (``E_IO``, ``E_READ_ONLY``, ``E_DISK_FULL``).
        """
        lines = [_MAGIC]
        tip = hashlib.sha256(_MAGIC).digest()
        for number, head in enumerate(heads, start=1):
            line = _line(number, "start", head, tip)
            lines.append(line)
            tip = hashlib.sha256(line).digest()
        # Unique to this process and thread; O_EXCL: never write through a file someone else put there.
        temp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.new")
        with _io(self.path, "creating the head journal"):
            temp.unlink(missing_ok=True)  # left by a crash of this very process id
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, b"".join(lines))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(temp, self.path)  # fails if another process created it meanwhile: never overwrite
                created = True
            except FileExistsError:
                created = False
            finally:
                temp.unlink()
            if created:
                _fsync_directory(self.path.parent)
        self.load()
        return created

    def append(self, heads: Iterable[tuple[bytes, int, bytes]], purpose: Purpose) -> list[JournaledHead]:
        """Journal the heads not covered yet, and make them durable (fsync) before returning.

        Under an exclusive lock on the file: records appended by other processes are read first, a record a crash
        cut short is cut off, and only then are the new records written.

        Args:
            heads: ``(batch id, seq, event id)`` of each head about to be handed out.
            purpose: Why.

        Returns:
            The records written (none if every head was journaled already).

        Raises:
            TamperError: The journal is broken (``E_JOURNAL_BROKEN``).
            StoreError: It cannot be written (``E_IO``, ``E_READ_ONLY``, ``E_DISK_FULL``).
        """
        wanted = list(heads)
        if all(self.covers(b, s) for b, s, _ in wanted):
            return []
        with _io(self.path, "writing the head journal"):
            fd = os.open(self.path, os.O_RDWR)
            try:
                _lock(fd)  # released when fd is closed
                self.refresh()
                written: list[JournaledHead] = []
                lines: list[bytes] = []
                tip, number = self._tip, self.records
                for batch_id, seq, event_id in wanted:
                    if self.covers(batch_id, seq) or any(w.batch_id == batch_id and w.seq >= seq for w in written):
                        continue
                    number += 1
                    line = _line(number, purpose, (batch_id, seq, event_id), tip)
                    lines.append(line)
                    tip = hashlib.sha256(line).digest()
                    written.append(
                        JournaledHead(number=number, purpose=purpose, batch_id=batch_id, seq=seq, event_id=event_id)
                    )
                if lines:
                    os.ftruncate(fd, self._offset)  # a torn last record, if any
                    os.lseek(fd, self._offset, os.SEEK_SET)
                    data = b"".join(lines)
                    while data:
                        data = data[os.write(fd, data) :]
                    os.fsync(fd)
                    self.refresh()
            finally:
                os.close(fd)
        return written


def _line(number: int, purpose: str, head: tuple[bytes, int, bytes], tip: bytes) -> bytes:
    batch_id, seq, event_id = head
    return f"{number} {purpose} {batch_id.hex()} {seq} {event_id.hex()} {tip.hex()}\n".encode("ascii")


def _lines(f: BinaryIO) -> Iterator[bytes]:
    """Yield the file's lines, refusing any longer than a record can be (memory stays bounded)."""
    while line := f.readline(_MAX_LINE + 1):
        if len(line) > _MAX_LINE:
            raise TamperError("the head journal holds a line longer than any record", code="E_JOURNAL_BROKEN")
        yield line
