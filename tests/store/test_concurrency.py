"""Real processes writing one ledger at once: one wins each seq, the other gets a retryable error, no fork."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import ocop_provenance as op
import pytest

from tests.conftest import key, sample_genesis
from tests.store import concurrent_writers

pytestmark = pytest.mark.slow  # real processes, started with spawn


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
        procs = [
            ctx.Process(target=concurrent_writers.race, args=(str(path), batch, who, day, barrier, results))
            for who in (1, 2)
        ]
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


def test_concurrent_writers_take_turns(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    with op.Ledger.open(path) as ledger:
        batch = ledger.open_batch(sample_genesis(), key(1)).event_id
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=concurrent_writers.writer, args=(str(path), batch, who, 40)) for who in (1, 2, 3)]
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
