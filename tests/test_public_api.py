"""Snapshot of the public API: changing it must be a deliberate edit of this file (and a CHANGELOG line).

The root holds the names most users need; the rest lives in public modules grouped by audience (issue 9). Names
that left the root in 0.2 still resolve there with a DeprecationWarning that names their new home.
"""

from __future__ import annotations

import importlib
import pathlib
import re
import warnings

import ocop_provenance as op
import pytest
from ocop_provenance import tlog
from ocop_provenance.events import BUNDLE_MAGIC, DEFAULT_TIME_TOLERANCE, EVENT_TYP, MAX_EVENT_SIZE

ROOT = {
    "ANY_BATCH",
    "Attachment",
    "AttachmentReadError",
    "Certificate",
    "ChainError",
    "ConflictError",
    "Correction",
    "ErrorCode",
    "ForkError",
    "FormatError",
    "Genesis",
    "InputRef",
    "KeyFormatError",
    "KeyRing",
    "Ledger",
    "Location",
    "NO_CLOCK",
    "NewStep",
    "NotFoundError",
    "PrivateKey",
    "Producer",
    "Product",
    "ProvenanceError",
    "PublicKey",
    "SignatureError",
    "SignedEvent",
    "Signer",
    "Step",
    "StoreError",
    "TamperError",
    "UntrustedKeyError",
    "VerificationError",
    "VerifiedTrustList",
    "VerifyOptions",
    "WeakKeyError",
    "__version__",
    "audit_bundle",
    "read_private_key",
    "verify_bundle",
    "verify_chain",
    "verify_seal",
    "verify_trust_list",
    "write_private_key",
}

MODULES = {
    "events": {
        "ANY_BATCH",
        "Attachment",
        "AttachmentCheck",
        "AttachmentReport",
        "AttachmentStatus",
        "BUNDLE_MAGIC",
        "BundleBatch",
        "BundleHeader",
        "BundleReader",
        "BundleSummary",
        "CBV_BUSINESS_STEPS",
        "CORRECTION_STEP",
        "Certificate",
        "ChainHead",
        "ChainReport",
        "ChainSummary",
        "ChainVerifier",
        "Clock",
        "CoseSign1",
        "Correction",
        "CorrectionLog",
        "CorrectionNote",
        "CorrectionStatus",
        "DEFAULT_TIME_TOLERANCE",
        "DataValue",
        "EVENT_TYP",
        "EquivocationProof",
        "Genesis",
        "InputRef",
        "KeyRing",
        "KeySource",
        "KeyWindow",
        "LineageLink",
        "Location",
        "MAX_CORRECTION_DISTANCE",
        "MAX_EVENT_SIZE",
        "NO_CLOCK",
        "Producer",
        "Product",
        "SignedEvent",
        "Step",
        "Subject",
        "Unchecked",
        "VerifiedEvents",
        "VerifyOptions",
        "append_correction",
        "append_step",
        "available_backends",
        "bundle_order",
        "canonical_quantity",
        "check_attachments",
        "ed25519_backend",
        "find_forks",
        "head_of",
        "iter_verified",
        "open_batch",
        "parse_unverified_event",
        "report_chain",
        "sign_event",
        "verify_bundle",
        "verify_chain",
        "write_bundle",
    },
    "trust": {
        "AuditError",
        "AuditReport",
        "AuthorityPin",
        "BatchAudit",
        "CrossCheck",
        "DATA_KINDS",
        "DEFAULT_MAX_LINEAGE_BATCHES",
        "DEFAULT_MAX_LINEAGE_DEPTH",
        "DataRequirement",
        "FIELD_NAMES",
        "Finding",
        "KeyStatus",
        "POLICY_TYP",
        "Participant",
        "ParticipantKey",
        "PinnedHead",
        "PinnedState",
        "Policy",
        "ROLES",
        "SignedDocument",
        "StepAudit",
        "StepRule",
        "StoredTrust",
        "TRUST_TYP",
        "TrustAnchor",
        "TrustError",
        "TrustList",
        "TrustStore",
        "TrustStoreError",
        "VerifiedPolicy",
        "VerifiedTrustList",
        "add_signatures",
        "anchor_id",
        "audit_bundle",
        "audit_bundles",
        "circular_02_2024_policy",
        "dried_cordyceps_policy",
        "genesis_claims",
        "load_trusted_root",
        "parse_unverified_document",
        "require_trusted_bundle",
        "sign_document",
        "sign_policy",
        "sign_trust_list",
        "verify_policy",
        "verify_trust_list",
    },
    "ledger": {
        "BatchInfo",
        "ImportResult",
        "JournalStatus",
        "JournaledHead",
        "Ledger",
        "NewStep",
    },
    "seals": {
        "DOES_NOT_PROVE",
        "DOES_NOT_PROVE_VI",
        "LABEL_PRESETS",
        "Label",
        "LabelLayout",
        "MIN_MODULE_MM",
        "MissingExtraError",
        "PROVES",
        "PROVES_VI",
        "QrCode",
        "RECOMMENDED_MODULE_MM",
        "SCAN_HINT",
        "SEALING_ROLES",
        "SEAL_TEXT_PREFIX",
        "SEAL_TYP",
        "Seal",
        "SealChainInfo",
        "SealMismatchError",
        "SealStatement",
        "SealVerification",
        "SealedStep",
        "UnverifiedSeal",
        "ensure_qr_extra",
        "make_qr",
        "make_seal",
        "parse_unverified_seal",
        "qr_to_png",
        "qr_to_svg",
        "qr_to_terminal",
        "scan_image",
        "scan_one",
        "seal_units",
        "verify_seal",
        "write_label_sheet",
    },
    "gs1": {
        "CBV_BUSINESS_STEPS",
        "DigitalLink",
        "gs1_check_digit",
        "gs1_percent_encode",
        "is_gs1_82",
        "normalise_gtin",
        "parse_digital_link",
    },
    "epcis": {
        "CONTEXT_PREFIXES",
        "EPCIS_CONTEXT",
        "EVENT_HASH_VERSION",
        "LOT_MASTER_DATA",
        "MAX_EPCIS_SIZE",
        "MEASUREMENTS",
        "OCOP_NS",
        "UNITS",
        "EpcisDeclaration",
        "EpcisEvent",
        "EpcisStep",
        "batch_class",
        "check_epcis",
        "correction_log",
        "epcis_document",
        "epcis_event",
        "epcis_event_hash",
        "epcis_prehash",
        "epcis_to_json",
        "read_epcis",
    },
    "tlog": {
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
        "MAX_RECEIPTS",
        "MemoryTree",
        "Node",
        "NoteKey",
        "NoteSignature",
        "NoteSigner",
        "RECEIPTS_MAGIC",
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
    },
}


