"""QR codes: encode text to a module matrix, render PNG/SVG/terminal, and read codes from untrusted images.

The only module (with :mod:`._labels`) that imports the optional QR and image libraries, and only lazily, inside
functions: the library imports and verifies seals without them, and a call that needs them raises
:class:`MissingExtraError` naming the ``qr`` extra (``pip install 'ocop-provenance[qr]'``).

Encoding uses zxing-cpp (ADR 0041): it picks QR segment modes optimally, so a Digital Link with a run of seal
digits is written as byte mode then numeric mode, and it is about 14 times faster than qrcode. Reading uses
zxing-cpp as well, through :mod:`._imagedecode` (ADR 0044): the header is checked here before any pixel is decoded
(decompression bombs), and the pixels are decoded and read in a worker process killed when over its time budget.
"""

from __future__ import annotations

import importlib.util
import io
import math
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from . import _imagedecode
from ._errors import ErrorCode, FormatError, ProvenanceError

__all__ = [
    "DEFAULT_DECODE_TIMEOUT",
    "DEFAULT_MAX_IMAGE_BYTES",
    "DEFAULT_MAX_PIXELS",
    "EC_LEVELS",
    "MissingExtraError",
    "QrCode",
    "ensure_qr_extra",
    "make_qr",
    "qr_to_png",
    "qr_to_svg",
    "qr_to_terminal",
    "scan_image",
    "scan_one",
]

#: Error-correction levels, lowest to highest; GS1 recommends Q or better on packaging (the default).
EC_LEVELS = ("L", "M", "Q", "H")
#: Largest image accepted by :func:`scan_image`, in pixels (checked from the header, before decoding): a 24 MP
#: phone photo (5712 x 4284) fits.
DEFAULT_MAX_PIXELS = 25_000_000
#: Largest image file accepted by :func:`scan_image`, in bytes.
DEFAULT_MAX_IMAGE_BYTES = 32 * 1024 * 1024
#: Seconds :func:`scan_image`'s decoder may spend on one image (a phone photo takes well under 0.3 s).
DEFAULT_DECODE_TIMEOUT = 1.0
_MAX_TEXT = 2953  # the most bytes a QR code (version 40-L) holds
_TO_DARK = bytes(1 if i < 128 else 0 for i in range(256))
_TO_GREY = bytes([255, 0]) + bytes(254)
_DECODER = _imagedecode.Worker()


