"""Trust lists: which keys belong to which participant, in which role, and when (docs/trust.md, docs/format.md).

A trust list is a *multi-signed document*: a CBOR array of COSE_Sign1 objects (one per authority signer) over the
same payload bytes (docs/adr/0030). Its identity is SHA-256 of the payload, never of a signature, so adding a
co-signature does not change which list it is.

Verification is offline and pure: everything comes from bytes and a ``now`` the caller passes. The verifier starts
from pinned authority keys (:class:`AuthorityPin`) or a pinned, earlier verified :class:`TrustList`, walks forward
through the newer lists it is given, and accepts version N+k only when a threshold of version N's authority keys
*and* a threshold of its own authority keys signed it, counting distinct public keys (docs/adr/0031).

Key status, judged at the time an event claims:

* ``active``: valid in its window ``not_before <= t < not_after``;
* ``retired`` at T: as active, and only for ``t < T`` (events signed before retirement stay valid);
* ``revoked``: never valid, whatever time the event claims (claimed times are self-asserted, docs/adr/0032).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from . import _cbor, _fields
from ._cose import CoseSign1, parse_sign1, sign1
from ._errors import ErrorCode, FormatError, KeyFormatError, UntrustedKeyError, VerificationError
from ._keys import KeyWindow, PublicKey, Signer
from ._model import Genesis
from ._verify import KeyRing

__all__ = [
    "MAX_SIGNED_DOCUMENT_SIZE",
    "ROLES",
    "TRUST_TYP",
    "AuthorityPin",
    "KeyStatus",
    "Participant",
    "ParticipantKey",
    "SignedDocument",
    "TrustError",
    "TrustList",
    "VerifiedTrustList",
    "add_signatures",
    "genesis_claims",
    "load_trusted_root",
    "parse_unverified_document",
    "sign_document",
    "sign_trust_list",
    "verify_trust_list",
]

#: The COSE ``typ`` of a trust list (RFC 9596).
TRUST_TYP = "application/ocop-trust+cbor"
#: The roles a participant can hold.
ROLES: tuple[str, ...] = ("producer", "processor", "lab", "certifier", "distributor", "retailer")
#: Largest accepted trust list or policy, all signatures included.
MAX_SIGNED_DOCUMENT_SIZE = 4 << 20
MAX_SIGNATURES = 32
MAX_PARTICIPANTS = 20_000
MAX_KEYS_PER_PARTICIPANT = 16
MAX_CLAIMS = 64
MAX_AUTHORITY_KEYS = 16
#: Most CBOR data items a trust list or policy payload may hold: a budget counted over the heads before anything is
#: decoded, so a hostile document costs time and memory in proportion to it (about 1 s and 40 MB at the budget, in a
#: fresh process here), not to its bytes. 20,000 participants of one key and a GS1 prefix each hold some 540,000
#: items; the signer refuses a document over the budget (docs/format.md §12, benchmarks/bench_hostile.py).
MAX_DOCUMENT_ITEMS = 500_000
#: Most CBOR data items of the multi-signed envelope: the array and its byte strings.
MAX_ENVELOPE_ITEMS = 1 + MAX_SIGNATURES
TRUST_FORMAT_VERSION = 1

# Trust list payload labels (docs/format.md §Trust lists and policies).
_V, _ISSUER, _VERSION, _ISSUED, _EXPIRES, _AUTHORITY, _PARTICIPANTS, _CRIT = range(8)
_KNOWN = frozenset(range(8))
_REQUIRED = frozenset({_V, _ISSUER, _VERSION, _ISSUED, _EXPIRES, _AUTHORITY, _PARTICIPANTS})
_PARTICIPANT = (
    "id",
    "name",
    "role",
    "admin_code",
    "gln",
    "keys",
    "commune",
    "province",
    "gs1_prefixes",
    "glns",
    "admin_codes",
)
_KEY = ("key", "not_before", "not_after", "status", "status_time")
_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_PREFIX_RE = re.compile(r"[0-9]{4,12}")


class TrustError(VerificationError):
    """A trust list or policy must not be trusted: rollback, expiry, too few signatures, conflict, criticality."""

    code = ErrorCode.TRUST


class KeyStatus:
    """The status values of a participant key (text on the wire)."""

    ACTIVE = "active"
    RETIRED = "retired"
    REVOKED = "revoked"
    ALL = (ACTIVE, RETIRED, REVOKED)


# ---- small validated helpers --------------------------------------------------------------------------------


def _fmt(message: str, where: str, code: str = "E_SCHEMA") -> FormatError:
    return FormatError(message, code=code, field=where)


def time_text(t: datetime, where: str = "time") -> str:
    """Return ``t`` as the canonical UTC text of trust lists and policies (``YYYY-MM-DDTHH:MM:SSZ``).

    Raises:
        FormatError: ``t`` is naive or has fractions of a second (``E_FIELD``).
    """
    return _fields.utc_time_text(t, where)


def parse_time(value: object, where: str) -> datetime:
    """Parse canonical UTC text (see :func:`time_text`)."""
    return _fields.parse_utc_time(value, where)


def labelled(value: object, names: tuple[str, ...], where: str, required: Iterable[int]) -> dict[str, Any]:
    """Return a label-keyed map as name-keyed, refusing unknown labels and reporting missing ones."""
    if not isinstance(value, dict):
        raise _fmt("expected a map", where)
    unknown = [k for k in value if not (isinstance(k, int) and not isinstance(k, bool) and 0 <= k < len(names))]
    if unknown:
        raise _fmt(f"unknown labels {sorted(map(str, unknown))}", where)
    for label in required:
        if label not in value:
            raise _fmt(f"missing {names[label]}", f"{where}.{names[label]}")
    return {names[k]: v for k, v in value.items()}


def list_field(value: object, where: str, limit: int, *, empty: bool = False) -> list[Any]:
    """Return ``value`` if it is an array of at most ``limit`` items (non-empty unless ``empty``)."""
    if not isinstance(value, list) or (not value and not empty):
        raise _fmt("expected a non-empty array" if not empty else "expected an array", where)
    if len(value) > limit:
        raise _fmt(f"more than {limit} items", where, "E_SIZE")
    return value


def _key(raw: object, where: str) -> PublicKey:
    if not isinstance(raw, bytes):
        raise _fmt("expected a 32-byte Ed25519 public key", where)
    try:
        return PublicKey.from_raw(raw)
    except KeyFormatError as e:
        e.field = where
        raise


# ---- the multi-signed envelope ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedDocument:
    """A payload with one or more COSE_Sign1 signatures over the same bytes (unverified).

    Attributes:
        typ: The content type every signature carries.
        payload: The payload bytes.
        signatures: The parsed COSE_Sign1 objects, in envelope order.
        object_id: SHA-256 of the payload: the document's identity, independent of who signed.
    """

    typ: str
    payload: bytes
    signatures: tuple[CoseSign1, ...]
    object_id: bytes

    def to_bytes(self) -> bytes:
        """Return the envelope: deterministic CBOR array of the COSE_Sign1 byte strings."""
        return _cbor.encode([s.raw for s in self.signatures])

    def signed_by(self, keys: Iterable[PublicKey], *, backend: str | None = None) -> frozenset[bytes]:
        """Return the raw bytes of the distinct keys among ``keys`` that validly signed the payload.

        A duplicated signature, or two signatures by one key, count once: the result is a set of keys.
        """
        ring = KeyRing.of(keys)
        good: set[bytes] = set()
        for sig in self.signatures:
            for key in ring.candidates(sig.key_id):
                if key.raw not in good and key._valid(sig.signature, sig.to_be_signed, backend):
                    good.add(key.raw)
        return frozenset(good)


def sign_document(payload: bytes, signers: Iterable[Signer], typ: str) -> bytes:
    """Sign ``payload`` with every signer and return the multi-signed envelope.

    Args:
        payload: Deterministic CBOR bytes.
        signers: One or more keys (duplicates are signed once).
        typ: The content type.

    Returns:
        The envelope bytes (signatures sorted by key id, so the same signers give the same bytes).

    Raises:
        ValueError: No signer.
        FormatError: ``E_SIZE``: the payload holds more than :data:`MAX_DOCUMENT_ITEMS` items, or the envelope would
            exceed :data:`MAX_SIGNED_DOCUMENT_SIZE` (verifiers would refuse it).
    """
    _cbor.count_items(payload, max_items=MAX_DOCUMENT_ITEMS)
    by_id: dict[bytes, bytes] = {}
    for signer in signers:
        by_id.setdefault(signer.public_key.key_id, sign1(payload, signer, typ).raw)
    if not by_id:
        raise ValueError("at least one signer is needed")
    return _envelope([by_id[k] for k in sorted(by_id)])


def _envelope(items: list[bytes]) -> bytes:
    data = _cbor.encode(items)
    if len(data) > MAX_SIGNED_DOCUMENT_SIZE:
        raise FormatError(f"the signed document would be {len(data)} bytes, over the limit", code="E_SIZE")
    return data


def parse_unverified_document(data: bytes, *, typ: str, max_size: int = MAX_SIGNED_DOCUMENT_SIZE) -> SignedDocument:
    """Parse a multi-signed envelope from untrusted bytes (signatures are not checked here).

    Raises:
        FormatError: ``E_SIZE``; ``E_ENVELOPE`` (not an array of 1 to 32 COSE_Sign1 byte strings, or signatures over
            different payloads); COSE and CBOR codes of the items.
        SignatureError: ``E_CONTENT_TYPE`` (another kind of object), ``E_ALG``, ``E_CRIT``.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    if len(data) > max_size:
        raise FormatError(f"{len(data)} bytes exceeds the limit of {max_size}", code="E_SIZE")
    items = _cbor.decode(data, max_size=max_size, max_depth=2, max_items=MAX_ENVELOPE_ITEMS)
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_SIGNATURES:
        raise FormatError(f"expected an array of 1 to {MAX_SIGNATURES} signatures", code="E_ENVELOPE")
    sigs = []
    for i, item in enumerate(items):
        if not isinstance(item, bytes):
            raise FormatError("each signature is a COSE_Sign1 in a byte string", code="E_ENVELOPE", position=i)
        sigs.append(parse_sign1(item, typ=typ, max_size=max_size))
    payload = sigs[0].payload
    if any(s.payload != payload for s in sigs):
        raise FormatError("the signatures cover different payloads", code="E_ENVELOPE")
    return SignedDocument(typ, payload, tuple(sigs), hashlib.sha256(payload).digest())


