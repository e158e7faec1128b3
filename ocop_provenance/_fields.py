"""Every field rule of the format, each written once (docs/format.md §7, §16; docs/adr/0020).

Each rule is one function that takes a value and the field's dotted name and returns the value in its one
canonical form, or raises :class:`FormatError` (``E_FIELD``) naming the field. The same function serves:

* the model constructors (:mod:`._model`, the trust list and policy models), which accept any form a caller may
  pass (NFD text, a GTIN-13) and keep the canonical one;
* the decoders (:mod:`._wire` and the trust-list and policy parsers), which accept a received value only if the
  rule returns it *unchanged*: a value the rule would change is not in its canonical form (``E_NONCANONICAL``).

So a rule cannot drift between building and reading, between events and trust lists, or between the fast and the
general decoder. ``tests/property/test_fields.py`` checks that the fast and general decoders agree on generated
and mutated payloads; the suite runs both on every decode (``_wire.DIFFERENTIAL``).

Stdlib only. Short values already found valid are cached (bounded), so a run of similar events is checked once.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from ._errors import FormatError
from ._unicode import first_unassigned

__all__ = [
    "CBV_BUSINESS_STEPS",
    "MAX_TEXT",
    "MAX_VALUE_TEXT",
    "admin_code",
    "business_step",
    "calendar_date",
    "coordinate",
    "data_key",
    "data_value",
    "event_time",
    "event_time_text",
    "gln",
    "gs1_82",
    "gs1_check_digit",
    "gs1_key_problem",
    "gtin",
    "is_blank",
    "is_gs1_82",
    "media_type",
    "parse_date",
    "parse_event_time",
    "parse_utc_time",
    "quantity",
    "sha256",
    "text",
    "uint",
    "utc_time_text",
]

#: GS1 CBV 2.0 business steps (bizStep), exactly as the standard spells them.
CBV_BUSINESS_STEPS: frozenset[str] = frozenset(
    """accepting arriving assembling collecting commissioning consigning creating_class_instance cycle_counting
    decommissioning departing destroying disassembling dispensing encoding entering_exiting holding inspecting
    installing killing loading other packing picking receiving removing repackaging repairing replacing reserving
    retail_selling shipping staging_outbound stock_taking stocking storing transporting unloading unpacking
    void_shipping sensor_reporting sampling""".split()
)

#: Longest text field, in characters (after NFC).
MAX_TEXT = 256
#: Longest text value of a key data element.
MAX_VALUE_TEXT = 1024

_CUSTOM_STEP = re.compile(r"[a-z][a-z0-9-]{0,31}:[a-z][a-z0-9_]{0,63}")
_DATA_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")
_ADMIN_CODE = re.compile(r"[0-9]{2,10}")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_QUANTITY = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{0,8}[1-9])?")
# What a quantity may be spelled as (docs/format.md §7.6): ASCII digits, at most one point with digits on both sides.
_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_MAX_QUANTITY_TEXT = 64
# GS1 General Specifications, figure 7.11-1: the 82-character set (lot, serial, CPV), 1 to 20 characters.
_GS1_82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
# Exactly the Unicode general category Cc (C0, DEL, C1).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The event time profile of RFC 3339 (docs/format.md §7.4): seconds always, six fraction digits only when the
# fraction is not zero, a numeric offset (never "Z", never "-00:00").
_EVENT_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{6}))?([+-])([0-9]{2}):([0-9]{2})"
)
_UTC_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# White space, as the "blank" rule reads it (docs/format.md §7.3): Unicode's White_Space characters that are not
# controls (controls are refused on their own). Named here so that no language's idea of "space" decides.
_BLANK = frozenset(" \u00a0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}
_MINUTE = timedelta(minutes=1)
_DAY = timedelta(hours=24)
_MAX_U63 = 2**63

# Bounded caches of values already found valid: cleared when full; only short texts are kept, so their size is
# bounded whatever the input. Keyed by the exact str (equal values of type str are the same text).
_CACHE_LIMIT = 4096
_CACHE_MAX_TEXT = 64
_valid_text: dict[str, str] = {}  # input -> its NFC form (non-blank, no control characters)
_valid_data_keys: set[str] = set()


def _err(message: str, field: str, code: str = "E_FIELD") -> FormatError:
    return FormatError(message, code=code, field=field)


def _remember(cache: dict[str, object] | set[str], key: str, value: object = None) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    if isinstance(cache, set):
        cache.add(key)
    else:
        cache[key] = value


def is_blank(value: str) -> bool:
    """Return whether ``value`` is empty or only white space (the set of docs/format.md §7.3, not ``str.isspace``)."""
    return all(c in _BLANK for c in value)


def text(value: object, field: str, *, limit: int = MAX_TEXT, empty: bool = False) -> str:
    """Return ``value`` as NFC text after checking it.

    Text holds only code points Unicode 14.0 assigns (so that its NFC is the same in every Unicode version since,
    docs/format.md §2.1) and is NFC-normalised; it must hold no control character (category Cc), at most ``limit``
    characters after normalisation, and — unless ``empty`` — something other than white space (:func:`is_blank`).

    Raises:
        FormatError: ``E_FIELD`` naming ``field``.
    """
    if type(value) is str:
        known = _valid_text.get(value)
        if known is not None and len(known) <= limit:
            return known
    elif not isinstance(value, str):
        raise _err("expected text", field)
    at = first_unassigned(value)
    if at is not None:
        raise _err(f"holds U+{ord(value[at]):04X}, which Unicode 14.0 does not assign", field)
    nfc = str(unicodedata.normalize("NFC", value))
    blank = is_blank(nfc)
    if blank and not empty:
        raise _err("must not be empty", field)
    if len(nfc) > limit:
        raise _err(f"longer than {limit} characters", field)
    if _CONTROL.search(nfc):
        raise _err("contains control characters", field)
    if not blank and type(value) is str and len(value) <= _CACHE_MAX_TEXT:
        _remember(_valid_text, value, nfc)  # type: ignore[arg-type]
    return nfc


def admin_code(value: object, field: str) -> str:
    """Return a Vietnamese administrative-unit code: 2 to 10 ASCII digits.

    Raises:
        FormatError: ``E_FIELD``.
    """
    if type(value) is not str or not _ADMIN_CODE.fullmatch(value):
        raise _err("administrative-unit code must be 2-10 digits", field)
    return value


def gs1_check_digit(digits: str) -> int:
    """Return the GS1 mod-10 check digit for ``digits`` (weights 3, 1, 3, … from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def gs1_key_problem(value: object, lengths: tuple[int, ...]) -> str | None:
    """Return ``"length"`` or ``"check"`` if ``value`` is not a GS1 key of one of ``lengths`` digits, else None."""
    if type(value) is not str or not value.isascii() or not value.isdigit() or len(value) not in lengths:
        return "length"
    if gs1_check_digit(value[:-1]) != int(value[-1]):
        return "check"
    return None


def _gs1_key(value: object, field: str, lengths: tuple[int, ...], pad_to: int) -> str:
    problem = gs1_key_problem(value, lengths)
    if problem == "length":
        raise _err(f"must be {' or '.join(map(str, lengths))} digits", field)
    if problem == "check":
        raise _err("check digit is wrong", field)
    assert isinstance(value, str)
    return value.rjust(pad_to, "0")


def gtin(value: object, field: str) -> str:
    """Return a GTIN-8/12/13/14 as 14 digits, after checking its check digit.

    Raises:
        FormatError: ``E_FIELD``.
    """
    return _gs1_key(value, field, (8, 12, 13, 14), 14)


def gln(value: object, field: str) -> str:
    """Return a GS1 Global Location Number: 13 digits with a valid check digit.

    Raises:
        FormatError: ``E_FIELD``.
    """
    return _gs1_key(value, field, (13,), 13)


def is_gs1_82(value: str) -> bool:
    """Return True if ``value`` is 1-20 characters of GS1's 82-character set (lot, serial, CPV)."""
    return bool(_GS1_82.fullmatch(value))


def gs1_82(value: object, field: str, message: str = "must be 1-20 characters of GS1's character set") -> str:
    """Return ``value`` if it is 1-20 characters of GS1's 82-character set.

    Raises:
        FormatError: ``E_FIELD``.
    """
    if type(value) is not str or not _GS1_82.fullmatch(value):
        raise _err(message, field)
    return value


def media_type(value: object, field: str) -> str:
    """Return a media type ``type/subtype`` in lowercase (RFC 6838 names).

    Raises:
        FormatError: ``E_FIELD``.
    """
    if type(value) is not str or not _MEDIA_TYPE.fullmatch(value):
        raise _err("not a media type (type/subtype, lowercase)", field)
    return value


def data_key(value: object, field: str) -> str:
    """Return the name of a key data element: an ASCII letter, then up to 63 of ``A-Za-z0-9_.:-``.

    Raises:
        FormatError: ``E_FIELD``.
    """
    if type(value) is str and value in _valid_data_keys:
        return value
    if not isinstance(value, str) or not _DATA_KEY.fullmatch(value):
        raise _err(f"key {value!r} must match {_DATA_KEY.pattern}", field)
    if type(value) is not str:  # a str subclass: checked in full every time, kept as plain text
        return str(value)
    _remember(_valid_data_keys, value)
    return value


def data_value(value: object, field: str) -> str | int | bool:
    """Return the value of a key data element: text, a 64-bit integer or a boolean.

    Text holds up to :data:`MAX_VALUE_TEXT` characters and may be empty; there are no floats (they have no single
    encoding).

    Raises:
        FormatError: ``E_FIELD``.
    """
    if isinstance(value, str):
        return text(value, field, limit=MAX_VALUE_TEXT, empty=True)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise _err("out of the 64-bit range", field)
        return int(value)
    return text(value, field, limit=MAX_VALUE_TEXT, empty=True)


def business_step(value: object, field: str) -> str:
    """Return a GS1 CBV 2.0 business step or a namespaced custom step (``ocop:drying``).

    Raises:
        FormatError: ``E_FIELD``.
    """
    if type(value) is str and (value in CBV_BUSINESS_STEPS or _CUSTOM_STEP.fullmatch(value)):
        return value
    raise _err(f"{value!r} is neither a GS1 CBV 2.0 business step nor a namespaced step like ocop:drying", field)


def quantity(value: object, field: str) -> str:
    """Return ``value`` (int, Decimal or decimal text) as canonical decimal text: no exponent, no trailing zeros.

    Text is spelled as docs/format.md §7.6 says: ASCII digits with at most one point, digits on both sides of it
    (``12``, ``012``, ``12.50``), at most 64 characters; no sign, exponent, space or other digits. The canonical
    text drops leading zeros (keeping one before the point) and trailing fractional zeros (and a point left
    alone); it has at most 18 integer and 9 fractional digits.

    Raises:
        FormatError: ``E_FIELD``: negative, not spelled as above, or more than 18 integer / 9 fractional digits.
    """
    if type(value) is str and _QUANTITY.fullmatch(value):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise _err("expected a decimal number", field)
    if isinstance(value, int):
        if not 0 <= value < 10**18:
            raise _err("must be a non-negative number of at most 18 integer digits", field)
        spelled = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite() or value < 0 or (value and not -30 <= value.adjusted() <= 30):
            raise _err("must be a finite, non-negative number of at most 18 integer digits", field)
        spelled = format(value, "f")  # exponent-free, bounded by the check above
    else:
        spelled = value
    m = _DECIMAL.fullmatch(spelled) if len(spelled) <= _MAX_QUANTITY_TEXT else None
    if m is None:
        raise _err("not a decimal number (digits, optionally a point and more digits)", field)
    whole, fraction = m[1].lstrip("0") or "0", (m[2] or "").rstrip("0")
    out = f"{whole}.{fraction}" if fraction else whole
    if not _QUANTITY.fullmatch(out):
        raise _err("more than 18 integer or 9 fractional digits", field)
    return out


def event_time(value: object, field: str) -> datetime:
    """Return ``value`` if it is a timezone-aware datetime an event can carry.

    Its UTC offset is whole minutes and less than 24 hours; its year is 1970 to 9999.

    Raises:
        FormatError: ``E_FIELD``.
    """
    if not isinstance(value, datetime):
        raise _err("expected a datetime", field)
    offset = value.utcoffset()
    if offset is None:
        raise _err("time must carry its UTC offset", field)
    if offset % _MINUTE or abs(offset) >= _DAY:
        raise _err("UTC offset must be whole minutes", field)
    if not 1970 <= value.year <= 9999:
        raise _err("year out of range", field)
    return value


def event_time_text(t: datetime) -> str:
    """Return the wire text of an event time (docs/format.md §7.4)."""
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds")


def _instant(m: re.Match[str], field: str, offset: timedelta) -> datetime:
    # Every component in its range (docs/format.md §7.4): a valid calendar date, hours 00-23, minutes and seconds
    # 00-59 (no leap second), year 1970-9999.
    year, month, day, hour, minute, second = (int(m[i]) for i in range(1, 7))
    if not 1970 <= year <= 9999:
        raise _err("year out of range (1970-9999)", field)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError as e:
        raise _err("not a valid date and time", field) from e


def parse_event_time(value: object, field: str) -> datetime:
    """Parse the wire text of an event time: exactly the profile :func:`event_time_text` writes.

    ``YYYY-MM-DDTHH:MM:SS[.ffffff]±HH:MM`` with a valid date and time, six fraction digits only when the fraction is
    not zero, an offset of at most 23:59 other than ``-00:00``, and a year from 1970 to 9999 (docs/format.md §7.4).

    Raises:
        FormatError: ``E_SCHEMA`` if not text of at most 40 characters; ``E_FIELD`` if the text is not in the profile.
    """
    if not isinstance(value, str) or len(value) > 40:
        raise _err("expected RFC 3339 text", field, "E_SCHEMA")
    m = _EVENT_TIME.fullmatch(value)
    if m is None or m[7] == "000000" or (m[8] == "-" and m[9] == m[10] == "00"):
        raise _err("not a date-time in the profile YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM", field)
    hours, minutes = int(m[9]), int(m[10])
    if hours > 23 or minutes > 59:
        raise _err("UTC offset out of range", field)
    offset = timedelta(hours=hours, minutes=minutes) * (-1 if m[8] == "-" else 1)
    t = _instant(m, field, offset)
    return t if m[7] is None else t.replace(microsecond=int(m[7]))


def parse_date(value: object, field: str) -> date:
    """Parse a calendar date written ``YYYY-MM-DD`` (the OCOP certificate's date of issue, docs/format.md §7.2).

    Raises:
        FormatError: ``E_SCHEMA`` if not text of exactly 10 characters; ``E_FIELD`` if not a valid date so written.
    """
    if not isinstance(value, str) or len(value) != 10:
        raise _err("expected a YYYY-MM-DD date", field, "E_SCHEMA")
    m = _DATE.fullmatch(value)
    if m is None:
        raise _err("not a date written YYYY-MM-DD", field)
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as e:
        raise _err("not a valid date", field) from e


def utc_time_text(t: datetime, field: str = "time") -> str:
    """Return ``t`` as the canonical UTC text of trust lists, policies and logs (``YYYY-MM-DDTHH:MM:SSZ``).

    Raises:
        FormatError: ``E_FIELD``: ``t`` is naive or has fractions of a second.
    """
    if not isinstance(t, datetime) or t.utcoffset() is None:
        raise _err("expected a timezone-aware datetime", field)
    if t.microsecond:
        raise _err("times are whole seconds", field)
    if not 1970 <= t.astimezone(UTC).year <= 9999:
        raise _err("year out of range", field)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc_time(value: object, field: str) -> datetime:
    """Parse canonical UTC text (see :func:`utc_time_text`).

    Raises:
        FormatError: ``E_SCHEMA`` if not in the form; ``E_FIELD`` if not a valid date-time.
    """
    m = _UTC_TIME.fullmatch(value) if type(value) is str else None
    if m is None:
        raise _err("expected UTC time text YYYY-MM-DDTHH:MM:SSZ", field, "E_SCHEMA")
    return _instant(m, field, timedelta(0))


def sha256(value: object, field: str) -> bytes:
    """Return ``value`` if it is 32 bytes (a SHA-256 digest or an id).

    Raises:
        FormatError: ``E_FIELD``.
    """
    if type(value) is not bytes or len(value) != 32:
        raise _err("expected 32 bytes", field)
    return value


def uint(value: object, field: str, low: int = 0, high: int = _MAX_U63 - 1) -> int:
    """Return ``value`` if it is an integer (not a boolean) from ``low`` to ``high``.

    Raises:
        FormatError: ``E_FIELD``.
    """
    if type(value) is not int or not low <= value <= high:
        raise _err(f"expected an integer from {low} to {high}", field)
    return value


def coordinate(value: object, field: str, bound: int) -> int:
    """Return a latitude or longitude in millionths of a degree, at most ``bound`` in absolute value.

    Raises:
        FormatError: ``E_FIELD``.
    """
    if type(value) is not int or abs(value) > bound:
        raise _err("coordinate out of range", field)
    return value


def calendar_date(value: object, field: str) -> date:
    """Return ``value`` if it is a date (not a datetime).

    Raises:
        FormatError: ``E_FIELD``.
    """
    if not isinstance(value, date) or isinstance(value, datetime):
        raise _err("expected a date", field)
    return value
