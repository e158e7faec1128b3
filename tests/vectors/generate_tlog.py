"""Regenerate the committed transparency-log vectors, ``tests/vectors/tlog.json`` (docs/format.md §18.10).

Run ``python -m tests.vectors.generate_tlog`` from the repository root. Keys come from fixed seeds, times are fixed,
and Ed25519 is deterministic, so the file is byte-for-byte reproducible; ``tests/vectors/test_tlog_vectors.py``
checks the committed file against a fresh regeneration and replays every vector.

The log publishes the heads of the two batches of ``events.json``. Where it can, this script computes a value a
second way, without the library, and refuses to write vectors on which the two disagree: the leaf CBOR with cbor2,
key hashes and vkeys with hashlib, tree roots and proofs with the recursive definitions of RFC 9162 §2.1.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import ocop_provenance as op
from ocop_provenance import tlog

HERE = Path(__file__).resolve().parent
ORIGIN = "ocop.thanhhoa.gov.vn/tlog/1"
T0 = datetime(2025, 1, 2, 1, 30, tzinfo=UTC)
WITNESS_NAMES = ("witness.snnptnt.thanhhoa.gov.vn", "witness.vinastas.org.vn")
OLD_SIZE = 4


def _seed(name: str) -> bytes:
    return hashlib.sha256(f"ocop-provenance test vector key: {name}".encode()).digest()


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


# ---- the second way ------------------------------------------------------------------------------------------------


def _key_hash(name: str, sig_type: int, raw: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + raw).digest()[:4]


def _leaf_cbor(batch_id: bytes, seq: int, head: bytes, when: datetime) -> bytes:
    text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return cbor2.dumps({0: "ocop-log-leaf", 1: 1, 2: batch_id, 3: seq, 4: head, 5: text})


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + _mth(d[:k]) + _mth(d[k:])).digest()


def _path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    return [*_path(m, d[:k]), _mth(d[k:])] if m < k else [*_path(m - k, d[k:]), _mth(d[:k])]


def _subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*_subproof(m, d[:k], b), _mth(d[k:])]
    return [*_subproof(m - k, d[k:], False), _mth(d[:k])]


def _agree(what: str, ours: object, theirs: object) -> None:
    if ours != theirs:
        raise SystemExit(f"the library and the second computation disagree on {what}")


# ---- the story -------------------------------------------------------------------------------------------------------


def _heads() -> list[tuple[bytes, int, bytes]]:
    """Publications, in log order: every prefix of batch A, then of B, then A's head again."""
    events = json.loads((HERE / "events.json").read_text(encoding="utf-8"))
    a, b = (batch["events"] for batch in events["batches"])
    pubs = [(bytes.fromhex(e["batch_id"]), e["seq"], bytes.fromhex(e["event_id"])) for e in (*a, *b)]
    return [*pubs, pubs[2]]


