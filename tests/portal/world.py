"""A small world for the portal's tests: an authority, three participants, two batches (one made from the other)."""

from __future__ import annotations

import atexit
import functools
import hashlib
import io
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import ocop_provenance as op
from ocop_provenance.seals import make_seal
from ocop_provenance.trust import (
    AuthorityPin,
    Participant,
    ParticipantKey,
    TrustList,
    dried_cordyceps_policy,
    sign_policy,
    sign_trust_list,
)

ICT = timezone(timedelta(hours=7))
NOW = datetime(2024, 11, 20, 3, 0, tzinfo=UTC)
GTIN = "08931234567897"
FRESH = "Đông trùng hạ thảo tươi"
DRIED = "Đông trùng hạ thảo sấy khô"
PLACE = op.Location(name="Nghi Sơn, Thanh Hóa", admin_code="38")
#: The cooperative as the trust list names it; its records declare the same name (genesis claims are checked).
COOP = "HTX Đông trùng hạ thảo Nghi Sơn"
#: The cooperative's GS1 Company Prefix: GTIN above is its own.
COOP_PREFIX = "8931234"
NEIGHBOUR = "HTX Mật ong Như Xuân"
START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)


REPORT = b"%PDF-1.4 lab report: moisture 11.8"
#: Ledgers already signed in this test process, by what they hold: a folder holding the ledger's files, and the
#: fresh and the dried batch's ids.
_LEDGERS: dict[tuple[object, ...], tuple[Path, bytes, bytes]] = {}


