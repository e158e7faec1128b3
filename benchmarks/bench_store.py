"""The ledger's append rates against the raw Ed25519 signing rate, measured in one run.

Run from the repository root::

    python -m benchmarks.bench_store            # about a minute
    python -m benchmarks.bench_store --quick    # about 15 seconds

Figures, each the best (and the median) of several rounds, each round interleaved with a round of the raw
signing rate so that load on the machine hits the floor and the store alike:

* raw sign: ``PrivateKey.sign`` (OpenSSL through cryptography: the backend the ledger signs with) of a message
  the size of the benchmark's ToBeSigned, the floor;
* durable add_step: ``Ledger.add_step``, one transaction and one fsync (``synchronous=FULL``) per event;
* bulk add_steps, 1 process: ``Ledger.add_steps``, many signed steps in one transaction, signed in process;
* bulk add_steps, workers=2 and workers="auto": the same, with signing processes (docs/adr/0014);
* bulk add_step loop: ``Ledger.add_step`` called in a ``Ledger.bulk()`` block;
* append_many: pre-signed events stored in one transaction (each signature verified again: an import);
* export_bundle, verify_stored, import_bundle: reading a chain out (every row parsed and its signature verified),
  verifying every stored chain, and verifying + storing a bundle in another ledger; these are compared with the
  raw Ed25519 verification rate of libsodium (``crypto_sign_open``), the floor of anything that verifies.

Each signing figure is printed with its ratio to the raw signing rate, each verifying figure with its ratio to
the raw verification rate; the goal (issue 9) is bulk >= 0.8x with the CPUs available. Every
event is realistic (benchmarks/realistic.py): Vietnamese places and data, a PDF every tenth step.
With workers, each call starts its signing processes (about 0.1 s) inside the timed region.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ocop_provenance as op
from nacl.bindings import crypto_sign_open
from ocop_provenance.ledger import Ledger, NewStep

from benchmarks.realistic import KEYS, genesis, new_steps

GOAL = 0.8  # issue 9: bulk sign-and-append >= 0.8x raw signing with the CPUs available


def _genesis(n: int) -> op.Genesis:
    return genesis(lot=f"L2411-{n:04d}")


def _steps(n: int, start: int = 0) -> list[NewStep]:
    return new_steps(n, start=start + 1)


def _rate(n: int, fn: Callable[[], object]) -> float:
    """Return events per wall-clock second."""
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:  # pragma: no cover - not Unix
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (about 15 seconds)")
    args = parser.parse_args()
    rounds, bulk_n, durable_n = (3, 40_000, 50) if args.quick else (5, 100_000, 300)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

    key = KEYS[0]
    load_before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger.open(Path(tmp) / "bench.ocop")
        probe = ledger.open_batch(_genesis(0), key)
        sample = ledger.add_steps(probe.event_id, key, _steps(1))
        message_size = len(next(e for e in ledger.events(probe.event_id) if e.seq == sample.seq).to_be_signed)
        message = bytes(message_size)
        # Start the fork server once, as a long-lived process would have (each call still starts its signers).
        ledger.add_steps(probe.event_id, key, _steps(2000, start=1), workers=2)

        signature = key.sign(message)
        public = key.public_key

        def raw_round(n: int) -> float:
            return _rate(n, lambda: [key.sign(message) for _ in range(n)])

        def raw_verify_round(n: int) -> float:
            signed, raw_public = signature + message, public.raw
            return _rate(n, lambda: [crypto_sign_open(signed, raw_public) for _ in range(n)])

        results: dict[str, list[float]] = {}
        raw: list[float] = []
        reads: dict[str, list[float]] = {}
        raw_verify: list[float] = []
        serial = 0

        def measure(label: str, n: int, run: Callable[[], object]) -> None:
            raw.append(raw_round(min(n, 20_000)))
            results.setdefault(label, []).append(_rate(n, run))

        def measure_read(label: str, n: int, run: Callable[[], object]) -> None:
            raw_verify.append(raw_verify_round(min(n, 20_000)))
            reads.setdefault(label, []).append(_rate(n, run))

        read_n = bulk_n // 4
        exported = ledger.open_batch(_genesis(10_000), key).event_id
        ledger.add_steps(exported, key, _steps(read_n))
        trusted = op.VerifyOptions(keys=op.KeyRing.of([key.public_key]), now=op.NO_CLOCK)

        for _ in range(rounds):
            for label, workers in (
                ("bulk add_steps, 1 process", None),
                ("bulk add_steps, workers=2", 2),
                ('bulk add_steps, workers="auto"', "auto"),
            ):
                serial += 1
                batch = ledger.open_batch(_genesis(serial), key).event_id
                steps = _steps(bulk_n)
                measure(label, bulk_n, lambda b=batch, s=steps, w=workers: ledger.add_steps(b, key, s, workers=w))  # type: ignore[misc]

            serial += 1
            batch = ledger.open_batch(_genesis(serial), key).event_id
            small = _steps(durable_n)

            def durable_run(b: bytes = batch, s: list[NewStep] = small) -> None:
                for x in s:
                    ledger.add_step(
                        b, key, step=x.step, time=x.time, location=x.location, attachments=x.attachments, data=x.data
                    )

            measure("durable add_step (1 commit + fsync per event)", durable_n, durable_run)

            serial += 1
            batch = ledger.open_batch(_genesis(serial), key).event_id
            steps = _steps(5000)

            def loop_run(b: bytes = batch, s: list[NewStep] = steps) -> None:
                with ledger.bulk():
                    for x in s:
                        ledger.add_step(
                            b,
                            key,
                            step=x.step,
                            time=x.time,
                            location=x.location,
                            attachments=x.attachments,
                            data=x.data,
                        )

            measure("add_step loop in Ledger.bulk()", len(steps), loop_run)

            serial += 1
            source = ledger.open_batch(_genesis(serial), key).event_id
            ledger.add_steps(source, key, _steps(5000))
            events = list(ledger.events(source))
            with Ledger.open(Path(tmp) / f"import-{serial}.ocop") as other:
                other.add_key(key.public_key)
                measure(
                    "append_many (pre-signed, verified again)",
                    len(events),
                    lambda o=other, ev=events: o.append_many(ev),  # type: ignore[misc]
                )

            bundle = io.BytesIO()
            measure_read(
                "export_bundle (every event verified)",
                read_n + 1,
                lambda out=bundle: ledger.export_bundle(exported, out),  # type: ignore[misc]
            )
            measure_read("verify_stored (one batch)", read_n + 1, lambda: ledger.verify_stored(exported))
            with Ledger.open(Path(tmp) / f"imported-{serial}.ocop") as other:
                data = bundle.getvalue()
                measure_read(
                    "import_bundle (verified and stored)",
                    read_n + 1,
                    lambda o=other, d=data: o.import_bundle(io.BytesIO(d), trusted),  # type: ignore[misc]
                )
        ledger.close()

    print(
        f"Python {sys.version.split()[0]}, {cpus} CPUs, signing backend OpenSSL (cryptography, PrivateKey.sign); "
        f"ToBeSigned {message_size} bytes; {bulk_n:,} events per bulk round; best (median) of {rounds} rounds"
    )
    print(f"load average (1 min) {load_before} before, {_load()} after")
    print(f"| {'figure':48} | {'µs/event':>8} | {'events/s':>9} | {'ratio':>5} | {'median ratio':>12} |")
    print(f"| {'-' * 48} | {'-' * 8} | {'-' * 9} | {'-' * 5} | {'-' * 12} |")

    def row(label: str, rates: list[float], base: list[float]) -> None:
        best, median = max(rates), statistics.median(rates)
        print(
            f"| {label:48} | {1e6 / best:8.1f} | {best:9,.0f} | {best / max(base):4.2f}x | "
            f"{median / statistics.median(base):11.2f}x |"
        )

    row("raw Ed25519 sign (PrivateKey.sign, the floor)", raw, raw)
    for label, rates in results.items():
        row(label, rates, raw)
    row("raw Ed25519 verify (libsodium crypto_sign_open, the floor)", raw_verify, raw_verify)
    for label, rates in reads.items():
        row(label, rates, raw_verify)
    print()
    for label in ("bulk add_steps, 1 process", "bulk add_steps, workers=2", 'bulk add_steps, workers="auto"'):
        ratio = max(results[label]) / max(raw)
        verdict = "met" if ratio >= GOAL else "NOT met"
        print(f"goal (issue 9) bulk >= {GOAL:.2f}x raw signing, {label.split(', ')[1]}: {verdict} ({ratio:.2f}x)")
    if cpus < 2:
        print("only one CPU: workers cannot run beside this process, so their figures measure the machine")


if __name__ == "__main__":
    main()
