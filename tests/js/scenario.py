"""A realistic record built with the Python library, for the JavaScript verifier's tests.

Batch "fresh" (fresh cordyceps, its own producer) is consumed by the root batch "dried" (dried cordyceps): the root
has several signers (producer, processor, lab), Vietnamese text, data values of every type (decimal text, integers,
a boolean), attachments and an input batch. A trust list (two authority keys, threshold 2) names the participants;
seals of the root batch come in the GS1 URL form and the OCOP1: text form, and a batch without a GTIN is sealed in
the OCOP URL form. Everything comes from fixed seeds and fixed times, so it is byte-for-byte reproducible.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import ocop_provenance as op
from ocop_provenance.events import BundleBatch, BundleHeader, append_step, head_of, open_batch, write_bundle
from ocop_provenance.seals import make_seal
from ocop_provenance.trust import AuthorityPin, Participant, ParticipantKey, TrustList, sign_trust_list

ICT = timezone(timedelta(hours=7))
#: The verifier clock of every case.
NOW = datetime(2025, 6, 1, tzinfo=UTC)
RESOLVER = "https://id.ocop.example.vn"
KEY_NAMES = ("producer", "farm", "processor", "lab", "retired", "outsider", "authority1", "authority2", "authority3")


def key(name: str) -> op.PrivateKey:
    return op.PrivateKey.from_seed(hashlib.sha256(f"ocop-provenance js test key: {name}".encode()).digest())


KEYS = {name: key(name) for name in KEY_NAMES}
FARM = op.Location(
    name="Trang trại đông trùng hạ thảo, xã Quảng Phú, Thanh Hóa",
    admin_code="16000",
    lat_e6=19_80_0000,
    lon_e6=105_77_0000,
)
FACTORY = op.Location(name="Xưởng sấy Nghi Sơn", admin_code="16840", gln="8931234500009")
LAB = op.Location(name="Trung tâm Kiểm nghiệm Thanh Hóa", admin_code="38")
REPORT = "Phiếu kết quả thử nghiệm số 2505/KN — đạt. ".encode() * 4
PHOTO = b"\x89PNG\r\n\x1a\n anh san pham"


@dataclass(frozen=True)
class Scenario:
    """What the cases are made of."""

    fresh: list[op.SignedEvent]
    dried: list[op.SignedEvent]
    plain: list[op.SignedEvent]  # a batch without a GTIN (sealed in the OCOP URL form)
    bundle: bytes
    plain_bundle: bytes
    trust_v1: bytes
    trust_v2: bytes  # rotated authority (authority2 + authority3), signed by v1's and its own keys
    trust_single: bytes  # one authority key, threshold 1: every byte but the signature's is the payload's
    seal_url: str
    seal_text: str
    seal_ocop_url: str


def bundle_of(batches: list[list[op.SignedEvent]]) -> bytes:
    signers: dict[bytes, op.PublicKey] = {}
    for batch in batches:
        for e in batch:
            signers.setdefault(e.key_id, next(k.public_key for k in KEYS.values() if k.key_id == e.key_id))
    header = BundleHeader(
        root=batches[0][0].event_id,
        batches=tuple(BundleBatch(batch_id=b[0].event_id, count=len(b), head=b[-1].event_id) for b in batches),
        keys=tuple(signers.values()),
    )
    out = io.BytesIO()
    write_bundle(out, header, (e.raw for b in batches for e in b))
    return out.getvalue()


def _fresh() -> list[op.SignedEvent]:
    g = open_batch(
        op.Genesis(
            time=datetime(2025, 5, 1, 6, 30, tzinfo=ICT),
            product=op.Product(name="Đông trùng hạ thảo tươi", lot="T2505-07", quantity="85.25", unit="kg"),
            producer=op.Producer(name="Hợp tác xã Quảng Phú", admin_code="16000", province="Thanh Hóa"),
            location=FARM,
        ),
        KEYS["farm"],
    )
    h = append_step(
        g,
        KEYS["farm"],
        step="commissioning",
        time=datetime(2025, 5, 1, 7, 0, tzinfo=ICT),
        location=FARM,
        data={"harvest_kg": "85.25", "tray": 12, "organic": True},
    )
    return [g, h]


def _dried(fresh: list[op.SignedEvent]) -> list[op.SignedEvent]:
    producer, processor, lab = KEYS["producer"], KEYS["processor"], KEYS["lab"]
    g = open_batch(
        op.Genesis(
            time=datetime(2025, 5, 2, 8, 0, tzinfo=ICT),
            product=op.Product(
                name="Đông trùng hạ thảo sấy thăng hoa",
                lot="D2505-02",
                quantity="9.6",
                unit="hộp",
                gtin="8931234567897",
            ),
            producer=op.Producer(
                name="Công ty TNHH Nông nghiệp Nghi Sơn",
                admin_code="16840",
                commune="Phường Nghi Sơn",
                province="Thanh Hóa",
                gln="8931234500009",
            ),
            location=FACTORY,
            certificate=op.Certificate(stars=4, number="5678/QĐ-UBND", issued=date(2024, 3, 15)),
            attachments=[
                op.Attachment(
                    name="ảnh-sản-phẩm.png",
                    media_type="image/png",
                    size=len(PHOTO),
                    sha256=hashlib.sha256(PHOTO).digest(),
                )
            ],
            data={"shelf_life": "24 tháng", "standards": "TCCS 01:2024/NS", "brand": "Nghi Sơn"},
        ),
        producer,
    )
    dry = append_step(
        g,
        processor,
        step="ocop:drying",
        time=datetime(2025, 5, 2, 9, 0, tzinfo=ICT),
        location=FACTORY,
        inputs=[head_of(fresh[-1]).as_input()],
        data={"duration_min": 720, "moisture_pct": "9.5", "temperature_c": -40, "vacuum": True},
    )
    test = append_step(
        dry,
        lab,
        step="inspecting",
        time=datetime(2025, 5, 3, 14, 0, 0, 250000, tzinfo=ICT),
        location=LAB,
        attachments=[
            op.Attachment(
                name="phiếu-kết-quả-2505.pdf",
                media_type="application/pdf",
                size=len(REPORT),
                sha256=hashlib.sha256(REPORT).digest(),
            )
        ],
        data={"cordycepin_mg_per_g": "2.35", "passed": True, "standard": "TCVN 13384:2021"},
    )
    pack = append_step(
        test,
        producer,
        step="packing",
        time=datetime(2025, 5, 4, 3, 15, tzinfo=UTC),
        location=FACTORY,
        data={"packages": 192, "net_g": 50, "note": "Hộp giấy kraft, in mã QR"},
    )
    ship = append_step(
        pack,
        producer,
        step="shipping",
        time=datetime(2025, 5, 5, 7, 45, tzinfo=ICT),
        location=FACTORY,
        data={"carrier": "Viettel Post", "packages": 192},
    )
    return [g, dry, test, pack, ship]


def _plain() -> list[op.SignedEvent]:
    g = open_batch(
        op.Genesis(
            time=datetime(2025, 5, 6, 8, 0, tzinfo=ICT),
            product=op.Product(name="Mật ong hoa nhãn", lot="MO-2505", quantity="40", unit="lít"),
            producer=op.Producer(name="Hộ kinh doanh Lê Thị Hoa", province="Hưng Yên"),
        ),
        KEYS["producer"],
    )
    bottled = append_step(
        g,
        KEYS["producer"],
        step="packing",
        time=datetime(2025, 5, 6, 10, 0, tzinfo=ICT),
        location=op.Location(name="Cơ sở đóng chai, Khoái Châu"),
    )
    return [g, bottled]


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _participant(
    pid: str, name: str, role: str, names: tuple[str, ...], retired: dict[str, datetime] | None = None, **claims: Any
) -> Participant:
    keys = []
    for n in names:
        when = (retired or {}).get(n)
        keys.append(
            ParticipantKey(
                key=KEYS[n].public_key,
                not_before=_moment("2024-01-01T00:00:00"),
                not_after=_moment("2027-01-01T00:00:00"),
                status="retired" if when is not None else "active",
                status_time=when,
            )
        )
    return Participant(id=pid, name=name, role=role, keys=tuple(keys), **claims)


def trust_list(version: int, authority: tuple[str, ...], threshold: int = 2) -> TrustList:
    """The province's list: each producer with what it may claim (codes, GLNs, GS1 Company Prefixes)."""
    return TrustList(
        issuer="Văn phòng Điều phối Chương trình OCOP tỉnh Thanh Hóa",
        version=version,
        issued_at=_moment("2025-01-01T00:00:00"),
        expires=_moment("2026-01-01T00:00:00"),
        authority=AuthorityPin(tuple(KEYS[a].public_key for a in authority), threshold=threshold),
        participants=(
            _participant(
                "htx-quang-phu",
                "Hợp tác xã Quảng Phú",
                "producer",
                ("farm",),
                admin_code="16000",
                commune="Xã Quảng Phú",
                province="Thanh Hóa",
            ),
            _participant("lab-thanh-hoa", "Trung tâm Kiểm nghiệm Thanh Hóa", "lab", ("lab",), admin_codes=("38",)),
            _participant(
                "nghi-son",
                "Công ty TNHH Nông nghiệp Nghi Sơn",
                "producer",
                ("producer",),
                admin_code="16840",
                gln="8931234500009",
                commune="Phường Nghi Sơn",
                province="Thanh Hóa",
                gs1_prefixes=("8931234",),
                glns=("8931234500016",),
                admin_codes=("16000", "38"),
            ),
            _participant(
                "xuong-say",
                "Xưởng sấy Nghi Sơn",
                "processor",
                ("processor", "retired"),
                retired={"retired": _moment("2025-03-01T00:00:00")},
                glns=("8931234500023",),
            ),
        ),
    )


