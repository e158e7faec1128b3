"""The head journal (issue 10, finding 7): a deleted tail or a restored old ledger cannot be signed over.

The attack: drop the append-only trigger, delete the newest events (or restore an old copy of the ledger), then
sign a different step at a seq that was already handed out: two exports that both verify, a fork, evidence against
an honest producer. The ledger now journals every head before it leaves (outside the database), checks the
journal when it opens, and refuses to sign at or below a journaled head it no longer holds.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance._ledger import _journal
from ocop_provenance.events import BundleReader, append_step, find_forks, parse_unverified_event

from tests.conftest import ICT, key, sample_genesis
from tests.verifying import ANY_BATCH, options

WHERE = op.Location(name="Nghi Sơn, Thanh Hóa", admin_code="38")
T1 = datetime(2024, 11, 2, 7, 30, tzinfo=ICT)
COOP = key(1)
RING = op.KeyRing.of([COOP.public_key])


def _step(ledger: op.Ledger, batch: bytes, i: int, step: str = "ocop:drying") -> op.SignedEvent:
    return ledger.add_step(
        batch,
        COOP,
        step=step,
        time=T1 + timedelta(hours=i),
        location=WHERE,
        data={"moisture": f"{12 + i}.5", "operator": "Lê Thị Hoa"},
    )


def _ledger_with_batch(path: Path, steps: int = 4) -> bytes:
    with op.Ledger.open(path) as ledger:
        batch = ledger.open_batch(sample_genesis(), COOP).event_id
        for i in range(1, steps + 1):
            _step(ledger, batch, i)
    return batch


def _export(ledger: op.Ledger, batch: bytes) -> bytes:
    out = io.BytesIO()
    ledger.export_bundle(batch, out)
    return out.getvalue()


def _delete_tail(path: Path, batch: bytes, from_seq: int) -> None:
    """What the attacker does: drop the append-only triggers, delete the newest rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DROP TRIGGER inputs_no_delete")
    conn.execute("DELETE FROM events WHERE batch_id = ? AND seq >= ?", (batch, from_seq))
    conn.close()


def _journal_path(path: Path) -> Path:
    return path.with_name(path.name + ".heads")


def _both_verify_and_fork(first: bytes, second: bytes) -> None:
    a = op.verify_bundle(io.BytesIO(first), options(RING), root=ANY_BATCH)
    b = op.verify_bundle(io.BytesIO(second), options(RING), root=ANY_BATCH)
    assert a.root.batch_id == b.root.batch_id
    events = [parse_unverified_event(r) for data in (first, second) for _, r in BundleReader(io.BytesIO(data)).events()]
    (proof,) = find_forks(events)
    assert proof.verify(RING) == (a.root.batch_id, 3)


# ---- the attack, as it was, and as it is now ---------------------------------------------------------------------


def test_the_attack_succeeds_when_the_journal_is_deleted_too(tmp_path: Path) -> None:
    """The attack itself, reproduced: whoever deletes the journal as well gets two exports that both verify.

    That is the honest limit of a local journal (docs/adr/0015-head-journal.md); the ledger at least reports that
    the journal had to be started again.
    """
    path = tmp_path / "ledger.ocop"
    batch = _ledger_with_batch(path)
    with op.Ledger.open(path) as ledger:
        first = _export(ledger, batch)
    _delete_tail(path, batch, 3)
    _journal_path(path).unlink()
    with op.Ledger.open(path) as ledger:
        status = ledger.journal_status()
        assert (status.started, status.adopted) == (True, 1)
        _step(ledger, batch, 3, step="shipping")  # a different step at seq 3
        second = _export(ledger, batch)
    _both_verify_and_fork(first, second)


