"""The portal's transparency log of published batch heads: leaves, receipts, checkpoint checks, split-view state.

* A **leaf** (docs/format.md §18.2) says: batch B's chain had head H at seq S when the portal logged it at time T.
  It is deterministic CBOR, hashed as an RFC 9162 leaf (``_merkle``).
* A **checkpoint** is a C2SP signed note (``_note``) signed by the log's Ed25519 key, whose key name is the origin,
  and cosigned by witnesses. :func:`open_checkpoint` verifies one: the log's signature is required, unknown
  signatures are ignored, k of n witness keys are counted by distinct key.
* A **receipt** carries one leaf, its index, its inclusion proof and the checkpoint it is proven against: an
  offline auditor learns from :func:`verify_receipt` that the log (and the witnesses) committed to this head at
  that tree size, so the log cannot later show anyone a history without it without being caught.
* A :class:`LogState` holds the last checkpoint a client verified and refuses any later one that does not extend it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from . import _cbor, _fields
from ._errors import FormatError, KeyFormatError, LogError, SplitViewError, StoreError
from ._keys import PublicKey
from ._merkle import (
    EMPTY_ROOT,
    MAX_TREE_SIZE,
    HashReader,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from ._note import (
    COSIGNATURE_V1,
    ED25519,
    MAX_NOTE_SIZE,
    Checkpoint,
    NoteKey,
    NoteSigner,
    SignedNote,
    VerifiedSignature,
    b64,
    unb64,
    verify_note,
)
from ._verify import DEFAULT_TIME_TOLERANCE

__all__ = [
    "LEAF_MAGIC",
    "MAX_LEAF_SIZE",
    "MAX_RECEIPT_SIZE",
    "RECEIPT_MAGIC",
    "TLOG_PROOF_HEADER",
    "HeadLike",
    "LogLeaf",
    "LogState",
    "Receipt",
    "VerifiedCheckpoint",
    "VerifiedReceipt",
    "check_extends",
    "make_receipt",
    "open_checkpoint",
    "sign_checkpoint",
    "verify_receipt",
]

LEAF_MAGIC = "ocop-log-leaf"
RECEIPT_MAGIC = "ocop-log-receipt"
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
_VERSION = 1
MAX_LEAF_SIZE = 256
_MAX_PROOF = 63  # an inclusion proof in a tree below 2^63 leaves
MAX_RECEIPT_SIZE = MAX_NOTE_SIZE + MAX_LEAF_SIZE + _MAX_PROOF * 34 + 64

# Leaf labels (docs/format.md §18.2).
_L_MAGIC, _L_VERSION, _L_BATCH, _L_SEQ, _L_HEAD, _L_TIME = range(6)
# Receipt labels (docs/format.md §18.5).
_R_MAGIC, _R_VERSION, _R_LEAF, _R_INDEX, _R_PROOF, _R_CHECKPOINT = range(6)


class HeadLike(Protocol):
    """A batch head as the rest of the library names one: a ``ChainHead``, a ``SignedEvent`` or a ``LogLeaf``."""

    @property
    def batch_id(self) -> bytes:
        """The batch id (32 bytes)."""
        ...

    @property
    def seq(self) -> int:
        """The head's seq."""
        ...

    @property
    def event_id(self) -> bytes:
        """The head event's id (32 bytes)."""
        ...


