"""COSE_Sign1 (RFC 9052 §4.2) with EdDSA, as this library makes and accepts it.

What is accepted (docs/format.md §COSE envelope, docs/adr/0001):
* tag 18, an array of four items: protected header bytes, an empty unprotected map, the payload bytes (never
  detached) and a 64-byte signature;
* a protected header that is exactly ``{1: -8 (EdDSA), 4: kid (32 bytes), 16: typ (text)}`` in deterministic
  CBOR. No other label is understood, so any other label, ``crit`` included, is refused;
* ``typ`` (RFC 9596) names the object kind, so an event, a seal and a trust list never verify as one another.

Object identity is SHA-256 of the ToBeSigned bytes, never of the signature (Ed25519 signers can re-sign).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import _cbor
from ._errors import FormatError, SignatureError
from ._keys import PublicKey, Signer

__all__ = [
    "ALG_EDDSA",
    "CoseSign1",
    "parse_sign1",
    "protected_header",
    "sign1",
    "split_sign1",
    "to_be_signed",
    "unsigned_sign1",
]

ALG_EDDSA = -8
_LABEL_ALG = 1
_LABEL_CRIT = 2
_LABEL_KID = 4
_LABEL_TYP = 16
_TAG18 = 0xD2
#: Most CBOR data items after the tag: an accepted COSE_Sign1 holds 5 (the array, three byte strings, an empty map);
#: a few more still get their precise code (a kid in the unprotected header is E_UNPROTECTED), and a hostile map
#: of a million entries inside a 4 MiB trust list is refused before it is decoded.
MAX_COSE_ITEMS = 16
_TBS_PREFIX = b"\x84\x6aSignature1"
_EMPTY_BSTR = b"\x40"
_PROTECTED_CACHE_LIMIT = 1024
_protected_cache: dict[bytes, tuple[bytes, str]] = {}


@dataclass(frozen=True, slots=True)
class CoseSign1:
    """A COSE_Sign1 as this library makes and accepts it: the one envelope of every signed object.

    Events, seals, trust lists and policies each hold one (or, for multi-signed documents, several). Parsing does
    not verify: call :meth:`verify` with a trusted key.

    Attributes:
        raw: The full tagged bytes.
        protected: The protected header bytes.
        payload: The payload bytes.
        signature: The signature bytes.
        key_id: The kid from the protected header.
        typ: The content type from the protected header.
        to_be_signed: The Sig_structure bytes that the signature covers.
        object_id: SHA-256 of ``to_be_signed``: the object's identity, independent of the signature bytes.
    """

    raw: bytes
    protected: bytes
    payload: bytes
    signature: bytes
    key_id: bytes
    typ: str
    to_be_signed: bytes
    object_id: bytes

    def verify(self, key: PublicKey, *, backend: str | None = None) -> None:
        """Check that ``key`` made the signature (the caller checks that ``key`` is trusted).

        Raises:
            SignatureError: It did not (``E_SIGNATURE``).
        """
        key.verify(self.signature, self.to_be_signed, backend=backend)


def to_be_signed(protected: bytes, payload: bytes) -> bytes:
    """Return the RFC 9052 Sig_structure ``["Signature1", protected, h'', payload]`` as bytes."""
    return b"".join(
        (
            _TBS_PREFIX,
            _cbor.encode_bstr_head(len(protected)),
            protected,
            _EMPTY_BSTR,
            _cbor.encode_bstr_head(len(payload)),
            payload,
        )
    )


_header_cache: dict[tuple[bytes, str], bytes] = {}


def protected_header(key_id: bytes, typ: str) -> bytes:
    """Return the deterministic protected header for ``key_id`` and ``typ``."""
    header = _header_cache.get((key_id, typ))
    if header is None:
        header = _cbor.encode({_LABEL_ALG: ALG_EDDSA, _LABEL_KID: key_id, _LABEL_TYP: typ})
        if len(_header_cache) >= _PROTECTED_CACHE_LIMIT:
            _header_cache.clear()
        _header_cache[(key_id, typ)] = header
    return header


def sign1(payload: bytes, signer: Signer, typ: str) -> CoseSign1:
    """Sign ``payload`` as a tagged COSE_Sign1 of content type ``typ``.

    Args:
        payload: Deterministic CBOR bytes.
        signer: The key.
        typ: The content type naming the object kind.

    Returns:
        The new envelope.

    Raises:
        SignatureError: The signer returned something that is not a 64-byte signature (``E_SIGNER``).
    """
    key_id = signer.public_key.key_id
    protected = protected_header(key_id, typ)
    tbs, unsigned = unsigned_sign1(protected, payload)
    signature = signer.sign(tbs)
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise SignatureError("the signer did not return a 64-byte Ed25519 signature", code="E_SIGNER")
    return CoseSign1(
        unsigned + signature, protected, payload, signature, key_id, typ, tbs, hashlib.sha256(tbs).digest()
    )


def unsigned_sign1(protected: bytes, payload: bytes) -> tuple[bytes, bytes]:
    """Return ``(to_be_signed, unsigned)`` for a COSE_Sign1 whose bytes will be ``unsigned + signature``.

    This is the one place that lays out the envelope this library writes (``d2 84 bstr a0 bstr 58 40``); the
    object id (SHA-256 of ``to_be_signed``) is known before the signature is made, so a caller may sign
    elsewhere (a signing process, docs/adr/0014-parallel-bulk-signing.md) and append the 64-byte signature.

    Args:
        protected: The protected header bytes (:func:`protected_header`).
        payload: The payload bytes.
    """
    protected_head = _cbor.encode_bstr_head(len(protected))
    payload_head = _cbor.encode_bstr_head(len(payload))
    tbs = b"".join((_TBS_PREFIX, protected_head, protected, _EMPTY_BSTR, payload_head, payload))
    unsigned = b"".join((b"\xd2\x84", protected_head, protected, b"\xa0", payload_head, payload, b"\x58\x40"))
    return tbs, unsigned


def _parse_protected(protected: bytes) -> tuple[bytes, str]:
    cached = _protected_cache.get(protected)
    if cached is not None:
        return cached
    try:
        header = _cbor.decode(protected, max_size=256, max_depth=2)
    except FormatError as e:
        raise FormatError(f"protected header: {e.message}", code=e.code, field="protected") from e
    if not isinstance(header, dict):
        raise FormatError("protected header is not a map", code="E_COSE", field="protected")
    if _LABEL_CRIT in header:
        raise SignatureError(
            "protected header lists critical parameters this verifier does not understand",
            code="E_CRIT",
            field="protected.crit",
        )
    if set(header) != {_LABEL_ALG, _LABEL_KID, _LABEL_TYP}:
        unknown = sorted(set(header) - {_LABEL_ALG, _LABEL_KID, _LABEL_TYP}, key=str)
        raise FormatError(
            f"protected header must hold exactly alg, kid and typ (unexpected: {unknown})",
            code="E_COSE",
            field="protected",
        )
    if header[_LABEL_ALG] != ALG_EDDSA or isinstance(header[_LABEL_ALG], bool):
        raise SignatureError(
            f"algorithm {header[_LABEL_ALG]!r} is not accepted (only EdDSA, -8)",
            code="E_ALG",
            field="protected.alg",
        )
    kid, typ = header[_LABEL_KID], header[_LABEL_TYP]
    if not isinstance(kid, bytes) or len(kid) != 32:
        raise FormatError("kid must be a 32-byte key thumbprint", code="E_COSE", field="protected.kid")
    if not isinstance(typ, str):
        raise FormatError("typ must be text", code="E_COSE", field="protected.typ")
    if len(_protected_cache) >= _PROTECTED_CACHE_LIMIT:
        _protected_cache.clear()
    _protected_cache[protected] = (kid, typ)
    return kid, typ


def _bstr_at(data: bytes, pos: int) -> tuple[int, int] | None:
    """Return (start, end) of the shortest-form byte string whose head is at ``pos``, or None."""
    if pos >= len(data):
        return None
    head = data[pos]
    if 0x40 <= head <= 0x57:
        start, length = pos + 1, head - 0x40
    elif head == 0x58:
        if pos + 2 > len(data):
            return None
        start, length = pos + 2, data[pos + 1]
        if length < 24:
            return None
    elif head == 0x59:
        if pos + 3 > len(data):
            return None
        start, length = pos + 3, (data[pos + 1] << 8) | data[pos + 2]
        if length < 0x100:
            return None
    else:  # longer than any object this library accepts: the general path decides
        return None
    end = start + length
    return (start, end) if end <= len(data) else None


def split_sign1(data: bytes) -> tuple[bytes, bytes, bytes, bytes] | None:
    """Split the one deterministic layout of a tagged COSE_Sign1 with an empty unprotected header.

    Returns ``(protected, payload, signature, to_be_signed)`` when ``data`` is exactly
    ``d2 84 bstr(protected) a0 bstr(payload) 58 40 signature`` in shortest form, else None. This is the only
    encoding :func:`parse_sign1` accepts, read without a general CBOR decoder; anything else goes to the
    general path, which names the error.
    """
    if len(data) < 70 or data[0] != _TAG18 or data[1] != 0x84:
        return None
    prot = _bstr_at(data, 2)
    if prot is None or prot[1] >= len(data) or data[prot[1]] != 0xA0:
        return None
    pay = _bstr_at(data, prot[1] + 1)
    if pay is None or len(data) != pay[1] + 66 or data[pay[1]] != 0x58 or data[pay[1] + 1] != 0x40:
        return None
    # The ToBeSigned bytes hold both byte strings with their heads exactly as they appear here.
    tbs = b"".join((_TBS_PREFIX, data[2 : prot[1]], _EMPTY_BSTR, data[prot[1] + 1 : pay[1]]))
    return data[prot[0] : prot[1]], data[pay[0] : pay[1]], data[pay[1] + 2 :], tbs


def parse_sign1(data: bytes, *, typ: str, max_size: int) -> CoseSign1:
    """Parse a tagged COSE_Sign1 from untrusted bytes, checking its envelope and content type.

    The signature is *not* checked here; call :meth:`CoseSign1.verify` with a trusted key.

    Args:
        data: The bytes.
        typ: The content type the caller expects; anything else is refused.
        max_size: Largest accepted input.

    Returns:
        The parsed envelope.

    Raises:
        FormatError: ``E_TYPE`` (not bytes), ``E_SIZE``, ``E_COSE`` (not a tagged COSE_Sign1 of four items,
            detached payload), ``E_UNPROTECTED`` (non-empty unprotected header), or the CBOR codes of
            :func:`_cbor.decode`.
        SignatureError: ``E_ALG`` (not EdDSA), ``E_CRIT`` (critical parameters), ``E_CONTENT_TYPE`` (another kind
            of object).
    """
    if not isinstance(data, bytes):
        if not isinstance(data, (bytearray, memoryview)):
            raise FormatError("expected bytes", code="E_TYPE")
        data = bytes(data)
    if len(data) > max_size:
        raise FormatError(f"{len(data)} bytes exceeds the limit of {max_size}", code="E_SIZE")
    parts = split_sign1(data)
    protected, payload, signature, tbs = parts if parts is not None else _split_general(data, max_size)
    kid, got_typ = _parse_protected(protected)
    if got_typ != typ:
        raise SignatureError(
            f"this is a {got_typ!r} object, not a {typ!r}",
            code="E_CONTENT_TYPE",
            field="protected.typ",
        )
    return CoseSign1(data, protected, payload, signature, kid, typ, tbs, hashlib.sha256(tbs).digest())


def _split_general(data: bytes, max_size: int) -> tuple[bytes, bytes, bytes, bytes]:
    """Split as :func:`split_sign1` with the strict decoder, naming what is wrong with any other encoding."""
    if len(data) < 2 or data[0] != _TAG18:
        raise FormatError("not a tagged COSE_Sign1 (tag 18)", code="E_COSE")
    items = _cbor.decode(data[1:], max_size=max_size, max_depth=2, max_items=MAX_COSE_ITEMS)
    if not isinstance(items, list) or len(items) != 4:
        raise FormatError("COSE_Sign1 must be an array of four items", code="E_COSE")
    protected, unprotected, payload, signature = items
    if not isinstance(protected, bytes):
        raise FormatError("protected header must be a byte string", code="E_COSE", field="protected")
    if unprotected != {}:
        raise FormatError(
            "the unprotected header must be empty: anyone can change it",
            code="E_UNPROTECTED",
            field="unprotected",
        )
    if not isinstance(payload, bytes):
        raise FormatError("payload must be attached as a byte string", code="E_COSE", field="payload")
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise FormatError("signature must be 64 bytes", code="E_COSE", field="signature")
    return protected, payload, signature, to_be_signed(protected, payload)
