"""Snapshot of the public API: changing it must be a deliberate edit of this file (and a CHANGELOG line)."""

from __future__ import annotations

import ocop_provenance as op

PUBLIC = {
    "Attachment",
    "AuditError",
    "AuditReport",
    "AuthorityPin",
    "BUNDLE_MAGIC",
    "BatchAudit",
    "BatchInfo",
    "BundleBatch",
    "BundleHeader",
    "BundleReader",
    "BundleSummary",
    "CBV_BUSINESS_STEPS",
    "Certificate",
    "ChainError",
    "ChainHead",
    "ChainReport",
    "ChainSummary",
    "ChainVerifier",
    "ConflictError",
    "CrossCheck",
    "DEFAULT_MAX_LINEAGE_BATCHES",
    "DEFAULT_MAX_LINEAGE_DEPTH",
    "DEFAULT_TIME_TOLERANCE",
    "DataValue",
    "DigitalLink",
    "EVENT_TYP",
    "EquivocationProof",
    "Finding",
    "ForkError",
    "FormatError",
    "Genesis",
    "InputRef",
    "KeyFormatError",
    "KeyLookup",
    "KeyRing",
    "KeyStatus",
    "LineageLink",
    "LABEL_PRESETS",
    "Label",
    "LabelLayout",
    "Ledger",
    "Location",
    "MAX_EVENT_SIZE",
    "MIN_MODULE_MM",
    "MissingExtraError",
    "NewStep",
    "NotFoundError",
    "POLICY_TYP",
    "Participant",
    "ParticipantKey",
    "PinnedHead",
    "PinnedState",
    "Policy",
    "PrivateKey",
    "Producer",
    "Product",
    "ProvenanceError",
    "PublicKey",
    "QrCode",
    "RECOMMENDED_MODULE_MM",
    "ROLES",
    "SCAN_HINT",
    "SEAL_TEXT_PREFIX",
    "SEAL_TYP",
    "Seal",
    "SealChainInfo",
    "SealKeys",
    "SealMismatchError",
    "SealStatement",
    "SealVerification",
    "SealedStep",
    "SignatureError",
    "SignedDocument",
    "SignedEvent",
    "Signer",
    "Step",
    "StepAudit",
    "StepRule",
    "StoreError",
    "TRUST_TYP",
    "TamperError",
    "TrustError",
    "TrustList",
    "UntrustedKeyError",
    "UnverifiedSeal",
    "VerificationError",
    "WeakKeyError",
    "__version__",
    "add_signatures",
    "append_step",
    "audit_bundle",
    "audit_bundles",
    "available_backends",
    "canonical_quantity",
    "circular_02_2024_policy",
    "dried_cordyceps_policy",
    "ed25519_backend",
    "find_forks",
    "gs1_check_digit",
    "gs1_percent_encode",
    "head_of",
    "ensure_qr_extra",
    "make_qr",
    "make_seal",
    "normalise_gtin",
    "open_batch",
    "parse_digital_link",
    "parse_unverified_document",
    "parse_unverified_event",
    "parse_unverified_seal",
    "qr_to_png",
    "qr_to_svg",
    "qr_to_terminal",
    "read_private_key",
    "report_chain",
    "require_trusted_bundle",
    "scan_image",
    "scan_one",
    "seal_units",
    "sign_document",
    "sign_event",
    "sign_policy",
    "sign_trust_list",
    "verify_bundle",
    "verify_chain",
    "verify_policy",
    "verify_seal",
    "verify_trust_list",
    "write_bundle",
    "write_label_sheet",
    "write_private_key",
}

# class -> (direct library base, stable code)
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


def test_all_is_the_snapshot() -> None:
    assert set(op.__all__) == PUBLIC
    assert len(op.__all__) == len(set(op.__all__))


def test_every_public_name_exists() -> None:
    for name in op.__all__:
        assert hasattr(op, name), name


def test_error_tree_and_codes() -> None:
    for name, (base, code) in ERRORS.items():
        cls = getattr(op, name)
        assert cls.code == code
        if base is not None:
            assert getattr(op, base) in cls.__bases__
    assert issubclass(op.FormatError, ValueError)
    assert issubclass(op.KeyFormatError, ValueError)
    assert issubclass(op.StoreError, OSError)


def test_constants() -> None:
    assert op.EVENT_TYP == "application/ocop-event+cbor"
    assert op.BUNDLE_MAGIC == "ocop-bundle"
    assert op.MAX_EVENT_SIZE == 65536
    assert op.DEFAULT_TIME_TOLERANCE.total_seconds() == 300
