"""The transparency log of published batch heads (``from ocop_provenance import tlog``).

A portal appends a :class:`LogLeaf` per accepted publication to an RFC 6962 Merkle tree it stores as
complete-subtree hashes (:func:`append_leaf_hashes`, :func:`tree_root`, :func:`inclusion_proof`,
:func:`consistency_proof` over a :class:`HashReader`), signs C2SP checkpoints (:class:`Checkpoint`,
:class:`NoteSigner`, :func:`sign_checkpoint`) and hands out :class:`Receipt` values (:func:`make_receipt`).

Clients verify receipts offline (:func:`verify_receipt`), checkpoints (:func:`open_checkpoint`) and that a log never
rewrites what they saw (:class:`LogState`). Witnesses cosign (:func:`witness_add_checkpoint`, :class:`Cosigner`);
monitors look for forks (:func:`verify_log_leaves`, :func:`leaf_pairs_to_check`, :func:`fork_proof_for`). A bundle's
receipts travel in a receipts file (:func:`encode_receipts`, :func:`decode_receipts`); :func:`verify_heads_logged`
checks that each head of a bundle is logged.

Formats: docs/format.md §18; the model of who can do what: docs/transparency.md.
"""

from ._errors import LogError, SplitViewError, WitnessConflictError
from ._merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Appended,
    HashReader,
    MemoryTree,
    Node,
    append_leaf_hashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    subtree_nodes,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from ._monitor import LeafPair, fork_proof, fork_proof_for, leaf_pairs_to_check, verify_log_leaves
from ._note import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    Cosigner,
    NoteKey,
    NoteSignature,
    NoteSigner,
    SignedNote,
    VerifiedSignature,
    keys_in_note,
    verify_note,
)
from ._receipts import (
    MAX_RECEIPTS,
    RECEIPTS_MAGIC,
    decode_receipts,
    encode_receipts,
    verify_heads_logged,
)
from ._tlog import (
    LEAF_MAGIC,
    RECEIPT_MAGIC,
    HeadLike,
    LogLeaf,
    LogState,
    Receipt,
    VerifiedCheckpoint,
    VerifiedReceipt,
    check_extends,
    make_receipt,
    open_checkpoint,
    sign_checkpoint,
    verify_receipt,
)
from ._witness import AddCheckpoint, Cosigned, add_cosignatures, witness_add_checkpoint, witness_http_status

__all__ = [
    "COSIGNATURE_V1",
    "ED25519",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_MAGIC",
    "MAX_RECEIPTS",
    "RECEIPTS_MAGIC",
    "RECEIPT_MAGIC",
    "AddCheckpoint",
    "Appended",
    "Checkpoint",
    "Cosigned",
    "Cosigner",
    "HashReader",
    "HeadLike",
    "LeafPair",
    "LogError",
    "LogLeaf",
    "LogState",
    "MemoryTree",
    "Node",
    "NoteKey",
    "NoteSignature",
    "NoteSigner",
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
    "decode_receipts",
    "encode_receipts",
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
    "verify_heads_logged",
    "verify_inclusion",
    "verify_log_leaves",
    "verify_note",
    "verify_receipt",
    "witness_add_checkpoint",
    "witness_http_status",
]
