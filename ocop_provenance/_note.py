"""C2SP signed notes, checkpoints and witness cosignatures, with Ed25519 keys only.

Specifications, exactly as tagged in github.com/C2SP/C2SP:

* **signed-note v1.0.0**: a note is UTF-8 text with no ASCII control character but newline, ending in a newline,
  then a blank line, then signature lines ``— <key name> base64(key hash[4] || signature)``. Key names are
  non-empty, without Unicode spaces or ``+``. The key hash of an Ed25519 key is
  ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``; a verifier key is written
  ``<name>+<hex key hash>+base64(0x01 || public key)`` (§Verifier keys). Signatures from unknown keys are ignored,
  even when they share a name or a key hash (but not both) with a known key; a known key's signature that fails
  rejects the whole note; a note without a verified signature is rejected (§Signatures).
* **tlog-checkpoint v1.0.0**: the note text of a checkpoint is the origin line, the tree size in decimal without
  leading zeroes, the base64 root hash, then optional non-empty extension lines (§Note text).
* **tlog-cosignature v1.0.1** (Ed25519 part): a witness's key hash uses signature type ``0x04``; its signature is
  ``timestamp (u64, big-endian) || Ed25519 signature`` over the line ``cosignature/v1``, the line
  ``time <timestamp>`` and the checkpoint note text (§Format, §Ed25519 signed message). The timestamp is POSIX
  seconds below 2^63.

What this module refuses beyond the letter of the specs (all ``E_NOTE``): a note over 128 KiB or with more than
100 signature lines (Go's limit; the spec asks for at least 16), a carriage return anywhere (a control character),
and base64 that does not re-encode to itself (non-zero padding bits), so that every accepted note has one spelling.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ._errors import FormatError, KeyFormatError, LogError, SignatureError
from ._keys import PublicKey, Signer

__all__ = [
    "COSIGNATURE_V1",
    "ED25519",
    "MAX_NOTE_SIGNATURES",
    "MAX_NOTE_SIZE",
    "Checkpoint",
    "Cosigner",
    "NoteKey",
    "NoteSignature",
    "NoteSigner",
    "SignedNote",
    "VerifiedSignature",
    "b64",
    "keys_in_note",
    "unb64",
    "verify_note",
]

ED25519 = 0x01  # signed-note §Signature types
COSIGNATURE_V1 = 0x04  # tlog-cosignature: timestamped Ed25519 checkpoint cosignatures
MAX_NOTE_SIZE = 128 * 1024
MAX_NOTE_SIGNATURES = 100
_SIG_PREFIX = "\u2014 "  # em dash, space
_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,19}")
_CONTROL_RE = re.compile("[\x00-\x09\x0b-\x1f]")  # ASCII control characters but newline
_BAD_NAME_RE = re.compile(r"[\s+\x00-\x1f\x7f]")  # Unicode spaces, plus, control characters
_MAX_U64 = 2**64
_MAX_TIMESTAMP = 2**63 - 1
_HASH_SIZE = 32


def b64(data: bytes) -> str:
    """Return standard base64 with padding (RFC 4648 §4), as every C2SP format uses."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str, code: str = "E_NOTE") -> bytes:
    """Decode standard base64, refusing anything but its one canonical spelling.

    Raises:
        FormatError: Not canonical standard base64 (``code``, default ``E_NOTE``).
    """
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as e:
        raise FormatError(f"{what} is not base64", code=code, field=what) from e
    if b64(data) != text:
        raise FormatError(f"{what} is not canonical base64", code=code, field=what)
    return data


def _check_name(name: object, what: str = "key name") -> str:
    """A key name: non-empty, no Unicode space, no ``+``, no control character (signed-note §Format)."""
    if not isinstance(name, str) or not name or _BAD_NAME_RE.search(name):
        raise FormatError(f"{what} must be non-empty, without spaces or '+'", code="E_NOTE", field=what)
    return name


def _key_hash(name: str, sig_type: int, raw: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes((sig_type,)) + raw).digest()[:4]


