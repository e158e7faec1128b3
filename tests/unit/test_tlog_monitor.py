"""The monitor core: leaves against the signed tree, and forks found from leaves and proven with events."""

from __future__ import annotations

from datetime import timedelta

import ocop_provenance as op
import pytest
from ocop_provenance import tlog
from ocop_provenance.events import EquivocationProof, append_step

from tests.conftest import key, sample_chain
from tests.unit.tlog_helpers import LOG_KEY, T0, Portal, fake_head


@pytest.fixture
def chains() -> tuple[list[op.SignedEvent], list[op.SignedEvent]]:
    """One batch, two chains: a (seq 0-3) and b, which forks from a after seq 1."""
    a = sample_chain(key(1), 4)
    b = a[:2]
    for i in (2, 3):
        b.append(
            append_step(
                b[-1],
                key(1),
                step="ocop:drying",
                time=a[1].time + timedelta(hours=i, minutes=7),
                location=op.Location(name="Lò sấy số 2, Nghi Sơn", admin_code="38"),
                data={"moisture": "11.0"},
            )
        )
    assert a[2].event_id != b[2].event_id
    return a, b


def test_verify_log_leaves_incrementally() -> None:
    portal = Portal()
    for i in range(7):
        portal.publish(fake_head(i, seq=i))
    raw = [leaf.to_bytes() for leaf in portal.leaves]
    tree = tlog.MemoryTree()
    first = tlog.verify_log_leaves(raw[:4], tlog.open_checkpoint(portal.note(4), LOG_KEY), tree)
    rest = tlog.verify_log_leaves(raw[4:], tlog.open_checkpoint(portal.note(), LOG_KEY), tree)
    assert (*first, *rest) == tuple(portal.leaves)


def test_verify_log_leaves_refuses_other_leaves() -> None:
    portal = Portal()
    for i in range(5):
        portal.publish(fake_head(i, seq=i))
    cp = tlog.open_checkpoint(portal.note(), LOG_KEY)
    raw = [leaf.to_bytes() for leaf in portal.leaves]
    swapped = [raw[1], raw[0], *raw[2:]]
    for served in (swapped, raw[:4], [*raw, raw[0]]):
        with pytest.raises(tlog.LogError) as e:
            tlog.verify_log_leaves(served, cp)
        assert e.value.code == "E_LOG_INCLUSION"
    with pytest.raises(op.FormatError) as e2:
        tlog.verify_log_leaves([*raw[:3], b"\xa0", raw[4]], cp)
    assert e2.value.position == 3


def test_leaf_pairs_from_leaves_alone(chains: tuple[list[op.SignedEvent], list[op.SignedEvent]]) -> None:
    a, b = chains
    leaves = [
        tlog.LogLeaf.for_head(a[1], T0),
        tlog.LogLeaf.for_head(a[1], T0 + timedelta(minutes=1)),  # the same head again: not a pair
        tlog.LogLeaf.for_head(a[2], T0),
        tlog.LogLeaf.for_head(b[2], T0),  # a second head at seq 2: a fork
        tlog.LogLeaf.for_head(a[3], T0),
        tlog.LogLeaf.for_head(fake_head(9, seq=5, batch=9), T0),  # another batch, alone
    ]
    pairs = tlog.leaf_pairs_to_check(leaves)
    assert [(p.kind, p.first_index, p.second_index) for p in pairs] == [
        ("fork", 2, 3),
        ("extends", 0, 2),
        ("extends", 2, 4),
    ]
    indexed = tlog.leaf_pairs_to_check([(100 + i, leaf) for i, leaf in enumerate(leaves)])
    assert [(p.first_index, p.second_index) for p in indexed] == [(102, 103), (100, 102), (102, 104)]


def test_fork_pair_proven_with_the_two_events(chains: tuple[list[op.SignedEvent], list[op.SignedEvent]]) -> None:
    a, b = chains
    (pair,) = tlog.leaf_pairs_to_check([tlog.LogLeaf.for_head(a[2], T0), tlog.LogLeaf.for_head(b[2], T0)])
    assert pair.kind == "fork"
    proof = tlog.fork_proof_for(pair, a[:3], b[:3])
    assert proof is not None
    assert proof.verify(op.KeyRing.of([key(1).public_key])) == (a[0].event_id, 2)
    assert EquivocationProof.from_bytes(proof.to_bytes()) == proof


def test_a_later_head_that_does_not_extend_is_caught_with_the_chains(
    chains: tuple[list[op.SignedEvent], list[op.SignedEvent]],
) -> None:
    a, b = chains
    leaves = [tlog.LogLeaf.for_head(a[2], T0), tlog.LogLeaf.for_head(b[3], T0)]
    (pair,) = tlog.leaf_pairs_to_check(leaves)
    assert pair.kind == "extends"
    proof = tlog.fork_proof_for(pair, a[:3], b)
    assert proof is not None
    assert proof.verify(op.KeyRing.of([key(1).public_key])) == (a[0].event_id, 2)
    # The honest extension is no fork.
    (honest,) = tlog.leaf_pairs_to_check([tlog.LogLeaf.for_head(a[2], T0), tlog.LogLeaf.for_head(a[3], T0)])
    assert tlog.fork_proof_for(honest, a[:3], a) is None


def test_fork_proof_for_wants_the_chains_of_the_logged_heads(
    chains: tuple[list[op.SignedEvent], list[op.SignedEvent]],
) -> None:
    a, b = chains
    (pair,) = tlog.leaf_pairs_to_check([tlog.LogLeaf.for_head(a[2], T0), tlog.LogLeaf.for_head(b[3], T0)])
    for first, second in ((a[:2], b), (a[:3], a), ([], b), (a[:3], [b[3]])):
        with pytest.raises(tlog.LogError) as e:
            tlog.fork_proof_for(pair, first, second)
        assert e.value.code == "E_LOG_LEAF"


def test_fork_proof_refuses_what_is_no_fork(chains: tuple[list[op.SignedEvent], list[op.SignedEvent]]) -> None:
    a, b = chains
    for x, y in ((a[2], a[2]), (a[2], b[3]), (a[2], sample_chain(key(2), 3)[2])):
        with pytest.raises(op.VerificationError) as e:
            tlog.fork_proof(x, y)
        assert e.value.code == "E_NOT_A_FORK"