ERRORS = {
    "ProvenanceError": (None, "E_PROVENANCE"),
    "FormatError": ("ProvenanceError", "E_FORMAT"),
    "KeyFormatError": ("ProvenanceError", "E_KEY_FORMAT"),
    "WeakKeyError": ("KeyFormatError", "E_WEAK_KEY"),
    "VerificationError": ("ProvenanceError", "E_VERIFY"),
    "SignatureError": ("VerificationError", "E_SIGNATURE"),
    "UntrustedKeyError": ("VerificationError", "E_UNKNOWN_KEY"),
    "ChainError": ("VerificationError", "E_CHAIN"),
    "ForkError": ("ChainError", "E_FORK"),
    "StoreError": ("ProvenanceError", "E_STORE"),
    "ConflictError": ("StoreError", "E_CONFLICT"),
    "NotFoundError": ("StoreError", "E_NOT_FOUND"),
    "TamperError": ("StoreError", "E_TAMPERED"),
}

# Errors of the transparency log, public in ocop_provenance.tlog (not at the root).
TLOG_ERRORS = {
    "LogError": ("VerificationError", "E_LOG"),
    "SplitViewError": ("LogError", "E_LOG_CONSISTENCY"),
    "WitnessConflictError": ("LogError", "E_WITNESS_CONFLICT"),
}


def test_root_is_the_snapshot() -> None:
    assert set(op.__all__) == ROOT
    assert len(op.__all__) == len(set(op.__all__))


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_public_module_is_its_snapshot(module: str) -> None:
    names = importlib.import_module(f"ocop_provenance.{module}").__all__
    assert set(names) == MODULES[module]
    assert len(names) == len(set(names))


def test_every_public_name_exists() -> None:
    for name in op.__all__:
        assert hasattr(op, name), name
    for module, names in MODULES.items():
        mod = importlib.import_module(f"ocop_provenance.{module}")
        for name in names:
            assert hasattr(mod, name), f"{module}.{name}"


