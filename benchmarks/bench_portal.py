"""Portal benchmark: requests per second of the consumer page and the linkset, and publishing a 10,000-event bundle.

    python -m benchmarks.bench_portal [--quick] [--seconds 5] [--connections 8] [--events 10000]

Prints, in one run:
1. with ``wrk`` (the HTTP load generator; ``apt-get install wrk``) against one uvicorn process on loopback:
   requests per second of a trivial endpoint of the same framework (FastAPI, ``async def`` returning "ok") — the
   floor — and of the consumer page (HTML) and the linkset of a sealed lot, as ratios to it (goals: page >= 0.5,
   linkset >= 0.7). Verdicts are memoised by everything they depend on (the seal text, the trust list, the batch's
   head, the date); a second server with the memo off shows the cost of verifying the seal and the chain (six
   events) from scratch on every request. A serialised unit's page is measured too: it writes the look-up count.
   Without wrk this part is skipped with a message;
2. publishing a bundle of one batch of ``--events`` events (realistic drying steps with Vietnamese text) into a
   fresh SQLite registry (verify against the trust list, then store in one transaction), as a ratio to
   ``verify_bundle`` of the same file (the floor; goal >= 0.8), and the same into a portal keeping a transparency
   log (the leaf, the checkpoint signature and the tree's nodes written in the same transaction);
3. one publication's log work on a log of 100,000 leaves (``PortalLog.append`` of one leaf with its checkpoint
   signature and commit, and ``PortalLog.receipt_for``), as multiples of one Ed25519 signature (the floor);
4. the memory each way of checking that bundle needs, each in a fresh process (the peak of Python's allocations
   while it runs, ``tracemalloc``): ``verify_bundle`` alone, the portal's publish (``verify_bundle`` with the
   portal's per-event index rows and claims check, then storing), and the library's ``audit_bundle`` (a report line
   per event), which the portal could call instead (docs/portal.md §Publishing).
Absolute rates vary with the machine and its load (2 shared cores here); compare the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import ocop_provenance as op
from ocop_provenance.events import ed25519_backend
from ocop_provenance.seals import make_seal
from ocop_provenance.trust import (
    AuthorityPin,
    Participant,
    ParticipantKey,
    TrustList,
    audit_bundle,
    load_trusted_root,
    sign_trust_list,
)

if TYPE_CHECKING:  # the portal extra is imported only where it is used
    from ocop_portal import Settings
    from ocop_portal.db import Database
    from ocop_portal.registry import Registry

ICT = timezone(timedelta(hours=7))
PUBLIC = "https://id.thanhhoa.example.vn"
T0 = datetime(2024, 11, 1, 8, 0, tzinfo=ICT)
NOW = datetime(2024, 12, 1, tzinfo=UTC)
WHERE = op.Location(name="Xưởng sấy Nghi Sơn, Thanh Hóa", admin_code="38")
COOP = "HTX Đông trùng hạ thảo Nghi Sơn"


def _key(n: int) -> op.PrivateKey:
    return op.PrivateKey.from_seed(bytes([n]) * 32)


def _trust(keys: list[op.PrivateKey], authority: list[op.PrivateKey]) -> bytes:
    pin = AuthorityPin(tuple(k.public_key for k in authority), 1)
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    participants = tuple(
        Participant(
            id=f"p{i}",
            name=name,
            role=role,
            admin_code="38",
            commune="Nghi Sơn",
            province="Thanh Hóa",
            gs1_prefixes=prefixes,
            keys=(ParticipantKey(key=k.public_key, not_before=start, not_after=end),),
        )
        for i, (k, name, role, prefixes) in enumerate(
            zip(
                keys,
                (COOP, "Phòng thử nghiệm Thanh Hóa"),
                ("producer", "lab"),
                (("8931234",), ()),  # the producer's GS1 Company Prefix: the GTIN below is its own
                strict=True,
            )
        )
    )
    tl = TrustList(
        issuer="Văn phòng Điều phối OCOP tỉnh Thanh Hóa",
        version=1,
        issued_at=datetime(2024, 11, 1, tzinfo=UTC),
        expires=datetime(2029, 1, 1, tzinfo=UTC),
        authority=pin,
        participants=participants,
    )
    return sign_trust_list(tl, authority)


def _genesis(lot: str) -> op.Genesis:
    return op.Genesis(
        time=T0,
        product=op.Product(
            name="Đông trùng hạ thảo sấy khô", lot=lot, quantity="120", unit="kg", gtin="08931234567897"
        ),
        producer=op.Producer(name=COOP, admin_code="38", commune="Nghi Sơn", province="Thanh Hóa"),
        location=WHERE,
        certificate=op.Certificate(stars=4, number="148/QĐ-UBND", issued=date(2023, 5, 1)),
    )


@dataclass(frozen=True, slots=True)
class World:
    """What the benchmark publishes and scans: the signed trust list, the six-step batch's bundle, two seals."""

    trust: bytes
    small: bytes
    seal: str
    unit: str


