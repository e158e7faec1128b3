"""The ledger (ocop_provenance._ledger): append rules, bulk mode, tamper detection, errors, export and import."""

from __future__ import annotations

import io
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance.events import append_step, head_of, open_batch, parse_unverified_event, sign_event
from ocop_provenance.ledger import BatchInfo

from tests.conftest import ICT, key, sample_genesis
from tests.verifying import ANY_BATCH, options

WHERE = op.Location(name="Nghi Sơn, Thanh Hóa", admin_code="38")
T1 = datetime(2024, 11, 2, 7, 30, tzinfo=ICT)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[op.Ledger]:
    with op.Ledger.open(tmp_path / "ledger.ocop") as led:
        yield led


def _step(ledger: op.Ledger, batch: bytes, signer: op.PrivateKey, i: int = 0, **kw: object) -> op.SignedEvent:
    return ledger.add_step(
        batch,
        signer,
        step=kw.pop("step", "ocop:drying"),  # type: ignore[arg-type]
        time=kw.pop("time", T1 + timedelta(hours=i)),  # type: ignore[arg-type]
        location=WHERE,
        data={"moisture": "12.5", "i": i},
        **kw,  # type: ignore[arg-type]
    )


def _raw(path: Path) -> sqlite3.Connection:
    """A plain connection that goes behind the ledger's back, as an attacker or a careless tool would."""
    return sqlite3.connect(path, isolation_level=None)


# ---- opening ---------------------------------------------------------------------------------------------------


