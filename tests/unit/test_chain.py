from __future__ import annotations

import itertools
from datetime import datetime

import ocop_provenance as op
import pytest

from tests.conftest import ICT, key


def test_chain_verifies_and_round_trips(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    summary = op.verify_chain([e.raw for e in chain], ring)
    assert summary.count == len(chain)
    assert summary.batch_id == chain[0].event_id
    assert summary.head.event_id == chain[-1].event_id
    for event in chain:
        assert op.parse_unverified_event(event.raw) == event


def test_append_links_to_head(chain: list[op.SignedEvent]) -> None:
    for prev, event in itertools.pairwise(chain):
        assert event.prev == prev.event_id
        assert event.seq == prev.seq + 1
        assert event.batch_id == chain[0].event_id


def test_untrusted_signer_is_named(chain: list[op.SignedEvent]) -> None:
    with pytest.raises(op.UntrustedKeyError) as info:
        op.verify_chain([e.raw for e in chain], op.KeyRing.of([key(2).public_key]))
    assert info.value.code == "E_UNKNOWN_KEY"
    assert info.value.index == 0


def test_fork_yields_checkable_proof(chain: list[op.SignedEvent], ring: op.KeyRing, coop: op.PrivateKey) -> None:
    rival = op.append_step(
        chain[1],
        coop,
        step="shipping",
        time=datetime(2024, 11, 3, tzinfo=ICT),
        location=op.Location(name="Hà Nội"),
    )
    with pytest.raises(op.ForkError) as info:
        op.verify_chain([chain[0].raw, chain[1].raw, chain[2].raw, rival.raw], ring)
    proof = info.value.proof
    assert isinstance(proof, op.EquivocationProof)
    again = op.EquivocationProof.from_bytes(proof.to_bytes())
    assert again.verify(ring) == (chain[0].event_id, 2)