@dataclass(frozen=True, slots=True)
class NoteKey:
    """A verifier key: who may sign a note, by name, key hash and Ed25519 public key.

    ``sig_type`` is :data:`ED25519` for a log's own signature and :data:`COSIGNATURE_V1` for a witness.

    Attributes:
        name: The key name (for a log, its origin).
        public_key: The Ed25519 key.
        sig_type: The signature type byte.
        key_hash: The 4-byte key hash the signature lines carry.
    """

    name: str
    public_key: PublicKey
    sig_type: int = ED25519
    key_hash: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            _check_name(self.name)
        except FormatError as e:
            raise KeyFormatError(e.message, code="E_VKEY", field="name") from e
        if self.sig_type not in (ED25519, COSIGNATURE_V1):
            raise KeyFormatError("only Ed25519 note keys (type 0x01 or 0x04) are supported", code="E_VKEY")
        if not isinstance(self.public_key, PublicKey):
            raise KeyFormatError("public_key must be a PublicKey", code="E_VKEY")
        object.__setattr__(self, "key_hash", _key_hash(self.name, self.sig_type, self.public_key.raw))

    @classmethod
    def for_log(cls, origin: str, public_key: PublicKey) -> NoteKey:
        """Return a log's key: its name is the log's origin, its type Ed25519 (0x01)."""
        return cls(origin, public_key, ED25519)

    @classmethod
    def for_witness(cls, name: str, public_key: PublicKey) -> NoteKey:
        """Return a witness's key: type 0x04, timestamped cosignatures (tlog-cosignature v1)."""
        return cls(name, public_key, COSIGNATURE_V1)

    @classmethod
    def from_vkey(cls, text: str) -> NoteKey:
        """Parse a verifier key ``<name>+<hex key hash>+<base64(type || key)>`` (signed-note §Verifier keys).

        Args:
            text: The vkey; surrounding whitespace is ignored.

        Returns:
            The key.

        Raises:
            KeyFormatError: Malformed, an unsupported type, or a key hash that does not match (``E_VKEY``); a weak
                or off-curve key (``E_WEAK_KEY``, ``E_KEY_FORMAT``).
        """
        if not isinstance(text, str) or len(text) > 1024:
            raise KeyFormatError("not a verifier key", code="E_VKEY")
        name, _, rest = text.strip().partition("+")
        hash_hex, _, key64 = rest.partition("+")
        if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
            raise KeyFormatError("a verifier key's hash is 8 lowercase hex digits", code="E_VKEY")
        try:
            key = unb64(key64, "verifier key")
        except FormatError as e:
            raise KeyFormatError(e.message, code="E_VKEY") from e
        if len(key) != 33:
            raise KeyFormatError("an Ed25519 verifier key is a type byte and 32 bytes", code="E_VKEY")
        made = cls(name, PublicKey.from_raw(key[1:]), key[0])
        if made.key_hash.hex() != hash_hex:
            raise KeyFormatError("the verifier key's hash does not match its name and key", code="E_VKEY")
        return made

    def to_vkey(self) -> str:
        """Return the verifier key text."""
        return f"{self.name}+{self.key_hash.hex()}+{b64(bytes((self.sig_type,)) + self.public_key.raw)}"

    @property
    def label(self) -> str:
        """``name+hash``, how errors and reports name the key."""
        return f"{self.name}+{self.key_hash.hex()}"


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a note, unverified.

    Attributes:
        name: The key name.
        key_hash: The 4-byte key hash.
        signature: The signature bytes after the key hash (for a cosignature: timestamp and signature).
    """

    name: str
    key_hash: bytes
    signature: bytes

    @property
    def line(self) -> str:
        """The signature line, with its newline."""
        return f"{_SIG_PREFIX}{self.name} {b64(self.key_hash + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A signature line that verified with a known key.

    Attributes:
        key: The key that made it.
        signature: The line.
        timestamp: For a cosignature, its POSIX time; None for a plain Ed25519 signature.
    """

    key: NoteKey
    signature: NoteSignature
    timestamp: int | None

    @property
    def time(self) -> datetime | None:
        """The cosignature's time as a UTC datetime, or None."""
        return None if self.timestamp is None else datetime.fromtimestamp(self.timestamp, UTC)


