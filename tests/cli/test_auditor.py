"""The auditor's side of issue 13: which part failed, whose key is missing, --expect-batch by prefix, the JSON error
members."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import FRESH, Env, step

RESOLVER = "https://id.example.vn"
GOLDEN = Path(__file__).parent / "golden"
#: The members docs/cli.md promises in every JSON error object.
ERROR_MEMBERS = {
    "code",
    "message",
    "index",
    "position",
    "batch_id",
    "seq",
    "event_id",
    "key_id",
    "field",
    "explanation",
}


def _two_cooperatives(env: Env) -> tuple[str, str, Path]:
    """``other`` opens the fresh batch; ``coop`` makes the dried batch from it, seals and exports it."""
    env.new_key("coop")
    env.new_key("other")
    fresh = env.ok("batch", "new", "--key", "other", "--product", FRESH, "--lot", "T2411-01", "--quantity", "40",
                   "--unit", "kg", "--at", "2024-11-01T08:00:00+07:00").stdout.strip()  # fmt: skip
    dried = env.new_batch("coop", "Trà", "L2411-01", "--gtin", "08931234567897")
    assert step(env, dried, "ocop:drying", "2024-11-02T08:00:00+07:00", "--input", fresh).exit_code == 0
    bundle = env.tmp / "dried.ocop"
    env.ok("export", dried, "-o", str(bundle))
    return fresh, dried, bundle


def test_qr_verify_says_the_seal_is_fine_and_the_input_batch_is_untrusted(env: Env) -> None:
    fresh, dried, bundle = _two_cooperatives(env)
    seal = env.ok("qr", "make", dried, "--key", "coop", "--resolver", RESOLVER).stdout.strip()
    coop = env.pem("coop")
    assert env.ok("qr", "verify", seal, "--trusted-key", str(coop)).exit_code == 0  # the seal alone verifies
    result = env.run("qr", "verify", seal, "--trusted-key", str(coop), "--bundle", str(bundle))
    assert result.exit_code == 1
    assert "the seal verifies; the bundle given with it does not" in result.stdout
    assert "the seal was signed by a key that is not among the trusted keys" not in result.stdout
    assert f"the signer of input batch {fresh[:16]} ({FRESH}, lot T2411-01)" in result.stdout
    assert "obtain that producer's public key" in result.stdout
    doc = env.json("qr", "verify", seal, "--trusted-key", str(coop), "--bundle", str(bundle), code=1)
    assert doc["failed_part"] == "bundle"
    assert doc["error"]["code"] == "E_UNKNOWN_KEY"
    assert doc["error"]["batch_id"] == fresh
    assert "input batch" in doc["error"]["explanation"]
    # A seal signed by an untrusted key is still the seal's failure.
    other = env.pem("other")
    doc = env.json("qr", "verify", seal, "--trusted-key", str(other), code=1)
    assert doc["failed_part"] == "seal"


def test_verify_names_the_untrusted_signer_of_an_input_batch(env: Env) -> None:
    fresh, _dried, bundle = _two_cooperatives(env)
    coop = env.pem("coop")
    result = env.run("verify", str(bundle), "--trusted-key", str(coop))
    assert result.exit_code == 1
    assert f"the signer of input batch {fresh[:16]} ({FRESH}, lot T2411-01) is not among the keys" in result.stdout
    doc = env.json("verify", str(bundle), "--trusted-key", str(coop), code=1)
    assert doc["error"]["batch_position"] == 1
    assert "obtain that producer's public key" in doc["error"]["explanation"]
    # With both keys the same bundle verifies.
    assert (
        env.run("verify", str(bundle), "--trusted-key", str(coop), "--trusted-key", str(env.pem("other"))).exit_code
        == 0
    )


def test_expect_batch_accepts_a_prefix_and_names_the_bundles_batch(env: Env) -> None:
    fresh, dried, bundle = _two_cooperatives(env)
    keys = ("--trusted-key", str(env.pem("coop")), "--trusted-key", str(env.pem("other")))
    assert env.run("verify", str(bundle), *keys, "--expect-batch", dried[:8]).exit_code == 0
    assert env.run("verify", str(bundle), *keys, "--expect-batch", dried.upper()).exit_code == 0
    doc = env.json("verify", str(bundle), *keys, "--expect-batch", fresh[:8], code=1)
    assert doc["error"]["code"] == "E_BATCH"
    assert (
        f"the bundle is about batch {dried} (Trà, lot L2411-01), not the batch {fresh[:8]}"
        in (doc["error"]["explanation"])
    )
    for bad in ("abc", "xyz123", "0" * 65):
        assert env.run("verify", str(bundle), *keys, "--expect-batch", bad).exit_code == 2


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_every_json_error_object_has_the_documented_members(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(doc.get("error"), dict):
        assert set(doc["error"]) >= ERROR_MEMBERS, sorted(ERROR_MEMBERS - set(doc["error"]))
        assert doc["error"]["index"] == doc["error"]["position"]


def test_text_and_json_count_bundle_positions_alike(env: Env) -> None:
    _fresh, _dried, bundle = _two_cooperatives(env)
    coop = env.pem("coop")
    doc = env.json("verify", str(bundle), "--trusted-key", str(coop), code=1)
    text = env.run("verify", str(bundle), "--trusted-key", str(coop)).stdout
    n = doc["error"]["index"]
    assert n == doc["error"]["bundle_index"]
    assert f"event #{n} of the bundle" in text
