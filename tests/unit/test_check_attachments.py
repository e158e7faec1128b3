"""check_attachments: recorded attachments matched to files by SHA-256 and size, each file hashed at most once."""

from __future__ import annotations

import hashlib
import io
import unicodedata
from datetime import datetime
from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance import _attachments
from ocop_provenance.events import (
    BundleBatch,
    BundleHeader,
    append_step,
    check_attachments,
    iter_verified,
    open_batch,
    write_bundle,
)

from tests.conftest import ICT, sample_genesis
from tests.verifying import ANY_BATCH, options

PLACE = op.Location(name="Phòng thí nghiệm")
CERT = "Phiếu kết quả thử nghiệm số 2411/KN".encode()
PHOTO = b"\x89PNG anh san pham"
PLAN = b"ke hoach san xuat"


def attachment(name: str, data: bytes, media_type: str = "application/pdf") -> op.Attachment:
    return op.Attachment(name=name, media_type=media_type, size=len(data), sha256=hashlib.sha256(data).digest())


def recorded(coop: op.PrivateKey) -> list[op.SignedEvent]:
    g = open_batch(sample_genesis(attachments=(attachment("ảnh sản phẩm.png", PHOTO, "image/png"),)), coop)
    lab = append_step(
        g,
        coop,
        step="inspecting",
        time=datetime(2024, 11, 2, 9, 0, tzinfo=ICT),
        location=PLACE,
        attachments=[attachment("phiếu-kết-quả.pdf", CERT), attachment("kế-hoạch.pdf", PLAN)],
    )
    return [g, lab]


def test_present_missing_and_different(tmp_path: Path, coop: op.PrivateKey) -> None:
    (tmp_path / "ảnh sản phẩm.png").write_bytes(PHOTO)
    (tmp_path / "phiếu-kết-quả.pdf").write_bytes(CERT + " (sửa)".encode())
    (tmp_path / "unrelated.txt").write_bytes(b"x" * 5000)
    report = check_attachments(recorded(coop), tmp_path)
    assert [(c.attachment.name, c.status) for c in report.checks] == [
        ("ảnh sản phẩm.png", "present"),
        ("phiếu-kết-quả.pdf", "different"),
        ("kế-hoạch.pdf", "missing"),
    ]
    assert not report.ok
    assert report.checks[0].seq == 0
    assert report.checks[1].path == tmp_path / "phiếu-kết-quả.pdf"
    assert report.checks[2].path is None
    doc = report.to_dict()
    assert (doc["present"], doc["different"], doc["missing"]) == (1, 1, 1)
    assert doc["attachments"][1]["file"] == "phiếu-kết-quả.pdf"


def test_a_renamed_file_is_found_by_its_hash(tmp_path: Path, coop: op.PrivateKey) -> None:
    (tmp_path / "scan-0001.pdf").write_bytes(CERT)
    (tmp_path / "phiếu-kết-quả.pdf").write_bytes(b"another document")
    (tmp_path / "plan.pdf").write_bytes(PLAN)
    (tmp_path / "ảnh sản phẩm.png").write_bytes(PHOTO)
    report = check_attachments(recorded(coop), tmp_path)
    assert report.ok
    cert = report.checks[1]
    assert (cert.path, cert.renamed) == (tmp_path / "scan-0001.pdf", True)
    assert report.checks[0].renamed is False


def test_names_match_in_nfc(tmp_path: Path, coop: op.PrivateKey) -> None:
    (tmp_path / unicodedata.normalize("NFD", "ảnh sản phẩm.png")).write_bytes(PHOTO)
    report = check_attachments(recorded(coop)[:1], tmp_path)
    assert report.ok


def test_each_file_is_hashed_once_and_unrelated_sizes_are_not_read(
    tmp_path: Path, coop: op.PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ảnh sản phẩm.png").write_bytes(PHOTO)
    (tmp_path / "same-size.bin").write_bytes(b"y" * len(CERT))
    for i in range(20):
        (tmp_path / f"big-{i}.bin").write_bytes(b"z" * (10_000 + i))
    hashed: list[str] = []
    real = _attachments._digest

    def counting(path: Path) -> tuple[bytes, int]:
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(_attachments, "_digest", counting)
    events = recorded(coop)
    check_attachments([*events, events[1]], tmp_path)  # the lab event twice: still one hash per file
    assert sorted(hashed) == ["same-size.bin", "ảnh sản phẩm.png"]


def test_from_a_verified_stream(tmp_path: Path, coop: op.PrivateKey, ring: op.KeyRing) -> None:
    events = recorded(coop)
    header = BundleHeader(
        root=events[0].event_id,
        batches=(BundleBatch(batch_id=events[0].event_id, count=2, head=events[1].event_id),),
        keys=(coop.public_key,),
    )
    out = io.BytesIO()
    write_bundle(out, header, [e.raw for e in events])
    (tmp_path / "kế-hoạch.pdf").write_bytes(PLAN)
    with iter_verified(io.BytesIO(out.getvalue()), options(ring), root=ANY_BATCH) as stream:
        report = check_attachments(stream, tmp_path)
    assert [c.status for c in report.checks] == ["missing", "missing", "present"]
    assert stream.summary.root.count == 2


def test_an_unreadable_directory_is_a_typed_error(tmp_path: Path, coop: op.PrivateKey) -> None:
    with pytest.raises(op.AttachmentReadError) as info:
        check_attachments(recorded(coop), tmp_path / "nowhere")
    assert info.value.code == "E_ATTACHMENT_IO"
    assert isinstance(info.value, OSError)
    (tmp_path / "a-file").write_bytes(b"x")
    with pytest.raises(op.AttachmentReadError):
        check_attachments(recorded(coop), tmp_path / "a-file")


def test_a_subdirectory_is_not_a_file(tmp_path: Path, coop: op.PrivateKey) -> None:
    (tmp_path / "phiếu-kết-quả.pdf").mkdir()
    assert check_attachments(recorded(coop), tmp_path).checks[1].status == "missing"


def test_an_unreadable_file_is_a_typed_error_naming_it(
    tmp_path: Path, coop: op.PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "phiếu-kết-quả.pdf").write_bytes(CERT)

    def refuse(*_: object, **__: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(op.AttachmentReadError) as info:
        check_attachments(recorded(coop), tmp_path)
    assert info.value.field == "phiếu-kết-quả.pdf"
    assert "Permission denied" in info.value.message
