"""QR benchmark: code sizes of the seal's URL form and the label-sheet rate, with the encoder's floor in the same run.

    python -m benchmarks.bench_qr [--count 10000] [--workers 2] [--quick]

Prints, in one run:
1. the URL form (14-digit GTIN, 8-character lot; with and without an 8-character serial) and the text form:
   length, QR version and size in modules at L/M/Q/H (docs/qr.md, ADR 0040);
2. the raw QR-encode rate of zxing-cpp for that URL (the floor), the library's make_qr rate, the seal signing
   and verifying rates, and the labels-per-second rate into a PDF sheet (vector modules, the default, and 1-bit
   image masks) with 1 and N processes, as a ratio to the floor.
Absolute rates vary with the machine and its load; compare the ratios (docs/qr.md §Benchmark).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import ocop_provenance as op
from ocop_provenance.events import append_step, open_batch
from ocop_provenance.seals import Label, LabelLayout, make_qr, make_seal, seal_units, write_label_sheet

ICT = timezone(timedelta(hours=7))
RESOLVER = "https://id.example.vn"


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
    verify = _rate(lambda: op.verify_seal(url, ring), n)
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
    labels = [Label(code=s.to_url(), title=chain[0].body.product.name, lot="L2407-A1", serial=s.statement.serial)
              for s in seals]  # fmt: skip
    sealing = count / (time.perf_counter() - t)
    print(f"\nLabel sheet, {count:,} per-unit labels, A4 4x7, ECC Q (sealing alone: {sealing:,.0f} seals/s):")
    for vector in (True, False):
        for workers in sorted({1, max(1, args.workers)}):
            out = io.BytesIO()
            t = time.perf_counter()
            write_label_sheet(out, labels, workers=workers, layout=LabelLayout(vector=vector))
            elapsed = time.perf_counter() - t
            per_s = count / elapsed
            mode = "vector" if vector else "mask  "
            size_mb = len(out.getvalue()) / 1e6
            print(
                f"  {mode} workers={workers}: {per_s:>7,.0f} labels/s ({elapsed:5.1f} s, {size_mb:4.1f} MB)"
                f"   {per_s / floor:.2f} x floor   goal >= 500/s: {'met' if per_s >= 500 else 'NOT met'}"
            )


if __name__ == "__main__":
    main()
