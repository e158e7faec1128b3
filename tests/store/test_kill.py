"""A writer killed with SIGKILL at any moment loses no acknowledged event and leaves no partial one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import ocop_provenance as op
import pytest

WRITER = Path(__file__).with_name("kill_writer.py")
ROUNDS = 25
HANG = 120  # seconds: a writer that stops making progress fails the test instead of hanging the run

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL"),
    pytest.mark.slow,
]


def _run_and_kill(path: Path, seed: int, after: int, delay: float) -> list[tuple[bytes, int, bytes]]:
    """Start a writer, read ``after`` acknowledgements, wait ``delay`` seconds more, SIGKILL it; return every ack.

    The kill is placed by the writer's progress, not by the clock alone, so that it lands inside a transaction at
    any load (under pytest-xdist, on a busy machine): after 0 acks it hits the first write, else a later one.
    """
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,  # no read-ahead: communicate() reads the pipe itself, and would miss what a buffer held
    )
    assert proc.stdout is not None
    hung = threading.Event()

    def _hung() -> None:
        hung.set()
        proc.kill()

    watchdog = threading.Timer(HANG, _hung)
    watchdog.start()
    try:
        ready = proc.stdout.readline()
        assert ready == b"ready\n", proc.stderr.read() if proc.stderr else ready
        seen = b"".join(proc.stdout.readline() for _ in range(after))
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
    finally:
        watchdog.cancel()
    assert not hung.is_set(), f"writer {seed} made no progress for {HANG} s"
    assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")
    acks = []
    for line in (seen + out).split(b"\n")[:-1]:  # a line without its newline was cut by the kill: not acknowledged
        _, batch, seq, event_id = line.decode().split()
        acks.append((bytes.fromhex(batch), int(seq), bytes.fromhex(event_id)))
    assert len(acks) >= after, (seed, after, err.decode(errors="replace"))
    return acks


def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    rng_seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(rng_seed)
    acked: list[tuple[bytes, int, bytes]] = []
    for round_no in range(ROUNDS):
        # 0-4 acknowledged writes, then up to 0.1 s more: kills land in every kind of transaction, early and late.
        acked += _run_and_kill(path, round_no, round_no % 5, rng.uniform(0.0, 0.1))
    assert len(acked) > ROUNDS, "the writer never got to write: the test proves nothing"

    with op.Ledger.open(path) as ledger:
        checked = ledger.verify_stored()  # every chain, every signature, every link: no partial event
        stored = {(e.batch_id, e.seq): e.event_id for b in ledger.batches() for e in ledger.events(b.batch_id)}
    assert checked == len(stored)
    for batch, seq, event_id in acked:
        assert stored.get((batch, seq)) == event_id, f"lost an acknowledged event (random seed {rng_seed})"
