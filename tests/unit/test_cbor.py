"""Strict deterministic CBOR: what `_cbor.decode` accepts and the typed error for everything else."""

from __future__ import annotations

import unicodedata

import pytest
from ocop_provenance import FormatError, _cbor

BIG = 1 << 20


def code_of(data: bytes, *, max_size: int = BIG, max_depth: int = _cbor.DEFAULT_MAX_DEPTH) -> str:
    with pytest.raises(FormatError) as info:
        _cbor.decode(data, max_size=max_size, max_depth=max_depth)
    return info.value.code


@pytest.mark.parametrize(
    "value",
    [
        0,
        23,
        24,
        2**64 - 1,
        -(2**63),
        -1,
        b"",
        b"\x00" * 300,
        "",
        "Đông trùng hạ thảo",
        None,
        True,
        False,
        [],
        [1, [2, [3]]],
        {},
        {1: "a", -1: b"b", "k": [None]},
    ],
)
def test_round_trip(value: object) -> None:
    data = _cbor.encode(value)
    assert _cbor.decode(data, max_size=BIG) == value
    assert _cbor.encode(_cbor.decode(data, max_size=BIG)) == data


def test_tuple_encodes_as_array() -> None:
    assert _cbor.encode((1, 2)) == _cbor.encode([1, 2])


def test_keys_sorted_bytewise_not_length_first() -> None:
    # RFC 8949 §4.2.1: 24 encodes as 18 18, -1 as 20, so 24 sorts first; cbor2's canonical=True does the opposite.
    assert _cbor.encode({-1: 2, 24: 1}).hex() == "a21818012002"
    assert _cbor.decode(bytes.fromhex("a21818012002"), max_size=BIG) == {24: 1, -1: 2}
    assert code_of(bytes.fromhex("a22002181801")) == "E_NONCANONICAL"


def test_text_keys_sorted_bytewise() -> None:
    # "b" (61 62) sorts before "aa" (62 61 61): shorter encodings first because the head byte carries the length.
    assert _cbor.encode({"aa": 1, "b": 2}).hex() == "a261620262616101"
    assert code_of(bytes.fromhex("a262616101616202")) == "E_NONCANONICAL"


def test_int_keys_before_text_keys() -> None:
    assert list(_cbor.decode(_cbor.encode({"a": 1, 1: 2, -1: 3}), max_size=BIG)) == [1, -1, "a"]


@pytest.mark.parametrize(
    ("hexdata", "code"),
    [
        ("180c", "E_NONCANONICAL"),  # 12 in two bytes
        ("19000c", "E_NONCANONICAL"),
        ("1a0000000c", "E_NONCANONICAL"),
        ("1b000000000000000c", "E_NONCANONICAL"),
        ("5801ff", "E_NONCANONICAL"),  # a 1-byte bstr with a 1-byte length
        ("780161", "E_NONCANONICAL"),  # "a" with a 1-byte length
        ("980100", "E_NONCANONICAL"),  # [0] with a 1-byte length
        ("b8010000", "E_NONCANONICAL"),  # {0: 0} with a 1-byte length
    ],
)
def test_non_shortest_heads_rejected(hexdata: str, code: str) -> None:
    assert code_of(bytes.fromhex(hexdata)) == code


@pytest.mark.parametrize(
    "hexdata",
    [
        "a200010002",  # {0: 1, 0: 2}
        "a2616101616102",  # {"a": 1, "a": 2}
        "a229002901",  # {-10: 0, -10: 1}
    ],
)
def test_duplicate_keys_rejected(hexdata: str) -> None:
    assert code_of(bytes.fromhex(hexdata)) == "E_CBOR"


@pytest.mark.parametrize("hexdata", ["5f4101ff", "7f6161ff", "9f00ff", "bf0000ff", "5fff", "9fff"])
def test_indefinite_lengths_rejected(hexdata: str) -> None:
    assert code_of(bytes.fromhex(hexdata)) == "E_CBOR"


@pytest.mark.parametrize(
    "hexdata",
    [
        "c074323031332d30332d32315432303a30343a30305a",  # tag 0 (cbor2 built-in)
        "c11a514b67b0",  # tag 1
        "c249010000000000000000",  # bignum
        "d81c81d81d00",  # string-reference bomb
        "d81c80",  # shareable
        "d9010080",  # tag 256 stringref namespace
        "d9d9f700",  # self-described CBOR 55799
        "d25840" + "00" * 64,  # tag 18 around a bstr
        "d86400",  # unknown tag 100
    ],
)
def test_tags_rejected(hexdata: str) -> None:
    assert code_of(bytes.fromhex(hexdata)) == "E_CBOR"


def test_tags_rejected_nested_inside_a_map() -> None:
    assert code_of(bytes.fromhex("a101c11a514b67b0")) == "E_CBOR"


@pytest.mark.parametrize("hexdata", ["f90000", "fa3fc00000", "fb3ff8000000000000", "f97e00", "f7", "e0", "f0", "f8ff"])
def test_floats_and_simple_values_rejected(hexdata: str) -> None:
    assert code_of(bytes.fromhex(hexdata)) in ("E_TYPE", "E_CBOR")


