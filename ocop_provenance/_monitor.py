"""The monitor core: check that a log's leaves are its signed tree, and find batches whose logged heads fork.

Every head the portal logs for one batch must lie on one chain. From the leaves alone a monitor sees two kinds of
pair to look at (:func:`leaf_pairs_to_check`):

* ``"fork"``: two different heads logged at one seq. If both events are validly signed, the producer forked the
  batch; the two events make an :class:`~ocop_provenance.EquivocationProof` (:func:`fork_proof`).
* ``"extends"``: a head at a higher seq must extend the head logged at the next lower seq. Only the events can
  tell: :func:`fork_proof_for` looks in the longer chain for the event at the shorter head's seq and returns a
  proof when it is another event.

Checking consecutive seqs is enough: "extends" is transitive along one chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._errors import LogError, ProvenanceError, VerificationError
from ._merkle import MemoryTree
from ._tlog import LogLeaf, VerifiedCheckpoint
from ._verify import EquivocationProof
from ._wire import SignedEvent

__all__ = ["LeafPair", "fork_proof", "fork_proof_for", "leaf_pairs_to_check", "verify_log_leaves"]


@dataclass(frozen=True, slots=True)
class LeafPair:
    """Two leaves of one batch that a monitor must look at.

    Attributes:
        kind: ``"fork"`` (two heads at one seq) or ``"extends"`` (``second`` must extend ``first``).
        first_index: The log index of ``first``.
        first: The leaf with the lower seq (for ``"fork"``: logged first).
        second_index: The log index of ``second``.
        second: The other leaf.
    """

    kind: str
    first_index: int
    first: LogLeaf
    second_index: int
    second: LogLeaf


def verify_log_leaves(
    leaves: Sequence[bytes], checkpoint: VerifiedCheckpoint, tree: MemoryTree | None = None
) -> tuple[LogLeaf, ...]:
    """Check that ``leaves`` are exactly the log's leaves up to the checkpoint, and parse them.

    Args:
        leaves: The leaf bytes from index ``tree.size`` (0 without a tree) to ``checkpoint.size``, as served.
        checkpoint: A verified checkpoint of the log.
        tree: The tree of the leaves checked on an earlier run (it is extended); None starts from the first leaf.

    Returns:
        The parsed leaves given.

    Raises:
        LogError: The leaves do not rebuild the checkpoint's root, or are too many or too few (``E_LOG_INCLUSION``).
        FormatError: A leaf is malformed (``position`` is its place in ``leaves``: its log index less
            ``tree.size``).
    """
    tree = MemoryTree() if tree is None else tree
    start = tree.size
    if start + len(leaves) != checkpoint.size:
        raise LogError(f"{start} + {len(leaves)} leaves for a checkpoint of {checkpoint.size}", code="E_LOG_INCLUSION")
    parsed = []
    for i, raw in enumerate(leaves):
        try:
            parsed.append(LogLeaf.from_bytes(raw))
        except ProvenanceError as e:
            raise e.locate(position=i) from None
    tree.extend(leaves)
    if tree.root() != checkpoint.root_hash:
        raise LogError("the leaves served are not the tree the log signed", code="E_LOG_INCLUSION")
    return tuple(parsed)


def leaf_pairs_to_check(leaves: Iterable[LogLeaf | tuple[int, LogLeaf]]) -> tuple[LeafPair, ...]:
    """List the pairs of leaves whose heads a monitor must compare, from the leaves alone.

    Repeated publications of one head count once (the first). For each batch, every extra head at a seq already
    logged is a ``"fork"`` pair with the first; and the first head at each seq is an ``"extends"`` pair with the
    first head at the next lower seq that was logged.

    Args:
        leaves: Leaves in log order, or ``(log index, leaf)`` pairs.

    Returns:
        The pairs, forks first, then by batch and seq.
    """
    by_batch: dict[bytes, dict[int, list[tuple[int, LogLeaf]]]] = {}
    seen: set[tuple[bytes, int, bytes]] = set()
    for position, item in enumerate(leaves):
        index, leaf = item if isinstance(item, tuple) else (position, item)
        key = (leaf.batch_id, leaf.seq, leaf.head_id)
        if key in seen:
            continue
        seen.add(key)
        by_batch.setdefault(leaf.batch_id, {}).setdefault(leaf.seq, []).append((index, leaf))
    forks: list[LeafPair] = []
    extends: list[LeafPair] = []
    for batch in sorted(by_batch):
        seqs = by_batch[batch]
        previous: tuple[int, LogLeaf] | None = None
        for seq in sorted(seqs):
            heads = seqs[seq]
            first = heads[0]
            forks.extend(LeafPair("fork", *first, *other) for other in heads[1:])
            if previous is not None:
                extends.append(LeafPair("extends", *previous, *first))
            previous = first
    return tuple(forks + extends)


def fork_proof(first: SignedEvent, second: SignedEvent) -> EquivocationProof:
    """Return the equivocation proof made of two different events at one batch and seq.

    The events' signatures are not checked here: check the proof with :meth:`EquivocationProof.verify` and the
    producer's keys.

    Raises:
        VerificationError: The same event twice, or events at different places (``E_NOT_A_FORK``).
    """
    if first.event_id == second.event_id:
        raise VerificationError("both events are the same", code="E_NOT_A_FORK")
    if first.batch_id != second.batch_id or first.seq != second.seq:
        raise VerificationError("the events are not at one batch and seq", code="E_NOT_A_FORK")
    return EquivocationProof.of(first, second)


def _event_at(chain: Sequence[SignedEvent], leaf: LogLeaf, seq: int, which: str) -> SignedEvent:
    if not chain or chain[-1].event_id != leaf.head_id or chain[-1].batch_id != leaf.batch_id:
        raise LogError(f"the {which} chain does not end at its logged head", code="E_LOG_LEAF", field=which)
    for event in chain:
        if event.seq == seq:
            return event
    raise LogError(f"the {which} chain has no event at seq {seq}", code="E_LOG_LEAF", field=which)


def fork_proof_for(
    pair: LeafPair, first_chain: Sequence[SignedEvent], second_chain: Sequence[SignedEvent]
) -> EquivocationProof | None:
    """Settle a leaf pair with the events: return an equivocation proof if the two heads are not one chain.

    Args:
        pair: A pair from :func:`leaf_pairs_to_check`.
        first_chain: Events of the batch ending at ``pair.first``'s head (at least that head).
        second_chain: Events of the batch ending at ``pair.second``'s head, holding the event at the first's seq.

    Returns:
        The proof (the first head and the second chain's event at that seq), or None when the second chain holds
        the first head.

    Raises:
        LogError: A chain does not end at its leaf's head, or lacks the event needed (``E_LOG_LEAF``).
    """
    a = _event_at(first_chain, pair.first, pair.first.seq, "first")
    b = _event_at(second_chain, pair.second, pair.first.seq, "second")
    if a.event_id == b.event_id:
        return None
    return fork_proof(a, b)
