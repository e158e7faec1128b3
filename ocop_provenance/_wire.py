"""The event wire format: the one table of payload labels, and model <-> CBOR (docs/format.md §Event payload).

Unknown labels are rejected (a new label means a new format version ``v``). Optional fields are absent, never
null; empty lists and maps are absent. After decoding, the model is encoded again and must reproduce the received
payload bytes exactly, so every accepted event has exactly one encoding (NFC text, padded GTIN, canonical
quantity and time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from . import _cbor
from ._cose import CoseSign1, parse_sign1, sign1
from ._errors import FormatError
from ._keys import Signer
from ._model import (
    Attachment,
    Certificate,
    Genesis,
    InputRef,
    Location,
    Producer,
    Product,
    SignedEvent,
    Step,
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


def encode_body(body: Genesis | Step) -> bytes:
    """Return the deterministic CBOR payload of an event body."""
    m: dict[int, Any] = {V: FORMAT_VERSION, TIME: _time_text(body.time)}
    if isinstance(body, Genesis):
        m[SEQ] = 0
        m[PRODUCT] = _record(body.product, _PRODUCT)
        m[PRODUCER] = _record(body.producer, _PRODUCER)
        if body.certificate is not None:
            m[CERTIFICATE] = _record(body.certificate, _CERTIFICATE)
        if body.location is not None:
            m[WHERE] = _record(body.location, _LOCATION)
    else:
        m[BATCH] = body.batch_id
        m[SEQ] = body.seq
        m[PREV] = body.prev
        m[STEP] = body.step
        m[WHERE] = _record(body.location, _LOCATION)
        if body.inputs:
            m[INPUTS] = [_record(i, _INPUT) for i in body.inputs]
    if body.attachments:
        m[ATTACHMENTS] = [_record(a, _ATTACHMENT) for a in body.attachments]
    if body.data:
        m[DATA] = dict(body.data)
    return _cbor.encode(m)


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


def decode_body(payload: bytes) -> Genesis | Step:
    """Decode and validate an event payload (the bytes must be the one deterministic encoding).

    Raises:
        FormatError: ``E_SCHEMA``/``E_FIELD`` with the field path, ``E_VERSION``, ``E_NONCANONICAL``, or the CBOR
            codes of the strict decoder.
    """
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


def _event(cose: CoseSign1, body: Genesis | Step) -> SignedEvent:
    return SignedEvent(
        raw=cose.raw,
        protected=cose.protected,
        payload=cose.payload,
        signature=cose.signature,
        key_id=cose.key_id,
        event_id=cose.object_id,
        to_be_signed=cose.to_be_signed,
        body=body,
    )


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
    payload = encode_body(body)
    if len(payload) > MAX_EVENT_SIZE - 256:
        raise FormatError(f"event payload of {len(payload)} bytes is too large", code="E_SIZE")
    return _event(sign1(payload, signer, EVENT_TYP), body)


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
    cose = parse_sign1(data, typ=EVENT_TYP, max_size=MAX_EVENT_SIZE)
    return _event(cose, decode_body(cose.payload))
