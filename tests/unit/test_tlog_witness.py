"""The witness core, the add-checkpoint exchange, and a portal that rewrites its log (split view)."""

from __future__ import annotations

from datetime import timedelta

import ocop_provenance as op
import pytest
from ocop_provenance import tlog

from tests.conftest import key
from tests.unit.tlog_helpers import LOG_KEY, LOG_SIGNER, ORIGIN, T0, WITNESS_KEYS, WITNESSES, Portal, fake_head

W = WITNESSES[0]


def grown(n: int) -> Portal:
    p = Portal()
    for i in range(n):
        p.publish(fake_head(i, seq=i))
    return p


def submit(
    portal: Portal, last: tlog.Checkpoint | None, old_size: int | None = None, size: int | None = None
) -> tlog.Cosigned:
    held = 0 if last is None else last.size
    old = held if old_size is None else old_size
    note = portal.note(size)
    proof = portal.tree.consistency_proof(old, tlog.Checkpoint.parse(note.text).size) if old else ()
    body = tlog.AddCheckpoint(old, proof, note.to_bytes()).to_bytes()
    request = tlog.AddCheckpoint.parse(body)
    assert request.unverified_origin == ORIGIN
    return tlog.witness_add_checkpoint(request, log_key=LOG_KEY, last=last, cosigner=W, now=T0)


def test_witness_follows_a_growing_log_and_its_cosignatures_verify() -> None:
    portal = grown(3)
    first = submit(portal, None)
    assert first.checkpoint.size == 3
    for i in range(3, 9):
        portal.publish(fake_head(i, seq=i))
    second = submit(portal, first.checkpoint)
    assert second.checkpoint.size == 9
    served = tlog.add_cosignatures(portal.note(), second.response_body, WITNESS_KEYS)
    cp = tlog.open_checkpoint(served, LOG_KEY, witness_keys=WITNESS_KEYS, witnesses=1)
    assert cp.cosignatures[0].key == W.key
    # Same size again: cosigned again (equal roots, no proof).
    assert submit(portal, second.checkpoint).checkpoint == second.checkpoint


def test_request_body_format() -> None:
    portal = grown(4)
    proof = portal.tree.consistency_proof(3, 4)
    body = tlog.AddCheckpoint(3, proof, portal.note().to_bytes()).to_bytes()
    head, _, note = body.partition(b"\n\n")
    assert head.split(b"\n")[0] == b"old 3"
    assert len(head.split(b"\n")) == 1 + len(proof)
    assert note == portal.note().to_bytes()


@pytest.mark.parametrize(
    "body",
    [b"old 01\n\nx", b"new 1\n\nx", b"old 1\nnot base64!\n\nx", b"old 1", b"old -1\n\nx", b"old 1\n" + b"A" * 44],
)
def test_malformed_requests(body: bytes) -> None:
    with pytest.raises(op.FormatError) as e:
        tlog.AddCheckpoint.parse(body)
    assert tlog.witness_http_status(e.value) == 400


def test_too_many_proof_lines() -> None:
    line = b"A" * 43 + b"=\n"
    with pytest.raises(op.FormatError):
        tlog.AddCheckpoint.parse(b"old 1\n" + line * 64 + b"\nx")


def test_witness_refusals_and_their_http_status() -> None:
    portal = grown(6)
    held = submit(portal, None, size=4).checkpoint
    # 409: the caller thinks the witness holds another size; the answer carries the size held.
    with pytest.raises(tlog.WitnessConflictError) as e:
        submit(portal, held, old_size=2)
    assert (e.value.size, tlog.witness_http_status(e.value)) == (4, 409)
    # 400: old size larger than the checkpoint.
    with pytest.raises(op.FormatError) as e2:
        submit(portal, held, old_size=4, size=3)
    assert tlog.witness_http_status(e2.value) == 400
    # 403: not signed by the log's key.
    forger = tlog.NoteSigner(ORIGIN, key(66))
    note = tlog.sign_checkpoint(tlog.Checkpoint.parse(portal.note().text), forger)
    request = tlog.AddCheckpoint(4, portal.tree.consistency_proof(4, 6), note.to_bytes())
    with pytest.raises(tlog.LogError) as e3:
        tlog.witness_add_checkpoint(request, log_key=LOG_KEY, last=held, cosigner=W, now=T0)
    assert tlog.witness_http_status(e3.value) == 403
    # 422: a proof from 0.
    request = tlog.AddCheckpoint(0, (b"\x00" * 32,), portal.note().to_bytes())
    with pytest.raises(tlog.LogError) as e4:
        tlog.witness_add_checkpoint(request, log_key=LOG_KEY, last=None, cosigner=W, now=T0)
    assert tlog.witness_http_status(e4.value) == 422


def test_unknown_errors_map_to_500() -> None:
    # every code is in the one registry now: "unknown" means one the witness's checks never raise
    assert tlog.witness_http_status(op.StoreError("x", code="E_DISK_FULL")) == 500
    assert tlog.witness_http_status(op.ProvenanceError("x")) == 500


# ---- a portal that rewrites its log ---------------------------------------------------------------------------------


