"""Shared fixtures: deterministic keys and a small sample chain; test-run settings (hypothesis, worker pools)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import ocop_provenance as op
import pytest
from hypothesis import HealthCheck, settings
from ocop_provenance.events import append_step, open_batch

# Hypothesis. No deadline and no too-slow health check anywhere: they are timed assertions, which fail on a loaded
# machine (speed is shown by benchmarks/). Under CI (``CI`` set, as CI sets it) no example database, since every
# run starts from a clean clone and nothing would replay it, and print_blob, so that a failure can be reproduced
# from the log alone. Elsewhere the default database in .hypothesis/ replays past failures; pytest-xdist workers
# may share it, since each test runs in one worker at a time and the database writes each example by an atomic
# rename. HYPOTHESIS_PROFILE=ci|dev chooses explicitly. Example counts are set per test, next to what they test.
_UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow], "print_blob": True}
settings.register_profile("ci", database=None, **_UNTIMED)
settings.register_profile("dev", **_UNTIMED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

#: Multiplies the example counts of the costliest property tests (those that call :func:`examples`): CI and the check
#: run them at 1; ``OCOP_EXAMPLES=10`` before a release, or after touching a decoder, searches ten times deeper.
EXAMPLES_SCALE = float(os.environ.get("OCOP_EXAMPLES", "1"))


def examples(count: int) -> int:
    """A property test's example count, scaled by ``OCOP_EXAMPLES`` (at least 1)."""
    return max(1, round(count * EXAMPLES_SCALE))


ICT = timezone(timedelta(hours=7))
EXTERNAL_VECTORS = Path(__file__).resolve().parent / "external" / "vectors"


@cache
def external_vectors(name: str) -> Any:
    """One vendored conformance vector file, parsed (tests/external/vectors/SOURCES.md). Missing fails the test."""
    path = EXTERNAL_VECTORS / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: the external vectors ship with the tests (see SOURCES.md there)")
    return json.loads(path.read_text(encoding="utf-8"))


def pytest_configure(config: pytest.Config) -> None:
    """Let the fork server import the library once; let the processes the tests start be stopped with Ctrl-C.

    ``verify_chain(workers=...)``, bundles and ``Ledger`` bulk signing start worker processes from a fork server;
    without this each worker imports the library and its dependencies itself (some 0.4 s a pool, and the suite
    starts over a hundred pools). The workers still run in their own processes with their own state, so what the
    tests check is unchanged; only the start-up is shared.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        multiprocessing.set_forkserver_preload(["ocop_provenance"])
    # A suite started as a background job of a script (``cmd &``) ignores SIGINT, and every process it starts would
    # inherit that: the tests that stop a server with Ctrl-C (``ocop witness``, ``ocop demo --serve``) would wait
    # for it in vain. A handler, unlike SIG_IGN, is not inherited: the processes the tests start get the default.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def key(n: int) -> op.PrivateKey:
    """A deterministic key: seed = n repeated."""
    return op.PrivateKey.from_seed(bytes([n]) * 32)


def sample_genesis(**overrides: object) -> op.Genesis:
    fields: dict[str, object] = {
        "time": datetime(2024, 11, 1, 8, 0, tzinfo=ICT),
        "product": op.Product(
            name="Đông trùng hạ thảo tươi", lot="L2411-01", quantity="120", unit="kg", gtin="08931234567897"
        ),
        "producer": op.Producer(name="HTX Nông nghiệp Nghi Sơn", admin_code="38", province="Thanh Hóa"),
    }
    fields.update(overrides)
    return op.Genesis(**fields)  # type: ignore[arg-type]


def sample_chain(signer: op.PrivateKey, length: int = 4) -> list[op.SignedEvent]:
    events = [open_batch(sample_genesis(), signer)]
    where = op.Location(name="Nghi Sơn, Thanh Hóa", admin_code="38")
    for i in range(1, length):
        events.append(
            append_step(
                events[-1],
                signer,
                step="commissioning" if i == 1 else "ocop:drying",
                time=datetime(2024, 11, 1, 9, 0, tzinfo=ICT) + timedelta(hours=i),
                location=where,
                data={"moisture": "12.5", "step_no": i},
            )
        )
    return events


@pytest.fixture
def coop() -> op.PrivateKey:
    return key(1)


@pytest.fixture
def chain(coop: op.PrivateKey) -> list[op.SignedEvent]:
    return sample_chain(coop)


@pytest.fixture
def ring(coop: op.PrivateKey) -> op.KeyRing:
    return op.KeyRing.of([coop.public_key])


@pytest.fixture(autouse=True, scope="session")
def _both_decoders() -> Iterator[None]:
    """Run the fast and the general payload decoder on every decode in the suite, and fail if they disagree."""
    from ocop_provenance import _wire

    _wire.DIFFERENTIAL = True
    yield
    _wire.DIFFERENTIAL = False