def test_old_root_names_resolve_with_a_warning_naming_their_home() -> None:
    with pytest.warns(DeprecationWarning, match=r"ocop_provenance\.trust\.TrustList"):
        moved = op.TrustList  # type: ignore[attr-defined]
    assert moved is importlib.import_module("ocop_provenance.trust").TrustList
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert op.events.ChainHead is importlib.import_module("ocop_provenance.events").ChainHead
    with pytest.raises(AttributeError):
        _ = op.no_such_name  # type: ignore[attr-defined]


def test_every_moved_name_is_public_in_its_new_home() -> None:
    for name, module in op._HOME.items():
        assert name in MODULES[module], f"{name} moved to {module} but is not public there"


def test_error_tree_and_codes() -> None:
    for name, (base, code) in ERRORS.items():
        cls = getattr(op, name)
        assert cls.code == code
        if base is not None:
            assert getattr(op, base) in cls.__bases__
    assert issubclass(op.FormatError, ValueError)
    assert issubclass(op.KeyFormatError, ValueError)
    assert issubclass(op.StoreError, OSError)
    for name, (base, code) in TLOG_ERRORS.items():
        cls = getattr(tlog, name)
        assert cls.code == code
        assert cls.__bases__ == (getattr(tlog, base, None) or getattr(op, base),)


def test_every_code_the_library_raises_is_in_the_registry() -> None:
    """A code outside :class:`ErrorCode` cannot be raised (ProvenanceError refuses it) nor written by accident."""
    root = pathlib.Path(op.__file__).parent
    found = {m for p in root.glob("*.py") for m in re.findall(r'"(E_[A-Z0-9_]+)"', p.read_text(encoding="utf-8"))}
    assert found <= {c.value for c in op.ErrorCode}
    with pytest.raises(ValueError):
        op.ProvenanceError("x", code="E_NOT_A_CODE")


def test_constants() -> None:
    assert EVENT_TYP == "application/ocop-event+cbor"
    assert BUNDLE_MAGIC == "ocop-bundle"
    assert MAX_EVENT_SIZE == 65536
    assert DEFAULT_TIME_TOLERANCE.total_seconds() == 300
    assert tlog.LEAF_MAGIC == "ocop-log-leaf"
    assert tlog.RECEIPT_MAGIC == "ocop-log-receipt"
    assert (tlog.ED25519, tlog.COSIGNATURE_V1, tlog.HASH_SIZE) == (1, 4, 32)
    assert tlog.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# Each forbidden contract of pyproject.toml lists the library's private modules by name (import-linter has no
# wildcard): a new private module must join every list, or the contract silently does not cover it.
CONTRACT_EXEMPT = {
    "only _cbor imports cbor2": {"_cbor"},
    "only _keys imports cryptography and nacl": {"_keys", "_parallel"},
    "only _qr, _imagedecode and _labels import the QR, image and PDF libraries (lazily)": {
        "_qr",
        "_imagedecode",
        "_labels",
        "_parallel",
    },
    "only the ledger touches the database, and in it only _ledger._db imports sqlite3": {"_ledger", "_parallel"},
    "CLI uses only the library's public API": set(),
    "the portal uses only the library's public API and never imports the CLI": set(),
}


def _private_modules() -> set[str]:
    root = pathlib.Path(op.__file__).parent
    return {p.stem if p.is_file() else p.name for p in root.iterdir() if p.name.startswith("_") and p.name[1] != "_"
            and (p.suffix == ".py" or (p / "__init__.py").exists())}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CONTRACT_EXEMPT))
def test_forbidden_contracts_name_every_private_module(name: str) -> None:
    import tomllib

    config = tomllib.loads((pathlib.Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["name"] == name]
    outside = contract["source_modules"] in (["ocop_cli"], ["ocop_portal"])
    listed = contract["forbidden_modules"] if outside else contract["source_modules"]
    named = {m.removeprefix("ocop_provenance.") for m in listed if m.startswith("ocop_provenance._")}
    missing = _private_modules() - named - CONTRACT_EXEMPT[name]
    assert not missing, f"{name!r} does not name {sorted(missing)}"


@pytest.mark.parametrize("module", ["ocop_provenance", *(f"ocop_provenance.{m}" for m in sorted(MODULES))])
def test_docs_api_names_every_public_name(module: str) -> None:
    text = (pathlib.Path(__file__).parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split(f"## `{module}`\n", 1)
    assert len(section) == 2, f"docs/api.md has no section for {module}"
    body = section[1].split("\n## ", 1)[0]
    names = {n for n in importlib.import_module(module).__all__ if not n.startswith("__")}
    missing = sorted(n for n in names if f"| `{n}` |" not in body)
    assert not missing, f"docs/api.md does not list {missing} under {module}"
