"""The event wire format: the one table of payload labels, model <-> CBOR, and the signed event.

Unknown labels are rejected (a new label means a new format version ``v``). Optional fields are absent, never
null; empty lists and maps are absent. Every accepted event has exactly one encoding (NFC text, padded GTIN,
canonical quantity and time): the general decoder builds the model with the field rules of :mod:`._fields` and
requires that encoding it again reproduces the received bytes.

The fast decoder (docs/adr/0020) reads the common case, a step, without building the model twice: it applies the
*same* field rules to each decoded value and accepts the payload only if every rule returns its value unchanged
(so the value is already canonical and re-encoding would give the received bytes). Anything else, valid or not,
goes to the general decoder, which names the error. With :data:`DIFFERENTIAL` set (the test suite sets it), every
decode runs both and any disagreement is an internal error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from . import _cbor, _fields
from ._cose import CoseSign1, parse_sign1, sign1
from ._errors import FormatError, ProvenanceError
from ._keys import Signer
from ._model import (
    CORRECTION_STEP,
    MAX_ATTACHMENT_SIZE,
    MAX_ATTACHMENTS,
    MAX_DATA_ITEMS,
    MAX_INPUTS,
    MAX_VALUE_TEXT,
    Attachment,
    Body,
    Certificate,
    Correction,
    Genesis,
    InputRef,
    Location,
    Producer,
    Product,
    Step,
    correction_rule,
)

__all__ = [
    "DIFFERENTIAL",
    "EVENT_TYP",
    "FORMAT_VERSION",
    "MAX_EVENT_SIZE",
    "SignedEvent",
    "decode_body",
    "encode_body",
    "encode_signable",
    "parse_unverified_event",
    "sign_event",
]

#: The COSE ``typ`` of an event (RFC 9596); seals and trust lists use their own.
EVENT_TYP = "application/ocop-event+cbor"
FORMAT_VERSION = 1
#: Largest accepted event, COSE envelope included.
MAX_EVENT_SIZE = 65536
_PAYLOAD_DEPTH = 4
#: Run the fast and the general decoder on every payload and require that they agree (tests; slow).
DIFFERENTIAL = False

# ---- the label table (docs/adr/0002-wire-labels.md) -------------------------------------------------------
(
    V,
    BATCH,
    SEQ,
    PREV,
    TIME,
    STEP,
    WHERE,
    INPUTS,
    ATTACHMENTS,
    DATA,
    PRODUCT,
    PRODUCER,
    CERTIFICATE,
) = range(13)
CORRECTS = 13  # docs/format.md §19: a correction's declaration (docs/adr/0100-corrections.md)
_GENESIS_REQUIRED = frozenset({V, SEQ, TIME, PRODUCT, PRODUCER})
_GENESIS_OPTIONAL = frozenset({WHERE, ATTACHMENTS, DATA, CERTIFICATE})
_STEP_REQUIRED = frozenset({V, BATCH, SEQ, PREV, TIME, STEP, WHERE})
_STEP_OPTIONAL = frozenset({INPUTS, ATTACHMENTS, DATA, CORRECTS})

_PRODUCT = ("name", "lot", "quantity", "unit", "gtin")
_PRODUCER = ("name", "admin_code", "commune", "province", "gln")
_CERTIFICATE = ("stars", "number", "issued")
_LOCATION = ("name", "admin_code", "lat_e6", "lon_e6", "gln")
_INPUT = ("batch_id", "seq", "head")
_ATTACHMENT = ("name", "media_type", "size", "sha256")
_CORRECTION = ("seq", "event_id", "reason", "data")


@dataclass(frozen=True, slots=True)
class SignedEvent:
    """A signed event exactly as received: its COSE_Sign1 envelope and the decoded payload.

    Build with :func:`sign_event` or :func:`parse_unverified_event`; never by hand. Signature validity is *not*
    implied by the existence of this object: check it with a verifier, which re-parses :attr:`raw` (the bytes, not
    this object, are what is verified).

    Attributes:
        envelope: The COSE_Sign1 (raw bytes, protected header, payload, signature, key id, ToBeSigned, object id).
        body: The decoded payload.
    """

    envelope: CoseSign1
    body: Genesis | Step

    @property
    def raw(self) -> bytes:
        """The tagged COSE_Sign1 bytes (what is stored, hashed and exported)."""
        return self.envelope.raw

    @property
    def payload(self) -> bytes:
        """The payload bytes (deterministic CBOR)."""
        return self.envelope.payload

    @property
    def signature(self) -> bytes:
        """The 64-byte Ed25519 signature."""
        return self.envelope.signature

    @property
    def key_id(self) -> bytes:
        """The signer's key id (RFC 9679 thumbprint) from the protected header."""
        return self.envelope.key_id

    @property
    def event_id(self) -> bytes:
        """SHA-256 of the COSE ToBeSigned structure (docs/format.md §6)."""
        return self.envelope.object_id

    @property
    def to_be_signed(self) -> bytes:
        """The ToBeSigned bytes (``["Signature1", protected, h'', payload]``)."""
        return self.envelope.to_be_signed

    @property
    def is_genesis(self) -> bool:
        """True for the event that opens a batch."""
        return type(self.body) is Genesis

    @property
    def seq(self) -> int:
        """Position in the chain (0 for genesis)."""
        body = self.body
        return body.seq if type(body) is Step else 0

    @property
    def batch_id(self) -> bytes:
        """The batch this event belongs to (for genesis, its own id)."""
        body = self.body
        return body.batch_id if type(body) is Step else self.envelope.object_id

    @property
    def prev(self) -> bytes | None:
        """The previous event's id (None for genesis)."""
        body = self.body
        return body.prev if type(body) is Step else None

    @property
    def time(self) -> datetime:
        """When the event says it happened."""
        return self.body.time

    @property
    def step(self) -> str:
        """The business step (``"genesis"`` for the event that opens the batch)."""
        body = self.body
        return body.step if type(body) is Step else "genesis"

    @property
    def event_id_hex(self) -> str:
        """The event id as lowercase hex."""
        return self.envelope.object_id.hex()


