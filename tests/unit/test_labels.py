from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import ocop_provenance as op
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocop_provenance.seals import SCAN_HINT, Label, LabelLayout, Seal, seal_units, write_label_sheet

from tests.conftest import key, sample_chain
from tests.verifying import options

pytest.importorskip("fpdf")
zxingcpp = pytest.importorskip("zxingcpp")
TTFont = pytest.importorskip("fontTools.ttLib").TTFont
FONT = Path(op.__file__).resolve().parent / "fonts" / "DejaVuSans-vi.ttf"

R = "https://id.example.vn"
NAME = "Đông trùng hạ thảo tươi"


def units(n: int) -> tuple[list[Seal], list[Label]]:
    signer = key(1)
    chain = sample_chain(signer)
    serials = [f"SN{i:06d}" for i in range(n)]
    seals = list(seal_units(chain[0], chain[-1], signer, resolver=R, sealed_on=date(2024, 11, 2), serials=serials))
    labels = [Label(code=s.to_url(), title=NAME, lot=s.statement.lot, serial=s.statement.serial) for s in seals]
    return seals, labels


def rasterise(pdf_bytes: bytes) -> list[list[str]]:
    """Render every page at 300 dpi with PDFium and read the codes with zxing-cpp (both independent of us)."""
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument(pdf_bytes)
    pages = []
    for page in doc:
        img = page.render(scale=300 / 72).to_pil().convert("L")
        pages.append([b.text for b in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)])
    return pages


def page_text(pdf_bytes: bytes) -> str:
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument(pdf_bytes)
    return "\n".join(page.get_textpage().get_text_range() for page in doc)


def test_every_label_decodes_and_verifies(tmp_path: Path) -> None:
    seals, labels = units(40)
    out = tmp_path / "sheet.pdf"
    assert write_label_sheet(out, labels) == 40
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    pages = rasterise(data)
    layout = LabelLayout()
    assert [len(p) for p in pages] == [layout.per_page, 40 - layout.per_page]
    assert sorted(t for p in pages for t in p) == sorted(s.to_url() for s in seals)
    ring = op.KeyRing.of([key(1).public_key])
    for text in (t for p in pages for t in p):
        assert op.verify_seal(text, options(ring)).code == "SEAL_OK"


def test_vietnamese_text_is_embedded_and_extractable() -> None:
    _, labels = units(3)
    buf = io.BytesIO()
    write_label_sheet(buf, labels)
    data = buf.getvalue()
    assert b"/FontFile2" in data  # the TrueType font is embedded
    text = page_text(data)
    assert NAME in text
    assert "Lô/Lot: L2411-01" in text
    assert "Số/SN: SN000002" in text


def test_long_names_are_shortened_to_fit() -> None:
    _, labels = units(1)
    long = Label(code=labels[0].code, title="Trà hoa vàng Ba Chẽ " * 10, lot="L1")
    buf = io.BytesIO()
    write_label_sheet(buf, [long], layout=LabelLayout(columns=5, rows=8))
    assert "Trà hoa vàng Ba Chẽ" in page_text(buf.getvalue())
    assert "…" in page_text(buf.getvalue())


def test_worker_processes_give_the_same_codes() -> None:
    _seals, labels = units(30)
    one, two = io.BytesIO(), io.BytesIO()
    write_label_sheet(one, labels, layout=LabelLayout(columns=3, rows=5))
    write_label_sheet(two, labels, layout=LabelLayout(columns=3, rows=5), workers=2)
    assert rasterise(one.getvalue()) == rasterise(two.getvalue())
    assert len(rasterise(two.getvalue())) == 2


@pytest.mark.parametrize("ec", ["L", "H"])
def test_other_error_correction_levels_and_pages(ec: str) -> None:
    seals, labels = units(2)
    buf = io.BytesIO()
    write_label_sheet(buf, labels, layout=LabelLayout(page="A5", columns=2, rows=3), ec_level=ec)
    assert sorted(rasterise(buf.getvalue())[0]) == sorted(s.to_url() for s in seals)


def test_progress_is_reported_per_page() -> None:
    _, labels = units(10)
    seen: list[int] = []
    write_label_sheet(io.BytesIO(), labels, layout=LabelLayout(columns=2, rows=2), progress=seen.append)
    assert seen == [4, 8, 10]


@pytest.mark.parametrize(
    "change",
    [{"page": "B7"}, {"columns": 0}, {"rows": 41}, {"columns": 12}, {"margin": -1}, {"font_size": 100}],
)
def test_bad_layouts_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(op.FormatError) as info:
        LabelLayout(**change)  # type: ignore[arg-type]
    assert info.value.code == "E_FIELD"


def test_errors() -> None:
    _, labels = units(1)
    with pytest.raises(op.FormatError) as info:
        write_label_sheet(io.BytesIO(), [])
    assert info.value.code == "E_LABELS_EMPTY"
    with pytest.raises(op.FormatError) as info:
        write_label_sheet(io.BytesIO(), labels, ec_level="Z")
    assert info.value.code == "E_QR_LEVEL"
    with pytest.raises(op.FormatError) as info:
        write_label_sheet(io.BytesIO(), [Label(code="9" * 8000, title=NAME, lot="L")])
    assert info.value.code == "E_QR_CAPACITY"
    with pytest.raises(op.FormatError) as info:
        write_label_sheet("/nonexistent-dir/x.pdf", labels)
    assert info.value.code == "E_IO"


def test_font_licence_ships_with_the_font() -> None:
    fonts = op.FONT_PATH.parent if hasattr(op, "FONT_PATH") else Path(op.__file__).parent / "fonts"
    assert (fonts / "LICENSE-DejaVu.txt").read_text(encoding="utf-8").count("Bitstream") >= 2
    assert sum(f.stat().st_size for f in fonts.glob("*.ttf")) < 1_000_000


def test_image_mask_mode_decodes_too() -> None:
    seals, labels = units(6)
    vector, mask = io.BytesIO(), io.BytesIO()
    write_label_sheet(vector, labels, layout=LabelLayout(vector=True))
    write_label_sheet(mask, labels)  # the default
    assert len(mask.getvalue()) < len(vector.getvalue())
    assert sorted(rasterise(mask.getvalue())[0]) == sorted(s.to_url() for s in seals)


CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
PRINTABLE = frozenset(TTFont(str(FONT)).getBestCmap()) & frozenset(
    TTFont(str(FONT.parent / "DejaVuSans-Bold-vi.ttf")).getBestCmap()
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    serials=st.lists(st.text(alphabet=CSET82, min_size=1, max_size=20), min_size=1, max_size=4, unique=True),
    title=st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")).filter(lambda c: ord(c) in PRINTABLE),
        min_size=1,
        max_size=80,
    ),
    vector=st.booleans(),
    extras=st.booleans(),
)
def test_any_producible_sheet_renders_and_decodes(serials: list[str], title: str, vector: bool, extras: bool) -> None:
    signer = key(1)
    chain = sample_chain(signer, 2)
    seals = list(seal_units(chain[0], chain[-1], signer, resolver=R, sealed_on=date(2024, 11, 2), serials=serials))
    more = {"produced": date(2024, 11, 1), "producer": title, "note": SCAN_HINT} if extras else {}
    labels = [
        Label(code=s.to_url(), title=title, lot=s.statement.lot, serial=s.statement.serial, **more) for s in seals
    ]
    buf = io.BytesIO()
    assert write_label_sheet(buf, labels, layout=LabelLayout(columns=2, rows=2, vector=vector)) == len(seals)
    assert sorted(rasterise(buf.getvalue())[0]) == sorted(s.to_url() for s in seals)
