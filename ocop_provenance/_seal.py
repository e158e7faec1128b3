"""Seals: a producer's signed statement about a batch's record, compact enough for a QR code on the package.

A seal is a COSE_Sign1 of content type :data:`SEAL_TYP` (docs/format.md §Seals and QR payloads, ADR 0040) whose
payload is the deterministic CBOR map::

    {0: 1 (v), 1: resolver, 2: gtin | 3: batch_ref, 4: lot, ?5: serial, 6: seq, 7: head16, 8: sealed_on (days)}

It travels in two encodings of the *same* COSE_Sign1:

* the URL form, a GS1 Digital Link (or the OCOP link without a GTIN) plus ``?s=`` and a run of decimal digits
  (a numeric-mode QR segment, as SMART Health Cards do). The digits carry only what the URL cannot: a 4-byte
  key-id hint, the sealing date, 16 bytes of the head event id, the seq and the 64-byte signature. The verifier
  rebuilds the payload from the URL and the digits, and the protected header from each candidate key, and checks
  the signature: the object checked is a standard COSE_Sign1 that anyone can reconstruct;
* the text form ``OCOP1:`` + base45 of the full COSE_Sign1 (self-contained, for apps and files).

Verification (:func:`verify_seal`) takes its keys and clock in :class:`~ocop_provenance.VerifyOptions` and never
reads the clock itself. With a verified trust list as the keys, the signer must also be a participant whose role may
seal and who owns the sealed GTIN (docs/adr/0047); the result lists what was checked and what was not.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from . import _cbor
from ._bundle import verify_bundle
from ._chain import ChainHead
from ._corrections import CorrectionLog, CorrectionNote
from ._cose import CoseSign1, parse_sign1, protected_header, sign1, to_be_signed
from ._digitallink import BATCH_REF_SIZE, DigitalLink, is_gs1_82, parse_digital_link
from ._errors import ErrorCode, FormatError, SignatureError, UntrustedKeyError, VerificationError
from ._keys import PublicKey, Signer
from ._model import Genesis
from ._policy import VerifiedPolicy
from ._trust import Participant, VerifiedTrustList, genesis_claims
from ._verify import ANY_BATCH, NO_CLOCK, ChainVerifier, KeySource, VerifyOptions
from ._wire import SignedEvent

__all__ = [
    "DOES_NOT_PROVE",
    "DOES_NOT_PROVE_VI",
    "HEAD_REF_SIZE",
    "KID_HINT_SIZE",
    "PROVES",
    "PROVES_VI",
    "SEALING_ROLES",
    "SEAL_TEXT_PREFIX",
    "SEAL_TYP",
    "Seal",
    "SealChainInfo",
    "SealMismatchError",
    "SealStatement",
    "SealVerification",
    "SealedStep",
    "UnverifiedSeal",
    "base45_decode",
    "base45_encode",
    "make_seal",
    "parse_unverified_seal",
    "seal_units",
    "verify_seal",
]

#: The COSE ``typ`` of a seal: a seal never verifies as an event or a trust list, nor they as a seal.
SEAL_TYP = "application/ocop-seal+cbor"
#: Prefix of the text form (as EU DCC's ``HC1:``); the digit is the seal format version.
SEAL_TEXT_PREFIX = "OCOP1:"
#: Bytes of the signer's key id carried in the URL form (a lookup hint; the full id is in the signed header).
KID_HINT_SIZE = 4
#: Bytes of the sealed head event id that the statement carries.
HEAD_REF_SIZE = 16
#: The sentence every valid result carries: what a valid seal proves.
PROVES = "A valid seal proves who signed this record (the producer's key) and that it was not changed since."
#: ... and what it does not.
DOES_NOT_PROVE = "It does not prove that this physical package is genuine: a code can be copied onto another package."
PROVES_VI = "Con dấu hợp lệ chứng minh ai đã ký hồ sơ này (khóa của nhà sản xuất) và hồ sơ không bị thay đổi từ đó."
DOES_NOT_PROVE_VI = "Con dấu không chứng minh gói hàng vật lý này là thật: mã có thể bị sao chép sang gói hàng khác."

_VERSION = 1
_EPOCH = date(1970, 1, 1)
_MAX_TEXT = 1400
_MAX_SEAL_SIZE = 1024
_MAX_RESOLVER = 200
_SIG = 64
_FIXED = 1 + KID_HINT_SIZE + 2 + HEAD_REF_SIZE  # before the seq
_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_INDEX = {c: i for i, c in enumerate(_B45)}
_MAX_SEQ = 2**63 - 1
# Labels of the seal payload (ADR 0040).
_V, _RESOLVER, _GTIN, _BATCH_REF, _LOT, _SERIAL, _SEQ, _HEAD, _DATE = range(9)


class SealMismatchError(VerificationError):
    """A validly signed seal that does not match the chain it is checked against.

    Codes: ``E_SEAL_BATCH`` (another batch or product), ``E_SEAL_HEAD`` (the event at the sealed seq is another
    event: the history was rewritten), ``E_SEAL_ROLLBACK`` (the chain is shorter than the seal: truncated or rolled
    back), ``E_SEAL_SIGNER`` (the seal's signer signed none of the sealed events), ``E_SEAL_FUTURE`` (sealed after
    the verifier's ``now``), ``E_SEAL_TIME`` (sealed before the sealed head happened).
    """

    code = ErrorCode.SEAL_MISMATCH


#: The roles that may seal when no policy names others: the producer seals its own products.
SEALING_ROLES: tuple[str, ...] = ("producer",)


# ---- encodings --------------------------------------------------------------------------------------------


def base45_encode(data: bytes) -> str:
    """Encode bytes as base45 (RFC 9285), the alphabet of QR alphanumeric mode."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        c, n = n % 45, n // 45
        d, e = n % 45, n // 45
        out += [_B45[c], _B45[d], _B45[e]]
    if len(data) % 2:
        out += [_B45[data[-1] % 45], _B45[data[-1] // 45]]
    return "".join(out)


def base45_decode(text: str) -> bytes:
    """Decode base45 (RFC 9285), strictly.

    Raises:
        FormatError: ``E_SEAL_ENCODING`` for a character outside the alphabet, a bad length or a group out of range.
    """
    if len(text) % 3 == 1:
        raise FormatError("base45 text has an impossible length", code="E_SEAL_ENCODING")
    try:
        values = [_B45_INDEX[c] for c in text]
    except KeyError as e:
        raise FormatError("character outside the base45 alphabet", code="E_SEAL_ENCODING") from e
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i : i + 3]
        n = sum(v * 45**k for k, v in enumerate(group))
        if len(group) == 3:
            if n > 0xFFFF:
                raise FormatError("base45 group out of range", code="E_SEAL_ENCODING")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise FormatError("base45 group out of range", code="E_SEAL_ENCODING")
            out.append(n)
    return bytes(out)


def _digit_count(n_bytes: int) -> int:
    # The fewest decimal digits that hold every n-byte value: 10**d >= 256**n.
    d = (n_bytes * 8 * 30103 + 99999) // 100000
    while 10**d < 256**n_bytes:
        d += 1
    while d > 0 and 10 ** (d - 1) >= 256**n_bytes:
        d -= 1
    return d


_MIN_BLOB = _FIXED + 1 + _SIG
_MAX_BLOB = _FIXED + 9 + _SIG
_DIGITS_TO_BYTES = {_digit_count(n): n for n in range(_MIN_BLOB, _MAX_BLOB + 1)}


def _to_digits(blob: bytes) -> str:
    return str(int.from_bytes(blob, "big")).zfill(_digit_count(len(blob)))


def _from_digits(digits: str) -> bytes:
    n = _DIGITS_TO_BYTES.get(len(digits))
    if n is None:
        raise FormatError(
            f"{len(digits)} seal digits: the seal is truncated or padded", code="E_SEAL_TRUNCATED", field="s"
        )
    if not digits.isascii() or not digits.isdigit():
        raise FormatError("the seal must be decimal digits", code="E_SEAL_ENCODING", field="s")
    value = int(digits)
    if value >= 256**n:
        raise FormatError("seal digits out of range", code="E_SEAL_ENCODING", field="s")
    return value.to_bytes(n, "big")


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_uvarint(data: bytes) -> tuple[int, int]:
    n = shift = 0
    for i, b in enumerate(data[:9]):
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            if b == 0 and i > 0:
                raise FormatError("seq is not in shortest form", code="E_SEAL_ENCODING", field="s")
            return n, i + 1
    raise FormatError("the seal ends inside the seq", code="E_SEAL_TRUNCATED", field="s")


# ---- the statement ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SealStatement:
    """What a seal says (the COSE payload, decoded).

    Attributes:
        resolver: Where the URL form points (``https://host[/prefix]``); signed, so a copied seal cannot be
            re-pointed at another site.
        gtin: The product's GTIN as 14 digits, or None (OCOP form).
        batch_ref: The first 8 bytes of the batch id when there is no GTIN, else None.
        lot: The lot printed on the package.
        serial: The unit's serial for per-unit codes, else None.
        seq: The seq of the sealed head event (the seal covers events 0..seq).
        head: The first 16 bytes of the sealed head event's id.
        sealed_on: The sealing date.
    """

    resolver: str
    gtin: str | None
    batch_ref: bytes | None
    lot: str
    serial: str | None
    seq: int
    head: bytes
    sealed_on: date

    def __post_init__(self) -> None:
        if len(self.resolver) > _MAX_RESOLVER:
            raise FormatError("resolver too long", code="E_FIELD", field="resolver")
        # The link checks resolver, GTIN, batch reference, lot and serial with GS1's rules.
        self.link()
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or not 0 <= self.seq <= _MAX_SEQ:
            raise FormatError("seq out of range", code="E_FIELD", field="seq")
        if not isinstance(self.head, bytes) or len(self.head) != HEAD_REF_SIZE:
            raise FormatError(f"head must be {HEAD_REF_SIZE} bytes", code="E_FIELD", field="head")
        if not isinstance(self.sealed_on, date) or isinstance(self.sealed_on, datetime):
            raise FormatError("sealed_on must be a date", code="E_FIELD", field="sealed_on")
        if not 0 <= (self.sealed_on - _EPOCH).days <= 0xFFFF:
            raise FormatError("sealed_on out of range (1970-2149)", code="E_FIELD", field="sealed_on")

    def link(self, query: tuple[tuple[str, str], ...] = ()) -> DigitalLink:
        """Return the Digital Link (or OCOP link) of this statement."""
        return DigitalLink(
            resolver=self.resolver,
            gtin=self.gtin,
            batch_ref=self.batch_ref,
            lot=self.lot,
            serial=self.serial,
            query=query,
        )

    def to_payload(self) -> bytes:
        """Return the deterministic CBOR payload that is signed."""
        m: dict[int, Any] = {
            _V: _VERSION,
            _RESOLVER: self.resolver,
            _LOT: self.lot,
            _SEQ: self.seq,
            _HEAD: self.head,
            _DATE: (self.sealed_on - _EPOCH).days,
        }
        if self.gtin is not None:
            m[_GTIN] = self.gtin
        else:
            m[_BATCH_REF] = self.batch_ref
        if self.serial is not None:
            m[_SERIAL] = self.serial
        return _cbor.encode(m)

    @classmethod
    def from_payload(cls, payload: bytes) -> SealStatement:
        """Decode and check a seal payload.

        Raises:
            FormatError: ``E_SCHEMA``, ``E_VERSION``, ``E_FIELD`` or a CBOR code; ``E_NONCANONICAL`` if the payload
                is not the one encoding of its statement.
        """
        m = _cbor.decode(payload, max_size=_MAX_SEAL_SIZE, max_depth=1)
        if not isinstance(m, dict):
            raise FormatError("seal payload must be a map", code="E_SCHEMA")
        if m.get(_V) != _VERSION or isinstance(m.get(_V), bool):
            raise FormatError(f"unsupported seal version {m.get(_V)!r}", code="E_VERSION", field="v")
        allowed = {_V, _RESOLVER, _GTIN, _BATCH_REF, _LOT, _SERIAL, _SEQ, _HEAD, _DATE}
        if not set(m) <= allowed or not {_RESOLVER, _LOT, _SEQ, _HEAD, _DATE} <= set(m):
            raise FormatError("seal payload labels are wrong", code="E_SCHEMA")
        types: dict[int, type] = {
            _RESOLVER: str,
            _GTIN: str,
            _BATCH_REF: bytes,
            _LOT: str,
            _SERIAL: str,
            _SEQ: int,
            _HEAD: bytes,
            _DATE: int,
        }
        for label, kind in types.items():
            if label in m and (not isinstance(m[label], kind) or isinstance(m[label], bool)):
                raise FormatError(f"seal label {label} has the wrong type", code="E_SCHEMA")
        days = m[_DATE]
        if not 0 <= days <= 0xFFFF:
            raise FormatError("sealed_on out of range", code="E_FIELD", field="sealed_on")
        gtin = m.get(_GTIN)
        if gtin is not None and len(gtin) != 14:
            raise FormatError("a sealed GTIN has 14 digits", code="E_NONCANONICAL", field="gtin")
        statement = cls(
            resolver=m[_RESOLVER],
            gtin=gtin,
            batch_ref=m.get(_BATCH_REF),
            lot=m[_LOT],
            serial=m.get(_SERIAL),
            seq=m[_SEQ],
            head=m[_HEAD],
            sealed_on=_EPOCH + timedelta(days=days),
        )
        if statement.to_payload() != payload:
            raise FormatError("seal payload is not in its one encoding", code="E_NONCANONICAL")
        return statement


# ---- signed seals -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seal:
    """A signed seal: its COSE_Sign1 envelope and what it says (built by :func:`make_seal` or by verification).

    Attributes:
        envelope: The COSE_Sign1 (for the URL form, rebuilt from the link and the carried digits).
        statement: The decoded payload.
    """

    envelope: CoseSign1
    statement: SealStatement

    @property
    def raw(self) -> bytes:
        """The tagged COSE_Sign1 bytes."""
        return self.envelope.raw

    @property
    def key_id(self) -> bytes:
        """The signer's full key id (from the protected header)."""
        return self.envelope.key_id

    @property
    def signature(self) -> bytes:
        """The 64-byte signature."""
        return self.envelope.signature

    @property
    def seal_id(self) -> bytes:
        """SHA-256 of the ToBeSigned bytes."""
        return self.envelope.object_id

    def compact(self) -> bytes:
        """Return the bytes the URL form carries as digits (ADR 0040 byte budget)."""
        st = self.statement
        return b"".join(
            (
                bytes((_VERSION,)),
                self.key_id[:KID_HINT_SIZE],
                (st.sealed_on - _EPOCH).days.to_bytes(2, "big"),
                st.head,
                _uvarint(st.seq),
                self.signature,
            )
        )

    def to_url(self) -> str:
        """Return the URL form: the Digital Link (or OCOP link) with ``?s=`` and the seal digits."""
        return self.statement.link((("s", _to_digits(self.compact())),)).to_url()

    def to_text(self) -> str:
        """Return the text form: ``OCOP1:`` + base45 of the COSE_Sign1."""
        return SEAL_TEXT_PREFIX + base45_encode(self.raw)


def _statement_for(
    genesis: SignedEvent, head: SignedEvent | ChainHead, *, resolver: str, sealed_on: date, serial: str | None
) -> SealStatement:
    if not isinstance(genesis.body, Genesis):
        raise FormatError("make_seal needs the batch's genesis event", code="E_SEAL_INPUT", field="genesis")
    if head.batch_id != genesis.event_id:
        raise FormatError("the head belongs to another batch", code="E_SEAL_INPUT", field="head")
    product = genesis.body.product
    head_id = head.event_id
    if not is_gs1_82(product.lot):
        raise FormatError(
            "a sealed lot must be 1-20 characters of GS1's 82-character set",
            code="E_DL_CHARSET",
            field="product.lot",
        )
    return SealStatement(
        resolver=resolver,
        gtin=product.gtin,
        batch_ref=None if product.gtin is not None else genesis.event_id[:BATCH_REF_SIZE],
        lot=product.lot,
        serial=serial,
        seq=head.seq,
        head=head_id[:HEAD_REF_SIZE],
        sealed_on=sealed_on,
    )


def _sign(statement: SealStatement, signer: Signer) -> Seal:
    return Seal(sign1(statement.to_payload(), signer, SEAL_TYP), statement)


def make_seal(
    genesis: SignedEvent,
    head: SignedEvent | ChainHead,
    signer: Signer,
    *,
    resolver: str,
    sealed_on: date,
    serial: str | None = None,
) -> Seal:
    """Seal a batch's record up to ``head``.

    Args:
        genesis: The batch's genesis event (GTIN, lot and batch id come from it).
        head: The head to seal (an event of that batch, or its :class:`ChainHead`).
        signer: The producer's key.
        resolver: ``https://host[/prefix]`` that the URL form opens.
        sealed_on: The sealing date (the caller's clock).
        serial: The unit's serial for a per-unit code (1-20 characters of GS1's set).

    Returns:
        The signed seal.

    Raises:
        FormatError: ``E_SEAL_INPUT`` (not a genesis, or a head of another batch), ``E_DL_CHARSET`` (lot or serial
            outside GS1's character set), ``E_DL_SYNTAX`` (resolver), ``E_FIELD``.
    """
    return _sign(_statement_for(genesis, head, resolver=resolver, sealed_on=sealed_on, serial=serial), signer)


def seal_units(
    genesis: SignedEvent,
    head: SignedEvent | ChainHead,
    signer: Signer,
    *,
    resolver: str,
    sealed_on: date,
    serials: Iterable[str],
) -> Iterator[Seal]:
    """Yield one seal per unit serial (lazily: pipe it into a label sheet).

    Raises:
        FormatError: As :func:`make_seal`, for the first bad serial.
    """
    base = _statement_for(genesis, head, resolver=resolver, sealed_on=sealed_on, serial=None)
    for serial in serials:
        st = SealStatement(
            resolver=base.resolver,
            gtin=base.gtin,
            batch_ref=base.batch_ref,
            lot=base.lot,
            serial=serial,
            seq=base.seq,
            head=base.head,
            sealed_on=base.sealed_on,
        )
        yield _sign(st, signer)


# ---- parsing ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class UnverifiedSeal:
    """A seal read from text or a URL, not yet verified.

    Attributes:
        statement: What it claims.
        kid_hint: The key id (32 bytes, text form) or its first 4 bytes (URL form).
        signature: The signature.
        form: ``"url"`` or ``"text"``.
        text: The text it was read from.
    """

    statement: SealStatement
    kid_hint: bytes
    signature: bytes
    form: str
    text: str

    def rebuild(self, key_id: bytes) -> CoseSign1:
        """Return the COSE_Sign1 this seal is if the key with ``key_id`` signed it (not verified)."""
        protected = protected_header(key_id, SEAL_TYP)
        payload = self.statement.to_payload()
        tbs = to_be_signed(protected, payload)
        raw = b"".join(
            (
                b"\xd2\x84",
                _cbor.encode_bstr_head(len(protected)),
                protected,
                b"\xa0",
                _cbor.encode_bstr_head(len(payload)),
                payload,
                b"\x58\x40",
                self.signature,
            )
        )
        return CoseSign1(raw, protected, payload, self.signature, key_id, SEAL_TYP, tbs, hashlib.sha256(tbs).digest())


def _parse_url(text: str) -> UnverifiedSeal:
    link = parse_digital_link(text)
    if not link.query:
        raise FormatError("the link carries no seal (no ?s=)", code="E_SEAL_MISSING", field="s")
    if len(link.query) != 1 or link.query[0][0] != "s":
        raise FormatError("a sealed link carries exactly one query parameter, s", code="E_DL_QUERY", field="query")
    if link.cpv is not None:
        raise FormatError("seals do not cover a variant (AI 22)", code="E_DL_QUALIFIER", field="cpv")
    if link.lot is None:
        raise FormatError("a sealed link names its lot (AI 10)", code="E_DL_SYNTAX", field="lot")
    blob = _from_digits(link.query[0][1])
    if blob[0] != _VERSION:
        raise FormatError(f"unsupported seal version {blob[0]}", code="E_VERSION", field="s")
    kid_hint = blob[1 : 1 + KID_HINT_SIZE]
    days = int.from_bytes(blob[1 + KID_HINT_SIZE : 3 + KID_HINT_SIZE], "big")
    head = blob[3 + KID_HINT_SIZE : _FIXED]
    seq, used = _read_uvarint(blob[_FIXED : len(blob) - _SIG])
    if _FIXED + used + _SIG != len(blob):
        raise FormatError("the seal's parts do not add up: truncated or altered", code="E_SEAL_TRUNCATED", field="s")
    statement = SealStatement(
        resolver=link.resolver,
        gtin=link.gtin,
        batch_ref=link.batch_ref,
        lot=link.lot,
        serial=link.serial,
        seq=seq,
        head=head,
        sealed_on=_EPOCH + timedelta(days=days),
    )
    return UnverifiedSeal(statement=statement, kid_hint=kid_hint, signature=blob[-_SIG:], form="url", text=text)


def _parse_text(text: str) -> UnverifiedSeal:
    raw = base45_decode(text[len(SEAL_TEXT_PREFIX) :])
    cose = parse_sign1(raw, typ=SEAL_TYP, max_size=_MAX_SEAL_SIZE)
    statement = SealStatement.from_payload(cose.payload)
    return UnverifiedSeal(statement=statement, kid_hint=cose.key_id, signature=cose.signature, form="text", text=text)


def parse_unverified_seal(text: str) -> UnverifiedSeal:
    """Read a seal from its URL or text form without verifying it.

    Args:
        text: Exactly what the code holds.

    Returns:
        The claimed statement with the signature and key hint.

    Raises:
        FormatError: ``E_SEAL_PREFIX`` (neither ``OCOP1:`` nor an http(s) link), ``E_SEAL_MISSING`` (a link
            without a seal), ``E_SEAL_TRUNCATED``, ``E_SEAL_ENCODING``, ``E_VERSION``, the ``E_DL_*`` and ``E_GTIN*``
            codes of :func:`~ocop_provenance.parse_digital_link`, or the COSE/CBOR codes.
        SignatureError: ``E_CONTENT_TYPE`` when the text form holds another kind of object (an event).
    """
    if not isinstance(text, str):
        raise FormatError("expected text", code="E_SEAL_PREFIX")
    if len(text) > _MAX_TEXT:
        raise FormatError(f"longer than {_MAX_TEXT} characters", code="E_SIZE")
    if text.startswith(SEAL_TEXT_PREFIX):
        return _parse_text(text)
    if text.startswith(("https://", "http://")):
        return _parse_url(text)
    raise FormatError("not a seal: expected OCOP1: or an http(s) link", code="E_SEAL_PREFIX")


# ---- verification ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SealedStep:
    """One event the seal covers: seq, business step and claimed time."""

    seq: int
    step: str
    time: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SealChainInfo:
    """What the batch's chain adds when it is checked with the seal.

    Attributes:
        batch_id: The batch.
        product_name: From the genesis event (Vietnamese as signed).
        declared_producer: The producer's name as the genesis declares it (self-declared).
        province: Producer's province at signing, as declared, if given.
        ocop_stars: OCOP stars, if the genesis carries a certificate.
        covered: Events the seal covers (seq + 1).
        total: Events in the chain presented.
        steps: The covered events, in order.
        corrections: Corrections of covered steps, anywhere in the chain presented (also after the sealed head: a
            label printed before a step was corrected still shows it), each with its status (docs/format.md §19).
    """

    batch_id: bytes
    product_name: str
    declared_producer: str
    province: str | None
    ocop_stars: int | None
    covered: int
    total: int
    steps: tuple[SealedStep, ...]
    corrections: tuple[CorrectionNote, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SealVerification:
    """The result of a successful :func:`verify_seal`.

    Attributes:
        code: ``SEAL_OK``, or ``SEAL_OLDER_HEAD`` when the chain presented has grown past the sealed head
            (the seal covers ``chain.covered`` of ``chain.total`` events; not an error).
        seal: The seal, rebuilt as the full COSE_Sign1 that was signed.
        key: The trusted key that signed it.
        signer: Who signed it, as the trust list names them (None when the keys were a bare key ring).
        chain: What the chain says, when one was given.
        checked: What this verification established, in order (``signature``, ``signer-trusted``,
            ``signer-role``, ``gtin-owner``, ``chain``, ``genesis-claims``).
        not_checked: What it did not establish, and why (``chain``: no bundle or chain was given, so the record the
            seal names was not seen; ``signer-role``/``gtin-owner``: the keys were not a trust list).
        proves: :data:`PROVES`.
        does_not_prove: :data:`DOES_NOT_PROVE`.
        proves_vi: :data:`PROVES_VI`.
        does_not_prove_vi: :data:`DOES_NOT_PROVE_VI`.
    """

    code: str
    seal: Seal
    key: PublicKey
    signer: Participant | None = None
    chain: SealChainInfo | None = None
    checked: tuple[str, ...] = ()
    not_checked: tuple[str, ...] = ()
    proves: str = field(default=PROVES)
    does_not_prove: str = field(default=DOES_NOT_PROVE)
    proves_vi: str = field(default=PROVES_VI)
    does_not_prove_vi: str = field(default=DOES_NOT_PROVE_VI)

    @property
    def statement(self) -> SealStatement:
        """The verified statement."""
        return self.seal.statement

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping (schema ``ocop-seal-verification/2``)."""
        st = self.statement
        signer = self.signer
        out: dict[str, Any] = {
            "schema": "ocop-seal-verification/2",
            "code": self.code,
            "valid": True,
            "key_id": self.seal.key_id.hex(),
            "signer": None
            if signer is None
            else {
                "id": signer.id,
                "name": signer.name,
                "role": signer.role,
                "commune": signer.commune,
                "province": signer.province,
            },
            "seal_id": self.seal.seal_id.hex(),
            "resolver": st.resolver,
            "gtin": st.gtin,
            "batch_ref": st.batch_ref.hex() if st.batch_ref is not None else None,
            "lot": st.lot,
            "serial": st.serial,
            "seq": st.seq,
            "head": st.head.hex(),
            "sealed_on": st.sealed_on.isoformat(),
            "checked": list(self.checked),
            "not_checked": list(self.not_checked),
            "proves": self.proves,
            "does_not_prove": self.does_not_prove,
            "proves_vi": self.proves_vi,
            "does_not_prove_vi": self.does_not_prove_vi,
            "chain": None,
        }
        if self.chain is not None:
            c = self.chain
            out["chain"] = {
                "batch_id": c.batch_id.hex(),
                "product_name": c.product_name,
                "declared_producer": c.declared_producer,
                "province": c.province,
                "ocop_stars": c.ocop_stars,
                "covered": c.covered,
                "total": c.total,
                "steps": [{"seq": s.seq, "step": s.step, "time": s.time.isoformat()} for s in c.steps],
                "corrections": [n.to_dict() for n in c.corrections],
            }
        return out


def _check_signature(unverified: UnverifiedSeal, options: VerifyOptions[KeySource]) -> tuple[Seal, PublicKey]:
    hint = unverified.kid_hint
    ring = options.ring
    sealed_on = unverified.statement.sealed_on
    # The hint is not an authenticator: every trusted key whose id starts with it is tried, each only if its
    # window allows a seal of that date.
    matching = [k for k in ring if k.key_id.startswith(hint)]
    if not matching:
        raise UntrustedKeyError("the seal is signed by a key that is not trusted", key_id=hint)
    refused: tuple[PublicKey, tuple[ErrorCode, str], str | None] | None = None
    for key in matching:
        window = ring.window(key)
        problem = None if window is None else window.problem_on(sealed_on)
        if problem is not None:
            if refused is None:
                refused = (key, problem, None if window is None else window.holder)
            continue
        envelope = unverified.rebuild(key.key_id)
        if key._valid(unverified.signature, envelope.to_be_signed, options.backend):
            return Seal(envelope, unverified.statement), key
    if refused is not None:
        key, (code, reason), holder = refused
        who = f"{holder}, " if holder else ""
        raise UntrustedKeyError(
            f"{who}for a seal dated {sealed_on.isoformat()}: {reason}", code=code, key_id=key.key_id
        )
    raise SignatureError("the seal's signature does not verify: altered or not this signer's", key_id=hint)


def _check_sealer(seal: Seal, trust: VerifiedTrustList, sealers: tuple[str, ...]) -> Participant:
    # Who may seal what (issue 10, findings 1-2): a participant in a sealing role, for a GTIN it owns.
    found = trust.lookup(seal.key_id)
    assert found is not None  # the key verified, so it is in the list
    participant = found[0]
    if participant.role not in sealers:
        raise SealMismatchError(
            f"{participant.name} ({participant.role}) may not seal products: sealing is for {' or '.join(sealers)}",
            code="E_SEAL_ROLE",
            key_id=seal.key_id,
        )
    gtin = seal.statement.gtin
    if gtin is not None and not participant.owns_gtin(gtin):
        raise SealMismatchError(
            f"GTIN {gtin} belongs to none of {participant.name}'s GS1 Company Prefixes",
            code="E_GTIN_NOT_OWNED",
            key_id=seal.key_id,
            field="gtin",
        )
    return participant


class _SealChainCheck:
    """Checks a seal against its batch's verified events, fed one at a time in chain order (constant memory)."""

    def __init__(self, seal: Seal, trust: VerifiedTrustList | None) -> None:
        self._seal = seal
        self._trust = trust
        self._genesis: SignedEvent | None = None
        self._steps: list[SealedStep] = []
        self._signers: set[bytes] = set()
        self._sealed: SignedEvent | None = None
        self._total = 0
        self._corrections = CorrectionLog()

    def feed(self, event: SignedEvent) -> None:
        st = self._seal.statement
        self._total += 1
        if self._genesis is None:
            self._genesis = event
            # 1. same product and batch: GTIN and lot (or the batch reference) must be the genesis event's.
            body = event.body
            same = (
                isinstance(body, Genesis)
                and body.product.lot == st.lot
                and (
                    body.product.gtin == st.gtin
                    if st.gtin is not None
                    else event.event_id[:BATCH_REF_SIZE] == st.batch_ref
                )
            )
            if not same:
                raise SealMismatchError("the seal is for another batch or product", code="E_SEAL_BATCH")
            # 1b. with a trust list: what the genesis claims must be its signer's (issue 10, finding 1).
            found = None if self._trust is None else self._trust.lookup(event.key_id)
            if found is not None and isinstance(body, Genesis):
                for code, field_name, message in genesis_claims(found[0], body):
                    raise SealMismatchError(message, code=code, field=field_name, event_id=event.event_id)
        # Corrections are in force when the corrected step's signer (participant, with a trust list) made them.
        holder = None if self._trust is None else self._trust.lookup(event.key_id)
        self._corrections.add(event, event.key_id if holder is None else holder[0].id)
        if event.seq <= st.seq:
            self._steps.append(SealedStep(event.seq, event.step, event.time))
            self._signers.add(event.key_id)
            if event.seq == st.seq:
                self._sealed = event

    def finish(self) -> SealChainInfo:
        st, genesis, sealed_event = self._seal.statement, self._genesis, self._sealed
        if genesis is None:
            raise SealMismatchError("the chain has no events", code="E_SEAL_ROLLBACK")
        # 2. the chain must reach the sealed seq: a shorter chain was truncated or rolled back.
        if sealed_event is None:
            raise SealMismatchError(
                f"the seal covers seq {st.seq} but the chain ends at seq {self._total - 1}: truncated or rolled back",
                code="E_SEAL_ROLLBACK",
            )
        # 3. the event at the sealed seq must be the sealed head (else history was rewritten, or another batch).
        if sealed_event.event_id[:HEAD_REF_SIZE] != st.head:
            raise SealMismatchError(
                f"the event at seq {st.seq} is not the one sealed",
                code="E_SEAL_HEAD",
                event_id=sealed_event.event_id_hex,
            )
        # 4. the seal's signer must be one who signed the sealed events (the producer, usually the genesis signer).
        if self._seal.key_id not in self._signers:
            raise SealMismatchError(
                "the seal's signer signed none of the sealed events",
                code="E_SEAL_SIGNER",
                key_id=self._seal.key_id.hex(),
            )
        # 5. a seal cannot predate the head it seals: its date, in the offset the event was signed with, less one day.
        if st.sealed_on < sealed_event.time.date() - timedelta(days=1):
            raise SealMismatchError("the seal is dated before the head it seals", code="E_SEAL_TIME")
        body = genesis.body
        assert isinstance(body, Genesis)  # checked in feed
        return SealChainInfo(
            batch_id=genesis.event_id,
            product_name=body.product.name,
            declared_producer=body.producer.name,
            province=body.producer.province,
            ocop_stars=body.certificate.stars if body.certificate is not None else None,
            covered=st.seq + 1,
            total=self._total,
            steps=tuple(self._steps),
            corrections=tuple(n for n in self._corrections.notes if n.seq <= st.seq),
        )


def verify_seal(
    seal: str | UnverifiedSeal,
    options: VerifyOptions[KeySource],
    *,
    chain: Iterable[bytes | SignedEvent] | None = None,
    bundle: str | os.PathLike[str] | bytes | None = None,
    policy: VerifiedPolicy | None = None,
) -> SealVerification:
    """Verify a seal offline against trusted keys and, optionally, the batch's chain or bundle.

    The checks, in order:

    1. syntax: the URL or text form parses (GS1 rules for the link);
    2. signer: a trusted key whose id starts with the carried hint (a hint, not an authenticator: each is tried),
       usable on the sealing date when the keys come from a trust list;
    3. signature over the rebuilt COSE_Sign1 (URL form) or the received one (text form);
    4. date: not sealed after ``now``'s UTC date plus one day, unless ``now`` is ``NO_CLOCK``;
    5. with a verified trust list as keys: the signer's role may seal (:data:`SEALING_ROLES`, or the policy's
       ``sealers``; ``E_SEAL_ROLE``) and a sealed GTIN belongs to the signer's GS1 Company Prefixes
       (``E_GTIN_NOT_OWNED``);
    6. with a chain or bundle: the chain verifies (every key judged at each event's time), it is the sealed batch,
       its genesis claims are the sealer's (with a trust list), it reaches the sealed seq, the event there is the
       sealed head, and the seal's signer signed a sealed event.

    Args:
        seal: The URL or text (or an already parsed :class:`UnverifiedSeal`).
        options: Keys (a :class:`~ocop_provenance.KeyRing` or a verified trust list), clock and backend.
        chain: The batch's events in order (verified here), or None.
        bundle: A bundle (path or bytes) whose root batch is the sealed batch (verified here), or None.
        policy: The verified policy of the product's kind, whose ``sealers`` (if any) name who may seal.

    Returns:
        The verified result; ``code`` is ``SEAL_OLDER_HEAD`` when the chain continued after the seal; ``checked``
        and ``not_checked`` say what was and was not established.

    Raises:
        FormatError: See :func:`parse_unverified_seal`.
        UntrustedKeyError: ``E_UNKNOWN_KEY``, or ``E_KEY_*`` when the signer's key was not usable that day.
        SignatureError: ``E_SIGNATURE`` (altered, or signed by another key), ``E_CONTENT_TYPE`` (not a seal).
        SealMismatchError: ``E_SEAL_FUTURE``, ``E_SEAL_ROLE``, ``E_GTIN_NOT_OWNED``, ``E_CLAIM_MISMATCH``,
            ``E_SEAL_BATCH``, ``E_SEAL_ROLLBACK``, ``E_SEAL_HEAD``, ``E_SEAL_SIGNER``, ``E_SEAL_TIME``.
        VerificationError: A chain or bundle check failed (its own code).
        ValueError: Both ``chain`` and ``bundle`` were given.
    """
    if chain is not None and bundle is not None:
        raise ValueError("pass a chain or a bundle, not both")
    unverified = seal if isinstance(seal, UnverifiedSeal) else parse_unverified_seal(seal)
    checked, key = _check_signature(unverified, options)
    done = ["signature", "signer-trusted"]
    missing: list[str] = []
    st = checked.statement
    # The day boundary is UTC's (docs/format.md §17): a clock's own offset must not move it. One day of slack covers
    # every signer's offset (a seal dated by the local calendar is at most one day ahead of UTC's).
    if options.now is not NO_CLOCK and st.sealed_on > options.now.astimezone(UTC).date() + timedelta(days=1):
        raise SealMismatchError(f"sealed on {st.sealed_on.isoformat()}, after now", code="E_SEAL_FUTURE")
    trust = options.keys if isinstance(options.keys, VerifiedTrustList) else None
    sealer: Participant | None = None
    if trust is not None:
        sealers = policy.policy.sealers if policy is not None and policy.policy.sealers else SEALING_ROLES
        sealer = _check_sealer(checked, trust, sealers)
        done += ["signer-role", "gtin-owner"]
    else:
        missing += ["signer-role", "gtin-owner"]
    info: SealChainInfo | None = None
    if chain is not None:
        check = _SealChainCheck(checked, trust)
        verifier = ChainVerifier(options, batch=ANY_BATCH)
        for item in chain:
            check.feed(verifier.feed(item))
        verifier.finish()
        info = check.finish()
    elif bundle is not None:
        # One pass: the root batch's events reach the seal check as the bundle verifier accepts them.
        check = _SealChainCheck(checked, trust)
        source = io.BytesIO(bundle) if isinstance(bundle, bytes) else bundle
        verify_bundle(
            source,
            options,
            root=ANY_BATCH,
            on_event=lambda batch, event: check.feed(event) if batch == 0 else None,
        )
        info = check.finish()
    if info is not None:
        done.append("chain")
        if trust is not None:
            done.append("genesis-claims")
    else:
        missing.append("chain")
    code = "SEAL_OLDER_HEAD" if info is not None and info.covered < info.total else "SEAL_OK"
    return SealVerification(
        code=code,
        seal=checked,
        key=key,
        signer=sealer,
        chain=info,
        checked=tuple(done),
        not_checked=tuple(missing),
    )
