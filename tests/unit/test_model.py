"""The event model: validation on construction, canonical forms, NFC, bounds."""

from __future__ import annotations

import unicodedata
from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import ocop_provenance as op
import pytest
from ocop_provenance import _model
from ocop_provenance.events import CBV_BUSINESS_STEPS, canonical_quantity
from ocop_provenance.gs1 import gs1_check_digit

from tests.conftest import ICT, sample_genesis

T = datetime(2024, 11, 1, 8, 0, tzinfo=ICT)
ID = b"\x11" * 32
ID2 = b"\x22" * 32
WHERE = op.Location(name="Nghi Sơn")


def field_error(fn: object, *args: object, **kwargs: object) -> op.FormatError:
    with pytest.raises(op.FormatError) as info:
        fn(*args, **kwargs)  # type: ignore[operator]
    assert info.value.code == "E_FIELD"
    return info.value


def product(**kw: object) -> op.Product:
    fields: dict[str, object] = {"name": "Mật ong", "lot": "L1", "quantity": "1", "unit": "kg"}
    fields.update(kw)
    return op.Product(**fields)  # type: ignore[arg-type]


def step(**kw: object) -> op.Step:
    fields: dict[str, object] = {
        "batch_id": ID,
        "seq": 1,
        "prev": ID,
        "time": T,
        "step": "commissioning",
        "location": WHERE,
    }
    fields.update(kw)
    return op.Step(**fields)  # type: ignore[arg-type]


# ---- GS1 keys ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gtin", "stored"),
    [
        ("96385074", "00000096385074"),  # GTIN-8
        ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
        ("8931234567897", "08931234567897"),  # GTIN-13, Vietnam prefix 893
        ("08931234567897", "08931234567897"),
        ("10614141000415", "10614141000415"),  # GTIN-14
    ],
)
def test_gtin_valid_and_padded(gtin: str, stored: str) -> None:
    assert product(gtin=gtin).gtin == stored


@pytest.mark.parametrize(
    "gtin",
    [
        "8931234567890",  # wrong check digit
        "96385075",
        "036000291453",
        "10614141000416",
        "893123456789",  # 12 digits, wrong check digit
        "893123456",  # 9 digits
        "089312345678970",  # 15 digits
        "",
        "893123456789a",
        "８９３１２３４５６７８９７",  # fullwidth digits are digits to str.isdigit
        "٨٩٣١٢٣٤٥٦٧٨٩٧",  # Arabic-Indic digits
        " 8931234567897",
        8931234567897,
    ],
)
def test_gtin_invalid(gtin: object) -> None:
    err = field_error(product, gtin=gtin)
    assert err.field == "product.gtin"


def test_check_digit() -> None:
    assert gs1_check_digit("893123456789") == 7
    assert gs1_check_digit("9638507") == 4
    assert gs1_check_digit("629104150021") == 3  # GS1 GLN example 6291041500213


@pytest.mark.parametrize("gln", ["6291041500213", "8930000000002"])
def test_gln_valid(gln: str) -> None:
    assert op.Producer(name="HTX", gln=gln).gln == gln
    assert op.Location(name="Kho", gln=gln).gln == gln


@pytest.mark.parametrize("gln", ["6291041500214", "629104150021", "06291041500213", "629104150021x"])
def test_gln_invalid(gln: str) -> None:
    assert field_error(op.Producer, name="HTX", gln=gln).field == "producer.gln"
    assert field_error(op.Location, name="Kho", gln=gln).field == "location.gln"


@pytest.mark.parametrize("lot", ["L2411-01", "A", "ABC/123", "x" * 20, "a_b.c:d?e"])
def test_lot_with_gtin_in_gs1_charset(lot: str) -> None:
    assert product(gtin="8931234567897", lot=lot).lot == lot


@pytest.mark.parametrize("lot", ["lô 1", "L 1", "x" * 21, "L#1", "L$1", "L@1", "L~1", "Lô"])
def test_lot_with_gtin_outside_gs1_charset(lot: str) -> None:
    assert field_error(product, gtin="8931234567897", lot=lot).field == "product.lot"


