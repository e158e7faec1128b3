"""Ledger.import_bundle reads a bundle once: each event is stored as it is verified, in one transaction."""

from __future__ import annotations

import io
import os
import sqlite3
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance.events import BundleBatch, BundleHeader, BundleReader, parse_unverified_event, write_bundle
from ocop_provenance.ledger import ImportResult

from tests.conftest import ICT, key, sample_genesis
from tests.verifying import ANY_BATCH, options

WHERE = op.Location(name="Xưởng sấy Nghi Sơn, Thanh Hóa", admin_code="38")
T1 = datetime(2024, 11, 2, 7, 30, tzinfo=ICT)
COOP, WORKSHOP = key(1), key(2)
TRUSTED = op.KeyRing.of([COOP.public_key, WORKSHOP.public_key])


def _steps(n: int, start: int = 0) -> list[op.NewStep]:
    return [
        op.NewStep(step="ocop:drying", time=T1 + timedelta(minutes=start + i), location=WHERE, data={"khay": i})
        for i in range(n)
    ]


def _producer(path: Path, *, spores_steps: int = 3) -> tuple[bytes, bytes, bytes]:
    """A producer's ledger: dried (root) made from fresh, fresh made from spores. Returns (dried, fresh, spores)."""
    with op.Ledger.open(path) as ledger:
        spores = ledger.open_batch(
            sample_genesis(product=op.Product(name="Giống đông trùng", lot="S1", quantity="1", unit="kg")), COOP
        ).event_id
        ledger.add_steps(spores, COOP, _steps(spores_steps))
        fresh = ledger.open_batch(sample_genesis(), COOP).event_id
        ledger.add_steps(fresh, COOP, [op.NewStep(step="commissioning", time=T1, location=WHERE, inputs=(spores,))])
        dried = ledger.open_batch(
            sample_genesis(product=op.Product(name="Đông trùng hạ thảo sấy khô", lot="D1", quantity="12", unit="kg")),
            WORKSHOP,
        ).event_id
        ledger.add_steps(dried, WORKSHOP, [op.NewStep(step="receiving", time=T1, location=WHERE, inputs=(fresh,))])
        ledger.add_steps(dried, WORKSHOP, _steps(4, start=10))
    return dried, fresh, spores


def _export(path: Path, batch: bytes) -> bytes:
    out = io.BytesIO()
    with op.Ledger.open(path) as ledger:
        ledger.export_bundle(batch, out)
    return out.getvalue()


def _items(data: bytes) -> tuple[BundleHeader, list[bytes]]:
    reader = BundleReader(io.BytesIO(data))
    return reader.header, [raw for _, raw in reader.events()]


def _bundle(header: BundleHeader, raws: list[bytes]) -> bytes:
    out = io.BytesIO()
    write_bundle(out, header, raws)
    return out.getvalue()