def _schema(message: str, where: str, code: str = "E_SCHEMA") -> FormatError:
    return FormatError(message, code=code, field=where)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogLeaf:
    """One logged publication: a batch's head as the portal accepted it.

    Attributes:
        batch_id: The batch (its genesis event id).
        seq: The head's seq.
        head_id: The head event's id; it commits to the whole chain up to the head.
        logged: When the portal logged it (UTC, whole seconds). The portal's claim: witnesses' cosignature times
            bound it from above.
        raw: The leaf's bytes, when parsed (equal to :meth:`to_bytes`).
    """

    batch_id: bytes
    seq: int
    head_id: bytes
    logged: datetime
    raw: bytes = field(default=b"", repr=False, compare=False)

    def __post_init__(self) -> None:
        _fields.sha256(self.batch_id, "batch_id")
        _fields.uint(self.seq, "seq")
        _fields.sha256(self.head_id, "head_id")
        logged = _fields.utc_time_text(self.logged, "logged")  # timezone-aware, whole seconds
        if not self.raw:
            # Every value is validated above and the map is built in key order: the presorted encoder applies.
            raw = _cbor.encode_presorted(
                {
                    _L_MAGIC: LEAF_MAGIC,
                    _L_VERSION: _VERSION,
                    _L_BATCH: self.batch_id,
                    _L_SEQ: self.seq,
                    _L_HEAD: self.head_id,
                    _L_TIME: logged,
                }
            )
            object.__setattr__(self, "raw", raw)

    @classmethod
    def for_head(cls, head: HeadLike, logged: datetime) -> LogLeaf:
        """Return the leaf logging ``head`` (a ``ChainHead`` or the head ``SignedEvent``) at ``logged``."""
        return cls(batch_id=head.batch_id, seq=head.seq, head_id=head.event_id, logged=logged)

    @property
    def event_id(self) -> bytes:
        """The head event's id (so that a leaf is itself a :class:`HeadLike`)."""
        return self.head_id

    def to_bytes(self) -> bytes:
        """Return the leaf's deterministic CBOR (docs/format.md §18.2)."""
        return self.raw

    @property
    def leaf_hash(self) -> bytes:
        """The RFC 9162 leaf hash: ``SHA-256(0x00 || leaf bytes)``."""
        return leaf_hash(self.raw)

    @classmethod
    def from_bytes(cls, data: bytes) -> LogLeaf:
        """Parse a leaf strictly.

        Raises:
            FormatError: CBOR errors (``E_SIZE``, ``E_CBOR``, ``E_NONCANONICAL`` …); a wrong magic or label set
                (``E_SCHEMA``); another version (``E_VERSION``); a field out of its rule (``E_FIELD``).
        """
        m = _cbor.decode(data, max_size=MAX_LEAF_SIZE, max_depth=1)
        if not isinstance(m, dict) or m.get(_L_MAGIC) != LEAF_MAGIC:
            raise _schema("not a log leaf", "leaf")
        if m.get(_L_VERSION) != _VERSION or type(m.get(_L_VERSION)) is not int:
            raise _schema("unsupported log leaf version", "leaf.version", "E_VERSION")
        if set(m) != {_L_MAGIC, _L_VERSION, _L_BATCH, _L_SEQ, _L_HEAD, _L_TIME}:
            raise _schema("a log leaf has exactly the labels 0-5", "leaf")
        return cls(
            batch_id=_fields.sha256(m[_L_BATCH], "leaf.batch_id"),
            seq=_fields.uint(m[_L_SEQ], "leaf.seq"),
            head_id=_fields.sha256(m[_L_HEAD], "leaf.head_id"),
            logged=_fields.parse_utc_time(m[_L_TIME], "leaf.logged"),
            raw=bytes(data),
        )