def test_lot_without_gtin_may_be_vietnamese() -> None:
    assert product(lot="Lô số 7").lot == "Lô số 7"


# ---- quantity ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("120", "120"),
        ("120.50", "120.5"),
        ("0120", "120"),
        ("1.000", "1"),
        ("0.0", "0"),
        ("000.5", "0.5"),
        (Decimal("12.500"), "12.5"),
        (Decimal("1E+3"), "1000"),
        (5, "5"),
        ("0.000000001", "0.000000001"),
        ("999999999999999999", "999999999999999999"),
    ],
)
def test_quantity_canonical(given: object, canonical: str) -> None:
    assert canonical_quantity(given) == canonical
    assert product(quantity=given).quantity == canonical


@pytest.mark.parametrize(
    "given",
    # docs/format.md §7.6: digits, at most one point with digits on both sides; nothing else is a spelling of a number.
    [
        "-1",
        "-0",
        "+1",
        " 7 ",
        "1e2",
        ".5",
        "5.",
        "1_0",
        "١٢",
        "abc",
        "",
        "NaN",
        "Infinity",
        "1e30",
        "0.0000000001",
        "1,5",
        1.5,
        True,
        None,
        -1,
        10**18,
        "1" * 19,
        "0" * 65,
    ],
)
def test_quantity_invalid(given: object) -> None:
    assert field_error(canonical_quantity, given).code == "E_FIELD"


# ---- text ----------------------------------------------------------------------------------------------------------


def test_nfc_on_construction() -> None:
    nfd = unicodedata.normalize("NFD", "Đông trùng hạ thảo")
    p = product(name=nfd, unit=unicodedata.normalize("NFD", "hộp"))
    assert p.name == unicodedata.normalize("NFC", nfd)
    assert unicodedata.is_normalized("NFC", p.unit)
    loc = op.Location(name=unicodedata.normalize("NFD", "Thanh Hóa"))
    assert loc.name == "Thanh Hóa"


def test_nfc_does_not_fold_compatibility_forms() -> None:
    # NFC, never NFKC: a fullwidth letter stays as given.
    assert product(name="ＯＣＯＰ").name == "ＯＣＯＰ"


@pytest.mark.parametrize("bad", ["a\x00b", "a\nb", "\x1b[31mred", "a\x7fb", "tab\there", "\x85"])
def test_control_characters_refused(bad: str) -> None:
    assert field_error(product, name=bad).field == "product.name"
    assert field_error(op.Location, name=bad).field == "location.name"
    assert field_error(step, data={"note": bad}).field == "data.note"


@pytest.mark.parametrize("blank", ["", "   "])
def test_empty_names_refused(blank: str) -> None:
    assert field_error(product, name=blank).field == "product.name"
    assert field_error(op.Producer, name=blank).field == "producer.name"


def test_text_length_bounds() -> None:
    assert product(name="ầ" * 256).name == "ầ" * 256
    field_error(product, name="ầ" * 257)
    field_error(step, data={"note": "x" * 1025})


@pytest.mark.parametrize("value", [None, 1, b"bytes"])
def test_text_type_refused(value: object) -> None:
    assert field_error(product, name=value).field == "product.name"


# ---- admin codes, coordinates, certificate ----------------------------------------------------------------------


@pytest.mark.parametrize("code", ["1", "12345678901", "3a", "٣٨", " 38"])
def test_admin_code_invalid(code: str) -> None:
    assert field_error(op.Producer, name="HTX", admin_code=code).field == "producer.admin_code"


def test_coordinates() -> None:
    loc = op.Location(name="Sa Pa", lat_e6=22_336_400, lon_e6=103_843_800)
    assert (loc.lat_e6, loc.lon_e6) == (22_336_400, 103_843_800)
    field_error(op.Location, name="x", lat_e6=1)
    field_error(op.Location, name="x", lat_e6=90_000_001, lon_e6=0)
    field_error(op.Location, name="x", lat_e6=0, lon_e6=-180_000_001)
    field_error(op.Location, name="x", lat_e6=1.5, lon_e6=0)
    field_error(op.Location, name="x", lat_e6=True, lon_e6=0)


