from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
import zlib
from datetime import date

import ocop_provenance as op
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocop_provenance.events import ChainHead, open_batch
from ocop_provenance.seals import (
    MissingExtraError,
    Seal,
    make_qr,
    make_seal,
    qr_to_png,
    qr_to_svg,
    qr_to_terminal,
    scan_image,
    scan_one,
)

from tests.conftest import key, sample_chain
from tests.verifying import options

zxingcpp = pytest.importorskip("zxingcpp")
Image = pytest.importorskip("PIL.Image")

R = "https://id.example.vn"
DAY = date(2024, 11, 2)
CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


def read(img: Image.Image) -> list[str]:
    """Decode with zxing-cpp, independently of the library's scan functions."""
    return [b.text for b in zxingcpp.read_barcodes(img.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)]


def raster(dark: set[tuple[int, int]], side: int, scale: int = 6) -> Image.Image:
    img = Image.new("L", (side, side), 255)
    for x, y in dark:
        img.putpixel((x, y), 0)
    return img.resize((side * scale, side * scale), Image.Resampling.NEAREST)


def png_bytes(img: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **kw)
    return out.getvalue()


@pytest.fixture(scope="module")
def seal() -> Seal:
    signer = key(1)
    chain = sample_chain(signer)
    return make_seal(chain[0], chain[-1], signer, resolver=R, sealed_on=DAY, serial="SN000123")


def test_url_form_fits_version_10_at_q(seal: Seal) -> None:
    signer = key(1)
    chain = sample_chain(signer)
    url = make_seal(chain[0], chain[-1], signer, resolver=R, sealed_on=DAY).to_url()
    assert re.search(r"/01/\d{14}/10/.{8}\?s=\d+$", url)
    versions = {ec: make_qr(url, ec_level=ec).version for ec in "LMQ"}
    assert versions["Q"] <= 10, versions
    assert make_qr(seal.to_url()).version <= 10  # with an 8-character serial too
    assert make_qr(url).ec_level == "Q"


def test_png_decodes_to_exactly_the_text(seal: Seal) -> None:
    for text in (seal.to_url(), seal.to_text()):
        qr = make_qr(text)
        data = qr_to_png(qr, scale=4)
        assert data.startswith(b"\x89PNG")
        assert read(Image.open(io.BytesIO(data))) == [text]
        assert scan_one(data) == text


def test_svg_decodes_to_exactly_the_text(seal: Seal) -> None:
    text = seal.to_url()
    qr = make_qr(text)
    svg = qr_to_svg(qr, module_size=0.5)
    assert 'width="' + f"{(qr.size + 8) * 0.5:g}mm" in svg
    dark = set()
    for x, y, n in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        dark |= {(int(x) + i, int(y)) for i in range(int(n))}
    assert read(raster(dark, qr.size + 8)) == [text]


@pytest.mark.parametrize("invert", [False, True])
def test_terminal_output_decodes(seal: Seal, invert: bool) -> None:
    text = seal.to_text()
    qr = make_qr(text)
    out = qr_to_terminal(qr, invert=invert)
    halves = {" ": (0, 0), "▀": (1, 0), "▄": (0, 1), "█": (1, 1)}
    lines = out.splitlines()
    side = len(lines[0])
    dark = set()
    for row, line in enumerate(lines):
        for x, ch in enumerate(line):
            top, bottom = halves[ch]
            for dy, lit in ((0, top), (1, bottom)):
                if lit == invert:  # blocks are light modules unless inverted
                    dark.add((x, 2 * row + dy))
    img = raster({(x, y) for x, y in dark if y < side}, side)
    assert read(img) == [text]


def test_photo_like_jpeg_decodes_and_verifies(seal: Seal) -> None:
    text = seal.to_url()
    img = Image.open(io.BytesIO(qr_to_png(make_qr(text), scale=6))).convert("L")
    canvas = Image.new("L", (img.width + 300, img.height + 200), 200)
    canvas.paste(img.rotate(7, expand=True, fillcolor=255), (120, 60))
    data = png_bytes(canvas.convert("RGB"), "JPEG", quality=70)
    assert scan_one(data) == text
    assert op.verify_seal(scan_one(data), options(op.KeyRing.of([key(1).public_key]))).code == "SEAL_OK"


def test_no_code_and_several_codes(seal: Seal) -> None:
    blank = png_bytes(Image.new("L", (200, 200), 255))
    assert scan_image(blank) == ()
    with pytest.raises(op.FormatError) as info:
        scan_one(blank)
    assert info.value.code == "E_NO_CODE"
    a = Image.open(io.BytesIO(qr_to_png(make_qr(seal.to_url()), scale=4)))
    b = Image.open(io.BytesIO(qr_to_png(make_qr(seal.to_text()), scale=4)))
    both = Image.new("L", (a.width + b.width, max(a.height, b.height)), 255)
    both.paste(a, (0, 0))
    both.paste(b, (a.width, 0))
    data = png_bytes(both)
    assert set(scan_image(data)) == {seal.to_url(), seal.to_text()}
    with pytest.raises(op.FormatError) as info:
        scan_one(data)
    assert info.value.code == "E_MANY_CODES"
    twice = Image.new("L", (2 * a.width, a.height), 255)
    twice.paste(a, (0, 0))
    twice.paste(a, (a.width, 0))
    assert scan_one(png_bytes(twice)) == seal.to_url()  # the same code twice is one code


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\0" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat))
        + b"IDAT"
        + idat
        + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
        + b"\0\0\0\0IEND\xaeB`\x82"
    )


