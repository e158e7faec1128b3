"""GS1 EPCIS 2.0 JSON-LD export of verified events (docs/epcis.md; ADR 0080).

Each signed event becomes one EPCIS event: the genesis an ObjectEvent ADD (``creating_class_instance``), a step
without inputs an ObjectEvent OBSERVE, a step with inputs a TransformationEvent (input batches -> this batch).
Every value of our event goes to exactly one place: a standard EPCIS/CBV field where one exists (time, business
step, location GLN or coordinates, quantity and unit, measurements, lot master data, the OCOP certificate) and
otherwise an extension in our namespace :data:`OCOP_NS`; the signed event's id, key id, batch, seq and prev, and
the signer as a trust list names them, travel in each event so the copy can be traced back to its signature.
``eventID`` is the CBV 2.0 event hash (:mod:`._epcis_hash`). The mapping is deterministic: the same verified
events and creation time give the same bytes.

A correction (docs/format.md §19) is an ObjectEvent OBSERVE of its own (``ocop:correcting``, with ``ocop:corrects``
and how it stands); one *in force* is also declared the EPCIS way (ADR 0100): the corrected step's event again
with an ``errorDeclaration`` (the same ``eventID``: the hash leaves the declaration out), and, with corrected
values, a corrective event listed in ``correctiveEventIDs``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from ._bundle import BundleSummary
from ._corrections import CorrectionLog, CorrectionNote, CorrectionStatus
from ._digitallink import gs1_percent_encode
from ._epcis_hash import epcis_event_hash
from ._errors import ChainError, FormatError
from ._model import Attachment, DataValue, Genesis, Location, Step
from ._trust import VerifiedTrustList
from ._wire import SignedEvent

__all__ = [
    "CONTEXT_PREFIXES",
    "EPCIS_CONTEXT",
    "LOT_MASTER_DATA",
    "MEASUREMENTS",
    "OCOP_NS",
    "UNITS",
    "batch_class",
    "correction_log",
    "epcis_document",
    "epcis_event",
    "epcis_to_json",
]

#: Our namespace for what EPCIS has no field for (ADR 0080); the JSON-LD prefix is ``ocop``.
OCOP_NS = "https://ocop-provenance.org/ns/epcis/"
#: The EPCIS 2.0 JSON-LD context (GS1).
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CBVMDA_NS = "urn:epcglobal:cbv:mda#"
#: The prefixes every exported document declares inline, after the EPCIS context (which protects its own terms,
#: ``cbvmda`` among them: they cannot be declared again).
CONTEXT_PREFIXES: Mapping[str, str] = {"ocop": OCOP_NS}
GS1_RESOLVER = "https://id.gs1.org"

#: Product units written as a UN/CEFACT Recommendation 20 ``uom`` (exact spellings; any other unit travels as
#: ``ocop:unit`` text and the quantity has no ``uom``).
UNITS: Mapping[str, str] = {"kg": "KGM", "g": "GRM", "mg": "MGM", "t": "TNE", "l": "LTR", "ml": "MLT"}
#: Data keys that say what they measure and in which unit -> (sensorReport ``type``, UN/CEFACT ``uom``).
MEASUREMENTS: Mapping[str, tuple[str, str]] = {
    "temperature_c": ("Temperature", "CEL"),
    "humidity_pct": ("RelativeHumidity", "P1"),
    "moisture_pct": ("ocop:MoistureContent", "P1"),
    "weight_kg": ("Mass", "KGM"),
    "weight_g": ("Mass", "GRM"),
}
#: Genesis data keys that are lot master data -> their ``ilmd`` name (CBV master data attribute or ours).
LOT_MASTER_DATA: Mapping[str, str] = {
    "expiry_date": "cbvmda:itemExpirationDate",
    "best_before_date": "cbvmda:bestBeforeDate",
    "shelf_life": "ocop:shelfLife",
    "standards": "ocop:standards",
    "brand": "ocop:brand",
    "serial": "ocop:serial",
}
#: Dispositions implied by a business step (the genesis: ``active``); steps not listed carry none.
DISPOSITIONS: Mapping[str, str] = {
    "commissioning": "active",
    "shipping": "in_transit",
    "receiving": "in_progress",
    "retail_selling": "retail_sold",
    "destroying": "destroyed",
}
#: CBV 2.0 error reasons of a declaration: corrected values, or a withdrawn step.
INCORRECT_DATA, DID_NOT_OCCUR = "incorrect_data", "did_not_occur"
_DATE_KEYS = {"expiry_date", "best_before_date"}
_DECIMAL_TEXT = re.compile(r"-?(0|[1-9][0-9]{0,17})\.[0-9]{0,8}[1-9]")
_MAX_OFFSET = timedelta(hours=14)


def _err(message: str, code: str, field: str, event: SignedEvent | None = None) -> FormatError:
    return FormatError(message, code=code, field=field, event_id=None if event is None else event.event_id)


def batch_class(genesis: SignedEvent) -> str:
    """Return the EPCIS class (``epcClass``) of a batch: its LGTIN as a GS1 Digital Link, or our batch URI.

    Args:
        genesis: The batch's genesis event.

    Returns:
        ``https://id.gs1.org/01/<GTIN>/10/<lot>`` when the product has a GTIN, otherwise
        ``https://ocop-provenance.org/ns/epcis/batch/<batch id hex>``.
    """
    body = genesis.body
    assert isinstance(body, Genesis)
    product = body.product
    if product.gtin is not None:
        return f"{GS1_RESOLVER}/01/{product.gtin}/10/{gs1_percent_encode(product.lot)}"
    return f"{OCOP_NS}batch/{genesis.event_id.hex()}"


def certificate_uri(number: str) -> str:
    """Return the ``certificationInfo`` URI of an OCOP certificate number (percent-encoded UTF-8)."""
    return f"{OCOP_NS}certificate/{quote(number, safe='')}"


def _time(t: datetime, event: SignedEvent) -> tuple[str, str]:
    offset = t.utcoffset()
    assert offset is not None
    if abs(offset) > _MAX_OFFSET:
        raise _err("EPCIS allows UTC offsets up to 14:00", "E_EPCIS_UNSUPPORTED", "time", event)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return t.isoformat(), f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _coordinate(e6: int) -> str:
    sign = "-" if e6 < 0 else ""
    return f"{sign}{abs(e6) // 1_000_000}.{abs(e6) % 1_000_000:06d}"


def _place(location: Location) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The ``readPoint`` (GLN, else coordinates) and the ``ocop:location`` extension (the rest)."""
    ext: dict[str, Any] = {"ocop:name": location.name}
    if location.admin_code is not None:
        ext["ocop:adminCode"] = location.admin_code
    read_point = None
    coords = None
    if location.lat_e6 is not None and location.lon_e6 is not None:
        coords = f"geo:{_coordinate(location.lat_e6)},{_coordinate(location.lon_e6)}"
    if location.gln is not None:
        read_point = {"id": f"{GS1_RESOLVER}/414/{location.gln}"}
        if coords is not None:
            ext["ocop:geo"] = coords
    elif coords is not None:
        read_point = {"id": coords}
    return read_point, ext