@pytest.mark.parametrize("stars", [3, 4, 5])
def test_certificate_stars(stars: int) -> None:
    assert op.Certificate(stars=stars, number="123/QĐ-UBND", issued=date(2024, 5, 1)).stars == stars


@pytest.mark.parametrize("stars", [0, 2, 6, True, "4", 4.0, 3.5])
def test_certificate_stars_invalid(stars: object) -> None:
    assert field_error(op.Certificate, stars=stars, number="1", issued=date(2024, 5, 1)).field == "certificate.stars"


def test_certificate_issued_is_a_date() -> None:
    assert (
        field_error(op.Certificate, stars=4, number="1", issued=datetime(2024, 5, 1, tzinfo=ICT)).field
        == "certificate.issued"
    )
    assert field_error(op.Certificate, stars=4, number="1", issued="2024-05-01").field == "certificate.issued"


# ---- time ----------------------------------------------------------------------------------------------------------


def test_naive_time_refused() -> None:
    assert field_error(step, time=datetime(2024, 11, 1, 8, 0)).field == "time"
    field_error(sample_genesis, time=datetime(2024, 11, 1, 8, 0))


def test_offset_kept() -> None:
    s = step(time=T)
    assert s.time.utcoffset() == timedelta(hours=7)
    assert s.time.isoformat() == "2024-11-01T08:00:00+07:00"


@pytest.mark.parametrize(
    "tz",
    [timezone(timedelta(seconds=30)), timezone(timedelta(hours=7, seconds=1))],
)
def test_sub_minute_offsets_refused(tz: timezone) -> None:
    assert field_error(step, time=datetime(2024, 11, 1, tzinfo=tz)).field == "time"


def test_time_type_and_range() -> None:
    assert field_error(step, time="2024-11-01T08:00:00+07:00").field == "time"
    assert field_error(step, time=date(2024, 11, 1)).field == "time"
    assert field_error(step, time=datetime(1969, 12, 31, tzinfo=UTC)).field == "time"


# ---- steps, inputs, attachments, data -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CBV_BUSINESS_STEPS))
def test_cbv_steps_accepted(name: str) -> None:
    assert step(step=name).step == name


def test_cbv_vocabulary() -> None:
    for name in ("commissioning", "inspecting", "sampling", "packing", "shipping", "receiving", "retail_selling"):
        assert name in CBV_BUSINESS_STEPS


@pytest.mark.parametrize("name", ["ocop:drying", "htx-nghi-son:say_kho", "a:b"])
def test_custom_steps_accepted(name: str) -> None:
    assert step(step=name).step == name


@pytest.mark.parametrize(
    "name", ["drying", "Ocop:drying", "ocop:Drying", "ocop:", ":drying", "ocop:drying:x", "genesis", "", 1]
)
def test_invalid_steps(name: object) -> None:
    assert field_error(step, step=name).field == "step"


def test_step_seq_and_ids() -> None:
    assert field_error(step, seq=0).field == "seq"
    assert field_error(step, seq=-1).field == "seq"
    assert field_error(step, seq=True).field == "seq"
    assert field_error(step, seq=2**63).field == "seq"
    assert field_error(step, batch_id=b"\x00" * 31).field == "batch"
    assert field_error(step, prev="00" * 32).field == "prev"


def test_input_refs() -> None:
    ref = op.InputRef(batch_id=ID2, seq=3, head=b"\x33" * 32)
    assert step(inputs=[ref]).inputs == (ref,)
    assert op.InputRef(batch_id=ID2, seq=0, head=ID2).head == ID2
    field_error(op.InputRef, batch_id=ID2, seq=0, head=b"\x33" * 32)  # seq 0 must be the genesis
    field_error(op.InputRef, batch_id=ID2, seq=-1, head=ID2)
    field_error(step, inputs=[op.InputRef(batch_id=ID, seq=0, head=ID)])  # consumes itself
    field_error(step, inputs=[ref, op.InputRef(batch_id=ID2, seq=4, head=b"\x44" * 32)])  # listed twice
    field_error(step, inputs=["not a ref"])
    field_error(step, inputs="abc")


