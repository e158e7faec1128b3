"""Reading QR codes from untrusted image bytes: a header probe, a bounded decode, and the decoder worker's loop.

This file runs two ways (ADR 0044):

* imported by :mod:`._qr`, which calls :func:`probe` (the image's header, before any pixel is decoded) and, when
  its caller asked for no time budget, :func:`decode`;
* as the script of the decoder worker, a separate Python process (``python -I -S _imagedecode.py DIR...``) that
  :mod:`._qr` starts once and keeps: it reads requests on stdin, calls :func:`decode` and answers on stdout. The
  parent kills it when an answer takes longer than the time budget, so no image can hold the caller's process.

It imports nothing from the package (the worker starts without the package's dependencies) and imports Pillow
and zxing-cpp only inside :func:`decode`. Its errors are :class:`Refused` with a stable code; :mod:`._qr` turns
them into :class:`FormatError`.

What bounds the work, in order:

1. :func:`probe` reads only the header (PNG: the IHDR chunk; JPEG: the markers up to the first scan's header) and
   refuses anything but PNG and JPEG, more than ``max_pixels`` declared pixels, and an image whose decoding would
   hold more than :data:`MAX_DECODED_BYTES` (Pillow's pixel buffers, and for a progressive JPEG, or one whose first
   scan lacks a component, libjpeg's buffer of every DCT coefficient).
2. :func:`decode` gives Pillow a PNG stripped of every ancillary chunk (text chunks are never inflated), decodes a
   JPEG directly at a reduced scale (1/2, 1/4 or 1/8) and in grey, and scales the image down so that its longer
   side is at most :data:`MAX_SIDE` pixels (what a phone photo of one code needs) before zxing-cpp sees it.
3. The QR detector's own work (which grows with the square of the number of finder-pattern candidates) has no
   such bound: the worker's time budget, enforced by the parent, is what ends it.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import struct
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

#: The longer side, in pixels, of the image zxing-cpp reads: larger images are scaled down first. A code that
#: fills a tenth of a 12 MP photo's width still has about 3 pixels per module at this size.
MAX_SIDE = 2048
#: The most memory Pillow may hold while decoding one image (pixel buffers and JPEG coefficients), in bytes.
MAX_DECODED_BYTES = 48 * 1024 * 1024
#: What the worker writes once it is ready, and at the start of every request and answer.
MAGIC = b"OCQ1"
#: Answer status: the texts found, or a refusal (code and message as JSON).
OK, REFUSED = 0, 1
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEEP = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"})
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_STANDALONE = frozenset({0x01, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8})


class Refused(Exception):  # noqa: N818 - a refusal, not a bug: _qr maps it to FormatError
    """The image is refused; ``code`` is the stable error code :mod:`._qr` raises."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Header:
    """What the header of an image says, and what decoding it would cost.

    Attributes:
        format: ``PNG`` or ``JPEG``.
        width: Declared width in pixels.
        height: Declared height in pixels.
        scale: The JPEG reduced-decoding factor (1, 2, 4 or 8) that keeps the longer side at least
            :data:`MAX_SIDE`; 1 for PNG.
        decoded_bytes: The most memory Pillow holds while decoding it (an upper estimate).
    """

    format: str
    width: int
    height: int
    scale: int
    decoded_bytes: int


def probe(data: bytes, max_pixels: int) -> Header:
    """Read an image's header and refuse it before any pixel is decoded.

    Raises:
        Refused: ``E_IMAGE_FORMAT`` (not a well-formed PNG or JPEG header), ``E_IMAGE_TOO_LARGE`` (more than
            ``max_pixels`` declared pixels, or more than :data:`MAX_DECODED_BYTES` to decode).
    """
    if data.startswith(_PNG_SIGNATURE):
        header = _probe_png(data, max_pixels)
    elif data.startswith(b"\xff\xd8"):
        header = _probe_jpeg(data, max_pixels)
    else:
        raise Refused("E_IMAGE_FORMAT", "not a PNG or JPEG image")
    if header.decoded_bytes > MAX_DECODED_BYTES:
        raise Refused(
            "E_IMAGE_TOO_LARGE",
            f"decoding this {header.width}x{header.height} {header.format} would take "
            f"{header.decoded_bytes // 2**20} MiB, more than {MAX_DECODED_BYTES // 2**20} MiB",
        )
    return header


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise Refused("E_IMAGE_TOO_LARGE", f"the image declares {width}x{height} pixels, more than {max_pixels}")


