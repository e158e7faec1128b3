"""What the processes of test_concurrency.py run: a module of its own, importing only the library.

The processes are started with spawn, so each imports the module its function lives in. Importing the test module
would import pytest, hypothesis and the suite's conftest in every one of them (about a second each).
"""

from __future__ import annotations

import multiprocessing as mp
from datetime import datetime, timedelta, timezone

import ocop_provenance as op
from ocop_provenance.events import append_step

ICT = timezone(timedelta(hours=7))
WHERE = op.Location(name="Nghi Sơn, Thanh Hóa", admin_code="38")
T0 = datetime(2024, 11, 2, 7, 0, tzinfo=ICT)


def race(path: str, batch: bytes, who: int, day: int, barrier: mp.synchronize.Barrier, results: mp.Queue) -> None:  # type: ignore[type-arg]
    """Sign the next step on the head this process read, wait for the rival, then append; retry once on conflict."""
    signer = key(who)
    start = T0 + timedelta(days=day)
    with op.Ledger.open(path) as ledger:
        head = ledger.head(batch)
        event = append_step(head, signer, step="ocop:drying", time=start + timedelta(minutes=who), location=WHERE)
        barrier.wait(timeout=30)
        try:
            ledger.append(event)
            results.put((who, "won", None))
        except op.ConflictError as e:
            # Retry: read the new head, sign again, append.
            retry = append_step(
                ledger.head(batch), signer, step="packing", time=start + timedelta(hours=1), location=WHERE
            )
            ledger.append(retry)
            results.put((who, "retried", e.code))


def writer(path: str, batch: bytes, who: int, count: int) -> None:
    signer = key(who)
    with op.Ledger.open(path, timeout=30) as ledger:
        for i in range(count):
            # add_step reads the head and appends under one write lock: concurrent writers take turns.
            ledger.add_step(
                batch, signer, step="ocop:drying", time=T0 + timedelta(seconds=i), location=WHERE, data={"w": who}
            )
            if i % 10 == 0:
                bulk = op.NewStep(step="packing", time=T0 + timedelta(seconds=i), location=WHERE, data={"bulk": who})
                ledger.add_steps(batch, signer, [bulk])


def key(n: int) -> op.PrivateKey:
    """tests.conftest.key: seed = n repeated."""
    return op.PrivateKey.from_seed(bytes([n]) * 32)
