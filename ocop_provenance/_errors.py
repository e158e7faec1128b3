"""The library's exceptions: one root, typed subclasses, a stable code on each.

The tree::

    ProvenanceError
    ├── FormatError (also ValueError)     malformed, non-deterministic or oversized bytes; invalid field values
    ├── KeyFormatError (also ValueError)  unreadable key material, wrong passphrase, unsafe key file
    │   └── WeakKeyError                  a small-order or non-canonical Ed25519 public key
    ├── VerificationError                 a well-formed object that must not be trusted
    │   ├── SignatureError                the signature does not verify, or the envelope is not one we accept
    │   ├── UntrustedKeyError             no trusted key matches the signer's key id
    │   ├── ChainError                    link, seq, batch, time, genesis or lineage rules broken
    │   │   └── ForkError                 two validly signed events at one seq (carries the proof)
    └── StoreError (also OSError)         the ledger cannot be read or written
        ├── ConflictError                 another writer appended first; retry
        ├── NotFoundError                 no such batch or key
        └── TamperError                   stored bytes no longer match what was signed

Every error has a stable ``code`` (``E_...``) that programs and tests compare, and a lowercase message that
names the place: the event index, event id, key id or field. Messages never carry key material.
"""

from __future__ import annotations

__all__ = [
    "ChainError",
    "ConflictError",
    "ForkError",
    "FormatError",
    "KeyFormatError",
    "NotFoundError",
    "ProvenanceError",
    "SignatureError",
    "StoreError",
    "TamperError",
    "UntrustedKeyError",
    "VerificationError",
    "WeakKeyError",
]


class ProvenanceError(Exception):
    """Root of every error the library raises.

    Attributes:
        code: A stable machine-readable code such as ``E_FORK``.
        index: Position of the offending event in the input, when known.
        event_id: Hex id of the offending event, when known.
        key_id: Hex id of the key involved, when known.
        field: Dotted path of the offending field, when known.
    """

    code: str = "E_PROVENANCE"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        index: int | None = None,
        event_id: str | None = None,
        key_id: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.index = index
        self.event_id = event_id
        self.key_id = key_id
        self.field = field

    def __str__(self) -> str:
        where = []
        if self.index is not None:
            where.append(f"event #{self.index}")
        if self.event_id is not None:
            where.append(f"id {self.event_id[:16]}")
        if self.key_id is not None:
            where.append(f"key {self.key_id[:16]}")
        if self.field is not None:
            where.append(f"field {self.field}")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{self.message} [{self.code}]"

    def to_dict(self) -> dict[str, str | int | None]:
        """Return the error as a JSON-ready mapping (code, message and location fields)."""
        return {
            "code": self.code,
            "message": self.message,
            "index": self.index,
            "event_id": self.event_id,
            "key_id": self.key_id,
            "field": self.field,
        }


class FormatError(ProvenanceError, ValueError):
    """Bytes or values that do not follow the format (see docs/format.md)."""

    code = "E_FORMAT"


class KeyFormatError(ProvenanceError, ValueError):
    """Key material that cannot be used: malformed, wrongly encrypted, or stored unsafely."""

    code = "E_KEY_FORMAT"


class WeakKeyError(KeyFormatError):
    """An Ed25519 public key of small order or with a non-canonical encoding."""

    code = "E_WEAK_KEY"


class VerificationError(ProvenanceError):
    """A well-formed object failed a security check."""

    code = "E_VERIFY"


class SignatureError(VerificationError):
    """A signature does not verify, or the COSE envelope is not one this library accepts."""

    code = "E_SIGNATURE"


class UntrustedKeyError(VerificationError):
    """No trusted key matches the signer."""

    code = "E_UNKNOWN_KEY"


class ChainError(VerificationError):
    """A chain rule is broken: link, seq, batch, time, genesis or lineage."""

    code = "E_CHAIN"


class ForkError(ChainError):
    """Two different validly signed events claim the same batch and seq.

    Attributes:
        proof: The :class:`~ocop_provenance.EquivocationProof` holding both events.
    """

    code = "E_FORK"

    def __init__(self, message: str, *, proof: object, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.proof = proof


class StoreError(ProvenanceError, OSError):
    """The ledger cannot be read or written."""

    code = "E_STORE"


class ConflictError(StoreError):
    """Another writer appended to the batch first; read the new head and retry."""

    code = "E_CONFLICT"


class NotFoundError(StoreError):
    """No such batch or key."""

    code = "E_NOT_FOUND"


class TamperError(StoreError):
    """Stored bytes no longer verify: the ledger was edited outside the library."""

    code = "E_TAMPERED"
