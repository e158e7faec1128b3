"""The event model: frozen, validated on construction, independent of any encoding (stdlib only).

Every field is checked by its rule in :mod:`._fields` (the same rule the decoders apply), so an invalid object
cannot exist. Text is NFC-normalised on construction, so callers may pass any form; control characters are refused
so that nothing signed can rewrite an auditor's terminal. Identity rests on codes (GTIN, GLN, administrative-unit
code, certificate number), never on names.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar, cast

from . import _fields
from ._errors import FormatError
from ._fields import CBV_BUSINESS_STEPS, MAX_TEXT, MAX_VALUE_TEXT, gs1_check_digit

__all__ = [
    "CBV_BUSINESS_STEPS",
    "CORRECTION_STEP",
    "MAX_ATTACHMENTS",
    "MAX_CORRECTION_DISTANCE",
    "MAX_DATA_ITEMS",
    "MAX_INPUTS",
    "MAX_TEXT",
    "MAX_VALUE_TEXT",
    "Attachment",
    "Body",
    "Certificate",
    "Correction",
    "DataValue",
    "Genesis",
    "InputRef",
    "Location",
    "Producer",
    "Product",
    "Step",
    "canonical_quantity",
    "correction_rule",
    "gs1_check_digit",
]

MAX_DATA_ITEMS = 64
MAX_ATTACHMENTS = 32
MAX_INPUTS = 64
MAX_ATTACHMENT_SIZE = 2**53
#: The business step of a correction (docs/format.md §19): a step that declares an earlier step erroneous.
CORRECTION_STEP = "ocop:correcting"
#: How far back a correction may reach: ``seq - corrects.seq`` is at most this (verifiers hold that many ids).
MAX_CORRECTION_DISTANCE = 4096

#: A key data element value: text, an integer or a boolean (no floats: they have no single encoding).
DataValue = str | int | bool

_set = object.__setattr__
_Item = TypeVar("_Item")


def _opt(rule: Callable[[object, str], _Item], value: object, field_name: str) -> _Item | None:
    return None if value is None else rule(value, field_name)


def _instance(value: object, kind: type[_Item], field_name: str) -> _Item:
    if not isinstance(value, kind):
        raise FormatError(f"expected a {kind.__name__}", code="E_FIELD", field=field_name)
    return value


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
    return _fields.quantity(value, field_name)


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
        _set(self, "name", _fields.text(self.name, "product.name"))
        _set(self, "lot", _fields.text(self.lot, "product.lot", limit=64))
        _set(self, "quantity", _fields.quantity(self.quantity, "product.quantity"))
        _set(self, "unit", _fields.text(self.unit, "product.unit", limit=32))
        if self.gtin is not None:
            _set(self, "gtin", _fields.gtin(self.gtin, "product.gtin"))
            _fields.gs1_82(
                self.lot, "product.lot", "with a GTIN, the lot must be 1-20 characters of GS1's character set"
            )


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
        _set(self, "name", _fields.text(self.name, "producer.name"))
        _set(self, "admin_code", _opt(_fields.admin_code, self.admin_code, "producer.admin_code"))
        _set(self, "commune", _opt(_fields.text, self.commune, "producer.commune"))
        _set(self, "province", _opt(_fields.text, self.province, "producer.province"))
        _set(self, "gln", _opt(_fields.gln, self.gln, "producer.gln"))


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
        _fields.uint(self.stars, "certificate.stars", 3, 5)
        _set(self, "number", _fields.text(self.number, "certificate.number", limit=64))
        _fields.calendar_date(self.issued, "certificate.issued")


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
        _set(self, "name", _fields.text(self.name, "location.name"))
        _set(self, "admin_code", _opt(_fields.admin_code, self.admin_code, "location.admin_code"))
        if (self.lat_e6 is None) != (self.lon_e6 is None):
            raise FormatError("latitude and longitude go together", code="E_FIELD", field="location.lat_e6")
        if self.lat_e6 is not None:
            _fields.coordinate(self.lat_e6, "location.lat_e6", 90_000_000)
            _fields.coordinate(self.lon_e6, "location.lon_e6", 180_000_000)
        _set(self, "gln", _opt(_fields.gln, self.gln, "location.gln"))


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
        _fields.sha256(self.batch_id, "inputs.batch_id")
        _fields.uint(self.seq, "inputs.seq")
        _fields.sha256(self.head, "inputs.head")
        if self.seq == 0 and self.head != self.batch_id:
            raise FormatError(
                "an input at seq 0 must name the genesis event as head", code="E_FIELD", field="inputs.head"
            )


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
        name = _fields.text(self.name, "attachments.name")
        if "/" in name or "\\" in name or name in (".", ".."):
            raise FormatError("file name must not contain directories", code="E_FIELD", field="attachments.name")
        _set(self, "name", name)
        _fields.media_type(self.media_type, "attachments.media_type")
        _fields.uint(self.size, "attachments.size", 0, MAX_ATTACHMENT_SIZE)
        _fields.sha256(self.sha256, "attachments.sha256")

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
            try:
                media_type = _fields.media_type(guessed, "attachments.media_type")
            except FormatError:
                media_type = "application/octet-stream"
        return cls(name=recorded, media_type=media_type, size=size, sha256=digest.digest())


def _data(value: object, field_name: str) -> Mapping[str, DataValue]:
    if not isinstance(value, Mapping):
        raise FormatError("expected a mapping", code="E_FIELD", field=field_name)
    if len(value) > MAX_DATA_ITEMS:
        raise FormatError(f"more than {MAX_DATA_ITEMS} key data elements", code="E_FIELD", field=field_name)
    out = {_fields.data_key(k, field_name): _fields.data_value(v, f"{field_name}.{k}") for k, v in value.items()}
    return MappingProxyType(dict(sorted(out.items())))


def _tuple_of(value: object, kind: type[_Item], limit: int, field_name: str) -> tuple[_Item, ...]:
    if type(value) is tuple and not value:
        return ()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise FormatError("expected a sequence", code="E_FIELD", field=field_name)
    items = tuple(value)
    if len(items) > limit:
        raise FormatError(f"more than {limit} items", code="E_FIELD", field=field_name)
    for item in items:
        if not isinstance(item, kind):
            raise FormatError(f"expected {kind.__name__} items", code="E_FIELD", field=field_name)
    return cast("tuple[_Item, ...]", items)


@dataclass(frozen=True, slots=True, kw_only=True)
class Genesis:
    """The first event of a batch: it defines the batch, whose id is this event's id.

    Attributes:
        time: When the batch was opened (timezone-aware).
        product: What the batch is.
        producer: Who made it (as the producer declares it; a verifier names the signer from its trust list).
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
        _fields.event_time(self.time, "time")
        _instance(self.product, Product, "product")
        _instance(self.producer, Producer, "producer")
        if self.location is not None:
            _instance(self.location, Location, "location")
        if self.certificate is not None:
            _instance(self.certificate, Certificate, "certificate")
        _set(self, "attachments", _tuple_of(self.attachments, Attachment, MAX_ATTACHMENTS, "attachments"))
        _set(self, "data", _data(self.data, "data"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Correction:
    """What a correction step declares: an earlier step of the same batch is erroneous (docs/format.md §19).

    Signed history never changes: the corrected step stays in the chain, and verifiers, audits, policies, seals
    and labels show it as corrected. This is GS1 EPCIS's error declaration (``errorDeclaration``) and its
    corrective event in one signed event.

    Attributes:
        seq: The corrected step's seq (1 or more: a genesis is the batch's identity and cannot be corrected).
        event_id: The corrected step's event id: a correction pins the very event it corrects.
        reason: Why, in the signer's words (at most 1024 characters).
        data: The corrected key data elements, each replacing the step's value of that key (or adding it); None
            when the step is withdrawn: it did not happen as recorded. An empty mapping is None.
    """

    seq: int
    event_id: bytes
    reason: str
    data: Mapping[str, DataValue] | None = None

    def __post_init__(self) -> None:
        _fields.uint(self.seq, "corrects.seq", 1)
        _fields.sha256(self.event_id, "corrects.event_id")
        _set(self, "reason", _fields.text(self.reason, "corrects.reason", limit=MAX_VALUE_TEXT))
        if self.data is not None:
            data = _data(self.data, "corrects.data")
            _set(self, "data", data or None)

    @property
    def withdrawn(self) -> bool:
        """True when the correction carries no corrected values: the step did not happen as recorded."""
        return self.data is None


def correction_rule(
    seq: int, step: str, corrects: Correction | None, *, inputs: bool, data: bool
) -> tuple[str, str] | None:
    """Return ``(field, message)`` for the correction rule a step breaks, or None (docs/format.md §19.1).

    The one statement of the rules that tie a step to its correction: the model and both decoders call it.

    Args:
        seq: The step's seq.
        step: Its business step.
        corrects: What it corrects, if anything.
        inputs: Whether it consumes batches.
        data: Whether it carries key data elements of its own.
    """
    if corrects is None:
        if step == CORRECTION_STEP:
            return "corrects", f"a correction step ({CORRECTION_STEP}) must name the step it corrects"
        return None
    if step != CORRECTION_STEP:
        return "step", f"a correction's business step is {CORRECTION_STEP}"
    if corrects.seq >= seq:
        return "corrects.seq", "a correction corrects an earlier step of its batch"
    if seq - corrects.seq > MAX_CORRECTION_DISTANCE:
        return "corrects.seq", f"a correction reaches at most {MAX_CORRECTION_DISTANCE} steps back"
    if inputs:
        return "inputs", "a correction consumes no batch"
    if data:
        return "data", "a correction carries its corrected values in corrects.data, no data of its own"
    return None


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
        corrects: For a correction (step :data:`CORRECTION_STEP`), the earlier step it declares erroneous.
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
    corrects: Correction | None = None

    def __post_init__(self) -> None:
        _fields.sha256(self.batch_id, "batch")
        _fields.sha256(self.prev, "prev")
        _fields.uint(self.seq, "seq", 1)
        _fields.event_time(self.time, "time")
        _fields.business_step(self.step, "step")
        _instance(self.location, Location, "location")
        inputs = _tuple_of(self.inputs, InputRef, MAX_INPUTS, "inputs")
        seen = set()
        for ref in inputs:
            if ref.batch_id == self.batch_id:
                raise FormatError("a batch cannot consume itself", code="E_FIELD", field="inputs")
            if ref.batch_id in seen:
                raise FormatError("the same input batch is listed twice", code="E_FIELD", field="inputs")
            seen.add(ref.batch_id)
        _set(self, "inputs", inputs)
        _set(self, "attachments", _tuple_of(self.attachments, Attachment, MAX_ATTACHMENTS, "attachments"))
        _set(self, "data", _data(self.data, "data"))
        if self.corrects is not None:
            _instance(self.corrects, Correction, "corrects")
        broken = correction_rule(self.seq, self.step, self.corrects, inputs=bool(inputs), data=bool(self.data))
        if broken is not None:
            raise FormatError(broken[1], code="E_FIELD", field=broken[0])


#: An event body: the genesis that opens a batch, or a later step.
Body = Genesis | Step
