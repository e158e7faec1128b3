"""The library's exceptions: one root, typed subclasses, a stable code from one registry on each.

The tree::

    ProvenanceError
    ├── FormatError (also ValueError)     malformed, non-deterministic or oversized bytes; invalid field values
    ├── KeyFormatError (also ValueError)  unreadable key material, wrong passphrase, unsafe key file
    │   └── WeakKeyError                  a small-order or non-canonical Ed25519 public key
    ├── VerificationError                 a well-formed object that must not be trusted
    │   ├── SignatureError                the signature does not verify, or the envelope is not one we accept
    │   ├── UntrustedKeyError             no trusted key matches the signer, or its key may not sign then
    │   ├── ChainError                    link, seq, batch, time, genesis or lineage rules broken
    │   │   └── ForkError                 two validly signed events at one seq (carries the proof)
    │   └── LogError                      a transparency-log checkpoint, proof or receipt that must not be trusted
    │       ├── SplitViewError            two checkpoints that are not one history (carries both notes)
    │       └── WitnessConflictError      the witness has cosigned another size (tlog-witness 409)
    ├── StoreError (also OSError)         the ledger cannot be read or written
    │   ├── ConflictError                 another writer appended first; retry
    │   ├── NotFoundError                 no such batch or key
    │   └── TamperError                   stored bytes no longer match what was signed
    └── AttachmentReadError (also OSError)  a file to check against recorded attachments cannot be read

Every error has a ``code`` from :class:`ErrorCode` (the one registry; docs/format.md §14) that programs and tests
compare, and a lowercase message. *Where* is said by separate fields, never by one overloaded index:
``position`` (the item's 0-based position in the input the called function read: the n-th event of a chain or of a
bundle, the n-th step given to a bulk call), ``batch_id`` and ``seq`` (the event's place in its chain),
``event_id``, ``key_id`` and ``field``. Messages never carry key material.
"""

from __future__ import annotations

import enum
from typing import Any, TypedDict

__all__ = [
    "AttachmentReadError",
    "ChainError",
    "ConflictError",
    "ErrorCode",
    "ForkError",
    "FormatError",
    "KeyFormatError",
    "LogError",
    "NotFoundError",
    "ProvenanceError",
    "SignatureError",
    "SplitViewError",
    "StoreError",
    "TamperError",
    "UntrustedKeyError",
    "VerificationError",
    "WeakKeyError",
    "Where",
    "WitnessConflictError",
]


