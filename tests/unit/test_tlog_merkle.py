"""The Merkle tree over stored complete-subtree hashes: storage layout, reads per proof, errors."""

from __future__ import annotations

from collections.abc import Sequence

import ocop_provenance as op
import pytest
from ocop_provenance import tlog


class CountingStore:
    """A hash table like the portal's (dict of (level, index) -> hash) that counts its reads."""

    def __init__(self) -> None:
        self.nodes: dict[tlog.Node, bytes] = {}
        self.size = 0
        self.calls = 0
        self.read = 0

    def read_hashes(self, nodes: Sequence[tlog.Node]) -> list[bytes]:
        self.calls += 1
        self.read += len(nodes)
        return [self.nodes[n] for n in nodes]

    def append(self, leaves: Sequence[bytes]) -> tlog.Appended:
        appended = tlog.append_leaf_hashes(self.size, [tlog.leaf_hash(x) for x in leaves], self)
        for node, h in appended.nodes:
            assert node not in self.nodes  # written once, never changed
            self.nodes[node] = h
        self.size = appended.size
        return appended


def leaves(n: int, start: int = 0) -> list[bytes]:
    return [f"lá {i}".encode() for i in range(start, start + n)]


def test_store_matches_memory_tree_and_append_returns_the_root() -> None:
    store, mem = CountingStore(), tlog.MemoryTree()
    for chunk in (1, 2, 5, 1, 13, 64, 3):
        a = store.append(leaves(chunk, store.size))
        mem.extend(leaves(chunk, mem.size))
        assert a.size == mem.size == store.size
        assert a.root == mem.root() == tlog.tree_root(store.size, store)
    assert len(store.nodes) == 2 * store.size - bin(store.size).count("1")  # every complete subtree, once


def test_reads_are_logarithmic_and_batched() -> None:
    store = CountingStore()
    store.append(leaves(1000))
    for index, size in ((0, 1000), (999, 1000), (511, 513), (700, 777)):
        store.calls = store.read = 0
        proof = tlog.inclusion_proof(index, size, store)
        assert store.calls == 1
        assert store.read <= 2 * size.bit_length()
        tlog.verify_inclusion(tlog.leaf_hash(f"lá {index}".encode()), index, size, proof, tlog.tree_root(size, store))
    store.calls = store.read = 0
    tlog.consistency_proof(300, 1000, store)
    assert store.calls == 1
    assert store.read <= 2 * 10
    store.calls = store.read = 0
    store.append(leaves(1, 1000))
    assert store.calls == 1
    assert store.read == bin(1000).count("1")  # the complete subtrees of the old tree


def test_nothing_is_read_for_empty_things() -> None:
    store = CountingStore()
    assert tlog.tree_root(0, store) == tlog.EMPTY_ROOT
    assert tlog.consistency_proof(0, 0, store) == ()
    assert store.calls == 0
    a = tlog.append_leaf_hashes(0, [], store)
    assert (a.size, a.root, a.nodes) == (0, tlog.EMPTY_ROOT, ())


def test_subtree_nodes_are_the_bits_of_the_size() -> None:
    assert tlog.subtree_nodes(0) == []
    assert tlog.subtree_nodes(13) == [(3, 0), (2, 2), (0, 12)]
    assert tlog.subtree_nodes(16) == [(4, 0)]


def test_old_sizes_have_their_old_roots() -> None:
    mem = tlog.MemoryTree()
    roots = []
    for leaf in leaves(40):
        mem.append(leaf)
        roots.append(mem.root())
    assert [mem.root(n) for n in range(1, 41)] == roots


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda t: t.inclusion_proof(5, 5), "E_LOG_RANGE"),
        (lambda t: t.inclusion_proof(-1, 5), "E_LOG_RANGE"),
        (lambda t: t.consistency_proof(6, 5), "E_LOG_RANGE"),
        (lambda t: tlog.tree_root(2**63, t), "E_LOG_RANGE"),
        (lambda t: tlog.append_leaf_hashes(5, [b"short"], t), "E_LOG_RANGE"),
    ],
)
def test_bad_ranges_are_format_errors(call: object, code: str) -> None:
    mem = tlog.MemoryTree()
    mem.extend(leaves(5))
    with pytest.raises(op.FormatError) as e:
        call(mem)  # type: ignore[operator]
    assert e.value.code == code


def test_asking_past_the_stored_tree_is_a_store_error() -> None:
    mem = tlog.MemoryTree()
    mem.extend(leaves(5))
    with pytest.raises(op.StoreError) as e:
        mem.root(9)
    assert e.value.code == "E_LOG_STORE"


class LyingStore:
    def __init__(self, answer: list[bytes]) -> None:
        self.answer = answer

    def read_hashes(self, nodes: Sequence[tlog.Node]) -> list[bytes]:
        return self.answer


@pytest.mark.parametrize("answer", [[], [b"x" * 31], [b"x" * 32, b"y" * 32]])
def test_a_store_that_answers_wrongly_is_refused(answer: list[bytes]) -> None:
    with pytest.raises(op.StoreError) as e:
        tlog.tree_root(4, LyingStore(answer))
    assert e.value.code == "E_LOG_STORE"


def test_memory_tree_is_a_hash_reader() -> None:
    assert isinstance(tlog.MemoryTree(), tlog.HashReader)


def test_verifiers_refuse_malformed_inputs_with_their_code() -> None:
    h = tlog.leaf_hash(b"")
    for args in (
        (h, 0, 1, [b"\x00" * 32] * 127, h),
        (h, 0, 1, [], b"short"),
        (b"short", 0, 1, [], h),
        (h, 1, 1, [], h),
    ):
        with pytest.raises(tlog.LogError) as e:
            tlog.verify_inclusion(*args)  # type: ignore[arg-type]
        assert e.value.code == "E_LOG_INCLUSION"
    for cargs in ((2, 1, h, h, []), (0, 3, h, h, []), (1, 2, h, h, []), (1, 1, h, h, [h])):
        with pytest.raises(tlog.LogError) as e:
            tlog.verify_consistency(*cargs)  # type: ignore[arg-type]
        assert e.value.code == "E_LOG_CONSISTENCY"
