"""GS1 identifiers in the CBV 2.0 event hash: EPC URNs and Digital Links as constrained canonical Digital Links.

CBV 2.0 §8.9.2 rules 17-18: an EPC URI (``urn:epc:id:…``, ``urn:epc:class:…``, ``urn:epc:idpat:…``) becomes the
canonical GS1 Digital Link URI (``https://id.gs1.org/…``), and a Digital Link on any host becomes that canonical
form: host ``id.gs1.org``, no query string, only the finest level of identification (a CPV dropped; a lot dropped
when a serial is present), GTINs written with 14 digits. A result whose key or qualifier values fall outside GS1's
character set for the form (a percent-encoded lot, for instance) is not rewritten, as GS1's reference
implementation does. Converted here: SGTIN, SSCC, SGLN, PGLN, GRAI, GIAI, GDTI, GSRN, GSRN-P, LGTIN classes and
SGTIN patterns; Digital Links of the keys 00, 01, 253, 255, 401, 402, 414, 417, 8003, 8004, 8006, 8010, 8017, 8018.
Other EPC schemes are left as written (docs/epcis.md §4).
"""

from __future__ import annotations

import re

from ._fields import gs1_check_digit

__all__ = ["canonical_gs1_uri"]

_ID = "https://id.gs1.org"
# TDS 2.0 table 14-1 characters an EPC URI keeps that a Digital Link path percent-encodes (as the reference does).
_DL_ESCAPES = str.maketrans({"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"})
_EPC_CHAR = r"(?:%[0-9A-Fa-f]{2}|[!')(*+,.0-9:;=A-Za-z_-])"
_CSET = r"[\"'\-.0-9;-?A-Z_a-z]"  # the characters a canonical value may hold (GS1's reference, CSET 82 subset)
_SHORT_NAMES = {
    "gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417", "gsrnp": "8017", "gsrn": "8018",
    "gcn": "255", "sscc": "00", "gdti": "253", "ginc": "401", "gsin": "402", "grai": "8003", "giai": "8004",
    "cpv": "22", "lot": "10", "ser": "21",
}  # fmt: skip
_PRIMARY = ("00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017", "8018")
_DL = re.compile(r"https?://[^/?#]+(?P<path>(?:/[^/?#]*)*?)/(?P<key>" + "|".join(_PRIMARY) + r")/(?P<rest>[^?#]+)")
_VALID = [
    re.compile(p)
    for p in (
        r"/00/\d{18}",
        r"/01/\d{14}",
        rf"/01/\d{{14}}/(?:10|21)/{_CSET}{{0,20}}",
        rf"/01/\d{{14}}/235/{_CSET}{{0,28}}",
        rf"/253/\d{{13}}{_CSET}{{0,17}}",
        r"/255/\d{13}\d{0,12}",
        rf"/401/{_CSET}{{0,30}}",
        r"/402/\d{17}",
        r"/414/\d{13}",
        rf"/414/\d{{13}}/254/{_CSET}{{0,20}}",
        r"/417/\d{13}",
        rf"/8003/\d{{14}}{_CSET}{{0,16}}",
        rf"/8004/{_CSET}{{0,30}}",
        r"/8006/\d{18}",
        rf"/8006/\d{{18}}/(?:10|21)/{_CSET}{{0,20}}",
        r"/8010/[#\-/0-9A-Z]{0,30}(?:/8011/\d{0,12})?",
        r"/8017/\d{18}",
        r"/8018/\d{18}",
    )
]


def _with_check(digits: str) -> str:
    return digits + str(gs1_check_digit(digits))


def _split(value: str, total: int) -> tuple[str, str] | None:
    """Company prefix and reference of ``prefix.reference`` when they have ``total`` digits together."""
    prefix, _, ref = value.partition(".")
    if not (prefix.isdigit() and 6 <= len(prefix) <= 12 and len(prefix) + len(ref) == total):
        return None
    return prefix, ref