@pytest.mark.parametrize(("w", "h"), [(100_000, 100_000), (10_000, 5_000), (70_000, 2_000)])
def test_decompression_bombs_are_refused_before_decoding(w: int, h: int) -> None:
    data = _png_header(w, h)
    assert len(data) < 120
    with pytest.raises(op.FormatError) as info:
        scan_image(data)
    assert info.value.code == "E_IMAGE_TOO_LARGE"


def test_only_png_and_jpeg_are_read(seal: Seal) -> None:
    img = Image.open(io.BytesIO(qr_to_png(make_qr(seal.to_url()), scale=4)))
    for fmt in ("GIF", "BMP", "TIFF"):
        with pytest.raises(op.FormatError) as info:
            scan_image(png_bytes(img, fmt))
        assert info.value.code == "E_IMAGE_FORMAT", fmt
    for junk in (b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, png_bytes(img)[:200]):
        with pytest.raises(op.FormatError) as info:
            scan_image(junk)
        assert info.value.code == "E_IMAGE_FORMAT"
    with pytest.raises(op.FormatError) as info:
        scan_image(png_bytes(img), max_bytes=100)
    assert info.value.code == "E_SIZE"
    with pytest.raises(op.FormatError) as info:
        scan_image(png_bytes(img), max_pixels=100)
    assert info.value.code == "E_IMAGE_TOO_LARGE"


def test_encoder_limits() -> None:
    with pytest.raises(op.FormatError) as info:
        make_qr("x", ec_level="X")
    assert info.value.code == "E_QR_LEVEL"
    for text in ("", "9" * 8000, "a" * 3000):
        with pytest.raises(op.FormatError) as info:
            make_qr(text)
        assert info.value.code == "E_QR_CAPACITY"
    assert make_qr("Đông trùng hạ thảo").size >= 21
    assert read(Image.open(io.BytesIO(qr_to_png(make_qr("Đông trùng hạ thảo"))))) == ["Đông trùng hạ thảo"]


def test_missing_extra_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zxingcpp", None)
    with pytest.raises(MissingExtraError) as info:
        make_qr("x")
    assert info.value.code == "E_MISSING_EXTRA"
    assert "qr" in str(info.value)
    assert isinstance(info.value, ImportError)


def test_library_works_without_the_qr_extra() -> None:
    code = (
        "import sys\n"
        "for m in ('zxingcpp', 'PIL', 'fpdf'): sys.modules[m] = None\n"
        "import ocop_provenance as op\n"
        "from ocop_provenance.events import open_batch\n"
        "from ocop_provenance.seals import MissingExtraError, make_qr, make_seal\n"
        "from datetime import date\n"
        "k = op.PrivateKey.from_seed(bytes(32))\n"
        "g = open_batch(op.Genesis(time=__import__('datetime').datetime(2024,1,1,tzinfo="
        "__import__('datetime').timezone.utc), product=op.Product(name='Chè', lot='L1', quantity='1', unit='kg'),"
        " producer=op.Producer(name='HTX')), k)\n"
        "s = make_seal(g, g, k, resolver='https://x.vn', sealed_on=date(2024,1,2))\n"
        "opts = op.VerifyOptions(keys=op.KeyRing.of([k.public_key]), now=op.NO_CLOCK)\n"
        "assert op.verify_seal(s.to_url(), opts).code == 'SEAL_OK'\n"
        "try:\n    make_qr('x')\nexcept MissingExtraError as e:\n    print(e.code)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "E_MISSING_EXTRA"


values = st.text(alphabet=CSET82, min_size=1, max_size=20)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lot=values,
    serial=st.none() | values,
    seq_index=st.integers(min_value=0, max_value=3),
    days=st.integers(min_value=20000, max_value=0xFFFF),
    host=st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?\.(vn|com|example)", fullmatch=True),
    gtin=st.booleans(),
    ec=st.sampled_from("LMQH"),
)
def test_every_producible_code_renders_and_round_trips(
    lot: str, serial: str | None, seq_index: int, days: int, host: str, gtin: bool, ec: str
) -> None:
    signer = key(1)
    product = op.Product(
        name="Chè Shan tuyết", lot=lot, quantity="1", unit="kg", gtin="08931234567897" if gtin else None
    )
    chain = sample_chain(signer)
    genesis = open_batch(op.Genesis(time=chain[0].time, product=product, producer=chain[0].body.producer), signer)
    head = ChainHead(
        batch_id=genesis.event_id, seq=[0, 1, 300, 2**63 - 1][seq_index], event_id=genesis.event_id, time=genesis.time
    )
    s = make_seal(
        genesis,
        head,
        signer,
        resolver=f"https://{host}",
        sealed_on=date(1970, 1, 1) + __import__("datetime").timedelta(days=days),
        serial=serial,
    )
    ring = op.KeyRing.of([signer.public_key])
    for text in (s.to_url(), s.to_text()):
        qr = make_qr(text, ec_level=ec)
        assert scan_one(qr_to_png(qr, scale=3)) == text
        assert op.verify_seal(text, options(ring)).seal == s
        qr_to_svg(qr)
        qr_to_terminal(qr)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_as_an_image_raise_only_library_errors(data: bytes) -> None:
    codes = set()
    for candidate in (data, b"\x89PNG\r\n\x1a\n" + data, b"\xff\xd8\xff\xe0" + data):
        try:
            scan_image(candidate)
        except op.FormatError as e:
            codes.add(e.code)
    assert codes <= {"E_IMAGE_FORMAT", "E_IMAGE_TOO_LARGE"}