@pytest.mark.parametrize(
    "hexdata",
    [
        "62c328",  # bad continuation byte
        "61ff",  # 0xff never appears in UTF-8
        "63eda080",  # an encoded surrogate
        "62c0af",  # overlong "/"
        "a162c32800",  # invalid UTF-8 as a map key
    ],
)
def test_invalid_utf8_rejected(hexdata: str) -> None:
    assert code_of(bytes.fromhex(hexdata)) == "E_CBOR"


def test_non_nfc_text_rejected() -> None:
    nfd = unicodedata.normalize("NFD", "Thanh Hóa").encode()
    nfc = unicodedata.normalize("NFC", "Thanh Hóa").encode()
    assert nfd != nfc
    assert _cbor.decode(bytes((0x60 + len(nfc),)) + nfc, max_size=BIG) == "Thanh Hóa"
    assert code_of(bytes((0x60 + len(nfd),)) + nfd) == "E_NONCANONICAL"
    assert code_of(b"\xa1" + bytes((0x60 + len(nfd),)) + nfd + b"\x00") == "E_NONCANONICAL"  # as a map key
    assert code_of(b"\x81" + bytes((0x60 + len(nfd),)) + nfd) == "E_NONCANONICAL"  # nested


def test_65_bit_negative_integers_rejected() -> None:
    assert code_of(bytes.fromhex("3b8000000000000000")) == "E_TYPE"  # -2**63 - 1
    assert code_of(bytes.fromhex("3bffffffffffffffff")) == "E_TYPE"  # -2**64
    assert _cbor.decode(bytes.fromhex("3b7fffffffffffffff"), max_size=BIG) == -(2**63)
    with pytest.raises(FormatError) as info:
        _cbor.encode(-(2**63) - 1)
    assert info.value.code == "E_TYPE"


@pytest.mark.parametrize("value", [2**64, 1.5, {1, 2}, object(), {1.5: 1}, {True: 1}, {(1,): 1}])
def test_encode_outside_the_data_model(value: object) -> None:
    with pytest.raises(FormatError) as info:
        _cbor.encode(value)
    assert info.value.code == "E_TYPE"


def test_encode_depth_bounded() -> None:
    value: list[object] = []
    for _ in range(200):
        value = [value]
    with pytest.raises(FormatError) as info:
        _cbor.encode(value)
    assert info.value.code == "E_DEPTH"


@pytest.mark.parametrize("hexdata", ["0000", "a0a0", "4100ff", "8000"])
def test_trailing_bytes(hexdata: str) -> None:
    assert code_of(bytes.fromhex(hexdata)) == "E_TRAILING"


def test_size_cap_before_decoding() -> None:
    # Even garbage is refused for its size alone, before any parse.
    assert code_of(b"\xff" * 101, max_size=100) == "E_SIZE"
    assert code_of(_cbor.encode(b"x" * 100), max_size=100) == "E_SIZE"
    assert _cbor.decode(_cbor.encode(b"x" * 98), max_size=100) == b"x" * 98


@pytest.mark.parametrize("hexdata", ["", "18", "19ff", "5a000fffff", "5bffffffffffffffff", "62c3", "8201", "a101"])
def test_truncated_input(hexdata: str) -> None:
    assert code_of(bytes.fromhex(hexdata)) == "E_CBOR"


def test_huge_declared_length_is_bounded() -> None:
    # A 9-byte input declaring a 2**63-byte string must fail, not allocate.
    assert code_of(bytes.fromhex("5b7fffffffffffffff")) == "E_CBOR"
    assert code_of(bytes.fromhex("9b7fffffffffffffff")) == "E_CBOR"
    assert code_of(bytes.fromhex("bb7fffffffffffffff")) == "E_CBOR"


@pytest.mark.parametrize("opener", [b"\x81", b"\xa1\x00"])
def test_depth_bomb(opener: bytes) -> None:
    assert code_of(opener * 10_000 + b"\x00") == "E_CBOR"


def test_depth_limit_is_exact() -> None:
    assert _cbor.decode(b"\x81" * 3 + b"\x00", max_size=BIG, max_depth=3) == [[[0]]]
    assert code_of(b"\x81" * 4 + b"\x00", max_depth=3) == "E_CBOR"


@pytest.mark.parametrize("data", ["text", 5, None, [0]])
def test_non_bytes_input(data: object) -> None:
    with pytest.raises(FormatError) as info:
        _cbor.decode(data, max_size=BIG)  # type: ignore[arg-type]
    assert info.value.code == "E_TYPE"


def test_bytearray_and_memoryview_accepted() -> None:
    data = _cbor.encode([1, "a"])
    assert _cbor.decode(bytearray(data), max_size=BIG) == [1, "a"]
    assert _cbor.decode(memoryview(data), max_size=BIG) == [1, "a"]


def test_empty_input() -> None:
    assert code_of(b"") == "E_CBOR"


@pytest.mark.parametrize("n", [0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32])
def test_encode_bstr_head_matches_encoder(n: int) -> None:
    head = _cbor.encode_bstr_head(n)
    if n <= 65536:
        assert _cbor.encode(b"\x00" * n).startswith(head)
        assert len(_cbor.encode(b"\x00" * n)) == len(head) + n
    assert head[0] >> 5 == 2


def test_key_order_is_encoding() -> None:
    assert _cbor.key_order(24) == b"\x18\x18"
    assert _cbor.key_order(-1) == b"\x20"
    assert _cbor.key_order("a") == b"\x61a"
