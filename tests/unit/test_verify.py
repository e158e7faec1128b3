"""Chain verification: one test per error code, error locations, reports, fork proofs, key rings."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import ocop_provenance as op
import pytest
from ocop_provenance.events import (
    DEFAULT_TIME_TOLERANCE,
    EVENT_TYP,
    MAX_EVENT_SIZE,
    ChainHead,
    ChainVerifier,
    EquivocationProof,
    append_step,
    available_backends,
    find_forks,
    open_batch,
    report_chain,
)

from tests.conftest import key, sample_chain, sample_genesis
from tests.verifying import ANY_BATCH, options

WHERE = op.Location(name="Nghi Sơn")


def raws(events: list[op.SignedEvent]) -> list[bytes]:
    return [e.raw for e in events]


def failure(
    events: list[bytes], ring: op.KeyRing, *, batch_id: bytes | None = None, **kwargs: object
) -> op.ProvenanceError:
    with pytest.raises(op.ProvenanceError) as info:
        op.verify_chain(events, options(ring, **kwargs), batch=ANY_BATCH if batch_id is None else batch_id)
    return info.value


def located(err: op.ProvenanceError, index: int, event: op.SignedEvent) -> None:
    assert err.position == index
    assert err.event_id == event.event_id.hex()
    assert err.key_id == event.key_id.hex()


def corrupt_signature(event: op.SignedEvent) -> bytes:
    return event.raw[:-64] + bytes((event.signature[0] ^ 1,)) + event.signature[1:]


def step_after(
    head: op.SignedEvent | ChainHead, signer: op.PrivateKey, *, minutes: float = 60, **kw: object
) -> op.SignedEvent:
    base = head.time
    fields: dict[str, object] = {"step": "ocop:drying", "time": base + timedelta(minutes=minutes), "location": WHERE}
    fields.update(kw)
    return append_step(head, signer, **fields)  # type: ignore[arg-type]


def test_valid_chain_summary(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    for backend in available_backends():
        summary = op.verify_chain(raws(chain), options(ring, backend=backend), batch=ANY_BATCH)
        assert summary.count == 4
        assert summary.genesis == chain[0]
        assert summary.head == chain[-1]
        assert summary.signers == (key(1).key_id,)


def test_accepts_parsed_events_and_generators(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    assert op.verify_chain(iter(chain), options(ring), batch=ANY_BATCH).count == 4
    assert op.verify_chain((e.raw for e in chain), options(ring), batch=ANY_BATCH).count == 4


def test_e_unknown_key(chain: list[op.SignedEvent]) -> None:
    # A step signed by a second, untrusted key.
    outsider = step_after(chain[-1], key(2))
    err = failure(raws([*chain, outsider]), op.KeyRing.of([key(1).public_key]))
    assert isinstance(err, op.UntrustedKeyError)
    assert err.code == "E_UNKNOWN_KEY"
    located(err, 4, outsider)


def test_several_signers(chain: list[op.SignedEvent]) -> None:
    lab = step_after(chain[-1], key(2), step="inspecting")
    ring = op.KeyRing.of([key(1).public_key, key(2).public_key])
    summary = op.verify_chain(raws([*chain, lab]), options(ring), batch=ANY_BATCH)
    assert summary.signers == (key(1).key_id, key(2).key_id)


def test_e_signature(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    err = failure([chain[0].raw, corrupt_signature(chain[1]), chain[2].raw], ring)
    assert isinstance(err, op.SignatureError)
    assert err.code == "E_SIGNATURE"
    located(err, 1, chain[1])


def test_signature_by_other_key_with_same_kid_header(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    """A signature made by key 2 inside a header naming key 1's kid fails: the kid is only a hint."""
    from ocop_provenance import _cose

    forged_sig = key(2).sign(chain[1].to_be_signed)
    forged = chain[1].raw[:-64] + forged_sig
    assert _cose.parse_sign1(forged, typ=EVENT_TYP, max_size=MAX_EVENT_SIZE).key_id == key(1).key_id
    assert failure([chain[0].raw, forged], ring).code == "E_SIGNATURE"


