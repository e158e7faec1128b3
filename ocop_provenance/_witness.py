"""The witness core and the C2SP tlog-witness v1.0.0 ``add-checkpoint`` exchange, without HTTP or storage.

A witness keeps, per log origin, the last checkpoint it cosigned. Given a new checkpoint and a consistency proof
from that size, :func:`witness_add_checkpoint` checks them in the order of tlog-witness §add-checkpoint and returns
a timestamped cosignature (tlog-cosignature v1) and the new state. Because the request must name the size the
witness holds and an equal size needs an equal root, a witness never cosigns two different trees of one size.

**Atomicity is the caller's** (tlog-witness §add-checkpoint): read the stored checkpoint for the origin, call
:func:`witness_add_checkpoint`, and store :attr:`Cosigned.checkpoint` in one transaction (a row lock or a
compare-and-set on the stored size), before sending the cosignature; otherwise two concurrent requests can roll the
witness back.

The log's side: :meth:`AddCheckpoint.to_bytes` builds the request body, :func:`add_cosignatures` checks a
witness's response and adds its cosignatures to the checkpoint note it will serve.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ._errors import FormatError, LogError, ProvenanceError, WitnessConflictError
from ._merkle import MAX_TREE_SIZE
from ._note import (
    COSIGNATURE_V1,
    MAX_NOTE_SIZE,
    Checkpoint,
    Cosigner,
    NoteKey,
    NoteSignature,
    SignedNote,
    b64,
    unb64,
    verify_note,
)
from ._tlog import VerifiedCheckpoint, check_extends, open_checkpoint

__all__ = [
    "MAX_WITNESS_PROOF",
    "AddCheckpoint",
    "Cosigned",
    "add_cosignatures",
    "witness_add_checkpoint",
    "witness_http_status",
]

MAX_WITNESS_PROOF = 63  # tlog-witness: "The client MUST NOT send more than 63 consistency proof lines."
_OLD_RE = re.compile(r"old (0|[1-9][0-9]{0,18})")

# tlog-witness §add-checkpoint: the status each refusal is answered with.
_HTTP_STATUS = {
    "E_NOTE": 400,
    "E_SIZE": 400,
    "E_CHECKPOINT": 400,
    "E_LOG_RANGE": 400,
    "E_LOG_SIGNATURE": 403,
    "E_LOG_ORIGIN": 404,
    "E_WITNESS_CONFLICT": 409,
    "E_LOG_CONSISTENCY": 422,
    "E_LOG_ROLLBACK": 400,
    "E_LOG_EMPTY_ROOT": 422,
}


def witness_http_status(error: ProvenanceError) -> int:
    """Return the HTTP status tlog-witness prescribes for a refusal raised by :func:`witness_add_checkpoint`.

    A 409 body is the witness's size in decimal and a newline, with ``Content-Type: text/x.tlog.size``
    (:class:`~ocop_provenance.tlog.WitnessConflictError`). Anything unexpected maps to 500.
    """
    return _HTTP_STATUS.get(error.code, 500)


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """An ``add-checkpoint`` request body: the old size, a consistency proof, a signed checkpoint.

    Attributes:
        old_size: The size of the checkpoint the client believes the witness last cosigned (0 for none).
        proof: The consistency proof from ``old_size`` to the checkpoint's size (at most 63 hashes).
        checkpoint: The signed checkpoint note (UTF-8 bytes).
    """

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes

    def __post_init__(self) -> None:
        if type(self.old_size) is not int or not 0 <= self.old_size < MAX_TREE_SIZE:
            raise FormatError("the old size is an integer in [0, 2**63)", code="E_LOG_RANGE", field="old_size")
        if len(self.proof) > MAX_WITNESS_PROOF or any(not isinstance(h, bytes) or len(h) != 32 for h in self.proof):
            raise FormatError("at most 63 proof hashes of 32 bytes", code="E_NOTE", field="proof")
        if not isinstance(self.checkpoint, bytes) or len(self.checkpoint) > MAX_NOTE_SIZE:
            raise FormatError("the checkpoint is a signed note", code="E_NOTE", field="checkpoint")

    def to_bytes(self) -> bytes:
        """Return the request body (tlog-witness §add-checkpoint)."""
        lines = [f"old {self.old_size}", *map(b64, self.proof)]
        return ("\n".join(lines) + "\n\n").encode("ascii") + self.checkpoint

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpoint:
        """Parse a request body.

        Raises:
            FormatError: Malformed (``E_NOTE``, ``E_SIZE``; HTTP 400).
        """
        if len(body) > MAX_NOTE_SIZE + 4096:
            raise FormatError("request too large", code="E_SIZE")
        head, sep, note = bytes(body).partition(b"\n\n")
        try:
            lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError as e:
            raise FormatError("the old size and proof lines are ASCII", code="E_NOTE") from e
        if not sep or not _OLD_RE.fullmatch(lines[0]):
            raise FormatError("the body starts with an 'old <size>' line", code="E_NOTE", field="old_size")
        if len(lines) - 1 > MAX_WITNESS_PROOF:
            raise FormatError("more than 63 consistency proof lines", code="E_NOTE", field="proof")
        proof = tuple(unb64(line, f"proof[{i}]") for i, line in enumerate(lines[1:]))
        return cls(int(lines[0][4:]), proof, note)

    @property
    def unverified_origin(self) -> str:
        """The origin line of the checkpoint, unverified: to look up the log's key and the stored state."""
        return self.checkpoint.split(b"\n", 1)[0].decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class Cosigned:
    """A witness's answer: the state to store and the cosignature to send.

    Attributes:
        checkpoint: The checkpoint now cosigned: store it as the origin's latest, atomically with the check.
        verified: The verified checkpoint as submitted.
        cosignature: The new cosignature line.
    """

    checkpoint: Checkpoint
    verified: VerifiedCheckpoint
    cosignature: NoteSignature

    @property
    def response_body(self) -> bytes:
        """The 200 response body: the cosignature line."""
        return self.cosignature.line.encode("utf-8")


