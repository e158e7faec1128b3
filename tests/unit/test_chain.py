from __future__ import annotations

import itertools
from datetime import datetime

import ocop_provenance as op
import pytest
from ocop_provenance.events import (
    ChainHead,
    EquivocationProof,
    append_step,
    head_of,
    open_batch,
    parse_unverified_event,
)

from tests.conftest import ICT, key, sample_genesis
from tests.verifying import ANY_BATCH, options


def test_chain_verifies_and_round_trips(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    summary = op.verify_chain([e.raw for e in chain], options(ring), batch=ANY_BATCH)
    assert summary.count == len(chain)
    assert summary.batch_id == chain[0].event_id
    assert summary.head.event_id == chain[-1].event_id
    for event in chain:
        assert parse_unverified_event(event.raw) == event


def test_append_links_to_head(chain: list[op.SignedEvent]) -> None:
    for prev, event in itertools.pairwise(chain):
        assert event.prev == prev.event_id
        assert event.seq == prev.seq + 1
        assert event.batch_id == chain[0].event_id


def test_untrusted_signer_is_named(chain: list[op.SignedEvent]) -> None:
    with pytest.raises(op.UntrustedKeyError) as info:
        op.verify_chain([e.raw for e in chain], options(op.KeyRing.of([key(2).public_key])), batch=ANY_BATCH)
    assert info.value.code == "E_UNKNOWN_KEY"
    assert info.value.position == 0


def test_fork_yields_checkable_proof(chain: list[op.SignedEvent], ring: op.KeyRing, coop: op.PrivateKey) -> None:
    rival = append_step(
        chain[1],
        coop,
        step="shipping",
        time=datetime(2024, 11, 3, tzinfo=ICT),
        location=op.Location(name="Hà Nội"),
    )
    with pytest.raises(op.ForkError) as info:
        op.verify_chain([chain[0].raw, chain[1].raw, chain[2].raw, rival.raw], options(ring), batch=ANY_BATCH)
    proof = info.value.proof
    assert isinstance(proof, EquivocationProof)
    again = EquivocationProof.from_bytes(proof.to_bytes())
    assert again.verify(ring) == (chain[0].event_id, 2)


def test_batch_id_is_genesis_event_id(chain: list[op.SignedEvent]) -> None:
    genesis = chain[0]
    assert genesis.batch_id == genesis.event_id
    assert head_of(genesis).batch_id == genesis.event_id


def test_open_batch_is_deterministic(coop: op.PrivateKey) -> None:
    assert open_batch(sample_genesis(), coop) == open_batch(sample_genesis(), coop)
    other = open_batch(sample_genesis(), key(2))
    assert other.event_id != open_batch(sample_genesis(), coop).event_id  # the kid is in the signed header


def test_append_from_chain_head(chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing) -> None:
    head = head_of(chain[-1])
    assert head == ChainHead(
        batch_id=chain[0].event_id,
        seq=3,
        event_id=chain[-1].event_id,
        time=chain[-1].time,
        prev=chain[-2].event_id,
        key_id=coop.key_id,
    )
    nxt = append_step(
        head, coop, step="packing", time=datetime(2024, 11, 2, tzinfo=ICT), location=op.Location(name="Xưởng")
    )
    assert nxt.seq == 4
    assert nxt.prev == chain[-1].event_id
    assert op.verify_chain([*(e.raw for e in chain), nxt.raw], options(ring), batch=ANY_BATCH).count == 5


def test_as_input(chain: list[op.SignedEvent]) -> None:
    ref = head_of(chain[2]).as_input()
    assert ref == op.InputRef(batch_id=chain[0].event_id, seq=2, head=chain[2].event_id)


def test_append_validates_fields(chain: list[op.SignedEvent], coop: op.PrivateKey) -> None:
    with pytest.raises(op.FormatError) as info:
        append_step(
            chain[-1], coop, step="drying", time=datetime(2024, 11, 2, tzinfo=ICT), location=op.Location(name="x")
        )
    assert info.value.code == "E_FIELD"
    assert info.value.field == "step"
    with pytest.raises(op.FormatError) as info:
        append_step(
            chain[-1],
            coop,
            step="packing",
            time=datetime(2024, 11, 2),
            location=op.Location(name="x"),
        )
    assert info.value.field == "time"


def test_append_does_not_refuse_an_earlier_time(
    chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing
) -> None:
    """Time order is the verifier's business (with its tolerance): the signer's clock is theirs to set."""
    early = append_step(
        chain[-1], coop, step="packing", time=datetime(2020, 1, 1, tzinfo=ICT), location=op.Location(name="x")
    )
    with pytest.raises(op.ChainError) as info:
        op.verify_chain([*(e.raw for e in chain), early.raw], options(ring), batch=ANY_BATCH)
    assert info.value.code == "E_TIME"


def test_append_consumes_inputs(chain: list[op.SignedEvent], coop: op.PrivateKey) -> None:
    honey = open_batch(sample_genesis(product=op.Product(name="Mật ong", lot="M1", quantity="2", unit="l")), key(2))
    mixed = append_step(
        chain[-1],
        coop,
        step="ocop:mixing",
        time=datetime(2024, 11, 2, tzinfo=ICT),
        location=op.Location(name="x"),
        inputs=[head_of(honey).as_input()],
        data={"ratio": "1:10"},
    )
    assert isinstance(mixed.body, op.Step)
    assert mixed.body.inputs == (op.InputRef(batch_id=honey.event_id, seq=0, head=honey.event_id),)
    assert dict(mixed.body.data) == {"ratio": "1:10"}