class ErrorCode(enum.StrEnum):
    """Every stable code the library raises or reports (docs/format.md §14 describes each).

    Members compare equal to their text (``ErrorCode.SIGNATURE == "E_SIGNATURE"``), so programs may use either.
    """

    # roots of the class tree (a subclass raised without a more specific code)
    PROVENANCE = "E_PROVENANCE"
    FORMAT = "E_FORMAT"
    VERIFY = "E_VERIFY"
    CHAIN = "E_CHAIN"
    TRUST = "E_TRUST"
    AUDIT = "E_AUDIT"
    POLICY = "E_POLICY"
    LOG = "E_LOG"
    # deterministic CBOR and limits
    SIZE = "E_SIZE"
    CBOR = "E_CBOR"
    TYPE = "E_TYPE"
    DEPTH = "E_DEPTH"
    TRAILING = "E_TRAILING"
    NONCANONICAL = "E_NONCANONICAL"
    # COSE envelope and payload
    COSE = "E_COSE"
    UNPROTECTED = "E_UNPROTECTED"
    ALG = "E_ALG"
    CRIT = "E_CRIT"
    CONTENT_TYPE = "E_CONTENT_TYPE"
    SCHEMA = "E_SCHEMA"
    FIELD = "E_FIELD"
    VERSION = "E_VERSION"
    ENVELOPE = "E_ENVELOPE"
    # keys and signatures
    KEY_FORMAT = "E_KEY_FORMAT"
    WEAK_KEY = "E_WEAK_KEY"
    PASSPHRASE = "E_PASSPHRASE"  # noqa: S105 - an error code, not a password
    KEY_PERMS = "E_KEY_PERMS"
    SIGNATURE = "E_SIGNATURE"
    SIGNER = "E_SIGNER"
    UNKNOWN_KEY = "E_UNKNOWN_KEY"
    KEY_REVOKED = "E_KEY_REVOKED"
    KEY_NOT_YET_VALID = "E_KEY_NOT_YET_VALID"
    KEY_EXPIRED = "E_KEY_EXPIRED"
    KEY_RETIRED = "E_KEY_RETIRED"
    # chains
    GENESIS = "E_GENESIS"
    BATCH = "E_BATCH"
    SEQ = "E_SEQ"
    DUPLICATE = "E_DUPLICATE"
    FORK = "E_FORK"
    LINK = "E_LINK"
    TIME = "E_TIME"
    FUTURE = "E_FUTURE"
    EMPTY = "E_EMPTY"
    NOT_A_FORK = "E_NOT_A_FORK"
    # bundles and lineage
    BUNDLE = "E_BUNDLE"
    BUNDLE_ORDER = "E_BUNDLE_ORDER"
    BUNDLE_EXTRA = "E_BUNDLE_EXTRA"
    TRUNCATED = "E_TRUNCATED"
    IO = "E_IO"
    INPUT_MISSING = "E_INPUT_MISSING"
    INPUT_HEAD = "E_INPUT_HEAD"
    HEADER_MISMATCH = "E_HEADER_MISMATCH"
    LINEAGE_CYCLE = "E_LINEAGE_CYCLE"
    LINEAGE_DEPTH = "E_LINEAGE_DEPTH"
    LINEAGE_SIZE = "E_LINEAGE_SIZE"
    # corrections and attachments (docs/format.md §19)
    CORRECTION_TARGET = "E_CORRECTION_TARGET"
    CORRECTION_SIGNER = "E_CORRECTION_SIGNER"
    ATTACHMENT_IO = "E_ATTACHMENT_IO"
    # trust lists, policies, audits, pinned state
    TRUST_ROLLBACK = "E_TRUST_ROLLBACK"
    TRUST_CONFLICT = "E_TRUST_CONFLICT"
    TRUST_THRESHOLD = "E_TRUST_THRESHOLD"
    TRUST_EXPIRED = "E_TRUST_EXPIRED"
    CRITICAL_FIELD = "E_CRITICAL_FIELD"
    TRUST_STORE = "E_TRUST_STORE"
    TRUST_STORE_DAMAGED = "E_TRUST_STORE_DAMAGED"
    TRUST_STORE_NO_ANCHOR = "E_TRUST_STORE_NO_ANCHOR"
    TRUST_STORE_AMBIGUOUS = "E_TRUST_STORE_AMBIGUOUS"
    DUPLICATE_KEY = "E_DUPLICATE_KEY"
    POLICY_AUTHORITY = "E_POLICY_AUTHORITY"
    POLICY_EXPIRED = "E_POLICY_EXPIRED"
    POLICY_PRODUCT = "E_POLICY_PRODUCT"
    POLICY_ROLE = "E_POLICY_ROLE"
    POLICY_DATA = "E_POLICY_DATA"
    POLICY_DATA_VALUE = "E_POLICY_DATA_VALUE"
    POLICY_ATTACHMENT = "E_POLICY_ATTACHMENT"
    POLICY_FIELD = "E_POLICY_FIELD"
    POLICY_MISSING_STEP = "E_POLICY_MISSING_STEP"
    POLICY_ORDER = "E_POLICY_ORDER"
    POLICY_EXTRA_STEP = "E_POLICY_EXTRA_STEP"
    POLICY_THRESHOLD = "E_POLICY_THRESHOLD"
    POLICY_BATCH_DATA = "E_POLICY_BATCH_DATA"
    PINNED_FORK = "E_PINNED_FORK"
    PINNED_FORMAT = "E_PINNED_FORMAT"
    ROLLBACK = "E_ROLLBACK"
    CLAIM_MISMATCH = "E_CLAIM_MISMATCH"
    GTIN_NOT_OWNED = "E_GTIN_NOT_OWNED"
    SEAL_ROLE = "E_SEAL_ROLE"
    # seals, links, QR codes and images
    SEAL_PREFIX = "E_SEAL_PREFIX"
    SEAL_MISSING = "E_SEAL_MISSING"
    SEAL_TRUNCATED = "E_SEAL_TRUNCATED"
    SEAL_ENCODING = "E_SEAL_ENCODING"
    SEAL_BATCH = "E_SEAL_BATCH"
    SEAL_HEAD = "E_SEAL_HEAD"
    SEAL_ROLLBACK = "E_SEAL_ROLLBACK"
    SEAL_SIGNER = "E_SEAL_SIGNER"
    SEAL_FUTURE = "E_SEAL_FUTURE"
    SEAL_TIME = "E_SEAL_TIME"
    SEAL_INPUT = "E_SEAL_INPUT"
    SEAL_MISMATCH = "E_SEAL_MISMATCH"
    DL_SYNTAX = "E_DL_SYNTAX"
    DL_ORDER = "E_DL_ORDER"
    DL_QUALIFIER = "E_DL_QUALIFIER"
    DL_CHARSET = "E_DL_CHARSET"
    DL_QUERY = "E_DL_QUERY"
    GTIN = "E_GTIN"
    GTIN_CHECK = "E_GTIN_CHECK"
    QR_CAPACITY = "E_QR_CAPACITY"
    QR_LEVEL = "E_QR_LEVEL"
    NO_CODE = "E_NO_CODE"
    MANY_CODES = "E_MANY_CODES"
    IMAGE_FORMAT = "E_IMAGE_FORMAT"
    IMAGE_TOO_LARGE = "E_IMAGE_TOO_LARGE"
    IMAGE_TIMEOUT = "E_IMAGE_TIMEOUT"
    IMAGE_DECODER = "E_IMAGE_DECODER"
    LABELS_EMPTY = "E_LABELS_EMPTY"
    LABEL_MODULE = "E_LABEL_MODULE"
    LABEL_TEXT = "E_LABEL_TEXT"
    MISSING_EXTRA = "E_MISSING_EXTRA"
    # the ledger
    STORE = "E_STORE"
    CONFLICT = "E_CONFLICT"
    BUSY = "E_BUSY"
    NOT_FOUND = "E_NOT_FOUND"
    AMBIGUOUS = "E_AMBIGUOUS"
    TAMPERED = "E_TAMPERED"
    APPEND_ONLY = "E_APPEND_ONLY"
    CANT_OPEN = "E_CANT_OPEN"
    READ_ONLY = "E_READ_ONLY"
    NOT_LEDGER = "E_NOT_LEDGER"
    CORRUPT = "E_CORRUPT"
    DISK_FULL = "E_DISK_FULL"
    CLOSED = "E_CLOSED"
    NESTED = "E_NESTED"
    LEDGER_ROLLBACK = "E_LEDGER_ROLLBACK"
    HEAD_HANDED_OUT = "E_HEAD_HANDED_OUT"
    JOURNAL_BROKEN = "E_JOURNAL_BROKEN"
    # GS1 EPCIS 2.0 documents (docs/epcis.md; not part of the wire format)
    EPCIS_JSON = "E_EPCIS_JSON"
    EPCIS_FIELD = "E_EPCIS_FIELD"
    EPCIS_UNSUPPORTED = "E_EPCIS_UNSUPPORTED"
    EPCIS_HASH = "E_EPCIS_HASH"
    EPCIS_UNSIGNED = "E_EPCIS_UNSIGNED"
    EPCIS_MISMATCH = "E_EPCIS_MISMATCH"
    # the transparency log (docs/format.md §18.9)
    NOTE = "E_NOTE"
    CHECKPOINT = "E_CHECKPOINT"
    LOG_RANGE = "E_LOG_RANGE"
    VKEY = "E_VKEY"
    LOG_SIGNATURE = "E_LOG_SIGNATURE"
    LOG_ORIGIN = "E_LOG_ORIGIN"
    LOG_EMPTY_ROOT = "E_LOG_EMPTY_ROOT"
    LOG_WITNESSES = "E_LOG_WITNESSES"
    LOG_LEAF = "E_LOG_LEAF"
    LOG_INCLUSION = "E_LOG_INCLUSION"
    LOG_CONSISTENCY = "E_LOG_CONSISTENCY"
    LOG_ROLLBACK = "E_LOG_ROLLBACK"
    WITNESS_CONFLICT = "E_WITNESS_CONFLICT"
    LOG_STORE = "E_LOG_STORE"
    LOG_MISSING = "E_LOG_MISSING"