@dataclass(frozen=True, slots=True)
class SignedNote:
    """A parsed signed note: its text and its signature lines, none of them verified yet.

    Attributes:
        text: The note text, ending in a newline (what the signatures sign).
        signatures: The signature lines in order, repeated identical lines dropped.
    """

    text: str
    signatures: tuple[NoteSignature, ...]

    @classmethod
    def parse(cls, data: bytes | str) -> SignedNote:
        """Parse a signed note (signed-note §Format), without verifying anything.

        Raises:
            FormatError: ``E_SIZE`` over 128 KiB; ``E_NOTE`` for anything malformed.
        """
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if len(raw) > MAX_NOTE_SIZE:
            raise FormatError(f"a note is at most {MAX_NOTE_SIZE} bytes", code="E_SIZE")
        try:
            msg = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FormatError("a note is UTF-8", code="E_NOTE") from e
        if _CONTROL_RE.search(msg):
            raise FormatError("a note has no control characters but newline", code="E_NOTE")
        split = msg.rfind("\n\n")
        if split < 0:
            raise FormatError("no blank line before the signatures", code="E_NOTE")
        text, block = msg[: split + 1], msg[split + 2 :]
        if not block.endswith("\n"):
            raise FormatError("a note ends with a signature line and a newline", code="E_NOTE")
        lines = block[:-1].split("\n")
        if len(lines) > MAX_NOTE_SIGNATURES:
            raise FormatError(f"more than {MAX_NOTE_SIGNATURES} signatures", code="E_NOTE")
        sigs: dict[NoteSignature, None] = {}
        for i, line in enumerate(lines):
            where = f"signature[{i}]"
            if not line.startswith(_SIG_PREFIX):
                raise FormatError("a signature line starts with an em dash and a space", code="E_NOTE", field=where)
            name, space, sig64 = line[len(_SIG_PREFIX) :].partition(" ")
            _check_name(name, where)
            if not space or not sig64:
                raise FormatError("a signature line is a name, a space and base64", code="E_NOTE", field=where)
            sig = unb64(sig64, where)
            if len(sig) < 5:
                raise FormatError("a signature is a key hash and at least one byte", code="E_NOTE", field=where)
            sigs.setdefault(NoteSignature(name, sig[:4], sig[4:]))
        return cls(text, tuple(sigs))

    def to_text(self) -> str:
        """Return the note as text: its text, a blank line, its signature lines."""
        return self.text + "\n" + "".join(s.line for s in self.signatures)

    def to_bytes(self) -> bytes:
        """Return the note as UTF-8 bytes."""
        return self.to_text().encode("utf-8")

    def with_signatures(self, signatures: Iterable[NoteSignature]) -> SignedNote:
        """Return this note with more signature lines appended (repeats dropped), e.g. witness cosignatures."""
        merged = dict.fromkeys((*self.signatures, *signatures))
        if len(merged) > MAX_NOTE_SIGNATURES:
            raise FormatError(f"more than {MAX_NOTE_SIGNATURES} signatures", code="E_NOTE")
        return SignedNote(self.text, tuple(merged))


def _cosigned_message(timestamp: int, text: str) -> bytes:
    # tlog-cosignature §Ed25519 signed message: header line, time line, then the whole checkpoint note text.
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def _check_signer(signer: Signer) -> None:
    if not isinstance(signer, Signer):
        raise TypeError("signer must implement the Signer protocol")