class MissingExtraError(ProvenanceError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""

    code = ErrorCode.MISSING_EXTRA


def _require(module: str) -> ModuleType:
    try:
        # import_module returns a loaded module straight from sys.modules (called once per label: it matters).
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtraError(
            f"{module} is not installed: install the qr extra (pip install 'ocop-provenance[qr]')",
            code="E_MISSING_EXTRA",
        ) from e


def ensure_qr_extra() -> None:
    """Check that the ``qr`` extra is installed (zxing-cpp, Pillow and fpdf2), before any costly work.

    A caller about to ask for a passphrase or sign many seals can fail early with the same error the drawing
    and reading functions would raise later.

    Raises:
        MissingExtraError: One of them is missing; the message says ``pip install 'ocop-provenance[qr]'``.
    """
    for module in ("zxingcpp", "PIL.Image", "fpdf"):
        _require(module)


def _zxing() -> Any:
    return _require("zxingcpp")


def _pil() -> Any:
    return _require("PIL.Image")


@dataclass(frozen=True, slots=True)
class QrCode:
    """A QR symbol as a square module matrix.

    Attributes:
        text: The encoded text.
        ec_level: ``L``, ``M``, ``Q`` or ``H``.
        size: Modules per side (17 + 4 x version), without the quiet zone.
        modules: ``size * size`` bytes, row by row, 1 for a dark module and 0 for a light one.
    """

    text: str
    ec_level: str
    size: int
    modules: bytes

    @property
    def version(self) -> int:
        """The QR version, 1-40."""
        return (self.size - 17) // 4

    def row(self, y: int) -> bytes:
        """Return row ``y`` (1 = dark)."""
        return self.modules[y * self.size : (y + 1) * self.size]

    def runs(self) -> list[tuple[int, int, int]]:
        """Return the dark modules as horizontal runs ``(x, y, length)``, row by row (for vector output)."""
        out = []
        size = self.size
        mods = self.modules
        for y in range(size):
            start = y * size
            x = mods.find(1, start, start + size)
            while x != -1:
                end = mods.find(0, x, start + size)
                if end == -1:
                    end = start + size
                out.append((x - start, y, end - x))
                x = mods.find(1, end, start + size)
        return out


def make_qr(text: str, *, ec_level: str = "Q") -> QrCode:
    """Encode ``text`` as the smallest QR code at ``ec_level``, with optimal segment modes.

    Args:
        text: What the code holds (a seal URL or text form, or any text).
        ec_level: Error correction: ``L``, ``M``, ``Q`` (default, GS1's recommendation for packaging) or ``H``.

    Returns:
        The module matrix.

    Raises:
        FormatError: ``E_QR_LEVEL`` (unknown level), ``E_QR_CAPACITY`` (too long for any QR version).
        MissingExtraError: zxing-cpp is not installed.
    """
    if ec_level not in EC_LEVELS:
        raise FormatError(f"error correction must be one of {EC_LEVELS}", code="E_QR_LEVEL", field="ec_level")
    if not isinstance(text, str) or not text:
        raise FormatError("nothing to encode", code="E_QR_CAPACITY")
    if len(text.encode("utf-8")) > _MAX_TEXT:
        raise FormatError("too long for a QR code", code="E_QR_CAPACITY")
    zx = _zxing()
    try:
        barcode = zx.create_barcode(text, zx.BarcodeFormat.QRCode, ec_level=ec_level)
        view = memoryview(barcode.to_image(scale=1, add_quiet_zones=False))
    except (ValueError, RuntimeError) as e:
        raise FormatError(f"cannot encode as a QR code: {e}", code="E_QR_CAPACITY") from e
    size = view.shape[0] if view.shape is not None else 0
    modules = view.tobytes().translate(_TO_DARK)
    if size < 21 or len(modules) != size * size:
        raise FormatError("the QR encoder returned an unexpected matrix", code="E_QR_CAPACITY")  # pragma: no cover
    return QrCode(text, ec_level, size, modules)


def qr_to_png(qr: QrCode, *, scale: int = 8, border: int = 4, dpi: float | None = None) -> bytes:
    """Render a PNG (1-bit, black on white).

    Args:
        qr: The code.
        scale: Pixels per module.
        border: Quiet zone in modules (the standard asks for 4).
        dpi: The resolution written in the file (its pHYs chunk), so that a word processor or label program
            places it at its printed size: ``scale * 25.4 / dpi`` millimetres per module. None writes none
            (programs then assume 72 or 96 dpi, and the code comes out several times too large).

    Raises:
        MissingExtraError: Pillow is not installed.
        ValueError: ``scale`` below 1, ``border`` below 0, or ``dpi`` not a positive number.
    """
    if scale < 1 or border < 0:
        raise ValueError("scale must be >= 1 and border >= 0")
    if dpi is not None and not (isinstance(dpi, (int, float)) and 0 < dpi < math.inf):
        raise ValueError("dpi must be a positive number")
    image_mod = _pil()
    side = qr.size + 2 * border
    grey = qr.modules.translate(_TO_GREY)
    img = image_mod.new("L", (side, side), 255)
    img.paste(image_mod.frombytes("L", (qr.size, qr.size), grey), (border, border))
    if scale != 1:
        img = img.resize((side * scale, side * scale), image_mod.Resampling.NEAREST)
    out = io.BytesIO()
    options: dict[str, Any] = {"optimize": True}
    if dpi is not None:
        options["dpi"] = (dpi, dpi)
    img.convert("1").save(out, format="PNG", **options)
    return out.getvalue()


def qr_to_svg(qr: QrCode, *, module_size: float = 1.0, border: int = 4, unit: str = "mm") -> str:
    """Render an SVG: one path of horizontal runs, in user units of one module.

    Args:
        qr: The code.
        module_size: Printed size of one module in ``unit`` (0.5 mm or more suits packaging).
        border: Quiet zone in modules.
        unit: ``mm``, ``px``, ``in`` or ``pt`` for the width and height attributes.
    """
    if unit not in ("mm", "px", "in", "pt"):
        raise ValueError("unit must be mm, px, in or pt")
    side = qr.size + 2 * border
    d = "".join(f"M{x + border} {y + border}h{n}v1h-{n}z" for x, y, n in qr.runs())
    length = f"{side * module_size:g}{unit}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{length}" height="{length}" '
        f'viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d="{d}"/></svg>\n'
    )


