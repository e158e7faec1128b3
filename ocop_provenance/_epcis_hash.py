"""The GS1 CBV 2.0 EPCIS event hash (CBV 2.0 §8.9): a pre-hash string and ``ni:///sha-256;…?ver=CBV2.0``.

The input is one event of an EPCIS 2.0 JSON-LD document, as a mapping of JSON values (``str``, ``int``,
``Decimal``, ``bool``, lists and mappings), and the CURIE prefixes the document declares inline in its
``@context``. The algorithm (docs/epcis.md §4 restates it with every choice made here):

1. ``eventType=<type>``, then the standard fields in the canonical property order (:data:`PROPERTY_ORDER`): a
   value field is ``name=value``; a field with children is ``name`` followed by its children in their own order;
   repeated fields and list members are sorted as strings (code-point order) before they are joined.
2. Then every other field of the event (``ilmd``, user extensions), except ``eventID``, ``recordTime``,
   ``errorDeclaration``, ``type`` and comments: ``{namespace}local=value`` for namespaced names, nested children
   appended, sorted as strings. Extensions nested in ``readPoint``, ``bizLocation``, ``sensorElement``,
   ``sensorMetadata`` and ``sensorReport`` come at the end of that field, sorted the same way.
3. Values: leading and trailing white space is removed; an empty value adds no ``=``, and a standard field with
   an empty value is left out. Times (standard fields whose name contains ``time``) become UTC with exactly three
   fraction digits and ``Z``, the third rounded up when the fourth is 5-9. Bare CBV words (``bizStep``,
   dispositions, sensor ``type``, ``exception``, ``component``, business transaction and source/destination types)
   become their GS1 Web URIs; ``urn:epcglobal:cbv:…`` URNs become web URIs; a CURIE whose prefix the document
   declares inline is expanded; EPC URIs and GS1 Digital Links become the constrained canonical Digital Link
   (:mod:`._epcis_gs1uri`). A value that reads as a number is written as
   GS1's reference implementation writes it: parsed as an IEEE 754 double, then its integer digits when it is
   integral, otherwise the shortest decimal that reads back as the same double (Python ``repr``).
4. The pre-hash string is UTF-8 encoded and hashed with SHA-256.

The reference implementation (``epcis-event-hash-generator``, GS1 Germany) is run against this module in
``tests/interop``, and its published examples in ``tests/external``; docs/epcis.md lists where the two differ on
purpose (a CBV rule the reference breaks).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ._epcis_gs1uri import canonical_gs1_uri
from ._errors import FormatError

__all__ = [
    "CBV_DISPOSITIONS",
    "EVENT_HASH_VERSION",
    "PROPERTY_ORDER",
    "epcis_event_hash",
    "epcis_prehash",
]

#: The hash algorithm version written after ``?ver=``.
EVENT_HASH_VERSION = "CBV2.0"

#: CBV 2.0 dispositions (bare words in JSON-LD).
CBV_DISPOSITIONS: frozenset[str] = frozenset(
    """active container_closed damaged destroyed dispensed disposed encoded expired in_progress in_transit inactive
    no_pedigree_match non_sellable_other partially_dispensed recalled reserved retail_sold returned
    sellable_accessible sellable_not_accessible stolen unknown available completeness_verified completeness_inferred
    conformant container_open mismatch_instance mismatch_class mismatch_quantity needs_replacement non_conformant
    unavailable""".split()
)

_Order = Sequence[tuple[str, "_Order | None"]]
_QUANTITY_ELEMENT: _Order = (("epcClass", None), ("quantity", None), ("uom", None))
_SENSOR_METADATA: _Order = tuple(
    (n, None) for n in "time startTime endTime deviceID deviceMetadata rawData dataProcessingMethod bizRules".split()
)
_SENSOR_REPORT: _Order = tuple(
    (n, None)
    for n in """type exception deviceID deviceMetadata rawData dataProcessingMethod time microorganism
    chemicalSubstance value component stringValue booleanValue hexBinaryValue uriValue minValue maxValue meanValue
    sDev percRank percValue uom coordinateReferenceSystem""".split()
)

#: The canonical property order, as the reference implementation applies it (``certificationInfo`` third).
#: List fields name their member element (JSON arrays of the XML binding's repeated element).
PROPERTY_ORDER: _Order = (
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", (("epc", None),)),
    ("inputEPCList", (("epc", None),)),
    ("childEPCs", (("epc", None),)),
    ("quantityList", (("quantityElement", _QUANTITY_ELEMENT),)),
    ("childQuantityList", (("quantityElement", _QUANTITY_ELEMENT),)),
    ("inputQuantityList", (("quantityElement", _QUANTITY_ELEMENT),)),
    ("outputEPCList", (("epc", None),)),
    ("outputQuantityList", (("quantityElement", _QUANTITY_ELEMENT),)),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", (("set", None), ("unset", None))),
    ("readPoint", (("id", None),)),
    ("bizLocation", (("id", None),)),
    # As GS1's reference implementation and its published examples order them (the CBV table lists sourceList
    # before destinationList): business transactions, then destinations, then sources.
    ("bizTransactionList", (("bizTransaction", None),)),
    ("destinationList", (("destination", None),)),
    ("sourceList", (("source", None),)),
    (
        "sensorElementList",
        (("sensorElement", (("sensorMetadata", _SENSOR_METADATA), ("sensorReport", _SENSOR_REPORT))),),
    ),
)
_QUANTITY_LISTS = {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
# Not hashed: the id itself, the repository's receipt time, a later error declaration, and comments.
_IGNORED = {"eventID", "recordTime", "errorDeclaration", "type", "@context", "rdfs:comment", "comment"}
_TYPED_LISTS = {"bizTransactionList", "sourceList", "destinationList"}

_CBV = "https://ref.gs1.org/cbv/"
_VOC = "https://gs1.org/voc/"
_URN_VOCAB = (
    ("urn:epcglobal:cbv:bizstep:", _CBV + "BizStep-"),
    ("urn:epcglobal:cbv:disp:", _CBV + "Disp-"),
    ("urn:epcglobal:cbv:btt:", _CBV + "BTT-"),
    ("urn:epcglobal:cbv:sdt:", _CBV + "SDT-"),
    ("urn:epcglobal:cbv:er:", _CBV + "ER-"),
)
# A number as Python's float() reads it from ASCII (no underscores, no inf/nan: those are not quantities).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})")
_BARE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_MS = timedelta(milliseconds=1)


def _canonical_number(text: str) -> str | None:
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    if not math.isfinite(value):
        return None
    return str(int(value)) if value.is_integer() else repr(value)


def _canonical_time(text: str) -> str:
    m = _TIME.fullmatch(text)
    if m is None:
        return text
    base, fraction, zone = m.groups()
    try:
        t = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return text
    digits = (fraction or "").ljust(4, "0")
    t = t.replace(microsecond=0) + int(digits[:3]) * _MS
    if digits[3] >= "5":  # CBV 2.0 §8.9.2 rule 9: the third decimal is rounded up when the fourth is 5-9
        t += _MS
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class _Canon:
    """Value rules for one document: its inline CURIE prefixes."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self.prefixes = dict(prefixes)

    def name(self, key: str) -> str:
        prefix, sep, local = key.partition(":")
        if sep and prefix in self.prefixes:
            return "{" + self.prefixes[prefix] + "}" + local
        return key

    def value(self, raw: object, field: str) -> str:
        if isinstance(raw, bool):  # as the XML binding writes them (the reference's JSON path writes True)
            return "true" if raw else "false"
        if isinstance(raw, (int, Decimal)):
            text = str(raw)
        elif isinstance(raw, str):
            text = raw
        else:
            raise FormatError("expected a JSON scalar", code="E_EPCIS_FIELD", field=field)
        text = text.strip()
        prefix, sep, local = text.partition(":")
        if sep and prefix in self.prefixes:
            text = self.prefixes[prefix] + local
        for urn, web in _URN_VOCAB:
            if text.startswith(urn):
                text = web + text[len(urn) :]
        number = _canonical_number(text)
        if number is not None:
            return number
        return canonical_gs1_uri(text) or text

    def standard(self, name: str, raw: object, field: str) -> str:
        if isinstance(raw, str) and _BARE_WORD.fullmatch(raw.strip()):
            word = raw.strip()
            if name == "bizStep":
                return _CBV + "BizStep-" + word
            if name in ("disposition", "set", "unset"):  # persistentDisposition's members are dispositions too
                return _CBV + "Disp-" + word
            if name in ("type", "exception"):
                return _VOC + word
            if name == "component":
                return _CBV + "Comp-" + word
        text = self.value(raw, field)
        if "time" in name.lower() and "offset" not in name.lower():
            return _canonical_time(text)
        return text