def test_deleted_tail_fails_closed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    batch = _ledger_with_batch(path)
    with op.Ledger.open(path) as ledger:
        exported = _export(ledger, batch)
        head = ledger.head(batch)
    _delete_tail(path, batch, 3)
    with pytest.raises(op.TamperError) as info:
        op.Ledger.open(path)
    assert (info.value.code, info.value.seq, info.value.event_id) == ("E_LEDGER_ROLLBACK", 4, head.event_id.hex())
    assert batch.hex()[:16] in info.value.message
    # Opened for repair, the ledger still refuses to sign over the handed-out seqs.
    with op.Ledger.open(path, allow_rollback=True) as ledger:
        (missing,) = ledger.journal_status().missing
        assert (missing.batch_id, missing.seq, missing.event_id, missing.purpose) == (batch, 4, head.event_id, "export")
        with pytest.raises(op.TamperError) as refused:
            _step(ledger, batch, 3, step="shipping")
        assert (refused.value.code, refused.value.seq) == ("E_HEAD_HANDED_OUT", 3)
        with pytest.raises(op.TamperError) as bulk:
            ledger.add_steps(batch, COOP, [op.NewStep(step="shipping", time=T1 + timedelta(days=1), location=WHERE)])
        assert bulk.value.code == "E_HEAD_HANDED_OUT"
        assert ledger.head(batch).seq == 2
        # Restoring from the bundle that was handed out mends it.
        assert ledger.import_bundle(io.BytesIO(exported), options(RING)).stored == 2
        assert ledger.journal_status().missing == ()
        assert _step(ledger, batch, 5).seq == 5
    with op.Ledger.open(path) as ledger:
        assert ledger.verify_stored() == 6


