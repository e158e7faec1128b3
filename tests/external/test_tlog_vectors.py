"""The transparency log against published vectors (tests/external/tlog/SOURCES.md says where each comes from).

* RFC 6962 test tree (transparency-dev/merkle testonly): leaf hashes, every stored complete-subtree hash by
  (level, index), roots at sizes 0-8, and the proofs Go's proofgen generated for it, byte for byte.
* transparency-dev/merkle testdata: 196 inclusion and consistency probes (happy paths and corruptions) with the
  expected verdict. One deliberate difference, pinned below: a "root" that is not 32 bytes is refused even when
  Go's verifier only compares bytes.
* golang.org/x/mod sumdb/note: verifier keys, signing with Go's published test key, opening notes with known and
  unknown keys, malformed notes; sumdb/tlog's tree note golden.
* C2SP signed-note's example; a real checkpoint of Google's staging CT log with a real witness cosignature/v1.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

import ocop_provenance as op
import pytest
from ocop_provenance import tlog

HERE = Path(__file__).resolve().parent / "tlog"


@cache
def load(name: str) -> Any:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def b64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


# ---- RFC 6962 test tree (transparency-dev/merkle testonly/constants.go) ------------------------------------------

LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.fixture(scope="module")
def tree() -> tlog.MemoryTree:
    t = tlog.MemoryTree()
    t.extend(LEAVES)
    return t


def test_empty_root_and_hashers_are_rfc6962() -> None:
    # transparency-dev/merkle rfc6962_test.go TestRFC6962Hasher
    assert tlog.EMPTY_ROOT.hex() == ROOTS[0]
    assert tlog.leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert tlog.leaf_hash(b"L123456").hex() == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    assert tlog.node_hash(b"N123", b"N456").hex() == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"


def test_stored_subtree_hashes_are_the_reference_node_hashes(tree: tlog.MemoryTree) -> None:
    for level, row in enumerate(NODE_HASHES):
        got = tree.read_hashes([(level, i) for i in range(len(row))])
        assert [h.hex() for h in got] == row


def test_roots_at_every_size(tree: tlog.MemoryTree) -> None:
    assert [tree.root(n).hex() for n in range(9)] == ROOTS
    # And appending one leaf at a time reaches the same roots.
    t = tlog.MemoryTree()
    for n, leaf in enumerate(LEAVES, start=1):
        t.append(leaf)
        assert t.root().hex() == ROOTS[n]


def _happy(kind: str) -> list[dict[str, Any]]:
    return [v for v in load("transparency_dev_merkle.json")[kind] if v["name"].endswith("/happy-path.json")]


def test_our_inclusion_proofs_are_the_go_generated_ones(tree: tlog.MemoryTree) -> None:
    cases = [v for v in _happy("inclusion") if v["treeSize"] <= 8 and v["root"] != ""]
    assert len(cases) >= 4
    for v in cases:
        assert tree.root(v["treeSize"]) == b64(v["root"]), v["name"]
        assert tree.inclusion_proof(v["leafIdx"], v["treeSize"]) == tuple(b64(p) for p in v["proof"] or []), v
        assert tlog.leaf_hash(LEAVES[v["leafIdx"]]) == b64(v["leafHash"])


def test_our_consistency_proofs_are_the_go_generated_ones(tree: tlog.MemoryTree) -> None:
    cases = _happy("consistency")
    assert len(cases) == 5
    for v in cases:
        assert tree.root(v["size1"]) == b64(v["root1"]), v["name"]
        assert tree.root(v["size2"]) == b64(v["root2"]), v["name"]
        assert tree.consistency_proof(v["size1"], v["size2"]) == tuple(b64(p) for p in v["proof"] or []), v


# Where we deliberately differ from Go: equal sizes with equal "roots" that are not 32-byte hashes.
STRICTER = {"additional/sizes-are-equal-one-and-proof-is-empty.json"}


def _inclusion_ok(v: dict[str, Any]) -> bool | str:
    """True if the probe verifies, else the error code."""
    try:
        tlog.verify_inclusion(
            b64(v["leafHash"]), v["leafIdx"], v["treeSize"], [b64(p) for p in v["proof"] or []], b64(v["root"])
        )
    except tlog.LogError as e:
        return e.code
    return True


def _consistency_ok(v: dict[str, Any]) -> bool | str:
    """True if the probe verifies, else the error code."""
    try:
        tlog.verify_consistency(
            v["size1"], v["size2"], b64(v["root1"]), b64(v["root2"]), [b64(p) for p in v["proof"] or []]
        )
    except tlog.LogError as e:
        return e.code
    return True


def test_every_transparency_dev_inclusion_probe() -> None:
    probes = load("transparency_dev_merkle.json")["inclusion"]
    assert len(probes) == 98
    for v in probes:
        assert _inclusion_ok(v) == (True if not v["wantErr"] else "E_LOG_INCLUSION"), (v["name"], v["desc"])
    assert sum(v["wantErr"] for v in probes) > 80  # mostly attacks: corrupted proofs, indexes, roots


def test_every_transparency_dev_consistency_probe() -> None:
    probes = load("transparency_dev_merkle.json")["consistency"]
    assert len(probes) == 98
    for v in probes:
        expected = "E_LOG_CONSISTENCY" if v["wantErr"] or v["name"] in STRICTER else True
        assert _consistency_ok(v) == expected, (v["name"], v["desc"])
    assert {v["name"] for v in probes} >= STRICTER


def test_the_stricter_case_is_a_root_that_is_not_a_hash() -> None:
    (v,) = [v for v in load("transparency_dev_merkle.json")["consistency"] if v["name"] in STRICTER]
    assert len(b64(v["root1"])) != 32
    good = tlog.EMPTY_ROOT
    tlog.verify_consistency(1, 1, good, good, [])  # the same case with real hashes passes


# ---- golang.org/x/mod sumdb/note and sumdb/tlog ------------------------------------------------------------------


def test_go_verifier_keys_parse_and_round_trip() -> None:
    go = load("go_sumdb_note.json")
    for vkey in (go["peter_vkey"], go["enoch_vkey"]):
        key = tlog.NoteKey.from_vkey(vkey)
        assert key.to_vkey() == vkey
        assert key.sig_type == tlog.ED25519
    for bad in go["bad_vkeys"]:
        with pytest.raises(op.KeyFormatError) as e:
            tlog.NoteKey.from_vkey(bad["vkey"])
        assert e.value.code == "E_VKEY", bad["desc"]


def test_go_vkey_manglings_are_refused() -> None:
    # TestNewVerifier: every proper substring and every single-byte increment of the vkey is refused.
    vkey = load("go_sumdb_note.json")["peter_vkey"]
    for i in range(len(vkey)):
        mangled = vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1 :]
        with pytest.raises((op.KeyFormatError, op.FormatError)):
            tlog.NoteKey.from_vkey(mangled)
    for i in range(0, len(vkey), 3):
        for j in range(i + 1, len(vkey) + 1, 5):
            if (i, j) != (0, len(vkey)):
                with pytest.raises((op.KeyFormatError, op.FormatError)):
                    tlog.NoteKey.from_vkey(vkey[i:j])


def _go_signer() -> tlog.NoteSigner:
    go = load("go_sumdb_note.json")
    parts = go["peter_skey"].split("+", 4)  # PRIVATE+KEY+<name>+<hash>+base64(0x01 || seed)
    raw = base64.b64decode(parts[4])
    assert raw[0] == tlog.ED25519
    signer = tlog.NoteSigner(parts[2], op.PrivateKey.from_seed(raw[1:]))
    assert signer.key.key_hash.hex() == parts[3]
    return signer


def test_signing_with_gos_test_key_gives_gos_signed_note() -> None:
    go = load("go_sumdb_note.json")
    signer = _go_signer()
    assert signer.key.to_vkey() == go["peter_vkey"]
    note = tlog.SignedNote(go["text"], (signer.sign(go["text"]),))
    assert note.to_text() == go["signed"]


def test_go_open_known_and_unknown_keys() -> None:
    go = load("go_sumdb_note.json")
    peter = tlog.NoteKey.from_vkey(go["peter_vkey"])
    enoch = tlog.NoteKey.from_vkey(go["enoch_vkey"])
    note = tlog.SignedNote.parse(go["text"] + "\n" + go["peter_sig"] + go["enoch_sig"])
    assert note.text == go["text"]
    assert [v.key for v in tlog.verify_note(note, [peter])] == [peter]
    assert [v.key for v in tlog.verify_note(note, [peter, enoch])] == [peter, enoch]
    assert tlog.verify_note(note, []) == []  # nothing known: nothing verified (callers require their key)


def test_go_invalid_signature_of_a_known_key_refuses_the_note() -> None:
    go = load("go_sumdb_note.json")
    peter = tlog.NoteKey.from_vkey(go["peter_vkey"])
    with pytest.raises(tlog.LogError) as e:
        tlog.verify_note(tlog.SignedNote.parse(go["invalid_signature"]), [peter])
    assert e.value.code == "E_LOG_SIGNATURE"
    # Unknown to a verifier without Peter's key: ignored.
    assert tlog.verify_note(tlog.SignedNote.parse(go["invalid_signature"]), []) == []


def test_go_malformed_notes() -> None:
    go = load("go_sumdb_note.json")
    cases = [bytes.fromhex(m["hex"]) for m in go["malformed_notes"]]
    cases.append((go["text"] + "\n" + go["peter_sig"] * 101).encode())
    for data in cases:
        with pytest.raises(op.FormatError) as e:
            tlog.SignedNote.parse(data)
        assert e.value.code == "E_NOTE", data[:40]


def test_go_repeated_identical_signatures_count_once() -> None:
    go = load("go_sumdb_note.json")
    peter = tlog.NoteKey.from_vkey(go["peter_vkey"])
    note = tlog.SignedNote.parse(go["text"] + "\n" + go["peter_sig"] * 2 + go["enoch_sig"] * 3)
    assert len(note.signatures) == 2
    assert len(tlog.verify_note(note, [peter])) == 1


def test_go_tree_note_is_a_checkpoint_body() -> None:
    tree = load("go_sumdb_note.json")["tree"]
    cp = tlog.Checkpoint(origin=tree["origin"], size=tree["size"], root_hash=tlog.leaf_hash(tree["leaf"].encode()))
    assert cp.body == tree["golden"]
    assert tlog.Checkpoint.parse(tree["golden"]) == cp
    for bad in tree["bad"]:
        with pytest.raises(op.FormatError) as e:
            tlog.Checkpoint.parse(bad)
        assert e.value.code == "E_CHECKPOINT"


# ---- C2SP ---------------------------------------------------------------------------------------------------------


def test_c2sp_signed_note_example() -> None:
    ex = load("c2sp_examples.json")["signed_note_example"]
    key = tlog.NoteKey.from_vkey(ex["vkey"])
    assert key.key_hash.hex() == "530d903a"
    (v,) = tlog.verify_note(tlog.SignedNote.parse(ex["note"]), [key])
    assert v.timestamp is None
    tampered = ex["note"].replace("example message", "example massage")
    with pytest.raises(tlog.LogError):
        tlog.verify_note(tlog.SignedNote.parse(tampered), [key])


def test_real_checkpoint_with_a_real_witness_cosignature() -> None:
    real = load("c2sp_examples.json")["real_checkpoint"]
    log_key = tlog.NoteKey.from_vkey(real["log_vkey"])
    witness = tlog.NoteKey.from_vkey(real["witness_vkey"])
    assert witness.sig_type == tlog.COSIGNATURE_V1
    cp = tlog.open_checkpoint(real["note"], log_key, witness_keys=[witness], witnesses=1)
    assert cp.origin == "arche2025h1.staging.ct.transparency.dev"
    assert cp.size == 1432088532
    (cosig,) = cp.cosignatures
    assert cosig.key == witness
    assert cosig.timestamp == real["witness_timestamp"]
    assert cp.witnessed_by == cosig.time
    # The other witnesses' and the log's RFC 6962 (type 0x05) signature lines are unknown keys: ignored.
    assert len(cp.note.signatures) == 6


def test_real_checkpoint_changed_anywhere_is_refused() -> None:
    real = load("c2sp_examples.json")["real_checkpoint"]
    log_key = tlog.NoteKey.from_vkey(real["log_vkey"])
    witness = tlog.NoteKey.from_vkey(real["witness_vkey"])
    body_end = real["note"].index("\n\n")
    for i in range(body_end):
        c = real["note"][i]
        if c == "\n":
            continue
        changed = real["note"][:i] + ("A" if c != "A" else "B") + real["note"][i + 1 :]
        with pytest.raises((tlog.LogError, op.FormatError)):
            tlog.open_checkpoint(changed, log_key, witness_keys=[witness], witnesses=1)


def test_real_cosignature_time_in_the_future_is_not_counted() -> None:
    real = load("c2sp_examples.json")["real_checkpoint"]
    log_key = tlog.NoteKey.from_vkey(real["log_vkey"])
    witness = tlog.NoteKey.from_vkey(real["witness_vkey"])
    from datetime import UTC, datetime

    before = datetime.fromtimestamp(real["witness_timestamp"] - 3600, UTC)
    with pytest.raises(tlog.LogError) as e:
        tlog.open_checkpoint(real["note"], log_key, witness_keys=[witness], witnesses=1, now=before)
    assert e.value.code == "E_LOG_WITNESSES"
    after = datetime.fromtimestamp(real["witness_timestamp"], UTC)
    assert tlog.open_checkpoint(real["note"], log_key, witness_keys=[witness], witnesses=1, now=after).cosignatures
