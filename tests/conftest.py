"""Shared fixtures: deterministic keys and a small sample chain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance.events import append_step, open_batch

ICT = timezone(timedelta(hours=7))
SHARED_VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"


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
