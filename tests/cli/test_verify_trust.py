"""ocop verify --trust: the audit report (who signed each step, in which role, what the policy requires)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ocop_provenance as op
from ocop_provenance.events import EquivocationProof

from .conftest import FRESH, PRODUCT, Env
from .trust_setup import AUTHORITY, COOP, EXPIRES, LAB, PINS, WORKSHOP, doc_of, make_bundle, make_policy, make_trust


def _audit(doc: dict[str, Any], n: int = 0) -> dict[str, Any]:
    report: dict[str, Any] = doc["audits"][n]["report"]
    assert report["format"] == "ocop-audit-report"
    assert report["version"] == 1
    return report


def _codes(report: dict[str, Any]) -> set[str]:
    return {f["code"] for f in report["findings"]}


def test_clean_audit_names_who_signed_each_step(env: Env) -> None:
    auth = make_trust(env)
    policy = make_policy(env)
    bundle, batch = make_bundle(env)
    args = ("verify", str(bundle), "--trust", str(auth.signed), "--policy", str(policy), *PINS)
    text = env.ok(*args).stdout
    assert text.startswith("VERIFIED")
    for expected in (AUTHORITY, COOP, WORKSHOP, LAB, "(producer)", "(processor)", "(lab)", PRODUCT, FRESH):
        assert expected in text
    assert "Kiểm nghiệm" in text  # the policy's label for the lab step
    assert "back" in text
    assert "forward" in text
    doc = env.json(*args)
    assert doc["ok"] is True
    assert doc["mode"] == "trust"
    assert doc["policy"]["name"] == "vn.ocop/dried-cordyceps"
    report = _audit(doc)
    assert report["ok"] is True
    assert report["root"] == batch
    assert report["findings"] == []
    root = report["batches"][0]
    signers = {s["step"]: s["signer"] for s in root["steps"]}
    assert signers["inspecting"] == {
        "id": "phong-thu-nghiem",
        "name": LAB,
        "role": "lab",
        "commune": None,
        "province": None,
    }
    assert signers["ocop:drying"]["name"] == WORKSHOP
    assert signers["genesis"]["role"] == "producer"
    required = {s["step"]: s["required"] for s in root["steps"]}
    assert required["inspecting"]["attachments"] == ["application/pdf"]
    assert root["back"][0]["batch_id"] == report["batches"][1]["batch_id"]
    assert report["batches"][1]["forward"]["consumed_by"][0]["batch_id"] == batch
    assert report["tree"]["inputs"][0]["product"] == FRESH


def test_policy_violation_names_step_and_rule(env: Env) -> None:
    auth = make_trust(env)
    policy = make_policy(env)
    bundle, _ = make_bundle(env, attach_pdf=False, skip=("commissioning",))
    args = ("verify", str(bundle), "--trust", str(auth.signed), "--policy", str(policy), *PINS)
    result = env.run(*args)
    assert result.exit_code == 1
    assert result.stdout.startswith("NOT VERIFIED")
    assert "[E_POLICY_ATTACHMENT]" in result.stdout
    assert "[E_POLICY_MISSING_STEP]" in result.stdout
    result = env.run(*args, "--json")
    assert result.exit_code == 1
    doc = doc_of(result)
    assert doc["ok"] is False
    assert doc["exit_code"] == 1
    findings = _audit(doc)["findings"]
    attachment = next(f for f in findings if f["code"] == "E_POLICY_ATTACHMENT")
    assert attachment["step"] == "inspecting"
    assert attachment["rule"] == "steps[3]"
    assert attachment["seq"] == 2  # genesis, drying, then the lab step
    missing = next(f for f in findings if f["code"] == "E_POLICY_MISSING_STEP")
    assert missing["step"] == "commissioning"
    assert missing["rule"] == "steps[1]"
    assert missing["seq"] is None


def test_wrong_role_and_unknown_key(env: Env) -> None:
    auth = make_trust(env)
    policy = make_policy(env)
    env.new_key("stranger")
    bundle, _ = make_bundle(env, lab_key="coop")
    doc = doc_of(env.run("verify", str(bundle), "--trust", str(auth.signed), "--policy", str(policy), *PINS, "--json"))
    role = next(f for f in _audit(doc)["findings"] if f["code"] == "E_POLICY_ROLE")
    assert role["step"] == "inspecting"
    other, _ = make_bundle(env, "other.ocop", lab_key="stranger")
    result = env.run("verify", str(other), "--trust", str(auth.signed), *PINS, "--json")
    assert result.exit_code == 1
    report = _audit(doc_of(result))
    # a key outside the trust list cannot even have its signature checked: the audit stops there
    assert report["failure"]["code"] == "E_UNKNOWN_KEY"
    assert doc_of(result)["audits"][0]["where"]["seq"] == 3
    text = env.run("verify", str(other), "--trust", str(auth.signed), *PINS).stdout
    assert "not in the trust list" in text
    where = next(line for line in text.splitlines() if line.lstrip().startswith("where"))
    assert "the root batch" in where
    assert "step #3" in where
    assert "[E_UNKNOWN_KEY]" in text


def test_revoked_key_in_a_newer_list(env: Env) -> None:
    auth = make_trust(env)
    bundle, _ = make_bundle(env)
    v2 = env.tmp / "v2.json"
    env.ok("trust", "bump", str(auth.signed), "-o", str(v2), "--expires", EXPIRES)
    env.ok("trust", "revoke", str(v2), "--key", "lab")
    env.ok("trust", "sign", str(v2), "--key", "a1", "--key", "a3")
    result = env.run("verify", str(bundle), "--trust", str(env.tmp / "v2.trust"), *PINS, "--json")
    assert result.exit_code == 1
    report = _audit(doc_of(result))
    assert _codes(report) == {"E_KEY_REVOKED"}
    step = next(s for s in report["batches"][0]["steps"] if s["step"] == "inspecting")
    assert step["key_problem"] == "E_KEY_REVOKED"
    assert step["signer"]["name"] == LAB  # who held it is still shown
    # and the old list, which still trusts the lab, is now refused from the cache
    result = env.run("verify", str(bundle), "--trust", str(auth.signed), *PINS, "--json")
    assert result.exit_code == 1
    doc = doc_of(result)
    assert doc["document"] == "trust list"
    assert doc["error"]["code"] == "E_TRUST_ROLLBACK"


def test_pinned_state_catches_rollback(env: Env) -> None:
    auth = make_trust(env)
    bundle, batch = make_bundle(env)
    early = env.tmp / "early.ocop"
    # a shorter bundle of the same batch: written before the last step would be the same as cutting the chain
    env.ok("step", "add", batch, "--key", "coop", "--step", "receiving", "--at", "2024-11-06T09:00:00+07:00",
           "--where", "Hà Nội", "--where-code", "01")  # fmt: skip
    longer = env.tmp / "longer.ocop"
    env.ok("export", batch, "-o", str(longer))
    early.write_bytes(bundle.read_bytes())
    state = env.tmp / "pinned.json"
    base = ("verify", "--trust", str(auth.signed), *PINS, "--pinned", str(state))
    doc = env.json(base[0], str(longer), *base[1:], "--update-pinned")
    assert doc["pinned"] == {"path": str(state), "updated": True}
    pinned = json.loads(state.read_text(encoding="utf-8"))
    assert pinned["format"] == "ocop-pinned-state"
    assert pinned["batches"][batch]["seq"] == 6
    result = env.run(base[0], str(early), *base[1:], "--json")
    assert result.exit_code == 1
    assert _codes(_audit(doc_of(result))) == {"E_ROLLBACK"}
    # a failed audit never advances the state
    before = state.read_bytes()
    assert env.run(base[0], str(early), *base[1:], "--update-pinned").exit_code == 1
    assert state.read_bytes() == before


def test_several_bundles_are_cross_checked(env: Env) -> None:
    auth = make_trust(env)
    one, _ = make_bundle(env, "one.ocop")
    two, _ = make_bundle(env, "two.ocop")
    result = env.run("verify", str(one), str(two), "--trust", str(auth.signed), *PINS)
    assert result.exit_code == 0
    assert "Cross-check of 2 bundles: no fork" in result.stdout
    doc = env.json("verify", str(one), str(two), "--trust", str(auth.signed), *PINS)
    assert [a["bundle"] for a in doc["audits"]] == [str(one), str(two)]
    assert doc["forks"] == []


def test_fork_across_bundles(env: Env, tmp_path: Path) -> None:
    auth = make_trust(env)
    bundle, batch = make_bundle(env)
    # a second ledger holding the same history signs a different step #6 with the same key
    other = tmp_path / "other-home"
    env.ok("--home", str(other), "key", "list")
    keys = other / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    for name in ("coop",):
        for ext in ("key", "pub"):
            (keys / f"{name}.{ext}").write_bytes((env.home / "keys" / f"{name}.{ext}").read_bytes())
            (keys / f"{name}.{ext}").chmod(0o600)
    pems = [str(env.pem(k)) for k in ("coop", "workshop", "lab")]
    env.ok("--home", str(other), "import", str(bundle), *[x for p in pems for x in ("--trusted-key", p)])
    where = ("--where-code", "01", "--at", "2024-11-06T09:00:00+07:00", "--key", "coop")
    env.ok("step", "add", batch, "--step", "receiving", "--where", "Hà Nội", *where)
    env.ok("--home", str(other), "step", "add", batch, "--step", "receiving", "--where", "Đà Nẵng", *where)
    a, b = env.tmp / "a.ocop", env.tmp / "b.ocop"
    env.ok("export", batch, "-o", str(a))
    env.ok("--home", str(other), "export", batch, "-o", str(b))
    result = env.run("verify", str(a), str(b), "--trust", str(auth.signed), *PINS, "--json")
    assert result.exit_code == 1
    doc = doc_of(result)
    assert len(doc["forks"]) == 1
    assert "E_FORK" in _codes(_audit(doc, 1))
    proofs = env.tmp / "proofs"
    text = env.run("verify", str(a), str(b), "--trust", str(auth.signed), *PINS, "--proofs", str(proofs)).stdout
    assert "Fork proofs written" in text
    proof = EquivocationProof.from_bytes((proofs / "fork-1.proof").read_bytes())
    proof.verify(op.KeyRing.of([op.PublicKey.from_pem(env.pem("coop").read_bytes())]))


def test_tampered_bundle_and_expect_batch(env: Env) -> None:
    auth = make_trust(env)
    bundle, batch = make_bundle(env)
    data = bytearray(bundle.read_bytes())
    offset = data.find("Thanh Hóa".encode())  # a signed place name (--where) inside an event
    assert offset > 0
    bad = env.tmp / "bad.ocop"
    data[offset] ^= 1  # "T" -> "U": still valid text, but not what was signed
    bad.write_bytes(bytes(data))
    result = env.run("verify", str(bad), "--trust", str(auth.signed), *PINS, "--json")
    assert result.exit_code == 1
    audit = doc_of(result)["audits"][0]
    assert audit["report"]["failure"]["code"] == "E_SIGNATURE"
    assert audit["where"]["bundle_index"] is not None
    text = env.run("verify", str(bad), "--trust", str(auth.signed), *PINS).stdout
    assert text.startswith("NOT VERIFIED")
    assert "Do not rely" in text
    other = "00" * 32
    result = env.run("verify", str(bundle), "--trust", str(auth.signed), *PINS, "--expect-batch", other, "--json")
    assert result.exit_code == 1
    assert _audit(doc_of(result))["failure"]["code"] == "E_BATCH"
    assert env.run("verify", str(bundle), "--trust", str(auth.signed), *PINS, "--expect-batch", batch).exit_code == 0


def test_usage_and_input_errors(env: Env) -> None:
    auth = make_trust(env)
    bundle, _ = make_bundle(env)
    pem = str(env.pem("coop"))
    policy = str(make_policy(env))
    assert env.run("verify", str(bundle)).exit_code == 2  # neither mode
    assert env.run("verify", str(bundle), "--trusted-key", pem, "--trust", str(auth.signed)).exit_code == 2
    assert env.run("verify", str(bundle), "--trusted-key", pem, "--policy", policy).exit_code == 2
    assert env.run("verify", str(bundle), str(bundle), "--trusted-key", pem).exit_code == 2
    assert env.run("verify", str(bundle), "--trust", str(auth.signed), *PINS, "--update-pinned").exit_code == 2
    result = env.run("verify", str(env.tmp / "none.ocop"), "--trust", str(auth.signed), *PINS, "--json")
    assert result.exit_code == 3
    missing_state = str(env.tmp / "none.json")
    assert env.run("verify", str(bundle), "--trust", str(auth.signed), *PINS, "--pinned", missing_state).exit_code == 3
    broken = env.tmp / "broken.json"
    broken.write_text("{}", encoding="utf-8")
    result = env.run("verify", str(bundle), "--trust", str(auth.signed), *PINS, "--pinned", str(broken), "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_PINNED_FORMAT"
    # a trust list that does not verify: exit 1, the document named
    result = env.run("verify", str(bundle), "--trust", str(auth.signed), "--authority-key", "coop", "--json")
    assert result.exit_code == 1
    assert doc_of(result)["document"] == "trust list"


def test_demo_audits_with_the_provincial_authority(env: Env) -> None:
    doc = env.json("demo")
    assert doc["authority"]["issuer"] == AUTHORITY
    assert doc["authority"]["threshold"] == 2
    assert len(doc["authority"]["keys"]) == 3
    assert doc["authority"]["policy"]["name"] == "vn.ocop/dried-cordyceps"
    assert doc["audit"]["ok"] is True
    roles = {s["step"]: s["role"] for s in doc["audit"]["signers"]}
    assert roles == {
        "genesis": "producer",
        "commissioning": "producer",
        "ocop:drying": "processor",
        "inspecting": "lab",
        "packing": "producer",
        "shipping": "producer",
    }
    assert doc["tamper"]["code"] == "E_SIGNATURE"
    text = env.ok("demo").stdout
    for expected in (AUTHORITY, "(processor)", "(lab)", "the policy is satisfied", "NOT VERIFIED"):
        assert expected in text


def test_retired_key_after_retirement(env: Env) -> None:
    auth = make_trust(env)
    bundle, _ = make_bundle(env)  # the lab signed on 2024-11-03 09:00 +07:00
    v2 = env.tmp / "v2.json"
    env.ok("trust", "bump", str(auth.signed), "-o", str(v2), "--expires", EXPIRES)
    env.ok("trust", "retire", str(v2), "--key", "lab", "--at", "2024-11-03T09:00:00+07:00")
    env.ok("trust", "sign", str(v2), "--key", "a1", "--key", "a2")
    result = env.run("verify", str(bundle), "--trust", str(env.tmp / "v2.trust"), *PINS, "--json")
    assert result.exit_code == 1
    assert _codes(_audit(doc_of(result))) == {"E_KEY_RETIRED"}
    # retired one second later: the step came before retirement and stays valid
    v3 = env.tmp / "v3.json"
    env.ok("trust", "bump", str(env.tmp / "v2.trust"), "-o", str(v3), "--expires", EXPIRES)
    env.ok("trust", "retire", str(v3), "--key", "lab", "--at", "2024-11-03T09:00:01+07:00")
    env.ok("trust", "sign", str(v3), "--key", "a1", "--key", "a2")
    assert env.run("verify", str(bundle), "--trust", str(env.tmp / "v3.trust"), *PINS).exit_code == 0
