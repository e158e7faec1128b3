"""Hostile and realistic images for the QR reader (docs/adr/0044-untrusted-images.md, issue 10 finding 4).

    python -m tests.images.generate OUTDIR      # writes every image below into OUTDIR, and a list of them

Nothing binary is committed: every image is built here from code and fixed seeds, so the tests and
``benchmarks/bench_qr.py`` regenerate exactly the attack they measure. Two families:

* **hostile** images, each named after the attack it carries: a grid of QR finder patterns (the finding: the QR
  detector's work grows with the square of the number of finder-pattern candidates, so a 23 KB PNG kept a decoder
  busy for minutes), the same grid drawn at the size the reader decodes at (so downscaling cannot blur it away),
  headers that declare huge images, PNG and JPEG decompression bombs (pixels, text chunks, a progressive JPEG's
  coefficient buffers) and an image holding many valid codes;
* **phone photos**: large JPEGs of one printed label (12 and 24 megapixels), rotated, in perspective, slightly out
  of focus, unevenly lit and noisy, as a phone camera takes them. They must still decode.
"""

from __future__ import annotations

import io
import math
import random
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import ocop_provenance as op
from ocop_provenance.seals import make_qr, qr_to_png

FONT = Path(op.__file__).resolve().parent / "fonts" / "DejaVuSans-vi.ttf"
#: The text of the code in the photos: a realistic seal URL's length (the seal digits are not a valid seal).
JPEG_SOI = b"\xff\xd8"
PHOTO_TEXT = "https://id.example.vn/01/08931234567897/10/L2411-01/21/SN000123?s=" + "7" * 212


