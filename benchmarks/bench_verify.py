"""Chain verification and signing against the raw Ed25519 primitives, measured in one run.

Run from the repository root (after the README's set-up, or through ``python3 tasks.py bench``)::

    python -m benchmarks.bench_verify            # about two minutes
    python -m benchmarks.bench_verify --quick    # about twenty seconds

Every library figure is the median of several rounds, each round interleaved with a round of the raw primitive
it is compared with, on the same events (so machine load hits both alike); the ratio is library rate / raw rate.

* raw verify: ``crypto_sign_open`` (libsodium through PyNaCl) and ``Ed25519PublicKey.verify`` (OpenSSL through
  cryptography) over the events' ToBeSigned bytes: the floor;
* raw sign: ``crypto_sign`` (libsodium) and ``Ed25519PrivateKey.sign`` (OpenSSL, what ``PrivateKey`` uses);
* parse_unverified_event: envelope, payload and model, no signature;
* verify_chain, 1 core, with each backend; and with ``workers=2`` (ratio to the 1-core rate; the fork server is
  started once before timing, the workers' start-up of each call is included);
* sign_event (body already built) and append_step (body built and validated, then signed), in memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import ocop_provenance as op
from ocop_provenance.events import (
    ChainHead,
    append_step,
    ed25519_backend,
    head_of,
    open_batch,
    parse_unverified_event,
    sign_event,
)

ICT = timezone(timedelta(hours=7))
T0 = datetime(2024, 11, 1, 8, 0, tzinfo=ICT)
WHERE = op.Location(name="Xưởng sấy Nghi Sơn, Thanh Hóa", admin_code="38")


def make_chain(key: op.PrivateKey, n: int) -> list[op.SignedEvent]:
    """A realistic chain: a genesis, then drying steps with four key data elements each."""
    genesis = op.Genesis(
        time=T0,
        product=op.Product(
            name="Đông trùng hạ thảo sấy khô", lot="L2411-01", quantity="120", unit="kg", gtin="08931234567897"
        ),
        producer=op.Producer(name="HTX Nông nghiệp Nghi Sơn", admin_code="38", province="Thanh Hóa"),
    )
    events = [open_batch(genesis, key)]
    for i in range(1, n):
        events.append(step(events[-1], key, i))
    return events


def step(head: op.SignedEvent | ChainHead, key: op.PrivateKey, i: int) -> op.SignedEvent:
    return append_step(
        head,
        key,
        step="ocop:drying",
        time=T0 + timedelta(seconds=i),
        location=WHERE,
        data={"moisture": "12.5", "temperature_c": 55, "tray": f"T-{i % 40:02d}", "operator": "Lê Thị Hoa"},
    )


def per_op(n: int, fn: Callable[[], object]) -> float:
    """Seconds per operation of ``fn`` doing ``n`` operations."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / n


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str]] = []

    def add(self, label: str, seconds: float, ratio: float | None = None, base: str = "") -> None:
        self.rows.append((label, seconds, f"{ratio:5.2f}x {base}" if ratio is not None else "1.00x (floor)"))

    def print(self) -> None:
        print(f"| {'figure':<52} | {'µs/op':>8} | {'ops/s':>9} | ratio |")
        print(f"| {'-' * 52} | {'-' * 8} | {'-' * 9} | ----- |")
        for label, seconds, ratio in self.rows:
            print(f"| {label:<52} | {seconds * 1e6:8.1f} | {1 / seconds:9,.0f} | {ratio} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    rounds, n = (3, 20000) if args.quick else (5, 40000)
    workers = 2

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair

    seed = bytes(range(32))
    key = op.PrivateKey.from_seed(seed)
    events = make_chain(key, n)
    raws = [e.raw for e in events]
    pairs = [(e.signature, e.to_be_signed) for e in events]
    ring = op.KeyRing.of([key.public_key])
    pk = key.public_key.raw
    ossl_pub = Ed25519PublicKey.from_public_bytes(pk)
    ossl_key = Ed25519PrivateKey.from_private_bytes(seed)
    _, sodium_sk = crypto_sign_seed_keypair(seed)
    messages = [m for _, m in pairs]
    sign_n = min(n, 10000)
    bodies = [e.body for e in events[1 : sign_n + 1]]

    def raw_sodium_verify() -> None:
        for sig, msg in pairs:
            crypto_sign_open(sig + msg, pk)

    def raw_ossl_verify() -> None:
        for sig, msg in pairs:
            ossl_pub.verify(sig, msg)

    def raw_ossl_sign() -> None:
        for msg in messages[:sign_n]:
            ossl_key.sign(msg)

    def raw_sodium_sign() -> None:
        for msg in messages[:sign_n]:
            crypto_sign(msg, sodium_sk)

    def parse() -> None:
        for raw in raws:
            parse_unverified_event(raw)

    def sign_events() -> None:
        for body in bodies:
            sign_event(body, key)

    def append() -> None:
        head = head_of(events[0])
        for i in range(1, sign_n + 1):
            head = head_of(step(head, key, i))

    samples: dict[str, list[float]] = {}

    def measure(name: str, count: int, fn: Callable[[], object]) -> None:
        samples.setdefault(name, []).append(per_op(count, fn))

    # Start multiprocessing's fork server once, untimed, as a long-running verifier would; each timed parallel
    # call still starts and stops its own two workers (about 0.1 s). bench_memory measures fresh processes.
    op.verify_chain(raws[: 2 * 1024 + 1], ring, workers=workers)
    load_before = os.getloadavg()
    for _ in range(rounds):
        measure("raw_sodium_verify", n, raw_sodium_verify)
        measure("verify_sodium", n, lambda: op.verify_chain(raws, ring, backend="libsodium"))
        measure("raw_sodium_verify", n, raw_sodium_verify)
        measure("verify_parallel", n, lambda: op.verify_chain(raws, ring, workers=workers))
        measure("verify_sodium", n, lambda: op.verify_chain(raws, ring, backend="libsodium"))
        measure("raw_ossl_verify", n, raw_ossl_verify)
        measure("verify_ossl", n, lambda: op.verify_chain(raws, ring, backend="openssl"))
        measure("parse", n, parse)
        measure("raw_ossl_sign", sign_n, raw_ossl_sign)
        measure("raw_sodium_sign", sign_n, raw_sodium_sign)
        measure("sign_event", sign_n, sign_events)
        measure("raw_ossl_sign", sign_n, raw_ossl_sign)
        measure("append_step", sign_n, append)

    load_after = os.getloadavg()
    m = {k: statistics.median(v) for k, v in samples.items()}
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"Python {sys.version.split()[0]}, {cpus} CPUs, default backend {ed25519_backend()}; {n} events of "
        f"{len(raws[-1])} bytes (ToBeSigned {len(messages[-1])} bytes); median of {rounds} rounds"
    )
    print(
        f"load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after: with more runnable processes "
        "than CPUs, the workers=2 figure measures the machine, not the library"
    )
    t = Table()
    t.add("raw verify, libsodium (crypto_sign_open)", m["raw_sodium_verify"])
    t.add("raw verify, OpenSSL (cryptography)", m["raw_ossl_verify"])
    t.add("raw sign, libsodium (crypto_sign)", m["raw_sodium_sign"])
    t.add("raw sign, OpenSSL (what PrivateKey.sign uses)", m["raw_ossl_sign"])
    sodium_ratio = m["raw_sodium_verify"] / m["verify_sodium"]
    t.add("parse_unverified_event (no signature)", m["parse"])
    t.add("verify_chain, 1 core, libsodium", m["verify_sodium"], sodium_ratio, "of raw libsodium verify")
    t.add("verify_chain, 1 core, OpenSSL", m["verify_ossl"], m["raw_ossl_verify"] / m["verify_ossl"], "of raw OpenSSL")
    par_ratio = m["verify_sodium"] / m["verify_parallel"]
    t.add(f"verify_chain, workers={workers}, libsodium", m["verify_parallel"], par_ratio, "of 1 core")
    sign_ratio = m["raw_ossl_sign"] / m["sign_event"]
    t.add("sign_event (body built), OpenSSL", m["sign_event"], sign_ratio, "of raw OpenSSL sign")
    append_ratio = m["raw_ossl_sign"] / m["append_step"]
    t.add("append_step (body built + signed), OpenSSL", m["append_step"], append_ratio, "of raw OpenSSL sign")
    t.print()
    print()
    print(f"overhead beyond the libsodium check: {(m['verify_sodium'] - m['raw_sodium_verify']) * 1e6:.1f} µs/event")
    verdict = "met" if sodium_ratio >= 0.85 else "NOT met"
    print(f"goal 1 core >= 0.85x raw libsodium verify: {verdict} ({sodium_ratio:.2f}x)")
    print(f"goal {workers} cores >= 1.7x 1 core: {'met' if par_ratio >= 1.7 else 'NOT met'} ({par_ratio:.2f}x)")


if __name__ == "__main__":
    main()