def _record(obj: object, names: tuple[str, ...]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for label, name in enumerate(names):
        value = getattr(obj, name)
        if value is None:
            continue
        out[label] = value.isoformat() if isinstance(value, date) else value
    return out


# Small bounded caches for the encoder (a run of steps repeats its location and its data keys): a location's
# record by object identity (the entry holds the object, so its id cannot be reused while cached; models are
# frozen), and the deterministic order of a tuple of data keys.
_ENCODER_CACHE_LIMIT = 256
_location_records: dict[int, tuple[Location, dict[int, Any]]] = {}
_key_orders: dict[tuple[str, ...], tuple[str, ...]] = {}


def _location_record(location: Location) -> dict[int, Any]:
    cached = _location_records.get(id(location))
    if cached is not None and cached[0] is location:
        return cached[1]
    record = _record(location, _LOCATION)
    if len(_location_records) >= _ENCODER_CACHE_LIMIT:
        _location_records.clear()
    _location_records[id(location)] = (location, record)
    return record


def _data_map(data: Mapping[str, Any]) -> dict[str, Any]:
    keys = tuple(data)
    order = _key_orders.get(keys)
    if order is None:
        order = tuple(sorted(keys, key=_cbor.key_order))
        if len(_key_orders) >= _ENCODER_CACHE_LIMIT:
            _key_orders.clear()
        _key_orders[keys] = order
    return {k: data[k] for k in order}


def _correction_record(c: Correction) -> dict[int, Any]:
    out: dict[int, Any] = {0: c.seq, 1: c.event_id, 2: c.reason}
    if c.data is not None:
        out[3] = _data_map(c.data)
    return out


def encode_body(body: Body) -> bytes:
    """Return the deterministic CBOR payload of an event body."""
    # Every map is built in deterministic key order (labels ascending; data keys by their encoding) from
    # validated model values, so the encoder needs neither its type walk nor its sort.
    m: dict[int, Any] = {V: FORMAT_VERSION}
    if isinstance(body, Genesis):
        m[SEQ] = 0
        m[TIME] = _fields.event_time_text(body.time)
        if body.location is not None:
            m[WHERE] = _record(body.location, _LOCATION)
    else:
        m[BATCH] = body.batch_id
        m[SEQ] = body.seq
        m[PREV] = body.prev
        m[TIME] = _fields.event_time_text(body.time)
        m[STEP] = body.step
        m[WHERE] = _location_record(body.location)
        if body.inputs:
            m[INPUTS] = [_record(i, _INPUT) for i in body.inputs]
    if body.attachments:
        m[ATTACHMENTS] = [_record(a, _ATTACHMENT) for a in body.attachments]
    if body.data:
        m[DATA] = _data_map(body.data)
    if isinstance(body, Genesis):
        m[PRODUCT] = _record(body.product, _PRODUCT)
        m[PRODUCER] = _record(body.producer, _PRODUCER)
        if body.certificate is not None:
            m[CERTIFICATE] = _record(body.certificate, _CERTIFICATE)
    elif body.corrects is not None:
        m[CORRECTS] = _correction_record(body.corrects)
    return _cbor.encode_presorted(m)


# ---- the general decoder ----------------------------------------------------------------------------------
# docs/format.md §7.7: the whole payload's structure first (E_SCHEMA), then every value in label order, depth first
# (E_FIELD), then the re-encode rule (E_NONCANONICAL). So when a payload breaks several rules, the code and field
# reported are fixed by the document, not by the order this code happens to build objects in.

_NAMES = {WHERE: _LOCATION, INPUTS: _INPUT, ATTACHMENTS: _ATTACHMENT, PRODUCT: _PRODUCT, PRODUCER: _PRODUCER}
_REQUIRED_MEMBERS = {WHERE: 1, INPUTS: 3, ATTACHMENTS: 4, PRODUCT: 4, PRODUCER: 1, CERTIFICATE: 3}
_FIELD_NAMES = {WHERE: "where", INPUTS: "inputs", ATTACHMENTS: "attachments", PRODUCT: "product", PRODUCER: "producer"}


def _labelled(value: object, names: tuple[str, ...], where: str, required: int) -> dict[str, Any]:
    # A nested map: a map; no label outside 0..len(names)-1; the first ``required`` labels present; no null member
    # (optional members are absent, never null).
    if not isinstance(value, dict):
        raise FormatError("expected a map", code="E_SCHEMA", field=where)
    unknown = [k for k in value if not (type(k) is int and 0 <= k < len(names))]
    if unknown:
        raise FormatError(f"unknown labels {unknown}", code="E_SCHEMA", field=where)
    for label in range(required):
        if label not in value:
            raise FormatError(f"missing {names[label]}", code="E_SCHEMA", field=f"{where}.{names[label]}")
    for label in sorted(value):
        if value[label] is None:
            raise FormatError("null: an absent member is left out", code="E_SCHEMA", field=f"{where}.{names[label]}")
    return {names[k]: v for k, v in value.items()}


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise FormatError("expected a non-empty array", code="E_SCHEMA", field=where)
    return value


def _structure(m: dict[Any, Any]) -> None:
    """Phase 1 (§7.7 step 4a): every container and every nested label set, in label order, depth first."""
    for label in sorted(m):
        value = m[label]
        if label == TIME:
            if not isinstance(value, str) or len(value) > 40:
                raise FormatError("expected RFC 3339 text", code="E_SCHEMA", field="time")
        elif label in (INPUTS, ATTACHMENTS):
            for item in _list(value, _FIELD_NAMES[label]):
                _labelled(item, _NAMES[label], _FIELD_NAMES[label], _REQUIRED_MEMBERS[label])
        elif label in (WHERE, PRODUCT, PRODUCER):
            _labelled(value, _NAMES[label], _FIELD_NAMES[label], _REQUIRED_MEMBERS[label])
        elif label == DATA:
            if not isinstance(value, dict) or not value:
                raise FormatError("data must be a non-empty map", code="E_SCHEMA", field="data")
        elif label == CERTIFICATE:
            issued = _labelled(value, _CERTIFICATE, "certificate", 3)["issued"]
            if not isinstance(issued, str) or len(issued) != 10:
                raise FormatError("expected a YYYY-MM-DD date", code="E_SCHEMA", field="certificate.issued")
        elif label == CORRECTS:
            c = _labelled(value, _CORRECTION, "corrects", 3)
            if "data" in c and (not isinstance(c["data"], dict) or not c["data"]):
                raise FormatError("corrected data must be a non-empty map", code="E_SCHEMA", field="corrects.data")


def _build(factory: Callable[..., Any], kwargs: Mapping[str, Any], where: str) -> Any:
    try:
        return factory(**kwargs)
    except FormatError as e:
        if e.field is not None and not e.field.startswith(where):
            e.field = f"{where}.{e.field.split('.', 1)[-1]}" if "." in e.field else f"{where}.{e.field}"
        raise


def _count(items: list[Any], limit: int, where: str) -> list[Any]:
    if len(items) > limit:
        raise FormatError(f"more than {limit} items", code="E_FIELD", field=where)
    return items


def _product(value: dict[int, Any]) -> Product:
    members = _labelled(value, _PRODUCT, "product", 4)
    if not isinstance(members["quantity"], str):  # the model also takes numbers; the wire only decimal text
        _fields.text(members["name"], "product.name")
        _fields.text(members["lot"], "product.lot", limit=64)
        raise FormatError("expected decimal text", code="E_FIELD", field="product.quantity")
    return _build(Product, members, "product")  # type: ignore[no-any-return]


def _inputs(value: list[Any], batch_id: object) -> tuple[InputRef, ...]:
    out: list[InputRef] = []
    seen: set[bytes] = set()
    for item in _count(value, MAX_INPUTS, "inputs"):
        ref: InputRef = _build(InputRef, _labelled(item, _INPUT, "inputs", 3), "inputs")
        if ref.batch_id == batch_id:
            raise FormatError("a batch cannot consume itself", code="E_FIELD", field="inputs")
        if ref.batch_id in seen:
            raise FormatError("the same input batch is listed twice", code="E_FIELD", field="inputs")
        seen.add(ref.batch_id)
        out.append(ref)
    return tuple(out)


def _values(m: dict[int, Any]) -> dict[int, Any]:
    """Phase 2 (§7.7 step 4b): every value through its rule, in label order, depth first; E_FIELD names the field."""
    out: dict[int, Any] = {}
    for label in sorted(m):
        value = m[label]
        if label in (BATCH, PREV):
            out[label] = _fields.sha256(value, "batch" if label == BATCH else "prev")
        elif label == SEQ:
            if value:
                out[label] = _fields.uint(value, "seq", 1)
        elif label == TIME:
            out[label] = _fields.parse_event_time(value, "time")
        elif label == STEP:
            out[label] = _fields.business_step(value, "step")
        elif label == WHERE:
            out[label] = _build(Location, _labelled(value, _LOCATION, "where", 1), "where")
        elif label == INPUTS:
            out[label] = _inputs(value, out.get(BATCH))
        elif label == ATTACHMENTS:
            out[label] = tuple(
                _build(Attachment, _labelled(a, _ATTACHMENT, "attachments", 4), "attachments")
                for a in _count(value, MAX_ATTACHMENTS, "attachments")
            )
        elif label == DATA:
            out[label] = _data_values(value)
        elif label == PRODUCT:
            out[label] = _product(value)
        elif label == PRODUCER:
            out[label] = _build(Producer, _labelled(value, _PRODUCER, "producer", 1), "producer")
        elif label == CERTIFICATE:
            c = _labelled(value, _CERTIFICATE, "certificate", 3)
            _fields.uint(c["stars"], "certificate.stars", 3, 5)
            _fields.text(c["number"], "certificate.number", limit=64)
            c["issued"] = _fields.parse_date(c["issued"], "certificate.issued")
            out[label] = _build(Certificate, c, "certificate")
        elif label == CORRECTS:
            out[label] = _build(Correction, _labelled(value, _CORRECTION, "corrects", 3), "corrects")
    return out


def _data_values(value: dict[Any, Any]) -> Mapping[str, Any]:
    if len(value) > MAX_DATA_ITEMS:
        raise FormatError(f"more than {MAX_DATA_ITEMS} key data elements", code="E_FIELD", field="data")
    for k, v in value.items():  # wire order: each key, then its value
        _fields.data_key(k, "data")
        _fields.data_value(v, f"data.{k}")
    return value


def _decode_body_general(payload: bytes) -> Body:
    m = _cbor.decode(payload, max_size=MAX_EVENT_SIZE, max_depth=_PAYLOAD_DEPTH)
    # Steps 2-3: the map, its version, its seq and its label set.
    if not isinstance(m, dict):
        raise FormatError("event payload must be a map", code="E_SCHEMA")
    if m.get(V) != FORMAT_VERSION or isinstance(m.get(V), bool):
        raise FormatError(f"unsupported format version {m.get(V)!r}", code="E_VERSION", field="v")
    seq = m.get(SEQ)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise FormatError("seq must be a non-negative integer", code="E_SCHEMA", field="seq")
    required, optional = (_GENESIS_REQUIRED, _GENESIS_OPTIONAL) if seq == 0 else (_STEP_REQUIRED, _STEP_OPTIONAL)
    keys = set(m)
    if not required <= keys:
        raise FormatError(f"missing labels {sorted(required - keys)}", code="E_SCHEMA")
    if keys - required - optional:
        raise FormatError(
            f"labels not allowed here: {sorted(keys - required - optional, key=str)}",
            code="E_SCHEMA",
        )
    # Step 4: structure, then values.
    _structure(m)
    v = _values(m)
    body: Body
    if seq == 0:
        body = Genesis(
            time=v[TIME],
            product=v[PRODUCT],
            producer=v[PRODUCER],
            location=v.get(WHERE),
            certificate=v.get(CERTIFICATE),
            attachments=v.get(ATTACHMENTS, ()),
            data=v.get(DATA, {}),
        )
    else:
        body = Step(
            batch_id=v[BATCH],
            seq=v[SEQ],
            prev=v[PREV],
            time=v[TIME],
            step=v[STEP],
            location=v[WHERE],
            inputs=v.get(INPUTS, ()),
            attachments=v.get(ATTACHMENTS, ()),
            data=v.get(DATA, {}),
            corrects=v.get(CORRECTS),
        )
    # Step 5: the re-encode rule.
    if encode_body(body) != payload:
        raise FormatError(
            "payload is not in its one canonical form (NFC text, 14-digit GTIN, canonical quantity and time)",
            code="E_NONCANONICAL",
        )
    return body


# ---- the fast decoder for steps (docs/adr/0020-verification-fast-path.md) ---------------------------------
# Every value goes through its rule in _fields; a value the rule changes (not canonical) or refuses, or any
# structure other than the one canonical layout, sends the payload to the general decoder (None below). Objects
# are built without running their constructors again (the rules already ran): object.__new__ + setattr.

_set = object.__setattr__
_new = object.__new__
_EMPTY_DATA: Mapping[str, Any] = MappingProxyType({})
_LOCATION_CACHE_LIMIT = 256
_good_locations: dict[tuple[tuple[int, object], ...], Location] = {}


def _ascending(m: dict[Any, Any], size: int) -> bool:
    previous = -1
    for k in m:
        if type(k) is not int or not previous < k < size:
            return False
        previous = k
    return True


def _same(value: object, canonical: object) -> bool:
    # The rule returned the value unchanged: same type (no bool for int) and equal.
    return type(value) is type(canonical) and value == canonical


def _fast_location(m: object) -> Location | None:
    if type(m) is not dict or not _ascending(m, 5) or 0 not in m:
        return None
    for v in m.values():
        if type(v) is not str and type(v) is not int:
            return None  # null re-encodes as absent; other types (booleans among them) are never valid here
    # With only text and integers (not booleans), equal item tuples mean equal values of equal types.
    items = tuple(m.items())
    loc = _good_locations.get(items)
    if loc is not None:
        return loc
    name, admin, lat, lon, gln = m.get(0), m.get(1), m.get(2), m.get(3), m.get(4)
    if not _same(name, _fields.text(name, "where.name")):
        return None
    if admin is not None:
        _fields.admin_code(admin, "where.admin_code")
    if (lat is None) != (lon is None):
        return None
    if lat is not None:
        _fields.coordinate(lat, "where.lat_e6", 90_000_000)
        _fields.coordinate(lon, "where.lon_e6", 180_000_000)
    if gln is not None:
        _fields.gln(gln, "where.gln")
    loc = _new(Location)
    _set(loc, "name", name)
    _set(loc, "admin_code", admin)
    _set(loc, "lat_e6", lat)
    _set(loc, "lon_e6", lon)
    _set(loc, "gln", gln)
    if isinstance(name, str) and len(name) <= 64:
        if len(_good_locations) >= _LOCATION_CACHE_LIMIT:
            _good_locations.clear()
        _good_locations[items] = loc
    return loc


def _fast_inputs(items: object, batch_id: bytes) -> tuple[InputRef, ...] | None:
    if type(items) is not list or not 0 < len(items) <= MAX_INPUTS:
        return None
    out = []
    seen = set()
    for m in items:
        if type(m) is not dict or len(m) != 3 or not _ascending(m, 3):
            return None
        b, seq, head = (
            _fields.sha256(m[0], "inputs.batch_id"),
            _fields.uint(m[1], "inputs.seq"),
            _fields.sha256(m[2], "inputs.head"),
        )
        if (seq == 0 and head != b) or b == batch_id or b in seen:
            return None
        seen.add(b)
        ref = _new(InputRef)
        _set(ref, "batch_id", b)
        _set(ref, "seq", seq)
        _set(ref, "head", head)
        out.append(ref)
    return tuple(out)


def _fast_attachments(items: object) -> tuple[Attachment, ...] | None:
    if type(items) is not list or not 0 < len(items) <= MAX_ATTACHMENTS:
        return None
    out = []
    for m in items:
        if type(m) is not dict or len(m) != 4 or not _ascending(m, 4):
            return None
        name = m[0]
        if (
            not _same(name, _fields.text(name, "attachments.name"))
            or "/" in name
            or "\\" in name
            or name in (".", "..")
        ):
            return None
        a = _new(Attachment)
        _set(a, "name", name)
        _set(a, "media_type", _fields.media_type(m[1], "attachments.media_type"))
        _set(a, "size", _fields.uint(m[2], "attachments.size", 0, MAX_ATTACHMENT_SIZE))
        _set(a, "sha256", _fields.sha256(m[3], "attachments.sha256"))
        out.append(a)
    return tuple(out)


_good_key_orders: set[tuple[Any, ...]] = set()  # tuples of data keys already found valid and in canonical order


def _fast_data(m: object) -> Mapping[str, Any] | None:
    if type(m) is not dict or not 0 < len(m) <= MAX_DATA_ITEMS:
        return None
    keys = tuple(m)
    if keys not in _good_key_orders:  # a run of steps repeats its data keys: check each tuple once
        previous = (0, "")
        for k in keys:
            _fields.data_key(k, "data")
            order = (len(k), k)  # ASCII keys: the order of their CBOR encodings
            if not previous < order:
                return None
            previous = order
        if len(_good_key_orders) >= _LOCATION_CACHE_LIMIT:
            _good_key_orders.clear()
        _good_key_orders.add(keys)
    for v in m.values():
        if not _same(v, _fields.data_value(v, "data")):
            return None
    return MappingProxyType(dict(sorted(m.items())))


def _fast_correction(m: object) -> Correction | None:
    if type(m) is not dict or not 3 <= len(m) <= 4 or not _ascending(m, 4) or list(m)[:3] != [0, 1, 2]:
        return None  # labels 0, 1 and 2, then maybe 3
    reason = m[2]
    if not _same(reason, _fields.text(reason, "corrects.reason", limit=MAX_VALUE_TEXT)):
        return None
    data = _fast_data(m[3]) if 3 in m else None
    if 3 in m and data is None:
        return None
    c = _new(Correction)
    _set(c, "seq", _fields.uint(m[0], "corrects.seq", 1))
    _set(c, "event_id", _fields.sha256(m[1], "corrects.event_id"))
    _set(c, "reason", reason)
    _set(c, "data", data)
    return c


def _fast_step(payload: bytes) -> Step | None:
    try:
        m = _cbor.decode_unwalked(payload, max_size=MAX_EVENT_SIZE, max_depth=_PAYLOAD_DEPTH)
        if type(m) is not dict:
            return None
        corrects = None
        if CORRECTS in m:  # the last label, when present (labels ascend); the rest as for any step
            if next(reversed(m)) != CORRECTS:
                return None
            corrects = _fast_correction(m.pop(CORRECTS))
            if corrects is None:
                return None
        if len(m) < 7 or not _ascending(m, 10) or list(m)[6] != WHERE:
            return None  # labels ascend from 0 and the seventh is 6: labels 0..6, all required for a step, are there
        if not _same(m[V], FORMAT_VERSION):
            return None
        batch = _fields.sha256(m[BATCH], "batch")
        prev = _fields.sha256(m[PREV], "prev")
        seq = _fields.uint(m[SEQ], "seq", 1)
        step = _fields.business_step(m[STEP], "step")
        time = _fields.parse_event_time(m[TIME], "time")
        location = _fast_location(m[WHERE])
        inputs = _fast_inputs(m[INPUTS], batch) if INPUTS in m else ()
        attachments = _fast_attachments(m[ATTACHMENTS]) if ATTACHMENTS in m else ()
        data = _fast_data(m[DATA]) if DATA in m else _EMPTY_DATA
    except FormatError:
        return None
    if location is None or inputs is None or attachments is None or data is None:
        return None
    if (corrects is not None or step == CORRECTION_STEP) and correction_rule(
        seq, step, corrects, inputs=bool(inputs), data=bool(data)
    ) is not None:
        return None
    body = _new(Step)
    _set(body, "batch_id", batch)
    _set(body, "seq", seq)
    _set(body, "prev", prev)
    _set(body, "time", time)
    _set(body, "step", step)
    _set(body, "location", location)
    _set(body, "inputs", inputs)
    _set(body, "attachments", attachments)
    _set(body, "data", data)
    _set(body, "corrects", corrects)
    return body


class DecoderDisagreementError(AssertionError):
    """The fast and the general decoder disagreed on a payload (a bug; raised only with :data:`DIFFERENTIAL`)."""


def _differential(payload: bytes, fast: Step | None) -> Body:
    try:
        general = _decode_body_general(payload)
    except ProvenanceError as e:
        if fast is not None:
            raise DecoderDisagreementError(f"fast decoder accepted what the general one refuses ({e.code})") from e
        raise
    if fast is not None and fast != general:
        raise DecoderDisagreementError("fast and general decoders built different bodies")
    return general


def decode_body(payload: bytes) -> Body:
    """Decode and validate an event payload (the bytes must be the one deterministic encoding).

    Raises:
        FormatError: ``E_SCHEMA``/``E_FIELD`` with the field path, ``E_VERSION``, ``E_NONCANONICAL``, or the CBOR
            codes of the strict decoder.
    """
    fast = _fast_step(payload)
    if DIFFERENTIAL:
        return _differential(payload, fast)
    return fast if fast is not None else _decode_body_general(payload)


def encode_signable(body: Body) -> bytes:
    """Return :func:`encode_body` of ``body``, refusing a payload whose signed event would exceed the limit.

    Raises:
        FormatError: ``E_SIZE``.
    """
    payload = encode_body(body)
    if len(payload) > MAX_EVENT_SIZE - 256:  # room for the COSE envelope
        raise FormatError(f"event payload of {len(payload)} bytes is too large", code="E_SIZE")
    return payload


def sign_event(body: Body, signer: Signer) -> SignedEvent:
    """Sign an event body.

    Args:
        body: A :class:`Genesis` or :class:`Step`.
        signer: The key of whoever performed the step.

    Returns:
        The signed event.

    Raises:
        FormatError: The encoded event would exceed :data:`MAX_EVENT_SIZE` (``E_SIZE``).
        SignatureError: The signer misbehaved (``E_SIGNER``).
    """
    return SignedEvent(sign1(encode_signable(body), signer, EVENT_TYP), body)


def parse_unverified_event(data: bytes) -> SignedEvent:
    """Parse an event from untrusted bytes **without verifying its signature**.

    Args:
        data: A tagged COSE_Sign1 of content type :data:`EVENT_TYP`.

    Returns:
        The parsed event; its signature has not been checked.

    Raises:
        FormatError: Malformed envelope or payload, with a stable code and the field.
        SignatureError: Wrong algorithm, critical header or content type (``E_ALG``, ``E_CRIT``, ``E_CONTENT_TYPE``).
    """
    envelope = parse_sign1(data, typ=EVENT_TYP, max_size=MAX_EVENT_SIZE)
    return SignedEvent(envelope, decode_body(envelope.payload))