def build() -> Scenario:
    fresh = _fresh()
    dried = _dried(fresh)
    plain = _plain()
    v1 = sign_trust_list(trust_list(1, ("authority1", "authority2")), [KEYS["authority1"], KEYS["authority2"]])
    v2 = sign_trust_list(
        trust_list(2, ("authority2", "authority3")), [KEYS["authority1"], KEYS["authority2"], KEYS["authority3"]]
    )
    single = sign_trust_list(trust_list(1, ("authority1",), threshold=1), [KEYS["authority1"]])
    seal = make_seal(dried[0], dried[3], KEYS["producer"], resolver=RESOLVER, sealed_on=date(2025, 5, 4))
    ocop_seal = make_seal(
        plain[0], plain[1], KEYS["producer"], resolver=RESOLVER + "/vn", sealed_on=date(2025, 5, 6), serial="0042"
    )
    return Scenario(
        fresh=fresh,
        dried=dried,
        plain=plain,
        bundle=bundle_of([dried, fresh]),
        plain_bundle=bundle_of([plain]),
        trust_v1=v1,
        trust_v2=v2,
        trust_single=single,
        seal_url=seal.to_url(),
        seal_text=seal.to_text(),
        seal_ocop_url=ocop_seal.to_url(),
    )


def public_hex(*names: str) -> list[str]:
    return [KEYS[n].public_key.raw.hex() for n in names]