def _proof_hashes(value: object, where: str) -> tuple[bytes, ...]:
    if not isinstance(value, (list, tuple)) or len(value) > _MAX_PROOF:
        raise _schema(f"expected at most {_MAX_PROOF} proof hashes", where)
    return tuple(_fields.sha256(h, f"{where}[{i}]") for i, h in enumerate(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """What a publisher keeps, and a bundle can carry: a leaf, its inclusion proof and the checkpoint.

    Nothing here is verified; :func:`verify_receipt` does that.

    Attributes:
        leaf: The leaf's bytes (:meth:`LogLeaf.to_bytes`).
        index: The leaf's index in the log.
        proof: The RFC 9162 inclusion proof of the leaf in the checkpoint's tree.
        checkpoint: The signed note of the checkpoint (UTF-8 bytes), with whatever cosignatures it had.
    """

    leaf: bytes
    index: int
    proof: tuple[bytes, ...]
    checkpoint: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.leaf, bytes) or not 0 < len(self.leaf) <= MAX_LEAF_SIZE:
            raise _schema("the leaf is 1 to 256 bytes", "receipt.leaf", "E_FIELD")
        _fields.uint(self.index, "receipt.index", 0, MAX_TREE_SIZE - 1)
        object.__setattr__(self, "proof", _proof_hashes(self.proof, "receipt.proof"))
        if not isinstance(self.checkpoint, bytes) or not 0 < len(self.checkpoint) <= MAX_NOTE_SIZE:
            raise _schema("the checkpoint is a signed note of at most 128 KiB", "receipt.checkpoint", "E_FIELD")

    def to_bytes(self) -> bytes:
        """Return the receipt's deterministic CBOR (docs/format.md §18.5)."""
        return _cbor.encode(
            {
                _R_MAGIC: RECEIPT_MAGIC,
                _R_VERSION: _VERSION,
                _R_LEAF: self.leaf,
                _R_INDEX: self.index,
                _R_PROOF: list(self.proof),
                _R_CHECKPOINT: self.checkpoint,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Receipt:
        """Parse a receipt strictly (unverified).

        Raises:
            FormatError: CBOR errors; ``E_SCHEMA``, ``E_VERSION``, ``E_FIELD`` as for a leaf.
        """
        m = _cbor.decode(data, max_size=MAX_RECEIPT_SIZE, max_depth=2)
        if not isinstance(m, dict) or m.get(_R_MAGIC) != RECEIPT_MAGIC:
            raise _schema("not a log receipt", "receipt")
        if m.get(_R_VERSION) != _VERSION or type(m.get(_R_VERSION)) is not int:
            raise _schema("unsupported log receipt version", "receipt.version", "E_VERSION")
        if set(m) != {_R_MAGIC, _R_VERSION, _R_LEAF, _R_INDEX, _R_PROOF, _R_CHECKPOINT}:
            raise _schema("a log receipt has exactly the labels 0-5", "receipt")
        return cls(leaf=m[_R_LEAF], index=m[_R_INDEX], proof=m[_R_PROOF], checkpoint=m[_R_CHECKPOINT])

    @property
    def unverified_origin(self) -> str:
        """The checkpoint's origin line, unverified: to pick the log key when only a PEM key is configured."""
        return self.checkpoint.split(b"\n", 1)[0].decode("utf-8", errors="replace")

    def to_tlog_proof(self) -> str:
        """Return the receipt as a C2SP tlog-proof (``.tlog-proof`` text): the leaf rides in the ``extra`` line."""
        lines = [TLOG_PROOF_HEADER, f"extra {b64(self.leaf)}", f"index {self.index}", *map(b64, self.proof)]
        return "\n".join(lines) + "\n\n" + self.checkpoint.decode("utf-8")

    @classmethod
    def from_tlog_proof(cls, text: str | bytes) -> Receipt:
        """Parse a C2SP tlog-proof whose ``extra`` line holds our leaf (unverified).

        Raises:
            FormatError: ``E_NOTE`` for malformed proof text; the receipt's field errors.
        """
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as e:
                raise FormatError("a tlog-proof is UTF-8 text", code="E_NOTE") from e
        if len(text) > MAX_RECEIPT_SIZE * 2:
            raise FormatError("tlog-proof too large", code="E_SIZE")
        head, sep, note = text.partition("\n\n")
        lines = head.split("\n")
        if not sep or len(lines) < 3 or lines[0] != TLOG_PROOF_HEADER:
            raise FormatError("not a c2sp.org/tlog-proof@v1", code="E_NOTE")
        if not lines[1].startswith("extra "):
            raise FormatError("the tlog-proof carries no leaf in its extra line", code="E_NOTE", field="extra")
        if not re.fullmatch(r"index (0|[1-9][0-9]{0,18})", lines[2]):
            raise FormatError("malformed index line", code="E_NOTE", field="index")
        return cls(
            leaf=unb64(lines[1][len("extra ") :], "extra"),
            index=int(lines[2][len("index ") :]),
            proof=tuple(unb64(h, f"proof[{i}]") for i, h in enumerate(lines[3:])),
            checkpoint=note.encode("utf-8"),
        )


def make_receipt(leaf: LogLeaf, index: int, note: SignedNote, reader: HashReader) -> Receipt:
    """Build the receipt of a logged leaf against the log's own signed checkpoint (the portal's side).

    The proof is checked against the note's root before it is returned, so a damaged hash store shows here rather
    than in a client's hands.

    Args:
        leaf: The leaf, stored at ``index``.
        index: Its log index.
        note: A checkpoint the log signed, of a size above ``index``.
        reader: The stored hashes.

    Returns:
        The receipt.

    Raises:
        FormatError: ``index`` not below the checkpoint's size (``E_LOG_RANGE``); a malformed note.
        StoreError: The stored hashes do not prove the leaf in that tree (``E_LOG_STORE``).
    """
    checkpoint = Checkpoint.parse(note.text)
    proof = inclusion_proof(index, checkpoint.size, reader)
    try:
        verify_inclusion(leaf.leaf_hash, index, checkpoint.size, proof, checkpoint.root_hash)
    except LogError as e:
        raise StoreError(f"the stored tree does not prove leaf {index}: {e.message}", code="E_LOG_STORE") from e
    return Receipt(leaf=leaf.to_bytes(), index=index, proof=proof, checkpoint=note.to_bytes())


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> SignedNote:
    """Sign a checkpoint as its log (the signer's key name must be the origin).

    Raises:
        KeyFormatError: The signer's name is not the checkpoint's origin (``E_VKEY``).
    """
    if signer.name != checkpoint.origin:
        raise KeyFormatError("a log's key name is its origin", code="E_VKEY", field="origin")
    return checkpoint.sign(signer)


@dataclass(frozen=True, slots=True)
class VerifiedCheckpoint:
    """A checkpoint whose log signature, origin and witness quorum were checked by :func:`open_checkpoint`.

    Attributes:
        checkpoint: The body.
        note: The whole signed note as received.
        log_signature: The log's verified signature.
        cosignatures: The verified cosignatures of the given witness keys, one per distinct key.
    """

    checkpoint: Checkpoint
    note: SignedNote
    log_signature: VerifiedSignature
    cosignatures: tuple[VerifiedSignature, ...]

    @property
    def origin(self) -> str:
        """The log's origin."""
        return self.checkpoint.origin

    @property
    def size(self) -> int:
        """The tree size."""
        return self.checkpoint.size

    @property
    def root_hash(self) -> bytes:
        """The root hash."""
        return self.checkpoint.root_hash

    @property
    def witnessed_by(self) -> datetime | None:
        """The earliest verified cosignature time: the tree existed no later than this, on a witness's word."""
        times = [t for t in (c.time for c in self.cosignatures) if t is not None]
        return min(times) if times else None


def open_checkpoint(
    note: SignedNote | bytes | str,
    log_key: NoteKey,
    *,
    witness_keys: Sequence[NoteKey] = (),
    witnesses: int = 0,
    origin: str | None = None,
    now: datetime | None = None,
    backend: str | None = None,
) -> VerifiedCheckpoint:
    """Verify a signed checkpoint: the log's signature, the origin, and at least ``witnesses`` cosignatures.

    The checks run in this order, and the first failure raises:

    1. the note parses (signed-note §Format);
    2. every signature line of a known key (the log key or a witness key) verifies; unknown lines are ignored;
    3. the log key signed it;
    4. the signed text parses as a checkpoint, and an empty tree has the empty root;
    5. the origin is the expected one (by default the log key's name);
    6. at least ``witnesses`` distinct witness public keys cosigned it (cosignatures time-stamped after ``now``
       plus five minutes are not counted, when ``now`` is given).

    Args:
        note: The signed note.
        log_key: The log's key (type 0x01).
        witness_keys: Witness keys (type 0x04).
        witnesses: How many distinct witness public keys must have cosigned (k of n).
        origin: The expected origin; None means the log key's name.
        now: The current time, to refuse cosignatures from the future; None does not look at their times.
        backend: Ed25519 backend name, or None for the fastest.

    Returns:
        The verified checkpoint.

    Raises:
        FormatError: A malformed note (``E_NOTE``, ``E_SIZE``) or checkpoint (``E_CHECKPOINT``); ``witnesses``
            outside ``[0, number of witness keys]`` (``E_LOG_RANGE``).
        KeyFormatError: A log key that is not type 0x01 or a witness key that is not type 0x04 (``E_VKEY``).
        LogError: ``E_LOG_SIGNATURE`` (a known signature fails, or the log's is missing), ``E_LOG_EMPTY_ROOT``,
            ``E_LOG_ORIGIN``, ``E_LOG_WITNESSES``.
    """
    if log_key.sig_type != ED25519:
        raise KeyFormatError("a log key has signature type 0x01", code="E_VKEY", field="log_key")
    distinct = {k.public_key for k in witness_keys}
    if any(k.sig_type != COSIGNATURE_V1 for k in witness_keys):
        raise KeyFormatError("a witness key has signature type 0x04", code="E_VKEY", field="witness_keys")
    if type(witnesses) is not int or not 0 <= witnesses <= len(distinct):
        raise FormatError(
            f"witnesses must be between 0 and the {len(distinct)} witness keys", code="E_LOG_RANGE", field="witnesses"
        )
    # 1.
    parsed = note if isinstance(note, SignedNote) else SignedNote.parse(note)
    # 2. A failing signature by any known key refuses the whole note (signed-note §Signatures).
    verified = verify_note(parsed, [log_key, *witness_keys], backend=backend)
    # 3. Only now is the text known to come from the log, and safe to parse.
    log_sigs = [v for v in verified if v.key == log_key]
    if not log_sigs:
        raise LogError(f"the checkpoint is not signed by the log key {log_key.label}", code="E_LOG_SIGNATURE")
    # 4.
    checkpoint = Checkpoint.parse(parsed.text)
    if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_ROOT:
        raise LogError("an empty tree's root is SHA-256 of nothing", code="E_LOG_EMPTY_ROOT", field="root_hash")
    # 5.
    expected = log_key.name if origin is None else origin
    if checkpoint.origin != expected:
        raise LogError(
            f"the checkpoint is for log {checkpoint.origin!r}, not {expected!r}", code="E_LOG_ORIGIN", field="origin"
        )
    # 6. Count public keys, not lines or names: one witness signing twice, or under two names, is one witness
    #    (tlog-cosignature: distinct cosigners MUST use distinct keys).
    latest = None if now is None else now + DEFAULT_TIME_TOLERANCE
    cosigs: dict[PublicKey, VerifiedSignature] = {}
    for v in verified:
        if v.key.sig_type != COSIGNATURE_V1 or v.key.public_key in cosigs:
            continue
        if latest is not None and v.time is not None and v.time > latest:
            continue
        cosigs[v.key.public_key] = v
    if len(cosigs) < witnesses:
        raise LogError(
            f"{len(cosigs)} of the required {witnesses} witnesses cosigned this checkpoint", code="E_LOG_WITNESSES"
        )
    return VerifiedCheckpoint(checkpoint, parsed, log_sigs[0], tuple(cosigs.values()))


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    """A receipt that :func:`verify_receipt` accepted.

    Attributes:
        leaf: The logged head.
        index: Its index in the log.
        checkpoint: The verified checkpoint that includes it.
    """

    leaf: LogLeaf
    index: int
    checkpoint: VerifiedCheckpoint


def verify_receipt(
    receipt: Receipt | bytes,
    log_key: NoteKey,
    *,
    witness_keys: Sequence[NoteKey] = (),
    witnesses: int = 0,
    expect: HeadLike | None = None,
    origin: str | None = None,
    now: datetime | None = None,
    backend: str | None = None,
) -> VerifiedReceipt:
    """Verify a receipt offline: the leaf is in a tree the log signed and ``witnesses`` witnesses cosigned.

    The steps follow C2SP tlog-proof §Verifying: parse the leaf and compute its hash; check it names the expected
    head; verify the checkpoint (:func:`open_checkpoint`: log signature, origin, witnesses); verify the inclusion
    proof against the checkpoint's root.

    What it proves: this head of this batch was logged, at the latest by the time the checkpoint was cosigned, in
    the history the log showed these witnesses. It does not prove that the head is the batch's latest, that no
    other head of the batch was logged (a monitor finds that), nor anything about the events themselves (verify
    the bundle for that).

    Args:
        receipt: The receipt or its bytes.
        log_key: The log's key.
        witness_keys: Witness keys.
        witnesses: How many distinct witnesses must have cosigned.
        expect: The head the receipt must be for (a ``ChainHead``, the head ``SignedEvent``); None skips the check.
        origin: The expected origin; None means the log key's name.
        now: The current time (see :func:`open_checkpoint`).
        backend: Ed25519 backend name, or None for the fastest.

    Returns:
        The verified receipt.

    Raises:
        FormatError: A malformed receipt, leaf, note or checkpoint.
        KeyFormatError: Keys of the wrong type (``E_VKEY``).
        LogError: ``E_LOG_LEAF`` (another head than expected), the codes of :func:`open_checkpoint`, and
            ``E_LOG_INCLUSION``.
    """
    if not isinstance(receipt, Receipt):
        receipt = Receipt.from_bytes(receipt)
    # 1. The leaf, and its hash.
    leaf = LogLeaf.from_bytes(receipt.leaf)
    # 2. The leaf is the head the auditor holds.
    if expect is not None and (
        leaf.batch_id != expect.batch_id or leaf.seq != expect.seq or leaf.head_id != expect.event_id
    ):
        raise LogError(
            f"the receipt logs seq {leaf.seq} of batch {leaf.batch_id.hex()[:16]}, not the expected head",
            code="E_LOG_LEAF",
            event_id=expect.event_id.hex(),
        )
    # 3. The checkpoint: log signature, origin, witness quorum.
    checkpoint = open_checkpoint(
        receipt.checkpoint,
        log_key,
        witness_keys=witness_keys,
        witnesses=witnesses,
        origin=origin,
        now=now,
        backend=backend,
    )
    # 4. The leaf is in that tree.
    verify_inclusion(leaf.leaf_hash, receipt.index, checkpoint.size, receipt.proof, checkpoint.root_hash)
    return VerifiedReceipt(leaf, receipt.index, checkpoint)


def check_extends(
    previous: Checkpoint,
    offered: Checkpoint,
    proof: Sequence[bytes],
    *,
    previous_note: str | None = None,
    offered_note: str | None = None,
) -> None:
    """Refuse ``offered`` unless it extends ``previous`` (same origin, not smaller, consistent by ``proof``).

    The one rule behind :meth:`LogState.update` and the witness (C2SP tlog-witness §add-checkpoint): after an empty
    tree any tree is accepted with an empty proof; equal sizes need equal roots and no proof.

    Raises:
        LogError: Another origin (``E_LOG_ORIGIN``).
        SplitViewError: A smaller tree (``E_LOG_ROLLBACK``); a proof that fails (``E_LOG_CONSISTENCY``). The
            signed notes given (``previous_note``, ``offered_note``) are attached to the error.
    """
    if offered.origin != previous.origin:
        raise LogError(f"a checkpoint of log {offered.origin!r} offered for {previous.origin!r}", code="E_LOG_ORIGIN")
    if offered.size < previous.size:
        raise SplitViewError(
            f"the log went back from {previous.size} to {offered.size} leaves",
            code="E_LOG_ROLLBACK",
            previous=previous_note,
            offered=offered_note,
        )
    if previous.size == 0:
        if proof:
            raise SplitViewError(
                "no proof is sent after an empty tree",
                code="E_LOG_CONSISTENCY",
                previous=previous_note,
                offered=offered_note,
            )
        return
    try:
        verify_consistency(previous.size, offered.size, previous.root_hash, offered.root_hash, proof)
    except LogError as e:
        raise SplitViewError(
            f"the checkpoint of {offered.size} leaves does not extend the one of {previous.size}: {e.message}",
            code="E_LOG_CONSISTENCY",
            previous=previous_note,
            offered=offered_note,
        ) from e


@dataclass(frozen=True, slots=True)
class LogState:
    """The last checkpoint a client verified: what protects it from a split view.

    Persist :attr:`note` (the signed note text) and rebuild with :meth:`from_note`; :meth:`update` returns the new
    state and never changes this one.

    Attributes:
        checkpoint: The checkpoint held.
        note: Its signed note as text (evidence, should the log later show something else).
    """

    checkpoint: Checkpoint
    note: str

    @classmethod
    def start(cls, first: VerifiedCheckpoint) -> LogState:
        """Trust a first checkpoint (on first use, or one pinned out of band)."""
        return cls(first.checkpoint, first.note.to_text())

    @classmethod
    def from_note(cls, note: str | bytes, log_key: NoteKey, *, backend: str | None = None) -> LogState:
        """Rebuild a persisted state, verifying the log's signature again.

        Raises:
            FormatError, LogError: As :func:`open_checkpoint`.
        """
        return cls.start(open_checkpoint(note, log_key, backend=backend))

    def update(self, new: VerifiedCheckpoint, proof: Sequence[bytes]) -> LogState:
        """Accept ``new`` if it extends the held checkpoint, by the consistency ``proof`` from this size to its size.

        Args:
            new: A verified checkpoint of the same log.
            proof: The consistency proof (empty for equal sizes or after an empty tree).

        Returns:
            The state holding ``new``.

        Raises:
            LogError: Another origin (``E_LOG_ORIGIN``).
            SplitViewError: A smaller tree (``E_LOG_ROLLBACK``) or an inconsistent one (``E_LOG_CONSISTENCY``),
                with both signed notes attached (``previous``, ``offered``).
        """
        offered = new.note.to_text()
        check_extends(self.checkpoint, new.checkpoint, proof, previous_note=self.note, offered_note=offered)
        return LogState(new.checkpoint, offered)
