"""Verification and signing on realistic records, against the raw Ed25519 primitives measured in the same run.

Run from the repository root (after the README's set-up, or through ``python3 tasks.py bench``)::

    python -m benchmarks.bench_verify            # about two minutes
    python -m benchmarks.bench_verify --quick    # about thirty seconds

The records are :mod:`benchmarks.realistic`: three signers, Vietnamese place names, two to four data values per
step, a PDF every tenth step, an input batch (about 340 bytes an event). Every figure is the median of several
rounds, each interleaved with a round of the raw primitive it is compared with, on the same messages, so that load
on this shared 2-core machine hits both alike; the ratio is library rate / raw rate.

* raw verify: ``crypto_sign_open`` (libsodium through PyNaCl) and ``Ed25519PublicKey.verify`` (OpenSSL) over the
  events' ToBeSigned bytes with their signers' keys: the floor;
* raw sign: ``crypto_sign`` (libsodium) and ``Ed25519PrivateKey.sign`` (OpenSSL, what ``PrivateKey`` uses);
* parse_unverified_event: envelope, payload and model, no signature;
* verify_bundle, 1 core, with each backend (issue 9 goal: >= 0.85x raw libsodium); and with ``workers=2`` as a
  ratio to one core (goal >= 1.8x; the fork server is started once before timing, each call starts its workers);
* sign_event (body built) and append_step (body built and validated, then signed), in memory.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable

import ocop_provenance as op
from ocop_provenance.events import append_step, ed25519_backend, head_of, parse_unverified_event, sign_event

from benchmarks.realistic import KEYS, T0, location, step_fields, story

GOALS = {"one_core": 0.85, "two_cores": 1.8}


def per_op(n: int, fn: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this process's) per operation of ``fn`` doing ``n`` operations.

    On a shared machine the CPU time of a one-core figure is the steadier measure: it leaves out the time this
    process waited for a core. Work done in worker processes is not in it, so parallel figures use wall-clock time.
    """
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - start) / n, (time.process_time() - cpu) / n


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str]] = []

    def add(
        self, label: str, seconds: float, ratio: float | None = None, base: str = "", goal: float | None = None
    ) -> None:
        verdict = (
            ""
            if goal is None
            else (" (goal met)" if ratio is not None and ratio >= goal else f" (goal {goal}x: NOT met)")
        )
        floor = "1.00x (floor)" if label.startswith("raw ") else "-"
        self.rows.append((label, seconds, f"{ratio:5.2f}x {base}{verdict}" if ratio is not None else floor))

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

    s = story(n)
    data = s.bundle
    total = len(s.raws)
    messages = s.messages()
    ossl = {pk: Ed25519PublicKey.from_public_bytes(pk) for _, _, pk in messages}
    sign_n = min(n, 10000)
    seed = b"\x01" * 32
    ossl_key = Ed25519PrivateKey.from_private_bytes(seed)
    _, sodium_sk = crypto_sign_seed_keypair(seed)
    to_sign = [m for _, m, _ in messages[:sign_n]]
    bodies = [e.body for e in s.events[1 : sign_n + 1]]
    one = op.VerifyOptions(keys=s.ring, now=op.NO_CLOCK, backend="libsodium")
    one_ossl = op.VerifyOptions(keys=s.ring, now=op.NO_CLOCK, backend="openssl")
    two = op.VerifyOptions(keys=s.ring, now=op.NO_CLOCK, backend="libsodium", workers=workers)

    def raw_sodium_verify() -> None:
        for sig, msg, pk in messages:
            crypto_sign_open(sig + msg, pk)

    def raw_ossl_verify() -> None:
        for sig, msg, pk in messages:
            ossl[pk].verify(sig, msg)

    def raw_ossl_sign() -> None:
        for msg in to_sign:
            ossl_key.sign(msg)

    def raw_sodium_sign() -> None:
        for msg in to_sign:
            crypto_sign(msg, sodium_sk)

    def parse() -> None:
        for raw in s.raws:
            parse_unverified_event(raw)

    def verify(options: op.VerifyOptions[op.KeyRing]) -> Callable[[], object]:
        return lambda: op.verify_bundle(io.BytesIO(data), options, root=op.ANY_BATCH)

    def sign_events() -> None:
        for body in bodies:
            sign_event(body, KEYS[0])

    def append() -> None:
        head = head_of(s.events[0])
        for i in range(1, sign_n + 1):
            head = head_of(append_step(head, KEYS[0], time=T0, location=location(i), **step_fields(i)))  # type: ignore[arg-type]

    samples: dict[str, list[float]] = {}
    cpu_samples: dict[str, list[float]] = {}

    def measure(name: str, count: int, fn: Callable[[], object]) -> None:
        wall, cpu = per_op(count, fn)
        samples.setdefault(name, []).append(wall)
        cpu_samples.setdefault(name, []).append(cpu)

    # Start multiprocessing's fork server once, untimed, as a long-running verifier would.
    verify(two)()
    load_before = os.getloadavg()
    for _ in range(rounds):
        measure("raw_sodium_verify", total, raw_sodium_verify)
        measure("verify_sodium", total, verify(one))
        measure("raw_sodium_verify", total, raw_sodium_verify)
        measure("verify_parallel", total, verify(two))
        measure("verify_sodium", total, verify(one))
        measure("raw_ossl_verify", total, raw_ossl_verify)
        measure("verify_ossl", total, verify(one_ossl))
        measure("parse", total, parse)
        measure("raw_ossl_sign", sign_n, raw_ossl_sign)
        measure("raw_sodium_sign", sign_n, raw_sodium_sign)
        measure("sign_event", sign_n, sign_events)
        measure("raw_ossl_sign", sign_n, raw_ossl_sign)
        measure("append_step", sign_n, append)
    load_after = os.getloadavg()
    m = {k: statistics.median(v) for k, v in samples.items()}
    c = {k: statistics.median(v) for k, v in cpu_samples.items()}
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    size = sum(len(r) for r in s.raws) / total
    print(
        f"Python {sys.version.split()[0]}, {cpus} CPUs, default backend {ed25519_backend()}; a realistic bundle of "
        f"{total} events averaging {size:.0f} bytes (3 signers, Vietnamese text, data, attachments, an input batch); "
        f"median of {rounds} rounds"
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
    t.add("parse_unverified_event (no signature)", m["parse"])
    t.add(
        "verify_bundle, 1 core, libsodium",
        m["verify_sodium"],
        m["raw_sodium_verify"] / m["verify_sodium"],
        "of raw libsodium verify",
        GOALS["one_core"],
    )
    t.add(
        "verify_bundle, 1 core, libsodium (CPU time)",
        c["verify_sodium"],
        c["raw_sodium_verify"] / c["verify_sodium"],
        "of raw libsodium verify (CPU time)",
        GOALS["one_core"],
    )
    t.add("verify_bundle, 1 core, OpenSSL", m["verify_ossl"], m["raw_ossl_verify"] / m["verify_ossl"], "of raw OpenSSL")
    t.add(
        f"verify_bundle, workers={workers}, libsodium",
        m["verify_parallel"],
        m["verify_sodium"] / m["verify_parallel"],
        "of 1 core",
        GOALS["two_cores"],
    )
    t.add(
        "sign_event (body built), OpenSSL", m["sign_event"], m["raw_ossl_sign"] / m["sign_event"], "of raw OpenSSL sign"
    )
    t.add(
        "append_step (body built + signed), OpenSSL",
        m["append_step"],
        m["raw_ossl_sign"] / m["append_step"],
        "of raw OpenSSL sign",
    )
    t.print()
    overhead = m["verify_sodium"] - m["raw_sodium_verify"]
    cpu_overhead = c["verify_sodium"] - c["raw_sodium_verify"]
    print(
        f"\nper-event work beside the signature check (1 core): {overhead * 1e6:.1f} µs wall-clock, "
        f"{cpu_overhead * 1e6:.1f} µs CPU; parsing alone (envelope, payload, model): {c['parse'] * 1e6:.1f} µs CPU"
    )


if __name__ == "__main__":
    main()
