"""Print-ready PDF labels: a QR code per label with the product name, lot, serial and optional extra lines.

Labels sit in a grid on a page (a plain sheet cut after printing, die-cut label stock such as the 65-up A4 sheets
sold in Vietnam, or one label per page for a thermal roll printer); sizes are millimetres (ADR 0042). Presets for
common stock are in :data:`LABEL_PRESETS`.

Fast by construction: each QR code is drawn as a 1-bit image mask of one pixel per module (the default) or as
vector rectangles for its dark runs, straight from the module matrix, never as an image file per label; text uses
an embedded subset of DejaVu Sans (Bitstream Vera licence, ``fonts/LICENSE-DejaVu.txt``) that covers every
Vietnamese letter, so "Đông trùng hạ thảo" prints as written, and each distinct string is encoded once per sheet.
With ``workers > 1`` the QR encoding runs in worker processes while this process writes the PDF. fpdf2 is imported
lazily (the ``qr`` extra).

A code whose modules would print smaller than :data:`MIN_MODULE_MM` is refused: phones cannot read it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO

from ._errors import FormatError
from ._qr import EC_LEVELS, _require, make_qr

__all__ = [
    "FONT_PATH",
    "LABEL_PRESETS",
    "MIN_MODULE_MM",
    "PAGE_SIZES",
    "RECOMMENDED_MODULE_MM",
    "SCAN_HINT",
    "Label",
    "LabelLayout",
    "write_label_sheet",
]

_FONTS = Path(__file__).resolve().parent / "fonts"
#: The embedded regular font (a Vietnamese-covering subset of DejaVu Sans).
FONT_PATH = _FONTS / "DejaVuSans-vi.ttf"
_FONT_BOLD = _FONTS / "DejaVuSans-Bold-vi.ttf"
#: Page sizes in millimetres (portrait).
PAGE_SIZES = {"A4": (210.0, 297.0), "A5": (148.0, 210.0), "Letter": (215.9, 279.4)}
#: The smallest module (one QR square) a label may print, in millimetres: phone cameras focused close read
#: 0.25 mm modules; smaller ones are refused (``E_LABEL_MODULE``).
MIN_MODULE_MM = 0.25
#: Below this module size, in millimetres, older phones and phones held further away struggle; the CLI warns.
#: (GS1 asks point-of-sale scanners for larger symbols, about 0.4-0.5 mm.)
RECOMMENDED_MODULE_MM = 0.33
#: The line that tells a consumer what the code is for.
SCAN_HINT = "Quét mã để xác thực · Scan to verify"
_MM = 72 / 25.4
_LINE = 1.2  # line height, in font sizes
_MIN_FONT = 4.0  # points: lines that must not be shortened shrink down to this size before the sheet is refused
_CHUNK = 256
_COMPRESS = True
_DARK_RUN = re.compile(b"\x01+")
_ARRANGEMENTS = ("auto", "stacked", "beside")


@functools.cache
def _chunk_tables(chunks: int = 25) -> list[dict[bytes, str]]:
    # Built on first use (about 30 ms), not at import: every CLI run imports this module, few draw a label.
    # For chunk i and each 8-module pattern, the path of its dark runs: " x @ n 1 re" with x = 8i + offset.
    tables = []
    for i in range(chunks):
        table = {}
        for p in range(256):
            bits = bytes((p >> (7 - b)) & 1 for b in range(8))
            table[bits] = "".join(
                f" {8 * i + m.start()} @ {m.end() - m.start()} 1 re" for m in _DARK_RUN.finditer(bits)
            )
        tables.append(table)
    return tables


_BIT_CHARS = bytes.maketrans(b"\x00\x01", b"10")

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Label:
    """One label.

    Attributes:
        code: The text of the QR code (a seal's URL form, usually).
        title: The product name (Vietnamese as signed), shortened with "…" when too long.
        lot: The lot, printed as ``Lô/Lot``.
        serial: The unit's serial, printed as ``Số/SN``, if any.
        produced: The production date, printed as ``NSX/MFG: dd/mm/yyyy``, if any.
        expires: The expiry date, printed as ``HSD/EXP: dd/mm/yyyy``, if any.
        producer: The producer's name, if it is to be printed (shortened with "…" when too long).
        note: A last line, such as :data:`SCAN_HINT` (its Vietnamese part alone when the whole does not fit).
    """

    code: str
    title: str
    lot: str
    serial: str | None = None
    produced: date | None = None
    expires: date | None = None
    producer: str | None = None
    note: str | None = None

    def lines(self) -> tuple[tuple[str, str], ...]:
        """The text lines under or beside the code, as (kind, text); kind is ``title``, ``exact`` or ``shorten``.

        ``exact`` lines (lot, serial, dates) are never shortened: they shrink, or the sheet is refused.
        """
        out = [("title", self.title), ("exact", f"Lô/Lot: {self.lot}")]
        if self.serial is not None:
            out.append(("exact", f"Số/SN: {self.serial}"))
        if self.produced is not None:
            out.append(("exact", f"NSX/MFG: {self.produced:%d/%m/%Y}"))
        if self.expires is not None:
            out.append(("exact", f"HSD/EXP: {self.expires:%d/%m/%Y}"))
        if self.producer:
            out.append(("shorten", self.producer))
        if self.note:
            out.append(("note", self.note))
        return tuple(out)


def _pair(value: float | tuple[float, float], what: str) -> tuple[float, float]:
    if isinstance(value, tuple):
        if len(value) != 2:
            raise FormatError(f"{what} must be one number or two", code="E_FIELD", field=what)
        return float(value[0]), float(value[1])
    return float(value), float(value)


@dataclass(frozen=True, slots=True)
class _Place:
    """Where the code and the text go inside a label (millimetres from the label's top-left corner).

    The text box holds ``lines`` lines at least; beside the code it is as high as the label and its lines are
    centred vertically (a long name may take two lines there); under the code they start at its top.
    """

    side: float
    code_x: float
    code_y: float
    text_x: float
    text_top: float
    text_width: float
    text_height: float
    centred: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelLayout:
    """Labels in a grid on a page; every length is in millimetres.

    Attributes:
        page: ``A4`` (default), ``A5``, ``Letter``, or (width, height): a thermal roll printer's label.
        columns: Labels across.
        rows: Labels down.
        label: (width, height) of one label; None divides the page between the margins and gaps (a plain sheet).
        margin: Where the grid starts: (top, left), or one number for both. With ``label`` None the bottom and
            right margins are the same.
        gap: Space between labels: (across, down), or one number for both.
        padding: White space kept inside each label's edge.
        font_size: Text size in points.
        border: Quiet zone around each code, in modules (4 is the standard).
        arrangement: ``stacked`` (code above the text), ``beside`` (code left of the text) or ``auto`` (the
            arrangement that prints the larger code; stacked unless beside is more than 15 % larger).
        text_width: The width kept for text beside the code (default: about twelve characters).
        outline: Draw a thin cutting outline around each label (for plain sheets, not die-cut stock).
        vector: False (default) draws each code as a 1-bit image mask of one pixel per module, which printers
            render with each module exactly square; True draws vector rectangles (for cutters and engravers, or
            viewers that smooth images when zoomed), about twice as slow and three times the size.
    """

    page: str | tuple[float, float] = "A4"
    columns: int = 4
    rows: int = 7
    label: tuple[float, float] | None = None
    margin: float | tuple[float, float] = 8.0
    gap: float | tuple[float, float] = 2.0
    padding: float = 1.0
    font_size: float = 6.5
    border: int = 4
    arrangement: str = "auto"
    text_width: float | None = None
    outline: bool = True
    vector: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.page, str) and self.page not in PAGE_SIZES:
            raise FormatError(
                f"page must be one of {sorted(PAGE_SIZES)} or (width, height)", code="E_FIELD", field="page"
            )
        width, height = self.page_size
        if not (20 <= width <= 1000 and 10 <= height <= 2000):
            raise FormatError("the page must be 20-1000 mm wide and 10-2000 mm high", code="E_FIELD", field="page")
        if not (1 <= self.columns <= 20 and 1 <= self.rows <= 40):
            raise FormatError("columns must be 1-20 and rows 1-40", code="E_FIELD", field="columns")
        top, left = self.margins
        across, down = self.gaps
        if not (0 <= top <= 60 and 0 <= left <= 60 and 0 <= across <= 40 and 0 <= down <= 40):
            raise FormatError("margins must be 0-60 mm and gaps 0-40 mm", code="E_FIELD", field="margin")
        if not (
            0 <= self.padding <= 10
            and 3 <= self.font_size <= 24
            and 0 <= self.border <= 8
            and (self.text_width is None or 5 <= self.text_width <= 500)
        ):
            raise FormatError("padding, font size, border or text width out of range", code="E_FIELD", field="padding")
        if self.arrangement not in _ARRANGEMENTS:
            raise FormatError(f"arrangement must be one of {_ARRANGEMENTS}", code="E_FIELD", field="arrangement")
        cell_w, cell_h = self.cell
        if cell_w < 15 or cell_h < 15:
            raise FormatError(
                f"labels of {cell_w:.1f} x {cell_h:.1f} mm are too small for a readable code",
                code="E_FIELD",
                field="label",
            )
        slack = 0.05  # rounding in published label dimensions
        if (
            left + self.columns * cell_w + (self.columns - 1) * across > width + slack
            or top + self.rows * cell_h + (self.rows - 1) * down > height + slack
        ):
            raise FormatError(
                f"{self.columns} x {self.rows} labels of {cell_w:g} x {cell_h:g} mm do not fit a "
                f"{width:g} x {height:g} mm page with these margins and gaps",
                code="E_FIELD",
                field="label",
            )

    @property
    def page_size(self) -> tuple[float, float]:
        """Width and height of the page."""
        if isinstance(self.page, str):
            return PAGE_SIZES.get(self.page, (0.0, 0.0))
        return _pair(self.page, "page")

    @property
    def margins(self) -> tuple[float, float]:
        """Top and left margin."""
        return _pair(self.margin, "margin")

    @property
    def gaps(self) -> tuple[float, float]:
        """Gap across (between columns) and down (between rows)."""
        return _pair(self.gap, "gap")

    @property
    def per_page(self) -> int:
        """Labels per page."""
        return self.columns * self.rows

    @property
    def cell(self) -> tuple[float, float]:
        """Width and height of one label."""
        if self.label is not None:
            return _pair(self.label, "label")
        width, height = self.page_size
        top, left = self.margins
        across, down = self.gaps
        return (
            (width - 2 * left - (self.columns - 1) * across) / self.columns,
            (height - 2 * top - (self.rows - 1) * down) / self.rows,
        )

    def code_side(self, lines: int = 3) -> float:
        """Side of the code, quiet zone included, on a label with ``lines`` lines of text."""
        return self._place(lines).side

    def module_mm(self, modules: int, lines: int = 3) -> float:
        """The printed size of one module of a code ``modules`` wide (``QrCode.size``), quiet zone excluded."""
        return self.code_side(lines) / (modules + 2 * self.border)

    def _place(self, lines: int) -> _Place:
        w, h = self.cell
        p = self.padding
        line = self.font_size * _LINE / _MM
        text_h = lines * line
        stacked = min(w - 2 * p, h - 2 * p - text_h)
        min_text = self.text_width if self.text_width is not None else 12 * 0.5 * self.font_size / _MM
        beside = min(h - 2 * p, w - 3 * p - min_text)
        mode = self.arrangement
        if mode == "auto":
            mode = "beside" if beside > 1.15 * stacked else "stacked"
        if mode == "stacked":
            side = max(stacked, 0.0)
            return _Place(side, (w - side) / 2, p, p, p + side, w - 2 * p, text_h, centred=False)
        side = max(beside, 0.0)
        return _Place(side, p, (h - side) / 2, 2 * p + side, p, w - 3 * p - side, h - 2 * p, centred=True)


def _preset(
    page: str | tuple[float, float], label: tuple[float, float], grid: tuple[int, int], **kw: Any
) -> LabelLayout:
    return LabelLayout(page=page, label=label, columns=grid[0], rows=grid[1], outline=False, **kw)


#: Label stock, by name: A4 die-cut sheets as sold in Vietnam (Decal/Tomy/Tanex and Avery-compatible; published
#: dimensions of the Avery part named) and thermal rolls (one label per page). Change a field with
#: ``dataclasses.replace(LABEL_PRESETS[name], ...)``; measure a sheet before a long run, makers differ by a
#: fraction of a millimetre.
LABEL_PRESETS: Mapping[str, LabelLayout] = MappingProxyType(
    {
        # 65 per sheet, 38.1 x 21.2 mm, 5 x 13 (Avery L7651): the smallest; modules of about 0.31 mm at v10-Q.
        "a4-65": _preset("A4", (38.1, 21.2), (5, 13), margin=(10.7, 4.75), gap=(2.5, 0), padding=0.5, font_size=5),
        # 40 per sheet, 45.7 x 25.4 mm, 4 x 10 (Avery L7654).
        "a4-40": _preset("A4", (45.7, 25.4), (4, 10), margin=(21.5, 9.7), gap=(2.6, 0), padding=0.6, font_size=5.5),
        # 24 per sheet, 70 x 37 mm, 3 x 8, edge to edge (Avery 3474).
        "a4-24": _preset("A4", (70.0, 37.0), (3, 8), margin=(0.5, 0), gap=0, font_size=6.5),
        # 21 per sheet, 63.5 x 38.1 mm, 3 x 7 (Avery L7160).
        "a4-21": _preset("A4", (63.5, 38.1), (3, 7), margin=(15.15, 7.25), gap=(2.5, 0), font_size=6.5),
        # Thermal rolls: one label per page, the page the size of the label.
        "roll-50x30": _preset((50.0, 30.0), (50.0, 30.0), (1, 1), margin=0, gap=0, font_size=6),
        "roll-40x30": _preset((40.0, 30.0), (40.0, 30.0), (1, 1), margin=0, gap=0, font_size=5.5, text_width=16),
        "roll-60x40": _preset((60.0, 40.0), (60.0, 40.0), (1, 1), margin=0, gap=0, font_size=7),
    }
)


def _encode(args: tuple[str, str, bool]) -> tuple[int, str]:
    """Encode one code; return its size and its drawing: a path of ``re`` rectangles or image-mask hex."""
    qr = make_qr(args[0], ec_level=args[1])
    size, mods = qr.size, qr.modules
    if not args[2]:
        # One bit per module, rows padded to whole bytes, 0 = dark (painted by an image mask's default decode).
        width = (size + 7) // 8 * 8
        chars = mods.translate(_BIT_CHARS)
        bits = b"".join(chars[y * size : (y + 1) * size].ljust(width, b"1") for y in range(size))
        return size, int(bits, 2).to_bytes(len(bits) // 8, "big").hex()
    # Rows in 8-module chunks, each looked up in a table of its runs (a run crossing a chunk border becomes two
    # abutting rectangles of the same path, which fill as one); "@" stands for the row number.
    width = (size + 7) // 8 * 8
    pad = bytes(width - size)
    tables = _chunk_tables()  # 25 chunks: 200 modules, more than version 40's 177
    lines: list[str] = []
    for y in range(size):
        row = mods[y * size : (y + 1) * size] + pad
        lines.append("".join([tables[i][row[8 * i : 8 * i + 8]] for i in range(width // 8)]).replace("@", str(y)))
    return size, "".join(lines)


def _ops(qr_size: int, drawing: str, x_pt: float, y_top_pt: float, *, side_pt: float, border: int, vector: bool) -> str:
    s = side_pt / (qr_size + 2 * border)
    if not vector:
        # The image fills the unit square, first row at the top.
        w = qr_size * s
        ox, oy = x_pt + border * s, y_top_pt - border * s - w
        return (
            f"q {w:.4f} 0 0 {w:.4f} {ox:.3f} {oy:.3f} cm 0 g "
            f"BI /IM true /W {qr_size} /H {qr_size} /BPC 1 /F /AHx ID {drawing}> EI Q"
        )
    # The path maps (column, row) in modules to the page, y pointing down.
    ox, oy = x_pt + border * s, y_top_pt - border * s
    return f"q {s:.4f} 0 0 {-s:.4f} {ox:.3f} {oy:.3f} cm 0 g {drawing} f Q"


def _open_out(out: str | os.PathLike[str] | BinaryIO) -> tuple[BinaryIO, bool]:
    if isinstance(out, (str, os.PathLike)):
        try:
            return Path(out).open("wb"), True
        except OSError as e:
            raise FormatError(f"cannot write {out}: {e.strerror}", code="E_IO") from e
    return out, False


def _matrices(
    labels: Iterator[Label], ec_level: str, workers: int, vector: bool
) -> Iterator[tuple[Label, tuple[int, str]]]:
    if workers <= 1:
        for label in labels:
            yield label, _encode((label.code, ec_level, vector))
        return
    import multiprocessing  # noqa: PLC0415 - only when asked for workers: keeps the library's import light
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    # spawn: no fork of a process that may hold threads or open files (and the same on every platform).
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        while chunk := list(islice(labels, _CHUNK * workers)):
            results = pool.map(_encode, [(lb.code, ec_level, vector) for lb in chunk], chunksize=_CHUNK // 4)
            yield from zip(chunk, results, strict=True)


def write_label_sheet(
    out: str | os.PathLike[str] | BinaryIO,
    labels: Iterable[Label],
    *,
    layout: LabelLayout | None = None,
    ec_level: str = "Q",
    workers: int = 1,
    title: str = "OCOP labels",
    progress: Progress | None = None,
) -> int:
    """Write a PDF of labels, as many pages as needed.

    Args:
        out: A path or a binary file.
        labels: The labels, in print order (consumed lazily).
        layout: The grid (A4, 4 x 7 by default; :data:`LABEL_PRESETS` for label stock).
        ec_level: QR error correction (Q by default).
        workers: Processes that encode QR codes (1 = this process only).
        title: The PDF's document title.
        progress: Called with the number of labels placed, after each page.

    Returns:
        The number of labels written.

    Raises:
        FormatError: ``E_QR_CAPACITY`` for a code too long for the label, ``E_LABEL_MODULE`` for a code whose
            modules would print smaller than :data:`MIN_MODULE_MM`, ``E_LABEL_TEXT`` for a lot, serial or date
            that does not fit its label even at 4 points or a character the embedded font lacks, ``E_FIELD`` for
            a bad layout, ``E_LABELS_EMPTY`` when there is no label, ``E_IO`` when ``out`` cannot be written.
        MissingExtraError: fpdf2 or zxing-cpp is not installed.
    """
    layout = layout or LabelLayout()
    if ec_level not in EC_LEVELS:
        raise FormatError(f"error correction must be one of {EC_LEVELS}", code="E_QR_LEVEL", field="ec_level")
    fpdf = _require("fpdf")
    pdf = fpdf.FPDF(orientation="P", unit="mm", format=layout.page_size)
    pdf.set_creator("ocop-provenance")
    pdf.set_title(title)
    pdf.set_auto_page_break(auto=False)
    pdf.set_compression(_COMPRESS)
    pdf.add_font("DejaVuSans", "", str(FONT_PATH))
    pdf.add_font("DejaVuSans", "B", str(_FONT_BOLD))
    try:
        count, data = _fill(pdf, labels, layout, ec_level=ec_level, workers=workers, progress=progress)
    finally:
        _close_fonts(pdf)
    dest, close = _open_out(out)
    try:
        dest.write(data)
    finally:
        if close:
            dest.close()
    return count


class _Text:
    """Label text written straight into the page content.

    Each distinct line is measured and fitted once per sheet, and each distinct string encoded once (its glyphs
    added to the embedded subsets); both are then reused for every label.
    """

    def __init__(self, pdf: Any, layout: LabelLayout) -> None:
        self.pdf = pdf
        self.size = layout.font_size
        self.fonts = {}
        for style in ("", "B"):
            pdf.set_font("DejaVuSans", style, self.size)
            self.fonts[style] = pdf.current_font
        self.fitted: dict[tuple[str, str, float], tuple[str, str, float]] = {}
        self.encoded: dict[tuple[str, str], str] = {}
        self.splits: dict[tuple[str, str, float], tuple[str, ...]] = {}

    def start_page(self) -> None:
        # fpdf2 lists a font in a page's resources when its own text() first uses it on that page.
        for style in ("", "B"):
            self.pdf.set_font("DejaVuSans", style, self.size)
            self.pdf.text(0, 0, "")

    def fit(self, kind: str, text: str, width: float) -> tuple[str, str, float]:
        """Return (style, text as shown, font size) for a line ``width`` mm wide."""
        key = (kind, text, width)
        found = self.fitted.get(key)
        if found is None:
            found = self._fit(kind, text, width)
            if len(self.fitted) < 4096:
                self.fitted[key] = found
        return found

    def _fit(self, kind: str, text: str, width: float) -> tuple[str, str, float]:
        style = "B" if kind == "title" else ""
        font = self.fonts[style]
        missing = sorted({ch for ch in text if ord(ch) not in font.cmap})
        if missing:
            raise FormatError(
                f"the embedded font cannot print {''.join(missing)!r} in {text!r}", code="E_LABEL_TEXT", field="label"
            )

        def fits(value: str, size: float) -> bool:
            # The font's advance widths (fpdf2's own measure without its bidi and markdown pass), in mm.
            return bool(font.get_text_width(value, size, None)[1] / _MM <= width)

        size = self.size
        if kind == "note" and not fits(text, size) and " · " in text:
            text = text.split(" · ", 1)[0]  # the Vietnamese part alone
        if kind in ("title", "shorten") and not fits(text, size):
            while text and not fits(text + "…", size):
                text = text[:-1]
            text = text.rstrip() + "…"
        while not fits(text, size):
            size -= 0.5
            if size < _MIN_FONT:
                raise FormatError(
                    f"{text!r} does not fit a {width:.1f} mm line even at {_MIN_FONT:g} pt: use a larger label, a "
                    "shorter value or fewer lines",
                    code="E_LABEL_TEXT",
                    field="label",
                )
        return style, text, size

    def draw(self, x: float, y: float, style: str, text: str, size: float) -> None:
        encoded = self.encoded.get((style, text))
        if encoded is None:
            encoded = self.fonts[style].encode_text(text)
            if len(self.encoded) < 4096:
                self.encoded[style, text] = encoded
        pdf = self.pdf
        pdf._out(f"BT /F{self.fonts[style].i} {size:.2f} Tf {x * _MM:.2f} {(pdf.h - y) * _MM:.2f} Td {encoded} ET")

    def split(self, kind: str, text: str, width: float) -> list[str]:
        """``text`` as one line, or as two at a space when it does not fit ``width`` and its first words do."""
        key = (kind, text, width)
        found = self.splits.get(key)
        if found is not None:
            return list(found)
        font = self.fonts["B" if kind == "title" else ""]
        parts = [text]
        words = text.split(" ")
        if font.get_text_width(text, self.size, None)[1] / _MM > width:
            for cut in range(len(words) - 1, 0, -1):
                head = " ".join(words[:cut])
                if font.get_text_width(head, self.size, None)[1] / _MM <= width:
                    parts = [head, " ".join(words[cut:])]
                    break
        if len(self.splits) < 4096:
            self.splits[key] = tuple(parts)
        return parts

    def lines(self, content: tuple[tuple[str, str], ...], width: float, capacity: int) -> list[tuple[str, str, float]]:
        """A label's fitted lines.

        A long name takes two lines while ``capacity`` allows; the lot, serial and dates are all set at the size
        the longest of them needs.
        """
        spare = capacity - len(content)
        fitted: list[tuple[str, tuple[str, str, float]]] = []
        for kind, value in content:
            parts = [value]
            if kind in ("title", "shorten") and spare > 0:
                parts = self.split(kind, value, width)
                spare -= len(parts) - 1
            fitted.extend((kind, self.fit(kind, part, width)) for part in parts)
        exact = min((f[2] for kind, f in fitted if kind == "exact"), default=self.size)
        return [(style, shown, exact if kind == "exact" else size) for kind, (style, shown, size) in fitted]


def _fill(
    pdf: Any, labels: Iterable[Label], layout: LabelLayout, *, ec_level: str, workers: int, progress: Progress | None
) -> tuple[int, bytes]:
    cell_w, cell_h = layout.cell
    top, left = layout.margins
    across, down = layout.gaps
    line = layout.font_size * _LINE / _MM
    page_h_pt = layout.page_size[1] * _MM
    text = _Text(pdf, layout)
    places: dict[int, _Place] = {}
    checked: set[tuple[int, int]] = set()
    count = 0
    for label, (size, drawing) in _matrices(iter(labels), ec_level, workers, layout.vector):
        slot = count % layout.per_page
        if slot == 0:
            if count and progress is not None:
                progress(count)
            pdf.add_page()
            text.start_page()
            pdf.set_line_width(0.1)
            pdf.set_draw_color(180)
        content = label.lines()
        n = len(content)
        place = places.get(n) or places.setdefault(n, layout._place(n))
        if (size, n) not in checked:
            _check_module(place.side, size, layout, n)
            checked.add((size, n))
        col, row = slot % layout.columns, slot // layout.columns
        x = left + col * (cell_w + across)
        y = top + row * (cell_h + down)
        if layout.outline:
            pdf.rect(x, y, cell_w, cell_h)
        ops = _ops(
            size,
            drawing,
            (x + place.code_x) * _MM,
            page_h_pt - (y + place.code_y) * _MM,
            side_pt=place.side * _MM,
            border=layout.border,
            vector=layout.vector,
        )
        pdf._out(ops)  # fpdf2 has no public call for raw content-stream operators
        capacity = int(place.text_height / line + 1e-9) if place.centred else n
        drawn = text.lines(content, place.text_width, capacity)
        ty = y + place.text_top + line * 0.8
        if place.centred:
            ty += max(0.0, (place.text_height - len(drawn) * line) / 2)
        for style, shown, font_size in drawn:
            text.draw(x + place.text_x, ty, style, shown, font_size)
            ty += line
        count += 1
    if count == 0:
        raise FormatError("no labels to write", code="E_LABELS_EMPTY")
    if progress is not None:
        progress(count)
    return count, bytes(pdf.output())


def _check_module(side: float, size: int, layout: LabelLayout, lines: int) -> None:
    module = side / (size + 2 * layout.border)
    if not module >= MIN_MODULE_MM:  # also refuses NaN
        w, h = layout.cell
        raise FormatError(
            f"on a {w:g} x {h:g} mm label with {lines} lines of text the code (QR version {(size - 17) // 4}) would "
            f"print {max(module, 0):.2f} mm modules, below the {MIN_MODULE_MM} mm phones read: use a larger label, "
            "fewer lines, error correction M or L, or a shorter resolver",
            code="E_LABEL_MODULE",
            field="label",
        )


def _close_fonts(pdf: Any) -> None:
    # fpdf2 opens TrueType files lazily and leaves them open; close them once the document is written.
    for font in getattr(pdf, "fonts", {}).values():
        close = getattr(font, "close", None)
        if callable(close):
            close()