class Where(TypedDict, total=False):
    """The location fields of an error, as keyword arguments (see :class:`ProvenanceError`)."""

    position: int | None
    batch_id: bytes | str | None
    seq: int | None
    event_id: bytes | str | None
    key_id: bytes | str | None
    field: str | None


def _hex(value: bytes | str | None) -> str | None:
    return value.hex() if isinstance(value, bytes) else value


class ProvenanceError(Exception):
    """Root of every error the library raises.

    Attributes:
        code: The stable :class:`ErrorCode`.
        message: What is wrong, in lowercase words.
        position: 0-based position of the offending item in the input the called function read, when known.
        batch_id: Hex id of the batch of the offending event, when known.
        seq: The offending event's seq in its batch, when known.
        event_id: Hex id of the offending event, when known.
        key_id: Hex id of the key involved, when known.
        field: Dotted path of the offending field, when known.
    """

    code: ErrorCode = ErrorCode.PROVENANCE

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        position: int | None = None,
        batch_id: bytes | str | None = None,
        seq: int | None = None,
        event_id: bytes | str | None = None,
        key_id: bytes | str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = ErrorCode(code)  # an unknown code is a bug: ValueError
        self.message = message
        self.position = position
        self.batch_id = _hex(batch_id)
        self.seq = seq
        self.event_id = _hex(event_id)
        self.key_id = _hex(key_id)
        self.field = field

    def locate(self, **where: Any) -> ProvenanceError:
        """Fill in location fields that are not set yet (``position``, ``batch_id``, ``seq``, …); return self.

        A lower layer knows the field; the caller knows the position and the batch. Fields already set are kept.
        """
        for name, value in where.items():
            if name not in _LOCATION:
                raise TypeError(f"unknown location field {name!r}")
            if getattr(self, name) is None and value is not None:
                setattr(self, name, _hex(value) if name in _HEX else value)
        return self

    def __str__(self) -> str:
        where = []
        if self.position is not None:
            where.append(f"item #{self.position}")
        if self.batch_id is not None:
            where.append(f"batch {self.batch_id[:16]}")
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        if self.event_id is not None:
            where.append(f"id {self.event_id[:16]}")
        if self.key_id is not None:
            where.append(f"key {self.key_id[:16]}")
        if self.field is not None:
            where.append(f"field {self.field}")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{self.message} [{self.code}]"

    def to_dict(self) -> dict[str, str | int | None]:
        """Return the error as a JSON-ready mapping: code, message and every location field."""
        return {
            "code": str(self.code),
            "message": self.message,
            "position": self.position,
            "batch_id": self.batch_id,
            "seq": self.seq,
            "event_id": self.event_id,
            "key_id": self.key_id,
            "field": self.field,
        }