def test_deleted_tail_while_open_refuses_to_sign(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    batch = _ledger_with_batch(path)
    with op.Ledger.open(path) as ledger:
        _export(ledger, batch)
        _delete_tail(path, batch, 3)  # behind the open ledger's back
        with pytest.raises(op.TamperError) as info:
            _step(ledger, batch, 3, step="shipping")
        assert (info.value.code, info.value.seq) == ("E_HEAD_HANDED_OUT", 3)
        # A different step signed elsewhere and appended is refused too, and nothing is stored.
        seq2 = next(e for e in ledger.events(batch) if e.seq == 2)
        rival = append_step(seq2, COOP, step="shipping", time=T1 + timedelta(days=1), location=WHERE)
        with pytest.raises(op.TamperError) as appended:
            ledger.append(rival)
        assert appended.value.code == "E_LEDGER_ROLLBACK"
        assert ledger.head(batch).seq == 2


def test_a_restored_old_backup_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    batch = _ledger_with_batch(path, steps=2)
    backup = tmp_path / "backup.ocop"
    with op.Ledger.open(path) as ledger:
        source, copy = sqlite3.connect(path), sqlite3.connect(backup)
        source.backup(copy)  # last week's backup: seq 0..2
        source.close()
        copy.close()
        _step(ledger, batch, 3)
        exported = _export(ledger, batch)  # seq 3 handed out
        sealed = ledger.record_handout(batch, purpose="seal")
        assert sealed.seq == 3
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(backup, path)  # the disk died; the backup is restored; the journal survived beside it
    with pytest.raises(op.TamperError) as info:
        op.Ledger.open(path)
    assert (info.value.code, info.value.seq) == ("E_LEDGER_ROLLBACK", 3)
    with op.Ledger.open(path, allow_rollback=True) as ledger:
        with pytest.raises(op.TamperError) as refused:
            _step(ledger, batch, 3, step="shipping")
        assert refused.value.code == "E_HEAD_HANDED_OUT"
        ledger.import_bundle(io.BytesIO(exported), options(RING))
    with op.Ledger.open(path) as ledger:
        assert _step(ledger, batch, 4).seq == 4


def test_a_restore_must_bring_back_the_handed_out_head(tmp_path: Path) -> None:
    """Events may go back below a journaled head only if the same transaction brings that head back."""
    path = tmp_path / "ledger.ocop"
    batch = _ledger_with_batch(path)
    with op.Ledger.open(path) as ledger:
        events = list(ledger.events(batch))
        _export(ledger, batch)
    _delete_tail(path, batch, 3)
    with op.Ledger.open(path, allow_rollback=True) as ledger:
        with pytest.raises(op.TamperError) as partial:
            ledger.append(events[3])  # seq 3 alone: the handed-out seq 4 is still missing
        assert partial.value.code == "E_LEDGER_ROLLBACK"
        assert ledger.head(batch).seq == 2
        assert ledger.append_many(events[3:]) == 2
        assert ledger.journal_status().missing == ()


# ---- what is journaled -------------------------------------------------------------------------------------------


def _records(path: Path) -> list[tuple[int, str, bytes, int, bytes]]:
    """The journal read as docs/store.md specifies it, independently of the library: every hash recomputed."""
    data = _journal_path(path).read_bytes()
    lines = data.split(b"\n")
    assert lines[0] == b"ocop-heads 1"
    assert lines[-1] == b""  # every line ends with LF
    records = []
    previous = b"ocop-heads 1\n"
    for line in lines[1:-1]:
        assert line.isascii()
        number, purpose, batch, seq, event, prev = line.decode("ascii").split(" ")
        assert prev == hashlib.sha256(previous).hexdigest()
        assert str(int(number)) == number
        assert str(int(seq)) == seq
        assert len(batch) == len(event) == 64
        assert batch == batch.lower()
        records.append((int(number), purpose, bytes.fromhex(batch), int(seq), bytes.fromhex(event)))
        previous = line + b"\n"
    assert [r[0] for r in records] == list(range(1, len(records) + 1))
    return records


def test_exports_seals_and_publications_are_journaled_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    with op.Ledger.open(path) as ledger:
        status = ledger.journal_status()
        assert (status.path, status.records, status.started, status.adopted) == (_journal_path(path), 0, True, 0)
        fresh = ledger.open_batch(sample_genesis(), COOP).event_id
        fresh_head = _step(ledger, fresh, 1)
        dried = ledger.open_batch(
            sample_genesis(product=op.Product(name="Đông trùng hạ thảo sấy khô", lot="D1", quantity="12", unit="kg")),
            COOP,
        ).event_id
        ledger.add_step(dried, COOP, step="receiving", time=T1, location=WHERE, inputs=[fresh])
        _export(ledger, dried)  # both heads of the bundle
        _export(ledger, dried)  # again: nothing new
        assert ledger.export_cose_sequence(fresh, io.BytesIO()) == 2  # covered already
        head = ledger.record_handout(dried, purpose="seal")
        assert head == ledger.head(dried)
        _step(ledger, fresh, 2)
        genesis = ledger.record_handout(fresh, purpose="publish", seq=0)  # an earlier seq: covered
        assert (genesis.seq, genesis.event_id) == (0, fresh)
        newer = ledger.record_handout(fresh, purpose="publish")
        assert ledger.journal_status().records == 3
    assert _records(path) == [
        (1, "export", dried, 1, head.event_id),
        (2, "export", fresh, 1, fresh_head.event_id),
        (3, "publish", fresh, 2, newer.event_id),
    ]


def test_a_journal_is_started_for_a_ledger_that_had_none(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    batch = _ledger_with_batch(path, steps=2)
    _journal_path(path).unlink()  # as a ledger written before the journal existed
    with op.Ledger.open(path) as ledger:
        status = ledger.journal_status()
        assert (status.started, status.adopted, status.records) == (True, 1, 1)
        head = ledger.head(batch)
    assert _records(path) == [(1, "start", batch, 2, head.event_id)]
    with op.Ledger.open(path) as ledger:
        assert (ledger.journal_status().started, ledger.journal_status().adopted) == (False, 0)


def test_record_handout_arguments(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    batch = _ledger_with_batch(path, steps=1)
    with op.Ledger.open(path) as ledger:
        with pytest.raises(ValueError, match="purpose"):
            ledger.record_handout(batch, purpose="start")
        with pytest.raises(ValueError, match="seq"):
            ledger.record_handout(batch, seq=-1)
        with pytest.raises(op.NotFoundError) as no_batch:
            ledger.record_handout(bytes(32))
        assert no_batch.value.code == "E_NOT_FOUND"
        with pytest.raises(op.NotFoundError) as no_seq:
            ledger.record_handout(batch, seq=7)
        assert (no_seq.value.code, no_seq.value.field) == ("E_NOT_FOUND", "seq")
        with ledger.bulk(), pytest.raises(op.StoreError) as nested:
            ledger.record_handout(batch)
        assert nested.value.code == "E_NESTED"
        with ledger.bulk(), pytest.raises(op.StoreError) as nested_export:
            ledger.export_cose_sequence(batch, io.BytesIO())
        assert nested_export.value.code == "E_NESTED"
        assert ledger.journal_status().records == 0


# ---- a broken journal ----------------------------------------------------------------------------------------------


def _journaled_ledger(path: Path) -> bytes:
    batch = _ledger_with_batch(path, steps=1)
    with op.Ledger.open(path) as ledger:
        ledger.record_handout(batch, purpose="seal")
        _step(ledger, batch, 2)
        ledger.record_handout(batch, purpose="seal")
    return batch


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda lines: [lines[0], lines[2], lines[1]], id="records-reordered"),
        pytest.param(lambda lines: [lines[0], lines[2]], id="first-record-removed"),
        pytest.param(lambda lines: [b"ocop-heads 2\n", *lines[1:]], id="other-version"),
        pytest.param(lambda lines: [lines[0], lines[1].replace(b" seal ", b" export "), lines[2]], id="purpose-edited"),
        pytest.param(lambda lines: [lines[0], lines[1], lines[2].replace(b" 2 ", b" 1 ", 1)], id="seq-edited"),
        pytest.param(lambda lines: [lines[0], lines[1], b"x" * 300 + b"\n"], id="overlong-line"),
        pytest.param(lambda lines: [*lines, lines[2]], id="record-repeated"),
    ],
)
def test_a_broken_journal_is_refused(tmp_path: Path, edit: object) -> None:
    path = tmp_path / "ledger.ocop"
    _journaled_ledger(path)
    journal = _journal_path(path)
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(edit(lines)))  # type: ignore[operator]
    with pytest.raises(op.TamperError) as info:
        op.Ledger.open(path)
    assert info.value.code == "E_JOURNAL_BROKEN"