def _member_name(name: str) -> str:
    """The XML binding's element name for a member of the JSON list ``name`` (``epcList`` holds ``epc``)."""
    if name in _QUANTITY_LISTS:
        return "quantityElement"
    if name in ("epcList", "inputEPCList", "outputEPCList", "childEPCs"):
        return "epc"
    return name.removesuffix("List")


def _members(name: str, value: object) -> list[tuple[str, object]]:
    """The (element name, value) pairs a JSON field stands for in the XML binding's tree."""
    if name.endswith("List") or name == "childEPCs":
        return [(_member_name(name), v) for v in (value if isinstance(value, list) else [value])]
    if isinstance(value, list):
        return [(name, v) for v in value]
    return [(name, value)]


def _ordered(obj: Mapping[str, object], order: _Order, canon: _Canon, path: str, *, extensions: bool) -> str:
    parts: list[str] = []
    for name, sub in order:
        if name not in obj:
            continue
        value = obj[name]
        where = f"{path}.{name}"
        if name in _TYPED_LISTS:
            typed = sorted(s for s in (_typed(name, v, canon, where) for v in _as_list(value)) if s)
            if typed:
                parts.append(name + "".join(typed))
            continue
        if name.endswith("List") or name == "childEPCs":
            members = (_element(m, v, _sub_order(sub, m), canon, where) for m, v in _members(name, value))
            inner = sorted(s for s in members if s)
            if inner:
                parts.append(name + "".join(inner))
            continue
        parts.extend(sorted(s for s in (_element(name, v, sub, canon, where) for _, v in _members(name, value)) if s))
    if extensions:
        known = {n for n, _ in order}
        rest = [(k, v) for k, v in obj.items() if k not in known]
        if rest:
            parts.append(_generic(rest, canon, path))
    return "".join(parts)


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


