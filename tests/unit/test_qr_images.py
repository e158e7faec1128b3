"""Reading codes from untrusted images (ADR 0044, issue 10 finding 4): hostile images fail closed with their own
error code in bounded time and memory; phone photos of one code still decode."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import ocop_provenance as op
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ocop_provenance import _imagedecode, _qr
from ocop_provenance.seals import make_qr, qr_to_png, scan_image, scan_one

from tests.images import generate as images

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("zxingcpp")

ROOT = Path(__file__).resolve().parents[2]
#: A time budget no loaded machine reaches, for tests about what an image reads as, not how fast: a 12 MP photo
#: takes well under 0.3 s on a quiet machine, but the suite runs in parallel on shared cores. The default 1 s
#: budget is tested by the finder-pattern grid, and measured by benchmarks/bench_qr.py.
NO_HURRY = 120.0


@pytest.fixture(scope="module")
def hostile() -> dict[str, bytes]:
    return {h.name: h.build() for h in images.HOSTILE}


@pytest.mark.parametrize("case", images.HOSTILE, ids=lambda h: h.name)
def test_each_hostile_image_fails_closed_with_its_own_code(case: images.Hostile, hostile: dict[str, bytes]) -> None:
    with pytest.raises(op.FormatError) as info:
        scan_one(hostile[case.name])
    assert info.value.code in case.codes, (case.name, info.value.code, str(info.value))


def test_the_finder_pattern_grid_is_stopped_by_the_time_budget(hostile: dict[str, bytes]) -> None:
    data = hostile["finder-grid-at-decode-size"]
    assert len(data) < 10_000  # a few kilobytes...
    with pytest.raises(op.FormatError) as info:
        scan_image(data, timeout=0.3)
    assert info.value.code == "E_IMAGE_TIMEOUT"
    assert "0.3 s" in str(info.value)
    # The killed worker is replaced: the next image reads normally.
    assert scan_one(qr_to_png(make_qr("https://id.example.vn/x"))) == "https://id.example.vn/x"


@pytest.mark.skipif(sys.platform != "linux", reason="peaks are read from Linux's /proc")
def test_hostile_images_are_refused_in_bounded_time_and_memory(tmp_path: Path, hostile: dict[str, bytes]) -> None:
    # Generous bounds (the target is 2 s and 100 MB; before the fix the 40 MP grid took minutes and 200 MB).
    # benchmarks/bench_qr.py prints the measured figures.
    paths = []
    for name, data in hostile.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "tests.images.measure", *paths],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    doc = json.loads(run.stdout)
    for path, (code, elapsed) in doc["results"].items():
        assert code is not None, path
        assert elapsed < 15, (path, elapsed)
    assert 0 < doc["self_mb"] < 200, doc
    assert 0 < doc["worker_mb"] < 200, doc


@pytest.mark.parametrize("photo", images.PHOTOS, ids=lambda p: p.name)
def test_phone_photos_of_one_code_decode(photo: images.Photo) -> None:
    data = photo.build()
    assert len(data) > 1_000_000
    assert scan_one(data, timeout=NO_HURRY) == images.PHOTO_TEXT


def test_in_process_decoding_gives_the_same_answers(hostile: dict[str, bytes]) -> None:
    photo = images.PHOTOS[0].build()
    assert scan_one(photo, timeout=None) == scan_one(photo, timeout=NO_HURRY) == images.PHOTO_TEXT
    many = hostile["many-codes"]
    assert scan_image(many, timeout=None) == scan_image(many, timeout=NO_HURRY)
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="timeout"):
            scan_image(photo, timeout=bad)


def test_a_worker_that_died_is_replaced() -> None:
    png = qr_to_png(make_qr("https://id.example.vn/y"))
    assert scan_one(png) == "https://id.example.vn/y"
    proc = _qr._DECODER._proc
    assert proc is not None
    proc.kill()
    proc.wait()
    assert scan_one(png) == "https://id.example.vn/y"
    assert _qr._DECODER._proc is not proc


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_process_gets_its_own_worker() -> None:
    png = qr_to_png(make_qr("https://id.example.vn/z"))
    assert scan_one(png) == "https://id.example.vn/z"  # the parent's worker is running
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            code = 0 if scan_one(png) == "https://id.example.vn/z" else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert scan_one(png) == "https://id.example.vn/z"  # and the parent's still answers


# ---- the header probe -------------------------------------------------------------------------------------------


def _jpeg(img: Image.Image, **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format="JPEG", **kw)
    return out.getvalue()


def test_jpeg_probe_counts_coefficients_only_for_several_scans() -> None:
    img = Image.new("RGB", (3000, 2000), (200, 180, 150))
    baseline = _imagedecode.probe(_jpeg(img), 25_000_000)
    assert (baseline.format, baseline.width, baseline.height, baseline.scale) == ("JPEG", 3000, 2000, 1)
    assert baseline.decoded_bytes == 3000 * 2000  # decoded straight to grey
    progressive = _imagedecode.probe(_jpeg(img, progressive=True, subsampling=0), 25_000_000)
    assert progressive.decoded_bytes == 3000 * 2000 + 3 * 3000 * 2000 * 2  # + three 16-bit coefficient planes
    subsampled = _imagedecode.probe(_jpeg(img, progressive=True, subsampling=2), 25_000_000)
    blocks = 375 * 250 + 2 * 188 * 125  # 8 x 8 blocks: luma, then two chroma planes at half size (rounded up)
    assert subsampled.decoded_bytes == 3000 * 2000 + blocks * 64 * 2
    # A baseline file whose first scan holds one component of three (non-interleaved) is also buffered whole.
    data = bytearray(_jpeg(img, subsampling=0))
    sos = data.index(b"\xff\xda")
    data[sos + 4] = 1
    assert _imagedecode.probe(bytes(data), 25_000_000).decoded_bytes == 3000 * 2000 + 3 * 3000 * 2000 * 2


def test_jpeg_probe_ignores_the_scans_of_an_embedded_thumbnail() -> None:
    # A phone photo carries an EXIF thumbnail: a whole JPEG (with its own scan) inside APP1.
    thumb = _jpeg(Image.new("RGB", (160, 120), (90, 90, 90)))
    exif = Image.Exif()
    app1 = b"Exif\0\0" + exif.tobytes() + thumb
    main = _jpeg(Image.new("RGB", (4032, 3024), (200, 180, 150)))
    with_thumb = main[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + main[2:]
    assert with_thumb.count(b"\xff\xda") == 2
    header = _imagedecode.probe(with_thumb, 25_000_000)
    assert (header.width, header.scale, header.decoded_bytes) == (4032, 1, 4032 * 3024)  # grey, no coefficients
    assert scan_image(with_thumb, timeout=NO_HURRY) == ()
    # Nor the progressive image appended after it (MPF: a phone's HDR gain map or depth map).
    gain_map = _jpeg(Image.new("L", (1008, 756), 128), progressive=True)
    assert _imagedecode.probe(with_thumb + gain_map, 25_000_000).decoded_bytes == 4032 * 3024


def test_jpeg_is_decoded_at_a_reduced_scale() -> None:
    assert _imagedecode.jpeg_scale(5712, 4284) == 2
    assert _imagedecode.jpeg_scale(4032, 3024) == 1  # 4032 // 2048 = 1: decoded whole, then scaled down
    assert _imagedecode.jpeg_scale(16384, 12288) == 8
    assert _imagedecode.draft_size(1000, 800) == (1000, 800)
    header = _imagedecode.probe(_jpeg(Image.new("L", (8200, 2000), 128)), 25_000_000)
    assert (header.scale, header.decoded_bytes) == (4, 2050 * 500)


def test_png_text_chunks_are_never_inflated() -> None:
    code = Image.open(io.BytesIO(qr_to_png(make_qr("https://id.example.vn/t"))))
    plain = io.BytesIO()
    code.save(plain, format="PNG")
    data = plain.getvalue()
    broken = struct.pack(">I", 12) + b"zTXt" + b"Comment\0\0xyz" + b"\0\0\0\0"  # corrupt zlib, bad CRC
    with_text = data[:33] + broken + data[33:]
    assert scan_one(with_text) == "https://id.example.vn/t"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"GIF89a", "E_IMAGE_FORMAT"),
        (images.png(0, 10, b""), "E_IMAGE_FORMAT"),
        (images.png(10, 10, b"", depth=3), "E_IMAGE_FORMAT"),
        (images.png(10, 10, b"", colour=5), "E_IMAGE_FORMAT"),
        (images.png(6000, 5000, b""), "E_IMAGE_TOO_LARGE"),
        (images.png(4000, 4000, b"", colour=2), "E_IMAGE_TOO_LARGE"),  # 16 MP fits, 80 MB to decode does not
        (b"\xff\xd8\xff\xda\x00\x02", "E_IMAGE_FORMAT"),  # a scan before the frame header
        (b"\xff\xd8\xff\xc0\x00\x05\x08\x00", "E_IMAGE_FORMAT"),
        (images.jpeg_declaring(0, 100), "E_IMAGE_FORMAT"),
        (images.jpeg_declaring(8000, 4000), "E_IMAGE_TOO_LARGE"),
    ],
)
def test_probe_refusals(data: bytes, code: str) -> None:
    with pytest.raises(_imagedecode.Refused) as info:
        _imagedecode.probe(data, _qr.DEFAULT_MAX_PIXELS)
    assert info.value.code == code
    with pytest.raises(op.FormatError) as error:
        scan_image(data)
    assert error.value.code == code


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"\xff\xd8\xff\xc0"]))
def test_the_probe_raises_only_refusals(tail: bytes, head: bytes) -> None:
    code = None
    try:
        _imagedecode.probe(head + tail, _qr.DEFAULT_MAX_PIXELS)
    except _imagedecode.Refused as e:
        code = e.code
    assert code in {None, "E_IMAGE_FORMAT", "E_IMAGE_TOO_LARGE"}


def test_ihdr_crc_is_not_the_probes_business() -> None:
    # The probe reads fields; Pillow, in the worker, checks the CRCs.
    data = bytearray(images.png(10, 10, zlib.compress(bytes(11 * 10))))
    data[29] ^= 0xFF
    with pytest.raises(op.FormatError) as info:
        scan_image(bytes(data))
    assert info.value.code == "E_IMAGE_FORMAT"
