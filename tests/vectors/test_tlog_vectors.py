"""The committed transparency-log vectors: reproducible, replayed byte-exact, every attack refused with its code."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import ocop_provenance as op
import pytest
from ocop_provenance import tlog
from ocop_provenance.events import ChainHead

from tests.vectors import generate_tlog

HERE = Path(__file__).resolve().parent
V: dict[str, Any] = json.loads((HERE / "tlog.json").read_text(encoding="utf-8"))
LOG_KEY = tlog.NoteKey.from_vkey(V["log_key"]["vkey"])
WITNESS_KEYS = [tlog.NoteKey.from_vkey(w["vkey"]) for w in V["witness_keys"]]


def test_committed_file_equals_a_fresh_regeneration() -> None:
    fresh = generate_tlog.build()
    assert (HERE / "tlog.json").read_bytes() == fresh["tlog.json"], (
        "tlog.json is stale: run python -m tests.vectors.generate_tlog"
    )
    assert len(fresh["tlog.json"]) < 60_000


def test_keys_from_seeds() -> None:
    log = tlog.NoteSigner(V["origin"], op.PrivateKey.from_seed(bytes.fromhex(V["log_key"]["seed"])))
    assert log.key == LOG_KEY
    assert LOG_KEY.public_key.raw.hex() == V["log_key"]["public_key"]
    for w, k in zip(V["witness_keys"], WITNESS_KEYS, strict=True):
        assert tlog.Cosigner(w["name"], op.PrivateKey.from_seed(bytes.fromhex(w["seed"]))).key == k


def test_leaves_parse_and_hash() -> None:
    for v in V["leaves"]:
        leaf = tlog.LogLeaf.from_bytes(bytes.fromhex(v["leaf"]))
        assert (leaf.batch_id.hex(), leaf.seq, leaf.head_id.hex()) == (v["batch_id"], v["seq"], v["head_id"])
        assert leaf.logged == datetime.fromisoformat(v["logged"])
        assert leaf.leaf_hash.hex() == v["leaf_hash"]


def test_tree_roots_nodes_and_proofs_replay() -> None:
    tree = tlog.MemoryTree()
    tree.extend(bytes.fromhex(v["leaf"]) for v in V["leaves"])
    assert [tree.root(n).hex() for n in range(tree.size + 1)] == V["roots"]
    for node in V["stored_nodes"]:
        assert tree.read_hashes([(node["level"], node["index"])])[0].hex() == node["hash"]
    root = bytes.fromhex(V["roots"][-1])
    for p in V["inclusion"]:
        leaf_hash = bytes.fromhex(V["leaves"][p["index"]]["leaf_hash"])
        tlog.verify_inclusion(leaf_hash, p["index"], tree.size, [bytes.fromhex(h) for h in p["proof"]], root)
    for p in V["consistency"]:
        old = bytes.fromhex(V["roots"][p["old_size"]])
        tlog.verify_consistency(p["old_size"], tree.size, old, root, [bytes.fromhex(h) for h in p["proof"]])


def test_checkpoints_and_receipt_verify() -> None:
    for name in ("old", "new"):
        c = V["checkpoints"][name]
        cp = tlog.open_checkpoint(c["note"], LOG_KEY, witness_keys=WITNESS_KEYS, witnesses=2)
        assert cp.size == c["size"]
        assert cp.note.text == c["body"]
    r = V["receipt"]
    receipt = tlog.Receipt.from_bytes(bytes.fromhex(r["cbor"]))
    assert tlog.Receipt.from_tlog_proof(r["tlog_proof"]) == receipt
    leaf = V["leaves"][r["index"]]
    expect = ChainHead(
        batch_id=bytes.fromhex(leaf["batch_id"]),
        seq=leaf["seq"],
        event_id=bytes.fromhex(leaf["head_id"]),
        time=datetime.fromisoformat(leaf["logged"]),
    )
    got = tlog.verify_receipt(receipt, LOG_KEY, witness_keys=WITNESS_KEYS, witnesses=2, expect=expect)
    assert got.index == r["index"]


def test_receipts_file_carries_the_receipts_and_proves_their_heads() -> None:
    f = V["receipts_file"]
    receipts = tlog.decode_receipts(bytes.fromhex(f["cbor"]))
    assert [r.index for r in receipts] == f["indexes"]
    assert tlog.encode_receipts(receipts).hex() == f["cbor"]
    heads = [tlog.LogLeaf.from_bytes(bytes.fromhex(V["leaves"][i]["leaf"])) for i in reversed(f["indexes"])]
    got = tlog.verify_heads_logged(heads, receipts, LOG_KEY, witness_keys=WITNESS_KEYS, witnesses=2)
    assert [v.index for v in got] == list(reversed(f["indexes"]))


def test_witness_exchange_replays() -> None:
    w = V["witness"]
    cosigner = tlog.Cosigner(
        V["witness_keys"][0]["name"], op.PrivateKey.from_seed(bytes.fromhex(V["witness_keys"][0]["seed"]))
    )
    got = tlog.witness_add_checkpoint(
        tlog.AddCheckpoint.parse(w["request"].encode()),
        log_key=LOG_KEY,
        last=tlog.Checkpoint.parse(w["held"]),
        cosigner=cosigner,
        now=datetime.fromisoformat(w["now"]),
    )
    assert got.response_body.decode() == w["response"]


def _check(v: dict[str, Any]) -> None:
    """Run the check a vector names (it must raise)."""
    if v["check"] == "receipt":
        expect = None
        if "expect" in v:
            x = v["expect"]
            expect = tlog.LogLeaf(
                batch_id=bytes.fromhex(x["batch_id"]),
                seq=x["seq"],
                head_id=bytes.fromhex(x["head_id"]),
                logged=datetime.fromisoformat("2025-01-01T00:00:00+00:00"),
            )
        key = tlog.NoteKey.from_vkey(v.get("log_vkey", V["log_key"]["vkey"]))
        tlog.verify_receipt(
            bytes.fromhex(v["input"]),
            key,
            witness_keys=WITNESS_KEYS,
            witnesses=v.get("witnesses", 0),
            expect=expect,
            origin=V["origin"],
        )
    elif v["check"] == "state":
        state = tlog.LogState.from_note(v["held"], LOG_KEY)
        state.update(tlog.open_checkpoint(v["input"], LOG_KEY), [bytes.fromhex(h) for h in v["proof"]])
    elif v["check"] == "leaf":
        tlog.LogLeaf.from_bytes(bytes.fromhex(v["input"]))
    elif v["check"] == "note":
        tlog.SignedNote.parse(bytes.fromhex(v["input"]))
    elif v["check"] == "checkpoint":
        tlog.Checkpoint.parse(v["input"])
    else:
        raise AssertionError(v["check"])


@pytest.mark.parametrize("v", V["invalid"], ids=lambda v: v["name"])
def test_invalid_vectors_are_refused_with_their_code(v: dict[str, Any]) -> None:
    with pytest.raises(op.ProvenanceError) as e:
        _check(v)
    assert e.value.code == v["code"]