def test_open_creates_directory_and_durable_wal(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "ledger.ocop"
    with op.Ledger.open(path) as led:
        assert path.is_file()
        conn = led._db.connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with op.Ledger.open(path, durable=False) as led:
        # Pragmas are per connection: a reopen sets them again, as asked.
        assert led._db.connection().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert led.batches() == []


def test_tables_are_strict_and_events_append_only(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    genesis = ledger.open_batch(sample_genesis(), coop)
    _step(ledger, genesis.event_id, coop, 1)
    conn = _raw(ledger.path)
    sql = dict(conn.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'table'").fetchall())
    assert all("STRICT" in sql[t] for t in ("keys", "events", "inputs"))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE events SET step = 'shipping' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM events WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM keys")
    # A second event at a taken (batch, seq) cannot be stored, whoever writes it: no fork in the file.
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(
            "INSERT INTO events (batch_id, seq, event_id, prev, key_id, time, step, raw) "
            "SELECT batch_id, seq, randomblob(32), prev, key_id, time, step, raw FROM events WHERE seq = 1"
        )
    conn.close()


def test_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not a ledger, just some text that is long enough " * 200)
    with pytest.raises(op.StoreError) as info:
        op.Ledger.open(path)
    assert info.value.code == "E_NOT_LEDGER"


def test_other_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(op.StoreError) as info:
        op.Ledger.open(path)
    assert info.value.code == "E_NOT_LEDGER"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.ocop"
    op.Ledger.open(path).close()
    conn = _raw(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(op.StoreError) as info:
        op.Ledger.open(path)
    assert info.value.code == "E_VERSION"


def test_corrupt_file_is_reported(tmp_path: Path, coop: op.PrivateKey) -> None:
    path = tmp_path / "l.ocop"
    with op.Ledger.open(path) as led:
        batch = led.open_batch(sample_genesis(), coop).event_id
        led.add_steps(batch, coop, [op.NewStep(step="ocop:drying", time=T1, location=WHERE)] * 1)
    conn = _raw(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    for page in range(1, len(data) // 4096):  # smash every page but the header
        data[page * 4096 : page * 4096 + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(op.StoreError) as info, op.Ledger.open(path) as led:
        led.batches()
    assert info.value.code in {"E_CORRUPT", "E_TAMPERED"}
    assert not isinstance(info.value, sqlite3.Error)


def test_path_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(op.StoreError) as info:
        op.Ledger.open(tmp_path)
    assert info.value.code == "E_CANT_OPEN"


def test_directory_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(op.StoreError) as info:
        op.Ledger.open(blocker / "sub" / "l.ocop")
    assert info.value.code == "E_CANT_OPEN"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_read_only_directory(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(op.StoreError) as info:
            op.Ledger.open(ro / "l.ocop")
        assert info.value.code == "E_READ_ONLY"
    finally:
        ro.chmod(0o700)


def test_read_only_directory_even_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root ignores permission bits, so make the directory look read-only to the check itself.
    monkeypatch.setattr(os, "access", lambda *_a, **_k: False)
    with pytest.raises(op.StoreError) as info:
        op.Ledger.open(tmp_path / "l.ocop")
    assert info.value.code == "E_READ_ONLY"
    assert not (tmp_path / "l.ocop").exists()


def test_closed_ledger(tmp_path: Path) -> None:
    led = op.Ledger.open(tmp_path / "l.ocop")
    led.close()
    led.close()
    with pytest.raises(op.StoreError) as info:
        led.batches()
    assert info.value.code == "E_CLOSED"


def test_busy_ledger_gives_retryable_conflict(tmp_path: Path, coop: op.PrivateKey) -> None:
    path = tmp_path / "l.ocop"
    with op.Ledger.open(path) as first, op.Ledger.open(path, timeout=0.05) as second:
        batch = first.open_batch(sample_genesis(), coop).event_id
        with first.bulk():
            _step(first, batch, coop, 1)
            with pytest.raises(op.ConflictError) as info:
                _step(second, batch, coop, 2)
            assert info.value.code == "E_BUSY"
        # The lock is gone: the retry succeeds on the new head.
        assert _step(second, batch, coop, 2).seq == 2


# ---- writing ---------------------------------------------------------------------------------------------------


def test_open_batch_add_step_and_read_back(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    genesis = ledger.open_batch(sample_genesis(), coop)
    batch = genesis.event_id
    steps = [_step(ledger, batch, coop, i) for i in range(1, 4)]
    head = ledger.head(batch)
    assert (head.seq, head.event_id) == (3, steps[-1].event_id)
    events = list(ledger.events(batch))
    assert [e.raw for e in events] == [genesis.raw] + [s.raw for s in steps]
    assert events[0].body.product.name == "Đông trùng hạ thảo tươi"  # type: ignore[union-attr]
    assert op.verify_chain([e.raw for e in events], options(ledger.key_ring()), batch=ANY_BATCH).count == 4
    assert ledger.verify_stored() == 4
    (info,) = ledger.batches()
    assert info == BatchInfo(
        batch_id=batch,
        product="Đông trùng hạ thảo tươi",
        lot="L2411-01",
        gtin="08931234567897",
        count=4,
        head_seq=3,
        head_id=steps[-1].event_id,
        opened=genesis.time,
        updated=steps[-1].time,
    )


def test_open_batch_twice_is_one_batch(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    a = ledger.open_batch(sample_genesis(), coop)
    b = ledger.open_batch(sample_genesis(), coop)
    assert a == b
    assert len(ledger.batches()) == 1


def test_keys_are_added_idempotently(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    ledger.add_key(coop.public_key, label="HTX Nghi Sơn")
    ledger.add_key(coop.public_key)
    ledger.add_key(key(2).public_key)
    assert {k.key_id for k in ledger.key_ring()} == {coop.key_id, key(2).key_id}
    assert ledger.key_labels()[coop.key_id] == "HTX Nghi Sơn"


def test_append_rules(ledger: op.Ledger, chain: list[op.SignedEvent], coop: op.PrivateKey) -> None:
    with pytest.raises(op.UntrustedKeyError) as unknown:
        ledger.append(chain[0])
    assert unknown.value.code == "E_UNKNOWN_KEY"
    ledger.add_key(coop.public_key)
    with pytest.raises(op.NotFoundError) as no_batch:
        ledger.append(chain[1])
    assert no_batch.value.code == "E_NOT_FOUND"
    ledger.append(chain[0])
    with pytest.raises(op.ChainError) as gap:
        ledger.append(chain[2])
    assert gap.value.code == "E_SEQ"
    ledger.append(chain[1])
    ledger.append(chain[1])  # the same event again: nothing happens
    rival = append_step(chain[0], coop, step="shipping", time=T1, location=WHERE)
    with pytest.raises(op.ConflictError) as taken:
        ledger.append(rival)
    assert taken.value.code == "E_CONFLICT"
    assert taken.value.event_id == rival.event_id.hex()
    unlinked = sign_event(
        op.Step(batch_id=chain[0].event_id, seq=2, prev=bytes(32), time=T1, step="packing", location=WHERE), coop
    )
    with pytest.raises(op.ChainError) as link:
        ledger.append(unlinked)
    assert link.value.code == "E_LINK"
    backwards = append_step(chain[1], coop, step="packing", time=chain[1].time - timedelta(hours=1), location=WHERE)
    with pytest.raises(op.ChainError) as back:
        ledger.append(backwards)
    assert back.value.code == "E_TIME"
    assert ledger.head(chain[0].event_id).seq == 1


def test_append_checks_the_signature(ledger: op.Ledger, chain: list[op.SignedEvent], coop: op.PrivateKey) -> None:
    ledger.add_key(coop.public_key)
    forged = chain[0].raw[:-1] + bytes([chain[0].raw[-1] ^ 1])
    with pytest.raises(op.SignatureError) as info:
        ledger.append(parse_unverified_event(forged))
    assert info.value.code == "E_SIGNATURE"
    assert ledger.batches() == []


def test_append_many_is_all_or_nothing(ledger: op.Ledger, chain: list[op.SignedEvent], coop: op.PrivateKey) -> None:
    ledger.add_key(coop.public_key)
    with pytest.raises(op.ChainError) as info:
        ledger.append_many([chain[0], chain[1], chain[3]])
    assert info.value.code == "E_SEQ"
    assert info.value.position == 2
    assert ledger.batches() == []
    assert ledger.append_many(chain) == 4
    assert ledger.append_many(chain) == 0


def test_append_many_input_errors_carry_the_index(
    ledger: op.Ledger, chain: list[op.SignedEvent], coop: op.PrivateKey
) -> None:
    """An input that names no stored event fails with the event's position in ``events``, as every other rule."""
    ledger.add_key(coop.public_key)
    elsewhere = open_batch(sample_genesis(time=datetime(2024, 1, 1, tzinfo=ICT)), key(2))
    consuming = append_step(
        chain[0], coop, step="receiving", time=T1, location=WHERE, inputs=[head_of(elsewhere).as_input()]
    )
    with pytest.raises(op.NotFoundError) as info:
        ledger.append_many([chain[0], consuming])
    assert info.value.code == "E_NOT_FOUND"
    assert info.value.position == 1
    assert info.value.event_id == consuming.event_id_hex
    assert info.value.field == "inputs"
    assert ledger.batches() == []


def test_bulk_block_commits_once_or_not_at_all(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    batch = ledger.open_batch(sample_genesis(), coop).event_id

    def interrupted() -> None:
        with ledger.bulk():
            for i in range(1, 4):
                _step(ledger, batch, coop, i)
            raise RuntimeError("power cut in the middle")

    with pytest.raises(RuntimeError):
        interrupted()
    assert ledger.head(batch).seq == 0
    with ledger.bulk():
        for i in range(1, 4):
            _step(ledger, batch, coop, i)
        with pytest.raises(op.StoreError) as nested:
            ledger.bulk().__enter__()
        assert nested.value.code == "E_NESTED"
    assert ledger.head(batch).seq == 3
    assert ledger.verify_stored(batch) == 4


def test_add_step_refuses_before_signing(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    batch = ledger.open_batch(sample_genesis(), coop).event_id
    _step(ledger, batch, coop, 5)
    with pytest.raises(op.ChainError) as back:
        _step(ledger, batch, coop, 0, time=T1 - timedelta(days=1))
    assert back.value.code == "E_TIME"
    with pytest.raises(op.NotFoundError) as missing:
        _step(ledger, bytes(32), coop)
    assert missing.value.code == "E_NOT_FOUND"
    with pytest.raises(op.NotFoundError) as no_input:
        _step(ledger, batch, coop, 6, inputs=[bytes(32)])
    assert no_input.value.code == "E_NOT_FOUND"
    with pytest.raises(op.FormatError) as bad:
        _step(ledger, batch, coop, 6, step="not a step")
    assert bad.value.code == "E_FIELD"
    assert ledger.head(batch).seq == 1


def test_add_steps_bulk(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    batch = ledger.open_batch(sample_genesis(), coop).event_id
    steps = [
        op.NewStep(step="ocop:drying", time=T1 + timedelta(minutes=i), location=WHERE, data={"tray": f"T-{i}"})
        for i in range(50)
    ]
    head = ledger.add_steps(batch, coop, steps, chunk=7)
    assert head.seq == 50
    events = list(ledger.events(batch))
    assert events[-1].event_id == head.event_id
    assert events[7].body.data["tray"] == "T-6"  # type: ignore[union-attr]
    # The same steps through add_step give the same bytes (Ed25519 is deterministic).
    with op.Ledger.open(ledger.path.with_name("other.ocop")) as other:
        b2 = other.open_batch(sample_genesis(), coop).event_id
        for s in steps[:3]:
            other.add_step(b2, coop, step=s.step, time=s.time, location=s.location, data=s.data)
        assert [e.raw for e in other.events(b2)] == [e.raw for e in events[:4]]


def test_add_steps_is_all_or_nothing(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    batch = ledger.open_batch(sample_genesis(), coop).event_id
    steps = [op.NewStep(step="ocop:drying", time=T1, location=WHERE)] * 5
    steps.append(op.NewStep(step="ocop:drying", time=T1 - timedelta(days=1), location=WHERE))
    with pytest.raises(op.ChainError) as info:
        ledger.add_steps(batch, coop, steps, chunk=2)
    assert (info.value.code, info.value.position) == ("E_TIME", 5)
    assert ledger.head(batch).seq == 0


class _LyingSigner:
    """A signer (a token, a KMS) that returns a well-formed but wrong signature."""

    def __init__(self, inner: op.PrivateKey) -> None:
        self._inner = inner

    @property
    def public_key(self) -> op.PublicKey:
        return self._inner.public_key

    def sign(self, message: bytes) -> bytes:
        return self._inner.sign(message + b"!")


def test_other_signers_are_checked(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    liar = _LyingSigner(coop)
    with pytest.raises(op.SignatureError) as opened:
        ledger.open_batch(sample_genesis(), liar)
    assert opened.value.code == "E_SIGNER"
    batch = ledger.open_batch(sample_genesis(), coop).event_id
    with pytest.raises(op.SignatureError) as step:
        _step(ledger, batch, liar)  # type: ignore[arg-type]
    assert step.value.code == "E_SIGNER"
    with pytest.raises(op.SignatureError) as bulk:
        ledger.add_steps(batch, liar, [op.NewStep(step="packing", time=T1, location=WHERE)])
    assert bulk.value.code == "E_SIGNER"
    assert ledger.verify_stored() == 1


# ---- lineage ---------------------------------------------------------------------------------------------------


def _lineage(ledger: op.Ledger) -> tuple[bytes, bytes, bytes]:
    coop, workshop = key(1), key(2)
    fresh = ledger.open_batch(sample_genesis(), coop).event_id
    _step(ledger, fresh, coop, 1, step="commissioning")
    spores = ledger.open_batch(
        sample_genesis(product=op.Product(name="Giống", lot="S1", quantity="1", unit="kg")), coop
    )
    dried = ledger.open_batch(
        sample_genesis(product=op.Product(name="Đông trùng hạ thảo sấy khô", lot="D1", quantity="12", unit="kg")),
        workshop,
    ).event_id
    _step(ledger, fresh, coop, 2, inputs=[spores.event_id])
    _step(ledger, dried, workshop, 3, inputs=[fresh, spores.event_id])
    _step(ledger, dried, workshop, 4, step="packing")
    return dried, fresh, spores.event_id


def test_lineage_order_and_cycle(ledger: op.Ledger) -> None:
    dried, fresh, spores = _lineage(ledger)
    assert ledger.lineage(dried) == [dried, fresh, spores]
    assert ledger.lineage(spores) == [spores]
    with pytest.raises(op.ChainError) as loop:
        _step(ledger, spores, key(1), 9, inputs=[dried])
    assert loop.value.code == "E_LINEAGE_CYCLE"


def test_input_pinned_to_head(ledger: op.Ledger) -> None:
    dried, fresh, _ = _lineage(ledger)
    events = list(ledger.events(dried))
    ref = events[1].body.inputs[0]  # type: ignore[union-attr]
    assert ref.batch_id == fresh
    assert ref.head == list(ledger.events(fresh))[ref.seq].event_id


def test_export_bundle_verifies_offline(ledger: op.Ledger, tmp_path: Path) -> None:
    dried, fresh, spores = _lineage(ledger)
    out = io.BytesIO()
    calls: list[tuple[int, int]] = []
    header = ledger.export_bundle(dried, out, progress=lambda n, t: calls.append((n, t)))
    assert [b.batch_id for b in header.batches] == [dried, fresh, spores]
    assert calls[-1] == (header.total_events, header.total_events)
    summary = op.verify_bundle(
        io.BytesIO(out.getvalue()), options(op.KeyRing.of([key(1).public_key, key(2).public_key])), root=ANY_BATCH
    )
    assert summary.root.batch_id == dried
    assert summary.root.count == 3
    # Import into a fresh ledger; a second import stores nothing.
    with op.Ledger.open(tmp_path / "auditor.ocop") as other:
        trusted = options(op.KeyRing.of([key(1).public_key, key(2).public_key]))
        assert other.import_bundle(io.BytesIO(out.getvalue()), trusted).stored == header.total_events
        path = tmp_path / "b.ocop"
        path.write_bytes(out.getvalue())
        assert other.import_bundle(path, trusted).stored == 0
        assert other.verify_stored() == header.total_events
        assert other.lineage(dried) == [dried, fresh, spores]


def test_import_refuses_untrusted_bundle(ledger: op.Ledger, tmp_path: Path) -> None:
    dried, _, _ = _lineage(ledger)
    out = io.BytesIO()
    ledger.export_bundle(dried, out)
    with op.Ledger.open(tmp_path / "auditor.ocop") as other:
        with pytest.raises(op.UntrustedKeyError) as info:
            other.import_bundle(io.BytesIO(out.getvalue()), options(op.KeyRing.of([key(1).public_key])))
        assert info.value.code == "E_UNKNOWN_KEY"
        assert other.batches() == []


def test_import_of_a_fork_yields_proof(ledger: op.Ledger, tmp_path: Path, coop: op.PrivateKey) -> None:
    batch = ledger.open_batch(sample_genesis(), coop).event_id
    _step(ledger, batch, coop, 1, step="packing")
    out = io.BytesIO()
    ledger.export_bundle(batch, out)
    with op.Ledger.open(tmp_path / "other.ocop") as other:
        other.add_key(coop.public_key)
        other.append(next(ledger.events(batch)))
        _step(other, batch, coop, 1, step="shipping")
        with pytest.raises(op.ForkError) as info:
            other.import_bundle(io.BytesIO(out.getvalue()), options(op.KeyRing.of([coop.public_key])))
        assert info.value.code == "E_FORK"
        assert info.value.proof.verify(op.KeyRing.of([coop.public_key])) == (batch, 1)  # type: ignore[attr-defined]


def test_export_cose_sequence(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    batch = ledger.open_batch(sample_genesis(), coop).event_id
    _step(ledger, batch, coop, 1)
    out = io.BytesIO()
    assert ledger.export_cose_sequence(batch, out) == 2
    assert out.getvalue() == b"".join(e.raw for e in ledger.events(batch))


def test_export_streams(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    batch = ledger.open_batch(sample_genesis(), coop).event_id
    ledger.add_steps(batch, coop, [op.NewStep(step="ocop:drying", time=T1, location=WHERE)] * 3000)

    class Sink(io.RawIOBase):
        def __init__(self) -> None:
            self.size = 0

        def writable(self) -> bool:
            return True

        def write(self, b: object) -> int:
            n = len(b)  # type: ignore[arg-type]
            self.size += n
            return n

    sink = Sink()
    written_at_progress: list[int] = []
    ledger.export_bundle(batch, sink, progress=lambda n, t: written_at_progress.append(sink.size))  # type: ignore[arg-type]
    # Bytes reach the output while events are still being read: nothing waits for the whole chain.
    assert len(written_at_progress) >= 3
    assert written_at_progress == sorted(written_at_progress)
    assert written_at_progress[0] < sink.size / 2


def test_events_iterator_is_lazy(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    batch = ledger.open_batch(sample_genesis(), coop).event_id
    ledger.add_steps(batch, coop, [op.NewStep(step="ocop:drying", time=T1, location=WHERE)] * 600)
    _tamper(ledger.path, "UPDATE events SET raw = CAST(substr(raw, 1, 40) AS BLOB) WHERE seq = 599")
    events = ledger.events(batch)
    assert next(events).seq == 0  # served before the bad row is reached
    with pytest.raises(op.TamperError) as info:
        for _ in events:
            pass
    assert (info.value.code, info.value.seq) == ("E_TAMPERED", 599)


# ---- resolve ---------------------------------------------------------------------------------------------------


def test_resolve(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    batch = ledger.open_batch(sample_genesis(), coop).event_id
    assert ledger.resolve(batch.hex()) == batch
    assert ledger.resolve(batch.hex()[:6].upper()) == batch
    assert ledger.resolve(f"  {batch.hex()[:7]}\n") == batch
    with pytest.raises(op.FormatError) as short:
        ledger.resolve(batch.hex()[:5])
    assert short.value.code == "E_FIELD"
    with pytest.raises(op.FormatError) as not_hex:
        ledger.resolve("lô-hàng-1")
    assert not_hex.value.code == "E_FIELD"
    other = "0" * 64 if not batch.hex().startswith("0") else "f" * 64
    with pytest.raises(op.NotFoundError) as missing:
        ledger.resolve(other)
    assert missing.value.code == "E_NOT_FOUND"


def test_resolve_ambiguous_prefix(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    # Find two batches whose ids share six hex digits (a birthday search over 2^24: a few thousand signatures).
    seen: dict[str, op.Genesis] = {}
    for n in range(200_000):
        genesis = sample_genesis(product=op.Product(name="Mật ong", lot=f"L{n}", quantity="1", unit="kg"))
        prefix = open_batch(genesis, coop).event_id.hex()[:6]
        if prefix in seen:
            first = ledger.open_batch(seen[prefix], coop).event_id
            second = ledger.open_batch(genesis, coop).event_id
            break
        seen[prefix] = genesis
    with pytest.raises(op.FormatError) as info:
        ledger.resolve(prefix)
    assert info.value.code == "E_AMBIGUOUS"
    assert ledger.resolve(first.hex()[:16] if first.hex()[:16] != second.hex()[:16] else first.hex()) == first


# ---- tamper detection ------------------------------------------------------------------------------------------


def _tamper(path: Path, *statements: str) -> None:
    conn = _raw(path)
    for trigger in ("events_no_update", "events_no_delete", "keys_no_rekey", "keys_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in statements:
        conn.execute(statement)
    conn.close()


@pytest.mark.parametrize(
    ("statement", "seq"),
    [
        # One byte of the signed payload changed (the place name).
        (
            "UPDATE events SET raw = CAST(replace(raw, CAST('Nghi' AS BLOB), CAST('Nghj' AS BLOB)) AS BLOB) "
            "WHERE seq = 2",
            2,
        ),
        # A whole row replaced by another batch's bytes, indexed columns left alone.
        ("UPDATE events SET raw = (SELECT raw FROM events WHERE seq = 0) WHERE seq = 1", 1),
        # The indexed column edited, the bytes left alone.
        ("UPDATE events SET key_id = key_id WHERE seq = 3", None),
        ("UPDATE events SET step = 'shipping', prev = randomblob(32) WHERE seq = 3", 3),
        # A middle event removed.
        ("DELETE FROM events WHERE seq = 2", 3),
    ],
)
def test_tampered_rows_are_never_served(
    ledger: op.Ledger, coop: op.PrivateKey, statement: str, seq: int | None
) -> None:
    batch = ledger.open_batch(sample_genesis(), coop).event_id
    for i in range(1, 5):
        _step(ledger, batch, coop, i)
    _tamper(ledger.path, statement)
    if seq is None:  # a no-op edit: nothing to find
        assert ledger.verify_stored() == 5
        return
    with pytest.raises(op.TamperError) as info:
        list(ledger.events(batch))
    assert (info.value.code, info.value.seq) == ("E_TAMPERED", seq)
    with pytest.raises(op.TamperError):
        ledger.verify_stored()
    with pytest.raises(op.TamperError):
        ledger.export_bundle(batch, io.BytesIO())


def test_tampered_head_is_not_extended(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    batch = ledger.open_batch(sample_genesis(), coop).event_id
    _step(ledger, batch, coop, 1)
    _tamper(
        ledger.path, "UPDATE events SET raw = CAST(replace(raw, CAST('12.5' AS BLOB), CAST('99.9' AS BLOB)) AS BLOB)"
    )
    with pytest.raises(op.TamperError) as info:
        _step(ledger, batch, coop, 2)
    assert info.value.code == "E_TAMPERED"
    with pytest.raises(op.TamperError):
        ledger.head(batch)
    with pytest.raises(op.TamperError):
        ledger.batches()


def test_tampered_key_is_detected(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    ledger.open_batch(sample_genesis(), coop)
    _tamper(ledger.path, f"UPDATE keys SET raw = X'{key(2).public_key.raw.hex()}'")
    with pytest.raises(op.TamperError) as info:
        ledger.key_ring()
    assert (info.value.code, info.value.key_id) == ("E_TAMPERED", coop.key_id.hex())
    with pytest.raises(op.TamperError):
        ledger.verify_stored()


def test_sqlite_errors_never_escape(tmp_path: Path) -> None:
    path = tmp_path / "l.ocop"
    op.Ledger.open(path).close()
    _tamper(path, "DROP TABLE inputs")
    with pytest.raises(op.StoreError) as info:
        op.Ledger.open(path)
    assert info.value.code == "E_NOT_LEDGER"


# ---- signing ---------------------------------------------------------------------------------------------------


def test_store_signing_equals_sign_event(ledger: op.Ledger, coop: op.PrivateKey) -> None:
    batch = ledger.open_batch(sample_genesis(), coop).event_id
    event = _step(ledger, batch, coop, 1, attachments=[])
    again = sign_event(event.body, coop)
    assert event == again
    assert parse_unverified_event(event.raw) == event
