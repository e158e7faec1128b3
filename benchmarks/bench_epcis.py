"""EPCIS benchmark: exporting verified events as EPCIS 2.0 JSON-LD and reading them back, with floors in the same run.

    python -m benchmarks.bench_epcis [--events 5000] [--quick]

Prints events per second for: verifying the bundle (what an export needs first), building the EPCIS document
(mapping and one CBV event hash per event), writing it as JSON, and reading it back with ``read_epcis``; each as a
ratio to the raw primitive measured in the same run: the stdlib's ``json.dumps`` / ``json.loads`` of the same
document, and SHA-256 over the same pre-hash strings. Absolute rates vary with the machine; compare the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import ocop_provenance as op
from ocop_provenance import epcis
from ocop_provenance.events import (
    BundleBatch,
    BundleHeader,
    BundleSummary,
    append_step,
    head_of,
    open_batch,
    write_bundle,
)

ICT = timezone(timedelta(hours=7))
PLACE = op.Location(name="Xưởng sấy Tĩnh Gia, Thanh Hóa", admin_code="38", gln="8934567000017")
STEPS = ("commissioning", "ocop:drying", "inspecting", "packing", "shipping", "receiving", "storing")


def _bundle(n: int) -> bytes:
    signer = op.PrivateKey.from_seed(b"\x07" * 32)
    genesis = op.Genesis(
        time=datetime(2024, 11, 1, 8, 0, tzinfo=ICT),
        product=op.Product(
            name="Đông trùng hạ thảo sấy khô", lot="L2407-A1", quantity="120", unit="hộp", gtin="08931234567897"
        ),
        producer=op.Producer(name="HTX Nông nghiệp Nghi Sơn", province="Thanh Hóa"),
        data={"shelf_life": "24 tháng kể từ ngày sản xuất", "expiry_date": "2026-11-01"},
    )
    events = [open_batch(genesis, signer)]
    head = head_of(events[0])
    for i in range(1, n):
        event = append_step(
            head,
            signer,
            step=STEPS[i % len(STEPS)],
            time=genesis.time + timedelta(minutes=i),
            location=PLACE,
            data={"temperature_c": 50 + i % 7, "moisture_pct": f"1{i % 10}.5", "ghi_chu": "Đạt yêu cầu, độ ẩm ổn định"},
        )
        events.append(event)
        head = head_of(event)
    header = BundleHeader(
        root=events[0].batch_id,
        batches=(BundleBatch(batch_id=events[0].batch_id, count=len(events), head=events[-1].event_id),),
        keys=(signer.public_key,),
    )
    buf = io.BytesIO()
    write_bundle(buf, header, [e.raw for e in events])
    return buf.getvalue()


def _time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    runs = []
    result = None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 500 if args.quick else args.events
    repeats = 3
    data = _bundle(n)
    signer_ring = op.KeyRing.of([op.PrivateKey.from_seed(b"\x07" * 32).public_key])
    created = datetime(2025, 1, 1, tzinfo=UTC)

    def verify() -> tuple[list[op.SignedEvent], BundleSummary]:
        got: list[op.SignedEvent] = []
        summary = op.verify_bundle(
            io.BytesIO(data),
            op.VerifyOptions(keys=signer_ring, now=op.NO_CLOCK),
            root=op.ANY_BATCH,
            on_event=lambda _i, e: got.append(e),
        )
        return got, summary

    t_verify, (events, summary) = _time(verify, repeats)
    t_doc, document = _time(lambda: epcis.epcis_document([events], summary, created=created), repeats)
    t_write, text = _time(lambda: epcis.epcis_to_json(document), repeats)
    plain = json.loads(text)
    t_dumps, _ = _time(lambda: json.dumps(plain, ensure_ascii=False, indent=2).encode("utf-8"), repeats)
    t_read, _ = _time(lambda: epcis.read_epcis(text), repeats)
    t_loads, _ = _time(lambda: json.loads(text, parse_float=Decimal), repeats)
    prehashes = [
        epcis.epcis_prehash({k: v for k, v in e.items() if k != "eventID"}, epcis.CONTEXT_PREFIXES)
        for e in json.loads(text, parse_float=Decimal)["epcisBody"]["eventList"]
    ]
    t_sha, _ = _time(lambda: [hashlib.sha256(p.encode()).digest() for p in prehashes], repeats)

    def rate(seconds: float) -> str:
        return f"{n / seconds:>12,.0f} events/s"

    print(f"EPCIS export and import, {n} events, {len(text):,} bytes of JSON-LD ({len(text) / n:.0f} B/event)")
    print(f"  verify_bundle (needed first)      {rate(t_verify)}")
    print(f"  epcis_document (map + hash)       {rate(t_doc)}   {t_doc / t_sha:6.1f}x SHA-256 of the pre-hashes")
    print(f"  epcis_to_json                     {rate(t_write)}   {t_write / t_dumps:6.1f}x json.dumps")
    print(f"  read_epcis (parse, check, hash)   {rate(t_read)}   {t_read / t_loads:6.1f}x json.loads")
    print(f"  export total / verify             {(t_doc + t_write) / t_verify:6.2f}x")


if __name__ == "__main__":
    main()
