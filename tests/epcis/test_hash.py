"""The CBV 2.0 event hash: each canonicalisation rule on its own (docs/epcis.md §4.1)."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import ocop_provenance as op
import pytest
from ocop_provenance import epcis

NS = {"ex": "https://ns.example.com/epcis/"}


def event(**fields: object) -> dict[str, object]:
    return {"type": "ObjectEvent", "eventTime": "2024-11-01T08:00:00+07:00", "eventTimeZoneOffset": "+07:00", **fields}


def pre(**fields: object) -> str:
    return epcis.epcis_prehash(event(**fields), NS)


BASE = "eventType=ObjectEventeventTime=2024-11-01T01:00:00.000ZeventTimeZoneOffset=+07:00"


def test_minimal_event_and_the_ni_uri() -> None:
    assert pre() == BASE
    digest = hashlib.sha256(BASE.encode()).hexdigest()
    assert epcis.epcis_event_hash(event(), NS) == f"ni:///sha-256;{digest}?ver=CBV2.0"


@pytest.mark.parametrize(
    ("given", "want"),
    [
        ("2023-01-18T11:04:03.1415Z", "2023-01-18T11:04:03.142Z"),
        ("2023-01-18T11:04:03.1425Z", "2023-01-18T11:04:03.143Z"),  # CBV: up when the 4th digit is 5-9
        ("2023-01-18T11:04:03.14249Z", "2023-01-18T11:04:03.142Z"),
        ("2023-12-31T23:59:59.9996+00:00", "2024-01-01T00:00:00.000Z"),
        ("2023-01-18T12:04:03+01:00", "2023-01-18T11:04:03.000Z"),
    ],
)
def test_times_are_utc_milliseconds(given: str, want: str) -> None:
    assert pre(eventTime=given).startswith(f"eventType=ObjectEventeventTime={want}")


@pytest.mark.parametrize(
    ("value", "want"),
    [("12.50", "12.5"), (" 12 ", "12"), ("1e3", "1000"), (Decimal("0.00001"), "1e-05"), (40, "40"), ("inf", "inf")],
)
def test_values_that_read_as_numbers_have_one_form(value: object, want: str) -> None:
    assert pre(**{"ex:v": value}) == BASE + "{https://ns.example.com/epcis/}v=" + want


def test_vocabulary_words_curies_and_urns_are_expanded() -> None:
    got = pre(action="OBSERVE", bizStep="packing", disposition="in_transit")
    assert got.endswith(
        "action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-packingdisposition=https://ref.gs1.org/cbv/Disp-in_transit"
    )
    assert pre(bizStep="urn:epcglobal:cbv:bizstep:packing") == pre(bizStep="packing")
    assert pre(bizStep="ex:drying").endswith("bizStep=https://ns.example.com/epcis/drying")
    # A prefix the document does not declare inline stays as written.
    assert pre(bizStep="other:drying").endswith("bizStep=other:drying")
    report = {"type": "Temperature", "value": Decimal("4.50"), "uom": "CEL"}
    assert pre(sensorElementList=[{"sensorReport": [report]}]).endswith(
        "sensorElementListsensorElementsensorReporttype=https://gs1.org/voc/Temperaturevalue=4.5uom=CEL"
    )


def test_order_does_not_matter_and_lists_are_sorted() -> None:
    a = event(readPoint={"id": "geo:1,2"}, bizStep="packing", epcList=["urn:b", "urn:a"])
    b = dict(reversed(list(event(epcList=["urn:a", "urn:b"], bizStep="packing", readPoint={"id": "geo:1,2"}).items())))
    assert epcis.epcis_prehash(a, NS) == epcis.epcis_prehash(b, NS)
    assert "epcListepc=urn:aepc=urn:b" in epcis.epcis_prehash(a, NS)


def test_extensions_are_sorted_after_the_standard_fields_and_event_id_is_not_hashed() -> None:
    got = pre(**{"ex:b": {"ex:y": "2", "ex:x": ""}, "ex:a": "1", "eventID": "urn:uuid:x", "recordTime": "x"})
    ns = "{https://ns.example.com/epcis/}"
    assert got == BASE + f"{ns}a=1{ns}b{ns}x{ns}y=2"


def test_any_change_of_a_value_changes_the_hash() -> None:
    assert epcis.epcis_event_hash(event(**{"ex:v": "Đạt"}), NS) != epcis.epcis_event_hash(event(**{"ex:v": "Dat"}), NS)


def test_an_event_without_type_is_refused() -> None:
    with pytest.raises(op.FormatError) as e:
        epcis.epcis_prehash({"eventTime": "2024-01-01T00:00:00Z"})
    assert e.value.code == "E_EPCIS_FIELD"
    assert e.value.field == "type"


@pytest.mark.parametrize(
    ("given", "want"),
    [
        ("urn:epc:id:sgln:893456.700001.0", "https://id.gs1.org/414/8934567000017"),
        ("urn:epc:id:sgln:893456.700001.12", "https://id.gs1.org/414/8934567000017/254/12"),
        ("urn:epc:id:sgtin:893123.0456789.L(1)", "https://id.gs1.org/01/08931234567897/21/L%281%29"),
        ("urn:epc:class:lgtin:893123.0456789.L2411", "https://id.gs1.org/01/08931234567897/10/L2411"),
        ("urn:epc:id:sscc:893123.01234567890", "https://id.gs1.org/00/089312312345678903"),
        (
            "https://qr.example.vn/shop/01/8931234567897/22/V1/10/L1/21/S9?s=abc",
            "https://id.gs1.org/01/08931234567897/21/S9",
        ),
        ("https://qr.example.vn/gtin/08931234567897/lot/L1", "https://id.gs1.org/01/08931234567897/10/L1"),
        # A lot outside GS1's set for the canonical form (percent-encoded) is left as written, as the reference does.
        ("https://id.gs1.org/01/08931234567897/10/L2411%2F01", "https://id.gs1.org/01/08931234567897/10/L2411%2F01"),
        ("urn:epc:id:cpi:4012345.ABC.123", "urn:epc:id:cpi:4012345.ABC.123"),
        ("https://example.org/not/a/key", "https://example.org/not/a/key"),
    ],
)
def test_gs1_identifiers_become_canonical_digital_links(given: str, want: str) -> None:
    assert pre(epcList=[given]) == BASE + "epcListepc=" + want
