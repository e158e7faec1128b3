"""Strict deterministic CBOR (RFC 8949 §4.2.1): the only module that calls cbor2.

Encoding sorts every map by the bytes of its encoded keys (not length-first, as cbor2's ``canonical=True``
does) and relies on cbor2 for shortest-form heads and definite lengths.

Decoding accepts only the data model this library signs: null, booleans, integers, byte strings, text strings (of
code points Unicode 14.0 assigns, in NFC), arrays and maps with integer or text keys. It rejects tags (cbor2
otherwise decodes its built-in tags, including the string-reference tags that amplify exponentially), indefinite
lengths, duplicate keys, floats, simple values, trailing bytes and any encoding that is not the deterministic one,
by re-encoding and comparing bytes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

import cbor2

from ._errors import FormatError
from ._unicode import first_unassigned

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "CborValue",
    "count_items",
    "decode",
    "decode_unwalked",
    "encode",
    "encode_bstr_head",
    "encode_presorted",
    "key_order",
]

#: A decoded value: what ``decode`` returns and ``encode`` accepts.
CborValue = Any

DEFAULT_MAX_DEPTH = 8


class _TagRejectedError(Exception):
    """Raised inside cbor2 when it meets any tag (never escapes this module)."""


class _NoSemanticTags(Mapping[int, Any]):
    """A semantic-decoder table that refuses every tag, including cbor2's built-in ones.

    cbor2 consults this mapping before its built-in decoders; raising an exception that is not a
    ``LookupError`` stops it from falling back to them.
    """

    def __getitem__(self, tag: int) -> NoReturn:
        raise _TagRejectedError(tag)

    def __iter__(self) -> Iterator[int]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _reject_tag(_decoder: object, tag: object) -> NoReturn:
    raise _TagRejectedError(getattr(tag, "tag", None))


_NO_TAGS = _NoSemanticTags()


_KEY_ORDER_CACHE: dict[int | str, bytes] = {}
_KEY_ORDER_CACHE_LIMIT = 4096
_KEY_ORDER_CACHE_MAX_KEY = 72


def key_order(key: int | str) -> bytes:
    """Return the sort key of a map key: its deterministic encoding (RFC 8949 §4.2.1)."""
    if type(key) is bool:  # True == 1 as a dict key: never let the cache confuse them
        return cbor2.dumps(key)
    order = _KEY_ORDER_CACHE.get(key)
    if order is None:
        order = cbor2.dumps(key)
        if len(order) <= _KEY_ORDER_CACHE_MAX_KEY:  # bounded memory whatever keys hostile input carries
            if len(_KEY_ORDER_CACHE) >= _KEY_ORDER_CACHE_LIMIT:
                _KEY_ORDER_CACHE.clear()
            _KEY_ORDER_CACHE[key] = order
    return order


def _canonical(value: CborValue, depth: int) -> CborValue:
    if depth > DEFAULT_MAX_DEPTH * 4:
        raise FormatError("value nested too deeply to encode", code="E_DEPTH")
    if isinstance(value, str):
        _check_assigned(value)
        return value
    if value is None or isinstance(value, (bool, bytes)):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**64:
            raise FormatError("integer outside the dCBOR range [-2**63, 2**64)", code="E_TYPE")
        return value
    if isinstance(value, (list, tuple)):
        return [_canonical(v, depth + 1) for v in value]
    if isinstance(value, Mapping):
        for k in value:
            if isinstance(k, bool) or not isinstance(k, (int, str)):
                raise FormatError("map keys must be integers or text", code="E_TYPE")
        return {k: _canonical(value[k], depth + 1) for k in sorted(value, key=key_order)}
    raise FormatError(f"cannot encode a value of type {type(value).__name__}", code="E_TYPE")


def encode(value: CborValue) -> bytes:
    """Encode ``value`` as deterministic CBOR.

    Args:
        value: None, bool, int (64-bit range), bytes, str, list/tuple, or a mapping with int or str keys.

    Returns:
        The one deterministic encoding of ``value``.

    Raises:
        FormatError: ``E_TYPE`` for a value outside the data model, ``E_DEPTH`` if nested too deeply.
    """
    return cbor2.dumps(_canonical(value, 0))


def encode_presorted(value: CborValue) -> bytes:
    """Encode a value that is already in the data model with every map in deterministic key order.

    This is :func:`encode` without its checks and sorting, for callers (the event encoder) whose values come from
    validated model objects and who build each map in key order. It is only correct under that precondition;
    anything else must go through :func:`encode`.
    """
    return cbor2.dumps(value)


def encode_bstr_head(length: int) -> bytes:
    """Return the CBOR head of a byte string of ``length`` bytes (major type 2, shortest form)."""
    if length < 24:
        return bytes((0x40 | length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    if length < 0x100000000:
        return b"\x5a" + length.to_bytes(4, "big")
    return b"\x5b" + length.to_bytes(8, "big")


def _check_assigned(text: str) -> None:
    at = first_unassigned(text)
    if at is not None:
        raise FormatError(
            f"text holds U+{ord(text[at]):04X}, which Unicode 14.0 does not assign (docs/format.md §2.1)",
            code="E_TYPE",
        )


def _check_text(text: str) -> None:
    # Assigned first: NFC of a code point unassigned in 14.0 may differ between Unicode versions (§2.1).
    _check_assigned(text)
    if not unicodedata.is_normalized("NFC", text):
        raise FormatError("text is not NFC-normalised", code="E_NONCANONICAL")


def _check(value: CborValue) -> None:
    # cbor2 already bounds depth (max_depth); this walk whitelists types and map key order.
    if value is None or isinstance(value, (bool, bytes)):
        return
    if isinstance(value, int):
        if value < -(2**63):
            raise FormatError("integer below -2**63 (outside the dCBOR range)", code="E_TYPE")
        return
    if isinstance(value, str):
        _check_text(value)
        return
    if isinstance(value, list):
        for item in value:
            _check(item)
        return
    if isinstance(value, dict):
        previous: bytes | None = None
        for k, v in value.items():
            if isinstance(k, bool) or not isinstance(k, (int, str)):
                raise FormatError("map key is neither an integer nor text", code="E_TYPE")
            _check(k)
            order = key_order(k)
            if previous is not None and order <= previous:
                raise FormatError("map keys are not in deterministic order", code="E_NONCANONICAL")
            previous = order
            _check(v)
        return
    raise FormatError(f"unsupported CBOR item ({type(value).__name__})", code="E_TYPE")


def count_items(data: bytes, *, max_items: int) -> int:
    """Count the data items of one CBOR item without decoding it, refusing more than ``max_items``.

    A walk over the heads only (no objects are built), so a document made of millions of tiny items costs in
    proportion to ``max_items`` before it is refused, never a full decode. Malformed input is left to the decoder
    (the count stops where the bytes run out).

    Raises:
        FormatError: ``E_SIZE`` when the item holds more than ``max_items`` items.
    """
    pos, end, items, pending = 0, len(data), 0, 1
    while pending and pos < end:
        pending -= 1
        items += 1
        if items > max_items:
            raise FormatError(f"more than {max_items} CBOR items", code="E_SIZE")
        head = data[pos]
        major, info = head >> 5, head & 0x1F
        pos += 1
        if info < 24:
            arg = info
        elif info <= 27:
            width = 1 << (info - 24)
            arg = int.from_bytes(data[pos : pos + width], "big")
            pos += width
        else:
            return items  # indefinite or reserved: the decoder names it
        if major in (2, 3):
            pos += arg
        elif major == 4:
            pending += arg
        elif major == 5:
            pending += 2 * arg
        elif major == 6:
            pending += 1
    return items


def decode(
    data: bytes, *, max_size: int, max_depth: int = DEFAULT_MAX_DEPTH, max_items: int | None = None
) -> CborValue:
    """Decode one deterministic CBOR item from untrusted bytes.

    Args:
        data: Exactly one encoded item, nothing before or after it.
        max_size: Largest accepted input, checked before any decoding.
        max_depth: Deepest accepted nesting of arrays and maps.
        max_items: Most data items accepted, counted before decoding (:func:`count_items`); None: no count.

    Returns:
        The decoded value (lists for arrays, dicts for maps).

    Raises:
        FormatError: ``E_SIZE`` if too large; ``E_CBOR`` for malformed CBOR, tags, indefinite lengths, duplicate
            keys, invalid UTF-8 or excessive depth; ``E_TYPE`` for floats, simple values and integers below
            -2**63; ``E_TRAILING`` for bytes after the item; ``E_NONCANONICAL`` for any encoding that is not the
            deterministic one, and for text that is not NFC; ``E_SIZE`` also for more than ``max_items`` items.
    """
    if max_items is not None and isinstance(data, (bytes, bytearray)) and len(data) <= max_size:
        count_items(bytes(data), max_items=max_items)
    value = _loads(data, max_size=max_size, max_depth=max_depth)
    _check(value)
    _compare(value, bytes(data))
    return value


def decode_unwalked(data: bytes, *, max_size: int, max_depth: int = DEFAULT_MAX_DEPTH) -> CborValue:
    """Decode like :func:`decode` but without its walk over the value's types and map key order.

    For a hot path that inspects the exact type of every item and the order of every map it accepts, and that
    falls back to :func:`decode` for anything else, *including any error raised here* (without the walk, a float
    or a misordered map can surface as another code than :func:`decode` gives). Every other check of
    :func:`decode` applies, including the byte-exact re-encoding.

    Raises:
        FormatError: As :func:`decode`, except for the type and key-order checks.
    """
    value = _loads(data, max_size=max_size, max_depth=max_depth)
    _compare(value, bytes(data))
    return value


def _loads(data: bytes, *, max_size: int, max_depth: int) -> CborValue:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FormatError("expected bytes", code="E_TYPE")
    data = bytes(data)
    if len(data) > max_size:
        raise FormatError(f"{len(data)} bytes exceeds the limit of {max_size}", code="E_SIZE")
    if not data:
        raise FormatError("empty input", code="E_CBOR")
    try:
        value = cbor2.loads(
            data,
            semantic_decoders=_NO_TAGS,
            tag_hook=_reject_tag,
            allow_indefinite=False,
            allow_duplicate_keys=False,
            max_depth=max_depth,
            str_errors="strict",
        )
    except _TagRejectedError as e:
        raise FormatError("CBOR tags are not allowed here", code="E_CBOR") from e
    except (
        cbor2.CBORError,
        ValueError,
        TypeError,
        OverflowError,
        RecursionError,
        MemoryError,
        EOFError,
    ) as e:
        cause = e.__cause__ if e.__cause__ is not None else e
        if isinstance(cause, _TagRejectedError):
            raise FormatError("CBOR tags are not allowed here", code="E_CBOR") from e
        raise FormatError(f"malformed CBOR: {e}", code="E_CBOR") from e
    return value


def _compare(value: CborValue, data: bytes) -> None:
    again = cbor2.dumps(value)
    if again != data:
        if data.startswith(again):
            raise FormatError(f"{len(data) - len(again)} bytes after the CBOR item", code="E_TRAILING")
        raise FormatError("not deterministic CBOR (RFC 8949 §4.2.1)", code="E_NONCANONICAL")