def _world(work: Path, events: int) -> World:
    coop, lab = _key(1), _key(2)
    trust = _trust([coop, lab], [_key(100)])
    steps: list[tuple[str, op.PrivateKey, dict[str, str | int | bool]]] = [
        ("commissioning", coop, {"weight_kg": 40}),
        ("ocop:drying", coop, {"moisture": "12.4", "temperature_c": 55}),
        ("inspecting", lab, {"moisture_pct": "11.8", "result": "Đạt"}),
        ("packing", coop, {"boxes": 40}),
        ("shipping", coop, {}),
    ]
    with op.Ledger.open(work / "ledger.sqlite", durable=False) as ledger:
        page = ledger.open_batch(_genesis("L2411-01"), coop)
        for i, (step, who, data) in enumerate(steps, 1):
            ledger.add_step(page.batch_id, who, step=step, time=T0 + timedelta(hours=i), location=WHERE, data=data)
        big = ledger.open_batch(_genesis("L2411-99"), coop)
        ledger.add_steps(
            big.batch_id,
            coop,
            (
                op.NewStep(
                    step="ocop:drying",
                    time=T0 + timedelta(seconds=i),
                    location=WHERE,
                    data={"moisture": "12.5", "temperature_c": 55, "tray": f"T-{i % 40:02d}", "operator": "Lê Thị Hoa"},
                )
                for i in range(1, events)
            ),
        )
        small = io.BytesIO()
        ledger.export_bundle(page.batch_id, small)
        with (work / "big.ocop").open("wb") as f:
            ledger.export_bundle(big.batch_id, f)
        chain = list(ledger.events(page.batch_id))
    seal = make_seal(chain[0], chain[-1], coop, resolver=PUBLIC, sealed_on=date(2024, 11, 2))
    unit = make_seal(chain[0], chain[-1], coop, resolver=PUBLIC, sealed_on=date(2024, 11, 2), serial="000123")
    return World(trust=trust, small=small.getvalue(), seal=seal.to_url(), unit=unit.to_url())


def _settings(db: str, memo: int) -> Settings:
    from ocop_portal import Settings

    # memo 0: no verdict memo and no answer cache (every request verifies and renders from scratch).
    return Settings(
        db_url=db, public_url=PUBLIC, clock=lambda: NOW, seal_memo=memo, page_cache_seconds=1.0 if memo else 0
    )