def _snapshot(path: Path) -> tuple[dict[str, int], str]:
    """Row counts and a full SQL dump of the ledger file: equal snapshots mean byte-for-byte equal contents."""
    conn = sqlite3.connect(path)
    try:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("keys", "events", "inputs")}
        return counts, "\n".join(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def holder(tmp_path: Path) -> Path:
    """A second ledger that already holds a batch of its own and the first events of the producer's spores."""
    path = tmp_path / "holder.ocop"
    with op.Ledger.open(path) as ledger:
        own = ledger.open_batch(
            sample_genesis(product=op.Product(name="Mật ong", lot="M1", quantity="3", unit="kg")), key(3)
        )
        ledger.add_steps(own.event_id, key(3), _steps(2))
    return path


def test_import_returns_the_verified_summary(tmp_path: Path, holder: Path) -> None:
    dried, fresh, spores = _producer(tmp_path / "producer.ocop")
    data = _export(tmp_path / "producer.ocop", dried)
    with op.Ledger.open(holder) as ledger:
        result = ledger.import_bundle(io.BytesIO(data), options(TRUSTED))
        assert isinstance(result, ImportResult)
        assert result.summary == op.verify_bundle(io.BytesIO(data), options(TRUSTED), root=ANY_BATCH)
        assert result.stored == result.total == result.summary.header.total_events == 6 + 2 + 4
        assert [c.batch_id for c in result.summary.chains] == [dried, fresh, spores]
        assert ledger.lineage(dried) == [dried, fresh, spores]
        assert ledger.verify_stored() == 12 + 3
        # Idempotent: a second import stores nothing and reports the same bundle.
        again = ledger.import_bundle(io.BytesIO(data), options(TRUSTED))
        assert (again.stored, again.total) == (0, 12)


def test_import_completes_a_partly_held_batch(tmp_path: Path, holder: Path) -> None:
    dried, _, spores = _producer(tmp_path / "producer.ocop")
    with op.Ledger.open(tmp_path / "producer.ocop") as producer:
        first = list(producer.events(spores))[:2]
    with op.Ledger.open(holder) as ledger:
        ledger.add_key(COOP.public_key)
        ledger.append_many(first)
        result = ledger.import_bundle(io.BytesIO(_export(tmp_path / "producer.ocop", dried)), options(TRUSTED))
        assert (result.stored, result.total) == (10, 12)
        assert ledger.head(spores).seq == 3


@pytest.mark.parametrize("workers", [None, 2])
def test_a_bundle_failing_at_its_last_event_changes_nothing(tmp_path: Path, holder: Path, workers: int | None) -> None:
    # With workers=2 the bundle is longer than one chunk, so the signatures are checked in a worker process.
    dried, _, _ = _producer(tmp_path / "producer.ocop", spores_steps=3 if workers is None else 1100)
    header, raws = _items(_export(tmp_path / "producer.ocop", dried))
    last = bytearray(raws[-1])
    last[-1] ^= 1  # the last byte of the last event's signature
    bad = _bundle(header, [*raws[:-1], bytes(last)])
    with op.Ledger.open(holder) as ledger:
        ledger.add_key(COOP.public_key)
        ledger.append(parse_unverified_event(raws[len(raws) - header.batches[-1].count]))  # spores' genesis
    before = _snapshot(holder)
    with op.Ledger.open(holder) as ledger:
        with pytest.raises(op.SignatureError) as info:
            ledger.import_bundle(io.BytesIO(bad), options(TRUSTED, workers=workers))
        # The verifier names the event by its place in its own chain, and by its id.
        last_event = parse_unverified_event(raws[-1])
        assert (info.value.code, info.value.seq) == ("E_SIGNATURE", last_event.seq)
        assert info.value.event_id == last_event.event_id.hex()
    assert _snapshot(holder) == before
    # Every event but the last was good: the same bundle, mended, is stored in full.
    with op.Ledger.open(holder) as ledger:
        assert (
            ledger.import_bundle(io.BytesIO(_bundle(header, raws)), options(TRUSTED, workers=workers)).stored
            == len(raws) - 1
        )
        assert ledger.verify_stored() == len(raws) + 3


def test_a_bundle_failing_after_its_events_changes_nothing(tmp_path: Path, holder: Path) -> None:
    """The header's claims are checked after the last event: every event was stored by then, and is rolled back."""
    dried, _, _ = _producer(tmp_path / "producer.ocop")
    header, raws = _items(_export(tmp_path / "producer.ocop", dried))
    *rest, spores = header.batches
    lying = BundleHeader(
        root=header.root,
        batches=(*rest, BundleBatch(batch_id=spores.batch_id, count=spores.count, head=bytes(32))),
        keys=header.keys,
    )
    before = _snapshot(holder)
    with op.Ledger.open(holder) as ledger:
        with pytest.raises(op.ChainError) as info:
            ledger.import_bundle(io.BytesIO(_bundle(lying, raws)), options(TRUSTED))
        assert info.value.code == "E_HEADER_MISMATCH"
    assert _snapshot(holder) == before


def test_a_fork_against_the_ledger_changes_nothing(tmp_path: Path, holder: Path) -> None:
    dried, _, _ = _producer(tmp_path / "producer.ocop")
    data = _export(tmp_path / "producer.ocop", dried)
    _, raws = _items(data)
    genesis = parse_unverified_event(raws[0])
    with op.Ledger.open(holder) as ledger:
        ledger.add_key(WORKSHOP.public_key)
        ledger.append(genesis)
        rival = ledger.add_step(dried, WORKSHOP, step="shipping", time=T1, location=WHERE)
    before = _snapshot(holder)
    with op.Ledger.open(holder) as ledger:
        with pytest.raises(op.ForkError) as info:
            ledger.import_bundle(io.BytesIO(data), options(TRUSTED))
        assert (info.value.code, info.value.seq) == ("E_FORK", 1)
        assert info.value.proof.verify(TRUSTED) == (dried, 1)  # type: ignore[attr-defined]
        assert ledger.head(dried).event_id == rival.event_id
    assert _snapshot(holder) == before


class _Stream(io.RawIOBase):
    """A non-seekable source that counts what is read from it (as a pipe or a socket would be)."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self._inner.readinto(buffer)
        self.read_bytes += n
        return n

    def seek(self, *_args: object) -> int:
        raise AssertionError("import_bundle must not seek")

    def tell(self) -> int:
        raise AssertionError("import_bundle must not ask where it is")


def _no_temporary_files(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> object:
        raise AssertionError("import_bundle must not spool to a temporary file")

    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, refuse)


def test_a_non_seekable_stream_is_read_once_without_a_temporary_file(
    tmp_path: Path, holder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dried, _, _ = _producer(tmp_path / "producer.ocop")
    data = _export(tmp_path / "producer.ocop", dried)
    stream = _Stream(data)
    _no_temporary_files(monkeypatch)
    with op.Ledger.open(holder) as ledger:
        assert ledger.import_bundle(stream, options(TRUSTED)).stored == 12  # type: ignore[arg-type]
    assert stream.read_bytes == len(data)  # every byte read exactly once


def test_a_pipe_imports_while_it_is_written(tmp_path: Path, holder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # More than a pipe's buffer: the writer can finish only if the import reads as it verifies and stores.
    dried, _, _ = _producer(tmp_path / "producer.ocop", spores_steps=1000)
    data = _export(tmp_path / "producer.ocop", dried)
    assert len(data) > 4 * 65536  # a Linux pipe holds 64 KiB
    read_end, write_end = os.pipe()

    def write() -> None:
        with os.fdopen(write_end, "wb") as w:
            w.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    _no_temporary_files(monkeypatch)
    try:
        with os.fdopen(read_end, "rb", buffering=0) as r, op.Ledger.open(holder) as ledger:
            result = ledger.import_bundle(r, options(TRUSTED))  # type: ignore[arg-type]
    finally:
        writer.join()
    assert result.stored == 1001 + 2 + 6


def test_each_signature_is_checked_once(tmp_path: Path, holder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dried, _, _ = _producer(tmp_path / "producer.ocop")
    data = _export(tmp_path / "producer.ocop", dried)
    calls: list[bytes] = []
    valid = op.PublicKey._valid

    def counting(self: op.PublicKey, signature: bytes, message: bytes, backend: str | None = None) -> bool:
        calls.append(message)
        return valid(self, signature, message, backend)

    monkeypatch.setattr(op.PublicKey, "_valid", counting)
    with op.Ledger.open(holder) as ledger:
        assert ledger.import_bundle(io.BytesIO(data), options(TRUSTED)).stored == 12
    assert len(calls) == len(set(calls)) == 12
