"""The portal's transparency log: receipts on publication, checkpoint, leaves and proofs (both databases)."""

from __future__ import annotations

import base64
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import ocop_provenance as op
import pytest
import sqlalchemy as sa
from ocop_provenance import tlog

from ocop_cli.witness import WitnessServer, WitnessState
from ocop_portal import WitnessEndpoint, db

from .conftest import CLIENT_TLS, Live, serve
from .world import COOP, ICT, NOW, PLACE, World, key

LOG_KEY = key(60)
ORIGIN = "id.thanhhoa.example.vn/tlog/1"
NOTE_KEY = tlog.NoteKey.for_log(ORIGIN, LOG_KEY.public_key)


@pytest.fixture
def logged(db_url: str, world: World) -> Iterator[Live]:
    """A portal keeping a log, with the trust list and policy installed."""
    for live in serve(db_url, world, log_key=LOG_KEY):
        assert live.client.put("/api/v1/trust-list", content=world.trust_v1).status_code == 200
        assert live.client.put("/api/v1/policies/vn.ocop/dried-cordyceps", content=world.policy).status_code == 200
        yield live


def _heads(world: World) -> dict[bytes, op.SignedEvent]:
    with op.Ledger.open(world.ledger_path) as ledger:
        return {b: list(ledger.events(b))[-1] for b in (world.dried, world.fresh)}