def _epc(uri: str) -> str | None:
    m = re.fullmatch(r"urn:epc:(id|class|idpat):([a-z]+):(.+)", uri)
    if m is None:
        return None
    kind, scheme, body = m.groups()
    parts = body.split(".")
    if (kind, scheme) in (("id", "sgtin"), ("class", "lgtin"), ("idpat", "sgtin")) and len(parts) == 3:
        cp = _split(f"{parts[0]}.{parts[1]}", 13)
        if cp is None or not cp[1].isdigit():
            return None
        gtin = _with_check(cp[1][:1] + cp[0] + cp[1][1:])
        if kind == "idpat":
            return f"{_ID}/01/{gtin}" if parts[2] == "*" else None
        if not re.fullmatch(f"{_EPC_CHAR}{{1,20}}", parts[2]):
            return None
        return f"{_ID}/01/{gtin}/{'21' if scheme == 'sgtin' else '10'}/{parts[2].translate(_DL_ESCAPES)}"
    if kind != "id":
        return None
    if scheme == "sscc" and len(parts) == 2:
        cp = _split(body, 17)
        return None if cp is None or not cp[1].isdigit() else f"{_ID}/00/{_with_check(cp[1][:1] + cp[0] + cp[1][1:])}"
    if scheme in ("sgln", "grai", "gdti") and len(parts) == 3:
        cp = _split(f"{parts[0]}.{parts[1]}", 12)
        if cp is None or not cp[1].isdigit() or not re.fullmatch(f"{_EPC_CHAR}{{0,20}}", parts[2]):
            return None
        key = _with_check(cp[0] + cp[1])
        extra = parts[2].translate(_DL_ESCAPES)
        if scheme == "sgln":
            return f"{_ID}/414/{key}" if extra == "0" else f"{_ID}/414/{key}/254/{extra}"
        return f"{_ID}/8003/0{key}{extra}" if scheme == "grai" else f"{_ID}/253/{key}{extra}"
    if scheme == "pgln" and len(parts) == 2:
        cp = _split(body, 12)
        return None if cp is None or not cp[1].isdigit() else f"{_ID}/417/{_with_check(cp[0] + cp[1])}"
    if scheme in ("gsrn", "gsrnp") and len(parts) == 2:
        cp = _split(body, 17)
        key = "8018" if scheme == "gsrn" else "8017"
        return None if cp is None or not cp[1].isdigit() else f"{_ID}/{key}/{_with_check(cp[0] + cp[1])}"
    if scheme == "giai" and len(parts) >= 2 and parts[0].isdigit() and 6 <= len(parts[0]) <= 12:
        asset = body[len(parts[0]) + 1 :]
        if re.fullmatch(f"{_EPC_CHAR}{{1,{30 - len(parts[0])}}}", asset):
            return f"{_ID}/8004/{parts[0]}{asset.translate(_DL_ESCAPES)}"
    return None


def _digital_link(uri: str) -> str | None:
    m = _DL.fullmatch(uri.split("#", 1)[0].split("?", 1)[0])
    if m is None:
        for short, ai in _SHORT_NAMES.items():
            uri = uri.replace(f"/{short}/", f"/{ai}/")
        m = _DL.fullmatch(uri.split("#", 1)[0].split("?", 1)[0])
        if m is None:
            return None
    segments = [m.group("key"), *m.group("rest").rstrip("/").split("/")]
    if segments[0] == "01" and len(segments[1]) in (8, 12, 13):
        segments[1] = segments[1].rjust(14, "0")
    pairs = dict(zip(segments[2::2], segments[3::2], strict=False))
    pairs.pop("22", None)  # no CPV
    if "21" in pairs:
        pairs.pop("10", None)  # the finest level only
    path = "/" + "/".join([segments[0], segments[1], *[x for kv in pairs.items() for x in kv]])
    if not any(v.fullmatch(path) for v in _VALID):
        return None
    return _ID + path


def canonical_gs1_uri(text: str) -> str | None:
    """Return the constrained canonical GS1 Digital Link of an EPC URI or Digital Link, or None if not one."""
    if text.startswith("urn:epc:"):
        return _epc(text)
    if text.startswith(("https://", "http://")):
        return _digital_link(text)
    return None
