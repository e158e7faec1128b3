"""ocop-provenance: signed, hash-chained, offline-verifiable records of OCOP production batches.

Every production step is an Ed25519-signed COSE_Sign1 event, chained by hash to the batch's previous event;
a bundle carries a batch and its upstream batches for offline audit. See docs/ for the format and threat model.

The root holds the names most users need. The rest is grouped by audience (docs/api.md):

* :mod:`ocop_provenance.events` — core format and verification (events, chains, bundles, keys);
* :mod:`ocop_provenance.trust` — trust lists, process policies and audits;
* :mod:`ocop_provenance.ledger` — the producer's ledger;
* :mod:`ocop_provenance.seals` — seals, QR codes and label sheets;
* :mod:`ocop_provenance.gs1` — GS1 Digital Link and identifier helpers.

Names that lived at the root before 0.2 still resolve there, with a :class:`DeprecationWarning` naming their home.
"""

import importlib
import warnings
from typing import Any

from ._audit import audit_bundle
from ._bundle import verify_bundle
from ._errors import (
    AttachmentReadError,
    ChainError,
    ConflictError,
    ErrorCode,
    ForkError,
    FormatError,
    KeyFormatError,
    NotFoundError,
    ProvenanceError,
    SignatureError,
    StoreError,
    TamperError,
    UntrustedKeyError,
    VerificationError,
    WeakKeyError,
)
from ._keys import PrivateKey, PublicKey, Signer, read_private_key, write_private_key
from ._ledger import Ledger, NewStep
from ._model import Attachment, Certificate, Correction, Genesis, InputRef, Location, Producer, Product, Step
from ._seal import verify_seal
from ._trust import VerifiedTrustList, verify_trust_list
from ._verify import ANY_BATCH, NO_CLOCK, KeyRing, VerifyOptions, verify_chain
from ._wire import SignedEvent

__version__ = "0.2.0.dev0"

__all__ = [
    "ANY_BATCH",
    "NO_CLOCK",
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
]

# Names that lived at the root before 0.2, and the public module that holds each now.
_MOVED = {
    "events": (
        "BUNDLE_MAGIC CBV_BUSINESS_STEPS DEFAULT_TIME_TOLERANCE EVENT_TYP MAX_EVENT_SIZE BundleBatch BundleHeader "
        "BundleReader BundleSummary ChainHead ChainReport ChainSummary ChainVerifier DataValue EquivocationProof "
        "LineageLink append_step available_backends canonical_quantity ed25519_backend find_forks head_of "
        "open_batch parse_unverified_event report_chain sign_event write_bundle"
    ),
    "trust": (
        "DEFAULT_MAX_LINEAGE_BATCHES DEFAULT_MAX_LINEAGE_DEPTH POLICY_TYP ROLES TRUST_TYP AuditError AuditReport "
        "AuthorityPin BatchAudit CrossCheck Finding KeyStatus Participant ParticipantKey PinnedHead PinnedState "
        "Policy SignedDocument StepAudit StepRule TrustError TrustList add_signatures audit_bundles "
        "circular_02_2024_policy dried_cordyceps_policy parse_unverified_document require_trusted_bundle "
        "sign_document sign_policy sign_trust_list verify_policy"
    ),
    "ledger": "BatchInfo",
    "seals": (
        "SEAL_TEXT_PREFIX SEAL_TYP Label LabelLayout MissingExtraError QrCode Seal SealChainInfo SealMismatchError "
        "SealStatement SealVerification SealedStep UnverifiedSeal ensure_qr_extra make_qr make_seal "
        "parse_unverified_seal qr_to_png qr_to_svg qr_to_terminal scan_image scan_one seal_units write_label_sheet"
    ),
    "gs1": "DigitalLink gs1_check_digit gs1_percent_encode normalise_gtin parse_digital_link",
}
_HOME = {name: module for module, names in _MOVED.items() for name in names.split()}


_SUBPACKAGES = frozenset({"events", "trust", "ledger", "seals", "gs1"})


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:  # ``op.trust.TrustList`` works without importing the module first
        return importlib.import_module(f"ocop_provenance.{name}")
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'ocop_provenance' has no attribute {name!r}")
    warnings.warn(
        f"ocop_provenance.{name} moved to ocop_provenance.{module}.{name}; the root name will be removed in 0.3",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(f"ocop_provenance.{module}"), name)


def __dir__() -> list[str]:
    return sorted({*__all__, *_HOME, *_SUBPACKAGES})
