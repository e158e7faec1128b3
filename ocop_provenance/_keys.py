"""Ed25519 keys, key ids, key files and the Signer protocol: the only module that calls cryptography or nacl.

* Public keys are validated when they are made: OpenSSL accepts small-order and non-canonical encodings, with
  which one forged signature verifies for every message, so those are rejected here (``WeakKeyError``).
* A key id is the RFC 9679 COSE Key Thumbprint: SHA-256 of the deterministic CBOR COSE_Key
  ``{1: 1, -1: 6, -2: x}`` (kty OKP, crv Ed25519, x).
* Private keys at rest are sealed with scrypt and ChaCha20-Poly1305 in an armoured file (docs/format.md §Key file),
  written with ``O_EXCL`` and mode 0600 and refused when other users can read them.
* Signature verification uses libsodium (PyNaCl) when it is installed and OpenSSL (cryptography) otherwise;
  :func:`ed25519_backend` says which.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import secrets
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from . import _cbor
from ._errors import ErrorCode, FormatError, KeyFormatError, SignatureError, WeakKeyError

_sodium_open: Callable[[bytes, bytes], bytes] | None
_SodiumBadSignature: type[Exception]
try:  # libsodium verifies about twice as fast as OpenSSL on this hardware (docs/performance.md)
    from nacl.bindings import crypto_sign_open as _sodium_open
    from nacl.exceptions import BadSignatureError as _SodiumBadSignature
except ImportError:  # pragma: no cover - exercised in the no-extras test
    _sodium_open = None
    _SodiumBadSignature = ValueError

__all__ = [
    "KEY_FILE_LABEL",
    "KeyWindow",
    "Passphrase",
    "PrivateKey",
    "PublicKey",
    "Signer",
    "available_backends",
    "ed25519_backend",
    "read_private_key",
    "write_private_key",
]

#: A passphrase: bytes, used as given, or text, which is NFC-normalised and encoded as UTF-8 first (so that a
#: Vietnamese passphrase typed on any system, composed or decomposed, opens the same key; the CLI does the same).
Passphrase = bytes | str


def _passphrase_bytes(passphrase: Passphrase | None) -> bytes | None:
    """Return the passphrase as bytes: text NFC-normalised and UTF-8 encoded, bytes unchanged.

    Raises:
        KeyFormatError: Text that is not valid Unicode (a lone surrogate; ``E_PASSPHRASE``).
        TypeError: Neither bytes, text nor None.
    """
    if passphrase is None or type(passphrase) is bytes:
        return passphrase
    if isinstance(passphrase, str):
        try:
            return unicodedata.normalize("NFC", passphrase).encode("utf-8")
        except UnicodeEncodeError as e:
            raise KeyFormatError("the passphrase is not valid Unicode text", code="E_PASSPHRASE") from e
    if isinstance(passphrase, bytes):
        return bytes(passphrase)
    raise TypeError("a passphrase is bytes or str")


_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_ORDER8_A = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
_ORDER8_B = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
# y-coordinates of the eight points of small order (identity, order 2, order 4, order 8): any encoding with
# one of these y values, whatever its sign bit, is a small-order key.
_SMALL_ORDER_Y = frozenset(
    {
        0,
        1,
        _P - 1,
        int.from_bytes(bytes.fromhex(_ORDER8_A), "little"),
        int.from_bytes(bytes.fromhex(_ORDER8_B), "little"),
    }
)

# Every 32-byte encoding of a point of small order (either sign bit). As a signature's R, libsodium refuses these
# and OpenSSL accepts them: refusing them before either backend makes both give the same answer on every shared
# vector (docs/adr/0022-ed25519-backend-agreement.md). A set of encodings is a cheaper test than decoding y.
_SMALL_ORDER_ENCODINGS = frozenset(
    (y | (sign << 255)).to_bytes(32, "little") for y in _SMALL_ORDER_Y for sign in (0, 1)
)

KEY_FILE_LABEL = "OCOP ED25519 PRIVATE KEY"
_KEY_FILE_MAGIC = "ocop-key"
_KDF_LOG2_N_DEFAULT = 15  # 32 MiB of memory, about 0.1 s here
_KDF_LOG2_N_MIN = 14
_KDF_LOG2_N_MAX = 17  # 128 MiB: bounds what a hostile key file can make us allocate
_KDF_R = 8
_KDF_P = 1
_MAX_KEY_FILE = 4096


@functools.lru_cache(maxsize=4096)
def _check_public_bytes(raw: bytes) -> None:
    """Reject encodings OpenSSL accepts but a trust store must not (SECURITY.md, CCTV vectors).

    Remembered for the last 4,096 keys that passed (an error is never remembered): a portal or an auditor meets the
    same producers' keys in bundle after bundle.
    """
    if len(raw) != 32:
        raise KeyFormatError(f"an Ed25519 public key is 32 bytes, got {len(raw)}", code="E_KEY_FORMAT")
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    if y >= _P:
        raise WeakKeyError("non-canonical public key encoding (y >= p)", code="E_WEAK_KEY")
    if y in _SMALL_ORDER_Y:
        raise WeakKeyError("public key is a point of small order", code="E_WEAK_KEY")
    # Decompress: x^2 = u / v with u = y^2 - 1, v = d y^2 + 1 (never 0: d is not a square mod p). A key that is not
    # on the curve can never verify anything. u / v is a square exactly when u * v is (they differ by the square
    # v^2), so one Jacobi symbol decides, with no inversion: some 70 us instead of two 300-us powers, which is what
    # a bundle header of 10,000 keys or a trust list of 10,000 participants costs before any signature is checked.
    y2 = y * y % _P
    u = (y2 - 1) % _P
    if u == 0:
        if sign:
            raise WeakKeyError("non-canonical public key encoding (x = 0, sign set)", code="E_WEAK_KEY")
        return
    v = (_D * y2 + 1) % _P
    if _jacobi(u * v, _P) != 1:
        raise KeyFormatError("public key is not a point on Ed25519", code="E_KEY_FORMAT")


def _jacobi(a: int, n: int) -> int:
    """Return the Jacobi symbol (a/n) for odd n > 0: for a prime n, 1 if a is a non-zero square mod n, -1 if not."""
    a %= n
    result = 1
    while a:
        twos = (a & -a).bit_length() - 1
        a >>= twos
        if twos & 1 and n & 7 in (3, 5):
            result = -result
        if a & 3 == 3 and n & 3 == 3:
            result = -result
        a, n = n % a, a
    return result if n == 1 else 0


def _thumbprint(raw: bytes) -> bytes:
    # RFC 9679: deterministic CBOR of the required COSE_Key members {1: 1 (OKP), -1: 6 (Ed25519), -2: x}.
    return hashlib.sha256(b"\xa3\x01\x01\x20\x06\x21\x58\x20" + raw).digest()


def available_backends() -> tuple[str, ...]:
    """Return the Ed25519 verification backends this installation has, fastest first.

    Returns:
        A tuple drawn from ``("libsodium", "openssl")``.
    """
    return ("libsodium", "openssl") if _sodium_open is not None else ("openssl",)


def ed25519_backend() -> str:
    """Return the name of the backend used by default to verify signatures (``libsodium`` or ``openssl``)."""
    return available_backends()[0]


_DEFAULT_BACKEND = ed25519_backend()


def _utc_text(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyWindow:
    """When a key may sign (from a trust list; docs/format.md §16, docs/adr/0032).

    Attributes:
        not_before: First instant the key may sign (inclusive).
        not_after: First instant the key may no longer sign (exclusive).
        status: ``active``, ``retired`` or ``revoked``.
        status_time: For ``retired``, the retirement time (events claiming a later time are refused).
        holder: Who holds the key, as the trust list names them (for messages), if known.
    """

    not_before: datetime
    not_after: datetime
    status: str = "active"
    status_time: datetime | None = None
    holder: str | None = None

    def problem_at(self, t: datetime) -> tuple[ErrorCode, str] | None:
        """Return ``(code, reason)`` if the key may not sign an event claiming time ``t``, else None.

        Revoked is never valid, whatever time an event claims (claimed times are self-asserted).
        """
        if self.status == "revoked":
            return ErrorCode.KEY_REVOKED, "the key is revoked: nothing it signed is trusted, whatever time it claims"
        if t < self.not_before:
            return ErrorCode.KEY_NOT_YET_VALID, f"the key is valid from {_utc_text(self.not_before)}"
        if t >= self.not_after:
            return ErrorCode.KEY_EXPIRED, f"the key was valid until {_utc_text(self.not_after)} (exclusive)"
        if self.status == "retired" and self.status_time is not None and t >= self.status_time:
            return ErrorCode.KEY_RETIRED, f"the key was retired at {_utc_text(self.status_time)}"
        return None

    def problem_on(self, day: date) -> tuple[ErrorCode, str] | None:
        """Return ``(code, reason)`` if the key may not have signed a seal dated ``day``, else None.

        A seal carries a date, not an instant, written in the sealer's time zone: the key must have been usable at
        some instant of that calendar day in some time zone, i.e. in ``[day 00:00 - 14 h, day+1 00:00 + 12 h)`` UTC
        (docs/adr/0045-seal-keys-from-a-trust-list.md). A revoked key is never usable.
        """
        if self.status == "revoked":
            return self.problem_at(self.not_before)
        start = datetime.combine(day, time(0), UTC) - timedelta(hours=14)
        end = datetime.combine(day, time(0), UTC) + timedelta(days=1, hours=12)
        stop = self.not_after
        if self.status == "retired" and self.status_time is not None:
            stop = min(stop, self.status_time)
        if self.not_before >= end:
            return self.problem_at(start)
        if stop <= start:
            return self.problem_at(max(start, self.not_before))
        return None


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A validated Ed25519 public key.

    Construct with :meth:`from_raw` or :meth:`from_pem`; both reject weak keys.

    Attributes:
        raw: The 32-byte encoding (RFC 8032).
        key_id: The RFC 9679 COSE Key Thumbprint (32 bytes).
    """

    raw: bytes
    key_id: bytes = field(init=False, repr=False, compare=False)
    _openssl: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        raw = bytes(self.raw)
        _check_public_bytes(raw)
        object.__setattr__(self, "raw", raw)
        object.__setattr__(self, "key_id", _thumbprint(raw))
        object.__setattr__(self, "_openssl", Ed25519PublicKey.from_public_bytes(raw))

    @classmethod
    def from_raw(cls, raw: bytes) -> PublicKey:
        """Load a public key from its 32-byte encoding.

        Args:
            raw: The RFC 8032 encoding.

        Returns:
            The key.

        Raises:
            KeyFormatError: The bytes are not a point on the curve (``E_KEY_FORMAT``).
            WeakKeyError: A small-order or non-canonical encoding (``E_WEAK_KEY``).
        """
        return cls(raw)

    @classmethod
    def from_pem(cls, data: bytes | str) -> PublicKey:
        """Load a public key from PEM SubjectPublicKeyInfo.

        Args:
            data: The PEM text.

        Returns:
            The key.

        Raises:
            KeyFormatError: Not a PEM Ed25519 public key (``E_KEY_FORMAT``).
            WeakKeyError: A small-order or non-canonical encoding (``E_WEAK_KEY``).
        """
        if isinstance(data, str):
            data = data.encode("utf-8")
        if len(data) > _MAX_KEY_FILE:
            raise KeyFormatError("public key file is too large", code="E_KEY_FORMAT")
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm) as e:
            raise KeyFormatError("not a PEM public key", code="E_KEY_FORMAT") from e
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFormatError("not an Ed25519 public key", code="E_KEY_FORMAT")
        return cls(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    def to_pem(self) -> bytes:
        """Return the key as PEM SubjectPublicKeyInfo."""
        return self._openssl.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def key_id_hex(self) -> str:
        """The key id as lowercase hex."""
        return self.key_id.hex()

    def verify(self, signature: bytes, message: bytes, *, backend: str | None = None) -> None:
        """Check an Ed25519 signature, raising unless this key made it (as pyca/cryptography's ``verify`` does).

        A signature whose R is a point of small order is refused on every backend: libsodium refuses it and
        OpenSSL accepts it, and the answer must not depend on which one is installed (CCTV, speccheck case 2).

        Args:
            signature: The 64-byte signature.
            message: The signed bytes.
            backend: ``"libsodium"`` or ``"openssl"``; the fastest available when None.

        Raises:
            SignatureError: The signature is not this key's signature of ``message`` (``E_SIGNATURE``).
            ValueError: The named backend is not installed or unknown.
        """
        if not self._valid(signature, message, backend):
            raise SignatureError("signature does not verify", code="E_SIGNATURE", key_id=self.key_id.hex())

    def _valid(self, signature: bytes, message: bytes, backend: str | None = None) -> bool:
        """Return whether the signature verifies (the verifiers' inner loops; the public API raises)."""
        if len(signature) != 64 or bytes(signature[:32]) in _SMALL_ORDER_ENCODINGS:
            return False  # a small-order R: refused whatever the backend (libsodium does, OpenSSL would not)
        name = backend or _DEFAULT_BACKEND
        if name == "libsodium":
            if _sodium_open is None:
                raise ValueError("libsodium backend is not installed (pip install pynacl)")
            try:
                _sodium_open(signature + message, self.raw)
            except _SodiumBadSignature:
                return False
            return True
        if name != "openssl":
            raise ValueError(f"unknown Ed25519 backend {name!r}")
        try:
            self._openssl.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@runtime_checkable
class Signer(Protocol):
    """Anything that can make Ed25519 signatures: a key file, a hardware token, a cloud KMS.

    Implementations must return a 64-byte RFC 8032 signature over exactly ``message``.
    """

    @property
    def public_key(self) -> PublicKey:
        """The public half, used for the key id in every signed header."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` and return the 64-byte signature."""
        ...


class PrivateKey:
    """An Ed25519 private key held in memory; implements :class:`Signer`.

    Build one signer per key and reuse it: loading a private key derives the public key (about 28 µs).
    """

    __slots__ = ("_key", "_public")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self._public = PublicKey(
            key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    def __repr__(self) -> str:
        return f"PrivateKey(key_id={self._public.key_id_hex[:16]}…)"

    @classmethod
    def generate(cls) -> PrivateKey:
        """Return a new random key from the operating system's CSPRNG."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> PrivateKey:
        """Return the key for a 32-byte RFC 8032 seed (deterministic: for test vectors).

        Raises:
            KeyFormatError: The seed is not 32 bytes.
        """
        if len(seed) != 32:
            raise KeyFormatError("an Ed25519 seed is 32 bytes", code="E_KEY_FORMAT")
        return cls(Ed25519PrivateKey.from_private_bytes(bytes(seed)))

    @property
    def public_key(self) -> PublicKey:
        """The public half."""
        return self._public

    @property
    def key_id(self) -> bytes:
        """The RFC 9679 thumbprint of the public key."""
        return self._public.key_id

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` (Ed25519, RFC 8032) and return the 64-byte signature."""
        return self._key.sign(message)

    def _seed(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def to_pkcs8_pem(self, passphrase: Passphrase | None = None) -> bytes:
        """Export as PKCS#8 PEM for other tools.

        Args:
            passphrase: Encrypt with it (cryptography's best available PKCS#8 encryption, which uses a weak
                PBKDF2 setting: prefer :func:`write_private_key` for storage); text is NFC-normalised and UTF-8
                encoded (:data:`Passphrase`). None exports unencrypted.

        Returns:
            The PEM bytes.

        Raises:
            KeyFormatError: A text passphrase that is not valid Unicode (``E_PASSPHRASE``).
        """
        passphrase = _passphrase_bytes(passphrase)
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        )
        return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)

    @classmethod
    def from_pkcs8_pem(cls, data: bytes, passphrase: Passphrase | None = None) -> PrivateKey:
        """Import a PKCS#8 PEM Ed25519 private key.

        Args:
            data: The PEM bytes.
            passphrase: Its passphrase (text is NFC-normalised and UTF-8 encoded), or None if unencrypted.

        Returns:
            The key.

        Raises:
            KeyFormatError: Not an Ed25519 PKCS#8 key, or the passphrase is wrong (``E_PASSPHRASE``).
        """
        passphrase = _passphrase_bytes(passphrase)
        try:
            key = serialization.load_pem_private_key(data, password=passphrase)
        except TypeError as e:
            raise KeyFormatError(
                "the key is encrypted: a passphrase is needed" if passphrase is None else str(e),
                code="E_PASSPHRASE",
            ) from e
        except (ValueError, UnsupportedAlgorithm) as e:
            if passphrase is not None and b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data:
                raise KeyFormatError("wrong passphrase, or the key file is damaged", code="E_PASSPHRASE") from e
            raise KeyFormatError("not a readable PKCS#8 private key (or wrong passphrase)") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFormatError("not an Ed25519 private key")
        return cls(key)

    def to_key_file(self, passphrase: Passphrase, *, kdf_log2_n: int = _KDF_LOG2_N_DEFAULT) -> bytes:
        """Seal the key for storage (scrypt + ChaCha20-Poly1305, docs/format.md §Key file).

        Args:
            passphrase: The passphrase; must not be empty. Text is NFC-normalised and UTF-8 encoded.
            kdf_log2_n: scrypt cost, log2 of N, between 14 and 17.

        Returns:
            The armoured key file contents.

        Raises:
            KeyFormatError: Empty passphrase or a cost outside the accepted range.
        """
        secret = _passphrase_bytes(passphrase)
        if not secret:
            raise KeyFormatError("the passphrase must not be empty", code="E_PASSPHRASE")
        if not _KDF_LOG2_N_MIN <= kdf_log2_n <= _KDF_LOG2_N_MAX:
            raise KeyFormatError("scrypt cost out of range", code="E_KEY_FORMAT")
        salt = secrets.token_bytes(16)
        nonce = secrets.token_bytes(12)
        header = {
            0: _KEY_FILE_MAGIC,
            1: 1,
            2: "scrypt",
            3: salt,
            4: kdf_log2_n,
            5: _KDF_R,
            6: _KDF_P,
            7: nonce,
            9: self._public.raw,
        }
        kek = Scrypt(salt=salt, length=32, n=2**kdf_log2_n, r=_KDF_R, p=_KDF_P).derive(secret)
        sealed = ChaCha20Poly1305(kek).encrypt(nonce, self._seed(), _cbor.encode(header))
        body = _cbor.encode({**header, 8: sealed})
        return _armour(body)

    @classmethod
    def from_key_file(cls, data: bytes, passphrase: Passphrase | None) -> PrivateKey:
        """Open a key file written by :meth:`to_key_file` (or an unencrypted PKCS#8 PEM, when no passphrase).

        Args:
            data: The file contents.
            passphrase: The passphrase (text is NFC-normalised and UTF-8 encoded); None only for an unencrypted
                PKCS#8 file.

        Returns:
            The key.

        Raises:
            KeyFormatError: Malformed file (``E_KEY_FORMAT``) or wrong passphrase (``E_PASSPHRASE``).
        """
        passphrase = _passphrase_bytes(passphrase)
        if len(data) > _MAX_KEY_FILE:
            raise KeyFormatError("key file is too large", code="E_KEY_FORMAT")
        if b"-----BEGIN PRIVATE KEY-----" in data:
            return cls.from_pkcs8_pem(data, None)
        if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data:
            return cls.from_pkcs8_pem(data, passphrase)
        body = _unarmour(data)
        try:
            fields = _cbor.decode(body, max_size=_MAX_KEY_FILE, max_depth=2)
        except FormatError as e:
            raise KeyFormatError(f"key file is not valid: {e.message}", code="E_KEY_FORMAT") from e
        if (
            not isinstance(fields, dict)
            or set(fields) != {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
            or fields[0] != _KEY_FILE_MAGIC
            or type(fields[1]) is not int
            or fields[1] != 1
            or fields[2] != "scrypt"
        ):
            raise KeyFormatError("not an ocop key file of a supported version", code="E_KEY_FORMAT")
        salt, log2n, r, p, nonce, sealed, pub = (fields[k] for k in (3, 4, 5, 6, 7, 8, 9))
        if not (
            isinstance(salt, bytes)
            and len(salt) == 16
            and isinstance(nonce, bytes)
            and len(nonce) == 12
            and isinstance(sealed, bytes)
            and len(sealed) == 48
            and isinstance(pub, bytes)
            and type(log2n) is int
            and _KDF_LOG2_N_MIN <= log2n <= _KDF_LOG2_N_MAX
            and type(r) is int
            and r == _KDF_R
            and type(p) is int
            and p == _KDF_P
        ):
            raise KeyFormatError("key file fields are out of range", code="E_KEY_FORMAT")
        if not passphrase:
            raise KeyFormatError("the key is encrypted: a passphrase is needed", code="E_PASSPHRASE")
        header = {k: v for k, v in fields.items() if k != 8}
        kek = Scrypt(salt=salt, length=32, n=2**log2n, r=r, p=p).derive(passphrase)
        try:
            seed = ChaCha20Poly1305(kek).decrypt(nonce, sealed, _cbor.encode(header))
        except InvalidTag as e:
            raise KeyFormatError("wrong passphrase, or the key file is damaged", code="E_PASSPHRASE") from e
        key = cls.from_seed(seed)
        if key.public_key.raw != pub:
            raise KeyFormatError("key file public key does not match its private key")
        return key


def _armour(body: bytes) -> bytes:
    b64 = base64.b64encode(body).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return ("\n".join([f"-----BEGIN {KEY_FILE_LABEL}-----", *lines, f"-----END {KEY_FILE_LABEL}-----"]) + "\n").encode(
        "ascii"
    )


def _unarmour(data: bytes) -> bytes:
    try:
        text = data.decode("ascii").strip().splitlines()
    except UnicodeDecodeError as e:
        raise KeyFormatError("key file is not ASCII text", code="E_KEY_FORMAT") from e
    if (
        len(text) < 3
        or text[0].strip() != f"-----BEGIN {KEY_FILE_LABEL}-----"
        or text[-1].strip() != f"-----END {KEY_FILE_LABEL}-----"
    ):
        raise KeyFormatError("not an ocop private key file", code="E_KEY_FORMAT")
    try:
        return base64.b64decode("".join(line.strip() for line in text[1:-1]), validate=True)
    except ValueError as e:
        raise KeyFormatError("key file is not valid base64", code="E_KEY_FORMAT") from e


def write_private_key(
    path: str | os.PathLike[str],
    key: PrivateKey,
    passphrase: Passphrase | None,
    *,
    insecure_plaintext: bool = False,
    kdf_log2_n: int = _KDF_LOG2_N_DEFAULT,
) -> None:
    """Write a private key file that no other user can read, never overwriting an existing file.

    Args:
        path: Where to write; must not exist.
        key: The key.
        passphrase: Seal the key with it (scrypt + ChaCha20-Poly1305); text is NFC-normalised and UTF-8 encoded.
        insecure_plaintext: Must be True to write an unencrypted PKCS#8 file when ``passphrase`` is None.
        kdf_log2_n: scrypt cost (log2 N), 14 to 17.

    Raises:
        KeyFormatError: No passphrase and no explicit ``insecure_plaintext``; or an empty passphrase.
        FileExistsError: ``path`` exists.
        OSError: The file cannot be written.
    """
    if passphrase is None:
        if not insecure_plaintext:
            raise KeyFormatError(
                "refusing to write an unencrypted private key without insecure_plaintext=True",
                code="E_PASSPHRASE",
            )
        data = key.to_pkcs8_pem(None)
    else:
        data = key.to_key_file(passphrase, kdf_log2_n=kdf_log2_n)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        Path(path).unlink(missing_ok=True)
        raise
    os.close(fd)


def read_private_key(path: str | os.PathLike[str], passphrase: Passphrase | None) -> PrivateKey:
    """Read a private key file, refusing one that other users can read or write.

    Args:
        path: The file.
        passphrase: Its passphrase (text is NFC-normalised and UTF-8 encoded, as the CLI does); None for an
            unencrypted file.

    Returns:
        The key.

    Raises:
        KeyFormatError: Unsafe permissions (``E_KEY_PERMS``), wrong passphrase (``E_PASSPHRASE``) or a malformed
            file (``E_KEY_FORMAT``).
        OSError: The file cannot be read.
    """
    p = Path(path)
    if os.name == "posix":
        mode = p.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFormatError(
                f"key file {p.name} is accessible by other users (mode {stat.S_IMODE(mode):o}); run chmod 600 on it",
                code="E_KEY_PERMS",
            )
    with p.open("rb") as f:
        data = f.read(_MAX_KEY_FILE + 1)
    return PrivateKey.from_key_file(data, passphrase)
