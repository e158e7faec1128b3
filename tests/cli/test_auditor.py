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


def _recorded_world(env: Env) -> tuple[str, Path]:
    env.new_key("coop")
    batch = env.new_batch()
    report = env.tmp / "phieu-ket-qua.pdf"
    report.write_bytes(b"%PDF-1.4\n% phieu\n")
    assert step(env, batch, "inspecting", "2024-11-02T09:00:00+07:00", "--attach", str(report), "--data",
                "result=Đạt", "--data", "moisture_pct=11.8").exit_code == 0  # fmt: skip
    bundle = env.tmp / "b.ocop"
    env.ok("export", batch, "-o", str(bundle))
    return batch, bundle


def test_verify_shows_what_each_step_recorded(env: Env) -> None:
    batch, bundle = _recorded_world(env)
    coop = str(env.pem("coop"))
    text = env.ok("verify", str(bundle), "--trusted-key", coop).stdout
    assert "inspecting" in text
    assert "result = Đạt" in text
    assert "attached phieu-ket-qua.pdf (application/pdf" in text
    assert f"signed by {coop}" in text
    doc = env.json("verify", str(bundle), "--trusted-key", coop)
    events = doc["recorded"][0]["events"]
    assert doc["recorded"][0]["batch_id"] == batch
    assert [e["step"] for e in events] == ["genesis", "inspecting"]
    assert events[1]["data"] == {"result": "Đạt", "moisture_pct": "11.8"}
    assert events[1]["attachments"][0]["name"] == "phieu-ket-qua.pdf"
    assert len(events[1]["attachments"][0]["sha256"]) == 64
    summary = env.ok("verify", str(bundle), "--trusted-key", coop, "--summary").stdout
    assert "result = Đạt" not in summary
    assert "recorded" not in env.json("verify", str(bundle), "--trusted-key", coop, "--summary")


def test_show_prints_the_content_as_unverified_without_trust(env: Env) -> None:
    _batch, bundle = _recorded_world(env)
    result = env.ok("show", str(bundle))
    assert "UNVERIFIED" in result.stdout
    assert "result = Đạt" in result.stdout
    assert "A valid signature proves" not in result.stdout
    doc = env.json("show", str(bundle))
    assert doc["verified"] is False
    assert doc["content"] == "unverified"
    assert doc["recorded"][0]["events"][1]["data"]["result"] == "Đạt"
    # With a trusted key it is a verification; with another key it fails (exit 1).
    assert env.json("show", str(bundle), "--trusted-key", str(env.pem("coop")))["verified"] is True
    env.new_key("stranger")
    assert env.run("show", str(bundle), "--trusted-key", str(env.pem("stranger"))).exit_code == 1
    # A tampered bundle does not show.
    data = bytearray(bundle.read_bytes())
    data[data.index("Đạt".encode()) + 1] ^= 1
    bundle.write_bytes(bytes(data))
    assert env.run("show", str(bundle)).exit_code == 1