def _attachment(a: Attachment) -> dict[str, Any]:
    return {"ocop:name": a.name, "ocop:mediaType": a.media_type, "ocop:size": a.size, "ocop:sha256": a.sha256.hex()}


def _data_entry(key: str, value: DataValue) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"ocop:key": key, "ocop:boolean": "true" if value else "false"}
    if isinstance(value, int):
        return {"ocop:key": key, "ocop:integer": str(value)}
    return {"ocop:key": key, "ocop:text": value}


def _is_measurement(key: str, value: DataValue) -> bool:
    if key not in MEASUREMENTS or isinstance(value, bool):
        return False
    return isinstance(value, int) or bool(_DECIMAL_TEXT.fullmatch(value))


def _split_data(data: Mapping[str, DataValue], *, genesis: bool) -> tuple[list[Any], dict[str, Any], list[Any]]:
    """Sensor reports, ILMD entries and ``ocop:data`` entries: each data element goes to exactly one of them."""
    reports: list[Any] = []
    ilmd: dict[str, Any] = {}
    rest: list[Any] = []
    for key, value in data.items():
        if _is_measurement(key, value):
            kind, uom = MEASUREMENTS[key]
            number = value if isinstance(value, int) else Decimal(str(value))
            reports.append({"type": kind, "value": number, "uom": uom})
        elif genesis and key in LOT_MASTER_DATA and isinstance(value, str) and _lot_value_ok(key, value):
            ilmd[LOT_MASTER_DATA[key]] = value
        else:
            rest.append(_data_entry(key, value))
    return reports, ilmd, rest


