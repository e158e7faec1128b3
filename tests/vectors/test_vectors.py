"""The committed vectors: reproducible, replayed byte-exact, and every attack rejected with its code."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import cbor2
import ocop_provenance as op
import pytest
from ocop_provenance.events import (
    CORRECTION_STEP,
    CorrectionLog,
    EquivocationProof,
    parse_unverified_event,
    report_chain,
    sign_event,
)

from tests.vectors import generate
from tests.verifying import ANY_BATCH, options

HERE = Path(__file__).resolve().parent
FILES = ("events.json", "bundle.json", "invalid.json", "corrections.json", "edge.json")


def _load(name: str) -> Any:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


EVENTS = _load("events.json")
EXTRAS = _load("bundle.json")
INVALID = _load("invalid.json")
CORRECTIONS = _load("corrections.json")
EDGE = _load("edge.json")
NOW = datetime.fromisoformat(INVALID["now"])
PUBLIC = {k["name"]: op.PublicKey.from_raw(bytes.fromhex(k["public_key"])) for k in EVENTS["keys"]}
PRIVATE = {k["name"]: op.PrivateKey.from_seed(bytes.fromhex(k["seed"])) for k in EVENTS["keys"]}
RING = op.KeyRing.of(PUBLIC.values())
ALL_EVENTS = [(batch, ev) for f in (EVENTS, CORRECTIONS) for batch in f["batches"] for ev in batch["events"]]


def test_committed_files_equal_a_fresh_regeneration() -> None:
    fresh = generate.build()
    assert sorted(fresh) == sorted(FILES)
    for name in FILES:
        assert (HERE / name).read_bytes() == fresh[name], f"{name} is stale: run python -m tests.vectors.generate"


def test_vector_files_stay_small() -> None:
    assert sum((HERE / n).stat().st_size for n in FILES) < 400_000


@pytest.mark.parametrize("v", EDGE["events"], ids=lambda v: v["name"])
def test_edge_event_parses_and_re_signs_byte_exact(v: dict[str, Any]) -> None:
    raw = bytes.fromhex(v["cose"])
    event = parse_unverified_event(raw)
    assert event.payload.hex() == v["payload"]
    assert sign_event(event.body, PRIVATE[v["signer"]]).raw == raw
    wire = cbor2.loads(event.payload)
    labels = {"time": (4,), "product.quantity": (10, 2), "product.gtin": (10, 4), "certificate.issued": (12, 2)}
    for field, expected in v["decoded"].items():
        if field.startswith("data."):
            assert wire[9][field[5:]] == expected
        elif field == "attachments.size":
            assert wire[8][0][2] == expected
        else:
            value = wire
            for label in labels[field]:
                value = value[label]
            assert value == expected


def test_edge_events_verify_as_one_chain() -> None:
    raws = [bytes.fromhex(v["cose"]) for v in EDGE["events"]]
    assert op.verify_chain(raws, options(RING), batch=ANY_BATCH).count == 3


@pytest.mark.parametrize("k", EVENTS["keys"], ids=lambda k: k["name"])
def test_key_vectors(k: dict[str, str]) -> None:
    seed, pub = bytes.fromhex(k["seed"]), bytes.fromhex(k["public_key"])
    cose_key = bytes.fromhex(k["cose_key"])
    assert op.PrivateKey.from_seed(seed).public_key.raw == pub
    assert cose_key == bytes.fromhex("a301012006215820") + pub
    assert hashlib.sha256(cose_key).digest().hex() == k["key_id"]
    assert op.PublicKey.from_raw(pub).key_id_hex == k["key_id"]


@pytest.mark.parametrize(("batch", "v"), ALL_EVENTS, ids=[v["name"] for _, v in ALL_EVENTS])
def test_valid_event_replays_byte_exact(batch: dict[str, Any], v: dict[str, Any]) -> None:
    raw = bytes.fromhex(v["cose"])
    event = parse_unverified_event(raw)
    assert event.raw == raw
    assert event.payload.hex() == v["payload"]
    assert event.envelope.protected.hex() == v["protected"]
    assert event.to_be_signed.hex() == v["to_be_signed"]
    assert event.signature.hex() == v["signature"]
    assert event.event_id.hex() == v["event_id"]
    assert hashlib.sha256(event.to_be_signed).hexdigest() == v["event_id"]
    assert event.batch_id.hex() == batch["batch_id"]
    assert (event.seq, event.step) == (v["seq"], v["step"])
    signer = PRIVATE[v["signer"]]
    assert event.key_id == signer.key_id
    # Signing the decoded body again reproduces the very same bytes (deterministic payload and Ed25519).
    assert sign_event(event.body, signer).raw == raw


@pytest.mark.parametrize("batch", EVENTS["batches"] + CORRECTIONS["batches"], ids=lambda b: b["label"])
def test_valid_chains_verify(batch: dict[str, Any]) -> None:
    raws = [bytes.fromhex(v["cose"]) for v in batch["events"]]
    summary = op.verify_chain(raws, options(RING, now=NOW), batch=bytes.fromhex(batch["batch_id"]))
    assert summary.count == len(raws)
    assert summary.head.raw == raws[-1]


def test_corrections_stand_as_the_vector_says() -> None:
    events = [parse_unverified_event(bytes.fromhex(v["cose"])) for v in CORRECTIONS["batches"][0]["events"]]
    log = CorrectionLog()
    for e in events:
        log.add(e)
    got = [
        {
            "seq": n.seq,
            "event_id": n.event_id.hex(),
            "by_seq": n.by_seq,
            "reason": n.reason,
            "data": None if n.data is None else dict(n.data),
            "status": n.status,
        }
        for n in log.notes
    ]
    assert got == CORRECTIONS["corrections"]
    effective = [log.effective_data(e) for e in events if e.step != CORRECTION_STEP]
    assert [None if d is None else dict(d) for d in effective] == CORRECTIONS["effective_data"]
    summary = op.verify_bundle(io.BytesIO(bytes.fromhex(CORRECTIONS["bundle"])), options(RING, now=NOW), root=ANY_BATCH)
    assert summary.root.head.raw == events[-1].raw


def test_genesis_carries_vietnamese_text_and_certificate() -> None:
    genesis = parse_unverified_event(bytes.fromhex(EVENTS["batches"][0]["events"][0]["cose"])).body
    assert isinstance(genesis, op.Genesis)
    assert genesis.product.name == "Đông trùng hạ thảo tươi"
    assert genesis.certificate is not None
    assert genesis.certificate.stars == 3


def test_bundle_vector_verifies() -> None:
    bundle = EXTRAS["bundle"]
    data = bytes.fromhex(bundle["file"])
    summary = op.verify_bundle(io.BytesIO(data), options(RING, now=NOW), root=bytes.fromhex(bundle["root"]))
    assert summary.header.to_bytes().hex() == bundle["header"]
    assert [[c.batch_id.hex(), c.count, c.head.event_id.hex()] for c in summary.chains] == bundle["batches"]


def test_equivocation_vector_verifies() -> None:
    eq = EXTRAS["equivocation"]
    proof = EquivocationProof.from_bytes(bytes.fromhex(eq["proof"]))
    assert (proof.event_a.hex(), proof.event_b.hex()) == (eq["event_a"], eq["event_b"])
    assert proof.verify(RING) == (bytes.fromhex(eq["batch_id"]), eq["seq"])


def test_key_file_vector_opens() -> None:
    kf = EXTRAS["key_file"]
    key = op.PrivateKey.from_key_file(kf["file"].encode("ascii"), kf["passphrase"].encode("utf-8"))
    assert key.public_key == PRIVATE["producer"].public_key
    assert bytes.fromhex(kf["seed"]) == bytes.fromhex(EVENTS["keys"][0]["seed"])


def test_key_file_vector_refuses_a_wrong_passphrase() -> None:
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_key_file(EXTRAS["key_file"]["file"].encode("ascii"), b"wrong")
    assert info.value.code == "E_PASSPHRASE"


def test_every_named_attack_is_present() -> None:
    names = {v["name"] for v in INVALID["vectors"]}
    required = {
        "forked-batch",
        "spliced-from-other-batch",
        "non-canonical-map-order",
        "non-nfc-text",
        "small-order-key",
        "unprotected-header-kid",
        "alg-es256",
        "crit-header",
        "seal-typ-as-event",
        "trailing-bytes",
        "indefinite-length",
        "tag-in-payload",
        "truncated-chain",
        "rollback-seq",
        "bad-prev-link",
        "time-reversal",
        "wrong-input-head",
        "string-ref-bomb",
        "correction-of-later-seq",
        "correction-of-own-seq",
        "correction-without-seq",
        "correction-wrong-event-id",
        "correction-of-other-batch-event",
        "correction-of-correction",
    }
    assert required <= names
    assert len(names) == len(INVALID["vectors"])


def _run(v: dict[str, Any]) -> None:
    ring = op.KeyRing.of(PUBLIC[n] for n in v.get("trusted", PUBLIC))
    kind = v["kind"]
    if kind == "event":
        parse_unverified_event(bytes.fromhex(v["input"]))
    elif kind == "chain":
        batch_id = bytes.fromhex(v["batch_id"]) if "batch_id" in v else ANY_BATCH
        op.verify_chain([bytes.fromhex(x) for x in v["input"]], options(ring, now=NOW), batch=batch_id)
    elif kind == "bundle":
        op.verify_bundle(io.BytesIO(bytes.fromhex(v["input"])), options(ring, now=NOW), root=ANY_BATCH)
    elif kind == "public_key":
        op.PublicKey.from_raw(bytes.fromhex(v["input"]))
    else:  # pragma: no cover - a vector file error
        raise AssertionError(f"unknown vector kind {kind}")


@pytest.mark.parametrize("v", INVALID["vectors"], ids=lambda v: v["name"])
def test_invalid_vector_is_rejected_with_its_code(v: dict[str, Any]) -> None:
    with pytest.raises(op.ProvenanceError) as info:
        _run(v)
    assert info.value.code == v["expected_code"]
    if "expected_field" in v:  # the field the document says is reported (docs/format.md §7.7)
        assert info.value.field == v["expected_field"]


@pytest.mark.parametrize("v", [v for v in INVALID["vectors"] if v["kind"] == "chain"], ids=lambda v: v["name"])
def test_invalid_chain_is_also_reported(v: dict[str, Any]) -> None:
    ring = op.KeyRing.of(PUBLIC[n] for n in v.get("trusted", PUBLIC))
    batch_id = bytes.fromhex(v["batch_id"]) if "batch_id" in v else ANY_BATCH
    report = report_chain([bytes.fromhex(x) for x in v["input"]], options(ring, now=NOW), batch=batch_id)
    assert not report.ok
    assert v["expected_code"] in {f.code for f in report.failures}
