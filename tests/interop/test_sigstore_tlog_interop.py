"""Interoperability of our checkpoints, signed notes and inclusion proofs with sigstore-js (@sigstore/verify).

An independent, widely used implementation of C2SP signed notes and checkpoints and of RFC 6962 inclusion proofs
(tests/interop/tlog/peer.cjs says which code paths) verifies receipts produced here, and agrees with our verifier
on receipts that must fail. ``python3 tasks.py check`` installs it from tests/interop/tlog/package-lock.json with
``npm ci`` and passes the node binary in ``OCOP_TLOG_INTEROP_NODE``; run by hand without it, these tests skip.

What sigstore-js does not check, and is covered elsewhere: consistency proofs and witness cosignatures (it ignores
cosignature lines; tests/external/test_tlog_vectors.py checks a real witness's cosignature and transparency-dev's
consistency probes).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import ocop_provenance as op
import pytest
from ocop_provenance import tlog

from tests.conftest import key
from tests.unit.tlog_helpers import LOG_KEY, ORIGIN, WITNESSES, Portal, cosigned, fake_head

HERE = Path(__file__).resolve().parent / "tlog"
ENV = "OCOP_TLOG_INTEROP_NODE"

pytestmark = pytest.mark.skipif(
    not os.environ.get(ENV) or not (HERE / "node_modules" / "@sigstore" / "verify").is_dir(),
    reason=f"{ENV} is not set or tests/interop/tlog/node_modules is missing: run `python3 tasks.py check`, which "
    "runs `npm ci` there (node >= 20.17)",
)


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def case(receipt: tlog.Receipt, log_key: tlog.NoteKey = LOG_KEY) -> dict[str, Any]:
    return {
        "log": {"origin": log_key.name, "public_key": log_key.public_key.raw.hex()},
        "leaf": b64(receipt.leaf),
        "index": receipt.index,
        "proof": [b64(h) for h in receipt.proof],
        "checkpoint": receipt.checkpoint.decode("utf-8"),
    }


def peer(cases: list[dict[str, Any]]) -> dict[str, Any]:
    done = subprocess.run(
        [os.environ[ENV], str(HERE / "peer.cjs")],
        input=json.dumps({"cases": cases}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=HERE,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    assert len(answer["results"]) == len(cases)
    return answer


def ours(receipt: tlog.Receipt, log_key: tlog.NoteKey = LOG_KEY) -> bool:
    try:
        tlog.verify_receipt(receipt, log_key)
    except op.ProvenanceError:
        return False
    return True


def test_peer_is_sigstore_js() -> None:
    versions = peer([])["versions"]
    assert versions["@sigstore/verify"] == "3.1.1"
    assert int(versions["node"].split(".")[0]) >= 20


def test_sigstore_verifies_every_receipt_of_small_logs() -> None:
    receipts = []
    portal = Portal()
    for n in range(1, 34):
        portal.publish(fake_head(n % 250, seq=n, batch=n % 5))
        note = cosigned(portal.note(), *WITNESSES)  # cosignature lines must not disturb it
        receipts.extend(portal.receipt(i, note) for i in range(n) if n < 12 or i in (0, n // 2, n - 1))
    results = peer([case(r) for r in receipts])["results"]
    assert [r["ok"] for r in results] == [True] * len(receipts), [r for r in results if not r["ok"]][:3]


def test_sigstore_verifies_receipts_of_a_larger_log() -> None:
    portal = Portal()
    for n in range(1500):
        portal.publish(fake_head(n % 250, seq=n, batch=n % 7))
    note = portal.note()
    receipts = [portal.receipt(i, note) for i in (0, 1, 511, 512, 1023, 1024, 1337, 1499)]
    assert all(r["ok"] for r in peer([case(r) for r in receipts])["results"])


def test_the_committed_vector_receipt_verifies() -> None:
    v = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "tlog.json").read_text(encoding="utf-8"))
    receipt = tlog.Receipt.from_bytes(bytes.fromhex(v["receipt"]["cbor"]))
    log_key = tlog.NoteKey.from_vkey(v["log_key"]["vkey"])
    (result,) = peer([case(receipt, log_key)])["results"]
    assert result["ok"], result


def test_a_vietnamese_origin_works_in_both() -> None:
    signer = tlog.NoteSigner("nhật-ký.ocop.thanhhoá.vn/1", key(44))
    portal = Portal(signer=signer)
    for n in range(5):
        portal.publish(fake_head(n, seq=n))
    cp = tlog.Checkpoint(origin=signer.name, size=5, root_hash=portal.tree.root())
    receipt = portal.receipt(3, tlog.sign_checkpoint(cp, signer))
    assert ours(receipt, signer.key)
    (result,) = peer([case(receipt, signer.key)])["results"]
    assert result["ok"], result


def test_both_refuse_what_must_fail() -> None:
    portal = Portal()
    for n in range(21):
        portal.publish(fake_head(n, seq=n))
    good = portal.receipt(13)
    proof = list(good.proof)
    proof[2] = bytes(32)
    forger = tlog.NoteSigner(ORIGIN, key(66))
    forged = tlog.sign_checkpoint(tlog.Checkpoint.parse(portal.note().text), forger)
    bad = {
        "wrong index": replace(good, index=12),
        "changed proof hash": replace(good, proof=tuple(proof)),
        "proof one hash short": replace(good, proof=good.proof[:-1]),
        "other leaf": replace(good, leaf=portal.leaves[12].to_bytes()),
        "forged log signature": replace(good, checkpoint=forged.to_bytes()),
        "index past the size": replace(good, index=21),
    }
    results = peer([case(good)] + [case(r) for r in bad.values()])["results"]
    assert results[0]["ok"]
    assert ours(good)
    for (name, r), theirs in zip(bad.items(), results[1:], strict=True):
        assert theirs["ok"] is False, name
        assert ours(r) is False, name


def test_receipts_of_the_portal_verify_in_sigstore(tmp_path: Path) -> None:
    """The portal's own receipts (its SQL-stored tree, its signed checkpoints) pass the independent verifier."""
    pytest.importorskip("ocop_portal", reason="the portal extra is not installed")
    from ocop_portal import Settings
    from ocop_portal.db import Database
    from ocop_portal.registry import Registry
    from tests.portal.world import NOW, World

    world = World(tmp_path, "https://id.thanhhoa.example.vn")
    log_key = key(45)
    settings = Settings(
        db_url=str(tmp_path / "portal.sqlite"),
        public_url="https://id.thanhhoa.example.vn",
        authority=world.pin,
        clock=lambda: NOW,
        log_key=log_key,
    )
    database = Database(settings.db_url)
    database.migrate()
    try:
        registry = Registry(database, settings)
        registry.install_trust_list(world.trust_v1)
        for batch in (world.fresh, world.dried):
            bundle = tmp_path / "b.ocop"
            bundle.write_bytes(world.bundle(batch))
            registry.publish(bundle)
        receipts = registry.log.receipts([world.dried, world.fresh])
    finally:
        database.dispose()
    note_key = tlog.NoteKey.for_log("id.thanhhoa.example.vn/tlog/1", log_key.public_key)
    assert len(receipts) == 2
    assert all(ours(r, note_key) for r in receipts.values())
    results = peer([case(r, note_key) for r in receipts.values()])["results"]
    assert [r["ok"] for r in results] == [True, True], results
