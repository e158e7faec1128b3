"""The strict decoder against external CBOR vectors: dCBOR (hildjj) and RFC 8949 Appendix A (cbor/test-vectors)."""

from __future__ import annotations

from typing import Any

import pytest
from ocop_provenance import FormatError, _cbor

from tests.conftest import external_vectors

LIMIT = 1 << 16
ROUND_TRIPS = 36
CODES = {"E_CBOR", "E_TYPE", "E_NONCANONICAL", "E_TRAILING"}


def in_data_model(value: object) -> bool:
    """Our data model: null, bool, ints in [-2**63, 2**64), bytes, text, arrays, maps with int/text keys."""
    if value is None or isinstance(value, (bool, bytes, str)):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**64
    if isinstance(value, list):
        return all(in_data_model(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, (int, str)) and not isinstance(k, bool) for k in value) and all(
            in_data_model(v) for v in value.values()
        )
    return False


def rejected_code(data: bytes) -> str:
    with pytest.raises(FormatError) as info:
        _cbor.decode(data, max_size=LIMIT)
    return info.value.code


def test_dcbor_invalid_all_rejected() -> None:
    vectors = external_vectors("dcbor_invalid.json")
    assert len(vectors) == 37
    for v in vectors:
        assert rejected_code(bytes.fromhex(v["hex"])) in CODES, v["diagnostic"]


def test_dcbor_valid() -> None:
    """Vectors whose value fits our data model decode and re-encode identically; the rest (floats) are refused."""
    vectors = external_vectors("dcbor_valid.json")
    assert len(vectors) == 40
    accepted = refused = 0
    for v in vectors:
        data = bytes.fromhex(v["hex"])
        decoded = v.get("decoded")
        fits = (
            v.get("decoded") is not None
            and not isinstance(decoded, float)
            and in_data_model(decoded)
            and not v.get("notes", "").startswith("Reduced")
        )
        if fits:
            assert _cbor.decode(data, max_size=LIMIT) == decoded
            assert _cbor.encode(decoded) == data
            accepted += 1
        elif v.get("notes", "").startswith("Reduced") and data[0] >> 5 in (0, 1):
            # dCBOR reduces whole floats to integers: the bytes are an integer, which we accept as one.
            value = _cbor.decode(data, max_size=LIMIT)
            assert isinstance(value, int)
            assert value == decoded
            assert _cbor.encode(value) == data
            accepted += 1
        else:
            assert rejected_code(data) == "E_TYPE", v["diagnostic"]
            refused += 1
    assert accepted == 24  # 16 integers and 8 floats that dCBOR reduces to integers
    assert refused == 16  # the floats that stay floats


_NOT_IN_MODEL = object()


def appendix_value(v: dict[str, Any]) -> object:
    """The value a vector stands for, or _NOT_IN_MODEL (the JSON gives some values only in diagnostic notation)."""
    if not v["roundtrip"]:
        return _NOT_IN_MODEL  # indefinite-length encodings
    if "decoded" in v:
        value = v["decoded"]
        return value if in_data_model(value) else _NOT_IN_MODEL
    diagnostic = v["diagnostic"]
    if diagnostic.startswith("h'"):
        return bytes.fromhex(diagnostic[2:-1])
    if diagnostic == "{1: 2, 3: 4}":
        return {1: 2, 3: 4}
    return _NOT_IN_MODEL  # floats, tags, simple values, undefined


def test_appendix_a() -> None:
    """Every item in our data model round-trips byte-exact; floats, tags, simple values, indefinite: FormatError."""
    vectors = external_vectors("cbor_appendix_a.json")
    assert len(vectors) == 82
    round_trips = refused = 0
    for v in vectors:
        data = bytes.fromhex(v["hex"])
        value = appendix_value(v)
        if value is _NOT_IN_MODEL:
            assert rejected_code(data) in ("E_CBOR", "E_TYPE"), v["hex"]
            refused += 1
        else:
            assert _cbor.decode(data, max_size=LIMIT) == value
            assert _cbor.encode(value) == data
            round_trips += 1
    assert (round_trips, refused) == (ROUND_TRIPS, 82 - ROUND_TRIPS)


def test_appendix_a_int_keyed_map() -> None:
    assert _cbor.decode(bytes.fromhex("a201020304"), max_size=LIMIT) == {1: 2, 3: 4}


def test_appendix_a_out_of_range_negative_refused() -> None:
    # -18446744073709551616 is valid RFC 8949 but outside dCBOR's (and our) integer range.
    assert rejected_code(bytes.fromhex("3bffffffffffffffff")) == "E_TYPE"