def _b64s(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


def test_publish_returns_receipts_that_verify_offline(logged: Live, world: World) -> None:
    r = logged.publish(world.bundle())
    assert r.status_code == 201, r.text
    log = r.json()["log"]
    assert log["origin"] == ORIGIN
    heads = _heads(world)
    got = {bytes.fromhex(x["batch_id"]): base64.b64decode(x["receipt"]) for x in log["receipts"]}
    assert set(got) == set(heads)
    for batch_id, raw in got.items():
        verified = tlog.verify_receipt(raw, NOTE_KEY, expect=heads[batch_id])
        assert verified.checkpoint.size == 2
    # The same receipt is served for the batch, in CBOR and as a C2SP tlog-proof.
    served = logged.client.get(f"/tlog/receipts/{world.dried.hex()}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/cbor"
    tlog.verify_receipt(served.content, NOTE_KEY, expect=heads[world.dried])
    text = logged.client.get(f"/tlog/receipts/{world.dried.hex()}", params={"format": "tlog-proof"}).text
    tlog.verify_receipt(tlog.Receipt.from_tlog_proof(text), NOTE_KEY, expect=heads[world.dried])
    # Publishing the same chain logs nothing new.
    again = logged.publish(world.bundle())
    assert again.status_code == 200
    assert tlog.open_checkpoint(logged.client.get("/tlog/checkpoint").text, NOTE_KEY).size == 2


def test_checkpoint_leaves_and_proofs(logged: Live, world: World) -> None:
    empty = tlog.open_checkpoint(logged.client.get("/tlog/checkpoint").text, NOTE_KEY)
    assert empty.size == 0
    assert logged.client.get("/tlog/key").text.strip() == NOTE_KEY.to_vkey()
    assert logged.publish(world.bundle(world.fresh)).status_code == 201
    first = tlog.open_checkpoint(logged.client.get("/tlog/checkpoint").text, NOTE_KEY)
    state = tlog.LogState.start(first)
    assert logged.publish(world.bundle()).status_code == 201
    second = tlog.open_checkpoint(logged.client.get("/tlog/checkpoint").text, NOTE_KEY)
    assert (first.size, second.size) == (1, 2)
    proof = logged.client.get("/tlog/consistency", params={"old": 1, "new": 2}).json()["proof"]
    state = state.update(second, _b64s(proof))
    assert state.checkpoint.size == 2

    leaves = logged.client.get("/tlog/leaves", params={"start": 0, "end": 2}).json()["leaves"]
    parsed = tlog.verify_log_leaves(_b64s(leaves), second)
    assert [(leaf.batch_id, leaf.seq) for leaf in parsed] == [(world.fresh, 1), (world.dried, 5)]
    inclusion = logged.client.get("/tlog/inclusion", params={"index": 1, "size": 2}).json()["proof"]
    leaf_hash = tlog.leaf_hash(base64.b64decode(leaves[1]))
    tlog.verify_inclusion(leaf_hash, 1, 2, _b64s(inclusion), second.root_hash)

    bad = logged.client.get("/tlog/consistency", params={"old": 1, "new": 3})
    assert (bad.status_code, bad.json()["code"]) == (400, "E_LOG_RANGE")
    assert logged.client.get("/tlog/leaves", params={"start": 2, "end": 3}).json()["code"] == "E_LOG_RANGE"
    missing = logged.client.get(f"/tlog/receipts/{'ab' * 32}")
    assert (missing.status_code, missing.json()["code"]) == (404, "E_NOT_FOUND")


def test_a_portal_without_a_log_key_keeps_no_log(published: Live, world: World) -> None:
    r = published.client.get("/tlog/checkpoint")
    assert (r.status_code, r.json()["code"]) == (404, "E_NO_LOG")
    assert "log" not in published.publish(world.bundle()).json()


WITNESS_KEY = key(61)
WITNESS_NAME = "witness.vinastas.example.vn"
WITNESS_NOTE_KEY = tlog.NoteKey.for_witness(WITNESS_NAME, WITNESS_KEY.public_key)


def _rewrite_log(live: Live, heads: list[tuple[bytes, int, bytes]]) -> None:
    """What a dishonest (or restored-from-backup) portal does: drop its log and sign another history."""
    with live.db.write() as conn:
        for table in (db.tlog_leaves, db.tlog_nodes, db.tlog_checkpoints):
            conn.execute(table.delete())
        live.app.state.portal.registry.log.append(conn, heads, NOW)


def test_a_witness_cosigns_and_catches_a_rewritten_log(db_url: str, world: World, tmp_path: Path) -> None:
    state = WitnessState(tmp_path / "witness.json")
    witness = WitnessServer(
        state, tlog.Cosigner(WITNESS_NAME, WITNESS_KEY), [LOG_KEY.public_key], clock=lambda: NOW
    ).start()
    try:
        endpoint = WitnessEndpoint(witness.url, WITNESS_KEY.public_key)
        for live in serve(db_url, world, log_key=LOG_KEY, witnesses=(endpoint,)):
            assert live.client.put("/api/v1/trust-list", content=world.trust_v1).status_code == 200
            assert live.client.put("/api/v1/policies/vn.ocop/dried-cordyceps", content=world.policy).status_code == 200
            first = live.publish(world.bundle(world.fresh)).json()["log"]
            assert first["witnesses"] == [{"url": witness.url, "status": 200, "cosigned": True, "message": ""}]
            held = tlog.open_checkpoint(
                live.client.get("/tlog/checkpoint").text, NOTE_KEY, witness_keys=[WITNESS_NOTE_KEY], witnesses=1
            )
            client = tlog.LogState.start(held)
            answer = live.publish(world.bundle()).json()["log"]
            assert answer["witnesses"][0]["cosigned"] is True
            heads = _heads(world)
            for r in answer["receipts"]:
                batch_id = bytes.fromhex(r["batch_id"])
                v = tlog.verify_receipt(
                    base64.b64decode(r["receipt"]),
                    NOTE_KEY,
                    witness_keys=[WITNESS_NOTE_KEY],
                    witnesses=1,
                    expect=heads[batch_id],
                )
                assert v.checkpoint.size == 2
            assert tlog.Checkpoint.parse(tlog.SignedNote.parse(state.logs[ORIGIN]).text).size == 2

            # The portal rewrites its history: the same heads in another order, and one more.
            _rewrite_log(
                live,
                [
                    (world.dried, 5, heads[world.dried].event_id),
                    (world.fresh, 1, heads[world.fresh].event_id),
                    (world.dried, 5, heads[world.dried].event_id),
                ],
            )
            (outcome,) = live.app.state.portal.registry.log.witness()
            assert (outcome.status, outcome.cosigned) == (422, False)
            assert outcome.message.startswith("E_LOG_CONSISTENCY")
            assert tlog.Checkpoint.parse(tlog.SignedNote.parse(state.logs[ORIGIN]).text).size == 2  # unchanged
            # The new checkpoint carries no cosignature, so a verifier that requires one refuses it ...
            text = live.client.get("/tlog/checkpoint").text
            with pytest.raises(tlog.LogError) as no_quorum:
                tlog.open_checkpoint(text, NOTE_KEY, witness_keys=[WITNESS_NOTE_KEY], witnesses=1)
            assert no_quorum.value.code == "E_LOG_WITNESSES"
            # ... and a client that held the old checkpoint refuses it, with both signed notes as evidence.
            rewritten = tlog.open_checkpoint(text, NOTE_KEY)
            proof = live.client.get("/tlog/consistency", params={"old": 1, "new": 3}).json()["proof"]
            with pytest.raises(tlog.SplitViewError) as split:
                client.update(rewritten, _b64s(proof))
            assert split.value.code == "E_LOG_CONSISTENCY"
    finally:
        witness.stop()
        state.close()


def test_heads_held_before_the_log_was_kept_are_logged_on_their_next_publication(db_url: str, world: World) -> None:
    for live in serve(db_url, world):
        assert live.client.put("/api/v1/trust-list", content=world.trust_v1).status_code == 200
        assert live.client.put("/api/v1/policies/vn.ocop/dried-cordyceps", content=world.policy).status_code == 200
        assert live.publish(world.bundle()).status_code == 201
    for live in serve(db_url, world, log_key=LOG_KEY):
        r = live.publish(world.bundle())
        assert r.status_code == 200  # nothing new for the registry ...
        heads = _heads(world)
        receipts = r.json()["log"]["receipts"]
        assert len(receipts) == 2  # ... but both heads are now logged
        for x in receipts:
            batch_id = bytes.fromhex(x["batch_id"])
            tlog.verify_receipt(base64.b64decode(x["receipt"]), NOTE_KEY, expect=heads[batch_id])
        assert len(live.publish(world.bundle()).json()["log"]["receipts"]) == 2
        assert tlog.open_checkpoint(live.client.get("/tlog/checkpoint").text, NOTE_KEY).size == 2


def test_concurrent_publications_make_one_consistent_log(logged: Live, world: World, tmp_path: Path) -> None:
    bundles, batches = [], []
    for i in range(8):
        path = tmp_path / f"l{i}.sqlite"
        shutil.copy(world.ledger_path, path)
        with op.Ledger.open(path) as ledger:
            genesis = ledger.open_batch(
                op.Genesis(
                    time=datetime(2024, 11, 3, 8, i, tzinfo=ICT),
                    product=op.Product(name=f"Mật ong rừng Như Xuân {i}", lot=f"M2411-{i}", quantity="1", unit="kg"),
                    producer=op.Producer(name=COOP, admin_code="38", province="Thanh Hóa"),
                    location=PLACE,
                ),
                world.coop,
            )
        w = World.__new__(World)
        w.ledger_path, w.dried = path, genesis.batch_id
        bundles.append(World.bundle(w))
        batches.append(genesis.batch_id)
    codes: list[int] = []
    lock = threading.Lock()

    def go(body: bytes) -> None:
        status = httpx.post(f"{logged.url}/api/v1/bundles", content=body, timeout=60, verify=CLIENT_TLS).status_code
        with lock:
            codes.append(status)

    threads = [threading.Thread(target=go, args=(b,)) for b in bundles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [201] * 8
    checkpoint = tlog.open_checkpoint(logged.client.get("/tlog/checkpoint").text, NOTE_KEY)
    assert checkpoint.size == 8
    leaves = logged.client.get("/tlog/leaves", params={"start": 0, "end": 8}).json()["leaves"]
    parsed = tlog.verify_log_leaves(_b64s(leaves), checkpoint)
    assert sorted(leaf.batch_id for leaf in parsed) == sorted(batches)
    for batch_id in batches:
        receipt = logged.client.get(f"/tlog/receipts/{batch_id.hex()}").content
        assert tlog.verify_receipt(receipt, NOTE_KEY).checkpoint.size == 8


def test_a_new_generation_needs_empty_log_tables(db_url: str, world: World) -> None:
    for live in serve(db_url, world, log_key=LOG_KEY):
        assert live.client.put("/api/v1/trust-list", content=world.trust_v1).status_code == 200
        assert live.client.put("/api/v1/policies/vn.ocop/dried-cordyceps", content=world.policy).status_code == 200
        assert live.publish(world.bundle()).status_code == 201
    with op.Ledger.open(world.ledger_path) as ledger:
        ledger.add_step(
            world.dried, world.coop, step="receiving", time=datetime(2024, 11, 8, 9, tzinfo=ICT), location=PLACE
        )
    for live in serve(db_url, world, log_key=LOG_KEY, log_generation=2):
        r = live.publish(world.bundle())
        assert (r.status_code, r.json()["code"]) == (503, "E_LOG_GENERATION")
        with live.db.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(db.events)).scalar_one() == 8  # nothing stored
