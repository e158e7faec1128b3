"""Snapshot of ``ocop_provenance.tlog``: changing it must be a deliberate edit of this file (and a CHANGELOG line)."""

from __future__ import annotations

import ocop_provenance as op
from ocop_provenance import tlog

PUBLIC = {
    "AddCheckpoint",
    "Appended",
    "COSIGNATURE_V1",
    "Checkpoint",
    "Cosigned",
    "Cosigner",
    "ED25519",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "HashReader",
    "HeadLike",
    "LEAF_MAGIC",
    "LeafPair",
    "LogError",
    "LogLeaf",
    "LogState",
    "MemoryTree",
    "Node",
    "NoteKey",
    "NoteSignature",
    "NoteSigner",
    "RECEIPT_MAGIC",
    "Receipt",
    "SignedNote",
    "SplitViewError",
    "VerifiedCheckpoint",
    "VerifiedReceipt",
    "VerifiedSignature",
    "WitnessConflictError",
    "add_cosignatures",
    "append_leaf_hashes",
    "check_extends",
    "consistency_proof",
    "fork_proof",
    "fork_proof_for",
    "inclusion_proof",
    "keys_in_note",
    "leaf_hash",
    "leaf_pairs_to_check",
    "make_receipt",
    "node_hash",
    "open_checkpoint",
    "sign_checkpoint",
    "subtree_nodes",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
    "verify_log_leaves",
    "verify_note",
    "verify_receipt",
    "witness_add_checkpoint",
    "witness_http_status",
}


def test_all_is_the_snapshot() -> None:
    assert set(tlog.__all__) == PUBLIC
    assert len(tlog.__all__) == len(set(tlog.__all__))
    for name in tlog.__all__:
        assert hasattr(tlog, name), name


def test_error_tree_and_codes() -> None:
    assert issubclass(tlog.LogError, op.VerificationError)
    assert tlog.LogError.code == "E_LOG"
    assert tlog.SplitViewError.__bases__ == (tlog.LogError,)
    assert tlog.SplitViewError.code == "E_LOG_CONSISTENCY"
    assert tlog.WitnessConflictError.__bases__ == (tlog.LogError,)
    assert tlog.WitnessConflictError.code == "E_WITNESS_CONFLICT"


def test_constants() -> None:
    assert tlog.LEAF_MAGIC == "ocop-log-leaf"
    assert tlog.RECEIPT_MAGIC == "ocop-log-receipt"
    assert (tlog.ED25519, tlog.COSIGNATURE_V1, tlog.HASH_SIZE) == (1, 4, 32)
    assert tlog.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
