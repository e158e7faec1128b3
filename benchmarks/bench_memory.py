"""Peak memory and time of verifying a large bundle, measured in fresh processes.

Run from the repository root::

    python -m benchmarks.bench_memory            # 1,000,000 events: several minutes
    python -m benchmarks.bench_memory --quick    # 50,000 events
    python -m benchmarks.bench_memory --events N

A child process writes a bundle of one chain of N realistic events (benchmarks/realistic.py: three signers,
Vietnamese places and data, a PDF every tenth step) to a temporary file, streaming (the chain is never in
memory). Then, for N/10 and N events, a fresh process verifies it with ``verify_bundle`` and reports its peak
resident set (``getrusage``: ``ru_maxrss``) and, with workers, the largest worker's. Time per event at both sizes
shows whether time grows linearly with the chain; the goal is a peak that does not grow with N (at most
``GROWTH_LIMIT_MB`` more at N than at N/10). Quick mode only reports; it extrapolates nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import ocop_provenance as op
from ocop_provenance.events import BundleBatch, BundleHeader, append_step, head_of, open_batch, write_bundle

from benchmarks.realistic import KEYS, T0, genesis, location, step_fields

# Peak memory must not grow with the chain: at N events it may exceed the peak at N/10 by at most this much.
GROWTH_LIMIT_MB = 16.0


def _items(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while head := f.read(1):
            info = head[0] & 0x1F
            width = {24: 1, 25: 2, 26: 4}.get(info, 0)
            length = int.from_bytes(f.read(width), "big") if width else info
            yield f.read(length)


def generate(path: Path, n: int) -> None:
    first = open_batch(genesis(), KEYS[0])
    head: op.SignedEvent = first
    items = path.with_suffix(".items")
    with items.open("wb") as out:
        for i in range(n):
            event = (
                first
                if i == 0
                else append_step(
                    head_of(head),
                    KEYS[i % len(KEYS)],
                    time=T0 + timedelta(seconds=i),
                    location=location(i),
                    **step_fields(i),  # type: ignore[arg-type]
                )
            )
            data = event.raw
            out.write(bytes((0x58, len(data))) if len(data) < 256 else b"\x59" + len(data).to_bytes(2, "big"))
            out.write(data)
            head = event
    header = BundleHeader(
        root=first.event_id,
        batches=(BundleBatch(batch_id=first.event_id, count=n, head=head.event_id),),
        keys=tuple(k.public_key for k in KEYS),
    )
    with path.open("wb") as out:
        write_bundle(out, header, _items(items))
    items.unlink()


def _descendants_peak_kb() -> int:
    """Largest VmHWM (peak RSS) among this process's descendants now alive (Linux /proc; 0 elsewhere)."""
    parents: dict[int, int] = {}
    peaks: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            parents[int(status.parent.name)] = int(fields["PPid"])
            peaks[int(status.parent.name)] = int(fields.get("VmHWM", "0 kB").split()[0])
        except (OSError, ValueError, KeyError):
            continue
    family, grew = {os.getpid()}, True
    while grew:
        more = {pid for pid, ppid in parents.items() if ppid in family} - family
        family |= more
        grew = bool(more)
    family.discard(os.getpid())
    return max((peaks.get(pid, 0) for pid in family), default=0)


def verify(path: Path, workers: str) -> None:
    options = op.VerifyOptions(
        keys=op.KeyRing.of(k.public_key for k in KEYS), now=op.NO_CLOCK, workers=None if workers == "1" else workers
    )
    worker_peak = 0
    done = threading.Event()

    def watch() -> None:  # the workers are the forkserver's children, not ours: sample their peaks
        nonlocal worker_peak
        while not done.wait(0.5):
            worker_peak = max(worker_peak, _descendants_peak_kb())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    summary = op.verify_bundle(path, options, root=op.ANY_BATCH)
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = max(worker_peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"events": summary.root.count, "seconds": seconds, "rss_kb": own, "worker_rss_kb": children}))


def _run(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_memory", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int)
    parser.add_argument("--generate", nargs=2, metavar=("PATH", "N"))
    parser.add_argument("--verify", nargs=2, metavar=("PATH", "WORKERS"))
    args = parser.parse_args()
    if args.generate:
        generate(Path(args.generate[0]), int(args.generate[1]))
        print(json.dumps({}))
        return
    if args.verify:
        verify(Path(args.verify[0]), args.verify[1])
        return
    n = args.events or (50_000 if args.quick else 1_000_000)
    sizes = (n // 10, n)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for size in sizes:
            paths[size] = Path(tmp) / f"chain-{size}.ocopb"
            start = time.perf_counter()
            _run("--generate", str(paths[size]), str(size))
            print(
                f"wrote a bundle of {size:,} events ({paths[size].stat().st_size / 1e6:.0f} MB) in "
                f"{time.perf_counter() - start:.0f} s",
                flush=True,
            )
        print(f"| {'verify_bundle':<34} | {'events':>9} | {'µs/event':>8} | {'peak RSS':>9} | {'worker peak':>11} |")
        print(f"| {'-' * 34} | {'-' * 9} | {'-' * 8} | {'-' * 9} | {'-' * 11} |")
        per_event: dict[tuple[str, int], float] = {}
        peak: dict[tuple[str, int], float] = {}
        for workers in ("1", "auto"):
            for size in sizes:
                r = _run("--verify", str(paths[size]), workers)
                per_event[workers, size] = r["seconds"] / r["events"]
                peak[workers, size] = r["rss_kb"] / 1024
                worker = f"{r['worker_rss_kb'] / 1024:8.1f} MB" if workers != "1" else "-"
                print(
                    f"| {'sequential' if workers == '1' else 'workers=auto':<34} | {int(r['events']):>9,} | "
                    f"{r['seconds'] / r['events'] * 1e6:8.1f} | {r['rss_kb'] / 1024:6.1f} MB | {worker:>11} |",
                    flush=True,
                )
        print()
        for size in sizes:
            ratio = per_event["1", size] / per_event["auto", size]
            print(f"workers=auto against sequential at {size:,} events: {ratio:.2f}x")
        linear = per_event["1", sizes[1]] / per_event["1", sizes[0]]
        print(f"sequential time per event at {sizes[1]:,} / at {sizes[0]:,}: {linear:.2f} (1.00 = linear)")
        for workers in ("1", "auto"):
            growth = peak[workers, sizes[1]] - peak[workers, sizes[0]]
            verdict = "met" if growth <= GROWTH_LIMIT_MB else "NOT met"
            print(
                f"goal: peak memory bounded ({'sequential' if workers == '1' else 'workers=auto'}: "
                f"+{growth:.1f} MB from {sizes[0]:,} to {sizes[1]:,} events, limit {GROWTH_LIMIT_MB:.0f} MB): {verdict}"
            )


if __name__ == "__main__":
    main()