def _checked_sign(signer: Signer, message: bytes) -> bytes:
    sig = signer.sign(message)
    if not isinstance(sig, bytes) or len(sig) != 64:
        raise SignatureError("the signer did not return a 64-byte Ed25519 signature", code="E_SIGNER")
    return sig


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """Signs notes with an Ed25519 :class:`~ocop_provenance.Signer` under a key name (a log signs checkpoints).

    Attributes:
        name: The key name; for a log, its origin.
        signer: The Ed25519 signer.
    """

    name: str
    signer: Signer

    def __post_init__(self) -> None:
        _check_signer(self.signer)

    @property
    def key(self) -> NoteKey:
        """The verifier key of this signer."""
        return NoteKey(self.name, self.signer.public_key, ED25519)

    def sign(self, text: str) -> NoteSignature:
        """Sign a note text (it must end with a newline) and return the signature line."""
        if not text.endswith("\n"):
            raise FormatError("a note text ends with a newline", code="E_NOTE")
        return NoteSignature(self.name, self.key.key_hash, _checked_sign(self.signer, text.encode("utf-8")))


@dataclass(frozen=True, slots=True)
class Cosigner:
    """Makes tlog-cosignature v1 cosignatures with an Ed25519 :class:`~ocop_provenance.Signer` (a witness).

    Attributes:
        name: The witness's key name (a schema-less URL is recommended).
        signer: The Ed25519 signer; use a key for nothing else (the signed message does not name the witness).
    """

    name: str
    signer: Signer

    def __post_init__(self) -> None:
        _check_signer(self.signer)

    @property
    def key(self) -> NoteKey:
        """The verifier key of this witness (type 0x04)."""
        return NoteKey(self.name, self.signer.public_key, COSIGNATURE_V1)

    def cosign(self, text: str, time: datetime) -> NoteSignature:
        """Cosign a checkpoint note text at ``time`` (whole seconds are signed; the fraction is dropped).

        Raises:
            FormatError: A naive or pre-1970 time (``E_FIELD``); a text without its final newline (``E_NOTE``).
        """
        if not isinstance(time, datetime) or time.utcoffset() is None:
            raise FormatError("the cosignature time must be timezone-aware", code="E_FIELD", field="time")
        timestamp = int(time.timestamp())
        if not 0 <= timestamp <= _MAX_TIMESTAMP:
            raise FormatError("the cosignature time is before 1970", code="E_FIELD", field="time")
        if not text.endswith("\n"):
            raise FormatError("a note text ends with a newline", code="E_NOTE")
        sig = _checked_sign(self.signer, _cosigned_message(timestamp, text))
        return NoteSignature(self.name, self.key.key_hash, timestamp.to_bytes(8, "big") + sig)


def keys_in_note(note: SignedNote, public_key: PublicKey, sig_type: int) -> tuple[NoteKey, ...]:
    """Return the keys, named as the note's lines name them, whose key hash matches ``public_key`` and ``sig_type``.

    For a verifier configured with a bare public key (a PEM file) and no key name: the key hash binds the name, and
    the signature then binds the key, so a line that matches is that key's line whatever it calls itself. Count
    witnesses by public key (as :func:`~ocop_provenance.tlog.open_checkpoint` does), never by the names found here.

    Args:
        note: The parsed note.
        public_key: The trusted key.
        sig_type: :data:`ED25519` or :data:`COSIGNATURE_V1`.

    Returns:
        One key per distinct name whose line matches (usually one, or none).
    """
    found: dict[str, NoteKey] = {}
    for sig in note.signatures:
        if sig.name in found:
            continue
        try:
            key = NoteKey(sig.name, public_key, sig_type)
        except KeyFormatError:
            continue
        if key.key_hash == sig.key_hash:
            found[sig.name] = key
    return tuple(found.values())


