"""The committed trust-list, policy, seal and audit vectors (tests/vectors/trust.json): reproducible and replayed."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import ocop_provenance as op
import pytest
from ocop_provenance.trust import (
    AuthorityPin,
    VerifiedPolicy,
    VerifiedTrustList,
    audit_bundle,
    verify_policy,
    verify_trust_list,
)

from tests.vectors import generate_trust

HERE = Path(__file__).resolve().parent
DOC = json.loads((HERE / "trust.json").read_text(encoding="utf-8"))
KEYS = {k["name"]: op.PublicKey.from_raw(bytes.fromhex(k["public_key"])) for k in DOC["keys"]}
BY_NAME = {v["name"]: v for v in DOC["vectors"]}


def test_committed_file_equals_a_fresh_regeneration() -> None:
    assert (HERE / "trust.json").read_bytes() == generate_trust.build(), "run python -m tests.vectors.generate_trust"


def test_names_are_unique() -> None:
    assert len(BY_NAME) == len(DOC["vectors"])


def _list(name: str) -> VerifiedTrustList:
    v = BY_NAME[name]
    anchor: AuthorityPin | VerifiedTrustList
    if "list" in v["anchor"]:
        anchor = _list(v["anchor"]["list"])
    else:
        anchor = AuthorityPin(tuple(KEYS[k] for k in v["anchor"]["keys"]), v["anchor"]["threshold"])
    return verify_trust_list(bytes.fromhex(v["input"]), anchor, now=datetime.fromisoformat(v["now"]))


def _policy(name: str, trust: VerifiedTrustList) -> VerifiedPolicy:
    v = BY_NAME[name]
    return verify_policy(bytes.fromhex(v["input"]), trust, now=datetime.fromisoformat(v["now"]))


def _run(v: dict[str, Any]) -> str:
    """Replay one vector; return "OK", the seal's code, or the code of the error raised."""
    now = datetime.fromisoformat(v["now"])
    try:
        if v["kind"] == "trust_list":
            _list(v["name"])
        elif v["kind"] == "policy":
            _policy(v["name"], _list(v["trust"]))
        elif v["kind"] == "seal":
            trust = _list(v["trust"])
            bundle = bytes.fromhex(v["bundle"]) if "bundle" in v else None
            policy = _policy(v["policy"], trust) if "policy" in v else None
            result = op.verify_seal(v["input"], op.VerifyOptions(keys=trust, now=now), bundle=bundle, policy=policy)
            if "checked" in v:
                assert list(result.checked) == v["checked"]
                assert list(result.not_checked) == v["not_checked"]
            return result.code
        else:
            raise AssertionError(f"unknown kind {v['kind']}")
    except op.ProvenanceError as e:
        return str(e.code) if e.field == v.get("expected_field", e.field) else f"{e.code} at {e.field}"
    return "OK"


@pytest.mark.parametrize("v", [v for v in DOC["vectors"] if v["kind"] != "audit"], ids=lambda v: v["name"])
def test_vector_gives_its_code(v: dict[str, Any]) -> None:
    assert _run(v) == v["expected_code"]


@pytest.mark.parametrize("v", [v for v in DOC["vectors"] if v["kind"] == "audit"], ids=lambda v: v["name"])
def test_audit_vector_gives_its_findings(v: dict[str, Any]) -> None:
    trust = _list(v["trust"])
    policy = _policy(v["policy"], trust)
    report = audit_bundle(
        io.BytesIO(bytes.fromhex(v["input"])),
        op.VerifyOptions(keys=trust, now=datetime.fromisoformat(v["now"])),
        root=op.ANY_BATCH,
        policy=policy,
    )
    assert report.failure is None
    assert [[str(f.code), f.seq, f.field] for f in report.findings] == v["expected_findings"]
    assert report.ok is (not v["expected_findings"])
    if "producer" in v:
        root = report.batches[0]
        assert root.producer is not None
        assert root.producer.id == v["producer"]
        assert root.declared_producer == v["declared_producer"]