_LOCATION = frozenset({"position", "batch_id", "seq", "event_id", "key_id", "field"})
_HEX = frozenset({"batch_id", "event_id", "key_id"})


class FormatError(ProvenanceError, ValueError):
    """Bytes or values that do not follow the format (see docs/format.md)."""

    code = ErrorCode.FORMAT


class KeyFormatError(ProvenanceError, ValueError):
    """Key material that cannot be used: malformed, wrongly encrypted, or stored unsafely."""

    code = ErrorCode.KEY_FORMAT


class WeakKeyError(KeyFormatError):
    """An Ed25519 public key of small order or with a non-canonical encoding."""

    code = ErrorCode.WEAK_KEY


class VerificationError(ProvenanceError):
    """A well-formed object failed a security check."""

    code = ErrorCode.VERIFY


class SignatureError(VerificationError):
    """A signature does not verify, or the COSE envelope is not one this library accepts."""

    code = ErrorCode.SIGNATURE


class UntrustedKeyError(VerificationError):
    """No trusted key matches the signer, or the signer's key may not sign at the time the event claims."""

    code = ErrorCode.UNKNOWN_KEY


class ChainError(VerificationError):
    """A chain rule is broken: link, seq, batch, time, genesis or lineage."""

    code = ErrorCode.CHAIN