def _lot_value_ok(key: str, value: str) -> bool:
    if key not in _DATE_KEYS:
        return value.strip() == value and value != ""
    try:
        return len(value) == 10 and date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _signer(event: SignedEvent, trust: VerifiedTrustList | None) -> dict[str, Any]:
    out: dict[str, Any] = {"ocop:keyId": event.key_id.hex()}
    found = None if trust is None else trust.lookup(event.key_id)
    if found is not None:
        p = found[0]
        out.update({"ocop:participant": p.id, "ocop:name": p.name, "ocop:role": p.role})
        # Where the list registers the participant (not where the event says it was).
        out.update({k: v for k, v in (("ocop:commune", p.commune), ("ocop:province", p.province)) if v is not None})
    return out


def _common(event: SignedEvent, trust: VerifiedTrustList | None) -> dict[str, Any]:
    ext: dict[str, Any] = {
        "ocop:eventId": event.event_id.hex(),
        "ocop:batchId": event.batch_id.hex(),
        "ocop:seq": event.seq,
        "ocop:signer": _signer(event, trust),
    }
    if event.prev is not None:
        ext["ocop:prev"] = event.prev.hex()
    return ext


def _genesis_event(event: SignedEvent, body: Genesis, trust: VerifiedTrustList | None) -> dict[str, Any]:
    when, offset = _time(body.time, event)
    product = body.product
    quantity: dict[str, Any] = {"epcClass": batch_class(event), "quantity": Decimal(product.quantity)}
    if product.unit in UNITS:
        quantity["uom"] = UNITS[product.unit]
    out: dict[str, Any] = {"type": "ObjectEvent", "eventTime": when, "eventTimeZoneOffset": offset}
    if body.certificate is not None:
        out["certificationInfo"] = certificate_uri(body.certificate.number)
    out.update({"quantityList": [quantity], "action": "ADD", "bizStep": "creating_class_instance"})
    out["disposition"] = "active"
    ext: dict[str, Any] = {}
    if body.location is not None:
        read_point, ext["ocop:location"] = _place(body.location)
        if read_point is not None:
            out["readPoint"] = read_point
    reports, ilmd, rest = _split_data(body.data, genesis=True)
    if reports:
        out["sensorElementList"] = [{"sensorReport": reports}]
    out["ilmd"] = {"cbvmda:lotNumber": product.lot, **ilmd}
    producer = body.producer
    ext["ocop:product"] = {"ocop:name": product.name}
    if product.unit not in UNITS:
        ext["ocop:product"]["ocop:unit"] = product.unit
    ext["ocop:producer"] = {
        k: v
        for k, v in (
            ("ocop:name", producer.name),
            ("ocop:adminCode", producer.admin_code),
            ("ocop:commune", producer.commune),
            ("ocop:province", producer.province),
            ("ocop:gln", producer.gln),
        )
        if v is not None
    }
    if body.certificate is not None:
        c = body.certificate
        ext["ocop:certificate"] = {"ocop:number": c.number, "ocop:stars": c.stars, "ocop:issued": c.issued.isoformat()}
    if body.attachments:
        ext["ocop:attachment"] = [_attachment(a) for a in body.attachments]
    if rest:
        ext["ocop:data"] = rest
    out.update(ext)
    return out


def _step_event(
    event: SignedEvent,
    body: Step,
    classes: Mapping[bytes, str],
    trust: VerifiedTrustList | None,
    *,
    status: CorrectionStatus | None = None,
    data: Mapping[str, DataValue] | None = None,
) -> dict[str, Any]:
    """A step's EPCIS event (without the common trace); ``data`` replaces the step's own (a corrective event's)."""
    when, offset = _time(body.time, event)
    own = classes[body.batch_id]
    out: dict[str, Any] = {"eventTime": when, "eventTimeZoneOffset": offset}
    if body.inputs:
        missing = [ref.batch_id.hex()[:16] for ref in body.inputs if ref.batch_id not in classes]
        if missing:
            raise ChainError(
                f"input batch {missing[0]} is not among the events",
                code="E_INPUT_MISSING",
                event_id=event.event_id,
            )
        out = {"type": "TransformationEvent", **out}
        out["inputQuantityList"] = [{"epcClass": classes[ref.batch_id]} for ref in body.inputs]
        out["outputQuantityList"] = [{"epcClass": own}]
    else:
        out = {"type": "ObjectEvent", **out, "quantityList": [{"epcClass": own}], "action": "OBSERVE"}
    out["bizStep"] = body.step
    if body.step in DISPOSITIONS:
        out["disposition"] = DISPOSITIONS[body.step]
    read_point, location = _place(body.location)
    if read_point is not None:
        out["readPoint"] = read_point
    reports, _, rest = _split_data(body.data if data is None else data, genesis=False)
    if reports:
        out["sensorElementList"] = [{"sensorReport": reports}]
    out["ocop:location"] = location
    if body.inputs:
        out["ocop:input"] = [
            {"ocop:batchId": ref.batch_id.hex(), "ocop:seq": ref.seq, "ocop:head": ref.head.hex()}
            for ref in body.inputs
        ]
    if body.attachments:
        out["ocop:attachment"] = [_attachment(a) for a in body.attachments]
    if rest:
        out["ocop:data"] = rest
    if body.corrects is not None:
        c = body.corrects
        corrects: dict[str, Any] = {"ocop:seq": c.seq, "ocop:eventId": c.event_id.hex(), "ocop:reason": c.reason}
        if c.data is not None:
            corrects["ocop:data"] = [_data_entry(k, v) for k, v in c.data.items()]
        if status is not None:
            corrects["ocop:status"] = status
        out["ocop:corrects"] = corrects
    return out