def test_e_genesis(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    err = failure(raws(chain[1:]), ring)
    assert isinstance(err, op.ChainError)
    assert err.code == "E_GENESIS"
    located(err, 0, chain[1])


def test_second_genesis_is_not_a_step(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    other = open_batch(sample_genesis(product=op.Product(name="Khác", lot="X", quantity="1", unit="kg")), key(1))
    err = failure([chain[0].raw, other.raw], ring)
    assert err.code == "E_BATCH"
    assert err.position == 1


def test_e_batch_spliced_event(ring: op.KeyRing) -> None:
    a = sample_chain(key(1), 3)
    b_genesis = open_batch(sample_genesis(product=op.Product(name="Trà", lot="T1", quantity="3", unit="kg")), key(1))
    b1 = step_after(b_genesis, key(1))
    # b1 is validly signed, seq 1, but belongs to batch B.
    err = failure([a[0].raw, b1.raw], ring)
    assert isinstance(err, op.ChainError)
    assert err.code == "E_BATCH"
    located(err, 1, b1)


def test_e_batch_expected_batch(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    err = failure(raws(chain), ring, batch_id=b"\x00" * 32)
    assert err.code == "E_BATCH"
    located(err, 0, chain[0])
    assert op.verify_chain(raws(chain), options(ring), batch=chain[0].event_id).count == 4


def test_e_seq_gap(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    err = failure([chain[0].raw, chain[1].raw, chain[3].raw], ring)
    assert err.code == "E_SEQ"
    located(err, 2, chain[3])


def test_e_seq_rollback(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    err = failure([*raws(chain), chain[1].raw], ring)
    assert err.code == "E_SEQ"
    located(err, 4, chain[1])


def test_e_duplicate(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    err = failure([chain[0].raw, chain[1].raw, chain[1].raw], ring)
    assert err.code == "E_DUPLICATE"
    located(err, 2, chain[1])


def test_duplicate_genesis(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    err = failure([chain[0].raw, chain[0].raw], ring)
    assert err.code == "E_DUPLICATE"


def test_e_fork_and_proof(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    rival = step_after(chain[1], key(1), step="shipping")
    err = failure([chain[0].raw, chain[1].raw, chain[2].raw, rival.raw], ring)
    assert isinstance(err, op.ForkError)
    assert err.code == "E_FORK"
    located(err, 3, rival)
    proof = err.proof
    assert isinstance(proof, EquivocationProof)
    # A third party checks it with the keys alone, from bytes.
    alone = EquivocationProof.from_bytes(proof.to_bytes())
    assert alone == proof
    assert alone.verify(op.KeyRing.of([key(1).public_key])) == (chain[0].event_id, 2)
    for backend in available_backends():
        assert alone.verify(ring, backend=backend) == (chain[0].event_id, 2)
    # Canonical order: the same proof whichever event came first.
    assert EquivocationProof.of(rival, chain[2]) == EquivocationProof.of(chain[2], rival)
    assert EquivocationProof.of(rival, chain[2]).to_bytes() == proof.to_bytes()


def test_fork_at_genesis_successor(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    rival = step_after(chain[0], key(1), step="receiving")
    err = failure([chain[0].raw, chain[1].raw, rival.raw], ring)
    assert err.code == "E_FORK"


def test_non_fork_proofs_rejected(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    different_seq = EquivocationProof(chain[1].raw, chain[2].raw)
    with pytest.raises(op.VerificationError) as info:
        different_seq.verify(ring)
    assert info.value.code == "E_NOT_A_FORK"
    same = EquivocationProof(chain[1].raw, chain[1].raw)
    with pytest.raises(op.VerificationError) as info:
        same.verify(ring)
    assert info.value.code == "E_NOT_A_FORK"
    b_genesis = open_batch(sample_genesis(product=op.Product(name="Trà", lot="T", quantity="1", unit="kg")), key(1))
    b1 = step_after(b_genesis, key(1))
    with pytest.raises(op.VerificationError) as info:
        EquivocationProof(chain[1].raw, b1.raw).verify(ring)
    assert info.value.code == "E_NOT_A_FORK"


def test_fork_proof_needs_trusted_valid_signatures(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    rival = step_after(chain[1], key(1), step="shipping")
    proof = EquivocationProof.of(chain[2], rival)
    with pytest.raises(op.UntrustedKeyError):
        proof.verify(op.KeyRing.of([key(2).public_key]))
    bad = EquivocationProof(corrupt_signature(chain[2]), rival.raw)
    with pytest.raises(op.SignatureError) as info:
        bad.verify(ring)
    assert info.value.code == "E_SIGNATURE"
    assert info.value.position == 0


def test_fork_proof_names_the_malformed_half(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    """A proof's error names which of its two events (index 0 or 1) is wrong, whatever the check."""
    for proof, index in (
        (EquivocationProof(b"\xd2\x80", chain[2].raw), 0),
        (EquivocationProof(chain[2].raw, b"\xd2\x80"), 1),
    ):
        with pytest.raises(op.FormatError) as info:
            proof.verify(ring)
        assert info.value.code == "E_COSE"
        assert info.value.position == index


def test_fork_by_two_signers(chain: list[op.SignedEvent]) -> None:
    rival = step_after(chain[1], key(2), step="shipping")
    ring = op.KeyRing.of([key(1).public_key, key(2).public_key])
    proof = EquivocationProof.of(chain[2], rival)
    assert proof.verify(ring) == (chain[0].event_id, 2)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xa0",
        bytes.fromhex("a2006f6f636f702d6571756976636174696f6e0180"),
        EquivocationProof(b"a", b"b").to_bytes().replace(b"ocop-equivocation", b"ocop-equivocatioN"),
    ],
)
def test_proof_from_bytes_garbage(data: bytes) -> None:
    with pytest.raises(op.FormatError):
        EquivocationProof.from_bytes(data)


def test_proof_of_garbage_events(ring: op.KeyRing) -> None:
    with pytest.raises(op.FormatError):
        EquivocationProof(b"\x00", b"\x01").verify(ring)


def test_find_forks(chain: list[op.SignedEvent]) -> None:
    rival = step_after(chain[1], key(1), step="shipping")
    proofs = find_forks([*chain, rival, chain[2]])
    assert proofs == [EquivocationProof.of(chain[2], rival)]
    assert find_forks(chain) == []


def test_e_link(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    wrong_prev = ChainHead(batch_id=chain[0].event_id, seq=1, event_id=b"\x42" * 32, time=chain[1].time)
    bad = step_after(wrong_prev, key(1))
    err = failure([chain[0].raw, chain[1].raw, bad.raw], ring)
    assert err.code == "E_LINK"
    located(err, 2, bad)


def test_e_time_boundary(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    head = chain[1]
    at_limit = step_after(head, key(1), minutes=-5)
    assert op.verify_chain([chain[0].raw, head.raw, at_limit.raw], options(ring), batch=ANY_BATCH).count == 3
    past_limit = append_step(
        head, key(1), step="ocop:drying", time=head.time - timedelta(minutes=5, seconds=1), location=WHERE
    )
    err = failure([chain[0].raw, head.raw, past_limit.raw], ring)
    assert err.code == "E_TIME"
    located(err, 2, past_limit)


def test_e_time_across_offsets(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    """Times compare as instants: 02:00 UTC is after 08:00+07:00 (01:00 UTC) whatever the offsets say."""
    head = chain[1]  # 2024-11-01T10:00+07:00 = 03:00Z
    utc_later = append_step(head, key(1), step="shipping", time=datetime(2024, 11, 1, 3, 1, tzinfo=UTC), location=WHERE)
    assert op.verify_chain([chain[0].raw, head.raw, utc_later.raw], options(ring), batch=ANY_BATCH).count == 3
    utc_earlier = append_step(
        head, key(1), step="shipping", time=datetime(2024, 11, 1, 2, 54, tzinfo=UTC), location=WHERE
    )
    assert failure([chain[0].raw, head.raw, utc_earlier.raw], ring).code == "E_TIME"


def test_time_tolerance_parameter(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    back = step_after(chain[1], key(1), minutes=-30)
    events = [chain[0].raw, chain[1].raw, back.raw]
    assert failure(events, ring).code == "E_TIME"
    assert op.verify_chain(events, options(ring, time_tolerance=timedelta(minutes=30)), batch=ANY_BATCH).count == 3
    assert failure(events, ring, time_tolerance=timedelta(0)).code == "E_TIME"


def test_e_future(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    last = chain[-1].time
    tol = DEFAULT_TIME_TOLERANCE
    assert op.verify_chain(raws(chain), options(ring, now=last - tol), batch=ANY_BATCH).count == 4
    err = failure(raws(chain), ring, now=last - tol - timedelta(seconds=1))
    assert err.code == "E_FUTURE"
    located(err, 3, chain[3])
    assert failure(raws(chain), ring, now=chain[0].time - timedelta(days=1)).position == 0


def test_naive_now_refused(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    with pytest.raises(ValueError):
        op.verify_chain(raws(chain), options(ring, now=datetime(2025, 1, 1)), batch=ANY_BATCH)


def test_e_empty(ring: op.KeyRing) -> None:
    err = failure([], ring)
    assert isinstance(err, op.ChainError)
    assert err.code == "E_EMPTY"
    report = report_chain([], options(ring), batch=ANY_BATCH)
    assert not report.ok
    assert [f.code for f in report.failures] == ["E_EMPTY"]


def test_malformed_event_carries_index(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    err = failure([chain[0].raw, b"\xd2\x84"], ring)
    assert isinstance(err, op.FormatError)
    assert err.position == 1


def test_verifier_state_unchanged_after_failure(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    v = ChainVerifier(options(ring), batch=ANY_BATCH)
    v.feed(chain[0].raw)
    with pytest.raises(op.SignatureError):
        v.feed(corrupt_signature(chain[1]))
    with pytest.raises(op.ChainError):
        v.feed(chain[2].raw)  # the failed event did not advance the chain
    assert v.count == 1
    for e in chain[1:]:
        v.feed(e.raw)
    assert v.finish().head == chain[-1]
    assert v.head == chain[-1]


def test_report_lists_failures_in_order(ring: op.KeyRing) -> None:
    events = sample_chain(key(1), 6)
    late = step_after(events[-1], key(1), minutes=-60)
    items = [
        events[0].raw,
        corrupt_signature(events[1]),  # 1: E_SIGNATURE
        events[2].raw,
        b"\xd2\x80",  # 3: malformed envelope (an empty array)
        events[4].raw,  # 4: seq 4 after seq 2 (the garbage never parsed)
        events[5].raw,
        late.raw,  # 6: E_TIME
        step_after(late, key(2)).raw,  # 7: E_UNKNOWN_KEY
    ]
    report = report_chain(items, options(ring), batch=ANY_BATCH)
    assert not report.ok
    assert [(f.code, f.position) for f in report.failures] == [
        ("E_SIGNATURE", 1),
        ("E_COSE", 3),
        ("E_SEQ", 4),
        ("E_TIME", 6),
        ("E_UNKNOWN_KEY", 7),
    ]
    assert report.count == 8
    assert report.batch_id == events[0].event_id


def test_report_of_a_chain_without_its_genesis(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    """The missing genesis is reported once; the steps that link are not blamed, and no batch id is claimed."""
    report = report_chain(raws(chain[1:]), options(ring), batch=ANY_BATCH)
    assert not report.ok
    assert [(f.code, f.position) for f in report.failures] == [("E_GENESIS", 0)]
    assert report.count == 3
    assert report.batch_id is None
    assert report.head == chain[-1]
    expected = report_chain(raws(chain[1:]), options(ring), batch=chain[0].event_id)
    assert [(f.code, f.position) for f in expected.failures] == [("E_GENESIS", 0)]
    other = report_chain(raws(chain[1:]), options(ring), batch=bytes(32))
    assert [(f.code, f.position) for f in other.failures] == [("E_GENESIS", 0), ("E_BATCH", 1), ("E_BATCH", 2)]


def test_report_ok(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    report = report_chain(raws(chain), options(ring), batch=ANY_BATCH)
    assert report.ok
    assert report.failures == ()
    assert report.head == chain[-1]


def test_report_max_failures(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    report = report_chain([b"x"] * 50, options(ring), batch=ANY_BATCH, max_failures=10)
    assert len(report.failures) == 10
    assert not report.ok


def test_keyring_kid_collision_tries_every_key(chain: list[op.SignedEvent]) -> None:
    """Two keys under one kid (built by hand: a real collision needs SHA-256 to break): both are tried."""
    kid = key(1).key_id
    for order in ((key(2).public_key, key(1).public_key), (key(1).public_key, key(2).public_key)):
        ring = op.KeyRing({kid: order})
        assert len(ring) == 2
        assert op.verify_chain(raws(chain), options(ring), batch=ANY_BATCH).count == 4
    wrong_only = op.KeyRing({kid: (key(2).public_key, key(3).public_key)})
    assert failure(raws(chain), wrong_only).code == "E_SIGNATURE"


def test_keyring_of() -> None:
    ring = op.KeyRing.of([key(1).public_key, key(1).public_key, key(2).public_key])
    assert len(ring) == 2
    assert set(ring) == {key(1).public_key, key(2).public_key}
    assert ring.candidates(key(1).key_id) == (key(1).public_key,)
    assert ring.candidates(b"\x00" * 32) == ()
    with pytest.raises(TypeError):
        op.KeyRing.of([key(1).public_key.raw])  # type: ignore[list-item]


def test_error_to_dict(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    err = failure([chain[0].raw, chain[2].raw], ring)
    d = err.to_dict()
    assert d["code"] == "E_SEQ"
    assert (d["position"], d["seq"], d["batch_id"]) == (1, 2, chain[0].event_id.hex())
    assert d["event_id"] == chain[2].event_id.hex()
    assert d["key_id"] == key(1).key_id.hex()
    assert "E_SEQ" in str(err)


def test_parsed_event_with_tampered_fields_is_rechecked(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    """A SignedEvent object is checked by its raw bytes: a flipped signature bit in them fails."""
    raw = chain[1].raw
    bad = dataclasses.replace(
        chain[1], envelope=dataclasses.replace(chain[1].envelope, raw=raw[:-1] + bytes([raw[-1] ^ 1]))
    )
    err = failure([chain[0], bad], ring)  # type: ignore[list-item]
    assert err.code == "E_SIGNATURE"


def test_edited_event_object_is_verified_by_its_bytes(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    forged_body = dataclasses.replace(chain[2].body, data={"moisture": "99"})
    forged = dataclasses.replace(chain[2], body=forged_body)
    summary = op.verify_chain([chain[0], chain[1], forged, chain[3]], options(ring), batch=ANY_BATCH)
    # The verifier decodes the signed bytes, so the edited attribute never reaches the caller.
    assert summary.count == 4
    verifier = ChainVerifier(options(ring), batch=ANY_BATCH)
    for e in chain[:2]:
        verifier.feed(e)
    assert verifier.feed(forged).body.data["moisture"] == "12.5"


def test_first_step_may_record_a_time_before_the_genesis(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    """The genesis is when the record was opened; steps entered from paper may predate it (docs/format.md §8)."""
    genesis = open_batch(sample_genesis(time=datetime(2026, 11, 26, 9, 0, tzinfo=UTC)), coop)
    where = op.Location(name="Nghi Sơn, Thanh Hóa")
    harvest = append_step(genesis, coop, step="commissioning", time=datetime(2024, 11, 2, tzinfo=UTC), location=where)
    drying = append_step(harvest, coop, step="ocop:drying", time=datetime(2024, 11, 3, tzinfo=UTC), location=where)
    assert op.verify_chain([genesis.raw, harvest.raw, drying.raw], options(ring), batch=ANY_BATCH).count == 3
    # From the first step on, time does not go backwards beyond the tolerance.
    back = append_step(drying, coop, step="packing", time=datetime(2024, 11, 2, 23, 0, tzinfo=UTC), location=where)
    with pytest.raises(op.ChainError) as info:
        op.verify_chain([genesis.raw, harvest.raw, drying.raw, back.raw], options(ring), batch=ANY_BATCH)
    assert (info.value.code, info.value.position) == ("E_TIME", 3)
