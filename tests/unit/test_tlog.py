"""Leaves, receipts, checkpoints and the client's split-view state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import ocop_provenance as op
import pytest
from ocop_provenance import _cbor, tlog

from tests.conftest import ICT, key, sample_chain
from tests.unit.tlog_helpers import (
    LOG_KEY,
    LOG_SIGNER,
    ORIGIN,
    T0,
    WITNESS_KEYS,
    WITNESSES,
    Portal,
    cosigned,
    fake_head,
)

# ---- leaf ---------------------------------------------------------------------------------------------------------


def test_leaf_round_trip_and_exact_shape() -> None:
    chain = sample_chain(key(1))
    leaf = tlog.LogLeaf.for_head(chain[-1], T0)
    assert tlog.LogLeaf.from_bytes(leaf.to_bytes()) == leaf
    assert _cbor.decode(leaf.to_bytes(), max_size=256) == {
        0: "ocop-log-leaf",
        1: 1,
        2: chain[-1].batch_id,
        3: 3,
        4: chain[-1].event_id,
        5: "2025-03-01T08:00:00Z",
    }
    assert leaf.leaf_hash == tlog.leaf_hash(leaf.to_bytes())
    assert (leaf.batch_id, leaf.seq, leaf.event_id) == (chain[0].event_id, 3, chain[-1].event_id)


def test_leaf_time_is_utc_whole_seconds() -> None:
    leaf = tlog.LogLeaf.for_head(fake_head(1), datetime(2025, 3, 1, 22, 0, tzinfo=ICT))  # normalised to UTC
    assert _cbor.decode(leaf.to_bytes(), max_size=256)[5] == "2025-03-01T15:00:00Z"
    with pytest.raises(op.FormatError) as e:
        tlog.LogLeaf.for_head(fake_head(1), datetime(2025, 3, 1))
    assert e.value.code == "E_FIELD"
    with pytest.raises(op.FormatError):
        tlog.LogLeaf.for_head(fake_head(1), T0.replace(microsecond=5))


def _leaf_map() -> dict[int, object]:
    return {0: "ocop-log-leaf", 1: 1, 2: b"\x01" * 32, 3: 7, 4: b"\x02" * 32, 5: "2025-03-01T08:00:00Z"}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({0: "ocop-log-leaf2"}, "E_SCHEMA"),
        ({1: 2}, "E_VERSION"),
        ({1: True}, "E_VERSION"),
        ({6: 0}, "E_SCHEMA"),
        ({2: b"\x01" * 31}, "E_FIELD"),
        ({3: -1}, "E_FIELD"),
        ({3: 2**63}, "E_FIELD"),
        ({4: "id"}, "E_FIELD"),
        ({5: "2025-03-01 08:00:00"}, "E_SCHEMA"),
        ({5: "2025-02-30T08:00:00Z"}, "E_FIELD"),
    ],
)
def test_leaf_parser_is_strict(change: dict[int, object], code: str) -> None:
    m = {**_leaf_map(), **change}
    with pytest.raises(op.FormatError) as e:
        tlog.LogLeaf.from_bytes(_cbor.encode(m))
    assert e.value.code == code


def test_leaf_parser_refuses_non_canonical_cbor_and_missing_labels() -> None:
    good = _cbor.encode(_leaf_map())
    with pytest.raises(op.FormatError) as e:
        tlog.LogLeaf.from_bytes(good + b"\x00")
    assert e.value.code == "E_TRAILING"
    m = _leaf_map()
    del m[5]
    with pytest.raises(op.FormatError) as e:
        tlog.LogLeaf.from_bytes(_cbor.encode(m))
    assert e.value.code == "E_SCHEMA"
    with pytest.raises(op.FormatError) as e:
        tlog.LogLeaf.from_bytes(b"\xa0" * 300)
    assert e.value.code == "E_SIZE"


# ---- receipt ------------------------------------------------------------------------------------------------------


@pytest.fixture
def portal() -> Portal:
    p = Portal()
    for n in range(11):
        p.publish(fake_head(n, seq=n, batch=n % 3))
    return p


def test_receipt_round_trips_in_cbor_and_tlog_proof_form(portal: Portal) -> None:
    r = portal.receipt(6)
    assert tlog.Receipt.from_bytes(r.to_bytes()) == r
    text = r.to_tlog_proof()
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert "\nindex 6\n" in text
    assert tlog.Receipt.from_tlog_proof(text) == r
    assert tlog.Receipt.from_tlog_proof(text.encode()) == r
    assert r.unverified_origin == ORIGIN


def test_verify_receipt_with_witnesses(portal: Portal) -> None:
    note = cosigned(portal.note(), *WITNESSES[:2], when=T0)
    r = portal.receipt(4, note)
    got = tlog.verify_receipt(
        r.to_bytes(), LOG_KEY, witness_keys=WITNESS_KEYS, witnesses=2, expect=fake_head(4, seq=4, batch=1)
    )
    assert got.index == 4
    assert got.leaf == portal.leaves[4]
    assert got.checkpoint.size == 11
    assert {c.key for c in got.checkpoint.cosignatures} == set(WITNESS_KEYS[:2])
    assert got.checkpoint.witnessed_by == T0
    with pytest.raises(tlog.LogError) as e:
        tlog.verify_receipt(r, LOG_KEY, witness_keys=WITNESS_KEYS, witnesses=3)
    assert e.value.code == "E_LOG_WITNESSES"


def test_receipt_for_another_head_is_refused(portal: Portal) -> None:
    r = portal.receipt(4)
    for other in (fake_head(4, seq=5, batch=1), fake_head(5, seq=4, batch=1), fake_head(4, seq=4, batch=2)):
        with pytest.raises(tlog.LogError) as e:
            tlog.verify_receipt(r, LOG_KEY, expect=other)
        assert e.value.code == "E_LOG_LEAF"


def test_receipt_with_a_wrong_index_or_proof_fails_inclusion(portal: Portal) -> None:
    r = portal.receipt(4)
    for bad in (
        replace(r, index=5),
        replace(r, proof=r.proof[:-1]),
        replace(r, proof=(*r.proof, r.proof[0])),
        replace(r, proof=(r.proof[1], r.proof[0], *r.proof[2:])),
        replace(r, leaf=portal.leaves[5].to_bytes()),
    ):
        with pytest.raises(tlog.LogError) as e:
            tlog.verify_receipt(bad, LOG_KEY)
        assert e.value.code == "E_LOG_INCLUSION"


def test_receipt_from_another_log_or_key(portal: Portal) -> None:
    r = portal.receipt(1)
    other_key = tlog.NoteKey.for_log(ORIGIN, key(50).public_key)
    with pytest.raises(tlog.LogError) as e:
        tlog.verify_receipt(r, other_key)
    assert e.value.code == "E_LOG_SIGNATURE"
    with pytest.raises(tlog.LogError) as e:
        tlog.verify_receipt(r, LOG_KEY, origin="ocop.hanoi.gov.vn/tlog/1")
    assert e.value.code == "E_LOG_ORIGIN"
    # A log whose key name is its origin but whose checkpoint names another origin.
    liar = tlog.NoteSigner("ocop.hanoi.gov.vn/tlog/1", key(40))
    cp = tlog.Checkpoint.parse(portal.note().text)
    note = tlog.SignedNote(cp.body, (liar.sign(cp.body),))
    with pytest.raises(tlog.LogError) as e:
        tlog.open_checkpoint(note, liar.key)
    assert e.value.code == "E_LOG_ORIGIN"
    with pytest.raises(op.KeyFormatError):
        tlog.sign_checkpoint(cp, liar)


def test_a_bad_signature_of_a_known_witness_refuses_the_note(portal: Portal) -> None:
    note = cosigned(portal.note(), WITNESSES[0])
    sig = note.signatures[1]
    broken = tlog.NoteSignature(sig.name, sig.key_hash, sig.signature[:-1] + bytes([sig.signature[-1] ^ 1]))
    bad = tlog.SignedNote(note.text, (note.signatures[0], broken))
    with pytest.raises(tlog.LogError) as e:
        tlog.open_checkpoint(bad, LOG_KEY, witness_keys=WITNESS_KEYS)
    assert e.value.code == "E_LOG_SIGNATURE"
    # A verifier that does not know that witness ignores the line.
    assert tlog.open_checkpoint(bad, LOG_KEY).size == 11


def test_unknown_signatures_are_ignored_and_witnesses_count_by_key(portal: Portal) -> None:
    note = cosigned(portal.note(), WITNESSES[0], WITNESSES[0], when=T0)
    note = cosigned(note, WITNESSES[0], when=T0 + timedelta(seconds=1))  # same witness, another time: one key
    stranger = tlog.Cosigner(WITNESSES[1].name, key(60))  # shares a name, not the key hash
    note = cosigned(note, stranger)
    cp = tlog.open_checkpoint(note, LOG_KEY, witness_keys=WITNESS_KEYS, witnesses=1)
    assert len(cp.cosignatures) == 1
    with pytest.raises(tlog.LogError) as e:
        tlog.open_checkpoint(note, LOG_KEY, witness_keys=WITNESS_KEYS, witnesses=2)
    assert e.value.code == "E_LOG_WITNESSES"


def test_open_checkpoint_argument_checks(portal: Portal) -> None:
    note = portal.note()
    with pytest.raises(op.KeyFormatError) as e:
        tlog.open_checkpoint(note, WITNESS_KEYS[0])
    assert e.value.code == "E_VKEY"
    with pytest.raises(op.KeyFormatError):
        tlog.open_checkpoint(note, LOG_KEY, witness_keys=[LOG_KEY])
    with pytest.raises(op.FormatError) as e:
        tlog.open_checkpoint(note, LOG_KEY, witness_keys=WITNESS_KEYS[:1], witnesses=2)
    assert e.value.code == "E_LOG_RANGE"


def test_an_empty_tree_must_have_the_empty_root() -> None:
    cp = tlog.Checkpoint(origin=ORIGIN, size=0, root_hash=b"\x01" * 32)
    with pytest.raises(tlog.LogError) as e:
        tlog.open_checkpoint(tlog.sign_checkpoint(cp, LOG_SIGNER), LOG_KEY)
    assert e.value.code == "E_LOG_EMPTY_ROOT"
    empty = tlog.Checkpoint(origin=ORIGIN, size=0, root_hash=tlog.EMPTY_ROOT)
    assert tlog.open_checkpoint(tlog.sign_checkpoint(empty, LOG_SIGNER), LOG_KEY).size == 0


def test_make_receipt_checks_the_store(portal: Portal) -> None:
    note = portal.note()
    forged = tlog.LogLeaf.for_head(fake_head(99), T0)
    with pytest.raises(op.StoreError) as e:
        tlog.make_receipt(forged, 3, note, portal.tree)
    assert e.value.code == "E_LOG_STORE"


# ---- notes and keys -----------------------------------------------------------------------------------------------


def test_vkeys_round_trip_for_log_and_witness() -> None:
    for k in (LOG_KEY, *WITNESS_KEYS):
        assert tlog.NoteKey.from_vkey(k.to_vkey()) == k
    assert LOG_KEY.to_vkey().startswith(ORIGIN + "+")
    assert WITNESS_KEYS[0].sig_type == tlog.COSIGNATURE_V1


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\tb", "tên\u00a0lạ"])
def test_bad_key_names(name: str) -> None:
    with pytest.raises(op.KeyFormatError) as e:
        tlog.NoteKey(name, key(1).public_key)
    assert e.value.code == "E_VKEY"


def test_vietnamese_key_names_and_origins_survive() -> None:
    signer = tlog.NoteSigner("nhật-ký.ocop.việt.nam/1", key(3))
    cp = tlog.Checkpoint(origin=signer.name, size=0, root_hash=tlog.EMPTY_ROOT)
    note = tlog.sign_checkpoint(cp, signer)
    again = tlog.SignedNote.parse(note.to_bytes())
    assert tlog.open_checkpoint(again, tlog.NoteKey.from_vkey(signer.key.to_vkey())).origin == signer.name


@pytest.mark.parametrize(
    "text",
    [
        "o\n1\nAAAA\n",  # root hash not 32 bytes
        "o\n01\n" + "A" * 43 + "=\n",  # leading zero
        "o\n+1\n" + "A" * 43 + "=\n",
        "o\n1\n" + "A" * 43 + "=",  # no final newline
        "o\n1\n",  # too few lines
        "\n1\n" + "A" * 43 + "=\n",  # empty origin
        "o\n1\n" + "A" * 43 + "=\n\n",  # empty extension line
        "o\n18446744073709551616\n" + "A" * 43 + "=\n",  # 2**64
        "o\n1\n" + "A" * 42 + "B=\n",  # non-canonical base64 (padding bits)
    ],
)
def test_checkpoint_parser_is_strict(text: str) -> None:
    with pytest.raises(op.FormatError) as e:
        tlog.Checkpoint.parse(text)
    assert e.value.code == "E_CHECKPOINT"


def test_checkpoint_extensions_round_trip() -> None:
    cp = tlog.Checkpoint(origin=ORIGIN, size=5, root_hash=b"\x07" * 32, extensions=("Timestamp: 1", "x"))
    assert tlog.Checkpoint.parse(cp.body) == cp


@pytest.mark.parametrize(
    "data",
    [
        b"a\n\n\xe2\x80\x94 k AAAAAA==\n",  # a signature of fewer than 5 bytes
        b"a\n\n\xe2\x80\x94 k  AAAAAAAA\n",  # two spaces
        b"a\n\n- k AAAAAAAA\n",  # not an em dash
        b"a\r\n\n\xe2\x80\x94 k AAAAAAAA\n",  # carriage return
        b"a\n\n\xe2\x80\x94 k AAAAAAB=\n",  # non-canonical base64 (padding bits)
    ],
)
def test_note_parser_refusals(data: bytes) -> None:
    with pytest.raises(op.FormatError) as e:
        tlog.SignedNote.parse(data)
    assert e.value.code == "E_NOTE"


def test_note_size_limit() -> None:
    with pytest.raises(op.FormatError) as e:
        tlog.SignedNote.parse(b"a" * (128 * 1024 + 1))
    assert e.value.code == "E_SIZE"


def test_with_signatures_drops_repeats() -> None:
    note = tlog.sign_checkpoint(tlog.Checkpoint(origin=ORIGIN, size=0, root_hash=tlog.EMPTY_ROOT), LOG_SIGNER)
    assert note.with_signatures(note.signatures) == note


class BadSigner:
    public_key = key(1).public_key

    def sign(self, message: bytes) -> bytes:
        return b"short"


def test_a_signer_returning_garbage_is_refused() -> None:
    with pytest.raises(op.SignatureError) as e:
        tlog.NoteSigner("x", BadSigner()).sign("a\n")
    assert e.value.code == "E_SIGNER"
    with pytest.raises(TypeError):
        tlog.NoteSigner("x", object())  # type: ignore[arg-type]


def test_cosignature_time_must_be_aware() -> None:
    with pytest.raises(op.FormatError) as e:
        WITNESSES[0].cosign("a\n", datetime(2025, 1, 1))
    assert e.value.code == "E_FIELD"
    with pytest.raises(op.FormatError):
        WITNESSES[0].cosign("a\n", datetime(1960, 1, 1, tzinfo=UTC))


# ---- split-view state -----------------------------------------------------------------------------------------------


def test_state_follows_a_growing_log(portal: Portal) -> None:
    state = tlog.LogState.start(tlog.open_checkpoint(portal.note(5), LOG_KEY))
    for size in (5, 8, 11):
        new = tlog.open_checkpoint(portal.note(size), LOG_KEY)
        state = state.update(new, portal.tree.consistency_proof(state.checkpoint.size, size))
        assert state.checkpoint.size == size
    again = tlog.LogState.from_note(state.note, LOG_KEY)
    assert again == state


def test_state_after_an_empty_tree_takes_any_tree_without_proof(portal: Portal) -> None:
    empty = tlog.open_checkpoint(portal.note(0), LOG_KEY)
    state = tlog.LogState.start(empty)
    assert state.update(tlog.open_checkpoint(portal.note(), LOG_KEY), ()).checkpoint.size == 11
    with pytest.raises(tlog.SplitViewError) as e:
        state.update(tlog.open_checkpoint(portal.note(), LOG_KEY), (b"\x00" * 32,))
    assert e.value.code == "E_LOG_CONSISTENCY"


def test_state_refuses_rollback_and_another_log(portal: Portal) -> None:
    state = tlog.LogState.start(tlog.open_checkpoint(portal.note(), LOG_KEY))
    with pytest.raises(tlog.SplitViewError) as e:
        state.update(tlog.open_checkpoint(portal.note(7), LOG_KEY), ())
    assert e.value.code == "E_LOG_ROLLBACK"
    assert e.value.previous == state.note
    other = tlog.NoteSigner("ocop.hanoi.gov.vn/tlog/1", key(40))
    cp = tlog.Checkpoint(origin=other.name, size=11, root_hash=portal.tree.root())
    with pytest.raises(tlog.LogError) as e2:
        state.update(tlog.open_checkpoint(tlog.sign_checkpoint(cp, other), other.key), ())
    assert e2.value.code == "E_LOG_ORIGIN"


# ---- keys without names (PEM files) -------------------------------------------------------------------------------


def test_bare_public_keys_find_their_lines(portal: Portal) -> None:
    note = cosigned(portal.note(), *WITNESSES)
    (log_key,) = tlog.keys_in_note(note, LOG_SIGNER.signer.public_key, tlog.ED25519)
    assert log_key == LOG_KEY
    found = [k for w in WITNESSES for k in tlog.keys_in_note(note, w.signer.public_key, tlog.COSIGNATURE_V1)]
    assert found == list(WITNESS_KEYS)
    assert tlog.keys_in_note(note, key(77).public_key, tlog.COSIGNATURE_V1) == ()
    assert tlog.open_checkpoint(note, log_key, witness_keys=found, witnesses=3).size == 11


def test_one_witness_key_under_two_names_counts_once(portal: Portal) -> None:
    alias = tlog.Cosigner("another-name.example", WITNESSES[0].signer)
    note = cosigned(portal.note(), WITNESSES[0], alias)
    keys = [WITNESSES[0].key, alias.key]
    cp = tlog.open_checkpoint(note, LOG_KEY, witness_keys=keys, witnesses=1)
    assert len(cp.cosignatures) == 1
    with pytest.raises(op.FormatError) as e:  # two names of one key are one witness: k = 2 is out of range
        tlog.open_checkpoint(note, LOG_KEY, witness_keys=keys, witnesses=2)
    assert e.value.code == "E_LOG_RANGE"