_TYPE_VOCABULARY = {"bizTransactionList": "BTT-", "sourceList": "SDT-", "destinationList": "SDT-"}


def _typed(name: str, value: object, canon: _Canon, path: str) -> str:
    """A business transaction, source or destination: its type (CBV URI) first, then its identifier."""
    if not isinstance(value, Mapping):
        raise FormatError("expected an object with a type", code="E_EPCIS_FIELD", field=path)
    member = _member_name(name)
    out = ""
    kind = value.get("type")
    if kind is not None:
        text = canon.value(kind, f"{path}.type")
        if _BARE_WORD.fullmatch(text):
            text = _CBV + _TYPE_VOCABULARY[name] + text
        out = f"type={text}"
    if member in value:
        out += f"{member}={canon.value(value[member], f'{path}.{member}')}"
    return out


def _sub_order(sub: _Order | None, member: str) -> _Order | None:
    if sub is None:
        return None
    for name, order in sub:
        if name == member:
            return order
    return None


def _element(name: str, value: object, order: _Order | None, canon: _Canon, path: str) -> str:
    if isinstance(value, Mapping):
        inner = _ordered(value, order or (), canon, path, extensions=True)
        return name + inner if inner else ""
    if isinstance(value, list):
        raise FormatError("a nested list where one value is expected", code="E_EPCIS_FIELD", field=path)
    text = canon.standard(name, value, path)
    return f"{name}={text}" if text else ""


def _generic(items: Sequence[tuple[str, object]], canon: _Canon, path: str) -> str:
    out: list[str] = []
    for key, value in items:
        name = canon.name(key)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, Mapping):
                out.append(name + _generic(list(v.items()), canon, f"{path}.{key}"))
            elif isinstance(v, list):
                raise FormatError("a list nested in a list", code="E_EPCIS_FIELD", field=f"{path}.{key}")
            else:
                text = canon.value(v, f"{path}.{key}")
                out.append(f"{name}={text}" if text else name)
    return "".join(sorted(out))


def epcis_prehash(event: Mapping[str, object], prefixes: Mapping[str, str] | None = None) -> str:
    """Return the CBV 2.0 pre-hash string of one EPCIS 2.0 JSON-LD event.

    Args:
        event: The event (JSON values; numbers as ``int`` or ``Decimal``).
        prefixes: CURIE prefixes the document declares inline in its ``@context`` (prefix -> IRI).

    Returns:
        The pre-hash string.

    Raises:
        FormatError: The event has no ``type``, or holds a value with no pre-hash form (``E_EPCIS_FIELD``).
    """
    canon = _Canon(prefixes or {})
    kind = event.get("type")
    if not isinstance(kind, str):
        raise FormatError("an event needs a type", code="E_EPCIS_FIELD", field="type")
    ordered = _ordered(event, PROPERTY_ORDER, canon, "event", extensions=False)
    known = {n for n, _ in PROPERTY_ORDER} | _IGNORED
    rest = [(k, v) for k, v in event.items() if k not in known]
    return f"eventType={kind}" + ordered + (_generic(rest, canon, "event") if rest else "")


def epcis_event_hash(event: Mapping[str, object], prefixes: Mapping[str, str] | None = None) -> str:
    """Return the GS1 CBV 2.0 event hash id of one EPCIS 2.0 JSON-LD event: ``ni:///sha-256;<hex>?ver=CBV2.0``.

    Args:
        event: The event (its ``eventID``, if any, is not hashed).
        prefixes: CURIE prefixes declared inline in the document's ``@context``.

    Returns:
        The hash id (RFC 6920 ``ni`` URI).

    Raises:
        FormatError: See :func:`epcis_prehash`.
    """
    digest = hashlib.sha256(epcis_prehash(event, prefixes).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver={EVENT_HASH_VERSION}"
