"""The event wire format: the one table of payload labels, and model <-> CBOR (docs/format.md §Event payload).

Unknown labels are rejected (a new label means a new format version ``v``). Optional fields are absent, never
null; empty lists and maps are absent. After decoding, the model is encoded again and must reproduce the received
payload bytes exactly, so every accepted event has exactly one encoding (NFC text, padded GTIN, canonical
quantity and time).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from . import _cbor
from ._cose import parse_sign1_parts, sign_parts
from ._errors import FormatError
from ._keys import Signer
from ._model import (
    _ADMIN_CODE,
    _CACHE_LIMIT,
    _CACHE_MAX_TEXT,
    _CONTROL,
    _CUSTOM_STEP,
    _DATA_KEY,
    _MEDIA_TYPE,
    CBV_BUSINESS_STEPS,
    MAX_ATTACHMENT_SIZE,
    MAX_ATTACHMENTS,
    MAX_DATA_ITEMS,
    MAX_INPUTS,
    MAX_TEXT,
    MAX_VALUE_TEXT,
    Attachment,
    Certificate,
    Genesis,
    InputRef,
    Location,
    Producer,
    Product,
    SignedEvent,
    Step,
    gs1_check_digit,
)

__all__ = [
    "EVENT_TYP",
    "FORMAT_VERSION",
    "MAX_EVENT_SIZE",
    "decode_event",
    "encode_body",
    "sign_event",
]

#: The COSE ``typ`` of an event (RFC 9596); seals and trust lists use their own.
EVENT_TYP = "application/ocop-event+cbor"
FORMAT_VERSION = 1
#: Largest accepted event, COSE envelope included.
MAX_EVENT_SIZE = 65536
_PAYLOAD_DEPTH = 4

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
_GENESIS_REQUIRED = frozenset({V, SEQ, TIME, PRODUCT, PRODUCER})
_GENESIS_OPTIONAL = frozenset({WHERE, ATTACHMENTS, DATA, CERTIFICATE})
_STEP_REQUIRED = frozenset({V, BATCH, SEQ, PREV, TIME, STEP, WHERE})
_STEP_OPTIONAL = frozenset({INPUTS, ATTACHMENTS, DATA})

_PRODUCT = ("name", "lot", "quantity", "unit", "gtin")
_PRODUCER = ("name", "admin_code", "commune", "province", "gln")
_CERTIFICATE = ("stars", "number", "issued")
_LOCATION = ("name", "admin_code", "lat_e6", "lon_e6", "gln")
_INPUT = ("batch_id", "seq", "head")
_ATTACHMENT = ("name", "media_type", "size", "sha256")


def _time_text(t: datetime) -> str:
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds")


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


def encode_body(body: Genesis | Step) -> bytes:
    """Return the deterministic CBOR payload of an event body."""
    # Every map is built in deterministic key order (labels ascending; data keys by their encoding) from
    # validated model values, so the encoder needs neither its type walk nor its sort.
    m: dict[int, Any] = {V: FORMAT_VERSION}
    if isinstance(body, Genesis):
        m[SEQ] = 0
        m[TIME] = _time_text(body.time)
        if body.location is not None:
            m[WHERE] = _record(body.location, _LOCATION)
    else:
        m[BATCH] = body.batch_id
        m[SEQ] = body.seq
        m[PREV] = body.prev
        m[TIME] = _time_text(body.time)
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
    return _cbor.encode_presorted(m)


def _fields(value: object, names: tuple[str, ...], where: str, required: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FormatError("expected a map", code="E_SCHEMA", field=where)
    unknown = [k for k in value if not (isinstance(k, int) and 0 <= k < len(names))]
    if unknown:
        raise FormatError(f"unknown labels {unknown}", code="E_SCHEMA", field=where)
    for label in range(required):
        if label not in value:
            raise FormatError(f"missing {names[label]}", code="E_SCHEMA", field=f"{where}.{names[label]}")
    return {names[k]: v for k, v in value.items()}


def _parse_time(value: object, where: str) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise FormatError("expected RFC 3339 text", code="E_SCHEMA", field=where)
    try:
        t = datetime.fromisoformat(value)
    except ValueError as e:
        raise FormatError("not an RFC 3339 date-time", code="E_FIELD", field=where) from e
    if t.utcoffset() is None:
        raise FormatError("time must carry its UTC offset", code="E_FIELD", field=where)
    return t


def _parse_date(value: object, where: str) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise FormatError("expected a YYYY-MM-DD date", code="E_SCHEMA", field=where)
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise FormatError("not a date", code="E_FIELD", field=where) from e


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise FormatError("expected a non-empty array", code="E_SCHEMA", field=where)
    return value


def _build(factory: Callable[..., Any], kwargs: Mapping[str, Any], where: str) -> Any:
    try:
        return factory(**kwargs)
    except FormatError as e:
        if e.field is not None and not e.field.startswith(where):
            e.field = f"{where}.{e.field.split('.', 1)[-1]}" if "." in e.field else f"{where}.{e.field}"
        raise


def _location(value: object) -> Location:
    return _build(Location, _fields(value, _LOCATION, "where", 1), "where")  # type: ignore[no-any-return]


def _attachments(value: object) -> tuple[Attachment, ...]:
    return tuple(
        _build(Attachment, _fields(a, _ATTACHMENT, "attachments", 4), "attachments")
        for a in _list(value, "attachments")
    )


# ---- the fast path for steps (docs/adr/0020-verification-fast-path.md) -------------------------------------
# It accepts only payloads that the general path below accepts, and builds the same model objects without
# running their constructors' checks twice: every value is checked to be exactly of its type and already in
# canonical form (so normalising it would change nothing, and re-encoding the model would give the received
# bytes). Anything else, valid or not, returns None and goes through the general path, which names the error.

_TIME_FORM = re.compile(r"(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
_OFFSET_FORM = re.compile(r"(\.(?!000000)[0-9]{6})?[+-]([01][0-9]|2[0-3]):[0-5][0-9]")
_MAX_SEQ = 2**63
_set = object.__setattr__
_new = object.__new__

_good_text: dict[str, bool] = {}  # text -> whether it is non-blank; only NFC text without controls is kept
_good_data_keys: set[str] = set()
_good_locations: dict[tuple[tuple[int, object], ...], Location] = {}


def _canonical_text(value: object, limit: int, *, empty: bool = False) -> bool:
    if type(value) is not str or len(value) > limit:
        return False
    blank = _good_text.get(value)
    if blank is None:
        if _CONTROL.search(value) is not None or not unicodedata.is_normalized("NFC", value):
            return False
        blank = not value.strip()
        if len(value) <= _CACHE_MAX_TEXT:  # only short texts: the caches stay small whatever the input
            if len(_good_text) >= _CACHE_LIMIT:
                _good_text.clear()
            _good_text[value] = blank
    return empty or not blank


def _ascending(m: dict[Any, Any], size: int) -> bool:
    previous = -1
    for k in m:
        if type(k) is not int or not previous < k < size:
            return False
        previous = k
    return True


def _bytes32(value: object) -> bool:
    return type(value) is bytes and len(value) == 32


def _u63(value: object, low: int) -> bool:
    return type(value) is int and low <= value < _MAX_SEQ


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
    if not _canonical_text(name, MAX_TEXT):
        return None
    if admin is not None and (type(admin) is not str or not _ADMIN_CODE.fullmatch(admin)):
        return None
    if (lat is None) != (lon is None):
        return None
    if lat is not None and (
        type(lat) is not int or type(lon) is not int or abs(lat) > 90_000_000 or abs(lon) > 180_000_000
    ):
        return None
    if gln is not None and (
        type(gln) is not str
        or len(gln) != 13
        or not gln.isascii()
        or not gln.isdigit()
        or gs1_check_digit(gln[:-1]) != int(gln[-1])
    ):
        return None
    loc = _new(Location)
    _set(loc, "name", name)
    _set(loc, "admin_code", admin)
    _set(loc, "lat_e6", lat)
    _set(loc, "lon_e6", lon)
    _set(loc, "gln", gln)
    if isinstance(name, str) and len(name) <= _CACHE_MAX_TEXT:
        if len(_good_locations) >= 256:
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
        b, seq, head = m[0], m[1], m[2]
        if not (_bytes32(b) and _bytes32(head) and _u63(seq, 0)) or (seq == 0 and head != b):
            return None
        if b == batch_id or b in seen:
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
        name, media, size, digest = m[0], m[1], m[2], m[3]
        if not _canonical_text(name, MAX_TEXT) or "/" in name or "\\" in name or name in (".", ".."):
            return None
        if type(media) is not str or not _MEDIA_TYPE.fullmatch(media):
            return None
        if type(size) is not int or not 0 <= size <= MAX_ATTACHMENT_SIZE or not _bytes32(digest):
            return None
        a = _new(Attachment)
        _set(a, "name", name)
        _set(a, "media_type", media)
        _set(a, "size", size)
        _set(a, "sha256", digest)
        out.append(a)
    return tuple(out)


def _fast_data(m: object) -> Mapping[str, Any] | None:
    if type(m) is not dict or not 0 < len(m) <= MAX_DATA_ITEMS:
        return None
    previous = (0, "")
    for k, v in m.items():
        if k not in _good_data_keys:
            if type(k) is not str or not _DATA_KEY.fullmatch(k):
                return None
            if len(_good_data_keys) >= _CACHE_LIMIT:
                _good_data_keys.clear()
            _good_data_keys.add(k)
        order = (len(k), k)  # ASCII keys: the order of their CBOR encodings
        if not previous < order:
            return None
        previous = order
        t = type(v)
        if t is int:
            if not -(2**63) <= v < 2**63:
                return None
        elif t is str:
            if not _canonical_text(v, MAX_VALUE_TEXT, empty=True):
                return None
        elif t is not bool:
            return None
    return MappingProxyType(dict(sorted(m.items())))


def _fast_time(value: object) -> datetime | None:
    if type(value) is not str or len(value) > 40:
        return None
    head = _TIME_FORM.match(value)
    if head is None or not _OFFSET_FORM.fullmatch(value, head.end()) or value.endswith("-00:00"):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _fast_step(payload: bytes) -> Step | None:
    try:
        m = _cbor.decode_unwalked(payload, max_size=MAX_EVENT_SIZE, max_depth=_PAYLOAD_DEPTH)
    except FormatError:
        return None
    if type(m) is not dict or len(m) < 7 or not _ascending(m, 10) or list(m)[6] != WHERE:
        return None  # labels ascend from 0 and the seventh is 6: labels 0..6, all required for a step, are there
    batch, seq, prev, step = m[BATCH], m[SEQ], m[PREV], m[STEP]
    if not (type(m[V]) is int and m[V] == FORMAT_VERSION and _u63(seq, 1) and _bytes32(batch) and _bytes32(prev)):
        return None
    if type(step) is not str or not (step in CBV_BUSINESS_STEPS or _CUSTOM_STEP.fullmatch(step)):
        return None
    time = _fast_time(m[TIME])
    location = _fast_location(m[WHERE])
    if time is None or location is None:
        return None
    inputs: tuple[InputRef, ...] | None = ()
    attachments: tuple[Attachment, ...] | None = ()
    data: Mapping[str, Any] | None = _EMPTY_DATA
    if INPUTS in m:
        inputs = _fast_inputs(m[INPUTS], batch)
    if ATTACHMENTS in m:
        attachments = _fast_attachments(m[ATTACHMENTS])
    if DATA in m:
        data = _fast_data(m[DATA])
    if inputs is None or attachments is None or data is None:
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
    return body


_EMPTY_DATA: Mapping[str, Any] = MappingProxyType({})


def decode_body(payload: bytes) -> Genesis | Step:
    """Decode and validate an event payload (the bytes must be the one deterministic encoding).

    Raises:
        FormatError: ``E_SCHEMA``/``E_FIELD`` with the field path, ``E_VERSION``, ``E_NONCANONICAL``, or the CBOR
            codes of the strict decoder.
    """
    fast = _fast_step(payload)
    return fast if fast is not None else _decode_body_general(payload)


def _decode_body_general(payload: bytes) -> Genesis | Step:
    m = _cbor.decode(payload, max_size=MAX_EVENT_SIZE, max_depth=_PAYLOAD_DEPTH)
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
    time = _parse_time(m[TIME], "time")
    attachments = _attachments(m[ATTACHMENTS]) if ATTACHMENTS in m else ()
    data = m.get(DATA, {})
    if DATA in m and (not isinstance(data, dict) or not data):
        raise FormatError("data must be a non-empty map", code="E_SCHEMA", field="data")
    body: Genesis | Step
    if seq == 0:
        cert = None
        if CERTIFICATE in m:
            c = _fields(m[CERTIFICATE], _CERTIFICATE, "certificate", 3)
            c["issued"] = _parse_date(c["issued"], "certificate.issued")
            cert = _build(Certificate, c, "certificate")
        body = Genesis(
            time=time,
            product=_build(Product, _fields(m[PRODUCT], _PRODUCT, "product", 4), "product"),
            producer=_build(Producer, _fields(m[PRODUCER], _PRODUCER, "producer", 1), "producer"),
            location=_location(m[WHERE]) if WHERE in m else None,
            certificate=cert,
            attachments=attachments,
            data=data,
        )
    else:
        inputs = (
            tuple(_build(InputRef, _fields(i, _INPUT, "inputs", 3), "inputs") for i in _list(m[INPUTS], "inputs"))
            if INPUTS in m
            else ()
        )
        body = Step(
            batch_id=m[BATCH],
            seq=seq,
            prev=m[PREV],
            time=time,
            step=m[STEP],
            location=_location(m[WHERE]),
            inputs=inputs,
            attachments=attachments,
            data=data,
        )
    if encode_body(body) != payload:
        raise FormatError(
            "payload is not in its one canonical form (NFC text, 14-digit GTIN, canonical quantity and time)",
            code="E_NONCANONICAL",
        )
    return body


def _encode_signable(body: Genesis | Step) -> bytes:
    """Return :func:`encode_body` of ``body``, refusing a payload whose signed event would exceed the limit."""
    payload = encode_body(body)
    if len(payload) > MAX_EVENT_SIZE - 256:  # room for the COSE envelope
        raise FormatError(f"event payload of {len(payload)} bytes is too large", code="E_SIZE")
    return payload


def sign_event(body: Genesis | Step, signer: Signer) -> SignedEvent:
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
    payload = _encode_signable(body)
    raw, protected, signature, key_id, tbs, event_id = sign_parts(payload, signer, EVENT_TYP)
    return SignedEvent(
        raw=raw,
        protected=protected,
        payload=payload,
        signature=signature,
        key_id=key_id,
        event_id=event_id,
        to_be_signed=tbs,
        body=body,
    )


def decode_event(data: bytes) -> SignedEvent:
    """Parse an event from untrusted bytes **without verifying its signature** (``parse_unverified_event``).

    Args:
        data: A tagged COSE_Sign1 of content type :data:`EVENT_TYP`.

    Returns:
        The parsed event; its signature has not been checked.

    Raises:
        FormatError: Malformed envelope or payload, with a stable code and the field.
        SignatureError: Wrong algorithm, critical header or content type (``E_ALG``, ``E_CRIT``, ``E_CONTENT_TYPE``).
    """
    raw, protected, payload, signature, key_id, tbs, event_id = parse_sign1_parts(
        data, typ=EVENT_TYP, max_size=MAX_EVENT_SIZE
    )
    return SignedEvent(
        raw=raw,
        protected=protected,
        payload=payload,
        signature=signature,
        key_id=key_id,
        event_id=event_id,
        to_be_signed=tbs,
        body=decode_body(payload),
    )