def witness_add_checkpoint(
    request: AddCheckpoint,
    *,
    log_key: NoteKey,
    last: Checkpoint | None,
    cosigner: Cosigner,
    now: datetime,
    backend: str | None = None,
) -> Cosigned:
    """Check a submitted checkpoint against the last one cosigned for its log, and cosign it.

    The checks, in the order of tlog-witness §add-checkpoint (HTTP status in brackets, see
    :func:`witness_http_status`):

    1. the log key signed the checkpoint, and its origin is the key's [403, 404];
    2. the old size is not larger than the checkpoint's [400];
    3. the old size is the size last cosigned, 0 if none [409, with that size];
    4. an empty tree has the empty root [422];
    5. the checkpoint extends the last one cosigned: equal sizes need equal roots, after 0 no proof, else the
       consistency proof verifies against the stored root [422].

    Args:
        request: The parsed request.
        log_key: The key of the log whose origin the checkpoint names.
        last: The checkpoint last cosigned for that origin, or None.
        cosigner: The witness's signer.
        now: The cosignature time.
        backend: Ed25519 backend name, or None for the fastest.

    Returns:
        The cosignature and the state to store.

    Raises:
        FormatError: A malformed checkpoint; an old size larger than the checkpoint (``E_LOG_RANGE``).
        LogError: ``E_LOG_SIGNATURE``, ``E_LOG_ORIGIN``, ``E_LOG_EMPTY_ROOT``.
        WitnessConflictError: The old size is not the size last cosigned (``E_WITNESS_CONFLICT``, ``.size``).
        SplitViewError: The checkpoint does not extend the last one cosigned (``E_LOG_CONSISTENCY``).
    """
    # 1. (and 4.: open_checkpoint refuses a non-empty root for size 0)
    verified = open_checkpoint(request.checkpoint, log_key, backend=backend)
    new = verified.checkpoint
    # 2.
    if request.old_size > new.size:
        raise FormatError(f"old size {request.old_size} is larger than the checkpoint's {new.size}", code="E_LOG_RANGE")
    # 3.
    held = last.size if last is not None else 0
    if request.old_size != held:
        raise WitnessConflictError(f"this witness last cosigned {held} leaves, not {request.old_size}", size=held)
    # 5.
    if last is None:
        if request.proof:
            raise LogError("no proof is sent from size 0", code="E_LOG_CONSISTENCY", field="proof")
    else:
        check_extends(last, new, request.proof, offered_note=verified.note.to_text())
    return Cosigned(new, verified, cosigner.cosign(verified.note.text, now))


def add_cosignatures(
    note: SignedNote, response: bytes | str, witness_keys: Sequence[NoteKey], *, backend: str | None = None
) -> SignedNote:
    """Check a witness's ``add-checkpoint`` response and return ``note`` with its cosignatures added.

    Lines of keys not in ``witness_keys`` are dropped (tlog-witness: "The client MUST ignore any cosignatures from
    unknown keys"); every line of a known key must verify.

    Args:
        note: The log's signed checkpoint.
        response: The 200 response body: signature lines.
        witness_keys: The witness keys the log accepts cosignatures from (type 0x04).
        backend: Ed25519 backend name, or None for the fastest.

    Returns:
        The note with the verified cosignatures appended.

    Raises:
        FormatError: A malformed response (``E_NOTE``).
        LogError: A known witness's cosignature does not verify (``E_LOG_SIGNATURE``).
    """
    if isinstance(response, bytes):
        try:
            response = response.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FormatError("a witness response is UTF-8 signature lines", code="E_NOTE") from e
    probe = SignedNote.parse(note.text + "\n" + response)
    keys = [k for k in witness_keys if k.sig_type == COSIGNATURE_V1]
    good = [v.signature for v in verify_note(probe, keys, backend=backend)]
    return note.with_signatures(good)
