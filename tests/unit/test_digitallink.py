from __future__ import annotations

import contextlib

import ocop_provenance as op
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ocop_provenance._digitallink import is_gs1_82
from ocop_provenance.gs1 import DigitalLink, gs1_check_digit, normalise_gtin, parse_digital_link

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
R = "https://id.example.vn"


@pytest.mark.parametrize(
    ("gtin", "padded"),
    [
        ("08931234567897", "08931234567897"),
        ("4006381333931", "04006381333931"),  # EAN-13
        ("96385074", "00000096385074"),  # EAN-8
        ("036000291452", "00036000291452"),  # UPC-A
    ],
)
def test_gtin_check_digits_follow_gs1(gtin: str, padded: str) -> None:
    assert normalise_gtin(gtin) == padded
    assert gs1_check_digit(gtin[:-1]) == int(gtin[-1])


@pytest.mark.parametrize(
    ("gtin", "code"),
    [
        ("08931234567890", "E_GTIN_CHECK"),
        ("0893123456789", "E_GTIN_CHECK"),
        ("123", "E_GTIN"),
        ("0893123456789x", "E_GTIN"),
        ("٠٨٩٣١٢٣٤٥٦٧٨٩٧", "E_GTIN"),
    ],
)
def test_bad_gtins_are_refused(gtin: str, code: str) -> None:
    with pytest.raises(op.FormatError) as info:
        normalise_gtin(gtin)
    assert info.value.code == code


def test_cset82_is_exactly_82_characters() -> None:
    assert len(CSET82) == 82
    assert all(is_gs1_82(c) for c in CSET82)
    assert not any(is_gs1_82(c) for c in " #$@[\\]^`{|}~ôđ")


def test_build_puts_qualifiers_in_gs1_order_and_escapes() -> None:
    link = DigitalLink(resolver=R, gtin="8931234567897", serial="A/1%", lot="L2407-A1", cpv="2A")
    url = link.to_url()
    assert url == f"{R}/01/08931234567897/22/2A/10/L2407-A1/21/A%2F1%25"
    assert parse_digital_link(url) == link


def test_parse_gs1_example_and_path_prefix() -> None:
    link = parse_digital_link("https://example.com/some/prefix/01/09520123456788/10/ABC%2F123/21/12345?x=1")
    assert link.resolver == "https://example.com/some/prefix"
    assert (link.gtin, link.lot, link.serial, link.query) == ("09520123456788", "ABC/123", "12345", (("x", "1"),))


def test_ocop_form_round_trips() -> None:
    link = DigitalLink(resolver=R, batch_ref=bytes(range(8)), lot="L-01", serial="7")
    assert link.to_url() == f"{R}/ocop/0001020304050607/L-01/7"
    assert parse_digital_link(link.to_url()) == link


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://id.example.vn/01/08931234567897/21/S1/10/L1", "E_DL_ORDER"),
        ("https://id.example.vn/01/08931234567897/10/L1/10/L2", "E_DL_ORDER"),
        ("https://id.example.vn/01/08931234567897/17/251231", "E_DL_QUALIFIER"),
        ("https://id.example.vn/01/08931234567890/10/L1", "E_GTIN_CHECK"),
        ("https://id.example.vn/01/089312345678/10/L1", "E_GTIN_CHECK"),
        ("https://id.example.vn/01/08931234567897/10/" + "A" * 21, "E_DL_CHARSET"),
        ("https://id.example.vn/01/08931234567897/10/L%C3%B4", "E_DL_CHARSET"),
        ("https://id.example.vn/01/08931234567897/10/L%7E", "E_DL_CHARSET"),
        ("https://id.example.vn/01/08931234567897/10/L%G1", "E_DL_SYNTAX"),
        ("https://id.example.vn/01/08931234567897/10", "E_DL_SYNTAX"),
        ("https://id.example.vn/01/08931234567897//10/L1", "E_DL_SYNTAX"),
        ("https://good.vn@evil.example/01/08931234567897", "E_DL_SYNTAX"),
        ("https://ID.EXAMPLE.VN/01/08931234567897", "E_DL_SYNTAX"),
        ("ftp://id.example.vn/01/08931234567897", "E_DL_SYNTAX"),
        ("https://id.example.vn/01/08931234567897#frag", "E_DL_SYNTAX"),
        ("https://id.example.vn/01/08931234567897 /10/L1", "E_DL_SYNTAX"),
        ("https://id.example.vn/product/08931234567897", "E_DL_SYNTAX"),
        ("https://id.example.vn/01/08931234567897?a", "E_DL_QUERY"),
        ("https://id.example.vn/ocop/00010203/L1", "E_DL_SYNTAX"),
        ("https://id.example.vn/ocop/0001020304050607", "E_DL_SYNTAX"),
        ("https://id.example.vn/01/" + "1" * 3000, "E_DL_SYNTAX"),
    ],
)
def test_malformed_links_get_their_own_code(url: str, code: str) -> None:
    with pytest.raises(op.FormatError) as info:
        parse_digital_link(url)
    assert info.value.code == code


@pytest.mark.parametrize("resolver", ["id.example.vn", "https://id.example.vn/", "https://x.vn/01", "https://a@b.vn"])
def test_bad_resolvers_are_refused(resolver: str) -> None:
    with pytest.raises(op.FormatError) as info:
        DigitalLink(resolver=resolver, gtin="08931234567897")
    assert info.value.code == "E_DL_SYNTAX"


values = st.text(alphabet=CSET82, min_size=1, max_size=20)


@given(lot=values, serial=st.none() | values, cpv=st.none() | values)
def test_any_gs1_value_round_trips(lot: str, serial: str | None, cpv: str | None) -> None:
    link = DigitalLink(resolver=R, gtin="08931234567897", lot=lot, serial=serial, cpv=cpv)
    url = link.to_url()
    assert url.isascii()
    assert parse_digital_link(url) == link


@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_format_errors(text: str) -> None:
    with contextlib.suppress(op.FormatError):
        parse_digital_link(R + "/01/" + text)
