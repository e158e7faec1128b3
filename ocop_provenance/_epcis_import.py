"""Reading EPCIS 2.0 JSON-LD events back into our model, refusing what it cannot carry (docs/epcis.md §3).

The reader accepts what :mod:`._epcis` writes and the subset of EPCIS that other systems emit for one lot:
ObjectEvents (ADD for a genesis we exported, OBSERVE for steps) and TransformationEvents whose inputs are named
in ``ocop:input``. Every field is either mapped or refused: ``E_EPCIS_UNSUPPORTED`` for valid EPCIS that our
events cannot represent, ``E_EPCIS_FIELD`` for a value that breaks EPCIS or our mapping, ``E_EPCIS_HASH`` for an
exported event whose ``eventID`` is not its event hash, ``E_EPCIS_JSON`` for input that is not a JSON document
within the limits. Each error names the JSON path (``epcisBody.eventList[2].readPoint.id``) and the event index.

Corrections as exported (docs/epcis.md §2.4) are read only when asked (``corrections=True``, as the check against
the signed events asks): a correction's own event with ``ocop:corrects``, an exported event's ``errorDeclaration``
(:class:`EpcisDeclaration`) and a corrective event's ``ocop:correctedBy``. Otherwise, and for an error declaration
of an event that was not exported from a signed one, they are refused (``E_EPCIS_UNSUPPORTED``): they cannot
become steps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

from ._digitallink import parse_digital_link
from ._epcis import (
    CBVMDA_NS,
    DISPOSITIONS,
    LOT_MASTER_DATA,
    MEASUREMENTS,
    OCOP_NS,
    UNITS,
    certificate_uri,
)
from ._epcis_hash import epcis_event_hash
from ._epcis_json import MAX_EPCIS_SIZE, Reader, parse_json
from ._errors import FormatError
from ._fields import CBV_BUSINESS_STEPS, business_step, gs1_check_digit
from ._model import (
    MAX_DATA_ITEMS,
    Attachment,
    Certificate,
    Correction,
    DataValue,
    Genesis,
    InputRef,
    Location,
    Producer,
    Product,
    Step,
    canonical_quantity,
)

__all__ = ["MAX_EPCIS_SIZE", "EpcisDeclaration", "EpcisEvent", "EpcisStep", "read_epcis"]

_MAX_EVENTS = 100_000
_GEO = re.compile(r"geo:(-?\d{1,3}(?:\.\d{1,6})?),(-?\d{1,3}(?:\.\d{1,6})?)")
_GLN_URI = re.compile(r"https://id\.gs1\.org/414/(\d{13})")
_SGLN = re.compile(r"urn:epc:id:sgln:(\d+)\.(\d*)\.0")
_HEX32 = re.compile(r"[0-9a-f]{64}")
_CBV_STEP = "https://ref.gs1.org/cbv/BizStep-"
_URN_STEP = "urn:epcglobal:cbv:bizstep:"
_UNIT_OF = {uom: unit for unit, uom in UNITS.items()}
_MEASURE_OF = {v: k for k, v in MEASUREMENTS.items()}
_LOT_KEY_OF = {v: k for k, v in LOT_MASTER_DATA.items()}
_ORIGIN = ("ocop:eventId", "ocop:batchId", "ocop:seq", "ocop:prev", "ocop:signer", "ocop:correctedBy")
_STATUSES = ("in_force", "superseded", "unauthorised")
_ERROR_REASONS = ("incorrect_data", "did_not_occur")


@dataclass(frozen=True, slots=True, kw_only=True)
class EpcisStep:
    """The content of a step read from EPCIS: everything :meth:`~ocop_provenance.Ledger.add_step` signs.

    Attributes:
        step: Business step.
        time: When (with the event's UTC offset).
        location: Where.
        inputs: Input batches, pinned as the exported event pinned them.
        attachments: Files by hash.
        data: Key data elements.
        corrects: What a correction (step ``ocop:correcting``) declares (``ocop:corrects``), else None.
    """

    step: str
    time: datetime
    location: Location
    inputs: tuple[InputRef, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    data: Mapping[str, DataValue] = field(default_factory=dict)
    corrects: Correction | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EpcisDeclaration:
    """An exported event's ``errorDeclaration``: a correction in force declared it erroneous.

    Attributes:
        time: ``declarationTime`` (the correction's time, with its offset).
        reason: ``incorrect_data`` (corrected values) or ``did_not_occur`` (withdrawn).
        corrective_event_ids: ``correctiveEventIDs``, in order.
        correction: The correction's signed event id (``ocop:correction``).
        correction_reason: The correction's reason, in its signer's words (``ocop:reason``).
    """

    time: datetime
    reason: Literal["incorrect_data", "did_not_occur"]
    corrective_event_ids: tuple[str, ...]
    correction: bytes
    correction_reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EpcisEvent:
    """One EPCIS event read by :func:`read_epcis`.

    Attributes:
        index: Position in ``epcisBody.eventList``.
        event_hash: Its CBV 2.0 event hash (recomputed; equal to its ``eventID`` when that is a hash).
        epc_class: The class the event is about (its quantity list's, or the output of a transformation).
        input_classes: A transformation's input classes (``inputQuantityList``), in order.
        content: A :class:`~ocop_provenance.Genesis` (an exported genesis) or an :class:`EpcisStep`.
        batch_id: ``ocop:batchId`` of an exported event (the signed original), else None.
        seq: ``ocop:seq`` of an exported event, else None.
        prev: ``ocop:prev`` of an exported step, else None.
        signed_event_id: ``ocop:eventId`` of an exported event, else None.
        key_id: The original signer's key id (``ocop:signer``), else None.
        declaration: The ``errorDeclaration`` of an exported event, else None.
        corrected_by: A corrective event's correction (``ocop:correctedBy``, its signed event id), else None.
        status: How an exported correction stood for its exporter (``ocop:corrects.ocop:status``), else None.
    """

    index: int
    event_hash: str
    epc_class: str
    content: Genesis | EpcisStep
    input_classes: tuple[str, ...] = ()
    batch_id: bytes | None = None
    seq: int | None = None
    prev: bytes | None = None
    signed_event_id: bytes | None = None
    key_id: bytes | None = None
    declaration: EpcisDeclaration | None = None
    corrected_by: bytes | None = None
    status: str | None = None


def _decimal_e6(text: str) -> int:
    value = Decimal(text) * 1_000_000
    return int(value)


def _instant(r: Reader, text: str, where: str) -> datetime:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise r.error("not an RFC 3339 date-time", "E_EPCIS_FIELD", where) from e
    if t.utcoffset() is None:
        raise r.error("a time needs its UTC offset", "E_EPCIS_FIELD", where)
    return t


def _time(r: Reader) -> datetime:
    when = r.need("eventTime")
    offset = r.need("eventTimeZoneOffset")
    m = re.fullmatch(r"([+-])(\d{2}):(\d{2})", offset)
    if m is None:
        raise r.error("expected +HH:MM", "E_EPCIS_FIELD", r.at("eventTimeZoneOffset"))
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    zone = timezone(timedelta(minutes=-minutes if m.group(1) == "-" else minutes))
    try:
        t = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError as e:
        raise r.error("not an RFC 3339 date-time", "E_EPCIS_FIELD", r.at("eventTime")) from e
    if t.utcoffset() is None:
        raise r.error("eventTime needs its UTC offset", "E_EPCIS_FIELD", r.at("eventTime"))
    return t.astimezone(zone)


def _gln(r: Reader, uri: str, where: str) -> str:
    m = _GLN_URI.fullmatch(uri)
    if m is not None:
        return m.group(1)
    m = _SGLN.fullmatch(uri)
    if m is not None and len(m.group(1) + m.group(2)) == 12:
        body = m.group(1) + m.group(2)
        return body + str(gs1_check_digit(body))
    raise r.error(
        "expected a GLN (https://id.gs1.org/414/…, an SGLN without extension) or geo: URI", "E_EPCIS_UNSUPPORTED", where
    )


def _location(r: Reader) -> Location:
    where: dict[str, Any] = {}
    point = r.sub("readPoint")
    business = r.sub("bizLocation")
    ids = []
    for reader in (point, business):
        if reader is not None:
            ident = reader.need("id")
            reader.done()
            ids.append((ident, reader.at("id")))
    if len({i for i, _ in ids}) > 1:
        raise r.error("readPoint and bizLocation differ: an ocop step has one place", "E_EPCIS_UNSUPPORTED", ids[1][1])
    ext = r.sub("ocop:location")
    if ids:
        ident, at = ids[0]
        geo = _GEO.fullmatch(ident)
        if geo is not None:
            where["lat_e6"], where["lon_e6"] = _decimal_e6(geo.group(1)), _decimal_e6(geo.group(2))
        else:
            where["gln"] = _gln(r, ident, at)
    if ext is None:
        if not ids:
            raise r.error(
                "an ocop step needs a place (readPoint, bizLocation or ocop:location)",
                "E_EPCIS_FIELD",
                r.at("readPoint"),
            )
        where["name"] = ids[0][0]
    else:
        where["name"] = ext.need("ocop:name")
        where["admin_code"] = ext.text("ocop:adminCode")
        geo_text = ext.text("ocop:geo")
        if geo_text is not None:
            geo = _GEO.fullmatch(geo_text)
            if geo is None or "lat_e6" in where:
                raise r.error("expected one geo:lat,lon", "E_EPCIS_FIELD", ext.at("ocop:geo"))
            where["lat_e6"], where["lon_e6"] = _decimal_e6(geo.group(1)), _decimal_e6(geo.group(2))
        ext.done()
    location: Location = r.model(Location, **where)
    return location


def _step_name(r: Reader, prefixes: Mapping[str, str]) -> str:
    value = r.need("bizStep")
    for prefix in (_CBV_STEP, _URN_STEP):
        if value.startswith(prefix) and value[len(prefix) :] in CBV_BUSINESS_STEPS:
            return value[len(prefix) :]
    if value.startswith(OCOP_NS):
        value = "ocop:" + value[len(OCOP_NS) :]
    try:
        business_step(value, "step")
    except FormatError as e:
        raise r.error(
            f"{value!r} is neither a CBV 2.0 business step nor a namespaced step", "E_EPCIS_FIELD", r.at("bizStep")
        ) from e
    prefix, sep, _ = value.partition(":")
    if sep and prefix != "ocop" and prefix in prefixes:
        raise r.error(
            "a custom step must use the ocop prefix or an undeclared one", "E_EPCIS_UNSUPPORTED", r.at("bizStep")
        )
    return value


def _quantity(r: Reader, value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise r.error("expected a number", "E_EPCIS_FIELD", where)
    try:
        return canonical_quantity(value, where)
    except FormatError as e:
        raise r.error(e.message, "E_EPCIS_FIELD", where) from e


def _data(r: Reader, *, genesis: bool) -> dict[str, DataValue]:
    data: dict[str, DataValue] = {}

    def put(key: str, value: DataValue, where: str) -> None:
        if key in data:
            raise r.error(f"data element {key} is given twice", "E_EPCIS_FIELD", where)
        data[key] = value

    for element in r.items("sensorElementList"):
        for report in element.items("sensorReport"):
            kind, uom = report.need("type"), report.need("uom")
            key = _MEASURE_OF.get((str(kind), str(uom)))
            if key is None:
                raise r.error(f"no ocop data element for {kind} in {uom}", "E_EPCIS_UNSUPPORTED", report.at("type"))
            put(key, _measurement(r, report.take("value"), report.at("value")), report.at("value"))
            report.done()
        element.done()
    if genesis:
        ilmd = r.sub("ilmd")
        if ilmd is not None:
            for name in list(ilmd.obj):
                if name == "cbvmda:lotNumber":
                    continue
                key = _LOT_KEY_OF.get(name)
                if key is None:
                    raise r.error(f"{name} has no ocop data element", "E_EPCIS_UNSUPPORTED", ilmd.at(name))
                put(key, str(ilmd.need(name)), ilmd.at(name))
            r.obj["ilmd"] = ilmd.obj  # the lot number is the product's; the caller reads it
    for entry in r.items("ocop:data"):
        key = entry.need("ocop:key")
        kinds = [k for k in ("ocop:text", "ocop:integer", "ocop:boolean") if k in entry.obj]
        if len(kinds) != 1:
            raise r.error("a data entry has one of ocop:text, ocop:integer, ocop:boolean", "E_EPCIS_FIELD", entry.path)
        raw = entry.need(kinds[0])
        value: DataValue = raw
        if kinds[0] == "ocop:integer":
            if not re.fullmatch(r"-?(0|[1-9][0-9]*)", raw):
                raise r.error("expected an integer", "E_EPCIS_FIELD", entry.at("ocop:integer"))
            value = int(raw)
        elif kinds[0] == "ocop:boolean":
            if raw not in ("true", "false"):
                raise r.error("expected true or false", "E_EPCIS_FIELD", entry.at("ocop:boolean"))
            value = raw == "true"
        put(key, value, entry.path)
        entry.done()
    return data


def _measurement(r: Reader, value: object, where: str) -> DataValue:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise r.error("expected a number", "E_EPCIS_FIELD", where)
    if isinstance(value, int):
        return value
    if not value.is_finite():
        raise r.error("expected a finite number", "E_EPCIS_FIELD", where)
    sign = "-" if value < 0 else ""
    try:
        return sign + canonical_quantity(abs(value), where)
    except FormatError as e:
        raise r.error(e.message, "E_EPCIS_FIELD", where) from e


def _attachments(r: Reader) -> tuple[Attachment, ...]:
    out = []
    for a in r.items("ocop:attachment"):
        size = a.take("ocop:size")
        digest = a.need("ocop:sha256")
        if not isinstance(digest, str) or not _HEX32.fullmatch(digest):
            raise r.error("expected 64 lowercase hex digits", "E_EPCIS_FIELD", a.at("ocop:sha256"))
        out.append(
            a.model(
                Attachment,
                name=a.need("ocop:name"),
                media_type=a.need("ocop:mediaType"),
                size=size,
                sha256=bytes.fromhex(digest),
            )
        )
        a.done()
    return tuple(out)


def _hex32(r: Reader, value: object, where: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise r.error("expected 64 lowercase hex digits", "E_EPCIS_FIELD", where)
    return bytes.fromhex(value)


def _classes(r: Reader, key: str) -> list[str]:
    out = []
    for q in r.items(key):
        cls = q.need("epcClass")
        out.append(cls)
        if "quantity" in q.obj or "uom" in q.obj:
            raise r.error(
                "a step's quantity has no ocop field (record it as data)", "E_EPCIS_UNSUPPORTED", q.at("quantity")
            )
        q.done()
    return out


def _genesis(r: Reader) -> tuple[Genesis, str]:
    time = _time(r)
    cert_uri = r.text("certificationInfo")
    quantities = r.items("quantityList")
    if len(quantities) != 1:
        raise r.error("a genesis names one lot", "E_EPCIS_UNSUPPORTED", r.at("quantityList"))
    q = quantities[0]
    epc_class = str(q.need("epcClass"))
    amount = q.take("quantity")
    uom = q.text("uom")
    q.done()
    for key, want in (("bizStep", "creating_class_instance"), ("disposition", "active"), ("action", "ADD")):
        if r.text(key) != want:
            raise r.error(f"an exported genesis has {key} {want}", "E_EPCIS_FIELD", r.at(key))
    location = _location(r) if "ocop:location" in r.obj else None
    data = _data(r, genesis=True)
    ilmd = r.sub("ilmd", required=True)
    assert ilmd is not None
    lot = ilmd.need("cbvmda:lotNumber")
    product_ext = r.sub("ocop:product", required=True)
    producer_ext = r.sub("ocop:producer", required=True)
    assert product_ext is not None
    assert producer_ext is not None
    unit = product_ext.text("ocop:unit")
    if (unit is None) == (uom is None):
        raise r.error("the unit is a uom or ocop:unit, exactly one", "E_EPCIS_FIELD", q.at("uom"))
    if uom is not None:
        if uom not in _UNIT_OF:
            raise r.error(f"unit {uom} has no ocop spelling", "E_EPCIS_UNSUPPORTED", q.at("uom"))
        unit = _UNIT_OF[uom]
    gtin = None
    if epc_class.startswith("https://id.gs1.org/01/"):
        try:
            link = parse_digital_link(epc_class)
        except FormatError as e:
            raise r.error(f"not a GS1 Digital Link of a lot: {e.message}", "E_EPCIS_FIELD", q.at("epcClass")) from e
        gtin = link.gtin
        if link.lot != lot:
            raise r.error("the LGTIN's lot is not ilmd's lotNumber", "E_EPCIS_FIELD", q.at("epcClass"))
    product = r.model(
        Product,
        name=product_ext.need("ocop:name"),
        lot=lot,
        quantity=_quantity(r, amount, q.at("quantity")),
        unit=unit,
        gtin=gtin,
    )
    product_ext.done()
    producer = r.model(
        Producer,
        name=producer_ext.need("ocop:name"),
        admin_code=producer_ext.text("ocop:adminCode"),
        commune=producer_ext.text("ocop:commune"),
        province=producer_ext.text("ocop:province"),
        gln=producer_ext.text("ocop:gln"),
    )
    producer_ext.done()
    certificate = None
    cert_ext = r.sub("ocop:certificate")
    if cert_ext is not None:
        number = str(cert_ext.need("ocop:number"))
        if cert_uri != certificate_uri(number):
            raise r.error("certificationInfo is not the certificate's URI", "E_EPCIS_FIELD", r.at("certificationInfo"))
        issued = str(cert_ext.need("ocop:issued"))
        try:
            day = date.fromisoformat(issued)
        except ValueError as e:
            raise r.error("expected YYYY-MM-DD", "E_EPCIS_FIELD", cert_ext.at("ocop:issued")) from e
        certificate = r.model(Certificate, stars=cert_ext.take("ocop:stars"), number=number, issued=day)
        cert_ext.done()
    elif cert_uri is not None:
        raise r.error("certificationInfo without ocop:certificate", "E_EPCIS_UNSUPPORTED", r.at("certificationInfo"))
    genesis = r.model(
        Genesis,
        time=time,
        product=product,
        producer=producer,
        location=location,
        certificate=certificate,
        attachments=_attachments(r),
        data=data,
    )
    ilmd.done()
    return genesis, epc_class


def _step(
    r: Reader, prefixes: Mapping[str, str], kind: str, *, corrective: bool = False
) -> tuple[EpcisStep, str, tuple[str, ...], str | None]:
    time = _time(r)
    if kind == "ObjectEvent":
        if r.text("action") != "OBSERVE":
            raise r.error("a step is an OBSERVE event", "E_EPCIS_UNSUPPORTED", r.at("action"))
        classes = _classes(r, "quantityList")
        inputs_cls: list[str] = []
    else:
        inputs_cls = _classes(r, "inputQuantityList")
        classes = _classes(r, "outputQuantityList")
    if len(classes) != 1:
        raise r.error("a step is about one lot", "E_EPCIS_UNSUPPORTED", r.at("quantityList"))
    step = _step_name(r, prefixes)
    disposition = r.text("disposition")
    if disposition is not None and DISPOSITIONS.get(step) != disposition:
        raise r.error(
            f"disposition {disposition} has no ocop field for step {step}", "E_EPCIS_UNSUPPORTED", r.at("disposition")
        )
    location = _location(r)
    inputs = []
    for i in r.items("ocop:input"):
        inputs.append(
            i.model(
                InputRef,
                batch_id=_hex32(r, i.take("ocop:batchId"), i.at("ocop:batchId")),
                seq=i.take("ocop:seq"),
                head=_hex32(r, i.take("ocop:head"), i.at("ocop:head")),
            )
        )
        i.done()
    if len(inputs) != len(inputs_cls):
        raise r.error(
            "each input lot needs its batch id, seq and head (ocop:input)",
            "E_EPCIS_UNSUPPORTED",
            r.at("inputQuantityList"),
        )
    data = _data(r, genesis=False)
    corrects, status = _corrects(r)
    step_content = _checked(
        r,
        step=step,
        time=time,
        location=location,
        inputs=tuple(inputs),
        attachments=_attachments(r),
        data=data,
        corrects=corrects,
        corrective=corrective,
    )
    return step_content, classes[0], tuple(inputs_cls), status


def _corrects(r: Reader) -> tuple[Correction | None, str | None]:
    """A correction's ``ocop:corrects`` (and its exporter's ``ocop:status``), if the event has one."""
    c = r.sub("ocop:corrects")
    if c is None:
        return None, None
    seq = c.take("ocop:seq")
    target = _hex32(r, c.take("ocop:eventId"), c.at("ocop:eventId"))
    reason = c.need("ocop:reason")
    data = _data(c, genesis=False) if "ocop:data" in c.obj else None
    status = c.text("ocop:status")
    if status is not None and status not in _STATUSES:
        raise r.error(f"expected one of {', '.join(_STATUSES)}", "E_EPCIS_FIELD", c.at("ocop:status"))
    correction: Correction = c.model(Correction, seq=seq, event_id=target, reason=reason, data=data)
    c.done()
    return correction, status


def _declaration(r: Reader) -> EpcisDeclaration | None:
    d = r.sub("errorDeclaration")
    if d is None:
        return None
    time = _instant(r, d.need("declarationTime"), d.at("declarationTime"))
    reason = d.need("reason")
    if reason not in _ERROR_REASONS:
        raise r.error(f"error reason {reason} has no ocop equivalent", "E_EPCIS_UNSUPPORTED", d.at("reason"))
    ids = d.take("correctiveEventIDs")
    if ids is None:
        ids = []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise r.error("expected a list of event ids", "E_EPCIS_FIELD", d.at("correctiveEventIDs"))
    if "ocop:correction" not in d.obj:
        raise r.error(
            "an error declaration without ocop:correction has no signed correction",
            "E_EPCIS_UNSUPPORTED",
            d.at("ocop:correction"),
        )
    correction = _hex32(r, d.take("ocop:correction"), d.at("ocop:correction"))
    text = d.need("ocop:reason")
    d.done()
    return EpcisDeclaration(
        time=time,
        reason="incorrect_data" if reason == "incorrect_data" else "did_not_occur",
        corrective_event_ids=tuple(ids),
        correction=correction,
        correction_reason=text,
    )


_ZERO = bytes(32)
_MODEL_FIELD = {"step": "bizStep", "time": "eventTime"}


def _checked(
    r: Reader,
    *,
    step: str,
    time: datetime,
    location: Location,
    inputs: tuple[InputRef, ...],
    attachments: tuple[Attachment, ...],
    data: Mapping[str, DataValue],
    corrects: Correction | None = None,
    corrective: bool = False,
) -> EpcisStep:
    """Apply every rule of a step (docs/format.md §7, §19.1) now, so what is read can be signed.

    A corrective event (``corrective``) is a step with corrected data, never signed as such: its data may hold
    more than :data:`MAX_DATA_ITEMS` elements (a correction may add keys), each checked by the step rules.
    """
    if corrective and len(data) > MAX_DATA_ITEMS:
        keys = list(data)
        parts = [keys[i : i + MAX_DATA_ITEMS] for i in range(0, len(keys), MAX_DATA_ITEMS)]
        checked = [
            _checked(
                r,
                step=step,
                time=time,
                location=location,
                inputs=inputs,
                attachments=attachments,
                data={k: data[k] for k in part},
            )
            for part in parts
        ]
        return replace(checked[0], data={k: v for c in checked for k, v in c.data.items()})
    try:
        probe = Step(
            batch_id=_ZERO,
            seq=1 if corrects is None else corrects.seq + 1,
            prev=_ZERO,
            time=time,
            step=step,
            location=location,
            inputs=inputs,
            attachments=attachments,
            data=data,
            corrects=corrects,
        )
    except FormatError as e:
        where = _MODEL_FIELD.get(e.field or "", f"({e.field})")
        raise r.error(e.message, "E_EPCIS_FIELD", r.at(where)) from e
    return EpcisStep(
        step=probe.step,
        time=probe.time,
        location=probe.location,
        inputs=probe.inputs,
        attachments=probe.attachments,
        data=probe.data,
        corrects=probe.corrects,
    )


def _prefixes(doc: Mapping[str, Any]) -> dict[str, str]:
    context = doc.get("@context")
    prefixes: dict[str, str] = {}
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, dict):
            prefixes.update({k: v for k, v in item.items() if isinstance(v, str)})
    if prefixes.get("ocop", OCOP_NS) != OCOP_NS or prefixes.get("cbvmda", CBVMDA_NS) != CBVMDA_NS:
        raise FormatError(
            "the ocop or cbvmda prefix names another namespace", code="E_EPCIS_UNSUPPORTED", field="@context"
        )
    return prefixes


def read_epcis(data: bytes | str | Mapping[str, Any], *, corrections: bool = False) -> tuple[EpcisEvent, ...]:
    """Read the events of an EPCIS 2.0 JSON-LD document into our model.

    Args:
        data: The document as JSON text or bytes (at most :data:`MAX_EPCIS_SIZE`), or already parsed (numbers
            with a fraction as ``Decimal``).
        corrections: Also read what an export writes for corrections (docs/epcis.md §2.4): error declarations,
            correction events (:attr:`EpcisStep.corrects`) and corrective events. False (the default, for
            importing steps) refuses them: they are not steps anyone may sign as such.

    Returns:
        The events in document order; an exported genesis reads back as a :class:`~ocop_provenance.Genesis`.

    Raises:
        FormatError: ``E_EPCIS_JSON`` (not JSON, too big, duplicate keys), ``E_EPCIS_UNSUPPORTED`` (valid EPCIS
            an ocop event cannot carry), ``E_EPCIS_FIELD`` (a wrong value), ``E_EPCIS_HASH`` (an exported
            event whose ``eventID`` is not its event hash; a correction when ``corrections`` is False); each
            names the field path and the event index.
    """
    doc = data if isinstance(data, Mapping) else parse_json(data)
    if not isinstance(doc, Mapping) or doc.get("type") != "EPCISDocument":
        raise FormatError("not an EPCISDocument", code="E_EPCIS_FIELD", field="type")
    prefixes = _prefixes(doc)
    body = doc.get("epcisBody")
    events = body.get("eventList") if isinstance(body, Mapping) else None
    if not isinstance(events, list) or len(events) > _MAX_EVENTS:
        raise FormatError("expected epcisBody.eventList, a list", code="E_EPCIS_FIELD", field="epcisBody.eventList")
    return tuple(_event(e, i, prefixes, corrections) for i, e in enumerate(events))


_CORRECTION_FIELDS = ("errorDeclaration", "ocop:correctedBy", "ocop:corrects")


def _event(raw: object, index: int, prefixes: Mapping[str, str], corrections: bool) -> EpcisEvent:
    r = Reader(raw, f"epcisBody.eventList[{index}]", index)
    if not corrections:
        for key in _CORRECTION_FIELDS:
            if key in r.obj:
                raise r.error(
                    f"{key}: a correction or its EPCIS declaration is not a step (sign one with Ledger.correct_step)",
                    "E_EPCIS_UNSUPPORTED",
                    r.at(key),
                )
    computed = epcis_event_hash(r.obj, prefixes)
    event_id = r.text("eventID")
    origin = {k: r.take(k) for k in _ORIGIN}
    r.take("recordTime")
    if origin["ocop:eventId"] is not None and event_id != computed:
        raise r.error("eventID is not the event's CBV 2.0 event hash", "E_EPCIS_HASH", r.at("eventID"))
    exported = origin["ocop:eventId"] is not None
    declaration = _declaration(r) if exported else None
    kind = r.need("type")
    content: Genesis | EpcisStep
    input_classes: tuple[str, ...] = ()
    status: str | None = None
    if kind == "ObjectEvent" and r.obj.get("action") == "ADD":
        content, epc_class = _genesis(r)
    elif kind in ("ObjectEvent", "TransformationEvent"):
        corrective = origin["ocop:correctedBy"] is not None
        step, epc_class, input_classes, status = _step(r, prefixes, str(kind), corrective=corrective)
        if event_id is not None and origin["ocop:eventId"] is None:
            # A foreign event's own id is kept with the step (it has no field of its own).
            data = dict(step.data)
            if "epcis_event_id" in data:
                raise r.error("data element epcis_event_id is given twice", "E_EPCIS_FIELD", r.at("eventID"))
            data["epcis_event_id"] = event_id
            step = _checked(
                r,
                step=step.step,
                time=step.time,
                location=step.location,
                inputs=step.inputs,
                attachments=step.attachments,
                data=data,
                corrects=step.corrects,
            )
        content = step
    else:
        raise r.error(f"{kind} has no ocop equivalent", "E_EPCIS_UNSUPPORTED", r.at("type"))
    r.done()
    signer = origin["ocop:signer"]
    key_id = None
    if isinstance(signer, dict) and isinstance(signer.get("ocop:keyId"), str):
        key_id = _hex32(r, signer["ocop:keyId"], r.at("ocop:signer.ocop:keyId"))
    seq = origin["ocop:seq"]
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**63):
        raise r.error("expected a seq (a non-negative integer)", "E_EPCIS_FIELD", r.at("ocop:seq"))
    prev = origin["ocop:prev"]
    by = origin["ocop:correctedBy"]
    if by is not None and not exported:
        raise r.error("ocop:correctedBy without ocop:eventId", "E_EPCIS_FIELD", r.at("ocop:correctedBy"))
    return EpcisEvent(
        index=index,
        event_hash=computed,
        epc_class=epc_class,
        content=content,
        input_classes=input_classes,
        batch_id=None if origin["ocop:batchId"] is None else _hex32(r, origin["ocop:batchId"], r.at("ocop:batchId")),
        seq=seq,
        prev=None if prev is None else _hex32(r, prev, r.at("ocop:prev")),
        signed_event_id=None
        if origin["ocop:eventId"] is None
        else _hex32(r, origin["ocop:eventId"], r.at("ocop:eventId")),
        key_id=key_id,
        declaration=declaration,
        corrected_by=None if by is None else _hex32(r, by, r.at("ocop:correctedBy")),
        status=status,
    )