def correction_log(chain: Iterable[SignedEvent], trust: VerifiedTrustList | None = None) -> CorrectionLog:
    """Read how the steps of one verified batch stand, judging who may correct as an audit does.

    Args:
        chain: The batch's verified events, genesis first.
        trust: A verified trust list: a correction is in force when signed by the corrected step's participant
            (a key the list does not allow at the time the event claims corrects nothing); without one, by the
            same key.

    Returns:
        The batch's :class:`~ocop_provenance.events.CorrectionLog`.
    """
    log = CorrectionLog()
    for event in chain:
        if trust is None:
            log.add(event)  # by key id
            continue
        found = trust.lookup(event.key_id)
        allowed = found is not None and found[1].problem_at(event.time) is None
        log.add(event, found[0].id if allowed and found is not None else None)
    return log


def _declared(
    original: Mapping[str, Any], note: CorrectionNote, corrective_id: str | None, event: SignedEvent
) -> dict[str, Any]:
    """The corrected step's EPCIS event again, with the error declaration of the correction in force.

    Everything but ``errorDeclaration`` is the original's, ``eventID`` included (EPCIS 2.0: an error declaration
    is otherwise identical to the erroneous event; the CBV hash leaves ``errorDeclaration`` out).
    """
    when, _ = _time(note.time, event)
    declaration: dict[str, Any] = {
        "declarationTime": when,
        "reason": DID_NOT_OCCUR if note.withdrawn else INCORRECT_DATA,
    }
    if corrective_id is not None:
        declaration["correctiveEventIDs"] = [corrective_id]
    declaration["ocop:correction"] = note.by_event_id.hex()
    declaration["ocop:reason"] = note.reason
    out: dict[str, Any] = {}
    for key, value in original.items():
        out[key] = value
        if key == "eventTimeZoneOffset":
            out["errorDeclaration"] = declaration
    return out


def _corrective(
    corrected: SignedEvent, note: CorrectionNote, classes: Mapping[bytes, str], trust: VerifiedTrustList | None
) -> dict[str, Any]:
    """The corrective event: the corrected step's EPCIS event with its corrected key data elements."""
    body = corrected.body
    assert isinstance(body, Step)
    assert note.data is not None
    # Not a Step: the corrected data may hold more than MAX_DATA_ITEMS elements (a correction may add keys).
    out = _step_event(corrected, body, classes, trust, data={**body.data, **note.data})
    out.update(_common(corrected, trust))
    out["ocop:correctedBy"] = note.by_event_id.hex()
    return {"eventID": epcis_event_hash(out, CONTEXT_PREFIXES), **out}