def test_a_record_cut_short_by_a_crash_is_ignored_then_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    batch = _journaled_ledger(path)
    journal = _journal_path(path)
    with journal.open("ab") as f:
        f.write(b"3 seal " + batch.hex()[:20].encode())  # no LF: the write a power cut interrupted
    with op.Ledger.open(path) as ledger:
        assert ledger.journal_status().records == 2
        _step(ledger, batch, 3)
        ledger.record_handout(batch, purpose="publish")
    assert [r[:2] for r in _records(path)] == [(1, "seal"), (2, "seal"), (3, "publish")]


def test_a_journal_that_shrinks_or_vanishes_while_open_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    batch = _journaled_ledger(path)
    journal = _journal_path(path)
    with op.Ledger.open(path) as ledger:
        data = journal.read_bytes()
        journal.write_bytes(data[: data.index(b"\n") + 1])  # the records cut off
        with pytest.raises(op.TamperError) as shrunk:
            _step(ledger, batch, 3)
        assert shrunk.value.code == "E_JOURNAL_BROKEN"
    journal.write_bytes(data)
    with op.Ledger.open(path) as ledger:
        journal.unlink()
        with pytest.raises(op.TamperError) as gone:
            ledger.record_handout(batch)
        assert gone.value.code == "E_JOURNAL_BROKEN"


# ---- several writers, and the cost --------------------------------------------------------------------------------


