"""A writer killed with SIGKILL at any moment loses no acknowledged event and leaves no partial one."""

from __future__ import annotations

import hashlib
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


Head = tuple[bytes, int, bytes]


def _run_and_kill(path: Path, seed: int, after: int, delay: float) -> tuple[list[Head], list[Head]]:
    """Start a writer, read ``after`` lines, wait ``delay`` seconds more, SIGKILL it; return every ack and hand-out.

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
    acks: list[Head] = []
    handouts: list[Head] = []
    for line in (seen + out).split(b"\n")[:-1]:  # a line without its newline was cut by the kill: not acknowledged
        kind, batch, seq, event_id = line.decode().split()
        (acks if kind == "ack" else handouts).append((bytes.fromhex(batch), int(seq), bytes.fromhex(event_id)))
    assert len(acks) + len(handouts) >= after, (seed, after, err.decode(errors="replace"))
    return acks, handouts


def _journaled(path: Path) -> dict[bytes, int]:
    """Each batch's highest journaled seq, read as docs/store.md describes the journal (its hash chain checked)."""
    lines = path.with_name(path.name + ".heads").read_bytes().split(b"\n")
    assert lines[0] == b"ocop-heads 1"
    latest: dict[bytes, int] = {}
    previous = b"ocop-heads 1\n"
    for n, line in enumerate(lines[1:-1], start=1):  # the last item is what follows the last LF
        number, _, batch, seq, _, prev = line.decode().split(" ")
        assert int(number) == n
        assert prev == hashlib.sha256(previous).hexdigest()
        latest[bytes.fromhex(batch)] = max(latest.get(bytes.fromhex(batch), -1), int(seq))
        previous = line + b"\n"
    return latest


def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    path = tmp_path / "ledger.ocop"
    rng_seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(rng_seed)
    acked: list[Head] = []
    handed: list[Head] = []
    for round_no in range(ROUNDS):
        # 0-4 acknowledged writes, then up to 0.1 s more: kills land in every kind of transaction, early and late.
        acks, handouts = _run_and_kill(path, round_no, round_no % 5, rng.uniform(0.0, 0.1))
        acked += acks
        handed += handouts
    assert len(acked) > ROUNDS, "the writer never got to write: the test proves nothing"

    with op.Ledger.open(path) as ledger:
        checked = ledger.verify_stored()  # every chain, every signature, every link: no partial event
        stored = {(e.batch_id, e.seq): e.event_id for b in ledger.batches() for e in ledger.events(b.batch_id)}
    assert checked == len(stored)
    for batch, seq, event_id in acked:
        assert stored.get((batch, seq)) == event_id, f"lost an acknowledged event (random seed {rng_seed})"
    journaled = _journaled(path)  # every head reported as handed out is in the head journal, and in the ledger
    for batch, seq, event_id in handed:
        assert journaled[batch] >= seq
        assert stored[(batch, seq)] == event_id
