"""A writer killed with SIGKILL at any moment loses no acknowledged event and leaves no partial one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import ocop_provenance as op
import pytest

WRITER = Path(__file__).with_name("kill_writer.py")
ROUNDS = 25

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


def _run_and_kill(path: Path, seed: int, delay: float) -> list[tuple[bytes, int, bytes]]:
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    assert ready == b"ready\n", proc.stderr.read() if proc.stderr else ready
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")
    acks = []
    for line in out.split(b"\n")[:-1]:  # a line without its newline was cut by the kill: not acknowledged
        _, batch, seq, event_id = line.decode().split()
        acks.append((bytes.fromhex(batch), int(seq), bytes.fromhex(event_id)))
    return acks


def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    acked: list[tuple[bytes, int, bytes]] = []
    for round_no in range(ROUNDS):
        acked += _run_and_kill(path, round_no, rng.uniform(0.0, 0.35))
    assert len(acked) > ROUNDS, "the writer never got to write: the test proves nothing"

    with op.Ledger.open(path) as ledger:
        checked = ledger.verify_stored()  # every chain, every signature, every link: no partial event
        stored = {(e.batch_id, e.seq): e.event_id for b in ledger.batches() for e in ledger.events(b.batch_id)}
    assert checked == len(stored)
    for batch, seq, event_id in acked:
        assert stored.get((batch, seq)) == event_id
