"""``ocop witness``: a separate process that cosigns checkpoints extending what it cosigned, and nothing else."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance import tlog

ORIGIN = "id.thanhhoa.example.vn/tlog/1"
NAME = "witness.vinastas.example.vn"
LOG = op.PrivateKey.from_seed(bytes([70]) * 32)
WITNESS = op.PrivateKey.from_seed(bytes([71]) * 32)
WITNESS_KEY = tlog.NoteKey.for_witness(NAME, WITNESS.public_key)
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


class Log:
    """A log in memory: leaves and its signed checkpoints."""

    def __init__(self, prefix: str = "") -> None:
        self.tree = tlog.MemoryTree()
        self.prefix = prefix

    def grow(self, n: int) -> None:
        for _ in range(n):
            i = self.tree.size
            leaf = tlog.LogLeaf(
                batch_id=bytes([i]) * 32, seq=i, head_id=(self.prefix.encode() + bytes(32))[:32], logged=T0
            )
            self.tree.append(leaf.to_bytes())

    def note(self) -> tlog.SignedNote:
        cp = tlog.Checkpoint(origin=ORIGIN, size=self.tree.size, root_hash=self.tree.root())
        return tlog.sign_checkpoint(cp, tlog.NoteSigner(ORIGIN, LOG))

    def request(self, old: int) -> bytes:
        proof = self.tree.consistency_proof(old, self.tree.size) if 0 < old < self.tree.size else ()
        return tlog.AddCheckpoint(old, tuple(proof), self.note().to_bytes()).to_bytes()


def _post(url: str, body: bytes) -> tuple[int, str, str]:
    request = urllib.request.Request(url + "/add-checkpoint", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.headers["content-type"], r.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers["content-type"], e.read().decode()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    key = tmp_path / "witness.key"
    key.write_bytes(WITNESS.to_pkcs8_pem())
    key.chmod(0o600)
    log = tmp_path / "log.pub"
    log.write_bytes(LOG.public_key.to_pem())
    return {"key": str(key), "log": str(log), "state": str(tmp_path / "state" / "witness.json")}


def _start(files: dict[str, str], tmp_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "OCOP_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    args = ["--key", files["key"], "--name", NAME, "--log-key", files["log"], "--state", files["state"], "--port", "0"]
    return subprocess.Popen(
        [sys.executable, "-m", "ocop_cli", "witness", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        encoding="utf-8",
    )


def _url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    text = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        text += line
        if line.startswith("}"):
            doc = json.loads(text)
            assert doc["witness_key"] == WITNESS_KEY.to_vkey()
            return str(doc["url"])
    raise AssertionError(text + (proc.stderr.read() if proc.stderr else ""))


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    return proc.returncode


@pytest.fixture
def witness(files: dict[str, str], tmp_path: Path) -> Iterator[str]:
    proc = _start(files, tmp_path)
    try:
        yield _url(proc)
    finally:
        assert _stop(proc) == 0


def test_cosigns_extensions_and_refuses_a_rewritten_log(witness: str, files: dict[str, str], tmp_path: Path) -> None:
    log = Log()
    log.grow(3)
    status, _, body = _post(witness, log.request(0))
    assert status == 200
    cosigned = tlog.add_cosignatures(log.note(), body, [WITNESS_KEY])
    assert tlog.open_checkpoint(cosigned, tlog.NoteKey.for_log(ORIGIN, LOG.public_key), witness_keys=[WITNESS_KEY],
                                witnesses=1).size == 3  # fmt: skip
    # The log grows: the witness cosigns with the consistency proof from what it holds.
    log.grow(2)
    assert _post(witness, log.request(3))[0] == 200
    # Asking from a size it does not hold: 409 with the size it holds.
    assert _post(witness, log.request(3))[:3] == (409, "text/x.tlog.size", "5\n")
    # Another history of the log, longer: the consistency proof from 5 cannot hold.
    other = Log("rewritten")
    other.grow(7)
    status, _, body = _post(witness, other.request(5))
    assert status == 422
    assert body.startswith("E_LOG_CONSISTENCY")
    # A log it does not follow.
    stranger = tlog.sign_checkpoint(
        tlog.Checkpoint(origin="other.example.vn/tlog/1", size=0, root_hash=tlog.EMPTY_ROOT),
        tlog.NoteSigner("other.example.vn/tlog/1", WITNESS),
    )
    assert _post(witness, tlog.AddCheckpoint(0, (), stranger.to_bytes()).to_bytes())[0] == 404
    assert _post(witness, b"old 0\n")[0] == 400
    state = json.loads(Path(files["state"]).read_text(encoding="utf-8"))
    assert tlog.Checkpoint.parse(tlog.SignedNote.parse(state["logs"][ORIGIN]).text).size == 5

    # A second witness process cannot share the state file.
    second = _start(files, tmp_path)
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 3
    assert json.loads(out)["error"]["code"] == "E_WITNESS_STATE"


def test_the_state_survives_a_restart(files: dict[str, str], tmp_path: Path) -> None:
    log = Log()
    log.grow(4)
    proc = _start(files, tmp_path)
    try:
        assert _post(_url(proc), log.request(0))[0] == 200
    finally:
        assert _stop(proc) == 0
    proc = _start(files, tmp_path)
    try:
        url = _url(proc)
        assert _post(url, log.request(0))[:3] == (409, "text/x.tlog.size", "4\n")
        log.grow(1)
        assert _post(url, log.request(4))[0] == 200
    finally:
        assert _stop(proc) == 0