def build() -> dict[str, bytes]:
    """Return the vector file's bytes."""
    log = tlog.NoteSigner(ORIGIN, op.PrivateKey.from_seed(_seed("log")))
    witnesses = [tlog.Cosigner(n, op.PrivateKey.from_seed(_seed(f"witness {i}"))) for i, n in enumerate(WITNESS_NAMES)]
    for name, key, t in ((ORIGIN, log.key, 1), *((w.name, w.key, 4) for w in witnesses)):
        raw = key.public_key.raw
        _agree(f"key hash of {name}", key.key_hash, _key_hash(name, t, raw))
        _agree(f"vkey of {name}", key.to_vkey(), f"{name}+{_key_hash(name, t, raw).hex()}+{_b64(bytes([t]) + raw)}")

    tree = tlog.MemoryTree()
    leaves = []
    for i, (batch_id, seq, head) in enumerate(_heads()):
        when = T0 + timedelta(minutes=7 * i)
        leaf = tlog.LogLeaf(batch_id=batch_id, seq=seq, head_id=head, logged=when)
        _agree(f"leaf {i}", leaf.to_bytes(), _leaf_cbor(batch_id, seq, head, when))
        tree.append(leaf.to_bytes())
        leaves.append(leaf)
    data = [leaf.to_bytes() for leaf in leaves]
    size = tree.size
    for n in range(size + 1):
        _agree(f"root at {n}", tree.root(n), _mth(data[:n]))

    def signed(n: int, cosign_at: datetime) -> tlog.SignedNote:
        cp = tlog.Checkpoint(origin=ORIGIN, size=n, root_hash=tree.root(n))
        note = tlog.sign_checkpoint(cp, log)
        return note.with_signatures(
            w.cosign(note.text, cosign_at + timedelta(seconds=i)) for i, w in enumerate(witnesses)
        )

    old_note = signed(OLD_SIZE, T0 + timedelta(hours=1))
    note = signed(size, T0 + timedelta(hours=2))
    inclusion = []
    for m in range(size):
        proof = tree.inclusion_proof(m, size)
        _agree(f"inclusion proof of {m}", list(proof), _path(m, data))
        inclusion.append({"index": m, "proof": [p.hex() for p in proof]})
    consistency = []
    for m in range(1, size + 1):
        proof = tree.consistency_proof(m, size)
        _agree(f"consistency proof from {m}", list(proof), _subproof(m, data, True))
        consistency.append({"old_size": m, "proof": [p.hex() for p in proof]})
    receipt = tlog.make_receipt(leaves[5], 5, note, tree)
    receipts = [receipt, tlog.make_receipt(leaves[2], 2, note, tree)]
    receipts_file = tlog.encode_receipts(receipts)
    _agree(
        "receipts file", receipts_file, cbor2.dumps({0: "ocop-log-receipts", 1: 1, 2: [r.to_bytes() for r in receipts]})
    )
    request = tlog.AddCheckpoint(
        OLD_SIZE,
        tree.consistency_proof(OLD_SIZE, size),
        tlog.sign_checkpoint(tlog.Checkpoint(origin=ORIGIN, size=size, root_hash=tree.root()), log).to_bytes(),
    )
    witnessed = tlog.witness_add_checkpoint(
        request,
        log_key=log.key,
        last=tlog.Checkpoint.parse(old_note.text),
        cosigner=witnesses[0],
        now=T0 + timedelta(hours=2),
    )

    out = {
        "description": "Transparency log vectors (docs/format.md §18). Keys: seed = SHA-256 of 'ocop-provenance test "
        "vector key: <name>'. The log publishes the heads of events.json's batches; the receipt is for leaf 5 "
        "against the checkpoint at the full size, cosigned by both witnesses; 'invalid' lists inputs named after "
        "the attack they carry, with the check and the code it must raise.",
        "origin": ORIGIN,
        "log_key": {"seed": _seed("log").hex(), "public_key": log.key.public_key.raw.hex(), "vkey": log.key.to_vkey()},
        "witness_keys": [
            {"name": w.name, "seed": _seed(f"witness {i}").hex(), "vkey": w.key.to_vkey()}
            for i, w in enumerate(witnesses)
        ],
        "leaves": [
            {
                "batch_id": leaf.batch_id.hex(),
                "seq": leaf.seq,
                "head_id": leaf.head_id.hex(),
                "logged": leaf.logged.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "leaf": leaf.to_bytes().hex(),
                "leaf_hash": leaf.leaf_hash.hex(),
            }
            for leaf in leaves
        ],
        "roots": [tree.root(n).hex() for n in range(size + 1)],
        "stored_nodes": [
            {"level": lv, "index": ix, "hash": h.hex()}
            for lv in range(size.bit_length())
            for ix, h in enumerate(tree.read_hashes([(lv, j) for j in range(size >> lv)]))
        ],
        "checkpoints": {
            "old": {"size": OLD_SIZE, "body": old_note.text, "note": old_note.to_text()},
            "new": {"size": size, "body": note.text, "note": note.to_text()},
        },
        "inclusion": inclusion,
        "consistency": consistency,
        "receipt": {"index": 5, "cbor": receipt.to_bytes().hex(), "tlog_proof": receipt.to_tlog_proof()},
        "receipts_file": {"indexes": [5, 2], "cbor": receipts_file.hex()},
        "witness": {
            "request": request.to_bytes().decode("utf-8"),
            "held": old_note.text,
            "now": (T0 + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "response": witnessed.response_body.decode("utf-8"),
        },
        "invalid": _invalid(log, witnesses, tree, leaves, note, receipt),
    }
    return {"tlog.json": (json.dumps(out, indent=1, ensure_ascii=False) + "\n").encode("utf-8")}


def _invalid(
    log: tlog.NoteSigner,
    witnesses: list[tlog.Cosigner],
    tree: tlog.MemoryTree,
    leaves: list[tlog.LogLeaf],
    note: tlog.SignedNote,
    receipt: tlog.Receipt,
) -> list[dict[str, Any]]:
    size = tree.size

    def rcpt(**change: Any) -> str:
        fields = {
            "leaf": receipt.leaf,
            "index": receipt.index,
            "proof": receipt.proof,
            "checkpoint": receipt.checkpoint,
        }
        fields.update(change)
        return tlog.Receipt(**fields).to_bytes().hex()

    forger = tlog.NoteSigner(ORIGIN, op.PrivateKey.from_seed(_seed("forger")))
    forged = tlog.sign_checkpoint(tlog.Checkpoint.parse(note.text), forger)
    alias = tlog.NoteSigner("ocop.hanoi.gov.vn/tlog/1", op.PrivateKey.from_seed(_seed("log")))
    elsewhere = tlog.Checkpoint(origin=alias.name, size=size, root_hash=tree.root())
    # A rewritten log: the same key and size, leaf 2 replaced by a head the producer never published.
    other = tlog.MemoryTree()
    fake = tlog.LogLeaf(batch_id=leaves[2].batch_id, seq=leaves[2].seq, head_id=b"\x99" * 32, logged=T0)
    other.extend([*(leaf.to_bytes() for leaf in leaves[:2]), fake.to_bytes(), *(x.to_bytes() for x in leaves[3:])])
    rewritten = tlog.sign_checkpoint(tlog.Checkpoint(origin=ORIGIN, size=size, root_hash=other.root()), log)
    grown = tlog.sign_checkpoint(tlog.Checkpoint(origin=ORIGIN, size=size - 1, root_hash=tree.root(size - 1)), log)
    leaf2 = cbor2.dumps({0: "ocop-log-leaf", 1: 2, 2: b"\x01" * 32, 3: 0, 4: b"\x02" * 32, 5: "2025-01-01T00:00:00Z"})
    leaf_unsorted = cbor2.dumps({1: 1, 0: "ocop-log-leaf", 2: b"\x01" * 32, 3: 0, 4: b"\x02" * 32, 5: "x"})
    return [
        {"name": "receipt-wrong-index", "check": "receipt", "input": rcpt(index=6), "code": "E_LOG_INCLUSION"},
        {
            "name": "receipt-swapped-proof-hashes",
            "check": "receipt",
            "code": "E_LOG_INCLUSION",
            "input": rcpt(proof=(receipt.proof[1], receipt.proof[0], *receipt.proof[2:])),
        },
        {
            "name": "receipt-other-leaf",
            "check": "receipt",
            "code": "E_LOG_INCLUSION",
            "input": rcpt(leaf=leaves[4].to_bytes()),
        },
        {
            "name": "receipt-for-another-head",
            "check": "receipt",
            "code": "E_LOG_LEAF",
            "input": rcpt(),
            "expect": {"batch_id": leaves[4].batch_id.hex(), "seq": leaves[4].seq, "head_id": leaves[4].head_id.hex()},
        },
        {
            "name": "receipt-forged-log-signature",
            "check": "receipt",
            "code": "E_LOG_SIGNATURE",
            "input": rcpt(checkpoint=forged.to_bytes()),
        },
        {
            "name": "receipt-log-key-under-another-origin",
            "check": "receipt",
            "code": "E_LOG_ORIGIN",
            "input": rcpt(checkpoint=tlog.sign_checkpoint(elsewhere, alias).to_bytes()),
            "log_vkey": alias.key.to_vkey(),
        },
        {
            "name": "receipt-too-few-witnesses",
            "check": "receipt",
            "code": "E_LOG_WITNESSES",
            "witnesses": 2,
            "input": rcpt(checkpoint=tlog.SignedNote(note.text, note.signatures[:2]).to_bytes()),
        },
        {
            "name": "checkpoint-rewritten-history",
            "check": "state",
            "code": "E_LOG_CONSISTENCY",
            "held": grown.to_text(),
            "input": rewritten.to_text(),
            "proof": [p.hex() for p in other.consistency_proof(size - 1, size)],
        },
        {
            "name": "checkpoint-rollback",
            "check": "state",
            "code": "E_LOG_ROLLBACK",
            "held": note.to_text(),
            "input": grown.to_text(),
            "proof": [],
        },
        {"name": "leaf-version-2", "check": "leaf", "code": "E_VERSION", "input": leaf2.hex()},
        {
            "name": "leaf-non-canonical-map-order",
            "check": "leaf",
            "code": "E_NONCANONICAL",
            "input": leaf_unsorted.hex(),
        },
        {
            "name": "note-carriage-return",
            "check": "note",
            "code": "E_NOTE",
            "input": note.to_bytes().replace(b"\n", b"\r\n", 1).hex(),
        },
        {
            "name": "checkpoint-size-leading-zero",
            "check": "checkpoint",
            "code": "E_CHECKPOINT",
            "input": note.text.replace(f"\n{size}\n", f"\n0{size}\n"),
        },
    ]


def main(argv: list[str] | None = None) -> int:
    """Write the vector file next to this script."""
    del argv
    for name, data in build().items():
        (HERE / name).write_bytes(data)
        print(f"wrote tests/vectors/{name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
