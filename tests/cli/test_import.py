"""ocop import: a second party takes a batch into its own ledger and signs the next step."""

from __future__ import annotations

import json

import ocop_provenance as op
import pytest

from .conftest import PLACE, Env, step


def test_lab_imports_the_cooperative_batch_and_signs_a_step(env: Env) -> None:
    env.new_key("coop")
    batch = env.new_batch()
    assert step(env, batch, "commissioning", "2024-11-01T09:00:00+07:00").exit_code == 0
    bundle = env.tmp / "from-coop.ocop"
    env.ok("export", batch, "-o", str(bundle))
    coop_pem = env.pem("coop")

    lab_home = str(env.tmp / "lab-home")
    assert env.run("--home", lab_home, "key", "new", "lab").exit_code == 0
    imported = env.run("--home", lab_home, "import", str(bundle), "--trusted-key", str(coop_pem))
    assert imported.exit_code == 0, imported.stderr
    assert imported.stdout.strip() == batch
    again = env.run("--home", lab_home, "--json", "import", str(bundle), "--trusted-key", str(coop_pem))
    assert json.loads(again.stdout)["added"] == 0

    added = env.run(
        "--home",
        lab_home,
        "step",
        "add",
        batch[:8],
        "--key",
        "lab",
        "--step",
        "inspecting",
        "--at",
        "2024-11-02T09:00:00+07:00",
        "--where",
        PLACE,
        "--data",
        "moisture=11.8",
    )
    assert added.exit_code == 0, added.stderr
    out = env.tmp / "from-lab.ocop"
    assert env.run("--home", lab_home, "export", batch, "-o", str(out)).exit_code == 0
    lab_pem = env.tmp / "lab.pem"
    lab_pem.write_text(env.run("--home", lab_home, "key", "export", "lab").stdout, encoding="ascii")
    verified = env.ok("verify", str(out), "--trusted-key", str(coop_pem), "--trusted-key", str(lab_pem))
    assert "3 events in 1 batch" in verified.stdout


def test_import_refuses_what_does_not_verify_and_stores_nothing(env: Env) -> None:
    env.new_key("coop")
    env.new_key("other")
    batch = env.new_batch()
    bundle = env.tmp / "b.ocop"
    env.ok("export", batch, "-o", str(bundle))
    lab_home = str(env.tmp / "lab-home")
    wrong = env.run("--home", lab_home, "import", str(bundle), "--trusted-key", str(env.pem("other")))
    assert wrong.exit_code == 1
    assert "NOT VERIFIED" in wrong.stdout
    data = bytearray(bundle.read_bytes())
    data[-5] ^= 1
    bad = env.tmp / "bad.ocop"
    bad.write_bytes(bytes(data))
    tampered = env.run("--home", lab_home, "import", str(bad), "--trusted-key", str(env.pem("coop")))
    assert tampered.exit_code == 1
    listing = env.run("--home", lab_home, "--json", "batch", "list")
    assert json.loads(listing.stdout)["batches"] == []


def test_import_verifies_once(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundle is read and verified once, by Ledger.import_bundle, which also stores it: each signature is
    checked once and the CLI does not call verify_bundle itself (it used to verify three times)."""
    env.new_key("coop")
    batch = env.new_batch()
    assert step(env, batch, "commissioning", "2024-11-01T09:00:00+07:00").exit_code == 0
    bundle = env.tmp / "from-coop.ocop"
    env.ok("export", batch, "-o", str(bundle))
    coop_pem = env.pem("coop")
    checked: list[bytes] = []
    valid = op.PublicKey._valid

    def counting(self: op.PublicKey, signature: bytes, message: bytes, backend: str | None = None) -> bool:
        checked.append(message)
        return valid(self, signature, message, backend)

    def refuse(*_a: object, **_k: object) -> object:
        raise AssertionError("ocop import must not verify the bundle apart from importing it")

    monkeypatch.setattr(op.PublicKey, "_valid", counting)
    monkeypatch.setattr(op, "verify_bundle", refuse)
    lab_home = str(env.tmp / "lab-home")
    doc = json.loads(
        env.run("--home", lab_home, "--json", "import", str(bundle), "--trusted-key", str(coop_pem)).stdout
    )
    assert (doc["ok"], doc["events"], doc["added"]) == (True, 2, 2)
    assert doc["batches"][0]["batch_id"] == batch
    assert len(checked) == len(set(checked)) == 2