def rewritten(original: Portal, keep: int, then: int) -> Portal:
    """The same log key, the first ``keep`` leaves, then other leaves: history rewritten after ``keep``."""
    other = Portal()
    for leaf in original.leaves[:keep]:
        other.leaves.append(leaf)
        other.tree.append(leaf.to_bytes())
    for i in range(then):
        other.publish(fake_head(100 + i, seq=keep + i))
    return other


def test_witness_catches_a_rewritten_log() -> None:
    honest = grown(8)
    held = submit(honest, None).checkpoint
    liar = rewritten(honest, keep=5, then=6)  # size 11, leaves 5.. replaced
    # The liar cannot make a consistency proof from the witness's tree: any proof it sends fails.
    for proof in (liar.tree.consistency_proof(8, 11), honest.tree.consistency_proof(5, 8)):
        request = tlog.AddCheckpoint(8, proof, liar.note().to_bytes())
        with pytest.raises(tlog.SplitViewError) as e:
            tlog.witness_add_checkpoint(request, log_key=LOG_KEY, last=held, cosigner=W, now=T0)
        assert e.value.code == "E_LOG_CONSISTENCY"
        assert tlog.witness_http_status(e.value) == 422
        assert e.value.offered is not None
    # Nor can it get a second tree of the same size cosigned.
    same_size = rewritten(honest, keep=5, then=3)
    request = tlog.AddCheckpoint(8, (), same_size.note().to_bytes())
    with pytest.raises(tlog.SplitViewError):
        tlog.witness_add_checkpoint(request, log_key=LOG_KEY, last=held, cosigner=W, now=T0)


def test_client_with_an_older_checkpoint_catches_a_rewritten_log() -> None:
    honest = grown(8)
    receipt = honest.receipt(6)
    verified = tlog.verify_receipt(receipt, LOG_KEY, expect=fake_head(6, seq=6))
    state = tlog.LogState.start(verified.checkpoint)
    liar = rewritten(honest, keep=5, then=10)
    new = tlog.open_checkpoint(liar.note(), LOG_KEY)  # validly signed by the log's own key
    with pytest.raises(tlog.SplitViewError) as e:
        state.update(new, liar.tree.consistency_proof(8, 15))
    assert e.value.code == "E_LOG_CONSISTENCY"
    # The error carries both signed checkpoints: the evidence against the log.
    assert e.value.previous == state.note
    assert e.value.offered == liar.note().to_text()
    # The liar cannot produce a receipt for the old head in its new tree either.
    with pytest.raises(tlog.LogError):
        tlog.verify_receipt(
            tlog.Receipt(
                leaf=receipt.leaf, index=6, proof=liar.tree.inclusion_proof(6), checkpoint=liar.note().to_bytes()
            ),
            LOG_KEY,
        )


def test_two_checkpoints_of_one_size_are_self_evident_proof() -> None:
    honest = grown(8)
    liar = rewritten(honest, keep=5, then=3)
    state = tlog.LogState.start(tlog.open_checkpoint(honest.note(), LOG_KEY))
    with pytest.raises(tlog.SplitViewError) as e:
        state.update(tlog.open_checkpoint(liar.note(), LOG_KEY), ())
    a = tlog.open_checkpoint(e.value.previous or "", LOG_KEY)
    b = tlog.open_checkpoint(e.value.offered or "", LOG_KEY)
    assert a.size == b.size
    assert a.root_hash != b.root_hash


def test_witness_quorum_protects_an_offline_client() -> None:
    # The log shows the witnesses the honest tree; a receipt from a forked view gathers no cosignature.
    honest = grown(8)
    held = submit(honest, None).checkpoint
    liar = rewritten(honest, keep=5, then=3)
    forked_note = liar.note()
    with pytest.raises(tlog.SplitViewError):
        tlog.witness_add_checkpoint(
            tlog.AddCheckpoint(8, (), forked_note.to_bytes()), log_key=LOG_KEY, last=held, cosigner=W, now=T0
        )
    receipt = tlog.make_receipt(liar.leaves[6], 6, forked_note, liar.tree)
    with pytest.raises(tlog.LogError) as e:
        tlog.verify_receipt(receipt, LOG_KEY, witness_keys=WITNESS_KEYS, witnesses=1)
    assert e.value.code == "E_LOG_WITNESSES"


def test_add_cosignatures_checks_what_witnesses_send() -> None:
    portal = grown(2)
    note = portal.note()
    good = W.cosign(note.text, T0 + timedelta(seconds=3))
    stranger = tlog.Cosigner("witness.unknown.example", key(70)).cosign(note.text, T0)
    served = tlog.add_cosignatures(note, (good.line + stranger.line).encode(), WITNESS_KEYS)
    assert served.signatures == (*note.signatures, good)
    forged = tlog.NoteSignature(good.name, good.key_hash, good.signature[:8] + bytes(64))
    with pytest.raises(tlog.LogError) as e:
        tlog.add_cosignatures(note, forged.line, WITNESS_KEYS)
    assert e.value.code == "E_LOG_SIGNATURE"
    with pytest.raises(op.FormatError):
        tlog.add_cosignatures(note, b"\xff", WITNESS_KEYS)
    assert LOG_SIGNER.key == LOG_KEY