class ForkError(ChainError):
    """Two different validly signed events claim the same batch and seq.

    Attributes:
        proof: The :class:`~ocop_provenance.events.EquivocationProof` holding both events.
    """

    code = ErrorCode.FORK

    def __init__(self, message: str, *, proof: object, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.proof = proof


class LogError(VerificationError):
    """A transparency-log object failed a check: signature, origin, inclusion, witnesses or the expected head.

    The ``code`` says which (``E_LOG_SIGNATURE``, ``E_LOG_ORIGIN``, ``E_LOG_INCLUSION``, ``E_LOG_WITNESSES``,
    ``E_LOG_LEAF``, ``E_LOG_CONSISTENCY``, ``E_LOG_ROLLBACK``, ``E_LOG_RANGE``, ``E_LOG_EMPTY_ROOT``). Malformed log
    text or bytes are ``FormatError`` (``E_NOTE``, ``E_CHECKPOINT``, ...), an unusable verifier key is
    ``KeyFormatError`` ``E_VKEY``, a hash store that answers wrongly is ``StoreError`` ``E_LOG_STORE``
    (docs/format.md §18.9).
    """

    code = ErrorCode.LOG


class SplitViewError(LogError):
    """A checkpoint that does not extend the one held before: the log rewrote or rolled back its history.

    Attributes:
        previous: The signed note (text) of the checkpoint held before, when known.
        offered: The signed note (text) of the refused checkpoint, when known. Two validly signed checkpoints of one
            size with different roots are by themselves proof that the log forked.
    """

    code = ErrorCode.LOG_CONSISTENCY

    def __init__(self, message: str, *, previous: str | None = None, offered: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.previous = previous
        self.offered = offered


class WitnessConflictError(LogError):
    """The caller's old size is not the size this witness last cosigned (C2SP tlog-witness, "409 Conflict").

    Attributes:
        size: The size of the latest checkpoint the witness cosigned for that origin (0 if none): the body of the
            409 response is this number and a newline.
    """

    code = ErrorCode.WITNESS_CONFLICT

    def __init__(self, message: str, *, size: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.size = size


class StoreError(ProvenanceError, OSError):
    """The ledger cannot be read or written."""

    code = ErrorCode.STORE


class ConflictError(StoreError):
    """Another writer appended to the batch first; read the new head and retry."""

    code = ErrorCode.CONFLICT


class NotFoundError(StoreError):
    """No such batch or key."""

    code = ErrorCode.NOT_FOUND


class TamperError(StoreError):
    """Stored bytes no longer verify: the ledger was edited outside the library."""

    code = ErrorCode.TAMPERED


class AttachmentReadError(ProvenanceError, OSError):
    """A file or directory given to check recorded attachments against cannot be read (``E_ATTACHMENT_IO``)."""

    code = ErrorCode.ATTACHMENT_IO
