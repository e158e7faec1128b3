"""The event model: frozen, validated on construction, independent of any encoding (stdlib only).

Text is NFC-normalised on construction, so callers may pass any form; control characters are refused so that
nothing signed can rewrite an auditor's terminal. Identity rests on codes (GTIN, GLN, administrative-unit code,
certificate number), never on names.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar, cast

from ._errors import FormatError

__all__ = [
    "CBV_BUSINESS_STEPS",
    "MAX_ATTACHMENTS",
    "MAX_DATA_ITEMS",
    "MAX_INPUTS",
    "Attachment",
    "Certificate",
    "DataValue",
    "Genesis",
    "InputRef",
    "Location",
    "Producer",
    "Product",
    "SignedEvent",
    "Step",
    "gs1_check_digit",
    "in_time_order",
]

#: GS1 CBV 2.0 business steps (bizStep), exactly as the standard spells them.
CBV_BUSINESS_STEPS: frozenset[str] = frozenset(
    """accepting arriving assembling collecting commissioning consigning creating_class_instance cycle_counting
    decommissioning departing destroying disassembling dispensing encoding entering_exiting holding inspecting
    installing killing loading other packing picking receiving removing repackaging repairing replacing reserving
    retail_selling shipping staging_outbound stock_taking stocking storing transporting unloading unpacking
    void_shipping sensor_reporting sampling""".split()
)

MAX_TEXT = 256
MAX_VALUE_TEXT = 1024
MAX_DATA_ITEMS = 64
MAX_ATTACHMENTS = 32
MAX_INPUTS = 64
MAX_ATTACHMENT_SIZE = 2**53

_CUSTOM_STEP = re.compile(r"[a-z][a-z0-9-]{0,31}:[a-z][a-z0-9_]{0,63}")
_DATA_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")
_ADMIN_CODE = re.compile(r"[0-9]{2,10}")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_QUANTITY = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{0,8}[1-9])?")
# Exactly the Unicode general category Cc (C0, DEL, C1); a regex scan instead of a per-character loop.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

#: A key data element value: text, an integer or a boolean (no floats: they have no single encoding).
DataValue = str | int | bool


def _err(message: str, field_name: str) -> FormatError:
    return FormatError(message, code="E_FIELD", field=field_name)


# Short texts (and data keys) already found valid, so that a run of similar steps is checked once: bounded
# (cleared when full, only short entries), keyed by exact str (equal values of type str are the same text).
_CACHE_LIMIT = 4096
_CACHE_MAX_TEXT = 64
_valid_text: dict[str, str] = {}  # input -> its NFC form, for non-blank text without control characters
_valid_keys: set[str] = set()


def _text(value: object, field_name: str, *, limit: int = MAX_TEXT, empty: bool = False) -> str:
    if type(value) is str:
        known = _valid_text.get(value)
        if known is not None and len(known) <= limit:
            return known
    if not isinstance(value, str):
        raise _err("expected text", field_name)
    text = unicodedata.normalize("NFC", value)
    blank = not text.strip()
    if blank and not empty:
        raise _err("must not be empty", field_name)
    if len(text) > limit:
        raise _err(f"longer than {limit} characters", field_name)
    if _CONTROL.search(text):
        raise _err("contains control characters", field_name)
    if not blank and type(value) is str and len(value) <= _CACHE_MAX_TEXT:
        if len(_valid_text) >= _CACHE_LIMIT:
            _valid_text.clear()
        _valid_text[value] = text
    return text


def _opt_text(value: object, field_name: str) -> str | None:
    return None if value is None else _text(value, field_name)


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def in_time_order(prev_seq: int, prev_time: datetime, time: datetime, tolerance: timedelta) -> bool:
    """Return whether an event's claimed ``time`` may follow the event at ``prev_seq`` (docs/format.md §8).

    From the first step on, claimed times do not go backwards by more than ``tolerance`` (signers' clocks differ).
    The genesis sets no floor: it records when the batch's record was opened, which may come after the steps it
    goes on to record (a cooperative entering last week's harvest from its paper notebook).
    """
    return prev_seq == 0 or time >= prev_time - tolerance


def gs1_check_digit(digits: str) -> int:
    """Return the GS1 mod-10 check digit for ``digits`` (weights 3, 1, 3, … from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def _gs1_key(value: object, field_name: str, lengths: tuple[int, ...], pad_to: int) -> str:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) not in lengths:
        raise _err(f"must be {' or '.join(map(str, lengths))} digits", field_name)
    if gs1_check_digit(value[:-1]) != int(value[-1]):
        raise _err("check digit is wrong", field_name)
    return value.rjust(pad_to, "0")


_MINUTE = timedelta(minutes=1)
_DAY = timedelta(hours=24)


def _time(value: object, field_name: str) -> datetime:
    if not isinstance(value, datetime):
        raise _err("expected a datetime", field_name)
    offset = value.utcoffset()
    if offset is None:
        raise _err("time must carry its UTC offset", field_name)
    if offset % _MINUTE or abs(offset) >= _DAY:
        raise _err("UTC offset must be whole minutes", field_name)
    if not 1970 <= value.year <= 9999:
        raise _err("year out of range", field_name)
    return value


def _sha256(value: object, field_name: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise _err("expected 32 bytes", field_name)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Product:
    """What the batch is.

    Attributes:
        name: Product name as labelled (Vietnamese), e.g. "Đông trùng hạ thảo sấy khô".
        lot: The lot or batch code printed on the package (1–20 characters from GS1's set when a GTIN is used).
        quantity: Decimal quantity in canonical form ("120", "12.5").
        unit: Unit of the quantity ("kg", "hộp").
        gtin: GTIN-8/12/13/14, stored as 14 digits with a valid check digit; None for producers without one.
    """

    name: str
    lot: str
    quantity: str
    unit: str
    gtin: str | None = None

    def __post_init__(self) -> None:
        _set(self, "name", _text(self.name, "product.name"))
        lot = _text(self.lot, "product.lot", limit=64)
        _set(self, "lot", lot)
        _set(self, "quantity", canonical_quantity(self.quantity, "product.quantity"))
        _set(self, "unit", _text(self.unit, "product.unit", limit=32))
        if self.gtin is not None:
            _set(self, "gtin", _gs1_key(self.gtin, "product.gtin", (8, 12, 13, 14), 14))
            if not re.fullmatch(r"[!-\"%-/0-9:-?A-Z_a-z]{1,20}", lot):
                raise _err(
                    "with a GTIN, the lot must be 1-20 characters of GS1's character set",
                    "product.lot",
                )


def canonical_quantity(value: object, field_name: str = "quantity") -> str:
    """Return ``value`` (int, Decimal or decimal text) as canonical decimal text: no exponent, no trailing zeros.

    Args:
        value: The quantity.
        field_name: The field named in the error.

    Returns:
        The canonical text, e.g. ``"12.5"`` for ``Decimal("12.50")``.

    Raises:
        FormatError: Negative, not a number, or more than 18 integer / 9 fractional digits (``E_FIELD``).
    """
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise _err("expected a decimal number", field_name)
    try:
        d = Decimal(value) if not isinstance(value, str) else Decimal(value.strip())
    except InvalidOperation as e:
        raise _err("not a decimal number", field_name) from e
    if not d.is_finite() or d < 0:
        raise _err("must be a finite, non-negative number", field_name)
    text = format(d.normalize(), "f") if d else "0"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if not _QUANTITY.fullmatch(text):
        raise _err("too many digits", field_name)
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class Producer:
    """Who made the batch, with place names as they were at signing (units merged in 2025 keep their codes).

    Attributes:
        name: Producer or cooperative name.
        admin_code: Vietnamese administrative-unit code of the producer's commune (digits), if known.
        commune: Commune / ward name at signing.
        province: Province name at signing.
        gln: GS1 Global Location Number (13 digits), if any.
    """

    name: str
    admin_code: str | None = None
    commune: str | None = None
    province: str | None = None
    gln: str | None = None

    def __post_init__(self) -> None:
        _set(self, "name", _text(self.name, "producer.name"))
        _set(self, "admin_code", _admin(self.admin_code, "producer.admin_code"))
        _set(self, "commune", _opt_text(self.commune, "producer.commune"))
        _set(self, "province", _opt_text(self.province, "producer.province"))
        if self.gln is not None:
            _set(self, "gln", _gs1_key(self.gln, "producer.gln", (13,), 13))


def _admin(value: object, field_name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ADMIN_CODE.fullmatch(value):
        raise _err("administrative-unit code must be 2-10 digits", field_name)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Certificate:
    """An OCOP certificate.

    Attributes:
        stars: 3, 4 or 5.
        number: The certificate (decision) number.
        issued: Date of issue.
    """

    stars: int
    number: str
    issued: date

    def __post_init__(self) -> None:
        if isinstance(self.stars, bool) or not isinstance(self.stars, int) or self.stars not in (3, 4, 5):
            raise _err("OCOP stars must be 3, 4 or 5", "certificate.stars")
        _set(self, "number", _text(self.number, "certificate.number", limit=64))
        if not isinstance(self.issued, date) or isinstance(self.issued, datetime):
            raise _err("expected a date", "certificate.issued")


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """Where a step happened.

    Attributes:
        name: Place name as written by the signer.
        admin_code: Administrative-unit code, if known.
        lat_e6: Latitude in millionths of a degree (integers: floats have no single encoding).
        lon_e6: Longitude in millionths of a degree.
        gln: GS1 GLN, if any.
    """

    name: str
    admin_code: str | None = None
    lat_e6: int | None = None
    lon_e6: int | None = None
    gln: str | None = None

    def __post_init__(self) -> None:
        _set(self, "name", _text(self.name, "location.name"))
        _set(self, "admin_code", _admin(self.admin_code, "location.admin_code"))
        if (self.lat_e6 is None) != (self.lon_e6 is None):
            raise _err("latitude and longitude go together", "location.lat_e6")
        for name, bound in (("lat_e6", 90_000_000), ("lon_e6", 180_000_000)):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or abs(v) > bound):
                raise _err("coordinate out of range", f"location.{name}")
        if self.gln is not None:
            _set(self, "gln", _gs1_key(self.gln, "location.gln", (13,), 13))


@dataclass(frozen=True, slots=True, kw_only=True)
class InputRef:
    """A batch consumed by a step: cross-batch lineage, pinned to the input's head at the time.

    Attributes:
        batch_id: The input batch's id (its genesis event id).
        seq: The seq of the input's head event that was consumed.
        head: The event id of that head event.
    """

    batch_id: bytes
    seq: int
    head: bytes

    def __post_init__(self) -> None:
        _sha256(self.batch_id, "inputs.batch_id")
        _sha256(self.head, "inputs.head")
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or not 0 <= self.seq < 2**63:
            raise _err("seq must be a non-negative integer", "inputs.seq")
        if self.seq == 0 and self.head != self.batch_id:
            raise _err("an input at seq 0 must name the genesis event as head", "inputs.head")


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A file referenced by its hash (lab certificate, photo); the bytes travel separately.

    Attributes:
        name: File name, without directories.
        media_type: Media type, e.g. ``application/pdf``.
        size: Size in bytes.
        sha256: SHA-256 of the file.
    """

    name: str
    media_type: str
    size: int
    sha256: bytes

    def __post_init__(self) -> None:
        name = _text(self.name, "attachments.name")
        if "/" in name or "\\" in name or name in (".", ".."):
            raise _err("file name must not contain directories", "attachments.name")
        _set(self, "name", name)
        if not isinstance(self.media_type, str) or not _MEDIA_TYPE.fullmatch(self.media_type):
            raise _err("not a media type (type/subtype, lowercase)", "attachments.media_type")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size <= MAX_ATTACHMENT_SIZE:
            raise _err("size out of range", "attachments.size")
        _sha256(self.sha256, "attachments.sha256")

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        media_type: str | None = None,
        name: str | None = None,
    ) -> Attachment:
        """Describe a file by its SHA-256, size, name and media type (the file is read once, in chunks).

        Args:
            path: The file.
            media_type: Its media type; guessed from the file name when None (``application/octet-stream``
                when the extension is unknown).
            name: The name to record; the file's own name (without directories) when None.

        Returns:
            The attachment.

        Raises:
            FormatError: The name or media type is not acceptable (``E_FIELD``).
            OSError: The file cannot be read.
        """
        p = Path(path)
        digest = hashlib.sha256()
        size = 0
        with p.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        recorded = p.name if name is None else name
        if media_type is None:
            guessed, _ = mimetypes.guess_type(recorded, strict=False)
            guessed = guessed.lower() if guessed else None
            media_type = guessed if guessed and _MEDIA_TYPE.fullmatch(guessed) else "application/octet-stream"
        return cls(name=recorded, media_type=media_type, size=size, sha256=digest.digest())


def _data(value: object, field_name: str) -> Mapping[str, DataValue]:
    if not isinstance(value, Mapping):
        raise _err("expected a mapping", field_name)
    if len(value) > MAX_DATA_ITEMS:
        raise _err(f"more than {MAX_DATA_ITEMS} key data elements", field_name)
    out: dict[str, DataValue] = {}
    for k, v in value.items():
        if type(k) is not str or k not in _valid_keys:
            if not isinstance(k, str) or not _DATA_KEY.fullmatch(k):
                raise _err(f"key {k!r} must match {_DATA_KEY.pattern}", field_name)
            if type(k) is str:
                if len(_valid_keys) >= _CACHE_LIMIT:
                    _valid_keys.clear()
                _valid_keys.add(k)
        if type(v) is str:
            known = _valid_text.get(v)
            out[k] = known if known is not None else _text(v, f"{field_name}.{k}", limit=MAX_VALUE_TEXT, empty=True)
        elif isinstance(v, bool):
            out[k] = v
        elif isinstance(v, int):
            if not -(2**63) <= v < 2**63:
                raise _err(f"{k} is out of the 64-bit range", field_name)
            out[k] = v
        else:
            out[k] = _text(v, f"{field_name}.{k}", limit=MAX_VALUE_TEXT, empty=True)
    return MappingProxyType(dict(sorted(out.items())))


_Item = TypeVar("_Item")


def _tuple_of(value: object, kind: type[_Item], limit: int, field_name: str) -> tuple[_Item, ...]:
    if type(value) is tuple and not value:
        return ()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise _err("expected a sequence", field_name)
    items = tuple(value)
    if len(items) > limit:
        raise _err(f"more than {limit} items", field_name)
    for item in items:
        if not isinstance(item, kind):
            raise _err(f"expected {kind.__name__} items", field_name)
    return cast("tuple[_Item, ...]", items)


@dataclass(frozen=True, slots=True, kw_only=True)
class Genesis:
    """The first event of a batch: it defines the batch, whose id is this event's id.

    Attributes:
        time: When the batch was opened (timezone-aware).
        product: What the batch is.
        producer: Who made it.
        location: Where it was opened, if given.
        certificate: The OCOP certificate, if any.
        attachments: Files by hash (product photo, registration).
        data: Key data elements.
    """

    time: datetime
    product: Product
    producer: Producer
    location: Location | None = None
    certificate: Certificate | None = None
    attachments: tuple[Attachment, ...] = ()
    data: Mapping[str, DataValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _time(self.time, "time")
        if not isinstance(self.product, Product):
            raise _err("expected a Product", "product")
        if not isinstance(self.producer, Producer):
            raise _err("expected a Producer", "producer")
        if self.location is not None and not isinstance(self.location, Location):
            raise _err("expected a Location", "location")
        if self.certificate is not None and not isinstance(self.certificate, Certificate):
            raise _err("expected a Certificate", "certificate")
        _set(
            self,
            "attachments",
            _tuple_of(self.attachments, Attachment, MAX_ATTACHMENTS, "attachments"),
        )
        _set(self, "data", _data(self.data, "data"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """A production step after genesis (harvest, drying, lab test, packing, shipping, sale, …).

    Attributes:
        batch_id: The batch (its genesis event id).
        seq: Position in the chain, from 1.
        prev: Event id of the event at ``seq - 1``.
        time: When it happened (timezone-aware).
        step: A GS1 CBV 2.0 business step, or a namespaced custom step such as ``ocop:drying``.
        location: Where it happened.
        inputs: Batches consumed (lineage).
        attachments: Files by hash.
        data: Key data elements (moisture, weight, temperature, …).
    """

    batch_id: bytes
    seq: int
    prev: bytes
    time: datetime
    step: str
    location: Location
    inputs: tuple[InputRef, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    data: Mapping[str, DataValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _sha256(self.batch_id, "batch")
        _sha256(self.prev, "prev")
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or not 1 <= self.seq < 2**63:
            raise _err("a step's seq must be 1 or more", "seq")
        _time(self.time, "time")
        if not isinstance(self.step, str) or not (self.step in CBV_BUSINESS_STEPS or _CUSTOM_STEP.fullmatch(self.step)):
            raise _err(
                f"{self.step!r} is neither a GS1 CBV 2.0 business step nor a namespaced step like ocop:drying",
                "step",
            )
        if not isinstance(self.location, Location):
            raise _err("expected a Location", "location")
        inputs = _tuple_of(self.inputs, InputRef, MAX_INPUTS, "inputs")
        seen = set()
        for ref in inputs:
            if ref.batch_id == self.batch_id:
                raise _err("a batch cannot consume itself", "inputs")
            if ref.batch_id in seen:
                raise _err("the same input batch is listed twice", "inputs")
            seen.add(ref.batch_id)
        _set(self, "inputs", inputs)
        _set(
            self,
            "attachments",
            _tuple_of(self.attachments, Attachment, MAX_ATTACHMENTS, "attachments"),
        )
        _set(self, "data", _data(self.data, "data"))


Body = Genesis | Step


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedEvent:
    """A signed event exactly as received: the COSE_Sign1 bytes and what they say.

    Build with :func:`~ocop_provenance.sign_event` or :func:`~ocop_provenance.decode_event`; never by hand.
    Signature validity is *not* implied by the existence of this object: check it with a verifier.

    Attributes:
        raw: The tagged COSE_Sign1 bytes (what is stored, hashed and exported).
        protected: The protected header bytes.
        payload: The payload bytes (deterministic CBOR).
        signature: The 64-byte Ed25519 signature.
        key_id: The signer's key id (RFC 9679 thumbprint) from the protected header.
        event_id: SHA-256 of the COSE ToBeSigned structure.
        to_be_signed: The ToBeSigned bytes (``["Signature1", protected, h'', payload]``).
        body: The decoded payload.
    """

    raw: bytes
    protected: bytes
    payload: bytes
    signature: bytes
    key_id: bytes
    event_id: bytes
    to_be_signed: bytes
    body: Genesis | Step

    @property
    def is_genesis(self) -> bool:
        """True for the event that opens a batch."""
        return isinstance(self.body, Genesis)

    @property
    def seq(self) -> int:
        """Position in the chain (0 for genesis)."""
        return 0 if isinstance(self.body, Genesis) else self.body.seq

    @property
    def batch_id(self) -> bytes:
        """The batch this event belongs to (for genesis, its own id)."""
        return self.event_id if isinstance(self.body, Genesis) else self.body.batch_id

    @property
    def prev(self) -> bytes | None:
        """The previous event's id (None for genesis)."""
        return None if isinstance(self.body, Genesis) else self.body.prev

    @property
    def time(self) -> datetime:
        """When the event says it happened."""
        return self.body.time

    @property
    def step(self) -> str:
        """The business step (``"genesis"`` for the event that opens the batch)."""
        return "genesis" if isinstance(self.body, Genesis) else self.body.step

    @property
    def event_id_hex(self) -> str:
        """The event id as lowercase hex."""
        return self.event_id.hex()
