"""ocop qr make / labels / verify: every code decodes with zxing-cpp to exactly the printed text, and verifies."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance.events import BundleBatch, BundleHeader, parse_unverified_event, write_bundle
from ocop_provenance.seals import (
    SEAL_TEXT_PREFIX,
    SealVerification,
    make_qr,
    parse_unverified_seal,
    qr_to_png,
    scan_one,
)
from ocop_provenance.trust import AuthorityPin, Participant, ParticipantKey, TrustList, sign_trust_list

from tests.images.generate import DECODE_SIDE, finder_grid
from tests.verifying import options

from .conftest import PRODUCT, Env, step

zxingcpp = pytest.importorskip("zxingcpp")
Image = pytest.importorskip("PIL.Image")

R = "https://id.example.vn"


def read(img: Image.Image) -> list[str]:
    """Decode with zxing-cpp directly (independently of the library's scan functions)."""
    return [b.text for b in zxingcpp.read_barcodes(img.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)]


def raster(dark: set[tuple[int, int]], side: int, scale: int = 6) -> Image.Image:
    img = Image.new("L", (side, side), 255)
    for x, y in dark:
        img.putpixel((x, y), 0)
    return img.resize((side * scale, side * scale), Image.Resampling.NEAREST)


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def sealed(env: Env, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A batch with three events, its producer's PEM; OCOP_RESOLVER set."""
    monkeypatch.setenv("OCOP_RESOLVER", R)
    env.new_key("coop")
    batch = env.new_batch(
        "coop",
        PRODUCT,
        "L2411-01",
        "--gtin",
        "08931234567897",
        "--ocop-stars",
        "4",
        "--ocop-cert",
        "123/QĐ-UBND",
        "--ocop-date",
        "2024-03-15",
        "--province",
        "Thanh Hóa",
        "--producer",
        "HTX Nông nghiệp Nghi Sơn",
    )
    assert step(env, batch, "commissioning", "2024-11-01T09:00:00+07:00").exit_code == 0
    assert step(env, batch, "ocop:drying", "2024-11-01T10:00:00+07:00").exit_code == 0
    return batch, env.pem("coop")


def ring(pem: Path) -> op.KeyRing:
    return op.KeyRing.of([op.PublicKey.from_pem(pem.read_bytes())])


# ---- make -----------------------------------------------------------------------------------------------------


def test_make_png_decodes_to_exactly_the_printed_url_and_verifies(env: Env, sealed: tuple[str, Path]) -> None:
    batch, pem = sealed
    out = env.tmp / "code.png"
    result = env.ok("qr", "make", batch, "--key", "coop", "-o", str(out))
    url = result.stdout.strip()
    assert url.startswith(f"{R}/01/08931234567897/10/L2411-01?s=")
    assert "QR version 10" in result.stderr
    assert scan_one(out.read_bytes()) == url
    assert read(Image.open(out)) == [url]
    verified = op.verify_seal(url, options(ring(pem)))
    assert verified.statement.seq == 2


def test_make_svg_decodes_to_exactly_the_printed_url(env: Env, sealed: tuple[str, Path]) -> None:
    batch, pem = sealed
    out = env.tmp / "code.svg"
    url = env.ok("qr", "make", batch, "--key", "coop", "-o", str(out), "--serial", "SN000123").stdout.strip()
    assert url.startswith(f"{R}/01/08931234567897/10/L2411-01/21/SN000123?s=")
    svg = out.read_text(encoding="utf-8")
    side = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))  # type: ignore[union-attr]
    dark = set()
    for x, y, n in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        dark.update((int(x) + i, int(y)) for i in range(int(n)))
    assert read(raster(dark, side)) == [url]
    assert op.verify_seal(url, options(ring(pem))).statement.serial == "SN000123"


def terminal_modules(drawing: str) -> tuple[set[tuple[int, int]], int]:
    """Turn the half-block drawing back into dark modules (light modules are drawn as blocks by default)."""
    lines = drawing.rstrip("\n").split("\n")
    top = {" ": 0, "▀": 1, "▄": 0, "█": 1}
    bottom = {" ": 0, "▀": 0, "▄": 1, "█": 1}
    dark = set()
    for row, line in enumerate(lines):
        for x, ch in enumerate(line):
            if not top[ch]:
                dark.add((x, 2 * row))
            if not bottom[ch]:
                dark.add((x, 2 * row + 1))
    side = len(lines[0])
    return {(x, y) for x, y in dark if y < side}, side


def test_make_terminal_draws_a_code_that_decodes(env: Env, sealed: tuple[str, Path]) -> None:
    batch, pem = sealed
    result = env.ok("qr", "make", batch, "--key", "coop", "-o", "-", "--ecc", "h")
    *drawing, url = result.stdout.rstrip("\n").split("\n")
    dark, side = terminal_modules("\n".join(drawing))
    assert read(raster(dark, side)) == [url]
    assert op.verify_seal(url, options(ring(pem))).code == "SEAL_OK"
    plain = env.ok("qr", "make", batch, "--key", "coop").stdout  # stdout is not a terminal: the text alone
    assert plain.count("\n") == 1
    assert plain.startswith(f"{R}/01/")
    doc = env.json("qr", "make", batch, "--key", "coop", "-o", "-")
    assert doc["format"] == "terminal"
    assert doc["qr"] == {"version": 10, "modules": 57, "ec_level": "Q"}
    assert doc["seal"]["batch_id"] == batch
    assert doc["seal"]["seq"] == 2
    dark, side = terminal_modules(doc["terminal"])
    assert read(raster(dark, side)) == [doc["text"]]