def _probe_png(data: bytes, max_pixels: int) -> Header:
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        raise Refused("E_IMAGE_FORMAT", "not a PNG image: its first chunk is not a header")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if not (width and height) or depth not in _PNG_DEPTHS.get(colour, ()) or compression or filtering or interlace > 1:
        raise Refused("E_IMAGE_FORMAT", "not a PNG image: its header is invalid")
    _check_pixels(width, height, max_pixels)
    # Pillow holds 8-bit grey and palette images in 1 byte per pixel, everything else in 4; all but 8-bit grey
    # are then converted to grey (1 byte per pixel more).
    grey = colour == 0 and depth == 8
    per_pixel = 1 if grey else (2 if colour in (0, 3) and depth <= 8 else 5)
    return Header(format="PNG", width=width, height=height, scale=1, decoded_bytes=width * height * per_pixel)


def _probe_jpeg(data: bytes, max_pixels: int) -> Header:
    pos, end = 2, len(data)
    frame: tuple[int, int, list[tuple[int, int]], bool] | None = None
    while True:
        pos = data.find(b"\xff", pos)  # skips junk between segments, as Pillow does
        if pos == -1 or pos + 1 >= end:
            raise Refused("E_IMAGE_FORMAT", "not a JPEG image: it ends before its first scan")
        marker = data[pos + 1]
        if marker == 0xFF or marker in _JPEG_STANDALONE or marker == 0x00:
            pos += 1 if marker == 0xFF else 2
            continue
        if marker == 0xD9 or pos + 4 > end:
            raise Refused("E_IMAGE_FORMAT", "not a JPEG image: it ends before its first scan")
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if length < 2 or pos + 2 + length > end:
            raise Refused("E_IMAGE_FORMAT", "not a JPEG image: a segment runs past the end")
        segment = data[pos + 4 : pos + 2 + length]
        if marker in _JPEG_SOF and frame is None:
            frame = _jpeg_frame(marker, segment, max_pixels)
        elif marker == 0xDA:
            if frame is None or not segment:
                raise Refused("E_IMAGE_FORMAT", "not a JPEG image: a scan comes before the frame header")
            # libjpeg keeps a coefficient buffer of the whole image when the file is progressive or its first scan
            # holds fewer components than the frame (jdinput.c, has_multiple_scans); later scans change nothing.
            width, height, sampling, progressive = frame
            return _jpeg_header(width, height, sampling, several_scans=progressive or segment[0] < len(sampling))
        pos += 2 + length


def _jpeg_frame(marker: int, segment: bytes, max_pixels: int) -> tuple[int, int, list[tuple[int, int]], bool]:
    if len(segment) < 6:
        raise Refused("E_IMAGE_FORMAT", "not a JPEG image: its frame header is cut short")
    _precision, height, width, count = struct.unpack(">BHHB", segment[:6])
    if not (width and height) or count not in (1, 3, 4) or len(segment) < 6 + 3 * count:
        raise Refused("E_IMAGE_FORMAT", "not a JPEG image: its frame header is invalid")
    _check_pixels(width, height, max_pixels)
    sampling = [(segment[7 + 3 * i] >> 4, segment[7 + 3 * i] & 15) for i in range(count)]
    if any(not (1 <= h <= 4 and 1 <= v <= 4) for h, v in sampling):
        raise Refused("E_IMAGE_FORMAT", "not a JPEG image: its sampling factors are invalid")
    progressive = marker in (0xC2, 0xC6, 0xCA, 0xCE)
    return width, height, sampling, progressive