# ---- PNG and JPEG written by hand (the attacks need fields no encoder writes) ------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int, height: int, idat: bytes, *, depth: int = 8, colour: int = 0, extra: bytes = b"") -> bytes:
    """A PNG with the given IHDR fields, optional chunks before the image data, and ``idat`` as its data."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _zeros_stream(rows: int, row_bytes: int) -> bytes:
    # zlib of ``rows`` filter-0 rows of zeros, without holding them in memory.
    z = zlib.compressobj(9)
    row = bytes(row_bytes + 1)
    return b"".join(z.compress(row) for _ in range(rows)) + z.flush()


def jpeg_declaring(width: int, height: int) -> bytes:
    """A JPEG whose SOF0 header declares ``width`` x ``height`` and that has no image data."""
    sof = struct.pack(">BHHB", 8, height, width, 1) + bytes([1, 0x11, 0])
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


def _resize_jpeg(data: bytes, width: int, height: int) -> bytes:
    # Rewrite the first SOFn header's size: the entropy data then ends early, after the decoder has allocated.
    out = bytearray(data)
    pos = 2
    while pos + 4 <= len(out):
        marker = out[pos + 1]
        length = struct.unpack(">H", out[pos + 2 : pos + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            out[pos + 5 : pos + 9] = struct.pack(">HH", height, width)
            return bytes(out)
        pos += 2 + length
    raise ValueError("no SOF marker")  # pragma: no cover


# ---- hostile images ---------------------------------------------------------------------------------------------


def finder_grid(width: int, height: int, *, module: int = 1, gap: int = 1) -> bytes:
    """A 1-bit PNG tiled with QR finder patterns (7 x 7 modules), ``gap`` modules apart.

    Every pattern is a candidate for the QR detector, and it compares each candidate with the ones found before:
    the work grows with the square of their number, while the PNG compresses to almost nothing.
    """
    cell = (7 + gap) * module
    tile = Image.new("1", (cell, cell), 1)
    draw = ImageDraw.Draw(tile)
    for inset, ink in ((0, 0), (1, 1), (2, 0)):
        draw.rectangle([inset * module, inset * module, (7 - inset) * module - 1, (7 - inset) * module - 1], fill=ink)
    row = Image.new("1", (width, cell), 1)
    for x in range(0, width - cell + 1, cell):
        row.paste(tile, (x, 0))
    img = Image.new("1", (width, height), 1)
    for y in range(0, height - cell + 1, cell):
        img.paste(row, (0, y))
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def many_codes(columns: int, rows: int, *, scale: int = 3) -> bytes:
    """A PNG holding ``columns`` x ``rows`` different valid QR codes."""
    tiles = [
        Image.open(io.BytesIO(qr_to_png(make_qr(f"https://id.example.vn/ocop/{i:08d}", ec_level="L"), scale=scale)))
        for i in range(columns * rows)
    ]
    side = tiles[0].width
    img = Image.new("L", (columns * side, rows * side), 255)
    for i, tile in enumerate(tiles):
        img.paste(tile, ((i % columns) * side, (i // columns) * side))
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def png_pixel_bomb(width: int, height: int) -> bytes:
    """An RGBA PNG of zeros: a few kilobytes that decode to ``width * height * 4`` bytes."""
    return png(width, height, _zeros_stream(height, width * 4), colour=6)


def png_text_bomb(chunks: int, *, inflated: int = 1_000_000) -> bytes:
    """A small valid PNG preceded by ``chunks`` zTXt chunks that each inflate to ``inflated`` bytes."""
    text = _chunk(b"zTXt", b"Comment\0\0" + zlib.compress(bytes(inflated), 9))
    return png(64, 64, _zeros_stream(64, 64), extra=text * chunks)


def progressive_jpeg_bomb(width: int, height: int) -> bytes:
    """A progressive JPEG declaring ``width`` x ``height``: the decoder holds every DCT coefficient (2 bytes each)."""
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 90, 60)).save(out, format="JPEG", progressive=True, subsampling=0)
    return _resize_jpeg(out.getvalue(), width, height)


@dataclass(frozen=True, slots=True)
class Hostile:
    """One hostile image: its name (the attack), how to build it, and the error codes that refuse it."""

    name: str
    build: Callable[[], bytes]
    codes: frozenset[str]
    what: str


#: The side the finder-pattern grid is drawn at so that the reader's downscaling leaves it intact.
DECODE_SIDE = 2048

HOSTILE = (
    Hostile(
        "finder-grid-40mp",
        lambda: finder_grid(6320, 6320),
        frozenset({"E_IMAGE_TOO_LARGE"}),
        "the finding as reported: ~40 MP of finder patterns, 23 KB (minutes of decoding before the fix)",
    ),
    Hostile(
        "finder-grid-at-decode-size",
        lambda: finder_grid(DECODE_SIDE, DECODE_SIDE),
        frozenset({"E_IMAGE_TIMEOUT"}),
        "65,000 finder patterns at the size the reader decodes at (several seconds of detector work)",
    ),
    Hostile(
        "finder-grid-large-modules",
        lambda: finder_grid(4000, 4000, module=2, gap=1),
        frozenset({"E_IMAGE_TIMEOUT", "E_NO_CODE"}),
        "finder patterns of 2-pixel modules in 16 MP: downscaled to the decode size they stay patterns",
    ),
    Hostile(
        "declares-10-gigapixels-png",
        lambda: png(100_000, 100_000, _zeros_stream(1, 16)),
        frozenset({"E_IMAGE_TOO_LARGE"}),
        "a 100-byte PNG whose header declares 100,000 x 100,000 pixels",
    ),
    Hostile(
        "declares-4-gigapixels-jpeg",
        lambda: jpeg_declaring(65_000, 65_000),
        frozenset({"E_IMAGE_TOO_LARGE"}),
        "a JPEG header declaring 65,000 x 65,000 pixels",
    ),
    Hostile(
        "declares-thin-strip-png",
        lambda: png(60_000_000, 1, _zeros_stream(1, 16)),
        frozenset({"E_IMAGE_TOO_LARGE"}),
        "a PNG one pixel high and 60 million wide",
    ),
    Hostile(
        "png-pixel-bomb",
        lambda: png_pixel_bomb(4500, 4500),
        frozenset({"E_IMAGE_TOO_LARGE"}),
        "an RGBA PNG of 20 MP (under the pixel cap) in a few kilobytes: 81 MB once decoded",
    ),
    Hostile(
        "png-text-bomb",
        lambda: png_text_bomb(60),
        frozenset({"E_NO_CODE", "E_IMAGE_FORMAT"}),
        "60 compressed text chunks of 1 MB each before a small image",
    ),
    Hostile(
        "progressive-jpeg-coefficient-bomb",
        lambda: progressive_jpeg_bomb(5000, 4000),
        frozenset({"E_IMAGE_TOO_LARGE"}),
        "a progressive 4:4:4 JPEG of 20 MP: 120 MB of DCT coefficients held while decoding",
    ),
    Hostile(
        "many-codes",
        lambda: many_codes(12, 12),
        frozenset({"E_MANY_CODES", "E_IMAGE_TIMEOUT"}),
        "144 different valid QR codes in one image",
    ),
)


# ---- realistic phone photos -------------------------------------------------------------------------------------


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    # Gaussian elimination with partial pivoting (8 x 8: the perspective coefficients).
    n = len(b)
    m = [[*row, rhs] for row, rhs in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def _perspective(dest: list[tuple[float, float]], src: list[tuple[float, float]]) -> tuple[float, ...]:
    # Coefficients that map an output pixel (in dest) back to the input (src), as Image.transform wants them.
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dest, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -x * u, -y * u])
        rhs.append(u)
        rows.append([0, 0, 0, x, y, 1, -x * v, -y * v])
        rhs.append(v)
    return tuple(_solve(rows, rhs))


def _label_card(text: str, module_px: int) -> Image.Image:
    qr = make_qr(text)
    code = Image.open(io.BytesIO(qr_to_png(qr, scale=module_px, border=4))).convert("L")
    pad = module_px * 2
    font_size = module_px * 3
    card = Image.new("L", (code.width + 2 * pad, code.height + 4 * font_size + 2 * pad), 246)
    card.paste(code, (pad, pad))
    draw = ImageDraw.Draw(card)
    font = ImageFont.truetype(str(FONT), font_size)
    y = pad + code.height + font_size // 2
    for line in ("Đông trùng hạ thảo sấy khô", "Lô/Lot: L2411-01 · Số/SN: SN000123", "Quét mã để xác thực"):
        draw.text((pad, y), line, fill=30, font=font)
        y += int(font_size * 1.2)
    return card.convert("RGB")


def _noise_tile(rng: random.Random, side: int, sigma: float) -> Image.Image:
    values = bytes(max(0, min(255, round(rng.gauss(128, sigma)))) for _ in range(side * side))
    return Image.frombytes("L", (side, side), values)


def phone_photo(
    text: str = PHOTO_TEXT,
    *,
    size: tuple[int, int] = (4032, 3024),
    code_fraction: float = 0.22,
    angle: float = 17.0,
    tilt: float = 0.12,
    blur: float = 2.0,
    noise: float = 6.0,
    quality: int = 88,
    seed: int = 1,
) -> bytes:
    """A JPEG like a phone's photo of one printed label on a kraft-paper package.

    Args:
        text: What the code holds.
        size: The photo's width and height in pixels (4032 x 3024 is a 12 MP phone camera).
        code_fraction: The code's width as a fraction of the photo's width.
        angle: Rotation in degrees.
        tilt: Perspective: how much narrower the far edge of the label is (0 = seen straight on).
        blur: Gaussian blur radius in pixels (focus and hand shake).
        noise: Sensor noise (standard deviation, in grey levels).
        quality: JPEG quality.
        seed: Seeds the noise and the label's position.
    """
    rng = random.Random(seed)
    width, height = size
    qr_modules = make_qr(text).size + 8
    module_px = max(2, round(code_fraction * width / qr_modules / 2))  # the card is drawn at half size, then grown
    card = _label_card(text, module_px)
    scale = code_fraction * width / (qr_modules * module_px)
    cw, ch = card.width * scale, card.height * scale
    cx, cy = width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.6)
    t = math.radians(angle)

    def place(px: float, py: float) -> tuple[float, float]:
        shrink = 1 - tilt * (py / ch + 0.5)  # the far (top) edge is narrower
        x, y = px * shrink, py
        return cx + x * math.cos(t) - y * math.sin(t), cy + x * math.sin(t) + y * math.cos(t)

    corners = [place(-cw / 2, -ch / 2), place(cw / 2, -ch / 2), place(cw / 2, ch / 2), place(-cw / 2, ch / 2)]
    left, top = (math.floor(min(c[i] for c in corners)) for i in (0, 1))
    right, bottom = (math.ceil(max(c[i] for c in corners)) for i in (0, 1))
    box = (right - left, bottom - top)
    dest = [(x - left, y - top) for x, y in corners]
    src = [(0.0, 0.0), (card.width, 0.0), (card.width, card.height), (0.0, card.height)]
    coeffs = _perspective(dest, src)
    warped = card.transform(box, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    mask = Image.new("L", card.size, 255).transform(box, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)

    photo = Image.new("RGB", size, (186, 146, 98))  # kraft paper
    texture = _noise_tile(rng, 128, 18).resize((width // 8, height // 8), Image.Resampling.BICUBIC)
    texture = texture.resize(size, Image.Resampling.BILINEAR)
    photo = ImageChops.add(photo, Image.merge("RGB", [texture] * 3), 1.0, -128)
    photo.paste(warped, (left, top), mask)
    if blur:
        region = (max(0, left - 8), max(0, top - 8), min(width, right + 8), min(height, bottom + 8))
        photo.paste(photo.crop(region).filter(ImageFilter.GaussianBlur(blur)), region[:2])
    light = (
        Image.linear_gradient("L").rotate(rng.uniform(0, 360), fillcolor=128).resize(size, Image.Resampling.BILINEAR)
    )
    light = light.point(lambda v: 175 + v * 80 // 255)
    photo = ImageChops.multiply(photo, Image.merge("RGB", [light] * 3))
    grain = _noise_tile(rng, 256, noise)
    grains = Image.new("L", size)
    for y in range(0, height, 256):
        for x in range(0, width, 256):
            grains.paste(grain, (x, y))
    photo = ImageChops.add(photo, Image.merge("RGB", [grains] * 3), 1.0, -128)
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=quality)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Photo:
    """One realistic photo: its name and how to build it."""

    name: str
    build: Callable[[], bytes]


PHOTOS = (
    Photo("phone-12mp-rotated-blurred", phone_photo),
    Photo(
        "phone-12mp-portrait-small-code",
        lambda: phone_photo(size=(3024, 4032), code_fraction=0.2, angle=-32, tilt=0.18, blur=1.5, seed=2),
    ),
    Photo(
        "phone-24mp-tilted",
        lambda: phone_photo(size=(5712, 4284), code_fraction=0.18, angle=8, tilt=0.25, blur=2.5, seed=3),
    ),
    Photo(
        "phone-12mp-upside-down-noisy",
        lambda: phone_photo(angle=183, tilt=0.05, blur=2.5, noise=10, quality=75, seed=4),
    ),
)


def everything() -> Iterator[tuple[str, bytes, str]]:
    """Yield (file name, bytes, what it is) for every image."""
    for h in HOSTILE:
        data = h.build()
        ext = "jpg" if data.startswith(JPEG_SOI) else "png"
        yield f"{h.name}.{ext}", data, f"{h.what} -> {' or '.join(sorted(h.codes))}"
    for p in PHOTOS:
        yield f"{p.name}.jpg", p.build(), "a phone photo of one code: must decode"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.images.generate OUTDIR")
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, data, what in everything():
        (out / name).write_bytes(data)
        lines.append(f"{name}\t{len(data)} bytes\t{what}")
        print(lines[-1])
    (out / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
