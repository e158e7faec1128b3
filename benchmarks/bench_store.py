"""The ledger's append rates against the raw Ed25519 signing rate, measured in one run.

Run from the repository root::

    python -m benchmarks.bench_store            # about a minute
    python -m benchmarks.bench_store --quick    # a few seconds

Figures, each the best of several rounds interleaved with the raw signing rounds (best-of, as timeit does: other
load on the machine only ever slows a round down, and it hits the floor and the store alike):

* raw sign: ``PrivateKey.sign`` of a 300-byte message, the floor;
* durable add_step: ``Ledger.add_step``, one transaction and one fsync (``synchronous=FULL``) per event;
* bulk add_steps: ``Ledger.add_steps``, many signed steps in one transaction;
* bulk add_step loop: ``Ledger.add_step`` called in a ``Ledger.bulk()`` block;
* append_many: pre-signed events stored in one transaction (each signature verified again: an import).

Each store figure is printed with its ratio to the raw signing rate; the goal (issue 3) is bulk >= 0.7x.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import ocop_provenance as op

ICT = timezone(timedelta(hours=7))
T0 = datetime(2024, 11, 2, 7, 30, tzinfo=ICT)
WHERE = op.Location(name="Xưởng sấy Nghi Sơn, Thanh Hóa", admin_code="38")


def _genesis(n: int) -> op.Genesis:
    return op.Genesis(
        time=T0,
        product=op.Product(
            name="Đông trùng hạ thảo sấy khô", lot=f"L2411-{n:04d}", quantity="120", unit="kg", gtin="08931234567897"
        ),
        producer=op.Producer(name="HTX Nông nghiệp Nghi Sơn", admin_code="38", province="Thanh Hóa"),
    )


def _steps(n: int, start: int = 0) -> list[op.NewStep]:
    return [
        op.NewStep(
            step="ocop:drying",
            time=T0 + timedelta(seconds=start + i),
            location=WHERE,
            data={"moisture": "12.5", "temperature_c": 55, "tray": f"T-{i % 40:02d}", "operator": "Lê Thị Hoa"},
        )
        for i in range(n)
    ]


def _rate(n: int, fn: Callable[[], object]) -> tuple[float, float]:
    """Return (events per wall-clock second, events per CPU second of this process)."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return n / (time.perf_counter() - start), n / max(time.process_time() - cpu, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds)")
    args = parser.parse_args()
    rounds, bulk_n, durable_n = (5, 2000, 50) if args.quick else (9, 20000, 300)

    key = op.PrivateKey.from_seed(bytes(range(32)))
    with tempfile.TemporaryDirectory() as tmp:
        ledger = op.Ledger.open(Path(tmp) / "bench.ocop")
        probe = ledger.open_batch(_genesis(0), key)
        sample = ledger.add_steps(probe.event_id, key, _steps(1))
        message_size = len(next(e for e in ledger.events(probe.event_id) if e.seq == sample.seq).to_be_signed)
        message = bytes(300)

        raw: list[tuple[float, float]] = []
        durable: list[tuple[float, float]] = []
        bulk: list[tuple[float, float]] = []
        loop: list[tuple[float, float]] = []
        many: list[tuple[float, float]] = []
        for r in range(rounds):
            raw.append(_rate(bulk_n, lambda: [key.sign(message) for _ in range(bulk_n)]))

            batch = ledger.open_batch(_genesis(10 * r + 1), key).event_id
            steps = _steps(bulk_n)
            bulk.append(_rate(bulk_n, lambda b=batch, s=steps: ledger.add_steps(b, key, s)))  # type: ignore[misc]

            raw.append(_rate(bulk_n, lambda: [key.sign(message) for _ in range(bulk_n)]))

            batch = ledger.open_batch(_genesis(10 * r + 2), key).event_id
            small = _steps(durable_n)

            def durable_run(b: bytes = batch, s: list[op.NewStep] = small) -> None:
                for x in s:
                    ledger.add_step(b, key, step=x.step, time=x.time, location=x.location, data=x.data)

            durable.append(_rate(durable_n, durable_run))

            batch = ledger.open_batch(_genesis(10 * r + 3), key).event_id
            steps = _steps(bulk_n // 4)

            def loop_run(b: bytes = batch, s: list[op.NewStep] = steps) -> None:
                with ledger.bulk():
                    for x in s:
                        ledger.add_step(b, key, step=x.step, time=x.time, location=x.location, data=x.data)

            loop.append(_rate(len(steps), loop_run))

            source = ledger.open_batch(_genesis(10 * r + 4), key).event_id
            ledger.add_steps(source, key, _steps(bulk_n // 4))
            events = list(ledger.events(source))
            with op.Ledger.open(Path(tmp) / f"import-{r}.ocop") as other:
                other.add_key(key.public_key)
                many.append(_rate(len(events), lambda o=other, ev=events: o.append_many(ev)))  # type: ignore[misc]
        ledger.close()

    wall_floor = max(r[0] for r in raw)
    cpu_floor = max(r[1] for r in raw)
    print(f"signed message {message_size} bytes per event; best of {rounds} rounds; ratios to the raw signing rate")
    print(f"{'':47} {'wall-clock':>16} {'ratio':>6}   {'CPU time':>16} {'ratio':>6}")
    print(
        f"{'raw Ed25519 sign (PrivateKey.sign, 300 bytes)':47} {wall_floor:12,.0f} ev/s {1:6.2f}x   "
        f"{cpu_floor:12,.0f} ev/s {1:6.2f}x"
    )
    for label, rates in (
        ("durable add_step (1 commit + fsync per event)", durable),
        ("bulk add_steps (1 transaction)", bulk),
        ("bulk add_step loop in Ledger.bulk()", loop),
        ("append_many (pre-signed, verified again)", many),
    ):
        wall, cpu = max(r[0] for r in rates), max(r[1] for r in rates)
        print(f"{label:47} {wall:12,.0f} ev/s {wall / wall_floor:6.2f}x   {cpu:12,.0f} ev/s {cpu / cpu_floor:6.2f}x")
    goal = max(r[0] for r in bulk) / wall_floor
    print(f"goal (issue 3): bulk >= 0.70x raw signing, wall-clock: {'met' if goal >= 0.7 else 'NOT met'} ({goal:.2f}x)")
    print("CPU time leaves out other processes' load and the disk's sync time (one per bulk transaction).")


if __name__ == "__main__":
    main()