def qr_to_terminal(qr: QrCode, *, border: int = 2, invert: bool = False) -> str:
    """Render with Unicode half blocks, two module rows per line.

    By default light modules are drawn as blocks, so the code reads as dark-on-light in a terminal with light
    text on a dark background; pass ``invert=True`` for dark text on a light background.
    """
    size = qr.size + 2 * border
    light = 0 if invert else 1

    def cell(x: int, y: int) -> int:
        inside = border <= x < border + qr.size and border <= y < border + qr.size
        dark = inside and qr.modules[(y - border) * qr.size + (x - border)] == 1
        return int(dark) ^ light

    chars = {(0, 0): " ", (1, 0): "▀", (0, 1): "▄", (1, 1): "█"}
    lines = []
    for y in range(0, size, 2):
        lines.append("".join(chars[cell(x, y), cell(x, y + 1) if y + 1 < size else 1 - light] for x in range(size)))
    return "\n".join(lines) + "\n"


def _decoder_paths() -> tuple[str, ...]:
    # Where Pillow and zxing-cpp are installed: the decoder worker runs isolated (python -I -S) with only these
    # directories on its path. Found without importing either, so a missing one is the usual MissingExtraError.
    paths: list[str] = []
    for name in ("PIL", "zxingcpp"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or spec.origin is None:
            _require(name)  # raises MissingExtraError naming the extra
            continue  # pragma: no cover - importable after all, though without a spec origin
        origin = Path(spec.origin).parent
        where = str(origin.parent if spec.submodule_search_locations is not None else origin)
        if where not in paths:
            paths.append(where)
    return tuple(paths)


def scan_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
    timeout: float | None = DEFAULT_DECODE_TIMEOUT,
) -> tuple[str, ...]:
    """Read every QR code in an untrusted PNG or JPEG image, in bounded time and memory (ADR 0044).

    Before any pixel is decoded, the header is read here and the image refused if it is not a PNG or JPEG, declares
    more than ``max_pixels`` pixels, or would take more than 48 MiB to decode. The pixels are then decoded and read
    in a separate worker process (started on first use and kept), scaled so that the longer side is at most 2048
    pixels; the worker is killed when it takes longer than ``timeout`` seconds (a grid of finder patterns keeps a
    QR detector busy for minutes).

    Args:
        data: The image file's bytes.
        max_pixels: Largest accepted image (declared width x height).
        max_bytes: Largest accepted file.
        timeout: Seconds the worker may spend on the image (wall-clock, not counting its start). ``None`` decodes
            in this process with no time limit: only for images you produced yourself.

    Returns:
        The distinct texts found, in reading order (possibly none).

    Raises:
        FormatError: ``E_SIZE`` (file too large), ``E_IMAGE_FORMAT`` (not a readable PNG or JPEG),
            ``E_IMAGE_TOO_LARGE`` (too many pixels, or too much memory to decode), ``E_IMAGE_TIMEOUT`` (reading
            took longer than ``timeout``), ``E_IMAGE_DECODER`` (the worker could not start or stopped).
        MissingExtraError: Pillow or zxing-cpp is not installed.
        ValueError: ``timeout`` is not a positive number of seconds.
    """
    if timeout is not None and not (isinstance(timeout, (int, float)) and 0 < timeout < math.inf):
        raise ValueError("timeout must be a positive number of seconds, or None")
    if len(data) > max_bytes:
        raise FormatError(f"image of {len(data)} bytes exceeds the limit of {max_bytes}", code="E_SIZE")
    paths = _decoder_paths()
    try:
        _imagedecode.probe(data, max_pixels)
        if timeout is None:
            texts = _imagedecode.decode(data, max_pixels)
        else:
            texts = _DECODER.decode(bytes(data), max_pixels, timeout=timeout, paths=paths)
    except _imagedecode.Refused as e:
        raise FormatError(e.message, code=e.code) from None
    return tuple(dict.fromkeys(texts))


def scan_one(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
    timeout: float | None = DEFAULT_DECODE_TIMEOUT,
) -> str:
    """Read the one QR code an image must hold (the arguments are those of :func:`scan_image`).

    Raises:
        FormatError: ``E_NO_CODE`` (none found), ``E_MANY_CODES`` (several different codes), or the codes of
            :func:`scan_image`.
    """
    texts = scan_image(data, max_pixels=max_pixels, max_bytes=max_bytes, timeout=timeout)
    if not texts:
        raise FormatError("no QR code found in the image", code="E_NO_CODE")
    if len(texts) > 1:
        raise FormatError(f"{len(texts)} different QR codes in the image: photograph one", code="E_MANY_CODES")
    return texts[0]
