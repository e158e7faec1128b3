"""Attachment.from_file: a file described by hash, size, name and media type."""

from __future__ import annotations

import hashlib
from pathlib import Path

import ocop_provenance as op
import pytest


def test_hash_size_name_and_guessed_type(tmp_path: Path) -> None:
    path = tmp_path / "phiếu-kiểm-nghiệm.pdf"
    data = b"%PDF-1.4\n" + bytes(range(256)) * 5000  # more than one read chunk
    path.write_bytes(data)
    a = op.Attachment.from_file(path)
    assert a.sha256 == hashlib.sha256(data).digest()
    assert a.size == len(data)
    assert a.name == "phiếu-kiểm-nghiệm.pdf"
    assert a.media_type == "application/pdf"


def test_unknown_extension_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "reading.zzunknown"
    path.write_bytes(b"")
    assert op.Attachment.from_file(path).media_type == "application/octet-stream"
    a = op.Attachment.from_file(path, media_type="text/csv", name="readings.csv")
    assert (a.media_type, a.name, a.size) == ("text/csv", "readings.csv", 0)
    assert a.sha256 == hashlib.sha256(b"").digest()


def test_bad_overrides_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"x")
    with pytest.raises(op.FormatError) as info:
        op.Attachment.from_file(path, name="../a.txt")
    assert info.value.field == "attachments.name"
    with pytest.raises(op.FormatError):
        op.Attachment.from_file(path, media_type="Text/Plain; charset=utf-8")
    with pytest.raises(FileNotFoundError):
        op.Attachment.from_file(tmp_path / "missing.pdf")
