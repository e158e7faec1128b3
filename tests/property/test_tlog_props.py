"""Properties of the transparency log, against a naive RFC 9162 reference written from the definitions.

* the stored-subtree tree gives the reference's roots, inclusion paths (PATH) and consistency proofs (PROOF);
* every inclusion proof for every index and size verifies, and every consistency proof for every m <= n;
* any changed bit of a proof, root or leaf hash, or a changed index or size, is refused;
* any changed byte of a receipt is refused; arbitrary bytes into every parser raise only library errors.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from functools import cache

import ocop_provenance as op
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocop_provenance import tlog

from tests.conftest import examples
from tests.unit.tlog_helpers import LOG_KEY, WITNESS_KEYS, WITNESSES, Portal, cosigned, fake_head

SETTINGS = settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL = 70  # exhaustive over every size up to this (and every index / old size)
BIG = 3000  # hypothesis draws sizes up to this


# ---- the reference: RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1, recursively, with nothing stored ----------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def data(n: int) -> list[bytes]:
    return [f"lô {i}: Đông trùng hạ thảo".encode() for i in range(n)]


@cache
def big_tree() -> tlog.MemoryTree:
    t = tlog.MemoryTree()
    t.extend(data(BIG))
    return t


# ---- against the reference -------------------------------------------------------------------------------------------


def test_every_small_tree_matches_the_reference() -> None:
    d = data(SMALL)
    t = tlog.MemoryTree()
    t.extend(d)
    for n in range(SMALL + 1):
        assert t.root(n) == mth(d[:n])
        for m in range(n):
            proof = t.inclusion_proof(m, n)
            assert list(proof) == path(m, d[:n])
            tlog.verify_inclusion(tlog.leaf_hash(d[m]), m, n, proof, t.root(n))
        for m in range(1, n + 1):
            proof = t.consistency_proof(m, n)
            assert list(proof) == subproof(m, d[:n], True)
            tlog.verify_consistency(m, n, t.root(m), t.root(n), proof)


@SETTINGS
@given(st.data())
def test_big_trees_match_the_reference(draw: st.DataObject) -> None:
    n = draw.draw(st.integers(1, BIG))
    m = draw.draw(st.integers(0, n - 1))
    old = draw.draw(st.integers(1, n))
    t, d = big_tree(), data(n)
    proof = t.inclusion_proof(m, n)
    tlog.verify_inclusion(tlog.leaf_hash(d[m]), m, n, proof, t.root(n))
    cons = t.consistency_proof(old, n)
    tlog.verify_consistency(old, n, t.root(old), t.root(n), cons)
    if n <= 600:  # the reference is quadratic
        assert t.root(n) == mth(d)
        assert list(proof) == path(m, d)
        assert list(cons) == subproof(old, d, True)


@SETTINGS
@given(st.lists(st.integers(1, 40), min_size=1, max_size=12))
def test_appending_in_any_chunks_gives_the_same_tree(chunks: list[int]) -> None:
    d = data(sum(chunks))
    t = tlog.MemoryTree()
    at = 0
    for c in chunks:
        t.extend(d[at : at + c])
        at += c
        assert t.root() == big_tree().root(at)


# ---- tampering -------------------------------------------------------------------------------------------------


def _flip(h: bytes, bit: int) -> bytes:
    return h[: bit // 8] + bytes([h[bit // 8] ^ (1 << (bit % 8))]) + h[bit // 8 + 1 :]


@SETTINGS
@given(st.data())
def test_any_changed_bit_of_an_inclusion_proof_is_refused(draw: st.DataObject) -> None:
    n = draw.draw(st.integers(2, 700))
    m = draw.draw(st.integers(0, n - 1))
    t = big_tree()
    leaf, proof, root = tlog.leaf_hash(data(n)[m]), list(t.inclusion_proof(m, n)), t.root(n)
    bit = draw.draw(st.integers(0, 255))
    where = draw.draw(st.integers(0, len(proof) + 1))
    if where < len(proof):
        proof[where] = _flip(proof[where], bit)
    elif where == len(proof):
        root = _flip(root, bit)
    else:
        leaf = _flip(leaf, bit)
    with pytest.raises(tlog.LogError):
        tlog.verify_inclusion(leaf, m, n, proof, root)


@SETTINGS
@given(st.data())
def test_another_index_or_size_is_refused(draw: st.DataObject) -> None:
    n = draw.draw(st.integers(2, 700))
    m = draw.draw(st.integers(0, n - 1))
    t = big_tree()
    leaf, proof, root = tlog.leaf_hash(data(n)[m]), t.inclusion_proof(m, n), t.root(n)
    m2 = draw.draw(st.integers(0, 2 * n).filter(lambda x: x != m))
    with pytest.raises(tlog.LogError):
        tlog.verify_inclusion(leaf, m2, n, proof, root)
    # Another size with its own root: the proof must be that size's proof (the size and root come together from a
    # signed checkpoint; with the old root the size only shapes the path, and two sizes can share one shape).
    n2 = draw.draw(st.integers(m + 1, BIG).filter(lambda x: x != n))
    if proof == t.inclusion_proof(m, n2):
        return
    with pytest.raises(tlog.LogError):
        tlog.verify_inclusion(leaf, m, n2, proof, t.root(n2))


@SETTINGS
@given(st.data())
def test_any_changed_bit_of_a_consistency_proof_is_refused(draw: st.DataObject) -> None:
    n = draw.draw(st.integers(2, 700))
    old = draw.draw(st.integers(1, n - 1))
    t = big_tree()
    proof, r1, r2 = list(t.consistency_proof(old, n)), t.root(old), t.root(n)
    bit = draw.draw(st.integers(0, 255))
    where = draw.draw(st.integers(0, len(proof) + 1))
    if where < len(proof):
        proof[where] = _flip(proof[where], bit)
    elif where == len(proof):
        r1 = _flip(r1, bit)
    else:
        r2 = _flip(r2, bit)
    with pytest.raises(tlog.LogError):
        tlog.verify_consistency(old, n, r1, r2, proof)


@SETTINGS
@given(st.data())
def test_a_consistency_proof_for_other_sizes_is_refused(draw: st.DataObject) -> None:
    n = draw.draw(st.integers(3, 700))
    old = draw.draw(st.integers(1, n - 1))
    t = big_tree()
    proof = t.consistency_proof(old, n)
    old2 = draw.draw(st.integers(1, n).filter(lambda x: x != old))
    with pytest.raises(tlog.LogError):
        tlog.verify_consistency(old2, n, t.root(old2), t.root(n), proof)


@cache
def receipt_bytes() -> bytes:
    portal = Portal()
    for i in range(13):
        portal.publish(fake_head(i, seq=i))
    return portal.receipt(9, cosigned(portal.note(), WITNESSES[0])).to_bytes()


def test_the_receipt_verifies() -> None:
    tlog.verify_receipt(receipt_bytes(), LOG_KEY, witness_keys=WITNESS_KEYS, witnesses=1)


def test_every_changed_byte_of_a_receipt_is_refused() -> None:
    good = receipt_bytes()
    for i in range(len(good)):
        for delta in (1, 0x80):
            bad = good[:i] + bytes([good[i] ^ delta]) + good[i + 1 :]
            with pytest.raises(op.ProvenanceError):
                tlog.verify_receipt(bad, LOG_KEY, witness_keys=WITNESS_KEYS, witnesses=1)


# ---- fuzzing the parsers ---------------------------------------------------------------------------------------

PARSERS = [
    tlog.LogLeaf.from_bytes,
    tlog.Receipt.from_bytes,
    tlog.Receipt.from_tlog_proof,
    tlog.SignedNote.parse,
    tlog.AddCheckpoint.parse,
    lambda b: tlog.Checkpoint.parse(b.decode("utf-8", "replace")),
    lambda b: tlog.NoteKey.from_vkey(b.decode("utf-8", "replace")),
    lambda b: tlog.open_checkpoint(b, LOG_KEY),
    lambda b: tlog.verify_receipt(b, LOG_KEY),
]


@SETTINGS
@given(st.binary(max_size=600), st.sampled_from(range(len(PARSERS))))
def test_arbitrary_bytes_raise_only_library_errors(data_: bytes, which: int) -> None:
    with contextlib.suppress(op.ProvenanceError):
        PARSERS[which](data_)


@SETTINGS
@given(st.text(alphabet="ab+/=\n —0123456789AZ", max_size=300), st.sampled_from([3, 4, 5, 6, 7]))
def test_near_miss_text_raises_only_library_errors(text: str, which: int) -> None:
    with contextlib.suppress(op.ProvenanceError):
        PARSERS[which](text.encode())