def jpeg_scale(width: int, height: int) -> int:
    """The reduced-decoding factor Pillow's ``draft`` picks for a request of :func:`draft_size`."""
    request = draft_size(width, height)
    ratio = min(width // request[0], height // request[1])
    return next(s for s in (8, 4, 2, 1) if ratio >= s)


def draft_size(width: int, height: int) -> tuple[int, int]:
    """The size to ask Pillow's ``draft`` for: the longer side scaled to :data:`MAX_SIDE` (or the image's size)."""
    longer = max(width, height)
    if longer <= MAX_SIDE:
        return width, height
    return max(1, width * MAX_SIDE // longer), max(1, height * MAX_SIDE // longer)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _jpeg_header(width: int, height: int, sampling: list[tuple[int, int]], *, several_scans: bool) -> Header:
    scale = jpeg_scale(width, height)
    out = _ceil(width, scale) * _ceil(height, scale)
    # Grey and YCbCr are decoded straight to grey (1 byte per pixel); CMYK to 4 bytes, then converted.
    decoded = out if len(sampling) < 4 else 5 * out
    if several_scans:
        h_max, v_max = max(h for h, _ in sampling), max(v for _, v in sampling)
        blocks = sum(_ceil(_ceil(width * h, h_max), 8) * _ceil(_ceil(height * v, v_max), 8) for h, v in sampling)
        decoded += blocks * 64 * 2  # one 16-bit coefficient per sample
    return Header(format="JPEG", width=width, height=height, scale=scale, decoded_bytes=decoded)


def _png_pixels_only(data: bytes) -> bytes:
    # The critical chunks (and tRNS) in their order: text, ICC and other ancillary chunks are never parsed, so no
    # compressed text is ever inflated. Animation chunks go too: an APNG reads as its default image.
    out = [_PNG_SIGNATURE]
    pos, end = 8, len(data)
    while pos + 12 <= end:
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        kind = data[pos + 4 : pos + 8]
        stop = pos + 12 + length
        if stop > end:
            out.append(data[pos:end])  # cut short: Pillow reports it
            break
        if kind in _PNG_KEEP:
            out.append(data[pos:stop])
        if kind == b"IEND":
            break
        pos = stop
    return b"".join(out)


def decode(data: bytes, max_pixels: int) -> list[str]:
    """Decode the image's pixels within the limits of :func:`probe` and return the texts of the valid QR codes.

    The pixel decoding is bounded by the probe; the QR detector is not (a grid of finder patterns keeps it busy
    for seconds): run this under a time budget, in a process that can be killed.

    Raises:
        Refused: The codes of :func:`probe`, or ``E_IMAGE_FORMAT`` when the pixel data is corrupt or truncated.
    """
    header = probe(data, max_pixels)
    import zxingcpp  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415 - optional dependency, loaded on use

    if header.format == "PNG":
        data = _png_pixels_only(data)
    with warnings.catch_warnings(), _as_refusal(Image):
        # The probe's limits are lower than Pillow's own decompression-bomb limit; its warning is noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        img: Any = Image.open(io.BytesIO(data), formats=[header.format])
    if img.size != (header.width, header.height):
        raise Refused("E_IMAGE_FORMAT", "the image's header is inconsistent")
    with _as_refusal(Image):
        if header.format == "JPEG":
            img.draft("L", draft_size(header.width, header.height))
        img.load()
        grey = img if img.mode == "L" else img.convert("L")
    longer = max(grey.size)
    if longer > MAX_SIDE:
        size = (max(1, grey.width * MAX_SIDE // longer), max(1, grey.height * MAX_SIDE // longer))
        grey = grey.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    qr_only: Any = zxingcpp.BarcodeFormat.QRCode
    found = zxingcpp.read_barcodes(grey, formats=qr_only)
    return [barcode.text for barcode in found if barcode.valid]


@contextlib.contextmanager
def _as_refusal(image_module: Any) -> Iterator[None]:
    try:
        yield
    except MemoryError as e:
        raise Refused("E_IMAGE_TOO_LARGE", "the image needs more memory than is allowed") from e
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, image_module.DecompressionBombError) as e:
        raise Refused("E_IMAGE_FORMAT", "the image data is corrupt or truncated") from e


# ---- the worker ---------------------------------------------------------------------------------------------------


def _read_exact(stream: IO[bytes], n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def encode_request(data: bytes, max_pixels: int) -> bytes:
    """The header of a request to the worker (the image's bytes follow it)."""
    return MAGIC + struct.pack(">QQ", max_pixels, len(data))


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The worker's loop: one answer per request, until stdin closes."""
    stdout.write(MAGIC)
    stdout.flush()
    while True:
        head = _read_exact(stdin, 20)
        if head is None or head[:4] != MAGIC:
            return
        max_pixels, size = struct.unpack(">QQ", head[4:])
        data = _read_exact(stdin, size)
        if data is None:
            return
        try:
            status, body = OK, json.dumps(decode(data, max_pixels))
        except Refused as e:
            status, body = REFUSED, json.dumps([e.code, e.message])
        except Exception as e:  # noqa: BLE001 - any other failure is reported, never kills the worker silently
            status, body = REFUSED, json.dumps(["E_IMAGE_DECODER", f"the image decoder failed: {type(e).__name__}"])
        payload = body.encode("utf-8")
        stdout.write(MAGIC + struct.pack(">BI", status, len(payload)) + payload)
        stdout.flush()


def _limit_memory(limit: int) -> None:
    # A backstop under the probe's estimates: the worker's whole address space (Linux, macOS); ignored elsewhere.
    try:
        import resource  # noqa: PLC0415 - POSIX only

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # pragma: no cover - platform without the limit
        pass


# ---- the worker, seen from the caller's process ---------------------------------------------------------------------

#: How long a new worker may take to start (import Pillow and zxing-cpp) before the call fails.
START_TIMEOUT = 30.0


class Worker:
    """The decoder worker process, seen from the caller: started on first use, kept, killed when over budget.

    One request at a time (a lock); a process that forks gets a worker of its own. The worker exits when its
    stdin closes: at interpreter exit (:func:`atexit`), or when the caller's process dies.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._exit_registered = False
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def decode(self, data: bytes, max_pixels: int, *, timeout: float, paths: Sequence[str]) -> list[str]:
        """Decode in the worker; kill it when the answer takes longer than ``timeout`` seconds.

        Raises:
            Refused: The worker's refusal; ``E_IMAGE_TIMEOUT`` when over budget; ``E_IMAGE_DECODER`` when the
                worker cannot start or stops without answering.
        """
        with self._lock:
            proc = self._start(paths)
            timed_out, answer = self._exchange(proc, encode_request(data, max_pixels), data, timeout)
            if answer is None:
                self._stop(kill=True)
                if timed_out:
                    raise Refused(
                        "E_IMAGE_TIMEOUT", f"reading the image took longer than {timeout:g} s: it was stopped"
                    )
                raise Refused("E_IMAGE_DECODER", f"the image decoder stopped (exit status {proc.returncode})")
        status, payload = answer
        value = json.loads(payload.decode("utf-8"))
        if status != OK:
            raise Refused(str(value[0]), str(value[1]))
        return [str(text) for text in value]

    def close(self) -> None:
        """Stop the worker (it is started again by the next :meth:`decode`)."""
        with self._lock:
            self._stop(kill=False)

    def _start(self, paths: Sequence[str]) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop(kill=True)
        if not sys.executable:
            raise Refused(
                "E_IMAGE_DECODER",
                "cannot start the image decoder: no Python interpreter (pass timeout=None to decode in this process)",
            )
        argv = [sys.executable, "-I", "-S", __file__, *paths]
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and script, no shell
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
        except OSError as e:
            raise Refused("E_IMAGE_DECODER", f"cannot start the image decoder: {e.strerror or e}") from e
        self._proc = proc
        if not self._exit_registered:
            atexit.register(self.close)
            self._exit_registered = True
        if self._exchange(proc, b"", b"", START_TIMEOUT, ready=True)[1] is None:
            self._stop(kill=True)
            raise Refused("E_IMAGE_DECODER", "the image decoder did not start")
        return proc

    @staticmethod
    def _exchange(
        proc: subprocess.Popen[bytes], head: bytes, data: bytes, timeout: float, *, ready: bool = False
    ) -> tuple[bool, tuple[int, bytes] | None]:
        # Blocking pipe I/O in a helper thread, so that this thread can give up after ``timeout``. Returns whether
        # it gave up, and the answer (None when it gave up or the worker stopped without answering).
        answer: list[tuple[int, bytes]] = []

        def run() -> None:
            stdin, stdout = proc.stdin, proc.stdout
            assert stdin is not None
            assert stdout is not None
            try:
                if ready:
                    if _read_exact(stdout, 4) == MAGIC:
                        answer.append((OK, b""))
                    return
                stdin.write(head)
                stdin.write(data)
                stdin.flush()
                reply = _read_exact(stdout, 9)
                if reply is None or reply[:4] != MAGIC:
                    return
                status, size = struct.unpack(">BI", reply[4:])
                payload = _read_exact(stdout, size)
                if payload is not None:
                    answer.append((status, payload))
            except (OSError, ValueError):  # the worker died or was killed
                return

        thread = threading.Thread(target=run, name="ocop-image-decoder", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            proc.kill()
            thread.join()
            return True, None
        return False, answer[0] if answer else None

    def _stop(self, *, kill: bool) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            if kill:
                proc.kill()
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a worker that ignores EOF
            proc.kill()
            proc.wait()

    def _forget(self) -> None:
        # In a forked child: the worker belongs to the parent. Close this process's copies of its pipes (so the
        # parent's worker still sees EOF when the parent closes them) and start a new worker when needed.
        self._lock = threading.Lock()
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            proc.returncode = 0  # not this process's child: never wait for it


if __name__ == "__main__":  # the worker: python -I -S _imagedecode.py DIR... (DIR: where Pillow and zxing-cpp are)
    sys.path[:0] = sys.argv[1:]
    _limit_memory(512 * 1024 * 1024)
    import PIL.Image
    import PIL.JpegImagePlugin
    import PIL.PngImagePlugin  # noqa: F401
    import zxingcpp  # noqa: F401

    serve(sys.stdin.buffer, sys.stdout.buffer)
