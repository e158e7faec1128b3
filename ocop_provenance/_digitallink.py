"""GS1 Digital Link URIs (uncompressed form) and the non-GS1 OCOP link: parse and build (stdlib only).

The forms this module reads and writes (docs/format.md §Seals and QR payloads):

* GS1: ``https://HOST[/prefix]/01/{GTIN}[/22/{CPV}][/10/{LOT}][/21/{SERIAL}][?query]``, key qualifiers in that
  fixed order, each at most once; the GTIN has a valid mod-10 check digit and is written with 14 digits (GTIN-8,
  -12 and -13 are accepted when parsing and padded); CPV, lot and serial are 1-20 characters of GS1's
  82-character set, percent-encoded where the URI syntax needs it.
* OCOP, for producers without a GTIN: ``https://HOST[/prefix]/ocop/{BATCH}/{LOT}[/{SERIAL}][?query]`` where
  ``BATCH`` is the first 8 bytes of the batch id as 16 lowercase hex digits.

Percent-encoding on output: every character outside ``A-Z a-z 0-9 - . _`` is written ``%XX`` (upper-case hex), so
the output is the same whatever the input's encoding choices. On input any valid ``%XX`` is decoded; an invalid
escape, a user-info part (``https://good.vn@evil.example``), a fragment or a value outside the character set is
refused with a :class:`FormatError` whose code names the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

from ._errors import FormatError
from ._fields import gs1_key_problem, is_gs1_82

__all__ = [
    "BATCH_REF_SIZE",
    "GS1_AI_ORDER",
    "MAX_URL_LENGTH",
    "DigitalLink",
    "gs1_percent_encode",
    "is_gs1_82",
    "normalise_gtin",
    "parse_digital_link",
]

#: Key qualifiers of AI 01 (GTIN) in the order GS1 Digital Link requires.
GS1_AI_ORDER = ("22", "10", "21")
_QUALIFIER_FIELD = {"22": "cpv", "10": "lot", "21": "serial"}
#: Bytes of the batch id carried in the non-GS1 form.
BATCH_REF_SIZE = 8
#: Longest URL accepted (checked before parsing).
MAX_URL_LENGTH = 2048
_OCOP_SEGMENT = "ocop"
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::[0-9]{1,5})?")
_PREFIX_SEGMENT = re.compile(r"[A-Za-z0-9._~-]{1,64}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
_QUERY_ITEM = re.compile(r"[A-Za-z0-9._~-]+=[A-Za-z0-9._~%-]*")


def _err(message: str, code: str, field: str | None = None) -> FormatError:
    return FormatError(message, code=code, field=field)


def gs1_percent_encode(value: str) -> str:
    """Percent-encode a GS1 AI value for a Digital Link path (everything but ``A-Z a-z 0-9 - . _``)."""
    return quote(value, safe="")  # quote never escapes A-Za-z0-9 and "_.-~"; "~" is not in CSET 82


def normalise_gtin(value: str, field: str = "gtin") -> str:
    """Return a GTIN-8/12/13/14 as 14 digits after checking its GS1 check digit.

    Raises:
        FormatError: ``E_GTIN`` (not 8, 12, 13 or 14 digits) or ``E_GTIN_CHECK`` (wrong check digit).
    """
    problem = gs1_key_problem(value, (8, 12, 13, 14))
    if problem == "length":
        raise _err("a GTIN is 8, 12, 13 or 14 digits", "E_GTIN", field)
    if problem == "check":
        raise _err("the GTIN check digit is wrong", "E_GTIN_CHECK", field)
    return value.rjust(14, "0")


def _check_value(value: str, field: str) -> str:
    if not is_gs1_82(value):
        raise _err(f"{field} must be 1-20 characters of GS1's 82-character set", "E_DL_CHARSET", field)
    return value


def _check_resolver(resolver: str) -> str:
    m = re.fullmatch(r"(https?)://([^/?#]+)((?:/[^/?#]+)*)", resolver)
    if m is None:
        raise _err("the resolver must look like https://host[/prefix]", "E_DL_SYNTAX", "resolver")
    host, prefix = m.group(2), m.group(3)
    if not _HOST.fullmatch(host):
        raise _err("the resolver host must be a lower-case DNS name (no user-info)", "E_DL_SYNTAX", "resolver")
    for seg in prefix.split("/")[1:]:
        if not _PREFIX_SEGMENT.fullmatch(seg) or seg in ("01", _OCOP_SEGMENT):
            raise _err(f"resolver path segment {seg!r} is not allowed", "E_DL_SYNTAX", "resolver")
    return resolver


@dataclass(frozen=True, slots=True, kw_only=True)
class DigitalLink:
    """A GS1 Digital Link URI, or the OCOP link of a producer without a GTIN.

    Exactly one of ``gtin`` and ``batch_ref`` is set. Values are held decoded (no percent-escapes).

    Attributes:
        resolver: Scheme, host and optional path prefix, e.g. ``https://id.example.vn``.
        gtin: 14 digits with a valid check digit (GS1 form).
        batch_ref: The first 8 bytes of the batch id (OCOP form).
        cpv: Consumer product variant (AI 22), GS1 form only.
        lot: Batch or lot (AI 10).
        serial: Serial number (AI 21).
        query: Query parameters in their order, values still percent-encoded.
    """

    resolver: str
    gtin: str | None = None
    batch_ref: bytes | None = None
    cpv: str | None = None
    lot: str | None = None
    serial: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _check_resolver(self.resolver)
        if (self.gtin is None) == (self.batch_ref is None):
            raise _err("a link has either a GTIN or a batch reference", "E_DL_SYNTAX", "gtin")
        if self.gtin is not None:
            object.__setattr__(self, "gtin", normalise_gtin(self.gtin))
        else:
            if not isinstance(self.batch_ref, bytes) or len(self.batch_ref) != BATCH_REF_SIZE:
                raise _err(f"batch_ref must be {BATCH_REF_SIZE} bytes", "E_DL_SYNTAX", "batch_ref")
            if self.cpv is not None:
                raise _err("the OCOP form has no variant (AI 22)", "E_DL_SYNTAX", "cpv")
            if self.lot is None:
                raise _err("the OCOP form needs a lot", "E_DL_SYNTAX", "lot")
        for name in ("cpv", "lot", "serial"):
            value = getattr(self, name)
            if value is not None:
                _check_value(value, name)
        for k, v in self.query:
            if not _QUERY_ITEM.fullmatch(f"{k}={v}"):
                raise _err(f"query parameter {k!r} is not allowed", "E_DL_QUERY", "query")

    @property
    def is_gs1(self) -> bool:
        """True for the GS1 form (with a GTIN)."""
        return self.gtin is not None

    @property
    def path(self) -> str:
        """The part after the resolver, without the query."""
        if self.gtin is not None:
            parts = ["01", self.gtin]
            for ai in GS1_AI_ORDER:
                value = getattr(self, _QUALIFIER_FIELD[ai])
                if value is not None:
                    parts += [ai, gs1_percent_encode(value)]
        else:
            assert self.batch_ref is not None
            assert self.lot is not None
            parts = [_OCOP_SEGMENT, self.batch_ref.hex(), gs1_percent_encode(self.lot)]
            if self.serial is not None:
                parts.append(gs1_percent_encode(self.serial))
        return "/" + "/".join(parts)

    def to_url(self) -> str:
        """Return the URI text (the same bytes for equal links)."""
        q = "&".join(f"{k}={v}" for k, v in self.query)
        return f"{self.resolver}{self.path}" + (f"?{q}" if q else "")


def _decode_value(raw: str, field: str) -> str:
    if re.search(r"%(?![0-9A-Fa-f]{2})", raw):
        raise _err(f"invalid percent-escape in {field}", "E_DL_SYNTAX", field)
    try:
        value = unquote_to_bytes(raw).decode("ascii")
    except UnicodeDecodeError as e:
        raise _err(f"{field} must be 1-20 characters of GS1's 82-character set", "E_DL_CHARSET", field) from e
    return _check_value(value, field)


def parse_digital_link(url: str) -> DigitalLink:
    """Parse a GS1 Digital Link URI (uncompressed) or an OCOP link.

    Args:
        url: The text read from a code.

    Returns:
        The link, values decoded and the GTIN padded to 14 digits.

    Raises:
        FormatError: ``E_DL_SYNTAX`` (not such a URI: scheme, host, user-info, fragment, escapes, missing
            values), ``E_DL_ORDER`` (key qualifiers out of GS1 order or repeated), ``E_DL_QUALIFIER`` (an AI that
            is not a key qualifier of GTIN), ``E_DL_CHARSET`` (lot/serial/CPV outside the 82-character set or
            longer than 20), ``E_DL_QUERY`` (a malformed query), ``E_GTIN`` / ``E_GTIN_CHECK``.
    """
    if not isinstance(url, str):
        raise _err("expected text", "E_DL_SYNTAX")
    if len(url) > MAX_URL_LENGTH:
        raise _err(f"longer than {MAX_URL_LENGTH} characters", "E_DL_SYNTAX")
    if not url.isascii() or any(c.isspace() or ord(c) < 0x20 for c in url):
        raise _err("a URI is printable ASCII without spaces", "E_DL_SYNTAX")
    if "#" in url:
        raise _err("fragments are not part of a Digital Link here", "E_DL_SYNTAX")
    m = re.fullmatch(r"(https?)://([^/?]+)(/[^?]*)(?:\?(.*))?", url)
    if m is None:
        raise _err("not an http(s) URI with a path", "E_DL_SYNTAX")
    scheme, host, path, query_text = m.groups()
    if "@" in host or not _HOST.fullmatch(host):
        raise _err("the host must be a lower-case DNS name without user-info", "E_DL_SYNTAX", "resolver")
    segments = path.split("/")[1:]
    if any(s == "" for s in segments):
        raise _err("empty path segment", "E_DL_SYNTAX")
    query: tuple[tuple[str, str], ...] = ()
    if query_text is not None:
        items = query_text.split("&")
        if not all(_QUERY_ITEM.fullmatch(i) for i in items):
            raise _err("malformed query", "E_DL_QUERY", "query")
        query = tuple((i.split("=", 1)[0], i.split("=", 1)[1]) for i in items)
    for i, seg in enumerate(segments):
        if seg in ("01", _OCOP_SEGMENT):
            prefix = segments[:i]
            rest = segments[i:]
            break
    else:
        raise _err("no /01/ (GTIN) or /ocop/ segment", "E_DL_SYNTAX")
    resolver = f"{scheme}://{host}" + "".join(f"/{s}" for s in prefix)
    if rest[0] == _OCOP_SEGMENT:
        return _parse_ocop(resolver, rest[1:], query)
    if len(rest) % 2:
        raise _err("every AI in the path needs a value", "E_DL_SYNTAX")
    gtin = normalise_gtin(rest[1])
    values: dict[str, str] = {}
    last = -1
    for j in range(2, len(rest), 2):
        ai, raw = rest[j], rest[j + 1]
        if ai not in GS1_AI_ORDER:
            raise _err(f"AI {ai!r} is not a key qualifier of GTIN (22, 10, 21)", "E_DL_QUALIFIER")
        position = GS1_AI_ORDER.index(ai)
        if position <= last:
            raise _err("key qualifiers must appear once each, in the order 22, 10, 21", "E_DL_ORDER")
        last = position
        values[_QUALIFIER_FIELD[ai]] = _decode_value(raw, _QUALIFIER_FIELD[ai])
    return DigitalLink(
        resolver=resolver,
        gtin=gtin,
        cpv=values.get("cpv"),
        lot=values.get("lot"),
        serial=values.get("serial"),
        query=query,
    )


def _parse_ocop(resolver: str, rest: list[str], query: tuple[tuple[str, str], ...]) -> DigitalLink:
    if len(rest) not in (2, 3):
        raise _err("the OCOP form is /ocop/BATCH/LOT[/SERIAL]", "E_DL_SYNTAX")
    if not _HEX16.fullmatch(rest[0]):
        raise _err("the batch reference is 16 lower-case hex digits", "E_DL_SYNTAX", "batch_ref")
    lot = _decode_value(rest[1], "lot")
    serial = _decode_value(rest[2], "serial") if len(rest) == 3 else None
    return DigitalLink(resolver=resolver, batch_ref=bytes.fromhex(rest[0]), lot=lot, serial=serial, query=query)
