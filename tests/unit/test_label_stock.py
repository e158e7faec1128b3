"""Label stock (issue 13): presets for A4 sheets and thermal rolls, sizes in millimetres, extra lines (NSX, HSD,
producer, scan hint), the module-size floor, text that is never silently cut or dropped, and the embedded font's
Vietnamese coverage. Every sheet is rendered with PDFium and read with zxing-cpp, independently of the library."""

from __future__ import annotations

import dataclasses
import io
import unicodedata
from datetime import date
from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance.seals import (
    LABEL_PRESETS,
    MIN_MODULE_MM,
    SCAN_HINT,
    Label,
    LabelLayout,
    Seal,
    make_qr,
    qr_to_png,
    seal_units,
    write_label_sheet,
)

from tests.conftest import key, sample_chain

fpdf = pytest.importorskip("fpdf")
zxingcpp = pytest.importorskip("zxingcpp")
pdfium = pytest.importorskip("pypdfium2")
TTFont = pytest.importorskip("fontTools.ttLib").TTFont
Image = pytest.importorskip("PIL.Image")

R = "https://id.example.vn"
FONTS = Path(op.__file__).resolve().parent / "fonts"
NAME = "Đông trùng hạ thảo sấy khô thượng hạng"
PRODUCER = "HTX Nông nghiệp Nghi Sơn"


def labels(n: int, **extra: object) -> tuple[list[Seal], list[Label]]:
    signer = key(1)
    chain = sample_chain(signer)
    serials = [f"SN{i:06d}" for i in range(n)]
    seals = list(seal_units(chain[0], chain[-1], signer, resolver=R, sealed_on=date(2024, 11, 2), serials=serials))
    return seals, [
        Label(code=s.to_url(), title=NAME, lot=s.statement.lot, serial=s.statement.serial, **extra)  # type: ignore[arg-type]
        for s in seals
    ]


ALL_LINES = {
    "produced": date(2024, 11, 1),
    "expires": date(2025, 11, 1),
    "producer": PRODUCER,
    "note": SCAN_HINT,
}


def read_pages(pdf: bytes, dpi: int = 300) -> tuple[list[list[str]], list[tuple[float, float]], str]:
    """Codes found on each page (PDFium at ``dpi``, then zxing-cpp), page sizes in mm, and the extracted text."""
    doc = pdfium.PdfDocument(pdf)
    codes, sizes, text = [], [], []
    for page in doc:
        img = page.render(scale=dpi / 72).to_pil().convert("L")
        codes.append([b.text for b in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)])
        sizes.append((round(page.get_width() * 25.4 / 72, 1), round(page.get_height() * 25.4 / 72, 1)))
        text.append(page.get_textpage().get_text_range())
    return codes, sizes, "\n".join(text)