def verify_note(note: SignedNote, keys: Sequence[NoteKey], *, backend: str | None = None) -> list[VerifiedSignature]:
    """Verify every signature of a known key in a note (signed-note §Signatures) and return those that verified.

    Lines whose name and key hash are not both a known key's are ignored. The caller decides which known keys it
    needs (a log's own signature, k witnesses): an empty result is not an error here.

    Args:
        note: The parsed note.
        keys: The known keys (log and witness keys together); two different keys with one name and key hash are
            refused.
        backend: Ed25519 backend name, or None for the fastest.

    Returns:
        One entry per verified line, in note order.

    Raises:
        KeyFormatError: Two different known keys share a name and key hash (``E_VKEY``).
        LogError: A known key's signature does not verify, or is not the length its type requires
            (``E_LOG_SIGNATURE``; the whole note is refused, as the spec recommends).
    """
    known: dict[tuple[str, bytes], NoteKey] = {}
    for k in keys:
        if known.setdefault((k.name, k.key_hash), k) != k:
            raise KeyFormatError(f"two different keys are named {k.label}", code="E_VKEY")
    text = note.text.encode("utf-8")
    verified = []
    for sig in note.signatures:
        key = known.get((sig.name, sig.key_hash))
        if key is None:
            continue
        timestamp = None
        if key.sig_type == COSIGNATURE_V1:
            if len(sig.signature) != 72:
                raise LogError(f"cosignature by {key.label} is not 72 bytes", code="E_LOG_SIGNATURE")
            timestamp = int.from_bytes(sig.signature[:8], "big")
            ok = timestamp <= _MAX_TIMESTAMP and key.public_key._valid(
                sig.signature[8:], _cosigned_message(timestamp, note.text), backend
            )
        else:
            ok = len(sig.signature) == 64 and key.public_key._valid(sig.signature, text, backend)
        if not ok:
            raise LogError(f"the signature by {key.label} does not verify", code="E_LOG_SIGNATURE")
        verified.append(VerifiedSignature(key, sig, timestamp))
    return verified


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """A checkpoint body (C2SP tlog-checkpoint): the tree head a log signs.

    Attributes:
        origin: The log's identity (first line).
        size: The number of leaves.
        root_hash: The RFC 6962 root hash at that size (32 bytes).
        extensions: Extra lines, opaque; our logs write none.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin:
            raise FormatError("the origin is one non-empty line", code="E_CHECKPOINT", field="origin")
        if _CONTROL_RE.search(self.origin):
            raise FormatError("the origin has a control character", code="E_CHECKPOINT", field="origin")
        if type(self.size) is not int or not 0 <= self.size < _MAX_U64:
            raise FormatError("the tree size is an integer in [0, 2**64)", code="E_CHECKPOINT", field="size")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != _HASH_SIZE:
            raise FormatError("the root hash is 32 bytes", code="E_CHECKPOINT", field="root_hash")
        for i, line in enumerate(self.extensions):
            if not isinstance(line, str) or not line or "\n" in line or _CONTROL_RE.search(line):
                raise FormatError("an extension line is non-empty text", code="E_CHECKPOINT", field=f"extension[{i}]")

    @property
    def body(self) -> str:
        """The note text: origin, size, base64 root hash and extension lines, each ending in a newline."""
        return "".join(f"{line}\n" for line in (self.origin, str(self.size), b64(self.root_hash), *self.extensions))

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text (tlog-checkpoint §Note text). Parse only signed text.

        Raises:
            FormatError: ``E_CHECKPOINT`` for anything malformed: fewer than three lines, an empty line, a size with
                a leading zero or sign, a root hash that is not 32 bytes of canonical base64.
        """
        if not isinstance(text, str) or not text.endswith("\n"):
            raise FormatError("a checkpoint ends with a newline", code="E_CHECKPOINT")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise FormatError("a checkpoint has an origin, a size and a root hash", code="E_CHECKPOINT")
        origin, size, root, *extensions = lines
        if not _SIZE_RE.fullmatch(size):
            raise FormatError("the tree size is decimal without leading zeroes", code="E_CHECKPOINT", field="size")
        return cls(
            origin=origin,
            size=int(size),
            root_hash=unb64(root, "root_hash", "E_CHECKPOINT"),
            extensions=tuple(extensions),
        )

    def sign(self, signer: NoteSigner) -> SignedNote:
        """Return this checkpoint as a note signed by ``signer`` (whose name should be the origin)."""
        return SignedNote(self.body, (signer.sign(self.body),))
