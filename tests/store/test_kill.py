"""A writer killed with SIGKILL at any moment loses no acknowledged event, leaves no partial one, and every head
it reported as handed out is in the head journal (a kill during a journal write leaves it readable)."""

from __future__ import annotations

import hashlib
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


Head = tuple[bytes, int, bytes]


def _run_and_kill(path: Path, seed: int, delay: float) -> tuple[list[Head], list[Head]]:
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
    acks: list[Head] = []
    handouts: list[Head] = []
    for line in out.split(b"\n")[:-1]:  # a line without its newline was cut by the kill: not acknowledged
        kind, batch, seq, event_id = line.decode().split()
        (acks if kind == "ack" else handouts).append((bytes.fromhex(batch), int(seq), bytes.fromhex(event_id)))
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
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    acked: list[Head] = []
    handed: list[Head] = []
    for round_no in range(ROUNDS):
        acks, handouts = _run_and_kill(path, round_no, rng.uniform(0.0, 0.35))
        acked += acks
        handed += handouts
    assert len(acked) > ROUNDS, "the writer never got to write: the test proves nothing"
    assert handed, "the writer never handed a head out: the journal is not tested"

    with op.Ledger.open(path) as ledger:
        checked = ledger.verify_stored()  # every chain, every signature, every link: no partial event
        stored = {(e.batch_id, e.seq): e.event_id for b in ledger.batches() for e in ledger.events(b.batch_id)}
    assert checked == len(stored)
    for batch, seq, event_id in acked:
        assert stored.get((batch, seq)) == event_id
    journaled = _journaled(path)
    for batch, seq, event_id in handed:
        assert journaled[batch] >= seq
        assert stored[(batch, seq)] == event_id
