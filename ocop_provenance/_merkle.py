"""RFC 6962 / RFC 9162 Merkle trees: hashes, proofs, and a log kept as stored complete-subtree hashes.

Hashing is RFC 9162 §2.1.1 (as RFC 6962 §2.1) with SHA-256: a leaf hash is ``SHA-256(0x00 || leaf)``, an interior
node ``SHA-256(0x01 || left || right)``, the empty tree's root ``SHA-256("")``. The tree over n leaves splits at
the largest power of two smaller than n.

Storage (for the portal, which owns the SQL): a log is stored as the hashes of its *complete subtrees*, the nodes
``(level, index)`` covering leaves ``[index·2^level, (index+1)·2^level)``, each written once and never changed, the
layout of Go's checksum database and of C2SP tlog-tiles. Appending leaf n writes node ``(0, n)`` and one node per
level it completes (two nodes per leaf on average). Every root and proof of any size up to the stored one is
computed from O(log n) stored nodes, fetched in one call to :meth:`HashReader.read_hashes`.

Proof generation follows RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1 (PROOF/SUBPROOF) and verification the numbered
steps of §2.1.3.2 and §2.1.4.2, with the edge cases of the C2SP test vectors (transparency-dev/merkle testdata):
a consistency proof from size 0 is meaningless and refused here (callers treat an empty old tree separately, as
C2SP tlog-witness does).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ._errors import FormatError, LogError, StoreError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_PROOF_HASHES",
    "Appended",
    "HashReader",
    "MemoryTree",
    "Node",
    "append_leaf_hashes",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "subtree_nodes",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_TREE_SIZE = 2**63  # sizes and indexes are below this (SQL BIGINT, CBOR uint < 2^63 as elsewhere in the format)
# A proof for a tree below 2^63 leaves has at most 63 inclusion hashes, and a consistency proof at most 2·63: a
# longer one is refused before any hashing. (C2SP tlog-witness allows at most 63 consistency proof lines.)
MAX_PROOF_HASHES = 126

#: A stored node: ``(level, index)``, the complete subtree over leaves ``[index << level, (index + 1) << level)``.
Node = tuple[int, int]

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(leaf: bytes) -> bytes:
    """Return the RFC 9162 §2.1.1 hash of a leaf: ``SHA-256(0x00 || leaf)``."""
    return hashlib.sha256(_LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 §2.1.1 hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


@runtime_checkable
class HashReader(Protocol):
    """Where stored complete-subtree hashes are read from (the portal's table, or a :class:`MemoryTree`)."""

    def read_hashes(self, nodes: Sequence[Node]) -> Sequence[bytes]:
        """Return the stored hash of each node, in the order asked.

        Args:
            nodes: ``(level, index)`` pairs, all of them written by earlier appends.

        Returns:
            One 32-byte hash per node.

        Raises:
            Exception: Whatever the store raises for a node it does not have; callers only ask for stored nodes.
        """
        ...


@dataclass(frozen=True, slots=True)
class Appended:
    """What an append computed: the nodes to store and the new tree head.

    Attributes:
        old_size: The size the append started from.
        size: The new size.
        root: The new root hash.
        nodes: Every new ``((level, index), hash)``, in the order computed; store them all, with the leaves, in the
            same transaction that read ``old_size``.
    """

    old_size: int
    size: int
    root: bytes
    nodes: tuple[tuple[Node, bytes], ...]


def _split(n: int) -> int:
    """Return the largest power of two smaller than ``n`` (n > 1), the RFC 9162 §2.1.1 split point."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_nodes(lo: int, hi: int) -> list[Node]:
    """Return the complete subtrees whose right fold is MTH(D[lo:hi]), largest first.

    Valid for the ranges RFC 9162's recursions produce: ``lo`` is a multiple of the smallest power of two that is at
    least ``hi - lo``. Each split takes the largest power of two below the length as a complete left subtree, so the
    decomposition is the binary digits of the length, from the highest.
    """
    nodes = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def subtree_nodes(size: int) -> list[Node]:
    """Return the complete subtrees of a tree of ``size`` leaves, left to right (one per bit set in ``size``)."""
    return _range_nodes(0, size)


def _fold(hashes: Sequence[bytes]) -> bytes:
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = node_hash(left, h)
    return h


def _check_size(size: int, what: str) -> None:
    if type(size) is not int or not 0 <= size < MAX_TREE_SIZE:
        raise FormatError(f"{what} must be an integer in [0, 2**63)", code="E_LOG_RANGE", field=what)


def _read(reader: HashReader, nodes: Sequence[Node]) -> dict[Node, bytes]:
    if not nodes:
        return {}
    unique = list(dict.fromkeys(nodes))
    got = reader.read_hashes(unique)
    if len(got) != len(unique):
        raise StoreError(f"the hash store returned {len(got)} hashes for {len(unique)} nodes", code="E_LOG_STORE")
    out = {}
    for node, h in zip(unique, got, strict=True):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise StoreError(f"the stored hash of node {node} is not {HASH_SIZE} bytes", code="E_LOG_STORE")
        out[node] = h
    return out


def _ranges_hashes(ranges: Sequence[tuple[int, int]], reader: HashReader) -> tuple[bytes, ...]:
    plans = [_range_nodes(lo, hi) for lo, hi in ranges]
    stored = _read(reader, [n for plan in plans for n in plan])
    return tuple(_fold([stored[n] for n in plan]) for plan in plans)


def tree_root(size: int, reader: HashReader) -> bytes:
    """Return the root hash of the first ``size`` leaves (RFC 9162 §2.1.1 MTH), from at most 63 stored nodes.

    Args:
        size: A size no larger than the stored tree's.
        reader: The stored hashes.

    Returns:
        The 32-byte root (``EMPTY_ROOT`` for size 0).

    Raises:
        FormatError: ``size`` out of range (``E_LOG_RANGE``).
        StoreError: The store returned something other than one 32-byte hash per node (``E_LOG_STORE``).
    """
    _check_size(size, "size")
    if size == 0:
        return EMPTY_ROOT
    return _ranges_hashes([(0, size)], reader)[0]


def inclusion_proof(index: int, size: int, reader: HashReader) -> tuple[bytes, ...]:
    """Return the RFC 9162 §2.1.3.1 inclusion proof (audit path) of leaf ``index`` in the tree of ``size`` leaves.

    The proof lists the leaf's sibling first and the root's child last. It needs O(log size) stored nodes, read in
    one call.

    Args:
        index: The leaf, below ``size``.
        size: A tree size no larger than the stored tree's.
        reader: The stored hashes.

    Returns:
        The proof hashes.

    Raises:
        FormatError: ``index`` not below ``size``, or either out of range (``E_LOG_RANGE``).
        StoreError: The store answered wrongly (``E_LOG_STORE``).
    """
    _check_size(size, "size")
    _check_size(index, "index")
    if index >= size:
        raise FormatError(f"leaf {index} is not in a tree of {size} leaves", code="E_LOG_RANGE", field="index")
    # PATH(m, D[lo:hi]): split at k; the sibling subtree's MTH is the last element, recurse into m's side.
    ranges = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return _ranges_hashes(ranges, reader)


def consistency_proof(old_size: int, new_size: int, reader: HashReader) -> tuple[bytes, ...]:
    """Return the RFC 9162 §2.1.4.1 consistency proof from the tree of ``old_size`` leaves to ``new_size``.

    Empty when the sizes are equal or ``old_size`` is 0 (the empty tree is a prefix of every tree: C2SP
    tlog-witness sends no proof lines then).

    Args:
        old_size: The smaller size.
        new_size: The larger size, no larger than the stored tree's.
        reader: The stored hashes.

    Returns:
        The proof hashes.

    Raises:
        FormatError: ``old_size > new_size`` or out of range (``E_LOG_RANGE``).
        StoreError: The store answered wrongly (``E_LOG_STORE``).
    """
    _check_size(old_size, "old_size")
    _check_size(new_size, "new_size")
    if old_size > new_size:
        raise FormatError(
            f"no consistency proof from {old_size} down to {new_size} leaves", code="E_LOG_RANGE", field="old_size"
        )
    if old_size in (0, new_size):
        return ()
    # SUBPROOF(m, D[lo:hi], b), with m relative to lo; the flag b is whether the m-prefix is the old tree itself.
    ranges = []
    lo, hi, m, whole = 0, new_size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return _ranges_hashes(ranges, reader)


def append_leaf_hashes(size: int, leaf_hashes: Iterable[bytes], reader: HashReader) -> Appended:
    """Compute what appending leaves to a stored tree of ``size`` leaves writes, and the new root.

    Reads the tree's complete subtrees (one node per bit of ``size``, in one call), then merges like a compact
    range: each leaf adds node ``(0, n)`` and every node it completes. Nothing is written here.

    **Atomicity is the caller's**: read ``size``, call this, and insert the leaves and ``Appended.nodes`` in one
    transaction, with a unique key on ``(level, index)`` and on the leaf index, so that two writers that read the
    same size cannot both commit. Sign a checkpoint for ``Appended.size`` and ``Appended.root`` only after commit.

    Args:
        size: The stored tree's size, read in the caller's transaction.
        leaf_hashes: The new leaves' hashes (:func:`leaf_hash` of each leaf's bytes), in log order.
        reader: The stored hashes.

    Returns:
        The new nodes and tree head.

    Raises:
        FormatError: ``size`` out of range, a hash that is not 32 bytes (``E_LOG_RANGE``).
        StoreError: The store answered wrongly (``E_LOG_STORE``).
    """
    _check_size(size, "size")
    border = subtree_nodes(size)
    stored = _read(reader, border)
    stack = [(level, stored[(level, idx)]) for level, idx in border]  # levels strictly decreasing
    new: list[tuple[Node, bytes]] = []
    n = size
    for h in leaf_hashes:
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise FormatError("a leaf hash is 32 bytes", code="E_LOG_RANGE", field=f"leaf_hashes[{n - size}]")
        if n + 1 >= MAX_TREE_SIZE:
            raise FormatError("the log is full", code="E_LOG_RANGE")
        level, idx, cur = 0, n, h
        new.append(((0, n), h))
        while stack and stack[-1][0] == level:
            cur = node_hash(stack.pop()[1], cur)
            level, idx = level + 1, idx >> 1
            new.append(((level, idx), cur))
        stack.append((level, cur))
        n += 1
    root = _fold([h for _, h in stack]) if stack else EMPTY_ROOT
    return Appended(old_size=size, size=n, root=root, nodes=tuple(new))


class MemoryTree:
    """An append-only Merkle tree held in memory: for tests, monitors and anyone who has the leaves.

    It stores the same complete-subtree hashes as the portal's table and computes roots and proofs with the same
    functions, through its own :meth:`read_hashes`.
    """

    __slots__ = ("_levels",)

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = [[]]

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        """Return stored hashes (the :class:`HashReader` protocol).

        Raises:
            StoreError: A node that is not stored (``E_LOG_STORE``).
        """
        try:
            return [self._levels[level][idx] for level, idx in nodes]
        except IndexError as e:
            raise StoreError("node is not stored", code="E_LOG_STORE") from e

    def append(self, leaf: bytes) -> int:
        """Append a leaf (its bytes; the tree stores its hash) and return its index."""
        return self.extend_hashes([leaf_hash(leaf)]) - 1

    def extend(self, leaves: Iterable[bytes]) -> int:
        """Append leaves (their bytes) and return the new size."""
        return self.extend_hashes(leaf_hash(leaf) for leaf in leaves)

    def extend_hashes(self, hashes: Iterable[bytes]) -> int:
        """Append leaves by their hashes and return the new size."""
        appended = append_leaf_hashes(self.size, hashes, self)
        for (level, idx), h in appended.nodes:
            if level == len(self._levels):
                self._levels.append([])
            assert len(self._levels[level]) == idx  # an invariant of the compact-range merge
            self._levels[level].append(h)
        return appended.size

    def root(self, size: int | None = None) -> bytes:
        """Return the root hash at ``size`` (default: now)."""
        return tree_root(self.size if size is None else size, self)

    def inclusion_proof(self, index: int, size: int | None = None) -> tuple[bytes, ...]:
        """Return the inclusion proof of leaf ``index`` at ``size`` (default: now)."""
        return inclusion_proof(index, self.size if size is None else size, self)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> tuple[bytes, ...]:
        """Return the consistency proof from ``old_size`` to ``new_size`` (default: now)."""
        return consistency_proof(old_size, self.size if new_size is None else new_size, self)


# ---- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) --------------------------------------------------------------


def _check_hash(h: object, what: str, code: str) -> bytes:
    if not isinstance(h, bytes) or len(h) != HASH_SIZE:
        raise LogError(f"{what} is not a {HASH_SIZE}-byte hash", code=code, field=what)
    return h


def _check_proof(proof: Sequence[bytes], code: str) -> list[bytes]:
    if len(proof) > MAX_PROOF_HASHES:
        raise LogError(f"a proof has at most {MAX_PROOF_HASHES} hashes", code=code, field="proof")
    path = list(proof)
    if not all(type(p) is bytes and len(p) == HASH_SIZE for p in path):
        for i, p in enumerate(path):
            _check_hash(p, f"proof[{i}]", code)
    return path


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that the leaf with hash ``leaf`` is at ``index`` in the tree of ``size`` leaves with ``root``.

    Args:
        leaf: The leaf's hash (:func:`leaf_hash`), not its bytes.
        index: Its claimed index.
        size: The tree size (from a verified checkpoint).
        proof: The inclusion proof.
        root: The tree's root hash (from the same checkpoint).

    Raises:
        LogError: ``E_LOG_INCLUSION`` for any failure, including an index out of range or a proof of the wrong
            length.
    """
    code = "E_LOG_INCLUSION"
    _check_hash(leaf, "leaf hash", code)
    _check_hash(root, "root hash", code)
    path = _check_proof(proof, code)
    # 1. An index at or past the size is in no such tree.
    if type(index) is not int or type(size) is not int or not 0 <= index < size:
        raise LogError(f"leaf index {index} is not below the tree size {size}", code=code, field="index")
    # 2-3. fn walks the leaf's position up the tree, sn the last leaf's, r the running hash.
    fn, sn, r = index, size - 1, leaf
    # 4. Fold in each proof hash as the left or right sibling.
    for p in path:
        if sn == 0:  # 4a. the proof is longer than the path to the root
            raise LogError("inclusion proof has too many hashes", code=code, field="proof")
        if fn & 1 or fn == sn:  # 4b. a left sibling (or the right border, where a level may be skipped)
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1  # 4c.
    # 5. The whole path was consumed and it reached the signed root.
    if sn != 0:
        raise LogError("inclusion proof has too few hashes", code=code, field="proof")
    if not hmac.compare_digest(r, root):
        raise LogError("inclusion proof does not lead to the checkpoint's root hash", code=code, field="proof")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Check that the tree of ``new_size`` leaves with ``new_root`` extends the tree of ``old_size`` with ``old_root``.

    Requires ``0 < old_size <= new_size`` (RFC 9162 §2.1.4.2; a proof from the empty tree means nothing, and callers
    accept any tree after an empty one without a proof).

    Args:
        old_size: The earlier size.
        new_size: The later size.
        old_root: The earlier root hash.
        new_root: The later root hash.
        proof: The consistency proof.

    Raises:
        LogError: ``E_LOG_CONSISTENCY`` for any failure, including sizes out of order.
    """
    code = "E_LOG_CONSISTENCY"
    _check_hash(old_root, "old root hash", code)
    _check_hash(new_root, "new root hash", code)
    path = _check_proof(proof, code)
    if type(old_size) is not int or type(new_size) is not int or not 0 <= old_size <= new_size < MAX_TREE_SIZE:
        raise LogError(f"no consistency from {old_size} to {new_size} leaves", code=code, field="old_size")
    if old_size == 0:
        raise LogError("a consistency proof from the empty tree means nothing", code=code, field="old_size")
    if old_size == new_size:
        if path:
            raise LogError("equal sizes take an empty proof", code=code, field="proof")
        if not hmac.compare_digest(old_root, new_root):
            raise LogError("two different roots for the same size", code=code)
        return
    # 1. A proof between different sizes is never empty.
    if not path:
        raise LogError("empty consistency proof between different sizes", code=code, field="proof")
    # 2. When the old tree is a complete subtree its root is the first node, and the proof leaves it out.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3-4. fn walks the old tree's last leaf up, sn the new tree's; skip levels where the old leaf is a right child.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    # 5. Both running hashes start from the first node.
    fr = sr = path[0]
    # 6. Left siblings feed both roots; right siblings only the new one.
    for c in path[1:]:
        if sn == 0:  # 6a.
            raise LogError("consistency proof has too many hashes", code=code, field="proof")
        if fn & 1 or fn == sn:  # 6b.
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1  # 6c.
    # 7. Both roots rebuilt, and the path ended at the top.
    if sn != 0:
        raise LogError("consistency proof has too few hashes", code=code, field="proof")
    if not hmac.compare_digest(fr, old_root):
        raise LogError("consistency proof does not rebuild the old root", code=code, field="proof")
    if not hmac.compare_digest(sr, new_root):
        raise LogError("consistency proof does not rebuild the new root", code=code, field="proof")
