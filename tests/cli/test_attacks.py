"""Issue 10, findings 1-2, reproduced with the CLI exactly as the review did, and what the output now says.

1. A second producer in the same trust list opens a batch claiming the first producer's name, administrative code
   and GTIN: ``ocop verify --trust … --policy …`` and ``ocop qr verify --trust … --bundle …`` no longer say VERIFIED
   / VALID SEAL; each names the producer as the trust list names it and gives the finding's code.
2. A retailer's key seals a throwaway genesis: ``ocop qr verify URL --trust LIST`` without a bundle refuses it
   (``E_SEAL_ROLE``); a seal that does verify without a bundle says exactly what was and was not checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Env
from .trust_setup import COOP, PINS, WINDOW, make_bundle, make_policy, make_trust

RIVAL = "HTX Đối thủ"
SHOP = "Cửa hàng Đặc sản Sầm Sơn"
GTIN = "08931234567897"  # in the genuine producer's GS1 Company Prefix, 8931234
R = "https://id.example.vn"


@pytest.fixture
def listed(env: Env) -> Path:
    """The genuine list (coop, workshop, lab) plus a second producer and a retailer, each with its own key."""
    auth = make_trust(env)
    for name in ("rival", "shop"):
        env.new_key(name)
    env.ok("trust", "add-participant", str(auth.draft), "--id", "htx-doi-thu", "--name", RIVAL, "--role", "producer",
           "--admin-code", "40", "--gs1-prefix", "8939999", "--key", "rival", *WINDOW)  # fmt: skip
    env.ok("trust", "add-participant", str(auth.draft), "--id", "shop", "--name", SHOP, "--role", "retailer",
           "--key", "shop", *WINDOW)  # fmt: skip
    signed = env.tmp / "with-rival.trust"
    env.ok("trust", "sign", str(auth.draft), "--key", "a1", "--key", "a2", "-o", str(signed))
    return signed


def _seal(env: Env, batch: str, key: str) -> str:
    return env.ok("qr", "make", batch, "--key", key, "--resolver", R).stdout.strip().splitlines()[-1]


def test_finding_1_verify_names_the_signer_and_refuses_the_stolen_claims(env: Env, listed: Path) -> None:
    policy = make_policy(env)
    bundle, batch = make_bundle(env, opener="rival", claims=("--gtin", GTIN))
    args = ("verify", str(bundle), "--trust", str(listed), "--policy", str(policy), *PINS)
    result = env.run(*args)
    assert result.exit_code == 1
    text = result.stdout
    assert not text.startswith("VERIFIED")
    assert text.startswith("NOT VERIFIED")
    assert f"{RIVAL} (producer)" in text  # the headline's producer is who signed, as the list names them
    assert f"{COOP}" in text
    assert "declared" in text
    for code in ("E_CLAIM_MISMATCH", "E_GTIN_NOT_OWNED"):
        assert code in text
    doc = env.json(*args, code=1)
    report = doc["audits"][0]["report"]
    assert report["ok"] is False
    assert [(f["code"], f["field"], f["seq"]) for f in report["findings"]] == [
        ("E_CLAIM_MISMATCH", "producer.name", 0),
        ("E_CLAIM_MISMATCH", "producer.admin_code", 0),
        ("E_GTIN_NOT_OWNED", "product.gtin", 0),
    ]
    root = report["batches"][0]
    assert root["batch_id"] == batch
    assert root["producer"]["name"] == RIVAL
    assert root["declared_producer"] == COOP


def test_finding_1_qr_verify_with_the_bundle_is_not_a_valid_seal(env: Env, listed: Path) -> None:
    bundle, batch = make_bundle(env, opener="rival", claims=("--gtin", GTIN))
    url = _seal(env, batch, "rival")
    args = ("qr", "verify", url, "--trust", str(listed), *PINS, "--bundle", str(bundle))
    result = env.run(*args)
    assert result.exit_code == 1
    assert "VALID SEAL" not in result.stdout
    assert result.stdout.startswith("NOT VERIFIED")
    assert "E_GTIN_NOT_OWNED" in result.stdout
    assert RIVAL in result.stdout  # the message names the sealer as the list names them
    doc = env.json(*args, code=1)
    assert doc["error"]["code"] == "E_GTIN_NOT_OWNED"
    assert doc["error"]["explanation"]


def test_finding_1_without_a_gtin_the_bundle_shows_the_claims_are_not_the_sealers(env: Env, listed: Path) -> None:
    bundle, batch = make_bundle(env, opener="rival")  # no GTIN: only the name and the commune code are stolen
    url = _seal(env, batch, "rival")
    doc = env.json("qr", "verify", url, "--trust", str(listed), *PINS, "--bundle", str(bundle), code=1)
    assert (doc["error"]["code"], doc["error"]["field"]) == ("E_CLAIM_MISMATCH", "producer.name")
    assert RIVAL in doc["error"]["message"]
    # Without the bundle the seal is the rival's own, and the output says the record itself was not seen.
    text = env.ok("qr", "verify", url, "--trust", str(listed)).stdout
    assert text.startswith("VALID SEAL")
    assert f"signed by {RIVAL} (producer, trust list of" in text
    assert "checked   signature, signer-trusted, signer-role, gtin-owner\n" in text
    assert "NOT checked chain" in text
    assert "who made it" in text  # what not seeing the record leaves open, in words
    assert "--trust LIST" not in text  # the trust list was given: nothing to say about it


def test_finding_2_a_retailers_seal_of_a_throwaway_genesis_is_refused(env: Env, listed: Path) -> None:
    env.ok("trust", "verify", str(listed), *PINS)  # stored: later commands need no authority keys
    throwaway = env.new_batch("shop", "Đông trùng hạ thảo sấy khô", "L-FAKE", "--gtin", GTIN, "--producer", COOP)
    url = _seal(env, throwaway, "shop")
    result = env.run("qr", "verify", url, "--trust", str(listed))
    assert result.exit_code == 1
    assert "VALID SEAL" not in result.stdout
    assert result.stdout.startswith("NOT VERIFIED")
    assert "E_SEAL_ROLE" in result.stdout
    assert f"{SHOP} (retailer)" in result.stdout
    doc = env.json("qr", "verify", url, "--trust", str(listed), code=1)
    assert doc["error"]["code"] == "E_SEAL_ROLE"
    assert "may not seal" in doc["error"]["explanation"]


def test_finding_2_a_bare_key_says_roles_and_ownership_were_not_checked(env: Env, listed: Path) -> None:
    throwaway = env.new_batch("shop", "Đông trùng hạ thảo sấy khô", "L-FAKE", "--gtin", GTIN, "--producer", COOP)
    url = _seal(env, throwaway, "shop")
    text = env.ok("qr", "verify", url, "--trusted-key", str(env.pem("shop"))).stdout
    assert "checked   signature, signer-trusted\n" in text
    assert "NOT checked signer-role, gtin-owner, chain" in text
    assert "signer-role and gtin-owner need --trust LIST" in text
    doc = env.json("qr", "verify", url, "--trusted-key", str(env.pem("shop")))
    assert doc["seal"]["checked"] == ["signature", "signer-trusted"]
    assert doc["seal"]["not_checked"] == ["signer-role", "gtin-owner", "chain"]
    assert doc["signer"]["participant"] is None