def add_signatures(data: bytes, signers: Iterable[Signer], *, typ: str) -> bytes:
    """Add co-signatures to an envelope (threshold signing with keys held on different machines).

    Existing signatures are kept (none is checked here); a signer whose key id already signed is skipped.

    Raises:
        FormatError: ``data`` is not an envelope of ``typ``.
    """
    doc = parse_unverified_document(data, typ=typ)
    by_id = {s.key_id: s.raw for s in reversed(doc.signatures)}
    for signer in signers:
        by_id.setdefault(signer.public_key.key_id, sign1(doc.payload, signer, typ).raw)
    if len(by_id) > MAX_SIGNATURES:
        raise FormatError(f"more than {MAX_SIGNATURES} signatures", code="E_ENVELOPE")
    return _envelope([by_id[k] for k in sorted(by_id)])


# ---- the trust list model -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ParticipantKey:
    """A participant's key and when it may sign.

    Attributes:
        key: The Ed25519 public key.
        not_before: First instant the key may sign (inclusive).
        not_after: First instant the key may no longer sign (exclusive).
        status: ``active``, ``retired`` or ``revoked``.
        status_time: For ``retired``, the retirement time T (events claiming ``t >= T`` are refused); for
            ``revoked``, when the compromise was declared (informational: every event is refused).
    """

    key: PublicKey
    not_before: datetime
    not_after: datetime
    status: str = KeyStatus.ACTIVE
    status_time: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.key, PublicKey):
            raise _fmt("expected a PublicKey", "keys.key", "E_FIELD")
        if self.status not in KeyStatus.ALL:
            raise _fmt(f"status must be one of {', '.join(KeyStatus.ALL)}", "keys.status", "E_FIELD")
        time_text(self.not_before, "keys.not_before")
        time_text(self.not_after, "keys.not_after")
        if self.not_after <= self.not_before:
            raise _fmt("not_after must be later than not_before", "keys.not_after", "E_FIELD")
        if self.status == KeyStatus.RETIRED and self.status_time is None:
            raise _fmt("a retired key needs its retirement time", "keys.status_time", "E_FIELD")
        if self.status == KeyStatus.ACTIVE and self.status_time is not None:
            raise _fmt("an active key has no status time", "keys.status_time", "E_FIELD")
        if self.status_time is not None:
            time_text(self.status_time, "keys.status_time")

    @property
    def key_id(self) -> bytes:
        """The key's id (RFC 9679 thumbprint)."""
        return self.key.key_id

    def window(self, holder: str | None = None) -> KeyWindow:
        """Return when this key may sign, for a :class:`~ocop_provenance.KeyRing` (``holder`` names it in errors)."""
        return KeyWindow(
            not_before=self.not_before,
            not_after=self.not_after,
            status=self.status,
            status_time=self.status_time,
            holder=holder,
        )

    def problem_at(self, t: datetime) -> tuple[ErrorCode, str] | None:
        """Return ``(code, reason)`` if the key may not sign an event claiming time ``t``, else None."""
        return self.window().problem_at(t)

    def problem_on(self, day: date) -> tuple[ErrorCode, str] | None:
        """Return ``(code, reason)`` if the key may not have signed a seal dated ``day``, else None."""
        return self.window().problem_on(day)


