"""Checking the files an auditor holds against the attachments the events recorded (by SHA-256 and size).

An event records a file by name, media type, size and SHA-256; the bytes travel separately. Given the events
(verified first: this module checks files, not signatures) and a directory, :func:`check_attachments` says of
each recorded attachment whether a file with its hash and size is there (under its name or another), whether the
file of that name holds other bytes, or whether nothing matches. Every file is hashed at most once, and a file no
attachment names is hashed only when its size is that of an attachment not found under its own name, so a
directory full of unrelated files costs a listing, not a read.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ._bundle import VerifiedEvents
from ._errors import AttachmentReadError
from ._model import Attachment
from ._wire import SignedEvent

__all__ = ["AttachmentCheck", "AttachmentReport", "AttachmentStatus", "check_attachments"]

#: ``present``: a file with the recorded SHA-256 and size is in the directory (maybe under another name);
#: ``different``: the file of the recorded name holds other bytes, and no file holds the recorded ones;
#: ``missing``: neither.
AttachmentStatus = Literal["present", "different", "missing"]
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentCheck:
    """One recorded attachment and what the directory holds for it.

    Attributes:
        batch_id: The batch of the event that records it.
        seq: That event's seq.
        event_id: That event's id.
        attachment: What the event recorded (name, media type, size, SHA-256).
        status: ``present``, ``different`` or ``missing`` (:data:`AttachmentStatus`).
        path: The matching file when present; the file of the recorded name when different; else None.
    """

    batch_id: bytes
    seq: int
    event_id: bytes
    attachment: Attachment
    status: AttachmentStatus
    path: Path | None = None

    @property
    def renamed(self) -> bool:
        """True when the matching file has another name than the recorded one."""
        return self.status == "present" and self.path is not None and _nfc(self.path.name) != self.attachment.name

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping (ids and the hash as hex)."""
        a = self.attachment
        return {
            "batch_id": self.batch_id.hex(),
            "seq": self.seq,
            "event_id": self.event_id.hex(),
            "name": a.name,
            "media_type": a.media_type,
            "size": a.size,
            "sha256": a.sha256.hex(),
            "status": self.status,
            "file": None if self.path is None else self.path.name,
            "renamed": self.renamed,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentReport:
    """What :func:`check_attachments` found.

    Attributes:
        directory: The directory checked.
        checks: One entry per recorded attachment, in event order then the order each event lists them.
    """

    directory: Path
    checks: tuple[AttachmentCheck, ...]

    @property
    def ok(self) -> bool:
        """True when every recorded attachment is present."""
        return all(c.status == "present" for c in self.checks)

    def with_status(self, status: AttachmentStatus) -> tuple[AttachmentCheck, ...]:
        """The entries of one status."""
        return tuple(c for c in self.checks if c.status == status)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "directory": str(self.directory),
            "ok": self.ok,
            "present": len(self.with_status("present")),
            "different": len(self.with_status("different")),
            "missing": len(self.with_status("missing")),
            "attachments": [c.to_dict() for c in self.checks],
        }


def _nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def _digest(path: Path) -> tuple[bytes, int]:
    h = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                size += len(chunk)
    except OSError as e:
        raise AttachmentReadError(f"cannot read {path}: {e.strerror or e}", field=path.name) from e
    return h.digest(), size


def _listing(directory: Path) -> dict[str, tuple[Path, int]]:
    files: dict[str, tuple[Path, int]] = {}
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    if entry.is_file():
                        files[_nfc(entry.name)] = (Path(entry.path), entry.stat().st_size)
                except OSError as e:
                    raise AttachmentReadError(f"cannot read {entry.path}: {e.strerror or e}", field=entry.name) from e
    except AttachmentReadError:
        raise
    except OSError as e:
        raise AttachmentReadError(f"cannot list {directory}: {e.strerror or e}") from e
    return files


def check_attachments(
    events: Iterable[SignedEvent] | VerifiedEvents, directory: str | os.PathLike[str]
) -> AttachmentReport:
    """Say, for each attachment the events record, whether the directory holds its file (by SHA-256 and size).

    Verify the events first (:func:`~ocop_provenance.verify_chain`, :func:`~ocop_provenance.events.iter_verified`):
    this checks files against what was recorded, not who recorded it. Only the directory's own files are read (not
    its subdirectories); names are compared in Unicode NFC, so a file name written decomposed still matches.

    Args:
        events: The events, or what :func:`~ocop_provenance.events.iter_verified` returned (read to its end).
        directory: The directory holding the files.

    Returns:
        One entry per recorded attachment: ``present`` (a file with its hash and size, under its name or another),
        ``different`` (the file of its name holds other bytes) or ``missing``.

    Raises:
        AttachmentReadError: The directory cannot be listed, or a file that must be hashed cannot be read
            (``E_ATTACHMENT_IO``, ``field`` naming the file).
        ProvenanceError: ``events`` came from :func:`~ocop_provenance.events.iter_verified` and the bundle does
            not verify (its error).
    """
    folder = Path(directory)
    stream: Iterable[SignedEvent] = (e for _, e in events) if isinstance(events, VerifiedEvents) else events
    recorded = [(e.batch_id, e.seq, e.event_id, a) for e in stream for a in e.body.attachments]
    files = _listing(folder)
    hashed: dict[str, tuple[bytes, int]] = {}  # file name -> (sha256, size)
    by_content: dict[tuple[bytes, int], Path] = {}

    def digest(name: str) -> tuple[bytes, int]:
        found = hashed.get(name)
        if found is None:
            path = files[name][0]
            found = hashed[name] = _digest(path)
            by_content.setdefault(found, path)
        return found

    # 1. the files the attachments name, each hashed once
    for *_, a in recorded:
        if a.name in files:
            digest(a.name)
    # 2. files under other names, only of a size some attachment not found by name has
    wanted = {a.size for *_, a in recorded if (a.sha256, a.size) not in by_content}
    for name, (_, size) in sorted(files.items()):
        if size in wanted and name not in hashed:
            digest(name)
    checks = []
    for batch_id, seq, event_id, a in recorded:
        match = by_content.get((a.sha256, a.size))
        own = files.get(a.name)
        if own is not None and hashed[a.name] == (a.sha256, a.size):
            status: AttachmentStatus = "present"
            path: Path | None = own[0]
        elif match is not None:
            status, path = "present", match
        elif own is not None:
            status, path = "different", own[0]
        else:
            status, path = "missing", None
        checks.append(
            AttachmentCheck(batch_id=batch_id, seq=seq, event_id=event_id, attachment=a, status=status, path=path)
        )
    return AttachmentReport(directory=folder, checks=tuple(checks))
