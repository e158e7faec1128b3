"""Snapshot of the public API: changing it must be a deliberate edit of this file (and a CHANGELOG line)."""

from __future__ import annotations

import ocop_provenance as op

PUBLIC = {
    "Attachment",
    "BUNDLE_MAGIC",
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
    "DEFAULT_TIME_TOLERANCE",
    "DataValue",
    "EVENT_TYP",
    "EquivocationProof",
    "ForkError",
    "FormatError",
    "Genesis",
    "InputRef",
    "KeyFormatError",
    "KeyRing",
    "Location",
    "MAX_EVENT_SIZE",
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
    "WeakKeyError",
    "__version__",
    "append_step",
    "available_backends",
    "canonical_quantity",
    "ed25519_backend",
    "find_forks",
    "gs1_check_digit",
    "head_of",
    "open_batch",
    "parse_unverified_event",
    "read_private_key",
    "report_chain",
    "sign_event",
    "verify_bundle",
    "verify_chain",
    "write_bundle",
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