def test_two_ledgers_share_one_journal(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    batches = []
    with op.Ledger.open(path) as ledger:
        for lot in range(4):
            genesis = sample_genesis(product=op.Product(name="Mật ong", lot=f"M{lot}", quantity="1", unit="kg"))
            batches.append(ledger.open_batch(genesis, COOP).event_id)
    errors: list[BaseException] = []

    def work(batch: bytes) -> None:
        try:
            with op.Ledger.open(path, timeout=30) as ledger:
                for i in range(1, 11):
                    _step(ledger, batch, i)
                    ledger.record_handout(batch, purpose="publish")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    records = _records(path)
    assert len(records) == 40
    assert {(r[2], r[3]) for r in records} == {(b, i) for b in batches for i in range(1, 11)}
    with op.Ledger.open(path) as ledger:
        assert ledger.journal_status().records == 40


def test_the_journal_is_read_once_per_transaction_and_written_once_per_handout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.ocop"
    batch = _journaled_ledger(path)
    reads: list[int] = []
    writes: list[int] = []
    refresh, append = _journal.HeadJournal.refresh, _journal.HeadJournal.append

    def counting_refresh(self: _journal.HeadJournal) -> None:
        reads.append(1)
        refresh(self)

    def counting_append(self: _journal.HeadJournal, heads: object, purpose: str) -> object:
        writes.append(1)
        return append(self, heads, purpose)  # type: ignore[arg-type]

    monkeypatch.setattr(_journal.HeadJournal, "refresh", counting_refresh)
    monkeypatch.setattr(_journal.HeadJournal, "append", counting_append)
    with op.Ledger.open(path) as ledger:
        reads.clear()
        ledger.add_steps(
            batch, COOP, [op.NewStep(step="ocop:drying", time=T1 + timedelta(days=1), location=WHERE)] * 2000
        )
        assert (len(reads), len(writes)) == (1, 0)
        with ledger.bulk():
            for i in range(50):
                _step(ledger, batch, 100 + i)
        assert (len(reads), len(writes)) == (2, 0)
        ledger.record_handout(batch)
        assert len(writes) == 1


def test_the_documented_example_is_a_valid_journal(tmp_path: Path) -> None:
    """docs/store.md's example journal, taken from the page, reads as the format says and as the library reads it."""
    page = (Path(__file__).parents[2] / "docs" / "store.md").read_text(encoding="utf-8")
    block = page.split("Example: a batch exported at seq 4", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.ocop"
    _journal_path(path).write_text(block, encoding="ascii")
    records = _records(path)
    assert [(r[0], r[1], r[3]) for r in records] == [(1, "export", 4), (2, "seal", 5)]
    journal = _journal.HeadJournal(_journal_path(path))
    journal.load()
    assert journal.records == 2
    assert journal.latest[records[0][2]].seq == 5
    with op.Ledger.open(tmp_path / "made.ocop") as ledger:  # made again from the example's inputs, it is the same
        batch = ledger.open_batch(sample_genesis(), COOP).event_id
        for i in range(1, 5):
            ledger.add_step(batch, COOP, step="ocop:drying", time=T1 + timedelta(hours=i), location=WHERE)
        _export(ledger, batch)
        ledger.add_step(batch, COOP, step="packing", time=datetime(2024, 11, 2, 17, 0, tzinfo=ICT), location=WHERE)
        ledger.record_handout(batch, purpose="seal")
    assert _journal_path(tmp_path / "made.ocop").read_text(encoding="ascii") == block


def test_a_journal_is_created_once_by_concurrent_openers(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    _ledger_with_batch(path, steps=1)
    _journal_path(path).unlink()
    started: list[bool] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            with op.Ledger.open(path, timeout=30) as ledger:
                started.append(ledger.journal_status().started)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(started) == [False] * 5 + [True]
    assert [r[1] for r in _records(path)] == ["start"]
    assert sorted(p.name for p in tmp_path.iterdir() if ".heads" in p.name) == ["ledger.ocop.heads"]
