"""ocop policy: starter drafts, signing, inspection and verification against a trust list's authority."""

from __future__ import annotations

import json

import pytest

from .conftest import Env
from .trust_setup import AUTHORITY, PINS, doc_of, make_policy, make_trust


@pytest.mark.parametrize(
    ("kind", "name"), [("dried-cordyceps", "vn.ocop/dried-cordyceps"), ("circular-02-2024", "vn.tt-02-2024/minimum")]
)
def test_starter_sign_inspect_verify(env: Env, kind: str, name: str) -> None:
    auth = make_trust(env)
    draft = env.tmp / f"{kind}.json"
    env.ok("policy", "starter", kind, "-o", str(draft))
    content = json.loads(draft.read_text(encoding="utf-8"))
    assert content["format"] == "ocop-policy-draft/1"
    assert content["name"] == name
    doc = env.json("policy", "sign", str(draft), "--key", "a1", "--key", "a2")
    signed = env.tmp / f"{kind}.policy"
    assert doc["output"] == str(signed)
    assert len(doc["signatures"]) == 2
    text = env.ok("policy", "inspect", str(signed)).stdout
    assert "NOT verified" in text
    inspected = env.json("policy", "inspect", str(signed))
    assert inspected["policy"]["name"] == name
    assert inspected["policy"]["kind"] == content["kind"]  # Vietnamese text intact through JSON
    result = env.ok("policy", "verify", str(signed), "--trust", str(auth.signed), *PINS)
    assert result.stdout.startswith("VERIFIED")
    assert AUTHORITY in result.stdout
    doc = env.json("policy", "verify", str(signed), "--trust", str(auth.signed), *PINS)
    assert doc["verified"] is True
    assert doc["policy"]["name"] == name
    assert doc["trust_list"]["issuer"] == AUTHORITY


def test_dried_cordyceps_starter_reads_like_the_library(env: Env) -> None:
    draft = env.tmp / "p.json"
    env.ok("policy", "starter", "dried-cordyceps", "-o", str(draft))
    text = env.ok("policy", "inspect", str(draft)).stdout
    assert "DRAFT" in text
    for step in ("genesis", "commissioning", "ocop:drying", "inspecting", "packing", "shipping", "Kiểm nghiệm"):
        assert step in text
    assert "application/pdf" in text


def test_policy_signed_by_an_unknown_authority(env: Env) -> None:
    auth = make_trust(env)
    policy = make_policy(env, keys=("coop", "lab"))
    result = env.run("policy", "verify", str(policy), "--trust", str(auth.signed), *PINS, "--json")
    assert result.exit_code == 1
    doc = doc_of(result)
    assert doc["document"] == "policy"
    assert doc["error"]["code"] == "E_POLICY_AUTHORITY"
    # one authority signature of two required
    one = make_policy(env, keys=("a1",))
    result = env.run("policy", "verify", str(one), "--trust", str(auth.signed), *PINS, "--json")
    assert result.exit_code == 1
    assert doc_of(result)["error"]["code"] == "E_POLICY_AUTHORITY"
    # a co-signature completes it
    env.ok("policy", "sign", str(one), "--key", "a3")
    assert env.run("policy", "verify", str(one), "--trust", str(auth.signed), *PINS).exit_code == 0


def test_policy_verify_needs_a_good_trust_list(env: Env) -> None:
    auth = make_trust(env)
    policy = make_policy(env)
    result = env.run("policy", "verify", str(policy), "--trust", str(auth.signed), "--authority-key", "coop", "--json")
    assert result.exit_code == 1
    doc = doc_of(result)
    assert doc["document"] == "trust list"
    assert doc["error"]["code"] == "E_TRUST_THRESHOLD"
    assert env.run("policy", "verify", str(policy), *PINS).exit_code == 2  # --trust is required


def test_policy_errors(env: Env) -> None:
    make_trust(env)
    draft = env.tmp / "p.json"
    assert env.run("policy", "starter", "durian", "-o", str(draft)).exit_code == 2
    env.ok("policy", "starter", "dried-cordyceps", "-o", str(draft))
    result = env.run("policy", "starter", "dried-cordyceps", "-o", str(draft), "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_EXISTS"
    # a hand edit the library refuses: a role that does not exist
    content = json.loads(draft.read_text(encoding="utf-8"))
    content["steps"][0]["roles"] = ["farmer"]
    draft.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    result = env.run("policy", "sign", str(draft), "--key", "a1", "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_FIELD"
    # an unknown member
    content["steps"][0]["roles"] = ["producer"]
    content["colour"] = "blue"
    draft.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    result = env.run("policy", "sign", str(draft), "--key", "a1", "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_DRAFT"
    # a draft is not a signed policy
    auth_signed = env.tmp / "tl.trust"
    result = env.run("policy", "verify", str(draft), "--trust", str(auth_signed), *PINS, "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_NOT_SIGNED"


def test_hand_written_policy_draft(env: Env) -> None:
    """A policy written from scratch as JSON: the draft format is also the authoring format."""
    auth = make_trust(env)
    draft = env.tmp / "honey.json"
    draft.write_text(
        json.dumps(
            {
                "format": "ocop-policy-draft/1",
                "name": "vn.ocop/mat-ong",
                "version": 1,
                "kind": "Mật ong rừng",
                "issued_at": "2026-01-01T00:00:00Z",
                "steps": [
                    {"step": "genesis", "roles": ["producer"]},
                    {"step": "inspecting", "roles": ["lab"], "attachments": ["application/pdf"], "min_signers": 2},
                ],
                "closed": True,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    env.ok("policy", "sign", str(draft), "--key", "a1", "--key", "a2")
    doc = env.json("policy", "verify", str(env.tmp / "honey.policy"), "--trust", str(auth.signed), *PINS)
    assert doc["policy"]["kind"] == "Mật ong rừng"
    assert doc["policy"]["steps"][1]["min_signers"] == 2
    assert doc["policy"]["closed"] is True


@pytest.mark.parametrize(
    ("member", "value", "named"),
    [
        ("issued_at", "garbage", "issued_at"),
        ("issued_at", "2026-01-01T00:00:00", "issued_at"),
        ("expires", 20260101, "expires"),
        ("steps", ["genesis"], "steps[0]"),
        ("steps", [{"step": "genesis", "colour": "blue"}], "steps[0]"),
        ("every", {"roles": ["lab"], "colour": "blue"}, "every"),
    ],
)
def test_malformed_policy_draft_names_the_member(env: Env, member: str, value: object, named: str) -> None:
    make_trust(env)  # the authority keys a1-a3
    draft = env.tmp / "p.json"
    env.ok("policy", "starter", "dried-cordyceps", "-o", str(draft))
    content = json.loads(draft.read_text(encoding="utf-8"))
    content[member] = value
    draft.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    for args in (("inspect", str(draft)), ("sign", str(draft), "--key", "a1")):
        result = env.run("policy", *args, "--json")
        assert result.exit_code == 3, result.stderr
        error = doc_of(result)["error"]
        assert error["code"] == "E_DRAFT"
        assert named in error["message"]
    assert not (env.tmp / "p.policy").exists()  # nothing was signed
