"""Errors of the transparency log (docs/format.md §18.9): where they sit in the library's tree, and their codes.

::

    VerificationError
    └── LogError                       E_LOG_*: a checkpoint, proof or receipt that must not be trusted
        ├── SplitViewError             E_LOG_CONSISTENCY, E_LOG_ROLLBACK: two checkpoints that are not one history
        └── WitnessConflictError       E_WITNESS_CONFLICT: the witness has cosigned another size (tlog-witness 409)

Malformed text or bytes (a signed note, a checkpoint body, a leaf, a receipt) are ``FormatError`` with the codes
``E_NOTE``, ``E_CHECKPOINT``, ``E_SCHEMA``, ``E_FIELD`` and ``E_VERSION``; an unusable verifier key is
``KeyFormatError`` ``E_VKEY``; a hash store that answers wrongly is ``StoreError`` ``E_LOG_STORE``.
"""

from __future__ import annotations

from ._errors import VerificationError

__all__ = ["LogError", "SplitViewError", "WitnessConflictError"]


class LogError(VerificationError):
    """A transparency-log object failed a check: signature, origin, inclusion, witnesses or the expected head.

    The ``code`` says which (``E_LOG_SIGNATURE``, ``E_LOG_ORIGIN``, ``E_LOG_INCLUSION``, ``E_LOG_WITNESSES``,
    ``E_LOG_LEAF``, ``E_LOG_CONSISTENCY``, ``E_LOG_ROLLBACK``, ``E_LOG_RANGE``, ``E_LOG_EMPTY_ROOT``).
    """

    code = "E_LOG"


class SplitViewError(LogError):
    """A checkpoint that does not extend the one held before: the log rewrote or rolled back its history.

    Attributes:
        previous: The signed note (text) of the checkpoint held before, when known.
        offered: The signed note (text) of the refused checkpoint, when known. Two validly signed checkpoints of one
            size with different roots are by themselves proof that the log forked.
    """

    code = "E_LOG_CONSISTENCY"

    def __init__(
        self, message: str, *, previous: str | None = None, offered: str | None = None, **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.previous = previous
        self.offered = offered


class WitnessConflictError(LogError):
    """The caller's old size is not the size this witness last cosigned (C2SP tlog-witness, "409 Conflict").

    Attributes:
        size: The size of the latest checkpoint the witness cosigned for that origin (0 if none): the body of the
            409 response is this number and a newline.
    """

    code = "E_WITNESS_CONFLICT"

    def __init__(self, message: str, *, size: int, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.size = size
