"""Real processes writing one ledger at once: one wins each seq, the other gets a retryable error, no fork."""

from __future__ import annotations

import multiprocessing as mp
from datetime import datetime, timedelta
from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance.events import append_step

from tests.conftest import ICT, key, sample_genesis

pytestmark = pytest.mark.slow  # real processes, started with spawn

WHERE = op.Location(name="Nghi Sơn, Thanh Hóa", admin_code="38")
T0 = datetime(2024, 11, 2, 7, 0, tzinfo=ICT)


def _race(path: str, batch: bytes, who: int, day: int, barrier: mp.synchronize.Barrier, results: mp.Queue) -> None:  # type: ignore[type-arg]
    """Sign the next step on the head this process read, wait for the rival, then append; retry once on conflict."""
    signer = key(who)
    start = T0 + timedelta(days=day)
    with op.Ledger.open(path) as ledger:
        head = ledger.head(batch)
        event = append_step(head, signer, step="ocop:drying", time=start + timedelta(minutes=who), location=WHERE)
        barrier.wait(timeout=30)
        try:
            ledger.append(event)
            results.put((who, "won", None))
        except op.ConflictError as e:
            # Retry: read the new head, sign again, append.
            retry = append_step(
                ledger.head(batch), signer, step="packing", time=start + timedelta(hours=1), location=WHERE
            )
            ledger.append(retry)
            results.put((who, "retried", e.code))


def test_two_processes_race_for_one_seq(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    ctx = mp.get_context("spawn")
    with op.Ledger.open(path) as ledger:
        batch = ledger.open_batch(sample_genesis(), key(1)).event_id
        for who in (1, 2):
            ledger.add_key(key(who).public_key)
    for day in range(3):
        barrier = ctx.Barrier(2)
        results = ctx.Queue()
        procs = [ctx.Process(target=_race, args=(str(path), batch, who, day, barrier, results)) for who in (1, 2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
        outcome = sorted(results.get(timeout=5)[1:] for _ in procs)
        assert outcome == [("retried", "E_CONFLICT"), ("won", None)]
    with op.Ledger.open(path) as ledger:
        assert ledger.verify_stored() == 1 + 3 * 2
        assert ledger.head(batch).seq == 6


def _writer(path: str, batch: bytes, who: int, count: int) -> None:
    signer = key(who)
    with op.Ledger.open(path, timeout=30) as ledger:
        for i in range(count):
            # add_step reads the head and appends under one write lock: concurrent writers take turns.
            ledger.add_step(
                batch, signer, step="ocop:drying", time=T0 + timedelta(seconds=i), location=WHERE, data={"w": who}
            )
            if i % 10 == 0:
                bulk = op.NewStep(step="packing", time=T0 + timedelta(seconds=i), location=WHERE, data={"bulk": who})
                ledger.add_steps(batch, signer, [bulk])


def test_concurrent_writers_take_turns(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    with op.Ledger.open(path) as ledger:
        batch = ledger.open_batch(sample_genesis(), key(1)).event_id
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), batch, who, 40)) for who in (1, 2, 3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    with op.Ledger.open(path) as ledger:
        per_writer = 40 + 4
        assert ledger.verify_stored() == 1 + 3 * per_writer
        signers = {e.key_id for e in ledger.events(batch)}
        assert signers == {key(w).key_id for w in (1, 2, 3)}