@pytest.mark.parametrize("name", sorted(LABEL_PRESETS))
def test_every_preset_prints_every_line_and_every_code_decodes(name: str) -> None:
    layout = LABEL_PRESETS[name]
    n = min(layout.per_page + 1, 30)  # a second page too
    seals, sheet = labels(n, **ALL_LINES)
    buf = io.BytesIO()
    assert write_label_sheet(buf, sheet, layout=layout) == n
    codes, sizes, text = read_pages(buf.getvalue())
    assert sorted(c for page in codes for c in page) == sorted(s.to_url() for s in seals)
    assert len(codes) == -(-n // layout.per_page)
    assert sizes[0] == tuple(round(v, 1) for v in layout.page_size)
    for line in ("Lô/Lot: L2411-01", "Số/SN: SN000000", "NSX/MFG: 01/11/2024", "HSD/EXP: 01/11/2025"):
        assert line in text, (name, line)
    assert "Quét mã để xác thực" in text
    assert "Đông trùng" in text  # shortened with … on small labels, never dropped
    assert "HTX Nông" in text
    module = layout.module_mm(make_qr(seals[0].to_url()).size, len(sheet[0].lines()))
    assert module >= MIN_MODULE_MM


def test_presets_are_real_stock() -> None:
    # Published dimensions (label planet / Avery templates); the grid fills the sheet as the maker cut it.
    p = LABEL_PRESETS
    assert (p["a4-65"].cell, p["a4-65"].per_page, p["a4-65"].margins) == ((38.1, 21.2), 65, (10.7, 4.75))
    assert (p["a4-21"].cell, p["a4-21"].per_page) == ((63.5, 38.1), 21)
    assert (p["a4-24"].cell, p["a4-24"].per_page) == ((70.0, 37.0), 24)
    assert (p["a4-40"].cell, p["a4-40"].per_page) == ((45.7, 25.4), 40)
    for name in ("a4-65", "a4-40", "a4-21"):
        layout = p[name]
        top, left = layout.margins
        across, down = layout.gaps
        w, h = layout.cell
        # symmetric on the sheet: what is left over is the same on both sides
        assert abs(210 - (2 * left + layout.columns * w + (layout.columns - 1) * across)) < 0.05, name
        assert abs(297 - (2 * top + layout.rows * h + (layout.rows - 1) * down)) < 0.05, name
    roll = p["roll-50x30"]
    assert (roll.page_size, roll.cell, roll.per_page, roll.outline) == ((50.0, 30.0), (50.0, 30.0), 1, False)
    assert p["a4-65"].module_mm(57, 7) == pytest.approx(0.311, abs=0.001)  # v10-Q: warned about, not refused


def test_codes_too_small_for_a_phone_are_refused() -> None:
    _, sheet = labels(1, **ALL_LINES)
    tiny = LabelLayout(page=(30.0, 20.0), label=(30.0, 20.0), columns=1, rows=1, margin=0, gap=0)
    with pytest.raises(op.FormatError) as info:
        write_label_sheet(io.BytesIO(), sheet, layout=tiny)
    assert info.value.code == "E_LABEL_MODULE"
    assert "0.25 mm" in str(info.value)
    # the same label with fewer lines and a lower error correction fits
    _, plain = labels(1)
    small = dataclasses.replace(tiny, page=(40.0, 24.0), label=(40.0, 24.0), font_size=4.5, text_width=15.0)
    assert write_label_sheet(io.BytesIO(), plain, layout=small, ec_level="L") == 1


def test_lot_serial_and_dates_are_never_shortened() -> None:
    signer = key(1)
    chain = sample_chain(signer)
    long_serial = "SN-2411-000123"
    seal = next(
        iter(seal_units(chain[0], chain[-1], signer, resolver=R, sealed_on=date(2024, 11, 2), serials=[long_serial]))
    )
    label = Label(code=seal.to_url(), title=NAME * 3, lot=seal.statement.lot, serial=long_serial, **ALL_LINES)  # type: ignore[arg-type]
    buf = io.BytesIO()
    write_label_sheet(buf, [label], layout=LABEL_PRESETS["roll-50x30"])
    _, _, text = read_pages(buf.getvalue())
    assert f"Số/SN: {long_serial}" in text  # smaller type, never cut
    assert "…" in text  # the name is shortened instead
    longest = dataclasses.replace(label, serial="SN-2024-11-000000123")  # 20 characters, GS1's most
    with pytest.raises(op.FormatError) as info:
        write_label_sheet(io.BytesIO(), [longest], layout=LABEL_PRESETS["roll-50x30"])
    assert info.value.code == "E_LABEL_TEXT"
    assert "SN-2024-11-000000123" in str(info.value)
    assert write_label_sheet(io.BytesIO(), [longest], layout=LABEL_PRESETS["a4-21"]) == 1


def test_a_character_the_font_cannot_print_is_refused_not_dropped() -> None:
    _, sheet = labels(1)
    for title in ("Trà 茶", "Mật ong 🐝"):
        with pytest.raises(op.FormatError) as info:
            write_label_sheet(io.BytesIO(), [dataclasses.replace(sheet[0], title=title)])
        assert info.value.code == "E_LABEL_TEXT"


def _vietnamese_letters() -> set[str]:
    letters = set("aăâbcdđeêghiklmnoôơpqrstuưvxy")
    for vowel in "aăâeêioôơuưy":
        for tone in "\u0300\u0301\u0303\u0309\u0323":
            letters.add(unicodedata.normalize("NFC", vowel + tone))
    return letters | {c.upper() for c in letters}


def test_the_embedded_fonts_cover_every_vietnamese_letter_and_every_fixed_line() -> None:
    letters = _vietnamese_letters()
    assert len(letters) == 2 * (17 + 12 * 6)  # 17 consonants (đ among them), 12 vowels in six tones (five and none)
    fixed = set("Lô/Lot: Số/SN: NSX/MFG: HSD/EXP: 0123456789…₫·") | set(SCAN_HINT)
    for font in ("DejaVuSans-vi.ttf", "DejaVuSans-Bold-vi.ttf"):
        cmap = TTFont(io.BytesIO((FONTS / font).read_bytes())).getBestCmap()
        missing = sorted(c for c in letters | fixed if ord(c) not in cmap)
        assert not missing, (font, missing)


def test_text_is_measured_as_fpdf2_measures_it() -> None:
    pdf = fpdf.FPDF(unit="mm")
    pdf.add_font("DejaVuSans", "", str(FONTS / "DejaVuSans-vi.ttf"))
    pdf.set_font("DejaVuSans", "", 6.5)
    try:
        for text in (NAME, SCAN_HINT, "Lô/Lot: L2411-01"):
            ours = pdf.current_font.get_text_width(text, 6.5, None)[1] * 25.4 / 72
            assert ours == pytest.approx(pdf.get_string_width(text), rel=1e-6)
    finally:
        pdf.current_font.close()


@pytest.mark.parametrize(
    "change",
    [
        {"label": (70.0, 40.0)},  # 4 x 7 of 70 x 40 mm do not fit an A4 sheet
        {"page": (10.0, 10.0)},
        {"margin": (70.0, 0.0)},
        {"gap": -1.0},
        {"arrangement": "diagonal"},
        {"label": (12.0, 40.0)},
        {"text_width": 1.0},
    ],
)
def test_layouts_that_cannot_be_printed_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(op.FormatError) as info:
        LabelLayout(**change)  # type: ignore[arg-type]
    assert info.value.code == "E_FIELD"


def test_arrangements() -> None:
    wide = LABEL_PRESETS["roll-50x30"]
    assert wide.code_side(7) == pytest.approx(28.0)  # beside: the label's height less its padding
    stacked = dataclasses.replace(wide, arrangement="stacked")
    assert stacked.code_side(3) < wide.code_side(3)
    default = LabelLayout()
    assert default.code_side(3) == pytest.approx(min(default.cell[1] - 2 - 3 * 6.5 * 1.2 * 25.4 / 72, 45.0))


def test_png_carries_its_resolution() -> None:
    qr = make_qr("https://id.example.vn/x")
    img = Image.open(io.BytesIO(qr_to_png(qr, scale=8, dpi=406.4)))
    assert img.info["dpi"] == pytest.approx((406.4, 406.4), abs=0.1)
    assert "dpi" not in Image.open(io.BytesIO(qr_to_png(qr))).info
    with pytest.raises(ValueError, match="dpi"):
        qr_to_png(qr, dpi=0)
