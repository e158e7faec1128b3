"""Regenerate the committed test vectors (docs/format.md §Test vectors).

Run ``python -m tests.vectors.generate`` (or ``python tests/vectors/generate.py``) from the repository root.
Everything is derived from fixed seeds and fixed times; Ed25519 signing is deterministic, so the output is
byte-for-byte reproducible. ``tests/vectors/test_vectors.py`` checks that the committed files equal a fresh
in-memory regeneration.

Valid events come from the library. Invalid vectors are built here with cbor2 and the signing key directly (not
through the library's encoder), so each one carries a *valid signature* over the malformed bytes: it must be
rejected for the attack it carries, not because its signature is broken.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import cbor2

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import ocop_provenance as op
from ocop_provenance.events import (
    BundleBatch,
    BundleHeader,
    CorrectionLog,
    EquivocationProof,
    append_correction,
    append_step,
    head_of,
    open_batch,
    write_bundle,
)

HERE = Path(__file__).resolve().parent
ICT = timezone(timedelta(hours=7))
EVENT_TYP = "application/ocop-event+cbor"
SEAL_TYP = "application/ocop-seal+cbor"
#: The verifier clock used for every chain and bundle vector.
NOW = datetime(2025, 1, 1, tzinfo=UTC)
KEY_NAMES = ("producer", "lab", "outsider")


def _seed(name: str) -> bytes:
    return hashlib.sha256(f"ocop-provenance test vector key: {name}".encode()).digest()


KEYS = {name: op.PrivateKey.from_seed(_seed(name)) for name in KEY_NAMES}


def _cose_key(pub: bytes) -> bytes:
    """The RFC 9679 thumbprint input: deterministic CBOR of {1: 1, -1: 6, -2: x}, built independently."""
    return cbor2.dumps({1: 1, -1: 6, -2: pub})


def _hex(b: bytes) -> str:
    return b.hex()


# ---- an independent COSE_Sign1 builder (used for the invalid vectors) ------------------------------------


def _protected(kid: bytes, typ: str = EVENT_TYP, alg: int = -8, extra: dict[int, Any] | None = None) -> bytes:
    header: dict[int, Any] = {1: alg, 4: kid, 16: typ}
    header.update(extra or {})
    return cbor2.dumps(dict(sorted(header.items(), key=lambda kv: cbor2.dumps(kv[0]))))


def _sign(
    payload: bytes,
    signer: str = "producer",
    *,
    protected: bytes | None = None,
    unprotected: dict[int, Any] | None = None,
) -> bytes:
    key = KEYS[signer]
    prot = protected if protected is not None else _protected(key.key_id)
    tbs = cbor2.dumps(["Signature1", prot, b"", payload])
    sig = key.sign(tbs)
    return cbor2.dumps(cbor2.CBORTag(18, [prot, unprotected or {}, payload, sig]))


# ---- the valid story: fresh cordyceps (batch A) dried into batch B ----------------------------------------

FARM = op.Location(
    name="Trang trại đông trùng hạ thảo, phường Nghi Sơn, Thanh Hóa",
    admin_code="16840",
    lat_e6=19_335_512,
    lon_e6=105_796_114,
)
LAB = op.Location(name="Trung tâm Kiểm nghiệm Thanh Hóa", admin_code="38")
LAB_PDF = "Phiếu kết quả thử nghiệm số 2411/KN. ".encode() * 3
PHOTO = b"\x89PNG\r\n\x1a\n placeholder image bytes for the test vector"


def build_story() -> dict[str, list[op.SignedEvent]]:
    producer, lab = KEYS["producer"], KEYS["lab"]
    a0 = open_batch(
        op.Genesis(
            time=datetime(2024, 11, 1, 8, 0, tzinfo=ICT),
            product=op.Product(
                name="Đông trùng hạ thảo tươi", lot="L2411-01", quantity="120", unit="kg", gtin="8931234567897"
            ),
            producer=op.Producer(
                name="Công ty TNHH Nông nghiệp Nghi Sơn",
                admin_code="16840",
                commune="Phường Nghi Sơn",
                province="Thanh Hóa",
                gln="8931234500009",
            ),
            location=FARM,
            certificate=op.Certificate(stars=3, number="1234/QĐ-UBND", issued=date(2020, 12, 30)),
        ),
        producer,
    )
    a1 = append_step(
        a0,
        producer,
        step="commissioning",
        time=datetime(2024, 11, 1, 9, 30, tzinfo=ICT),
        location=FARM,
        data={"harvest_kg": "120.5", "room": "P3"},
    )
    a2 = append_step(
        a1,
        lab,
        step="inspecting",
        time=datetime(2024, 11, 2, 14, 0, 0, 250000, tzinfo=ICT),
        location=LAB,
        attachments=[
            op.Attachment(
                name="phieu-ket-qua-2411.pdf",
                media_type="application/pdf",
                size=len(LAB_PDF),
                sha256=hashlib.sha256(LAB_PDF).digest(),
            )
        ],
        data={"cordycepin_mg_per_g": "2.1", "passed": True, "standard": "TCVN 13384:2021"},
    )
    b0 = open_batch(
        op.Genesis(
            time=datetime(2024, 11, 3, 7, 0, tzinfo=ICT),
            product=op.Product(
                name="Đông trùng hạ thảo sấy khô", lot="D2411-01", quantity="12.5", unit="kg", gtin="08931234567880"
            ),
            producer=op.Producer(
                name="Công ty TNHH Nông nghiệp Nghi Sơn",
                admin_code="16840",
                commune="Phường Nghi Sơn",
                province="Thanh Hóa",
            ),
            certificate=op.Certificate(stars=4, number="5678/QĐ-UBND", issued=date(2022, 6, 15)),
            attachments=[
                op.Attachment(
                    name="ảnh-sản-phẩm.png",
                    media_type="image/png",
                    size=len(PHOTO),
                    sha256=hashlib.sha256(PHOTO).digest(),
                )
            ],
            data={"shelf_life": "24 tháng kể từ ngày sản xuất", "standards": "TCCS 01:2022/NS"},
        ),
        producer,
    )
    b1 = append_step(
        b0,
        producer,
        step="ocop:drying",
        time=datetime(2024, 11, 3, 8, 0, tzinfo=ICT),
        location=FARM,
        inputs=[head_of(a2).as_input()],
        data={"duration_min": 480, "moisture_pct": "11.5", "temperature_c": 55},
    )
    b2 = append_step(
        b1,
        producer,
        step="packing",
        time=datetime(2024, 11, 4, 10, 15, tzinfo=UTC),
        location=FARM,
        data={"packages": 250, "net_g": 50},
    )
    return {"A": [a0, a1, a2], "B": [b0, b1, b2]}


def build_corrections() -> list[op.SignedEvent]:
    """Batch C (docs/format.md §19): a moisture typo corrected by its signer, a lab test withdrawn and redone."""
    producer, lab = KEYS["producer"], KEYS["lab"]
    c0 = open_batch(
        op.Genesis(
            time=datetime(2024, 11, 10, 7, 0, tzinfo=ICT),
            product=op.Product(
                name="Đông trùng hạ thảo sấy khô", lot="D2411-02", quantity="8", unit="kg", gtin="08931234567880"
            ),
            producer=op.Producer(name="Công ty TNHH Nông nghiệp Nghi Sơn", admin_code="16840", province="Thanh Hóa"),
        ),
        producer,
    )
    c1 = append_step(
        c0,
        producer,
        step="ocop:drying",
        time=datetime(2024, 11, 10, 8, 0, tzinfo=ICT),
        location=FARM,
        data={"moisture_pct": "21.5", "temperature_c": 55},
    )
    pdf = op.Attachment(
        name="phieu-ket-qua-2411-02.pdf",
        media_type="application/pdf",
        size=len(LAB_PDF),
        sha256=hashlib.sha256(LAB_PDF).digest(),
    )
    c2 = append_step(
        c1,
        lab,
        step="inspecting",
        time=datetime(2024, 11, 11, 9, 0, tzinfo=ICT),
        location=LAB,
        attachments=[pdf],
        data={"passed": True},
    )
    c3 = append_correction(
        c2,
        producer,
        corrected=c1,
        reason="Ghi nhầm độ ẩm khi nhập sổ: 11,5% chứ không phải 21,5%",
        data={"moisture_pct": "11.5"},
        time=datetime(2024, 11, 11, 16, 0, tzinfo=ICT),
        location=FARM,
    )
    c4 = append_correction(
        c3,
        lab,
        corrected=c2,
        reason="Mẫu lấy nhầm từ lô D2411-01; kiểm nghiệm lại",
        time=datetime(2024, 11, 12, 8, 0, tzinfo=ICT),
        location=LAB,
    )
    c5 = append_step(
        c4,
        lab,
        step="inspecting",
        time=datetime(2024, 11, 12, 15, 0, tzinfo=ICT),
        location=LAB,
        attachments=[pdf],
        data={"passed": True},
    )
    return [c0, c1, c2, c3, c4, c5]


def _event_vector(name: str, event: op.SignedEvent, signer: str) -> dict[str, Any]:
    return {
        "name": name,
        "signer": signer,
        "batch_id": _hex(event.batch_id),
        "seq": event.seq,
        "step": event.step,
        "payload": _hex(event.payload),
        "protected": _hex(event.envelope.protected),
        "to_be_signed": _hex(event.to_be_signed),
        "signature": _hex(event.signature),
        "cose": _hex(event.raw),
        "event_id": _hex(event.event_id),
    }


def _bundle(header: BundleHeader, events: list[bytes]) -> bytes:
    out = io.BytesIO()
    write_bundle(out, header, events)
    return out.getvalue()


def _bundle_item(data: bytes) -> bytes:
    return cbor2.dumps(data)


def _raw_bundle(header: dict[int, Any], events: list[bytes]) -> bytes:
    """A bundle built independently of the library (bstr-wrapped CBOR sequence)."""
    return _bundle_item(cbor2.dumps(header)) + b"".join(_bundle_item(e) for e in events)


def _header_map(root: bytes, batches: list[list[op.SignedEvent]], keys: list[str]) -> dict[int, Any]:
    return {
        0: "ocop-bundle",
        1: 1,
        2: root,
        3: [KEYS[k].public_key.raw for k in keys],
        4: [[b[0].event_id, len(b), b[-1].event_id] for b in batches],
    }


# ---- invalid vectors --------------------------------------------------------------------------------------


def _payload_map(event: op.SignedEvent) -> dict[Any, Any]:
    m = cbor2.loads(event.payload)
    assert isinstance(m, dict)
    return m


def _det(value: Any) -> bytes:
    """Deterministic CBOR built here (maps sorted by encoded key), for payloads that are wrong in another way."""

    def canon(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: canon(v[k]) for k in sorted(v, key=cbor2.dumps)}
        if isinstance(v, list):
            return [canon(x) for x in v]
        return v

    return cbor2.dumps(canon(value))


def _invalid(story: dict[str, list[op.SignedEvent]]) -> list[dict[str, Any]]:
    a, b, c = story["A"], story["B"], story["C"]
    producer = KEYS["producer"]
    kid = producer.key_id
    out: list[dict[str, Any]] = []

    def add(name: str, kind: str, code: str, attack: str, data: bytes | list[bytes], **extra: Any) -> None:
        entry: dict[str, Any] = {"name": name, "kind": kind, "expected_code": code, "attack": attack}
        entry["input"] = [_hex(x) for x in data] if isinstance(data, list) else _hex(data)
        entry.update(extra)
        out.append(entry)

    def step_payload(base: op.SignedEvent, **changes: Any) -> bytes:
        m = _payload_map(base)
        for label, value in changes.items():
            idx = int(label.lstrip("_"))
            if value is None:
                m.pop(idx, None)
            else:
                m[idx] = value
        return _det(m)

    def chain(*events: bytes) -> list[bytes]:
        return list(events)

    raw = [e.raw for e in b]

    # ---- chain rules (kind "chain": verify_chain with every vector key trusted, now = NOW) ----
    rival = append_step(b[1], producer, step="shipping", time=datetime(2024, 11, 4, 12, 0, tzinfo=ICT), location=FARM)
    add(
        "forked-batch",
        "chain",
        "E_FORK",
        "two validly signed events at seq 2 of one batch (equivocation)",
        chain(*raw, rival.raw),
    )
    add(
        "spliced-from-other-batch",
        "chain",
        "E_BATCH",
        "batch A's seq-1 event spliced into batch B's chain",
        chain(b[0].raw, a[1].raw),
    )
    add(
        "rollback-seq",
        "chain",
        "E_SEQ",
        "after seq 2 comes an event whose seq goes back to 1 (linked to seq 2)",
        chain(*raw, _sign(step_payload(b[2], _2=1, _3=b[2].event_id))),
    )
    add(
        "skipped-seq",
        "chain",
        "E_SEQ",
        "seq jumps from 2 to 4",
        chain(*raw, _sign(step_payload(b[2], _2=4, _3=b[2].event_id))),
    )
    add(
        "bad-prev-link",
        "chain",
        "E_LINK",
        "seq is right but prev names an event that is not the previous one",
        chain(b[0].raw, b[1].raw, _sign(step_payload(b[2], _3=hashlib.sha256(b"elsewhere").digest()))),
    )
    add(
        "time-reversal",
        "chain",
        "E_TIME",
        "a step claims a time one hour before its predecessor (tolerance 5 minutes)",
        chain(b[0].raw, b[1].raw, _sign(step_payload(b[2], _4="2024-11-03T07:00:00+07:00"))),
    )
    add(
        "future-time",
        "chain",
        "E_FUTURE",
        "a step claims a time after the verifier's clock (now) plus the tolerance",
        chain(b[0].raw, b[1].raw, _sign(step_payload(b[2], _4="2025-01-01T00:05:01+00:00"))),
    )
    add("genesis-not-first", "chain", "E_GENESIS", "a chain that starts after its genesis", chain(*raw[1:]))
    add("duplicate-event", "chain", "E_DUPLICATE", "the same event replayed twice", chain(*raw, raw[-1]))
    add("empty-chain", "chain", "E_EMPTY", "no events at all", [])
    add(
        "untrusted-signer",
        "chain",
        "E_UNKNOWN_KEY",
        "a validly signed event whose signer is not trusted",
        chain(b[0].raw, b[1].raw, _sign(b[2].payload, "outsider")),
        trusted=["producer", "lab"],
    )
    add(
        "signature-by-other-key",
        "chain",
        "E_SIGNATURE",
        "kid names the producer but the outsider signed (a forged event)",
        chain(b[0].raw, b[1].raw, _sign(b[2].payload, "outsider", protected=_protected(kid))),
    )
    tampered = bytearray(b[2].raw)
    tampered[-1] ^= 1
    add(
        "flipped-signature-bit",
        "chain",
        "E_SIGNATURE",
        "one bit of the signature flipped",
        chain(*raw[:2], bytes(tampered)),
    )
    add(
        "wrong-batch-expected",
        "chain",
        "E_BATCH",
        "a valid chain offered as another batch (batch_id pinned by the verifier)",
        chain(*[e.raw for e in a]),
        batch_id=_hex(b[0].event_id),
    )

    # ---- envelope (kind "event": parse_unverified_event) ----
    g = b[0]
    add(
        "unprotected-header-kid",
        "event",
        "E_UNPROTECTED",
        "kid (or anything) in the unprotected header, which the signature does not cover",
        _sign(g.payload, unprotected={4: kid}),
    )
    add(
        "alg-es256",
        "event",
        "E_ALG",
        "protected header names ES256 (-7): algorithm substitution",
        _sign(g.payload, protected=_protected(kid, alg=-7)),
    )
    add(
        "alg-ed25519-19",
        "event",
        "E_ALG",
        "RFC 9864's fully specified Ed25519 (-19): refused, exactly one algorithm is accepted (ADR 0001)",
        _sign(g.payload, protected=_protected(kid, alg=-19)),
    )
    add(
        "crit-header",
        "event",
        "E_CRIT",
        "protected header marks a parameter critical",
        _sign(g.payload, protected=_protected(kid, extra={2: [16]})),
    )
    add(
        "extra-protected-label",
        "event",
        "E_COSE",
        "protected header carries a label other than alg, kid, typ (content type, 3)",
        _sign(g.payload, protected=_protected(kid, extra={3: "application/cbor"})),
    )
    add(
        "seal-typ-as-event",
        "event",
        "E_CONTENT_TYPE",
        "type confusion: a validly signed object of content type ocop-seal offered as an event",
        _sign(g.payload, protected=_protected(kid, typ=SEAL_TYP)),
    )
    add(
        "short-kid",
        "event",
        "E_COSE",
        "kid is an 8-byte prefix, not the 32-byte thumbprint",
        _sign(g.payload, protected=_protected(kid[:8])),
    )
    add("trailing-bytes", "event", "E_TRAILING", "one byte after the COSE_Sign1", g.raw + b"\x00")
    untagged = g.raw[1:]
    add("untagged-cose", "event", "E_COSE", "COSE_Sign1 array without tag 18", untagged)
    indefinite = b"\xd2\x9f" + g.raw[2:] + b"\xff"
    add("indefinite-length", "event", "E_CBOR", "the COSE array encoded with indefinite length", indefinite)
    detached = cbor2.dumps(cbor2.CBORTag(18, [g.envelope.protected, {}, None, g.signature]))
    add("detached-payload", "event", "E_COSE", "payload detached (nil)", detached)
    short_sig = cbor2.dumps(cbor2.CBORTag(18, [g.envelope.protected, {}, g.payload, g.signature[:63]]))
    add("short-signature", "event", "E_COSE", "a 63-byte signature", short_sig)
    non_shortest_len = b"\xd2\x84\x59\x00" + bytes([len(g.envelope.protected)]) + g.raw[4:]
    add(
        "non-shortest-length",
        "event",
        "E_NONCANONICAL",
        "the protected header's length encoded in 2 bytes instead of 1",
        non_shortest_len,
    )

    # ---- payload (kind "event") ----
    m = _payload_map(g)
    reordered = dict(sorted(m.items(), key=lambda kv: -kv[0]))
    add(
        "non-canonical-map-order",
        "event",
        "E_NONCANONICAL",
        "payload map keys in descending order (same content, another encoding)",
        _sign(cbor2.dumps(reordered)),
    )
    m_len_first = _payload_map(b[1])
    m_len_first[9] = {"temperature_c": 55, "moisture_pct": "11.5", "duration_min": 480}
    add(
        "data-keys-unsorted",
        "event",
        "E_NONCANONICAL",
        "data element keys not in bytewise order",
        _sign(cbor2.dumps(dict(sorted(m_len_first.items())))),
    )
    nfd = dict(m)
    nfd[10] = dict(nfd[10])
    nfd[10][0] = unicodedata.normalize("NFD", nfd[10][0])
    add(
        "non-nfc-text",
        "event",
        "E_NONCANONICAL",
        "product name in NFD (decomposed Vietnamese marks): another byte string for the same text",
        _sign(_det(nfd)),
    )
    ctrl = dict(m)
    ctrl[10] = dict(ctrl[10])
    ctrl[10][0] = "Đông trùng\x1b[2J hạ thảo"
    add("control-character", "event", "E_FIELD", "an ANSI escape in the product name", _sign(_det(ctrl)))
    tagged = dict(m)
    tagged[4] = cbor2.CBORTag(0, m[4])
    tag = cbor2.dumps(dict(sorted(tagged.items())))
    add("tag-in-payload", "event", "E_CBOR", "the time wrapped in CBOR tag 0", _sign(tag))
    bomb = bytes.fromhex("a1") + b"\x00" + bytes.fromhex("d81c81d81d00")
    add(
        "string-ref-bomb",
        "event",
        "E_CBOR",
        "cbor2's shared/string-reference tags 28/29 (exponential amplification) inside the payload",
        _sign(bomb),
    )
    dup = bytes([g.payload[0] + 1]) + g.payload[1:] + b"\x00\x01"  # the version label a second time
    add("duplicate-map-key", "event", "E_CBOR", "label 0 twice in the payload map", _sign(dup))
    floaty = _payload_map(b[1])
    floaty[9] = dict(floaty[9])
    floaty[9]["moisture_pct"] = 11.5
    add(
        "float-in-data", "event", "E_TYPE", "a float data element (floats have no single encoding)", _sign(_det(floaty))
    )
    unknown = dict(m)
    unknown[14] = "x"
    add("unknown-payload-label", "event", "E_SCHEMA", "a label the format does not define", _sign(_det(unknown)))
    nulled = _payload_map(a[0])
    nulled[12] = None
    add(
        "null-optional-field",
        "event",
        "E_SCHEMA",
        "certificate present as null instead of absent",
        _sign(_det(nulled)),
    )
    empty = _payload_map(b[2])
    empty[8] = []
    add("empty-array-present", "event", "E_SCHEMA", "attachments present as an empty array", _sign(_det(empty)))
    version = dict(m)
    version[0] = 2
    add("unknown-format-version", "event", "E_VERSION", "format version 2", _sign(_det(version)))
    bad_gtin = _payload_map(a[0])
    bad_gtin[10] = dict(bad_gtin[10])
    bad_gtin[10][4] = "08931234567898"
    add("bad-gtin-check-digit", "event", "E_FIELD", "GTIN with a wrong check digit", _sign(_det(bad_gtin)))
    short_gtin = _payload_map(a[0])
    short_gtin[10] = dict(short_gtin[10])
    short_gtin[10][4] = "8931234567897"
    add("unpadded-gtin", "event", "E_NONCANONICAL", "GTIN-13 not padded to 14 digits", _sign(_det(short_gtin)))
    qty = _payload_map(b[0])
    qty[10] = dict(qty[10])
    qty[10][2] = "12.50"
    add("non-canonical-quantity", "event", "E_NONCANONICAL", "quantity with a trailing zero", _sign(_det(qty)))
    t = dict(m)
    t[4] = "2024-11-03T00:00:00Z"
    add(
        "time-with-z",
        "event",
        "E_FIELD",
        "time written with Z instead of +00:00 (outside the profile of §7.4)",
        _sign(_det(t)),
    )
    t2 = dict(m)
    t2[4] = "2024-11-03T07:00:00"
    add("time-without-offset", "event", "E_FIELD", "time with no UTC offset", _sign(_det(t2)))
    lat = _payload_map(a[0])
    lat[6] = dict(lat[6])
    lat[6][2] = 90_000_001
    add("latitude-out-of-range", "event", "E_FIELD", "latitude beyond 90 degrees", _sign(_det(lat)))
    stars = _payload_map(a[0])
    stars[12] = dict(stars[12])
    stars[12][0] = 6
    add("six-stars", "event", "E_FIELD", "an OCOP certificate with 6 stars", _sign(_det(stars)))
    seq0 = _payload_map(b[1])
    seq0[2] = 0
    add("step-fields-at-seq-0", "event", "E_SCHEMA", "seq 0 with step labels (batch, prev, step)", _sign(_det(seq0)))

    # ---- corrections (docs/format.md §19) ----
    def declaration(seq: int, event_id: bytes) -> dict[int, Any]:
        return {0: seq, 1: event_id, 2: "Ghi nhầm độ ẩm", 3: {"moisture_pct": "11.5"}}

    def forged(base: op.SignedEvent, seq: int, event_id: bytes) -> bytes:
        return _sign(step_payload(base, _13=declaration(seq, event_id)))

    add(
        "correction-of-later-seq",
        "event",
        "E_FIELD",
        "a correction at seq 3 names seq 4: only an earlier step can be corrected",
        forged(c[3], 4, c[2].event_id),
    )
    add(
        "correction-of-own-seq",
        "event",
        "E_FIELD",
        "a correction at seq 3 names seq 3, which does not exist before it",
        forged(c[3], 3, c[2].event_id),
    )
    add(
        "correction-of-genesis",
        "event",
        "E_FIELD",
        "a correction names seq 0: the genesis is the batch's identity and cannot be corrected",
        forged(c[3], 0, c[0].event_id),
    )
    add(
        "correction-without-seq",
        "event",
        "E_SCHEMA",
        "a correction whose declaration is missing the corrected seq",
        _sign(step_payload(c[3], _13={1: c[1].event_id, 2: "Ghi nhầm"})),
    )
    far = _payload_map(c[3])
    far[2] = 5000
    far[13] = declaration(1, c[1].event_id)
    add(
        "correction-beyond-window",
        "event",
        "E_FIELD",
        "a correction at seq 5000 names seq 1, more than 4096 steps back",
        _sign(_det(far)),
    )
    add(
        "correction-with-other-step",
        "event",
        "E_FIELD",
        "a correction declaration on a step that is not ocop:correcting",
        _sign(step_payload(c[3], _5="inspecting")),
    )
    add(
        "correcting-step-without-declaration",
        "event",
        "E_FIELD",
        "an ocop:correcting step that does not say what it corrects",
        _sign(step_payload(c[3], _13=None)),
    )
    add(
        "correction-with-inputs",
        "event",
        "E_FIELD",
        "a correction that also consumes a batch",
        _sign(step_payload(c[3], _7=[{0: a[0].event_id, 1: 0, 2: a[0].event_id}])),
    )
    in_genesis = _payload_map(c[0])
    in_genesis[13] = declaration(1, c[1].event_id)
    add("correction-in-genesis", "event", "E_SCHEMA", "a genesis carrying a correction", _sign(_det(in_genesis)))
    add(
        "correction-wrong-event-id",
        "chain",
        "E_CORRECTION_TARGET",
        "a correction names seq 1 with the id of the event at seq 2",
        chain(c[0].raw, c[1].raw, c[2].raw, forged(c[3], 1, c[2].event_id)),
    )
    add(
        "correction-of-other-batch-event",
        "chain",
        "E_CORRECTION_TARGET",
        "a correction names batch A's seq-1 event as seq 1 of batch C",
        chain(c[0].raw, c[1].raw, c[2].raw, forged(c[3], 1, a[1].event_id)),
    )
    add(
        "correction-of-correction",
        "chain",
        "E_CORRECTION_TARGET",
        "a correction names the correction at seq 3: the original step must be corrected instead",
        chain(*[e.raw for e in c[:4]], forged(c[4], 3, c[3].event_id)),
    )

    # ---- keys (kind "public_key": PublicKey.from_raw) ----
    add("small-order-key", "public_key", "E_WEAK_KEY", "the identity point (order 1)", bytes([1]) + bytes(31))
    add(
        "small-order-key-order-8",
        "public_key",
        "E_WEAK_KEY",
        "a point of order 8",
        bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    )
    add(
        "non-canonical-key",
        "public_key",
        "E_WEAK_KEY",
        "y >= p (non-canonical encoding)",
        bytes.fromhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    )

    # ---- bundles (kind "bundle": verify_bundle with every vector key trusted, now = NOW) ----
    good = _header_map(b[0].event_id, [b, a], ["producer", "lab"])
    every = [e.raw for e in b] + [e.raw for e in a]
    add(
        "truncated-chain",
        "bundle",
        "E_TRUNCATED",
        "the file ends before the last declared event",
        _raw_bundle(good, every[:-1]),
    )
    add(
        "bundle-trailing-data",
        "bundle",
        "E_TRAILING",
        "an extra item after the last declared event",
        _raw_bundle(good, every) + _bundle_item(a[0].raw),
    )
    wrong_head = append_step(
        a[1],
        producer,
        step="inspecting",
        time=datetime(2024, 11, 2, 15, 0, tzinfo=ICT),
        location=LAB,
        data={"passed": False},
    )
    consumer = _payload_map(b[1])
    consumer[7] = [{0: a[0].event_id, 1: 2, 2: wrong_head.event_id}]
    b1x = _sign(_det(consumer))
    b1x_id = hashlib.sha256(cbor2.dumps(["Signature1", cbor2.loads(b1x).value[0], b"", _det(consumer)])).digest()
    b2x = _sign(step_payload(b[2], _3=b1x_id))
    b2x_id = hashlib.sha256(
        cbor2.dumps(["Signature1", cbor2.loads(b2x).value[0], b"", step_payload(b[2], _3=b1x_id)])
    ).digest()
    hdr = dict(good)
    hdr[4] = [[b[0].event_id, 3, b2x_id], [a[0].event_id, 3, a[2].event_id]]
    add(
        "wrong-input-head",
        "bundle",
        "E_INPUT_HEAD",
        "the drying step consumed another seq-2 head of batch A than the one the bundle holds",
        _raw_bundle(hdr, [b[0].raw, b1x, b2x, *[e.raw for e in a]]),
    )
    second = _payload_map(b[2])
    second[7] = [{0: a[0].event_id, 1: 2, 2: wrong_head.event_id}]
    b2y = _sign(_det(second))
    b2y_id = hashlib.sha256(cbor2.dumps(["Signature1", cbor2.loads(b2y).value[0], b"", _det(second)])).digest()
    hdr2 = dict(good)
    hdr2[4] = [[b[0].event_id, 3, b2y_id], [a[0].event_id, 3, a[2].event_id]]
    add(
        "conflicting-input-heads",
        "bundle",
        "E_INPUT_HEAD",
        "drying consumed A's real seq-2 head, packing claims another seq-2 head of A: the second claim is false",
        _raw_bundle(hdr2, [b[0].raw, b[1].raw, b2y, *[e.raw for e in a]]),
    )
    add(
        "input-missing",
        "bundle",
        "E_INPUT_MISSING",
        "the input batch A is not in the bundle",
        _raw_bundle(_header_map(b[0].event_id, [b], ["producer"]), [e.raw for e in b]),
    )
    add(
        "unconsumed-batch",
        "bundle",
        "E_BUNDLE_EXTRA",
        "batch A made the root and batch B appended although nothing before B consumes it (input order inverted)",
        _raw_bundle(
            {**good, 2: a[0].event_id, 4: [[a[0].event_id, 3, a[2].event_id], [b[0].event_id, 3, b[2].event_id]]},
            [e.raw for e in a] + [e.raw for e in b],
        ),
    )
    add(
        "header-head-mismatch",
        "bundle",
        "E_HEADER_MISMATCH",
        "the header names a head the chain does not end with (a rolled-back chain behind a newer claim)",
        _raw_bundle(
            {**good, 4: [[b[0].event_id, 2, b[2].event_id], [a[0].event_id, 3, a[2].event_id]]},
            [
                b[0].raw,
                b[1].raw,
                *[e.raw for e in a],
            ],
        ),
    )
    add(
        "bundle-ships-small-order-key",
        "bundle",
        "E_WEAK_KEY",
        "the header ships the identity point as a signer key",
        _raw_bundle({**good, 3: [bytes([1]) + bytes(31)]}, every),
    )
    add(
        "bundle-item-not-bstr",
        "bundle",
        "E_BUNDLE",
        "an event item that is a bare COSE array instead of a byte string",
        _bundle_item(cbor2.dumps(good)) + b[0].raw,
    )
    add(
        "bundle-wrong-magic",
        "bundle",
        "E_BUNDLE",
        "a header whose magic is not ocop-bundle",
        _raw_bundle({**good, 0: "ocop-bundle2"}, every),
    )
    out.extend(_invalid_spec(story))
    return out


def _nested(base: op.SignedEvent, label: int, member: int | None, value: Any) -> bytes:
    """The payload of ``base`` with member ``member`` of nested map ``label`` set (None: removed), re-signed."""
    m = _payload_map(base)
    if member is None:
        m[label] = value
    else:
        m[label] = dict(m[label])
        if value is _ABSENT:
            m[label].pop(member, None)
        else:
            m[label][member] = value
    return _sign(_det(m))


_ABSENT = object()


def _invalid_spec(story: dict[str, list[op.SignedEvent]]) -> list[dict[str, Any]]:
    """Vectors for the rules docs/format.md states exactly (issue 10: what a second implementation must match)."""
    a, b = story["A"], story["B"]
    out: list[dict[str, Any]] = []

    def add(name: str, kind: str, code: str, attack: str, data: bytes | list[bytes], **extra: Any) -> None:
        entry: dict[str, Any] = {"name": name, "kind": kind, "expected_code": code, "attack": attack}
        entry["input"] = [_hex(x) for x in data] if isinstance(data, list) else _hex(data)
        entry.update(extra)
        out.append(entry)

    def event(name: str, code: str, attack: str, data: bytes, field: str | None = None) -> None:
        if field is None:
            add(name, "event", code, attack, data)
        else:
            add(name, "event", code, attack, data, expected_field=field)

    g, s1 = b[0], b[1]

    # §7.4 time: exactly the profile, nothing else parses.
    times = [
        ("time-lowercase-t", "2024-11-03t07:00:00+07:00", "E_FIELD", "a lowercase t between date and time"),
        ("time-other-separator", "2024-11-03U07:00:00+07:00", "E_FIELD", "a letter other than T as the separator"),
        ("time-space-separator", "2024-11-03 07:00:00+07:00", "E_FIELD", "a space as the separator"),
        ("time-basic-format", "20241103T070000+0700", "E_FIELD", "ISO 8601 basic format"),
        ("time-week-date", "2024-W44-7T07:00:00+07:00", "E_FIELD", "an ISO week date"),
        ("time-comma-fraction", "2024-11-03T07:00:00,250000+07:00", "E_FIELD", "a comma before the fraction"),
        ("time-three-digit-fraction", "2024-11-03T07:00:00.250+07:00", "E_FIELD", "three fraction digits"),
        ("time-zero-fraction", "2024-11-03T07:00:00.000000+07:00", "E_FIELD", "a fraction of zero written out"),
        ("time-fraction-junk", "2024-11-03T07:00:00.250000x+07:00", "E_FIELD", "a character after the fraction"),
        ("time-minus-zero-offset", "2024-11-03T00:00:00-00:00", "E_FIELD", "-00:00 (RFC 3339's unknown offset)"),
        ("time-offset-60-minutes", "2024-11-03T07:00:00+06:60", "E_FIELD", "an offset of 60 minutes"),
        ("time-offset-24-hours", "2024-11-03T07:00:00+24:00", "E_FIELD", "an offset of 24 hours"),
        ("time-leap-second", "2024-11-03T23:59:60+07:00", "E_FIELD", "second 60 (no leap seconds)"),
        ("time-february-30", "2024-02-30T07:00:00+07:00", "E_FIELD", "a day the month does not have"),
        ("time-hour-24", "2024-11-03T24:00:00+07:00", "E_FIELD", "hour 24"),
        ("time-year-1969", "1969-12-31T23:59:59+00:00", "E_FIELD", "a year before 1970"),
        ("time-arabic-indic-digits", "٢٠٢٤-11-03T07:00:00+07:00", "E_FIELD", "digits other than ASCII"),
        ("time-too-long", "2024-11-03T07:00:00.250000+07:00" + " " * 9, "E_SCHEMA", "41 characters"),
    ]
    for name, text, code, attack in times:
        event(name, code, f"time: {attack}", _nested(g, 4, None, text), "time")
    event("time-not-text", "E_SCHEMA", "time as an integer", _nested(g, 4, None, 1730592000), "time")

    # §7.6 quantity: the grammar, then the canonical form.
    quantities = [
        ("quantity-exponent", "1e3", "E_FIELD"),
        ("quantity-huge-exponent", "1e1000000", "E_FIELD"),
        ("quantity-plus-sign", "+12.5", "E_FIELD"),
        ("quantity-negative", "-12.5", "E_FIELD"),
        ("quantity-leading-space", " 12.5", "E_FIELD"),
        ("quantity-leading-point", ".5", "E_FIELD"),
        ("quantity-trailing-point", "12.", "E_FIELD"),
        ("quantity-underscore", "1_2.5", "E_FIELD"),
        ("quantity-arabic-indic-digits", "١٢", "E_FIELD"),
        ("quantity-ten-fraction-digits", "0.0000000001", "E_FIELD"),
        ("quantity-nineteen-digits", "1000000000000000000", "E_FIELD"),
        ("quantity-65-characters", "1" + "0" * 64, "E_FIELD"),
        ("quantity-leading-zero", "012.5", "E_NONCANONICAL"),
        ("quantity-trailing-zero-fraction", "0.10000000000", "E_NONCANONICAL"),
    ]
    for name, text, code in quantities:  # the re-encode rule names no field
        field = "product.quantity" if code == "E_FIELD" else None
        event(name, code, f"quantity {text!r}", _nested(g, 10, 2, text), field)
    event("quantity-integer-type", "E_FIELD", "quantity as a CBOR integer, not text", _nested(g, 10, 2, 12),
          "product.quantity")  # fmt: skip

    # §7.2 the certificate's date: YYYY-MM-DD and a real date.
    for name, text, code in (
        ("certificate-week-date", "2020-W53-4", "E_FIELD"),
        ("certificate-basic-date", "20201230xx", "E_FIELD"),
        ("certificate-february-30", "2021-02-30", "E_FIELD"),
        ("certificate-short-date", "2020-1-30", "E_SCHEMA"),
    ):
        event(name, code, f"certificate date {text!r}", _nested(a[0], 12, 2, text), "certificate.issued")

    # §2.1 and §7.3 text: Unicode 14.0's repertoire; blank is a named set.
    event("text-unassigned-code-point", "E_TYPE", "U+1FAE8, assigned only in Unicode 15.0, in the product name",
          _nested(g, 10, 0, "Đông trùng hạ thảo \U0001fae8"))  # fmt: skip
    event("text-noncharacter", "E_TYPE", "the noncharacter U+FDD0 in the producer's name",
          _nested(g, 11, 0, "HTX \ufdd0"))  # fmt: skip
    event("text-only-ideographic-space", "E_FIELD", "a product name of U+3000 and U+00A0 only (blank)",
          _nested(g, 10, 0, "\u3000\u00a0"), "product.name")  # fmt: skip
    event("text-unassigned-data-key", "E_TYPE", "a data key holding U+0378 (never a valid key, refused as text first)",
          _nested(s1, 9, "x\u0378", "1"))  # fmt: skip

    # §7.2 / §7.7 codes the document names.
    event("lone-latitude", "E_FIELD", "a latitude without a longitude", _nested(a[0], 6, 3, _ABSENT), "where.lat_e6")
    event("lone-longitude", "E_FIELD", "a longitude without a latitude", _nested(a[0], 6, 2, _ABSENT), "where.lat_e6")
    event("null-coordinate", "E_SCHEMA", "latitude null (absent members are left out, never null)",
          _nested(a[0], 6, 2, None), "where.lat_e6")  # fmt: skip
    event("null-nested-member", "E_SCHEMA", "product.gtin null", _nested(a[0], 10, 4, None), "product.gtin")
    event("data-key-not-text", "E_FIELD", "an integer data key", _nested(s1, 9, 1, "x"), "data")
    event("data-value-null", "E_FIELD", "a null data value", _nested(s1, 9, "room", None), "data.room")
    step_seq = _payload_map(s1)
    step_seq[2] = 2**63
    event("step-seq-2-63", "E_FIELD", "a step's seq of 2**63 (a uint CBOR allows)", _sign(_det(step_seq)), "seq")
    big_input = _payload_map(s1)
    big_input[7] = [{0: a[0].event_id, 1: 2**63, 2: a[2].event_id}]
    event("input-seq-2-63", "E_FIELD", "an input's seq of 2**63", _sign(_det(big_input)), "inputs.seq")
    depth_ok = _payload_map(g)
    depth_ok[6] = {0: [[[]]]}
    event("depth-empty-arrays-at-limit", "E_FIELD", "where.name = [[[]]]: no item inside more than 4 containers, so "
          "it decodes, and is not text", _sign(_det(depth_ok)), "where.name")  # fmt: skip
    depth_bad = _payload_map(g)
    depth_bad[6] = {0: [[[0]]]}
    event("depth-item-beyond-limit", "E_CBOR", "where.name = [[[0]]]: the 0 is inside 5 containers",
          _sign(_det(depth_bad)))  # fmt: skip
    dup = _sign(_det_raw_dup(s1.payload, b"\xf5", b"\x00"))
    event("duplicate-key-true-and-1", "E_CBOR", "a step's map holds key 1 and, last, key true: duplicates compare "
          "as values (true = 1), before key types are judged", dup)  # fmt: skip

    # §7.7 phases: structure over the whole payload, then values in label order, then the re-encode rule.
    two = _payload_map(a[0])
    two[10] = {**two[10], 4: "08931234567898"}  # a wrong check digit (E_FIELD) ...
    two[11] = {**two[11], 7: "x"}  # ... and an unknown producer label (E_SCHEMA): structure first
    event("phase-structure-before-values", "E_SCHEMA", "an unknown producer label and a bad GTIN",
          _sign(_det(two)), "producer")  # fmt: skip
    order = _payload_map(a[0])
    order[4] = "2024-11-01T08:00:00Z"  # E_FIELD at label 4 ...
    order[10] = {**order[10], 4: "08931234567898"}  # ... and at label 10: the lower label is reported
    event("phase-values-in-label-order", "E_FIELD", "a bad time and a bad GTIN", _sign(_det(order)), "time")
    late = _payload_map(a[0])
    late[10] = {**late[10], 2: "120.0"}  # not canonical (E_NONCANONICAL) ...
    late[12] = {**late[12], 0: 6}  # ... and six stars (E_FIELD): values before the re-encode rule
    event("phase-values-before-reencode", "E_FIELD", "a non-canonical quantity and six stars",
          _sign(_det(late)), "certificate.stars")  # fmt: skip
    inner = _payload_map(a[0])
    inner[10] = {**inner[10], 0: "", 4: "08931234567898"}  # blank name (label 0) and bad GTIN (label 4)
    event("phase-members-in-label-order", "E_FIELD", "a blank product name and a bad GTIN", _sign(_det(inner)),
          "product.name")  # fmt: skip

    # §2.2 one walk in wire order: a key out of order is found before a later value is looked at, and a value
    # before any later key.
    event("walk-key-order-before-later-float", "E_NONCANONICAL", "{0: 1, 2: 0, 1: 1.5}: key 1 after key 2",
          _sign(bytes([0xA3]) + b"\x00\x01\x02\x00\x01\xf9\x3e\x00"))  # fmt: skip
    event("walk-float-before-later-key-order", "E_TYPE", "{0: 1.5, 2: 0, 1: 1}: the float comes first",
          _sign(bytes([0xA3]) + b"\x00\xf9\x3e\x00\x02\x00\x01\x01"))  # fmt: skip

    # §4 envelope.
    add("cose-one-byte", "event", "E_COSE", "the tag byte alone", b"\xd2")
    many = dict.fromkeys(range(12), 0)
    add("cose-unprotected-many-items", "event", "E_SIZE", "an unprotected header of 12 entries: over the envelope's "
        "budget of 16 data items", _sign(g.payload, unprotected=many))  # fmt: skip
    add(
        "cose-huge-declared-length",
        "event",
        "E_CBOR",
        "a payload byte string declaring 2**62 bytes",
        b"\xd2\x84" + cbor2.dumps(g.envelope.protected) + b"\xa0\x5b" + (1 << 62).to_bytes(8, "big") + b"\x00",
    )

    # §10 bundle: the header's keys are exactly the signers; which check wins at a batch's end.
    good = _header_map(b[0].event_id, [b, a], ["producer", "lab"])
    every = [e.raw for e in b] + [e.raw for e in a]
    extra_key = _raw_bundle({**good, 3: [*good[3], KEYS["outsider"].public_key.raw]}, every)
    add("bundle-header-extra-key", "bundle", "E_HEADER_MISMATCH", "the header ships a key that signed nothing",
        extra_key, expected_field="keys")  # fmt: skip
    add("bundle-header-missing-key", "bundle", "E_HEADER_MISMATCH", "the header leaves out the lab's key",
        _raw_bundle({**good, 3: good[3][:1]}, every), expected_field="keys")  # fmt: skip
    add("bundle-header-duplicate-key", "bundle", "E_HEADER_MISMATCH", "the header lists the producer's key twice",
        _raw_bundle({**good, 3: [good[3][0], *good[3]]}, every), expected_field="keys")  # fmt: skip
    add("bundle-header-not-a-map", "bundle", "E_BUNDLE", "the header is an array",
        _bundle_item(cbor2.dumps(["ocop-bundle", 1])) + b"".join(_bundle_item(e) for e in every))  # fmt: skip
    short = {**good, 4: [[b[0].event_id, 2, b[2].event_id], [a[0].event_id, 3, a[2].event_id]]}
    add("bundle-next-item-framing-first", "bundle", "E_BUNDLE", "batch B ends with another head than the header's "
        "(E_HEADER_MISMATCH) but the next item is not a byte string: the next item is read first",
        _bundle_item(cbor2.dumps(short)) + _bundle_item(b[0].raw) + _bundle_item(b[1].raw) + a[0].raw)  # fmt: skip
    add("bundle-trailing-before-last-batch-end", "bundle", "E_TRAILING", "the last batch ends with another head than "
        "the header's, and an item follows: the end of the file is checked first",
        _raw_bundle({**good, 4: [[b[0].event_id, 3, b[2].event_id], [a[0].event_id, 3, b[2].event_id]]}, every)
        + _bundle_item(a[0].raw))  # fmt: skip
    return out


def _det_raw_dup(payload: bytes, key: bytes, value: bytes) -> bytes:
    """``payload`` (a map) with one more entry appended as raw bytes: a second key equal to an existing one."""
    return bytes([payload[0] + 1]) + payload[1:] + key + value


def _edge() -> list[dict[str, Any]]:
    """Valid events at the edge of each rule (docs/format.md §7): each must parse, and re-sign to the same bytes."""
    producer = KEYS["producer"]
    g = open_batch(
        op.Genesis(
            time=datetime(2024, 11, 1, 8, 0, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
            product=op.Product(
                name="\ufeffĐông trùng hạ thảo \U0001fae7",  # a leading BOM kept as text; U+1FAE7 is Unicode 14.0
                lot="!\"%&'()*+,-./:;<=>?_",  # GS1's whole punctuation set
                quantity="0.000000001",
                unit="g",
                gtin="96385074",  # a GTIN-8, written padded to 14 digits
            ),
            producer=op.Producer(name="HTX\u200bNghi Sơn", gln="8931234500009"),  # ZERO WIDTH SPACE is not blank
            location=op.Location(name="Cực Bắc", lat_e6=90_000_000, lon_e6=-180_000_000),
            certificate=op.Certificate(stars=5, number="1/QĐ", issued=date(2024, 2, 29)),
            data={"empty": "", "max": 2**63 - 1, "min": -(2**63), "flag": False},
        ),
        producer,
    )
    s1 = append_step(
        g,
        producer,
        step="sampling",
        time=datetime(2024, 11, 1, 13, 0, 0, 1, tzinfo=UTC),
        location=op.Location(name="Phòng mẫu", admin_code="0000000000"),
        attachments=[op.Attachment(name="rỗng.pdf", media_type="application/pdf", size=0, sha256=bytes(32))],
    )
    s2 = append_step(
        s1,
        producer,
        step="ocop:drying",
        time=datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=14))),
        location=op.Location(name="Xưởng"),
    )
    decoded = [
        {"time": "2024-11-01T08:00:00-05:30", "product.quantity": "0.000000001", "product.gtin": "00000096385074",
         "certificate.issued": "2024-02-29", "data.min": -(2**63)},
        {"time": "2024-11-01T13:00:00.000001+00:00", "attachments.size": 0},
        {"time": "9999-12-31T23:59:59.999999+14:00"},
    ]  # fmt: skip
    return [
        {**_event_vector(f"edge-{i}", e, "producer"), "decoded": d}
        for i, (e, d) in enumerate(zip((g, s1, s2), decoded, strict=True))
    ]


KEY_FILE_PASSPHRASE = "mật khẩu thử nghiệm"


def _key_file() -> dict[str, Any]:
    """A key file built with cryptography directly from docs/format.md §11 (fixed salt and nonce)."""
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    seed, pub = _seed("producer"), KEYS["producer"].public_key.raw
    salt, nonce, log2n = bytes(range(16)), bytes(range(12)), 14
    header = {0: "ocop-key", 1: 1, 2: "scrypt", 3: salt, 4: log2n, 5: 8, 6: 1, 7: nonce, 9: pub}
    aad = _det(header)
    kek = Scrypt(salt=salt, length=32, n=2**log2n, r=8, p=1).derive(KEY_FILE_PASSPHRASE.encode())
    sealed = ChaCha20Poly1305(kek).encrypt(nonce, seed, aad)
    body = _det({**header, 8: sealed})
    b64 = base64.b64encode(body).decode("ascii")
    armour = "\n".join(
        [
            "-----BEGIN OCOP ED25519 PRIVATE KEY-----",
            *(b64[i : i + 64] for i in range(0, len(b64), 64)),
            "-----END OCOP ED25519 PRIVATE KEY-----",
        ]
    )
    return {
        "passphrase": KEY_FILE_PASSPHRASE,
        "seed": _hex(seed),
        "aad": _hex(aad),
        "kek": _hex(kek),
        "sealed": _hex(sealed),
        "body": _hex(body),
        "file": armour + "\n",
    }


def _corrections_file(events: list[op.SignedEvent]) -> dict[str, Any]:
    signers = ["producer", "producer", "lab", "producer", "lab", "lab"]
    log = CorrectionLog()
    for e in events:
        log.add(e)
    header = BundleHeader(
        root=events[0].event_id,
        batches=(BundleBatch(batch_id=events[0].event_id, count=len(events), head=events[-1].event_id),),
        keys=(KEYS["producer"].public_key, KEYS["lab"].public_key),
    )
    return {
        "description": "Batch C (docs/format.md §19): the producer corrects its drying step's moisture (seq 3 "
        "corrects seq 1), the lab withdraws its test (seq 4 corrects seq 2, no corrected values) and tests again "
        "(seq 5). Each event as in events.json; 'corrections' is how each correction stands when every signer is "
        "judged by key (in force: signed by the corrected step's signer); 'effective_data' the corrected key data "
        "elements of each step (null: withdrawn). All byte values are hex.",
        "batches": [
            {
                "label": "C",
                "batch_id": _hex(events[0].event_id),
                "events": [_event_vector(f"C{i}", e, signers[i]) for i, e in enumerate(events)],
            }
        ],
        "corrections": [
            {
                "seq": n.seq,
                "event_id": _hex(n.event_id),
                "by_seq": n.by_seq,
                "reason": n.reason,
                "data": None if n.data is None else dict(n.data),
                "status": n.status,
            }
            for n in log.notes
        ],
        "effective_data": [
            None if (d := log.effective_data(e)) is None else dict(d) for e in events if e.step != "ocop:correcting"
        ],
        "bundle": _hex(_bundle(header, [e.raw for e in events])),
    }


def build() -> dict[str, bytes]:
    """Return every vector file's name and exact bytes."""
    story = build_story()
    corrected = build_corrections()
    signers = {"A": ["producer", "producer", "lab"], "B": ["producer", "producer", "producer"]}
    keys = [
        {
            "name": name,
            "seed": _hex(_seed(name)),
            "public_key": _hex(KEYS[name].public_key.raw),
            "cose_key": _hex(_cose_key(KEYS[name].public_key.raw)),
            "key_id": _hex(hashlib.sha256(_cose_key(KEYS[name].public_key.raw)).digest()),
        }
        for name in KEY_NAMES
    ]
    events = {
        "description": "Valid events: batch A (fresh cordyceps: genesis, harvest, lab test) and batch B (dried "
        "cordyceps: genesis, drying that consumes A's head, packing). All values are hex.",
        "keys": keys,
        "batches": [
            {
                "label": label,
                "batch_id": _hex(evs[0].event_id),
                "events": [_event_vector(f"{label}{i}", e, signers[label][i]) for i, e in enumerate(evs)],
            }
            for label, evs in story.items()
        ],
    }
    a, b = story["A"], story["B"]
    header = BundleHeader(
        root=b[0].event_id,
        batches=tuple(BundleBatch(batch_id=evs[0].event_id, count=len(evs), head=evs[-1].event_id) for evs in (b, a)),
        keys=(KEYS["producer"].public_key, KEYS["lab"].public_key),
    )
    bundle_bytes = _bundle(header, [e.raw for e in (*b, *a)])
    rival = append_step(
        b[1], KEYS["producer"], step="shipping", time=datetime(2024, 11, 4, 12, 0, tzinfo=ICT), location=FARM
    )
    proof = EquivocationProof.of(b[2], rival)
    extras = {
        "description": "A bundle of batch B with its input batch A, and an equivocation proof for batch B at seq 2.",
        "bundle": {
            "root": _hex(b[0].event_id),
            "header": _hex(header.to_bytes()),
            "file": _hex(bundle_bytes),
            "batches": [[_hex(x.batch_id), x.count, _hex(x.head)] for x in header.batches],
        },
        "equivocation": {
            "batch_id": _hex(b[0].event_id),
            "seq": 2,
            "event_a": _hex(proof.event_a),
            "event_b": _hex(proof.event_b),
            "proof": _hex(proof.to_bytes()),
        },
        "key_file": _key_file(),
    }
    invalid = {
        "description": "Invalid inputs named after the attack they carry, with the error code they must raise. "
        "kind: event = parse_unverified_event(input); "
        "chain = verify_chain(inputs, VerifyOptions(keys, now), batch_id); "
        "bundle = verify_bundle(input, VerifyOptions(keys, now), ANY_BATCH); "
        "public_key = PublicKey.from_raw(input). Keys trusted: every "
        "key in events.json unless 'trusted' names a subset. expected_field, when given, is the error's field.",
        "now": NOW.isoformat(),
        "vectors": _invalid({**story, "C": corrected}),
    }

    def dump(obj: Any) -> bytes:
        return (json.dumps(obj, indent=1, ensure_ascii=False) + "\n").encode("utf-8")

    edge = {
        "description": "Valid events at the edge of each rule (docs/format.md §7): a negative offset, the smallest "
        "quantity, GS1's punctuation, a GTIN-8, a leading U+FEFF, a Unicode 14.0 emoji, U+200B, 29 February, the "
        "poles' coordinates, the 64-bit extremes, an empty text value, a microsecond, year 9999 at +14:00, a 0-byte "
        "attachment. Each must parse (parse_unverified_event), verify as one chain, and re-sign to the same bytes; "
        "'decoded' gives field values as the wire writes them.",
        "events": _edge(),
    }
    return {
        "events.json": dump(events),
        "bundle.json": dump(extras),
        "invalid.json": dump(invalid),
        "corrections.json": dump(_corrections_file(corrected)),
        "edge.json": dump(edge),
    }


def main(argv: list[str] | None = None) -> int:
    """Write the vector files next to this script."""
    del argv
    for name, data in build().items():
        (HERE / name).write_bytes(data)
        print(f"wrote tests/vectors/{name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