def test_make_text_form(env: Env, sealed: tuple[str, Path]) -> None:
    batch, pem = sealed
    out = env.tmp / "code.png"
    text = env.ok("qr", "make", batch, "--key", "coop", "--text-form", "-o", str(out)).stdout.strip()
    assert text.startswith("OCOP1:")
    assert scan_one(out.read_bytes()) == text
    assert op.verify_seal(text, options(ring(pem))).code == "SEAL_OK"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("-o", "code.gif"), 2),
        (("--ecc", "X"), 2),
        (("--serial", "SN 1"), 3),
        (("--resolver", "ftp://x"), 3),
    ],
)
def test_make_refuses_bad_options(env: Env, sealed: tuple[str, Path], args: tuple[str, ...], code: int) -> None:
    batch, _ = sealed
    result = env.run("qr", "make", batch, "--key", "coop", *args)
    assert result.exit_code == code, result.stderr


def test_make_needs_a_resolver_and_a_signer_of_the_batch(
    env: Env, sealed: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    batch, _ = sealed
    env.new_key("other")
    doc = env.json("qr", "make", batch, "--key", "other", code=3)
    assert doc["error"]["code"] == "E_SEAL_SIGNER"
    doc = env.json("qr", "make", "ffffffff", "--key", "coop", code=3)
    assert doc["error"]["code"] == "E_NOT_FOUND"
    monkeypatch.delenv("OCOP_RESOLVER")
    assert env.run("qr", "make", batch, "--key", "coop").exit_code == 2


def test_missing_qr_extra_names_the_extra(env: Env, sealed: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    batch, _ = sealed
    monkeypatch.setitem(__import__("sys").modules, "zxingcpp", None)
    monkeypatch.setenv("OCOP_PASSPHRASE", "not needed: the extra is checked first")
    result = env.run("qr", "make", batch, "--key", "coop")
    assert result.exit_code == 3
    assert "ocop-provenance[qr]" in result.stderr
    image = env.tmp / "x.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    doc = env.json("qr", "verify", "--image", str(image), "--trusted-key", str(env.tmp / "coop.pem"), code=3)
    assert doc["error"]["code"] == "E_MISSING_EXTRA"


# ---- labels ---------------------------------------------------------------------------------------------------


def rasterise_pdf(pdf_bytes: bytes) -> list[list[str]]:
    """Render every page at 300 dpi with PDFium and read the codes with zxing-cpp (as tests/unit/test_labels.py)."""
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument(pdf_bytes)
    return [read(page.render(scale=300 / 72).to_pil()) for page in doc]


def pdf_text(pdf_bytes: bytes) -> str:
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument(pdf_bytes)
    return "\n".join(page.get_textpage().get_text_range() for page in doc)


def test_labels_pdf_every_unit_decodes_and_verifies(env: Env, sealed: tuple[str, Path]) -> None:
    batch, pem = sealed
    out = env.tmp / "sheet.pdf"
    manifest = env.tmp / "units.csv"
    doc = env.json(
        "qr", "labels", batch, "--key", "coop", "--count", "7", "-o", str(out), "--grid", "3x2",
        "--serial-prefix", "HN-", "--first", "41", "--digits", "4", "--manifest", str(manifest),
    )  # fmt: skip
    assert (doc["labels"], doc["pages"]) == (7, 2)
    assert doc["first"]["serial"] == "HN-0041"
    assert doc["last"]["serial"] == "HN-0047"
    data = out.read_bytes()
    pages = rasterise_pdf(data)
    assert [len(p) for p in pages] == [6, 1]
    lines = manifest.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "serial,seal_id,code"
    urls = sorted(line.split(",", 2)[2] for line in lines[1:])
    assert sorted(t for p in pages for t in p) == urls
    keys = ring(pem)
    serials = sorted(op.verify_seal(u, options(keys)).statement.serial or "" for u in urls)
    assert serials == [f"HN-{n:04d}" for n in range(41, 48)]
    text = pdf_text(data)
    assert PRODUCT in text  # Vietnamese printed as signed
    assert "HN-0041" in text


def test_labels_from_a_serials_file_and_mask_mode(env: Env, sealed: tuple[str, Path]) -> None:
    batch, _ = sealed
    serials = env.tmp / "serials.txt"
    serials.write_text("A1\nA2\n\nA3\n", encoding="utf-8")
    out = env.tmp / "sheet.pdf"
    result = env.ok("qr", "labels", batch, "--key", "coop", "--serials", str(serials), "-o", str(out), "--mask")
    assert result.stdout.strip() == str(out)
    assert sorted(parse_unverified_seal(t).statement.serial or "" for t in rasterise_pdf(out.read_bytes())[0]) == [
        "A1",
        "A2",
        "A3",
    ]
    serials.write_text("A1\nA1\n", encoding="utf-8")
    assert (
        env.json("qr", "labels", batch, "--key", "coop", "--serials", str(serials), "-o", str(out), code=3)["error"][
            "code"
        ]
        == "E_DUPLICATE"
    )


@pytest.mark.parametrize(
    "args",
    [
        (),  # neither --count nor --serials
        ("--count", "0"),
        ("--count", "2", "-o", "sheet.png"),
        ("--count", "2", "--grid", "4by7"),
        ("--count", "2", "--page", "A3"),
        ("--count", "2", "--preset", "a4-99"),
        ("--count", "2", "--label", "50"),
        ("--count", "2", "--margin", "1,2,3"),
        ("--count", "2", "--produced", "yesterday"),
    ],
)
def test_labels_usage_errors(env: Env, sealed: tuple[str, Path], args: tuple[str, ...]) -> None:
    batch, _ = sealed
    full = ["qr", "labels", batch, "--key", "coop", *args]
    if "-o" not in args:
        full += ["-o", str(env.tmp / "sheet.pdf")]
    assert env.run(*full).exit_code == 2
    assert not (env.tmp / "sheet.pdf").exists()


def test_labels_on_a_thermal_roll_with_every_extra_line(env: Env, sealed: tuple[str, Path]) -> None:
    batch, pem = sealed
    assert step(env, batch, "packing", "2024-11-03T15:00:00+07:00", "--data", "expiry_date=2025-11-03").exit_code == 0
    out = env.tmp / "roll.pdf"
    doc = env.json(
        "qr", "labels", batch, "--key", "coop", "--count", "3", "-o", str(out), "--preset", "roll-50x30",
        "--produced", "batch", "--expires", "batch", "--show-producer", "--scan-hint",
    )  # fmt: skip
    assert doc["layout"] == {"label_mm": [50.0, 30.0], "per_page": 1, "module_mm": pytest.approx(0.431, abs=0.001)}
    assert (doc["labels"], doc["pages"]) == (3, 3)
    data = out.read_bytes()
    pages = rasterise_pdf(data)
    assert [len(p) for p in pages] == [1, 1, 1]
    keys = ring(pem)
    assert all(op.verify_seal(p[0], options(keys)).code in ("SEAL_OK", "SEAL_OLDER_HEAD") for p in pages)
    text = pdf_text(data)
    for line in ("NSX/MFG: 03/11/2024", "HSD/EXP: 03/11/2025", "HTX Nông nghiệp", "Quét mã để xác thực"):
        assert line in text, line


def test_labels_print_the_dates_as_corrected(env: Env, sealed: tuple[str, Path]) -> None:
    batch, _ = sealed
    assert step(env, batch, "packing", "2024-11-03T15:00:00+07:00", "--data", "expiry_date=2025-11-30").exit_code == 0
    packing = env.json("batch", "show", batch)["events"][-1]["seq"]
    fix = ("step", "correct", batch, "--seq", str(packing), "--key", "coop", "--at", "2024-11-04T08:00:00+07:00")
    assert env.run(*fix, "--reason", "HSD 12 tháng, không phải 13", "--data", "expiry_date=2025-11-03").exit_code == 0
    out = env.tmp / "roll.pdf"
    labels = ("qr", "labels", batch, "--key", "coop", "--count", "1", "-o", str(out), "--preset", "roll-50x30")
    env.ok(*labels, "--produced", "batch", "--expires", "batch")
    text = pdf_text(out.read_bytes())
    assert "HSD/EXP: 03/11/2025" in text  # the corrected value, never the recorded one
    assert "30/11/2025" not in text
    # The packing step withdrawn: the labels have no packing date to print, and say so.
    assert env.run(*fix, "--reason", "Chưa đóng gói").exit_code == 0
    result = env.run(*labels, "--produced", "batch", "--expires", "batch")
    assert result.exit_code == 3
    assert "E_LABEL_DATE" in result.stderr


def test_label_stock_from_the_command_line(env: Env, sealed: tuple[str, Path]) -> None:
    batch, _ = sealed
    out = env.tmp / "a4.pdf"
    result = env.ok(
        "qr", "labels", batch, "--key", "coop", "--count", "2", "-o", str(out),
        "--preset", "a4-65", "--produced", "2024-11-01",
    )  # fmt: skip
    assert "warning: the codes print 0.31 mm modules" in result.stderr  # 65-up: below the 0.33 mm advice
    assert "38.1 x 21.2 mm, 65 per page" in result.stderr
    custom = env.json(
        "qr", "labels", batch, "--key", "coop", "--count", "2", "-o", str(out),
        "--label", "60x40", "--grid", "3x6", "--margin", "15,15", "--gap", "0,3", "--vector",
    )  # fmt: skip
    assert custom["layout"]["label_mm"] == [60.0, 40.0]
    assert custom["layout"]["per_page"] == 18
    assert len(rasterise_pdf(out.read_bytes())[0]) == 2
    # a roll preset with another label size: the page follows the label
    roll = env.json(
        "qr", "labels", batch, "--key", "coop", "--count", "1", "-o", str(out), "--preset", "roll-50x30",
        "--label", "60x40",
    )  # fmt: skip
    assert roll["layout"]["label_mm"] == [60.0, 40.0]
    too_small = env.json(
        "qr", "labels", batch, "--key", "coop", "--count", "1", "-o", str(out), "--label", "20x20", "--grid", "1x1",
        "--page", "20x20", "--margin", "0", "--gap", "0", code=3,
    )  # fmt: skip
    assert too_small["error"]["code"] == "E_LABEL_MODULE"
    no_packing = env.json(
        "qr", "labels", batch, "--key", "coop", "--count", "1", "-o", str(out), "--produced", "batch", code=3
    )
    assert no_packing["error"]["code"] == "E_LABEL_DATE"
    too_big = env.json(
        "qr", "labels", batch, "--key", "coop", "--count", "1", "-o", str(out), "--label", "80x50", code=3
    )
    assert too_big["error"]["code"] == "E_FIELD"  # 4 x 7 of them do not fit an A4 sheet


def png_info(path: Path) -> tuple[tuple[float, float], int]:
    with Image.open(path) as img:
        return img.info["dpi"], img.width


def test_png_codes_carry_their_printed_size(env: Env, sealed: tuple[str, Path]) -> None:
    batch, _ = sealed
    png = env.tmp / "code.png"
    doc = env.json("qr", "make", batch, "--key", "coop", "-o", str(png), "--module-mm", "0.4")
    assert png_info(png)[0] == pytest.approx((508.0, 508.0), abs=0.1)  # 8 px per 0.4 mm module
    assert doc["printed"] == {"module_mm": 0.4, "width_mm": pytest.approx(26.0, abs=0.1), "dpi": 508.0}
    doc = env.json("qr", "make", batch, "--key", "coop", "-o", str(png), "--module-mm", "0.5", "--dpi", "203")
    dpi, width = png_info(png)
    assert dpi == pytest.approx((203.0, 203.0), abs=0.1)
    assert width == (doc["qr"]["modules"] + 8) * 4  # 0.5 mm at 203 dpi: 4 dots per module
    assert doc["printed"]["module_mm"] == pytest.approx(0.5, abs=0.01)
    small = env.run("qr", "make", batch, "--key", "coop", "-o", str(png), "--module-mm", "0.3")
    assert small.exit_code == 0
    assert "warning: the code prints 0.30 mm modules" in small.stderr
    refused = env.json("qr", "make", batch, "--key", "coop", "-o", str(png), "--module-mm", "0.2", code=3)
    assert refused["error"]["code"] == "E_LABEL_MODULE"


# ---- verify ---------------------------------------------------------------------------------------------------


@pytest.fixture
def code(env: Env, sealed: tuple[str, Path]) -> tuple[str, str, Path, Path]:
    """The URL and text form of a seal of the batch at seq 2, the PEM, and the bundle (grown to seq 3 after)."""
    batch, pem = sealed
    url = env.ok("qr", "make", batch, "--key", "coop", "-o", str(env.tmp / "code.png")).stdout.strip()
    text = env.ok("qr", "make", batch, "--key", "coop", "--text-form").stdout.strip().split("\n")[-1]
    assert step(env, batch, "packing", "2024-11-02T09:00:00+07:00").exit_code == 0
    bundle = env.tmp / "batch.ocop"
    env.ok("export", batch, "-o", str(bundle))
    return url, text, pem, bundle


def test_verify_text_url_and_image(env: Env, code: tuple[str, str, Path, Path]) -> None:
    url, text, pem, _ = code
    for args in ((url,), (text,), ("--image", str(env.tmp / "code.png"))):
        result = env.ok("qr", "verify", *args, "--trusted-key", str(pem))
        out = result.stdout
        assert out.startswith("VALID SEAL")
        assert "GTIN 08931234567897" in out
        assert "3 steps" in out
        assert "does not prove that this physical package is genuine" in out.lower() or "Does not prove" in out
        assert "Không chứng minh" in out
    doc = env.json("qr", "verify", url, "--trusted-key", str(pem))
    assert doc["verified"] is True
    seal = doc["seal"]
    assert seal["schema"] == "ocop-seal-verification/2"
    assert seal["code"] == "SEAL_OK"
    assert seal["chain"] is None
    assert seal["proves"] == SealVerification.__dataclass_fields__["proves"].default
    assert doc["signer"]["trusted_key"] == str(pem)
    assert env.json("qr", "verify", "--image", str(env.tmp / "code.png"), "--trusted-key", str(pem))["source"] == str(
        env.tmp / "code.png"
    )


def test_verify_reads_stdin(env: Env, code: tuple[str, str, Path, Path]) -> None:
    url, _, pem, _ = code
    result = env.run("qr", "verify", "-", "--trusted-key", str(pem), input=url + "\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("VALID SEAL")
    result = env.run("qr", "verify", "-", "--trusted-key", str(pem), "--json", input=url + "\n")
    doc = json.loads(result.stdout)
    assert (doc["verified"], doc["source"], doc["text"]) == (True, "stdin", url)


def test_verify_with_the_bundle_shows_product_producer_stars_and_steps(
    env: Env, code: tuple[str, str, Path, Path]
) -> None:
    url, _, pem, bundle = code
    out = env.ok("qr", "verify", url, "--trusted-key", str(pem), "--bundle", str(bundle)).stdout
    assert PRODUCT in out
    assert "HTX Nông nghiệp Nghi Sơn (Thanh Hóa)" in out
    assert "★★★★" in out
    assert "covers 3 of 4 steps" in out
    assert "ocop:drying" in out
    doc = env.json("qr", "verify", url, "--trusted-key", str(pem), "--bundle", str(bundle))
    chain = doc["seal"]["chain"]
    assert doc["seal"]["code"] == "SEAL_OLDER_HEAD"
    assert (chain["covered"], chain["total"], chain["ocop_stars"]) == (3, 4, 4)
    assert chain["product_name"] == PRODUCT
    assert [s["step"] for s in chain["steps"]] == ["genesis", "commissioning", "ocop:drying"]
    assert chain["steps"][1]["time"] == "2024-11-01T09:00:00+07:00"


def _digit_flip(url: str) -> str:
    i = len(url) - 30
    return url[:i] + str((int(url[i]) + 1) % 10) + url[i + 1 :]


def _first_item_length(data: bytes) -> int:
    for n in range(16, len(data) + 1):
        try:
            parse_unverified_event(data[:n])
        except op.ProvenanceError:
            continue
        return n
    raise AssertionError("no event")


def base45(data: bytes) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        out += [alphabet[n % 45], alphabet[n // 45 % 45], alphabet[n // 2025]]
    if len(data) % 2:
        out += [alphabet[data[-1] % 45], alphabet[data[-1] // 45]]
    return "".join(out)


def test_verify_failures_each_with_their_code(env: Env, code: tuple[str, str, Path, Path]) -> None:
    url, text, pem, _ = code
    other = env.new_batch("coop", PRODUCT, "L2411-02", "--gtin", "08931234567897")
    other_bundle = env.tmp / "other.ocop"
    env.ok("export", other, "-o", str(other_bundle))
    env.new_key("stranger")
    stranger = env.pem("stranger")
    cases: list[tuple[tuple[str, ...], str]] = [
        (("https://id.example.vn/01/08931234567897/22/X/10/L2411-01?s=1",), "E_DL_QUALIFIER"),
        (("https://id.example.vn/01/08931234567890/10/L2411-01?s=1",), "E_GTIN_CHECK"),
        (("https://id.example.vn/01/08931234567897/21/S/10/L?s=1",), "E_DL_ORDER"),
        ((url + "&x=2",), "E_DL_QUERY"),
        (("HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH",), "E_SEAL_PREFIX"),
        ((url.split("?")[0],), "E_SEAL_MISSING"),
        ((url[:-5],), "E_SEAL_TRUNCATED"),
        ((_digit_flip(url),), "E_SIGNATURE"),
        ((text[:-1],), ""),  # a cut text form: whatever the library finds first (damaged CBOR or COSE)
        ((text[:-2] + "::",), ""),
        ((url, "--bundle", str(other_bundle)), "E_SEAL_BATCH"),
    ]
    for args, named in cases:
        expected = named
        if not named:
            with pytest.raises(op.ProvenanceError) as info:
                parse_unverified_seal(args[0])
            expected = info.value.code
        result = env.run("qr", "verify", *args, "--trusted-key", str(pem))
        assert result.exit_code == 1, (args, result.stdout, result.stderr)
        assert result.stdout.startswith("NOT VERIFIED")
        assert f"[{expected}]" in result.stdout, (expected, result.stdout)
        doc = env.json("qr", "verify", *args, "--trusted-key", str(pem), code=1)
        assert doc["verified"] is False
        assert doc["error"]["code"] == expected, (args, doc)
        assert doc["error"]["explanation"], expected
    # Signed by a key that is not trusted.
    doc = env.json("qr", "verify", url, "--trusted-key", str(stranger), code=1)
    assert doc["error"]["code"] == "E_UNKNOWN_KEY"


def test_a_seal_of_a_rolled_back_bundle_is_caught(env: Env, sealed: tuple[str, Path]) -> None:
    batch, pem = sealed
    old_bundle = env.tmp / "old.ocop"
    env.ok("export", batch, "-o", str(old_bundle))  # 3 events: seq 0-2
    assert step(env, batch, "packing", "2024-11-02T09:00:00+07:00").exit_code == 0
    url = env.ok("qr", "make", batch, "--key", "coop").stdout.strip().split("\n")[-1]  # seals seq 3
    doc = env.json("qr", "verify", url, "--trusted-key", str(pem), "--bundle", str(old_bundle), code=1)
    assert doc["error"]["code"] == "E_SEAL_ROLLBACK"


def test_an_event_presented_as_a_seal_is_refused(env: Env, sealed: tuple[str, Path]) -> None:
    batch, pem = sealed
    cose = env.tmp / "events.cose"
    env.ok("export", batch, "--cose-seq", "-o", str(cose))
    data = cose.read_bytes()
    event = data[: _first_item_length(data)]
    doc = env.json("qr", "verify", SEAL_TEXT_PREFIX + base45(event), "--trusted-key", str(pem), code=1)
    assert doc["error"]["code"] == "E_CONTENT_TYPE"


def test_image_problems_are_bad_input_not_a_verdict(env: Env, code: tuple[str, str, Path, Path]) -> None:
    url, _, pem, _ = code
    blank = env.tmp / "blank.png"
    blank.write_bytes(png(Image.new("L", (200, 200), 255)))
    two = env.tmp / "two.png"
    qr_a = Image.open(env.tmp / "code.png").convert("L")
    other = make_qr("https://example.org/x")
    qr_b = Image.open(io.BytesIO(qr_to_png(other))).convert("L")
    both = Image.new("L", (qr_a.width + qr_b.width + 40, max(qr_a.height, qr_b.height)), 255)
    both.paste(qr_a, (0, 0))
    both.paste(qr_b, (qr_a.width + 40, 0))
    two.write_bytes(png(both))
    bomb = env.tmp / "bomb.png"
    bomb.write_bytes(_png_header(100_000, 100_000))
    gif = env.tmp / "code.gif"
    qr_a.save(gif, format="GIF")
    grid = env.tmp / "finder-grid.png"
    grid.write_bytes(finder_grid(DECODE_SIDE, DECODE_SIDE))
    for image, expected in (
        (blank, "E_NO_CODE"),
        (two, "E_MANY_CODES"),
        (bomb, "E_IMAGE_TOO_LARGE"),
        (gif, "E_IMAGE_FORMAT"),
        (grid, "E_IMAGE_TIMEOUT"),
    ):
        result = env.run("qr", "verify", "--image", str(image), "--trusted-key", str(pem))
        assert result.exit_code == 3, (expected, result.stdout, result.stderr)
        assert f"[{expected}]" in result.stderr
        assert "(" in result.stderr.splitlines()[-1]  # explained in words
        doc = env.json("qr", "verify", "--image", str(image), "--trusted-key", str(pem), code=3)
        assert doc["error"]["code"] == expected
    missing = env.json("qr", "verify", "--image", str(env.tmp / "nope.png"), "--trusted-key", str(pem), code=3)
    assert missing["error"]["code"] == "E_IO"
    missing = env.json("qr", "verify", url, "--trusted-key", str(pem), "--bundle", str(env.tmp / "no.ocop"), code=3)
    assert missing["error"]["code"] == "E_IO"


def _png_header(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "args",
    [
        ("--trusted-key", "k.pem"),  # no code
        ("TEXT", "--image", "x.png", "--trusted-key", "k.pem"),  # both
        ("TEXT",),  # no keys
        ("TEXT", "--trusted-key", "k.pem", "--trust", "l.trust"),  # both kinds of keys
        ("TEXT", "--trusted-key", "k.pem", "--authority-key", "a.pem"),  # anchor without --trust
    ],
)
def test_verify_usage_errors(env: Env, args: tuple[str, ...]) -> None:
    assert env.run("qr", "verify", *args).exit_code == 2


# ---- verify against a trust list ------------------------------------------------------------------------------


def _trust_list(
    env: Env,
    pem: Path,
    status: str = "active",
    extra: tuple[Participant, ...] = (),
    name: str = "HTX Nông nghiệp Nghi Sơn",
    prefixes: tuple[str, ...] = ("8931234",),
    role: str = "producer",
) -> tuple[Path, Path]:
    authority = op.PrivateKey.from_seed(b"\x33" * 32)
    auth_pem = env.tmp / "authority.pem"
    auth_pem.write_bytes(authority.public_key.to_pem())
    coop = op.PublicKey.from_pem(pem.read_bytes())
    entry = ParticipantKey(
        key=coop,
        not_before=datetime(2024, 1, 1, tzinfo=UTC),
        not_after=datetime(2040, 1, 1, tzinfo=UTC),
        status=status,
        status_time=None if status == "active" else datetime(2025, 1, 1, tzinfo=UTC),
    )
    trust = TrustList(
        issuer="Văn phòng Điều phối OCOP tỉnh Thanh Hóa",
        version=1 if status == "active" else 2,
        issued_at=datetime(2024, 10, 1, tzinfo=UTC),
        expires=datetime(2040, 1, 1, tzinfo=UTC),
        authority=AuthorityPin((authority.public_key,), 1),
        participants=(
            Participant(
                id="htx-nghi-son",
                name=name,
                role=role,
                keys=(entry,),
                gs1_prefixes=prefixes,  # the GTINs it may seal and claim
                admin_code="38",
            ),
            *extra,
        ),
    )
    path = env.tmp / f"{status}.trust"
    path.write_bytes(sign_trust_list(trust, [authority]))
    return path, auth_pem


def test_verify_against_a_trust_list(env: Env, code: tuple[str, str, Path, Path]) -> None:
    url, _, pem, bundle = code
    listed, auth = _trust_list(env, pem)
    result = env.ok("qr", "verify", url, "--trust", str(listed), "--authority-key", str(auth), "--bundle", str(bundle))
    assert "HTX Nông nghiệp Nghi Sơn (producer" in result.stdout
    assert "every step's key was valid" in result.stdout
    doc = env.json("qr", "verify", url, "--trust", str(listed))  # the cache now anchors it
    assert doc["signer"]["participant"]["id"] == "htx-nghi-son"
    assert doc["audited"] is False
    revoked, _ = _trust_list(env, pem, "revoked")
    doc = env.json("qr", "verify", url, "--trust", str(revoked), code=1)
    assert doc["error"]["code"] == "E_KEY_REVOKED"
    # Rollback to version 1 after version 2 was cached: the trust list itself fails.
    assert env.run("qr", "verify", url, "--trust", str(listed)).exit_code == 1


def test_labels_name_the_producer_as_the_trust_list_does(env: Env, sealed: tuple[str, Path]) -> None:
    batch, pem = sealed  # the genesis declares "HTX Nông nghiệp Nghi Sơn"
    registered = "HTX Dược liệu Nghi Sơn"
    listed, auth = _trust_list(env, pem, name=registered)
    out = env.tmp / "roll.pdf"
    labels = ("qr", "labels", batch, "--key", "coop", "--count", "1", "-o", str(out), "--preset", "roll-60x40")
    doc = env.json(*labels, "--show-producer", "--trust", str(listed), "--authority-key", str(auth))
    issuer = "Văn phòng Điều phối OCOP tỉnh Thanh Hóa"
    assert doc["producer"] == {"name": registered, "participant": "htx-nghi-son", "trust_list": issuer}
    text = " ".join(pdf_text(out.read_bytes()).split())  # a long name takes two lines beside the code
    assert registered in text
    assert "HTX Nông nghiệp" not in text  # never as the record names itself
    result = env.ok(*labels, "--show-producer", "--trust", str(listed))  # the trust store anchors it now
    assert f"as the trust list of {issuer} names the batch's signer: {registered}" in result.stderr
    # Without --trust the name is the record's, and the summary says so.
    doc = env.json(*labels, "--show-producer")
    assert doc["producer"] == {"name": "HTX Nông nghiệp Nghi Sơn", "participant": None, "trust_list": None}
    assert "HTX Nông nghiệp" in " ".join(pdf_text(out.read_bytes()).split())  # shortened to fit, with "…"
    # A key the list revoked names nobody: refused before the passphrase, and nothing is written.
    out.unlink()
    revoked, _ = _trust_list(env, pem, "revoked", name=registered)
    doc = env.json(*labels, "--show-producer", "--trust", str(revoked), code=3)
    assert doc["error"]["code"] == "E_KEY_REVOKED"
    assert not out.exists()
    # The older list after the newer one was stored: the list itself does not verify (exit 1, as qr verify).
    doc = env.json(*labels, "--show-producer", "--trust", str(listed), code=1)
    assert doc["error"]["code"] == "E_TRUST_ROLLBACK"
    assert not out.exists()


def test_labels_refuse_seals_the_trust_list_would_refuse(env: Env, sealed: tuple[str, Path]) -> None:
    batch, pem = sealed
    out = env.tmp / "roll.pdf"
    labels = ("qr", "labels", batch, "--key", "coop", "--count", "1", "-o", str(out), "--preset", "roll-60x40")
    # Another company's prefix: every seal would be E_GTIN_NOT_OWNED for a shopper, so nothing is printed.
    other, auth = _trust_list(env, pem, prefixes=("8930000",))
    anchor = ("--authority-key", str(auth), "--no-cache")
    doc = env.json(*labels, "--show-producer", "--trust", str(other), *anchor, code=3)
    assert doc["error"]["code"] == "E_GTIN_NOT_OWNED"
    assert "8931234567897" in doc["error"]["message"]
    assert not out.exists()
    # A role that seals only where a policy says so: printed, with a warning that says so.
    processor, _ = _trust_list(env, pem, role="processor")
    result = env.ok(*labels, "--show-producer", "--trust", str(processor), *anchor)
    assert "the role processor" in result.stderr
    assert out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--trust", "{list}"),  # --trust only names the producer: it goes with --show-producer
        ("--show-producer", "--authority-key", "a1"),  # anchor options go with --trust
    ],
)
def test_labels_trust_options_go_together(env: Env, sealed: tuple[str, Path], args: tuple[str, ...]) -> None:
    batch, pem = sealed
    listed, _ = _trust_list(env, pem)
    given = [a.format(list=listed) for a in args]
    result = env.run("qr", "labels", batch, "--key", "coop", "--count", "1", "-o", str(env.tmp / "s.pdf"), *given)
    assert result.exit_code == 2, result.stderr
    assert not (env.tmp / "s.pdf").exists()


def test_labels_report_progress_per_page_against_the_total(
    env: Env, sealed: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib

    from ocop_cli.render import Output

    calls: list[tuple[str, int, int]] = []

    @contextlib.contextmanager
    def progress(_self: Output, label: str):  # type: ignore[no-untyped-def]
        yield lambda done, total: calls.append((label, done, total))

    monkeypatch.setattr(Output, "progress", progress)
    batch, _ = sealed
    env.ok("qr", "labels", batch, "--key", "coop", "--count", "5", "--grid", "2x1", "-o", str(env.tmp / "s.pdf"))
    assert calls == [("labels", 2, 5), ("labels", 4, 5), ("labels", 5, 5)]


def test_a_seal_presented_as_an_event_is_refused_by_ocop_verify(env: Env, code: tuple[str, str, Path, Path]) -> None:
    _, text, pem, _ = code
    seal = op.verify_seal(text, options(ring(pem))).seal
    header = BundleHeader(
        root=seal.seal_id,
        batches=(BundleBatch(batch_id=seal.seal_id, count=1, head=seal.seal_id),),
        keys=(op.PublicKey.from_pem(pem.read_bytes()),),
    )
    buf = io.BytesIO()
    write_bundle(buf, header, [seal.raw])
    path = env.tmp / "seal-as-event.ocop"
    path.write_bytes(buf.getvalue())
    doc = env.json("verify", str(path), "--trusted-key", str(pem), code=1)
    assert doc["error"]["code"] == "E_CONTENT_TYPE"


def test_with_a_trust_list_every_step_of_the_bundle_is_audited(env: Env, sealed: tuple[str, Path]) -> None:
    batch, pem = sealed
    env.new_key("lab")
    assert step(env, batch, "inspecting", "2024-11-02T09:00:00+07:00", key="lab").exit_code == 0
    url = env.ok("qr", "make", batch, "--key", "coop").stdout.strip().split("\n")[-1]
    bundle = env.tmp / "batch.ocop"
    env.ok("export", batch, "-o", str(bundle))
    lab = Participant(
        id="lab",
        name="Trung tâm Kiểm nghiệm Thanh Hóa",
        role="lab",
        keys=(
            ParticipantKey(
                key=op.PublicKey.from_pem(env.pem("lab").read_bytes()),
                not_before=datetime(2024, 1, 1, tzinfo=UTC),
                not_after=datetime(2040, 1, 1, tzinfo=UTC),
                status="retired",
                status_time=datetime(2024, 11, 1, tzinfo=UTC),  # before the step it signed
            ),
        ),
    )
    listed, auth = _trust_list(env, pem, extra=(lab,))
    args = ("qr", "verify", url, "--trust", str(listed), "--authority-key", str(auth), "--bundle", str(bundle))
    doc = env.json(*args, code=1)
    assert doc["error"]["code"] == "E_KEY_RETIRED"
    assert doc["error"]["explanation"].startswith("the seal itself verifies, but the bundle does not")
    # Without the bundle the seal itself is valid: the producer's key was fine on the sealing date.
    assert env.json("qr", "verify", url, "--trust", str(listed))["verified"] is True


def test_verify_a_jpeg_photo(env: Env, code: tuple[str, str, Path, Path]) -> None:
    url, _, pem, _ = code
    img = Image.open(env.tmp / "code.png").convert("L")
    side = img.width * 3 // 2
    photo = Image.new("L", (side + 300, side + 200), 235)  # a larger scene, the code scaled, turned, compressed
    photo.paste(img.resize((side, side)).rotate(4, fillcolor=255), (160, 60))
    path = env.tmp / "photo.jpg"
    photo.save(path, format="JPEG", quality=70)
    doc = env.json("qr", "verify", "--image", str(path), "--trusted-key", str(pem))
    assert doc["text"] == url
    assert doc["verified"] is True


def test_the_sealing_date_is_the_clock_and_a_future_seal_is_refused(env: Env, sealed: tuple[str, Path]) -> None:
    from ocop_cli.context import Context
    from ocop_cli.main import cli

    batch, pem = sealed
    future = Context(home=env.home, clock=lambda: datetime(2031, 5, 6, 10, 0, tzinfo=UTC))
    made = env.runner.invoke(cli, ["qr", "make", batch, "--key", "coop", "--json"], obj=future)
    assert made.exit_code == 0, made.stderr
    doc = __import__("json").loads(made.stdout)
    assert doc["seal"]["sealed_on"] == "2031-05-06"
    failed = env.json("qr", "verify", doc["text"], "--trusted-key", str(pem), code=1)
    assert failed["error"]["code"] == "E_SEAL_FUTURE"


def test_a_truncated_or_altered_bundle_fails_the_seal_check(env: Env, code: tuple[str, str, Path, Path]) -> None:
    url, _, pem, bundle = code
    data = bundle.read_bytes()
    cut = env.tmp / "cut.ocop"
    cut.write_bytes(data[:-40])
    doc = env.json("qr", "verify", url, "--trusted-key", str(pem), "--bundle", str(cut), code=1)
    assert doc["error"]["code"] == "E_TRUNCATED", doc
    changed = bytearray(data)
    changed[-70] ^= 0x01
    altered = env.tmp / "altered.ocop"
    altered.write_bytes(bytes(changed))
    doc = env.json("qr", "verify", url, "--trusted-key", str(pem), "--bundle", str(altered), code=1)
    assert doc["verified"] is False
