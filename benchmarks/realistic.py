"""Realistic records for the benchmarks: what a cooperative, a drying workshop and a lab actually sign.

Minimal events flatter the figures (issue 9: 0.77x on minimal events, 0.50x on these). Every benchmark that rates
the library against a raw primitive builds its input here:

* three signers (cooperative, workshop, lab) taking turns, as in the demo;
* Vietnamese place names (NFC, with tone marks), three locations with an administrative-unit code, a GLN, and
  coordinates;
* two to four key data elements per step: moisture as decimal text, a tray number, a Vietnamese operator's name,
  a temperature now and then;
* an attachment (the lab's PDF certificate) on every tenth step;
* an input batch (fresh cordyceps) consumed by the first step, so bundles carry lineage.

The events average about 340 bytes; the bundle holds the input batch and the root batch.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import ocop_provenance as op
from ocop_provenance.events import (
    BundleBatch,
    BundleHeader,
    SignedEvent,
    append_step,
    head_of,
    open_batch,
    write_bundle,
)
from ocop_provenance.ledger import NewStep

__all__ = ["Story", "genesis", "location", "new_steps", "step_fields", "story"]

ICT = timezone(timedelta(hours=7))
T0 = datetime(2024, 11, 1, 8, 0, tzinfo=ICT)
KEYS = (
    op.PrivateKey.from_seed(b"\x01" * 32),
    op.PrivateKey.from_seed(b"\x02" * 32),
    op.PrivateKey.from_seed(b"\x03" * 32),
)
PLACES = (
    op.Location(name="Xưởng sấy Nghi Sơn, Thanh Hóa", admin_code="38"),
    op.Location(name="Phòng thí nghiệm Sầm Sơn, Thanh Hóa", gln="8934567890120"),
    op.Location(name="Kho Tĩnh Gia, Thanh Hóa", admin_code="3811", lat_e6=19412345, lon_e6=105789012),
)
OPERATORS = ("Lê Thị Hoa", "Nguyễn Văn Đức", "Trần Thị Ánh")
PDF = op.Attachment(
    name="phiếu-kết-quả-kiểm-nghiệm.pdf",
    media_type="application/pdf",
    size=183_422,
    sha256=hashlib.sha256(b"lab certificate").digest(),
)
STEPS = ("ocop:drying", "ocop:drying", "inspecting")


def genesis(product: str = "Đông trùng hạ thảo sấy khô", lot: str = "L2411-01") -> op.Genesis:
    """The genesis of a realistic batch (the cooperative's product, with its GTIN and certificate)."""
    return op.Genesis(
        time=T0,
        product=op.Product(name=product, lot=lot, quantity="120", unit="kg", gtin="08931234567897"),
        producer=op.Producer(name="HTX Nông nghiệp Nghi Sơn", admin_code="38", province="Thanh Hóa"),
        location=PLACES[0],
        data={"standards": "TCVN 12850:2019", "shelf_life": "P12M"},
    )


def location(i: int) -> op.Location:
    """The place of step ``i``."""
    return PLACES[i % len(PLACES)]


def step_fields(i: int) -> dict[str, object]:
    """The step name, data and attachments of step ``i`` (two to four data elements, a PDF every tenth step)."""
    data: dict[str, op.events.DataValue] = {
        "moisture": f"{10 + i % 5}.{i % 10}",
        "tray": i % 40,
        "operator": OPERATORS[i % len(OPERATORS)],
    }
    if i % 4 == 0:
        data["temperature_c"] = 55 + i % 7
    return {
        "step": STEPS[i % len(STEPS)],
        "data": data,
        "attachments": (PDF,) if i % 10 == 0 else (),
    }


def new_steps(n: int, start: int = 1) -> list[NewStep]:
    """``n`` realistic steps for :meth:`Ledger.add_steps` (one signer: bulk runs are signed by one key)."""
    out = []
    for i in range(start, start + n):
        f = step_fields(i)
        out.append(
            NewStep(
                step=f["step"],  # type: ignore[arg-type]
                time=T0 + timedelta(seconds=i),
                location=location(i),
                attachments=f["attachments"],  # type: ignore[arg-type]
                data=f["data"],  # type: ignore[arg-type]
            )
        )
    return out


@dataclass(frozen=True)
class Story:
    """A realistic bundle and what it is made of."""

    events: list[SignedEvent]  # the root batch's events, genesis first
    inputs: list[SignedEvent]  # the input batch's events
    bundle: bytes
    ring: op.KeyRing

    @property
    def raws(self) -> list[bytes]:
        """Every event of the bundle in file order (root batch, then its input)."""
        return [e.raw for e in (*self.events, *self.inputs)]

    def messages(self) -> list[tuple[bytes, bytes, bytes]]:
        """``(signature, ToBeSigned, public key)`` of every event: what the raw primitive verifies."""
        keys = {k.public_key.key_id: k.public_key.raw for k in KEYS}
        return [(e.signature, e.to_be_signed, keys[e.key_id]) for e in (*self.events, *self.inputs)]


def story(n: int) -> Story:
    """A bundle of a batch of ``n`` events (three signers) made from a 3-event input batch."""
    fresh = [open_batch(genesis("Đông trùng hạ thảo tươi", "T2411-01"), KEYS[0])]
    for i in range(1, 3):
        fresh.append(
            append_step(
                fresh[-1],
                KEYS[0],
                time=T0 + timedelta(seconds=i),
                location=PLACES[0],
                step="commissioning",
                data={"kg": 40 * i},
            )
        )
    events = [open_batch(genesis(), KEYS[0])]
    for i in range(1, n):
        f = step_fields(i)
        events.append(
            append_step(
                head_of(events[-1]),
                KEYS[i % len(KEYS)],
                time=T0 + timedelta(seconds=i),
                location=location(i),
                inputs=(head_of(fresh[-1]).as_input(),) if i == 1 else (),
                **f,  # type: ignore[arg-type]
            )
        )
    header = BundleHeader(
        root=events[0].event_id,
        batches=(
            BundleBatch(batch_id=events[0].event_id, count=len(events), head=events[-1].event_id),
            BundleBatch(batch_id=fresh[0].event_id, count=len(fresh), head=fresh[-1].event_id),
        ),
        keys=tuple(k.public_key for k in KEYS),
    )
    buf = io.BytesIO()
    write_bundle(buf, header, [e.raw for e in (*events, *fresh)])
    return Story(events=events, inputs=fresh, bundle=buf.getvalue(), ring=op.KeyRing.of(k.public_key for k in KEYS))