def serve(db: str, port: int, memo: int) -> None:
    """The server process: the portal plus a trivial endpoint of the same framework (the floor)."""
    import uvicorn
    from fastapi.responses import PlainTextResponse

    from ocop_portal import create_app

    app = create_app(_settings(db, memo))

    @app.get("/bench/trivial")
    async def trivial() -> PlainTextResponse:
        return PlainTextResponse("ok")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _wrk(url: str, seconds: float, connections: int, accept: str) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-H", f"Accept: {accept}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = re.search(r"Requests/sec:\s*([0-9.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    if m is None or non2xx is not None:
        raise RuntimeError(f"wrk failed or saw errors:\n{out}")
    return float(m.group(1))


def _http_part(work: Path, world: World, seconds: float, connections: int, rounds: int) -> None:
    if shutil.which("wrk") is None:
        print("HTTP: skipped — wrk is not installed (apt-get install wrk; .ci/run installs it)")
        return
    from ocop_cli.serve import free_port

    seal, unit = world.seal, world.unit
    rows = []
    for memo in (4096, 0):
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_portal",
                "--serve",
                str(work / "portal.sqlite"),
                str(port),
                str(memo),
            ]
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base)
            targets = {
                "trivial": (f"{base}/bench/trivial", "*/*"),
                "page": (base + seal[len(PUBLIC) :], "text/html"),
                "linkset": (base + seal[len(PUBLIC) :], "application/linkset+json"),
                "unit page": (base + unit[len(PUBLIC) :], "text/html"),
            }
            rates = dict.fromkeys(targets, 0.0)
            # Interleaved rounds, best of each: the machine is shared, so a slow moment hits every endpoint alike.
            for _ in range(rounds):
                for name, (url, accept) in targets.items():
                    rates[name] = max(rates[name], _wrk(url, seconds, connections, accept))
        finally:
            server.terminate()
            server.wait(timeout=30)
        rows.append((memo, rates))
    print(f"HTTP on loopback: one uvicorn process, wrk -t1 -c{connections} -d{seconds:.0f}s, best of {rounds} rounds")
    print(f"{'endpoint':<34}{'req/s':>10}{'x trivial':>11}  goal")
    for memo, rates in rows:
        label = "answer cache (1 s) and verdict memo on" if memo else "both off (verify and render every request)"
        print(f"-- {label}")
        for name, rate in rates.items():
            goal = {"page": ">= 0.5", "linkset": ">= 0.7"}.get(name, "") if memo else ""
            print(f"{name:<34}{rate:>10.0f}{rate / rates['trivial']:>11.2f}  {goal}")


def _wait(base: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/bench/trivial", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the benchmark server did not start")


def _registry(db: Path, trust: bytes, log_key: op.PrivateKey | None = None) -> tuple[Registry, Database]:
    """A fresh SQLite registry holding the trust list (keeping a transparency log with ``log_key``)."""
    from ocop_portal import Settings
    from ocop_portal.db import Database
    from ocop_portal.registry import Registry

    pin = TrustList.parse_unverified(trust).authority
    settings = Settings(db_url=str(db), public_url=PUBLIC, authority=pin, clock=lambda: NOW, log_key=log_key)
    database = Database(settings.db_url)
    database.migrate()
    registry = Registry(database, settings)
    registry.install_trust_list(trust)
    return registry, database


def _publish_part(work: Path, world: World, events: int, repeats: int) -> None:
    trust = load_trusted_root(world.trust, now=NOW)
    options = op.VerifyOptions(keys=trust, now=NOW)
    big = work / "big.ocop"
    verify, publish, logged = [], [], []
    for i in range(repeats):
        t = time.perf_counter()
        op.verify_bundle(big, options, root=op.ANY_BATCH)
        verify.append(time.perf_counter() - t)
        registry, database = _registry(work / f"publish-{i}.sqlite", world.trust)
        t = time.perf_counter()
        result = registry.publish(big)
        publish.append(time.perf_counter() - t)
        assert result.added == events
        database.dispose()
        registry, database = _registry(work / f"logged-{i}.sqlite", world.trust, log_key=_key(90))
        t = time.perf_counter()
        result = registry.publish(big)
        logged.append(time.perf_counter() - t)
        assert result.added == events
        database.dispose()
    v, p, g = min(verify), min(publish), min(logged)
    size = big.stat().st_size
    print(f"\nPublishing one batch of {events} events ({size / 1e6:.1f} MB), best of {repeats}, SQLite")
    print(f"{'':<34}{'events/s':>10}{'x verify':>11}  goal")
    print(f"{'verify_bundle (the floor)':<34}{events / v:>10.0f}{1.0:>11.2f}")
    print(f"{'publish (verify + store)':<34}{events / p:>10.0f}{v / p:>11.2f}  >= 0.8")
    print(f"{'publish, with a transparency log':<34}{events / g:>10.0f}{v / g:>11.2f}  >= 0.8")