def test_inputs_bounded() -> None:
    refs = [op.InputRef(batch_id=bytes([i]) * 32, seq=0, head=bytes([i]) * 32) for i in range(100, 100 + 64)]
    assert len(step(inputs=refs).inputs) == 64
    refs.append(op.InputRef(batch_id=b"\xff" * 32, seq=0, head=b"\xff" * 32))
    field_error(step, inputs=refs)


def attachment(**kw: object) -> op.Attachment:
    fields: dict[str, object] = {
        "name": "kiểm nghiệm.pdf",
        "media_type": "application/pdf",
        "size": 1024,
        "sha256": b"\x55" * 32,
    }
    fields.update(kw)
    return op.Attachment(**fields)  # type: ignore[arg-type]


def test_attachments() -> None:
    assert attachment().name == "kiểm nghiệm.pdf"
    for name in ("../etc/passwd", "a/b.pdf", "a\\b.pdf", ".", ".."):
        field_error(attachment, name=name)
    for media in ("PDF", "application/PDF", "application", "text/plain; charset=utf-8", ""):
        field_error(attachment, media_type=media)
    for size in (-1, 2**53 + 1, True, 1.0):
        field_error(attachment, size=size)
    field_error(attachment, sha256=b"\x55" * 31)


def test_attachments_bounded() -> None:
    items = [attachment(name=f"{i}.jpg") for i in range(_model.MAX_ATTACHMENTS)]
    assert len(step(attachments=items).attachments) == _model.MAX_ATTACHMENTS
    field_error(step, attachments=[*items, attachment()])


def test_data() -> None:
    s = step(data={"moisture": "12.5", "weight_g": 500, "organic": True, "b": "", "A.b:c-d_e": "x"})
    assert list(s.data) == sorted(s.data)
    assert s.data["organic"] is True
    with pytest.raises(TypeError):
        s.data["x"] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    "data",
    [
        {"1abc": 1},
        {"": 1},
        {"có dấu": 1},
        {"x" * 65: 1},
        {1: 1},
        {"k": 1.5},
        {"k": None},
        {"k": b"x"},
        {"k": [1]},
        {"k": 2**63},
        {"k": -(2**63) - 1},
    ],
)
def test_data_invalid(data: dict[object, object]) -> None:
    assert field_error(step, data=data).field in {"data", "data.k"}


def test_data_bounded() -> None:
    data = {f"k{i}": i for i in range(_model.MAX_DATA_ITEMS)}
    assert len(step(data=data).data) == _model.MAX_DATA_ITEMS
    field_error(step, data={**data, "extra": 1})
    field_error(step, data=[("k", 1)])


def test_genesis_types() -> None:
    assert field_error(sample_genesis, product="not a product").field == "product"
    assert field_error(sample_genesis, producer=None).field == "producer"
    assert field_error(sample_genesis, location="Hà Nội").field == "location"
    assert field_error(sample_genesis, certificate={"stars": 4}).field == "certificate"
    assert field_error(step, location="Hà Nội").field == "location"


def test_frozen() -> None:
    p = product()
    with pytest.raises(FrozenInstanceError):
        p.name = "x"  # type: ignore[misc]


def test_signed_event_properties(chain: list[op.SignedEvent]) -> None:
    g, s = chain[0], chain[1]
    assert g.is_genesis
    assert g.seq == 0
    assert g.batch_id == g.event_id
    assert g.prev is None
    assert g.step == "genesis"
    assert not s.is_genesis
    assert s.seq == 1
    assert s.batch_id == g.event_id
    assert s.prev == g.event_id
    assert s.step == "commissioning"
    assert s.event_id_hex == s.event_id.hex()
    assert s.time.utcoffset() == timedelta(hours=7)