def _codes(value: object, rule: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise _fmt("expected a sequence", where, "E_FIELD")
    items = tuple(rule(v, where) for v in value)
    if len(items) > MAX_CLAIMS:
        raise _fmt(f"more than {MAX_CLAIMS} items", where, "E_FIELD")
    if len(set(items)) != len(items):
        raise _fmt("an item is listed twice", where, "E_FIELD")
    return tuple(sorted(items))


def _gs1_prefix(value: object, where: str) -> str:
    if type(value) is not str or not _PREFIX_RE.fullmatch(value):
        raise _fmt("a GS1 Company Prefix is 4-12 digits", where, "E_FIELD")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Participant:
    """A producer, processor, lab, certifier, distributor or retailer known to the authority.

    What a participant may *claim* in the events it signs is recorded here, so a verifier can compare a genesis's
    claims with who signed it (docs/trust.md §Who may claim what): its GS1 Company Prefixes (the GTINs it owns),
    its GLNs and its administrative-unit codes.

    Attributes:
        id: Stable identifier in the list (lowercase ASCII, e.g. ``htx-nghi-son``).
        name: Display name (Vietnamese): how every verdict names this participant.
        role: One of :data:`ROLES`.
        keys: The participant's keys.
        admin_code: Administrative-unit code of the participant's commune, if known.
        gln: GS1 Global Location Number of the participant (its main site), if any.
        commune: Commune or ward name, as registered.
        province: Province name, as registered.
        gs1_prefixes: GS1 Company Prefixes the participant holds (4-12 digits each); a GTIN it may claim starts
            with one of them (after its leading zero padding).
        glns: Further GLNs (sites) the participant may claim.
        admin_codes: Further administrative-unit codes the participant may claim.
    """

    id: str
    name: str
    role: str
    keys: tuple[ParticipantKey, ...]
    admin_code: str | None = None
    gln: str | None = None
    commune: str | None = None
    province: str | None = None
    gs1_prefixes: tuple[str, ...] = ()
    glns: tuple[str, ...] = ()
    admin_codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID_RE.fullmatch(self.id):
            raise _fmt("participant id must be 1-64 of a-z 0-9 . _ -", "participants.id", "E_FIELD")
        object.__setattr__(self, "name", _fields.text(self.name, "participants.name"))
        if self.role not in ROLES:
            raise _fmt(f"role must be one of {', '.join(ROLES)}", "participants.role", "E_FIELD")
        if self.admin_code is not None:
            _fields.admin_code(self.admin_code, "participants.admin_code")
        if self.gln is not None:
            _fields.gln(self.gln, "participants.gln")
        for name in ("commune", "province"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _fields.text(value, f"participants.{name}"))
        object.__setattr__(self, "gs1_prefixes", _codes(self.gs1_prefixes, _gs1_prefix, "participants.gs1_prefixes"))
        object.__setattr__(self, "glns", _codes(self.glns, _fields.gln, "participants.glns"))
        object.__setattr__(
            self, "admin_codes", _codes(self.admin_codes, _fields.admin_code, "participants.admin_codes")
        )
        keys = tuple(self.keys)
        if not keys or len(keys) > MAX_KEYS_PER_PARTICIPANT or not all(isinstance(k, ParticipantKey) for k in keys):
            raise _fmt(f"a participant has 1 to {MAX_KEYS_PER_PARTICIPANT} keys", "participants.keys", "E_FIELD")
        object.__setattr__(self, "keys", keys)

    @property
    def all_glns(self) -> frozenset[str]:
        """Every GLN the participant may claim."""
        return frozenset((self.gln, *self.glns) if self.gln is not None else self.glns)

    @property
    def all_admin_codes(self) -> frozenset[str]:
        """Every administrative-unit code the participant may claim."""
        return frozenset((self.admin_code, *self.admin_codes) if self.admin_code is not None else self.admin_codes)

    def owns_gtin(self, gtin: str) -> bool:
        """Return whether ``gtin`` (14 digits) belongs to one of the participant's GS1 Company Prefixes.

        In the 14-digit form the company prefix starts after the first digit (the GTIN-14 indicator digit, or the
        zero that pads a GTIN-13; a U.P.C. company prefix is a GS1 Company Prefix with a leading zero), GS1 General
        Specifications §3.3.2.
        """
        return len(gtin) == 14 and any(gtin.startswith(p, 1) for p in self.gs1_prefixes)


def _same_name(a: str, b: str) -> bool:
    # Names are compared as people read them: NFC (already), case and runs of white space ignored.
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def genesis_claims(participant: Participant, genesis: Genesis) -> list[tuple[ErrorCode, str, str]]:
    """Compare what a genesis claims with what its signer may claim; return every difference.

    The claims: the producer's name (as people read it), administrative-unit code and GLN must be the
    participant's, and the product's GTIN must belong to one of its GS1 Company Prefixes.

    Args:
        participant: Who signed the genesis, as the trust list names them.
        genesis: The genesis body.

    Returns:
        ``(code, field, message)`` for each claim the participant may not make: ``E_CLAIM_MISMATCH`` or
        ``E_GTIN_NOT_OWNED``.
    """
    out: list[tuple[ErrorCode, str, str]] = []
    producer, product = genesis.producer, genesis.product
    if not _same_name(producer.name, participant.name):
        out.append(
            (
                ErrorCode.CLAIM_MISMATCH,
                "producer.name",
                f"the record names its producer {producer.name!r}, but it was signed by {participant.name}",
            )
        )
    if producer.admin_code is not None and producer.admin_code not in participant.all_admin_codes:
        out.append(
            (
                ErrorCode.CLAIM_MISMATCH,
                "producer.admin_code",
                f"administrative-unit code {producer.admin_code} is not one {participant.name} may claim",
            )
        )
    if producer.gln is not None and producer.gln not in participant.all_glns:
        out.append(
            (ErrorCode.CLAIM_MISMATCH, "producer.gln", f"GLN {producer.gln} is not one {participant.name} may claim")
        )
    if product.gtin is not None and not participant.owns_gtin(product.gtin):
        out.append(
            (
                ErrorCode.GTIN_NOT_OWNED,
                "product.gtin",
                f"GTIN {product.gtin} belongs to none of {participant.name}'s GS1 Company Prefixes",
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class AuthorityPin:
    """Authority keys an auditor pins out of band, with how many of them must sign.

    Attributes:
        keys: The authority's public keys (duplicates collapse: a key counts once).
        threshold: How many distinct keys must sign.
    """

    keys: tuple[PublicKey, ...]
    threshold: int = 1

    def __post_init__(self) -> None:
        distinct: dict[bytes, PublicKey] = {}
        for k in self.keys:
            if not isinstance(k, PublicKey):
                raise TypeError("AuthorityPin holds PublicKey objects")
            distinct.setdefault(k.raw, k)
        object.__setattr__(self, "keys", tuple(distinct.values()))
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int):
            raise _fmt("threshold must be an integer", "authority.threshold", "E_FIELD")
        if not 1 <= self.threshold <= len(distinct):
            raise _fmt(
                f"threshold {self.threshold} needs 1 to {len(distinct)} distinct keys", "authority.threshold", "E_FIELD"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustList:
    """A trust list's content. Build one, sign it with :func:`sign_trust_list`, verify with :func:`verify_trust_list`.

    Attributes:
        issuer: The issuing authority's name (e.g. a provincial OCOP coordination office).
        version: The list's version number; every new list has a higher one.
        issued_at: When it was issued.
        expires: When it stops being usable (exclusive): refresh before.
        authority: The authority keys and the threshold that must sign the *next* version (and this one).
        participants: The participants.
        extensions: Top-level labels beyond this version's, kept as received (label -> value).
        critical: Labels a verifier must understand (the ``crit`` list).
        object_id: SHA-256 of the payload (set when parsed or signed; empty for an unsigned draft).
        raw: The signed envelope bytes, when parsed.
    """

    issuer: str
    version: int
    issued_at: datetime
    expires: datetime
    authority: AuthorityPin
    participants: tuple[Participant, ...]
    extensions: Mapping[int, Any] = field(default_factory=dict)
    critical: tuple[int, ...] = ()
    object_id: bytes = b""
    raw: bytes = b""
    _by_key: dict[bytes, tuple[Participant, ParticipantKey]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "issuer", _fields.text(self.issuer, "issuer"))
        _fields.uint(self.version, "version", 1)
        time_text(self.issued_at, "issued_at")
        time_text(self.expires, "expires")
        if self.expires <= self.issued_at:
            raise _fmt("expires must be later than issued_at", "expires", "E_FIELD")
        if not isinstance(self.authority, AuthorityPin):
            raise _fmt("expected an AuthorityPin", "authority", "E_FIELD")
        if len(self.authority.keys) > MAX_AUTHORITY_KEYS:
            raise _fmt(f"more than {MAX_AUTHORITY_KEYS} authority keys", "authority.keys", "E_SIZE")
        participants = tuple(self.participants)
        if len(participants) > MAX_PARTICIPANTS:
            raise _fmt(f"more than {MAX_PARTICIPANTS} participants", "participants", "E_SIZE")
        seen_ids: set[str] = set()
        seen_keys: set[bytes] = {k.raw for k in self.authority.keys}
        by_key: dict[bytes, tuple[Participant, ParticipantKey]] = {}
        for i, p in enumerate(participants):
            if not isinstance(p, Participant):
                raise _fmt("expected Participant items", "participants", "E_FIELD")
            if p.id in seen_ids:
                raise FormatError(f"participant id {p.id!r} appears twice", code="E_DUPLICATE", field="participants")
            seen_ids.add(p.id)
            for k in p.keys:
                if k.key.raw in seen_keys:
                    raise FormatError(
                        "a key appears twice in the list (keys belong to exactly one holder)",
                        code="E_DUPLICATE_KEY",
                        key_id=k.key_id.hex(),
                        field=f"participants[{i}].keys",
                    )
                seen_keys.add(k.key.raw)
                by_key[k.key_id] = (p, k)
        object.__setattr__(self, "participants", participants)
        object.__setattr__(self, "_by_key", by_key)
        if len(set(self.critical)) != len(self.critical):
            raise _fmt("crit lists a label twice", "crit", "E_FIELD")
        for label in self.critical:
            if label not in _KNOWN and label not in self.extensions:
                raise _fmt(f"crit names label {label}, which is absent", "crit")

    # -- lookups

    def lookup(self, key_id: bytes) -> tuple[Participant, ParticipantKey] | None:
        """Return the participant holding the key with id ``key_id`` and its entry, or None."""
        return self._by_key.get(key_id)

    def participant(self, participant_id: str) -> Participant:
        """Return the participant with id ``participant_id``.

        Raises:
            KeyError: No such participant.
        """
        for p in self.participants:
            if p.id == participant_id:
                return p
        raise KeyError(participant_id)

    # -- editing (each returns a new, unsigned draft)

    def next_version(
        self, *, issued_at: datetime, expires: datetime, authority: AuthorityPin | None = None
    ) -> TrustList:
        """Return an unsigned draft of the next version (same participants; optionally new authority keys)."""
        return replace(
            self,
            version=self.version + 1,
            issued_at=issued_at,
            expires=expires,
            authority=authority or self.authority,
            object_id=b"",
            raw=b"",
        )

    def with_participant(self, participant: Participant) -> TrustList:
        """Return a draft with ``participant`` added, or replacing the one with the same id."""
        rest = tuple(p for p in self.participants if p.id != participant.id)
        return replace(self, participants=(*rest, participant), object_id=b"", raw=b"")

    def with_key_status(self, key: PublicKey, status: str, at: datetime | None) -> TrustList:
        """Return a draft in which ``key`` has ``status`` (``retired`` at ``at``, ``revoked``, or ``active``).

        Raises:
            KeyError: No participant holds ``key``.
        """
        found = self.lookup(key.key_id)
        if found is None:
            raise KeyError(key.key_id_hex)
        p, k = found
        new_key = replace(k, status=status, status_time=at)
        new_p = replace(p, keys=tuple(new_key if x is k else x for x in p.keys))
        return self.with_participant(new_p)

    # -- encoding

    def payload(self) -> bytes:
        """Return the deterministic CBOR payload (what the authority signs)."""
        m: dict[int, Any] = dict(self.extensions)
        m.update(
            {
                _V: TRUST_FORMAT_VERSION,
                _ISSUER: self.issuer,
                _VERSION: self.version,
                _ISSUED: time_text(self.issued_at),
                _EXPIRES: time_text(self.expires),
                _AUTHORITY: {0: self.authority.threshold, 1: sorted(k.raw for k in self.authority.keys)},
                _PARTICIPANTS: [_participant_map(p) for p in sorted(self.participants, key=lambda p: p.id)],
            }
        )
        if self.critical:
            m[_CRIT] = sorted(self.critical)
        return _cbor.encode(m)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description (keys as hex, times as UTC text)."""
        return {
            "issuer": self.issuer,
            "version": self.version,
            "issued_at": time_text(self.issued_at),
            "expires": time_text(self.expires),
            "id": self.object_id.hex(),
            "authority": {
                "threshold": self.authority.threshold,
                "keys": [{"key_id": k.key_id_hex, "public_key": k.raw.hex()} for k in self.authority.keys],
            },
            "participants": [
                {
                    "id": p.id,
                    "name": p.name,
                    "role": p.role,
                    "admin_code": p.admin_code,
                    "gln": p.gln,
                    "commune": p.commune,
                    "province": p.province,
                    "gs1_prefixes": list(p.gs1_prefixes),
                    "glns": list(p.glns),
                    "admin_codes": list(p.admin_codes),
                    "keys": [
                        {
                            "key_id": k.key.key_id_hex,
                            "public_key": k.key.raw.hex(),
                            "not_before": time_text(k.not_before),
                            "not_after": time_text(k.not_after),
                            "status": k.status,
                            "status_time": None if k.status_time is None else time_text(k.status_time),
                        }
                        for k in p.keys
                    ],
                }
                for p in self.participants
            ],
        }

    @classmethod
    def parse_unverified(cls, data: bytes) -> TrustList:
        """Parse a signed trust list **without checking any signature** (for inspection and editing only).

        Raises:
            FormatError: Malformed envelope or payload (``E_ENVELOPE``, ``E_SCHEMA``, ``E_FIELD``, ``E_DUPLICATE_KEY``).
            KeyFormatError: A key is malformed or weak (``E_WEAK_KEY``).
            TrustError: The list marks as critical a label this verifier does not understand (``E_CRITICAL_FIELD``).
        """
        doc = parse_unverified_document(data, typ=TRUST_TYP)
        return _decode_trust(doc, data)


def _participant_map(p: Participant) -> dict[int, Any]:
    m: dict[int, Any] = {
        0: p.id,
        1: p.name,
        2: p.role,
        5: [_key_map(k) for k in sorted(p.keys, key=lambda k: k.key.raw)],
    }
    optional = (
        (3, p.admin_code),
        (4, p.gln),
        (6, p.commune),
        (7, p.province),
        (8, list(p.gs1_prefixes) or None),
        (9, list(p.glns) or None),
        (10, list(p.admin_codes) or None),
    )
    m.update((label, value) for label, value in optional if value is not None)
    return dict(sorted(m.items()))


def _key_map(k: ParticipantKey) -> dict[int, Any]:
    m: dict[int, Any] = {0: k.key.raw, 1: time_text(k.not_before), 2: time_text(k.not_after), 3: k.status}
    if k.status_time is not None:
        m[4] = time_text(k.status_time)
    return m


def _decode_trust(doc: SignedDocument, raw: bytes) -> TrustList:
    m = _cbor.decode(doc.payload, max_size=MAX_SIGNED_DOCUMENT_SIZE, max_depth=6, max_items=MAX_DOCUMENT_ITEMS)
    if not isinstance(m, dict) or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in m):
        raise _fmt("a trust list payload is a map with unsigned integer labels", "payload")
    if m.get(_V) != TRUST_FORMAT_VERSION or isinstance(m.get(_V), bool):
        raise FormatError(f"unsupported trust list format {m.get(_V)!r}", code="E_VERSION", field="v")
    missing = _REQUIRED - set(m)
    if missing:
        raise _fmt(f"missing labels {sorted(missing)}", "payload")
    crit: tuple[int, ...] = ()
    if _CRIT in m:
        crit_list = list_field(m[_CRIT], "crit", 64)
        crit = tuple(_fields.uint(c, "crit") for c in crit_list)
        if len(set(crit)) != len(crit):
            raise _fmt("crit lists a label twice", "crit")
        for label in crit:
            if label not in m:
                raise _fmt(f"crit names label {label}, which is absent", "crit")
        not_understood = sorted(c for c in crit if c not in _KNOWN)
        if not_understood:
            raise TrustError(
                f"the list marks labels {not_understood} as critical and this verifier does not understand them",
                code="E_CRITICAL_FIELD",
                field="crit",
            )
    extensions = {k: v for k, v in m.items() if k not in _KNOWN}
    auth = labelled(m[_AUTHORITY], ("threshold", "keys"), "authority", (0, 1))
    auth_keys = list_field(auth["keys"], "authority.keys", MAX_AUTHORITY_KEYS)
    parsed_auth = [_key(k, f"authority.keys[{i}]") for i, k in enumerate(auth_keys)]
    if len({k.raw for k in parsed_auth}) != len(parsed_auth):
        raise FormatError("an authority key is listed twice", code="E_DUPLICATE_KEY", field="authority.keys")
    threshold = _fields.uint(auth["threshold"], "authority.threshold", 1)
    participants = []
    for i, pv in enumerate(list_field(m[_PARTICIPANTS], "participants", MAX_PARTICIPANTS, empty=True)):
        where = f"participants[{i}]"
        p = labelled(pv, _PARTICIPANT, where, (0, 1, 2, 5))
        keys = []
        for j, kv in enumerate(list_field(p["keys"], f"{where}.keys", MAX_KEYS_PER_PARTICIPANT)):
            kw = f"{where}.keys[{j}]"
            k = labelled(kv, _KEY, kw, (0, 1, 2, 3))
            keys.append(
                _build(
                    ParticipantKey,
                    kw,
                    key=_key(k["key"], f"{kw}.key"),
                    not_before=parse_time(k["not_before"], f"{kw}.not_before"),
                    not_after=parse_time(k["not_after"], f"{kw}.not_after"),
                    status=k["status"],
                    status_time=parse_time(k["status_time"], f"{kw}.status_time") if "status_time" in k else None,
                )
            )
        participants.append(
            _build(
                Participant,
                where,
                id=p["id"],
                name=p["name"],
                role=p["role"],
                keys=tuple(keys),
                admin_code=p.get("admin_code"),
                gln=p.get("gln"),
                commune=p.get("commune"),
                province=p.get("province"),
                gs1_prefixes=tuple(list_field(p["gs1_prefixes"], f"{where}.gs1_prefixes", MAX_CLAIMS))
                if "gs1_prefixes" in p
                else (),
                glns=tuple(list_field(p["glns"], f"{where}.glns", MAX_CLAIMS)) if "glns" in p else (),
                admin_codes=tuple(list_field(p["admin_codes"], f"{where}.admin_codes", MAX_CLAIMS))
                if "admin_codes" in p
                else (),
            )
        )
    tl: TrustList = _build(
        TrustList,
        "payload",
        issuer=m[_ISSUER],
        version=_fields.uint(m[_VERSION], "version", 1),
        issued_at=parse_time(m[_ISSUED], "issued_at"),
        expires=parse_time(m[_EXPIRES], "expires"),
        authority=_build(AuthorityPin, "authority", tuple(parsed_auth), threshold),
        participants=tuple(participants),
        extensions=extensions,
        critical=crit,
        object_id=doc.object_id,
        raw=raw,
    )
    if tl.payload() != doc.payload:
        raise FormatError("the trust list is not in its one canonical form", code="E_NONCANONICAL", field="payload")
    return tl


def _build(factory: Any, where: str, *args: Any, **kwargs: Any) -> Any:
    try:
        return factory(*args, **kwargs)
    except FormatError as e:
        if e.field is not None and not e.field.startswith(where):
            e.field = f"{where}.{e.field.split('.', 1)[-1]}"
        raise


def sign_trust_list(trust: TrustList, signers: Iterable[Signer]) -> bytes:
    """Sign a trust list with one or more authority keys (add more later with :func:`add_signatures`).

    Args:
        trust: The list's content.
        signers: Authority keys; for a new version, enough of the previous version's keys and of this one's.

    Returns:
        The signed envelope bytes.
    """
    return sign_document(trust.payload(), signers, TRUST_TYP)


def _require_threshold(doc: SignedDocument, pin: AuthorityPin, what: str, *, backend: str | None) -> None:
    got = doc.signed_by(pin.keys, backend=backend)
    if len(got) < pin.threshold:
        raise TrustError(
            f"{what}: {len(got)} distinct valid authority signature(s), {pin.threshold} required",
            code="E_TRUST_THRESHOLD",
        )


_VERIFIED = object()


@dataclass(frozen=True, slots=True)
class VerifiedTrustList:
    """A trust list that :func:`verify_trust_list` accepted: the only kind a verifier takes keys and names from.

    Only :func:`verify_trust_list` makes one. Its content is :attr:`trust_list`; the lookups a verifier needs are
    here. Pass it as ``keys`` of :class:`~ocop_provenance.VerifyOptions`: every key then signs only inside its
    window and status, on every path (chains, bundles, seals, audits).

    Attributes:
        trust_list: The verified content.
        verified_at: The ``now`` it was verified at.
    """

    trust_list: TrustList
    verified_at: datetime
    _token: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._token is not _VERIFIED:
            raise TypeError("a VerifiedTrustList comes only from verify_trust_list()")

    @property
    def issuer(self) -> str:
        """The issuing authority's name."""
        return self.trust_list.issuer

    @property
    def version(self) -> int:
        """The list's version."""
        return self.trust_list.version

    @property
    def issued_at(self) -> datetime:
        """When the list was issued."""
        return self.trust_list.issued_at

    @property
    def expires(self) -> datetime:
        """When the list stops being usable."""
        return self.trust_list.expires

    @property
    def authority(self) -> AuthorityPin:
        """The authority keys and threshold (they also sign policies and the next version)."""
        return self.trust_list.authority

    @property
    def participants(self) -> tuple[Participant, ...]:
        """The participants."""
        return self.trust_list.participants

    @property
    def object_id(self) -> bytes:
        """SHA-256 of the payload: the list's identity."""
        return self.trust_list.object_id

    @property
    def raw(self) -> bytes:
        """The signed envelope bytes."""
        return self.trust_list.raw

    def lookup(self, key_id: bytes) -> tuple[Participant, ParticipantKey] | None:
        """Return the participant holding the key with id ``key_id`` and its entry, or None."""
        return self.trust_list.lookup(key_id)

    def participant(self, participant_id: str) -> Participant:
        """Return the participant with id ``participant_id``.

        Raises:
            KeyError: No such participant.
        """
        return self.trust_list.participant(participant_id)

    def check_signer(self, key_id: bytes, at: datetime, **where: Any) -> tuple[Participant, ParticipantKey]:
        """Return who holds ``key_id`` if that key may sign at time ``at``.

        Args:
            key_id: The signer's key id.
            at: The time the signed object claims.
            **where: Location fields for the error (``position``, ``batch_id``, ``seq``, ``event_id``).

        Raises:
            UntrustedKeyError: ``E_UNKNOWN_KEY`` (not in the list), ``E_KEY_REVOKED``, ``E_KEY_NOT_YET_VALID``,
                ``E_KEY_EXPIRED``, ``E_KEY_RETIRED``.
        """
        found = self.lookup(key_id)
        if found is None:
            raise UntrustedKeyError(
                "the signing key is not in the trust list", code="E_UNKNOWN_KEY", key_id=key_id, **where
            )
        problem = found[1].problem_at(at)
        if problem is not None:
            raise UntrustedKeyError(
                f"{found[0].name} ({found[0].role}): {problem[1]}", code=problem[0], key_id=key_id, **where
            )
        return found

    def key_ring(self) -> KeyRing:
        """Return every participant key with its window and status, as a verifier enforces them.

        Events signed by a revoked key, or claiming a time outside their key's window, fail on every path
        (``E_KEY_REVOKED``, ``E_KEY_EXPIRED``, …); errors name the holder as this list names them.
        """
        return KeyRing.with_windows(
            (k.key, k.window(f"{p.name} ({p.role})")) for p in self.trust_list.participants for k in p.keys
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description (see :meth:`TrustList.to_dict`)."""
        return self.trust_list.to_dict()


def _steps(
    data: Iterable[bytes], pins: Iterator[AuthorityPin], backend: str | None
) -> Iterator[tuple[TrustList, SignedDocument]]:
    # 1-2. Signatures are checked over the payload bytes before the payload is decoded: a hostile list costs its
    # envelope and signature checks, never a decode (docs/format.md §16, issue 10 finding 5).
    for raw in data:
        doc = parse_unverified_document(raw, typ=TRUST_TYP)
        _require_threshold(doc, next(pins), "the list by the authority it must follow", backend=backend)
        yield _decode_trust(doc, raw), doc


def load_trusted_root(data: bytes, *, now: datetime, backend: str | None = None) -> VerifiedTrustList:
    """Load a trust list the caller itself stored after verifying it, as the anchor for newer lists.

    This is TUF's trusted root: a list kept on the verifier's own disk is checked against its *own* authority
    (a threshold of the authority keys it names must have signed it; the file is intact and complete) and its
    expiry is not judged, because it only carries the authority forward to the next list, which
    :func:`verify_trust_list` checks in full. Never call it on a list received from someone else: that list
    could name any authority; verify it against pinned keys instead.

    Args:
        data: The signed list, as stored.
        now: The clock, recorded as the time it was loaded.
        backend: Ed25519 backend name, or None.

    Returns:
        The stored list, usable as an anchor.

    Raises:
        FormatError, KeyFormatError: The stored file is damaged.
        TrustError: ``E_TRUST_THRESHOLD``: it is not signed by its own authority.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    doc = parse_unverified_document(data, typ=TRUST_TYP)
    tl = _decode_trust(doc, data)
    _require_threshold(doc, tl.authority, f"stored version {tl.version} by its own authority", backend=backend)
    return VerifiedTrustList(tl, now, _VERIFIED)


def verify_trust_list(
    data: bytes,
    anchor: VerifiedTrustList | AuthorityPin,
    *,
    now: datetime,
    intermediates: Iterable[bytes] = (),
    backend: str | None = None,
) -> VerifiedTrustList:
    """Verify a trust list against pinned authority keys or a previously verified list, walking forward.

    Each list in ``intermediates`` (oldest first), then ``data``, must be signed by a threshold of the authority
    keys of the list before it (the anchor for the first) *and* by a threshold of its own authority keys, counting
    distinct public keys. The first check runs over the payload bytes before they are decoded. Versions must
    increase; the final list must not be expired at ``now``. Intermediate lists may be expired (they only carry
    the authority forward).

    Args:
        data: The signed trust list to verify.
        anchor: An :class:`AuthorityPin`, or a previously verified list (the auditor's store).
        now: The verifier's clock (timezone-aware).
        intermediates: Lists between the anchor and ``data``, oldest first (needed when authority keys rotated).
        backend: Ed25519 backend name, or None.

    Returns:
        The verified list (if ``data`` is the anchor itself, the anchor's list, verified at ``now``).

    Raises:
        FormatError, KeyFormatError: Malformed list or key (``E_WEAK_KEY`` for weak keys).
        TrustError: ``E_TRUST_ROLLBACK`` (older version than the anchor or the previous list), ``E_TRUST_CONFLICT``
            (same version, different content), ``E_TRUST_THRESHOLD`` (too few distinct authority signatures),
            ``E_TRUST_EXPIRED`` (expired at ``now``), ``E_CRITICAL_FIELD``.
        TypeError: ``anchor`` is neither an :class:`AuthorityPin` nor a :class:`VerifiedTrustList`.
        ValueError: ``now`` is naive.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(anchor, (AuthorityPin, VerifiedTrustList)):
        raise TypeError("the anchor is pinned authority keys (AuthorityPin) or a VerifiedTrustList")
    current: TrustList | AuthorityPin = anchor.trust_list if isinstance(anchor, VerifiedTrustList) else anchor
    last: TrustList | None = current if isinstance(current, TrustList) else None

    def pins() -> Iterator[AuthorityPin]:
        # The authority each next list must be signed by: the previous list's, or the pinned keys.
        while True:
            yield current.authority if isinstance(current, TrustList) else current

    for tl, doc in _steps((*intermediates, data), pins(), backend):
        # 3. versions, against the previous list; 4. the list's own authority threshold (docs/format.md §16).
        if isinstance(current, TrustList):
            if tl.version < current.version:
                raise TrustError(
                    f"version {tl.version} is older than the pinned version {current.version}",
                    code="E_TRUST_ROLLBACK",
                    field="version",
                )
            if tl.version == current.version:
                if tl.object_id != current.object_id:
                    raise TrustError(
                        f"two different lists claim version {tl.version}: the authority equivocated",
                        code="E_TRUST_CONFLICT",
                        field="version",
                    )
                last = current
                continue
        _require_threshold(doc, tl.authority, f"version {tl.version} by its own authority", backend=backend)
        current = last = tl
    assert last is not None
    if now >= last.expires:
        raise TrustError(
            f"trust list version {last.version} expired at {time_text(last.expires)}",
            code="E_TRUST_EXPIRED",
            field="expires",
        )
    return VerifiedTrustList(last, now, _VERIFIED)
