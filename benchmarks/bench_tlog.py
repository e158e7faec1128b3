"""The transparency log against raw SHA-256 and raw Ed25519, measured in one run.

Run from the repository root (after the README's set-up, or through ``python3 tasks.py bench``)::

    python -m benchmarks.bench_tlog            # about a minute
    python -m benchmarks.bench_tlog --quick    # about fifteen seconds

The log holds 100,000 leaves (``--quick``: 30,000), each a realistic publication: the head of a batch of dried
cordyceps from a Thanh Hóa cooperative, logged at a time. Every figure is the median of several rounds, each round
interleaved with a round of the raw primitive it is compared with (so machine load hits both alike); the ratio is
raw time / library time per operation (1.00x = as fast as the floor, 0.50x = twice its time).

* build leaves: ``LogLeaf(...).to_bytes()`` (validation and deterministic CBOR) vs SHA-256 of those bytes;
* append: ``MemoryTree.append`` one leaf at a time, and ``append_leaf_hashes`` for the whole log in one call, vs the
  RFC 6962 floor of the same tree: one leaf hash and one node hash per leaf with a bare hashlib loop;
* inclusion / consistency proofs at the full size: generating them from the stored subtree hashes, and verifying
  them, vs the floor of hashing as many nodes as the proof has (what any verifier must hash);
* verify_receipt (CBOR, leaf, note, checkpoint, one Ed25519 signature, inclusion) vs one raw libsodium verify plus
  the proof's node hashes; open_checkpoint with two witnesses vs three raw verifies.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import ocop_provenance as op
from ocop_provenance import tlog
from ocop_provenance.events import ed25519_backend

T0 = datetime(2025, 1, 2, 1, 30, tzinfo=UTC)
ORIGIN = "ocop.thanhhoa.gov.vn/tlog/1"


def heads(n: int) -> list[tuple[bytes, int, bytes, datetime]]:
    """Publications: 1,000 batches of dried cordyceps, each published at every new step."""
    out = []
    for i in range(n):
        batch = hashlib.sha256(f"HTX Nông nghiệp Nghi Sơn, lô ĐTHT-{i % 1000:04d}".encode()).digest()
        seq = i // 1000
        head = hashlib.sha256(batch + seq.to_bytes(8, "big")).digest()
        out.append((batch, seq, head, T0 + timedelta(seconds=i)))
    return out


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    rounds, n, probes = (3, 30_000, 500) if args.quick else (5, 100_000, 2000)

    from nacl.bindings import crypto_sign_open

    pubs = heads(n)
    leaves = [tlog.LogLeaf(batch_id=b, seq=s, head_id=h, logged=t).to_bytes() for b, s, h, t in pubs]
    leaf_hashes = [tlog.leaf_hash(x) for x in leaves]
    tree = tlog.MemoryTree()
    tree.extend(leaves)
    size, root = tree.size, tree.root()
    rng = random.Random(7)
    indexes = [rng.randrange(size) for _ in range(probes)]
    olds = [rng.randrange(1, size) for _ in range(probes)]
    proofs = [tree.inclusion_proof(i) for i in indexes]
    cons = [tree.consistency_proof(m) for m in olds]
    old_roots = [tree.root(m) for m in olds]
    inc_hashes = sum(len(p) for p in proofs) / probes
    con_hashes = sum(len(p) for p in cons) / probes

    log = tlog.NoteSigner(ORIGIN, op.PrivateKey.from_seed(bytes(range(32))))
    witnesses = [tlog.Cosigner(f"witness{i}.example.vn", op.PrivateKey.from_seed(bytes([i]) * 32)) for i in (1, 2)]
    note = tlog.sign_checkpoint(tlog.Checkpoint(origin=ORIGIN, size=size, root_hash=root), log)
    note = note.with_signatures(w.cosign(note.text, T0) for w in witnesses)
    note_bytes = note.to_bytes()
    receipts = [tlog.make_receipt(tlog.LogLeaf.from_bytes(leaves[i]), i, note, tree).to_bytes() for i in indexes]
    log_sig = note.signatures[0].signature
    cosigs = [
        (s.signature[8:], f"cosignature/v1\ntime {int(T0.timestamp())}\n{note.text}".encode())
        for s in note.signatures[1:]
    ]
    pk, wks = log.key.public_key.raw, [w.key.public_key.raw for w in witnesses]
    body = note.text.encode()
    node = b"\x01" + bytes(64)

    def raw_sha_leaves() -> None:
        for x in leaves:
            hashlib.sha256(x).digest()

    def raw_tree() -> None:
        # The RFC 6962 floor: a leaf hash per leaf and a node hash per leaf (a tree of n leaves has n - 1 nodes).
        sha = hashlib.sha256
        for x in leaves:
            sha(b"\x00" + x).digest()
            sha(node).digest()

    def raw_nodes(count: float) -> Callable[[], None]:
        k = round(count * probes)

        def run() -> None:
            sha = hashlib.sha256
            for _ in range(k):
                sha(node).digest()

        return run

    def raw_verify_receipt() -> None:
        for _ in range(probes):
            crypto_sign_open(log_sig + body, pk)
        raw_nodes(inc_hashes)()

    def raw_verify_three() -> None:
        for _ in range(probes):
            crypto_sign_open(log_sig + body, pk)
            for (sig, msg), wk in zip(cosigs, wks, strict=True):
                crypto_sign_open(sig + msg, wk)

    def build_leaves() -> None:
        for b, s, h, t in pubs:
            tlog.LogLeaf(batch_id=b, seq=s, head_id=h, logged=t).to_bytes()

    def append_each() -> None:
        t = tlog.MemoryTree()
        for x in leaves:
            t.append(x)

    def append_batch() -> None:
        t = tlog.MemoryTree()
        t.extend_hashes(tlog.leaf_hash(x) for x in leaves)

    def gen_inclusion() -> None:
        for i in indexes:
            tlog.inclusion_proof(i, size, tree)

    def verify_inclusion() -> None:
        for i, p in zip(indexes, proofs, strict=True):
            tlog.verify_inclusion(leaf_hashes[i], i, size, p, root)

    def gen_consistency() -> None:
        for m in olds:
            tlog.consistency_proof(m, size, tree)

    def verify_consistency() -> None:
        for m, p, r in zip(olds, cons, old_roots, strict=True):
            tlog.verify_consistency(m, size, r, root, p)

    def verify_receipts() -> None:
        for r in receipts:
            tlog.verify_receipt(r, log.key)

    def open_checkpoints() -> None:
        keys = [w.key for w in witnesses]
        for _ in range(probes):
            tlog.open_checkpoint(note_bytes, log.key, witness_keys=keys, witnesses=2)

    cases: list[tuple[str, int, Callable[[], None], Callable[[], None], str]] = [
        ("build a leaf (validate + CBOR)", n, build_leaves, raw_sha_leaves, "SHA-256 of the leaf"),
        ("MemoryTree.append, one leaf at a time", n, append_each, raw_tree, "RFC 6962 tree floor"),
        ("append_leaf_hashes, whole log in one call", n, append_batch, raw_tree, "RFC 6962 tree floor"),
        (
            f"inclusion proof, generate ({inc_hashes:.1f} hashes)",
            probes,
            gen_inclusion,
            raw_nodes(inc_hashes),
            "node hashes",
        ),
        ("inclusion proof, verify", probes, verify_inclusion, raw_nodes(inc_hashes), "node hashes"),
        (
            f"consistency proof, generate ({con_hashes:.1f} hashes)",
            probes,
            gen_consistency,
            raw_nodes(con_hashes),
            "node hashes",
        ),
        ("consistency proof, verify", probes, verify_consistency, raw_nodes(con_hashes + 2), "node hashes"),
        ("verify_receipt (no witnesses)", probes, verify_receipts, raw_verify_receipt, "1 verify + hashes"),
        ("open_checkpoint, 2 of 2 witnesses", probes, open_checkpoints, raw_verify_three, "3 raw verifies"),
    ]
    print(f"log of {size:,} leaves, {rounds} rounds, median per figure; Ed25519 backend {ed25519_backend()}")
    print(f"| {'figure':<48} | {'µs/op':>8} | {'ops/s':>10} | {'ratio to floor':>24} |")
    print(f"| {'-' * 48} | {'-' * 8} | {'-' * 10} | {'-' * 24} |")
    for label, count, fn, raw, base in cases:
        ratios, times = [], []
        for _ in range(rounds):
            r = timed(raw)
            t = timed(fn)
            ratios.append(r / t)
            times.append(t / count)
        per = statistics.median(times)
        print(f"| {label:<48} | {per * 1e6:8.2f} | {1 / per:10,.0f} | {statistics.median(ratios):5.2f}x {base:<17} |")
    raw_sha = statistics.median(timed(raw_sha_leaves) for _ in range(rounds)) / n
    stored = 2 * size - bin(size).count("1")
    print()
    print(f"raw SHA-256 of a {len(leaves[0])}-byte leaf: {raw_sha * 1e6:.2f} µs; the log stores {stored:,} hashes")


if __name__ == "__main__":
    main()