def _log_part(work: Path, leaves: int, repeats: int) -> None:
    """One publication's log work on a log of ``leaves`` leaves: append a leaf and sign, then make its receipt."""
    from ocop_portal import Settings
    from ocop_portal.db import Database
    from ocop_portal.tlog import PortalLog

    key = _key(91)
    settings = Settings(db_url=str(work / "log.sqlite"), public_url=PUBLIC, clock=lambda: NOW, log_key=key)
    database = Database(settings.db_url)
    database.migrate()
    log = PortalLog(database, settings)
    heads = [(hashlib.sha256(b"batch %d" % i).digest(), i % 40, hashlib.sha256(b"head %d" % i).digest())
             for i in range(leaves + repeats)]  # fmt: skip
    with database.write() as conn:
        for start in range(0, leaves, 1000):
            log.append(conn, heads[start : min(leaves, start + 1000)], NOW)
    append, receipt, sign = [], [], []
    note = f"{log.origin}\n{leaves}\n" + "A" * 43 + "=\n"
    for i in range(repeats):
        t = time.perf_counter()
        with database.write() as conn:
            log.append(conn, [heads[leaves + i]], NOW)
        append.append(time.perf_counter() - t)
        t = time.perf_counter()
        with database.read() as conn:
            assert log.receipt_for(conn, heads[leaves + i][0]) is not None
        receipt.append(time.perf_counter() - t)
        t = time.perf_counter()
        key.sign(note.encode())
        sign.append(time.perf_counter() - t)
    database.dispose()
    s = min(sign)
    print(f"\nThe portal's log at {leaves} leaves (SQLite), best of {repeats}; x sign = time / one Ed25519 signature")
    print(f"{'':<44}{'ms':>8}{'x sign':>9}")
    print(f"{'Ed25519 signature of a checkpoint (floor)':<44}{s * 1e3:>8.3f}{1.0:>9.1f}")
    print(f"{'append a leaf, sign, commit':<44}{min(append) * 1e3:>8.3f}{min(append) / s:>9.1f}")
    print(f"{'receipt of a batch head (inclusion proof)':<44}{min(receipt) * 1e3:>8.3f}{min(receipt) / s:>9.1f}")


def rss(variant: str, work: Path) -> None:
    """A measuring process: check the big bundle one way and print the peak of Python's allocations, in bytes."""
    raw = (work / "trust.bin").read_bytes()
    options = op.VerifyOptions(keys=load_trusted_root(raw, now=NOW), now=NOW)
    big = work / "big.ocop"
    registry = _registry(work / f"rss-{variant}.sqlite", raw)[0] if variant == "publish" else None
    tracemalloc.start()
    if registry is not None:
        registry.publish(big)
    elif variant == "verify":
        op.verify_bundle(big, options, root=op.ANY_BATCH)
    else:
        assert audit_bundle(big, options, root=op.ANY_BATCH).ok
    print(tracemalloc.get_traced_memory()[1])


def _memory_part(work: Path, world: World, events: int) -> None:
    (work / "trust.bin").write_bytes(world.trust)
    print(f"\nMemory to check the same bundle ({events} events), each in a fresh process: peak of allocations")
    print(f"{'':<34}{'MB':>10}{'B/event':>11}")
    for variant, label in (
        ("verify", "verify_bundle"),
        ("publish", "the portal's publish"),
        ("audit", "audit_bundle"),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_portal", "--rss", variant, str(work)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        grown = int(out.split()[-1])
        print(f"{label:<34}{grown / 1e6:>10.1f}{grown / events:>11.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--serve", nargs=3, metavar=("DB", "PORT", "MEMO"))
    parser.add_argument("--rss", nargs=2, metavar=("VARIANT", "DIR"))
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return
    if args.rss:
        rss(args.rss[0], Path(args.rss[1]))
        return
    seconds = 2.0 if args.quick else args.seconds
    events = 2_000 if args.quick else args.events
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, Ed25519 backend {ed25519_backend()}")
    with tempfile.TemporaryDirectory(prefix="ocop-bench-portal-") as tmp:
        work = Path(tmp)
        world = _world(work, events)
        registry, database = _registry(work / "portal.sqlite", world.trust)
        (work / "small.ocop").write_bytes(world.small)
        registry.publish(work / "small.ocop")
        database.dispose()
        _http_part(work, world, seconds, args.connections, 1 if args.quick else 3)
        _publish_part(work, world, events, 2 if args.quick else 3)
        _log_part(work, 2_000 if args.quick else 100_000, 5 if args.quick else 20)
        _memory_part(work, world, events)


if __name__ == "__main__":
    main()