@functools.cache
def _scratch() -> Path:
    """A folder for this process's signed ledgers, removed when the process ends."""
    path = Path(tempfile.mkdtemp(prefix="ocop-world-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def key(n: int) -> op.PrivateKey:
    return op.PrivateKey.from_seed(bytes([n]) * 32)


def _at(day: int, hour: int) -> datetime:
    return datetime(2024, 11, day, hour, 0, tzinfo=ICT)


@dataclass
class World:
    """Keys, a signed trust list and policy, and a ledger holding the demo's two batches."""

    home: Path
    resolver: str
    product_name: str = DRIED
    authority: list[op.PrivateKey] = field(default_factory=lambda: [key(101), key(102), key(103)])
    coop: op.PrivateKey = field(default_factory=lambda: key(1))
    workshop: op.PrivateKey = field(default_factory=lambda: key(2))
    lab: op.PrivateKey = field(default_factory=lambda: key(3))
    #: Another producer of the province (its own GS1 Company Prefix) and a retailer: in the list, but neither may
    #: claim or seal the cooperative's products (issue 10).
    neighbour: op.PrivateKey = field(default_factory=lambda: key(4))
    retailer: op.PrivateKey = field(default_factory=lambda: key(5))

    def __post_init__(self) -> None:
        self.ledger_path = self.home / "ledger.sqlite"
        self.pin = AuthorityPin(tuple(k.public_key for k in self.authority), 2)
        self.trust_v1 = self.trust_list(1)
        self.policy = sign_policy(dried_cordyceps_policy(issued_at=NOW - timedelta(days=1)), self.authority[:2])
        self.report = REPORT
        # The two batches are signed once per test process and each world gets a copy of that ledger (signing them
        # with durable writes took some 20 ms of every portal test's set-up).
        recipe = (self.product_name, *(k.public_key.raw for k in (self.coop, self.workshop, self.lab)))
        if recipe not in _LEDGERS:
            _LEDGERS[recipe] = self._sign_batches(_scratch() / f"ledger-{len(_LEDGERS)}")
        made, self.fresh, self.dried = _LEDGERS[recipe]
        for part in made.iterdir():
            shutil.copyfile(part, self.home / part.name)

    def _sign_batches(self, into: Path) -> tuple[Path, bytes, bytes]:
        """Sign the demo's two batches into a new ledger in ``into``; return the folder and the batches' ids."""
        into.mkdir()
        with op.Ledger.open(into / "ledger.sqlite") as ledger:
            fresh = ledger.open_batch(
                op.Genesis(
                    time=_at(1, 5),
                    product=op.Product(name=FRESH, lot="T2411-01", quantity="40", unit="kg"),
                    producer=op.Producer(name=COOP, admin_code="38", province="Thanh Hóa"),
                    location=PLACE,
                ),
                self.coop,
            )
            ledger.add_step(fresh.batch_id, self.coop, step="commissioning", time=_at(1, 6), location=PLACE)
            dried = ledger.open_batch(
                op.Genesis(
                    time=_at(2, 7),
                    product=op.Product(name=self.product_name, lot="L2411-01", quantity="4", unit="kg", gtin=GTIN),
                    producer=op.Producer(name=COOP, admin_code="38", commune="Nghi Sơn", province="Thanh Hóa"),
                    location=PLACE,
                    certificate=op.Certificate(stars=4, number="5678/QĐ-UBND", issued=date(2023, 6, 15)),
                ),
                self.coop,
            )
            ledger.add_step(dried.batch_id, self.coop, step="commissioning", time=_at(2, 8), location=PLACE)
            ledger.add_step(
                dried.batch_id,
                self.workshop,
                step="ocop:drying",
                time=_at(2, 9),
                location=PLACE,
                inputs=[fresh.batch_id],
                data={"moisture": "12.4"},
            )
            ledger.add_step(
                dried.batch_id,
                self.lab,
                step="inspecting",
                time=_at(4, 9),
                location=PLACE,
                attachments=[
                    op.Attachment(
                        name="ket-qua.pdf",
                        media_type="application/pdf",
                        size=len(REPORT),
                        sha256=hashlib.sha256(REPORT).digest(),
                    )
                ],
                data={"moisture_pct": "11.8", "result": "Đạt"},
            )
            ledger.add_step(dried.batch_id, self.coop, step="packing", time=_at(5, 8), location=PLACE)
            ledger.add_step(dried.batch_id, self.coop, step="shipping", time=_at(6, 14), location=PLACE)
        return into, fresh.batch_id, dried.batch_id

    def participants(self, revoked: tuple[op.PublicKey, ...] = ()) -> tuple[Participant, ...]:
        out = []
        for pid, name, role, k, claims in (
            ("htx-nghi-son", COOP, "producer", self.coop, {"gs1_prefixes": (COOP_PREFIX,), "commune": "Nghi Sơn"}),
            ("xuong-say", "Xưởng sấy Tĩnh Gia", "processor", self.workshop, {}),
            ("phong-thu-nghiem", "Phòng thử nghiệm Thanh Hóa", "lab", self.lab, {}),
            ("htx-mat-ong", NEIGHBOUR, "producer", self.neighbour, {"gs1_prefixes": ("8939999",)}),
            ("cua-hang-sam-son", "Cửa hàng OCOP Sầm Sơn", "retailer", self.retailer, {}),
        ):
            status = "revoked" if k.public_key in revoked else "active"
            pk = ParticipantKey(
                key=k.public_key,
                not_before=START,
                not_after=END,
                status=status,
                status_time=NOW if status == "revoked" else None,
            )
            out.append(
                Participant(id=pid, name=name, role=role, admin_code="38", province="Thanh Hóa", keys=(pk,), **claims)
            )
        return tuple(out)

    def trust_list(self, version: int, *, revoked: tuple[op.PublicKey, ...] = ()) -> bytes:
        tl = TrustList(
            issuer="Văn phòng Điều phối OCOP tỉnh Thanh Hóa",
            version=version,
            issued_at=NOW - timedelta(days=2) + timedelta(hours=version),
            expires=NOW + timedelta(days=365),
            authority=self.pin,
            participants=self.participants(revoked),
        )
        return sign_trust_list(tl, self.authority[:2])

    def bundle(self, batch_id: bytes | None = None) -> bytes:
        out = io.BytesIO()
        with op.Ledger.open(self.ledger_path) as ledger:
            ledger.export_bundle(batch_id or self.dried, out)
        return out.getvalue()

    def seal(
        self, *, serial: str | None = None, batch_id: bytes | None = None, signer: op.PrivateKey | None = None
    ) -> str:
        with op.Ledger.open(self.ledger_path) as ledger:
            events = list(ledger.events(batch_id or self.dried))
        return make_seal(
            events[0],
            events[-1],
            signer or self.coop,
            resolver=self.resolver,
            sealed_on=date(2024, 11, 7),
            serial=serial,
        ).to_url()
