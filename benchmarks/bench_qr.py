"""QR benchmark: code sizes of the seal's URL form and the label-sheet rate, with the encoder's floor in the same run.

    python -m benchmarks.bench_qr [--count 10000] [--workers 2] [--quick]

Prints, in one run:
1. the URL form (14-digit GTIN, 8-character lot; with and without an 8-character serial) and the text form:
   length, QR version and size in modules at L/M/Q/H (docs/qr.md, ADR 0040);
2. the raw QR-encode rate of zxing-cpp for that URL (the floor), the library's make_qr rate, the seal signing
   and verifying rates; the labels-per-second rate into a PDF sheet with the defaults (1-bit image masks, one
   process), with vector rectangles, with N processes and with two presets carrying every extra line, each in
   rounds interleaved with the floor; and the whole ``ocop qr labels`` command with its defaults in a fresh
   process, between two floor measures;
3. reading images (ADR 0044): a 12 MP phone photo and a small PNG read in this process with no time budget
   (``timeout=None``, the floor) and through the decoder worker (the default), warm and including the worker's
   start, as ratios to the floor; then every hostile image of tests/images/generate.py read in a fresh process:
   its error code, the time to refuse it, and the peak memory of that process and of its decoder worker.
Absolute rates vary with the machine and its load; compare the ratios (docs/qr.md §Benchmark).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.metadata
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import ocop_provenance as op
from ocop_provenance.events import append_step, open_batch
from ocop_provenance.seals import (
    LABEL_PRESETS,
    SCAN_HINT,
    Label,
    LabelLayout,
    make_qr,
    make_seal,
    qr_to_png,
    scan_one,
    seal_units,
    write_label_sheet,
)

ICT = timezone(timedelta(hours=7))
RESOLVER = "https://id.example.vn"
ROOT = Path(__file__).resolve().parents[1]


def _chain(signer: op.PrivateKey) -> list[op.SignedEvent]:
    genesis = op.Genesis(
        time=datetime(2024, 11, 1, 8, 0, tzinfo=ICT),
        product=op.Product(
            name="Đông trùng hạ thảo sấy khô", lot="L2407-A1", quantity="120", unit="hộp", gtin="08931234567897"
        ),
        producer=op.Producer(name="HTX Nông nghiệp Nghi Sơn", province="Thanh Hóa"),
        certificate=op.Certificate(stars=4, number="148/QĐ-UBND", issued=date(2023, 5, 1)),
    )
    events = [open_batch(genesis, signer)]
    for i, step in enumerate(("commissioning", "ocop:drying", "inspecting", "packing"), 1):
        events.append(
            append_step(
                events[-1],
                signer,
                step=step,
                time=genesis.time + timedelta(hours=i),
                location=op.Location(name="Nghi Sơn, Thanh Hóa", admin_code="38"),
            )
        )
    return events


def _rate(fn: Callable[[], object], n: int, repeats: int = 3) -> float:
    best = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best.append(n / (time.perf_counter() - t))
    return statistics.median(best)


def _sizes(label: str, text: str) -> None:
    cells = []
    for ec in ("L", "M", "Q", "H"):
        qr = make_qr(text, ec_level=ec)
        cells.append(f"{ec}: v{qr.version:<2} {qr.size}x{qr.size}")
    print(f"  {label:<34} {len(text):>4} chars   " + "   ".join(cells))


def _largest_resolver_at_q(make: Callable[[str], str]) -> int:
    longest = 0
    for n in range(5, 80):
        name = "".join("." if i % 10 == 9 else "r" for i in range(n)).strip(".")
        host = f"{name}.vn"
        if make_qr(make(f"https://{host}"), ec_level="Q").version <= 10:
            longest = len(f"https://{host}")
    return longest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="labels in the PDF run (default 10000)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for the parallel run")
    parser.add_argument("--quick", action="store_true", help="1000 labels, fewer repeats")
    args = parser.parse_args()
    count = 1000 if args.quick else args.count
    import zxingcpp  # the floor is measured with the library's own encoder

    signer = op.PrivateKey.from_seed(b"\x07" * 32)
    chain = _chain(signer)
    seal = make_seal(chain[0], chain[-1], signer, resolver=RESOLVER, sealed_on=date(2024, 11, 2))
    unit = make_seal(chain[0], chain[-1], signer, resolver=RESOLVER, sealed_on=date(2024, 11, 2), serial="SN000123")
    url = seal.to_url()
    print(f"ocop-provenance {op.__version__} · Python {platform.python_version()} · {platform.machine()}")
    print(f"zxing-cpp {importlib.metadata.version('zxing-cpp')} · {os.cpu_count()} CPUs\n")
    print("QR size of the seal (QR version, modules per side without the quiet zone):")
    _sizes("URL form, GTIN + 8-char lot", url)
    _sizes("URL form + 8-char serial", unit.to_url())
    _sizes("text form OCOP1: + base45", seal.to_text())
    _sizes("bare Digital Link (no seal)", url.split("?")[0])
    print(
        f"  seal digits: {len(url.split('?s=')[1])} (compact bytes {len(seal.compact())}); COSE_Sign1 {len(seal.raw)} B"
    )

    def with_resolver(r: str) -> str:
        return make_seal(chain[0], chain[-1], signer, resolver=r, sealed_on=date(2024, 11, 2)).to_url()

    print(f"  longest resolver (https://...) that keeps the URL form at v10-Q: {_largest_resolver_at_q(with_resolver)}")

    n = 200 if args.quick else 1000
    floor = _rate(lambda: zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="Q"), n)
    lib = _rate(lambda: make_qr(url), n)
    sign = _rate(
        lambda: make_seal(chain[0], chain[-1], signer, resolver=RESOLVER, sealed_on=date(2024, 11, 2)).to_url(), n
    )
    ring = op.KeyRing.of([signer.public_key])
    verify = _rate(lambda: op.verify_seal(url, op.VerifyOptions(keys=ring, now=op.NO_CLOCK)), n)
    print("\nRates (median of 3):")
    print(f"  zxing-cpp create_barcode, URL at Q (floor)   {floor:>9,.0f} codes/s")
    print(f"  make_qr (floor + matrix extraction)          {lib:>9,.0f} codes/s   {lib / floor:.2f} x floor")
    print(f"  make_seal + to_url                           {sign:>9,.0f} seals/s")
    print(f"  verify_seal (URL form, no chain)             {verify:>9,.0f} seals/s")

    serials = [f"SN{i:06d}" for i in range(count)]
    t = time.perf_counter()
    seals = list(
        seal_units(chain[0], chain[-1], signer, resolver=RESOLVER, sealed_on=date(2024, 11, 2), serials=serials)
    )
    genesis = chain[0].body
    assert isinstance(genesis, op.Genesis)
    labels = [Label(code=s.to_url(), title=genesis.product.name, lot="L2407-A1", serial=s.statement.serial)
              for s in seals]  # fmt: skip
    full = [
        dataclasses.replace(label, produced=date(2024, 11, 1), expires=date(2025, 11, 1),
                            producer="HTX Nông nghiệp Nghi Sơn", note=SCAN_HINT)
        for label in labels
    ]  # fmt: skip
    sealing = count / (time.perf_counter() - t)
    rounds = 3 if args.quick else 5
    per_round = max(100, count // rounds)
    print(f"\nLabel sheets, per-unit labels, ECC Q (sealing alone: {sealing:,.0f} seals/s). Each figure: the median of")
    print(f"{rounds} rounds of {per_round:,} labels, each round right after zxing-cpp encoding the same number of URLs")
    print(f"(the floor); the ratio is the median of the rounds' ratios. Load average {_load()}.")
    workers = max(1, args.workers)
    runs = [
        ("defaults (A4 4x7, image masks)", labels, None, 1),
        ("vector=True", labels, LabelLayout(vector=True), 1),
        (f"defaults, workers={workers}", labels, None, workers),
        ("a4-65 preset, all 7 lines", full, LABEL_PRESETS["a4-65"], 1),
        ("roll-50x30 preset, all 7 lines", full, LABEL_PRESETS["roll-50x30"], 1),
    ]
    urls = [label.code for label in labels]
    for title, batch, layout, procs in runs:
        rates, ratios, sizes = [], [], []
        for r in range(rounds):
            chunk = batch[r * per_round : (r + 1) * per_round] or batch[:per_round]
            floor_now = _encode_rate(zxingcpp, urls[: len(chunk)])
            out = io.BytesIO()
            t = time.perf_counter()
            write_label_sheet(out, chunk, workers=procs, layout=layout)
            per_s = len(chunk) / (time.perf_counter() - t)
            rates.append(per_s)
            ratios.append(per_s / floor_now)
            sizes.append(len(out.getvalue()) / len(chunk))
        per_s, ratio, kb = statistics.median(rates), statistics.median(ratios), statistics.median(sizes) / 1000
        print(
            f"  {title:<32} {per_s:>7,.0f} labels/s   {ratio:.2f} x floor   {kb:4.2f} KB/label"
            f"   goal >= 500/s: {'met' if per_s >= 500 else 'NOT met'}"
        )
    bench_cli_labels(count, urls, 1 if args.quick else 3)
    bench_images(args.quick)


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - no load average on this platform
        return "unknown"


def _encode_rate(zxingcpp: Any, urls: list[str]) -> float:
    create, qr = zxingcpp.create_barcode, zxingcpp.BarcodeFormat.QRCode
    t = time.perf_counter()
    for url in urls:
        create(url, qr, ec_level="Q")
    return len(urls) / (time.perf_counter() - t)


def bench_cli_labels(count: int, urls: list[str], rounds: int) -> None:
    """The whole command with its defaults: ocop qr labels BATCH --key K --count N -o FILE (a fresh process)."""
    import zxingcpp

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "OCOP_HOME": str(Path(tmp) / "home"),
            "OCOP_PASSPHRASE": "mật khẩu thử nghiệm",
            "OCOP_TEST_KDF_COST": "14",
            "OCOP_RESOLVER": RESOLVER,
        }
        ocop = [sys.executable, "-m", "ocop_cli"]

        def run(*args: str) -> str:
            done = subprocess.run([*ocop, *args], capture_output=True, text=True, check=True, env=env)
            return done.stdout.strip()

        run("key", "new", "coop")
        batch = run(
            "batch", "new", "--key", "coop", "--product", "Đông trùng hạ thảo sấy khô", "--lot", "L2407-A1",
            "--quantity", "120", "--unit", "hộp", "--where", "Nghi Sơn, Thanh Hóa", "--gtin", "08931234567897",
            "--at", "2024-11-01T08:00:00+07:00",
        )  # fmt: skip
        rates, ratios = [], []
        half = urls[: max(1, len(urls) // 2)]
        for _ in range(rounds):
            before = _encode_rate(zxingcpp, half)
            t = time.perf_counter()
            run("qr", "labels", batch, "--key", "coop", "--count", str(count), "-o", str(Path(tmp) / "sheet.pdf"))
            per_s = count / (time.perf_counter() - t)
            after = _encode_rate(zxingcpp, half)
            rates.append(per_s)
            ratios.append(per_s / ((before + after) / 2))
        per_s, ratio = statistics.median(rates), statistics.median(ratios)
        print(
            f"\n  ocop qr labels BATCH --key coop --count {count:,} -o sheet.pdf (defaults; the whole process: start,\n"
            f"  key, reading the batch, sealing, sheet), median of {rounds} runs, each between two floor measures:\n"
            f"  {'':<32} {per_s:>7,.0f} labels/s   {ratio:.2f} x floor"
            f"                 goal >= 500/s: {'met' if per_s >= 500 else 'NOT met'}"
        )


def bench_images(quick: bool) -> None:
    """Reading images: the worker's cost on the normal path, and what each hostile image costs to refuse."""
    from ocop_provenance import _qr
    from tests.images import generate as images

    photo = images.PHOTOS[0].build()
    small = qr_to_png(make_qr(images.PHOTO_TEXT), scale=4)
    n = 3 if quick else 10
    print("\nReading images (median of 3; floor = the same decoding in this process, timeout=None):")
    for label, data in (("12 MP phone photo (JPEG, 3.0 MB)", photo), ("generated code (PNG, 4 px/module)", small)):
        floor_rate = _rate(functools.partial(scan_one, data, timeout=None), n)
        scan_one(data)  # the worker is running
        warm = _rate(functools.partial(scan_one, data), n)
        cold = []
        for _ in range(3):
            _qr._DECODER.close()
            t = time.perf_counter()
            scan_one(data)
            cold.append(time.perf_counter() - t)
        cold_s = statistics.median(cold)
        print(
            f"  {label:<36} in-process {1000 / floor_rate:7.1f} ms   worker {1000 / warm:7.1f} ms "
            f"({floor_rate / warm:.2f} x)   first call, worker start included {1000 * cold_s:7.1f} ms "
            f"({cold_s * floor_rate:.2f} x)"
        )
    _qr._DECODER.close()
    print("\nHostile images (tests/images/generate.py), each read in a fresh process with the defaults:")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory() as tmp:
        for case in images.HOSTILE:
            file = Path(tmp) / case.name
            file.write_bytes(case.build())
            path = str(file)
            run = subprocess.run(
                [sys.executable, "-m", "tests.images.measure", path],
                capture_output=True,
                text=True,
                check=True,
                env=env,
                cwd=ROOT,
            )
            doc = json.loads(run.stdout)
            (code, elapsed), self_mb, worker_mb = doc["results"][path], doc["self_mb"], doc["worker_mb"]
            ok = "ok" if code in case.codes else f"UNEXPECTED (wanted {' or '.join(sorted(case.codes))})"
            goal = "met" if elapsed < 2 and max(self_mb, worker_mb) < 100 else "NOT met"
            worker = f"{worker_mb:5.1f} MB" if worker_mb else "not started"
            print(
                f"  {case.name:<36} {file.stat().st_size:>8,} B  {code:<18} {ok:<3} {elapsed:6.2f} s  "
                f"peak {self_mb:5.1f} MB, worker {worker}   goal < 2 s, < 100 MB: {goal}"
            )


if __name__ == "__main__":
    main()