def _chain_events(
    chain: Sequence[SignedEvent], classes: Mapping[bytes, str], trust: VerifiedTrustList | None
) -> list[dict[str, Any]]:
    """A batch's EPCIS events: one per signed event, each correction in force followed by its declaration."""
    notes = {note.by_seq: note for note in correction_log(chain, trust).notes}
    signed: dict[int, SignedEvent] = {}
    exported: dict[int, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for event in chain:
        note = notes.get(event.seq)
        own = epcis_event(event, classes, trust, status=None if note is None else note.status)
        signed[event.seq], exported[event.seq] = event, own
        out.append(own)
        if note is not None and note.in_force and note.seq in exported:
            corrective = None
            if not note.withdrawn:
                corrective = _corrective(signed[note.seq], note, classes, trust)
            out.append(
                _declared(exported[note.seq], note, None if corrective is None else corrective["eventID"], event)
            )
            if corrective is not None:
                out.append(corrective)
    return out


def epcis_event(
    event: SignedEvent,
    classes: Mapping[bytes, str],
    trust: VerifiedTrustList | None = None,
    *,
    status: CorrectionStatus | None = None,
) -> dict[str, Any]:
    """Return one verified event as an EPCIS 2.0 JSON-LD event, with its ``eventID`` (the CBV 2.0 event hash).

    Args:
        event: A verified event.
        classes: The EPCIS class of each batch the event names (its own and its inputs), by batch id.
        trust: A verified trust list naming signers, or None (the key id only).
        status: For a correction, how it stands (``in_force``, ``superseded``, ``unauthorised``: a
            :class:`~ocop_provenance.events.CorrectionLog` says), written as ``ocop:corrects.ocop:status``; None leaves
            it out. The error declaration of a correction in force is :func:`epcis_document`'s.

    Returns:
        The event as JSON values (quantities and measurements as ``Decimal`` or ``int``).

    Raises:
        FormatError: A UTC offset beyond 14:00 (``E_EPCIS_UNSUPPORTED``).
        ChainError: An input batch without a class, its genesis not given (``E_INPUT_MISSING``).
    """
    body = event.body
    if isinstance(body, Genesis):
        out = _genesis_event(event, body, trust)
    else:
        out = _step_event(event, body, classes, trust, status=status)
    out.update(_common(event, trust))
    return {"eventID": epcis_event_hash(out, CONTEXT_PREFIXES), **out}


def epcis_document(
    batches: Iterable[Sequence[SignedEvent]],
    summary: BundleSummary,
    *,
    created: datetime,
    trust: VerifiedTrustList | None = None,
) -> dict[str, Any]:
    """Build the EPCIS 2.0 JSON-LD document of verified batches (every batch of a verified bundle).

    Args:
        batches: The verified events, one sequence per batch from genesis to head (as
            :func:`~ocop_provenance.verify_bundle` passes them to ``on_event``, grouped by batch).
        summary: The verified bundle's summary; the document names its root batch (``ocop:root``).
        created: The document's creation time (``creationDate``; timezone-aware).
        trust: A verified trust list (:func:`~ocop_provenance.verify_trust_list`): each event's signer is named as
            the list names them (participant id, name, role, and the commune and province it registers) under
            ``ocop:signer``; without one, the key id only. It also judges corrections (:func:`correction_log`):
            only a correction in force is declared (``errorDeclaration``); others travel as their own event.

    Returns:
        The document as JSON values; write it with :func:`epcis_to_json`.

    Raises:
        FormatError: An event EPCIS cannot carry (``E_EPCIS_UNSUPPORTED``, naming the field).
        ChainError: A batch that does not start with its genesis (``E_GENESIS``), or a step that consumes a batch
            not among ``batches`` (``E_INPUT_MISSING``).
        ValueError: ``created`` is naive.
    """
    if created.utcoffset() is None:
        raise ValueError("created must be timezone-aware")
    chains = [list(events) for events in batches]
    classes: dict[bytes, str] = {}
    for chain in chains:
        if not chain or not chain[0].is_genesis:
            raise ChainError("each batch must start with its genesis", code="E_GENESIS")
        classes[chain[0].batch_id] = batch_class(chain[0])
    events = [e for chain in chains for e in _chain_events(chain, classes, trust)]
    return {
        "@context": [EPCIS_CONTEXT, dict(CONTEXT_PREFIXES)],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "ocop:root": summary.header.root.hex(),
        "epcisBody": {"eventList": events},
    }


def _json(value: object, indent: int, out: list[str]) -> None:
    pad = "\n" + "  " * (indent + 1)
    if isinstance(value, Mapping):
        if not value:
            out.append("{}")
            return
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            out.append(("," if i else "") + pad + _string(k) + ": ")
            _json(v, indent + 1, out)
        out.append("\n" + "  " * indent + "}")
    elif isinstance(value, list):
        if not value:
            out.append("[]")
            return
        out.append("[")
        for i, v in enumerate(value):
            out.append(("," if i else "") + pad)
            _json(v, indent + 1, out)
        out.append("\n" + "  " * indent + "]")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(format(value, "f"))
    elif isinstance(value, str):
        out.append(_string(value))
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch in "\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def epcis_to_json(document: Mapping[str, Any]) -> bytes:
    """Write an EPCIS document as UTF-8 JSON: Vietnamese text as itself, decimals exactly, two-space indent.

    Args:
        document: The document (:func:`epcis_document`).

    Returns:
        The JSON bytes, ending with a newline.
    """
    out: list[str] = []
    _json(document, 0, out)
    return ("".join(out) + "\n").encode("utf-8")
