"""Print-ready PDF label sheets: a grid of labels, each with a QR code, the product name, the lot and the serial.

Fast by construction (ADR 0042): each QR code is drawn as vector rectangles straight from its module matrix (``re``
operators for the dark runs of each row, in a coordinate system of one module, no image per label), and the text uses
an embedded subset of DejaVu Sans (Bitstream Vera licence, ``fonts/LICENSE-DejaVu.txt``) that covers Vietnamese,
so "Đông trùng hạ thảo" prints as written. With ``workers > 1`` the QR encoding runs in worker processes while
this process writes the PDF. fpdf2 is imported lazily (the ``qr`` extra).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from ._errors import FormatError
from ._qr import EC_LEVELS, _require, make_qr

__all__ = ["FONT_PATH", "PAGE_SIZES", "Label", "LabelLayout", "write_label_sheet"]

_FONTS = Path(__file__).resolve().parent / "fonts"
#: The embedded regular font (a Vietnamese-covering subset of DejaVu Sans).
FONT_PATH = _FONTS / "DejaVuSans-vi.ttf"
_FONT_BOLD = _FONTS / "DejaVuSans-Bold-vi.ttf"
#: Page sizes in millimetres (portrait).
PAGE_SIZES = {"A4": (210.0, 297.0), "A5": (148.0, 210.0), "Letter": (215.9, 279.4)}
_MM = 72 / 25.4
_CHUNK = 256
_COMPRESS = True
_DARK_RUN = re.compile(b"\x01+")


def _chunk_tables(chunks: int = 25) -> list[dict[bytes, str]]:
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


_CHUNK_RUNS = _chunk_tables()  # 25 chunks: 200 modules, more than version 40's 177
_BIT_CHARS = bytes.maketrans(b"\x00\x01", b"10")

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Label:
    """One label.

    Attributes:
        code: The text of the QR code (a seal's URL form, usually).
        title: The product name (Vietnamese as signed).
        lot: The lot, printed as ``Lô/Lot``.
        serial: The unit's serial, printed as ``Số/SN``, if any.
    """

    code: str
    title: str
    lot: str
    serial: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelLayout:
    """A grid of equal labels on a page (sizes in millimetres).

    Attributes:
        page: ``A4`` (default), ``A5`` or ``Letter``.
        columns: Labels across.
        rows: Labels down.
        margin: Page margin.
        gap: Space between labels.
        font_size: Text size in points.
        border: Quiet zone around each code, in modules (4 is the standard).
        outline: Draw a thin cutting outline around each label.
        vector: Draw each module as a vector rectangle (default: exact at any printer resolution); False draws
            each code as a 1-bit image mask of one pixel per module, about twice as fast and a third of the size,
            which printers render crisply but some screen viewers smooth when zoomed.
    """

    page: str = "A4"
    columns: int = 4
    rows: int = 7
    margin: float = 8.0
    gap: float = 2.0
    font_size: float = 6.5
    border: int = 4
    outline: bool = True
    vector: bool = True

    def __post_init__(self) -> None:
        if self.page not in PAGE_SIZES:
            raise FormatError(f"page must be one of {sorted(PAGE_SIZES)}", code="E_FIELD", field="page")
        if not (1 <= self.columns <= 20 and 1 <= self.rows <= 40):
            raise FormatError("columns must be 1-20 and rows 1-40", code="E_FIELD", field="columns")
        if not (0 <= self.margin <= 40 and 0 <= self.gap <= 20 and 3 <= self.font_size <= 24 and self.border >= 0):
            raise FormatError("margin, gap, font size or border out of range", code="E_FIELD", field="margin")
        if self.cell[0] < 15 or self.qr_side < 10:
            raise FormatError("labels are too small for a readable code", code="E_FIELD", field="columns")

    @property
    def per_page(self) -> int:
        """Labels per page."""
        return self.columns * self.rows

    @property
    def cell(self) -> tuple[float, float]:
        """Width and height of one label."""
        w, h = PAGE_SIZES[self.page]
        return (
            (w - 2 * self.margin - (self.columns - 1) * self.gap) / self.columns,
            (h - 2 * self.margin - (self.rows - 1) * self.gap) / self.rows,
        )

    @property
    def text_height(self) -> float:
        """Height of the three text lines under the code."""
        return 3 * self.font_size * 1.2 / _MM

    @property
    def qr_side(self) -> float:
        """Side of the code, quiet zone included."""
        w, h = self.cell
        return min(w, h - self.text_height) - 1.0


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
    tables = _CHUNK_RUNS
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


def _fit(pdf: Any, text: str, width: float) -> str:
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


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
        layout: The grid (A4, 4 x 7 by default).
        ec_level: QR error correction (Q by default).
        workers: Processes that encode QR codes (1 = this process only).
        title: The PDF's document title.
        progress: Called with the number of labels placed, after each page.

    Returns:
        The number of labels written.

    Raises:
        FormatError: ``E_QR_CAPACITY`` for a code too long for the label, ``E_FIELD`` for a bad layout,
            ``E_LABELS_EMPTY`` when there is no label, ``E_IO`` when ``out`` cannot be written.
        MissingExtraError: fpdf2 or zxing-cpp is not installed.
    """
    layout = layout or LabelLayout()
    if ec_level not in EC_LEVELS:
        raise FormatError(f"error correction must be one of {EC_LEVELS}", code="E_QR_LEVEL", field="ec_level")
    fpdf = _require("fpdf")
    pdf = fpdf.FPDF(orientation="P", unit="mm", format=PAGE_SIZES[layout.page])
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


def _fill(
    pdf: Any, labels: Iterable[Label], layout: LabelLayout, *, ec_level: str, workers: int, progress: Progress | None
) -> tuple[int, bytes]:
    cell_w, cell_h = layout.cell
    side = layout.qr_side
    line = layout.font_size * 1.2 / _MM
    page_h_pt = PAGE_SIZES[layout.page][1] * _MM
    fitted: dict[tuple[str, str], str] = {}
    count = 0
    for label, (size, drawing) in _matrices(iter(labels), ec_level, workers, layout.vector):
        slot = count % layout.per_page
        if slot == 0:
            if count and progress is not None:
                progress(count)
            pdf.add_page()
            pdf.set_line_width(0.1)
            pdf.set_draw_color(180)
        col, row = slot % layout.columns, slot // layout.columns
        x = layout.margin + col * (cell_w + layout.gap)
        y = layout.margin + row * (cell_h + layout.gap)
        if layout.outline:
            pdf.rect(x, y, cell_w, cell_h)
        qx = x + (cell_w - side) / 2
        ops = _ops(
            size,
            drawing,
            qx * _MM,
            page_h_pt - (y + 0.5) * _MM,
            side_pt=side * _MM,
            border=layout.border,
            vector=layout.vector,
        )
        pdf._out(ops)  # fpdf2 has no public call for raw content-stream operators
        ty = y + 0.5 + side + line * 0.8
        for style, text in (
            ("B", label.title),
            ("", f"Lô/Lot: {label.lot}"),
            ("", f"Số/SN: {label.serial}" if label.serial is not None else ""),
        ):
            if text:
                pdf.set_font("DejaVuSans", style, layout.font_size)
                key = (style, text)
                shown = fitted.get(key)
                if shown is None:
                    shown = _fit(pdf, text, cell_w - 2)
                    if len(fitted) < 4096:
                        fitted[key] = shown
                pdf.text(x + 1, ty, shown)
            ty += line
        count += 1
    if count == 0:
        raise FormatError("no labels to write", code="E_LABELS_EMPTY")
    if progress is not None:
        progress(count)
    return count, bytes(pdf.output())


def _close_fonts(pdf: Any) -> None:
    # fpdf2 opens TrueType files lazily and leaves them open; close them once the document is written.
    for font in getattr(pdf, "fonts", {}).values():
        close = getattr(font, "close", None)
        if callable(close):
            close()
