"""ocop verify: what it reports, and every way a bundle can fail."""

from __future__ import annotations

from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance.events import BundleReader, write_bundle

from .conftest import FRESH, Env, step


@pytest.fixture
def bundle(env: Env) -> tuple[Path, Path, str]:
    env.new_key("coop")
    env.new_key("lab")
    fresh = env.new_batch("coop", FRESH, "T1")
    batch = env.new_batch()
    assert step(env, fresh, "commissioning", "2024-11-01T09:00:00+07:00").exit_code == 0
    assert step(env, batch, "ocop:drying", "2024-11-02T09:00:00+07:00", "--input", fresh).exit_code == 0
    assert (
        step(env, batch, "inspecting", "2024-11-03T09:00:00+07:00", "--data", "moisture=11.8", key="lab").exit_code == 0
    )
    path = env.tmp / "batch.ocop"
    env.ok("export", batch, "-o", str(path))
    return path, env.pem("coop"), batch


def test_verified_report_names_what_was_checked(env: Env, bundle: tuple[Path, Path, str]) -> None:
    path, coop, batch = bundle
    lab = env.pem("lab")
    out = env.ok("verify", str(path), "--trusted-key", str(coop), "--trusted-key", str(lab)).stdout
    assert out.startswith("VERIFIED")
    assert "5 events in 2 batches" in out
    assert "lineage" in out
    assert FRESH in out
    assert str(coop) in out
    assert str(lab) in out
    assert "does not prove" in out
    doc = env.json("verify", str(path), "--trusted-key", str(coop), "--trusted-key", str(lab))
    assert doc["verified"] is True
    assert doc["root"] == batch
    assert doc["events"] == 5
    assert [b["role"] for b in doc["batches"]] == ["root", "input"]
    assert {s["trusted_key"] for s in doc["signers"]} == {str(coop), str(lab)}


def test_missing_trusted_signer_fails_and_names_the_event(env: Env, bundle: tuple[Path, Path, str]) -> None:
    path, coop, batch = bundle
    result = env.run("verify", str(path), "--trusted-key", str(coop))
    assert result.exit_code == 1
    assert result.stdout.startswith("NOT VERIFIED")
    assert "step #2" in result.stdout
    assert "not among the trusted keys" in result.stdout
    doc = env.json("verify", str(path), "--trusted-key", str(coop), code=1)
    assert doc["verified"] is False
    assert doc["error"]["code"] == "E_UNKNOWN_KEY"
    assert doc["error"]["batch_id"] == batch
    assert doc["error"]["seq"] == 2


def _flip(path: Path, offset: int) -> Path:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    out = path.with_name(f"tampered-{offset}.ocop")
    out.write_bytes(bytes(data))
    return out


def test_every_single_byte_change_fails_verification(env: Env, bundle: tuple[Path, Path, str]) -> None:
    path, coop, _ = bundle
    lab = env.pem("lab")
    size = path.stat().st_size
    with path.open("rb") as f:
        BundleReader(f)
        header_end = f.tell()
    # Every byte of the header (its key list is not signed: ocop verify checks it against the signers), and a
    # sample of the events.
    offsets = [*range(header_end), *range(header_end, size, max(1, (size - header_end) // 60))]
    for offset in offsets:
        result = env.run("verify", str(_flip(path, offset)), "--trusted-key", str(coop), "--trusted-key", str(lab))
        assert result.exit_code == 1, (offset, result.stdout, result.stderr)
        assert "NOT VERIFIED" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr


def test_tampered_value_is_reported_as_a_signature_failure(env: Env, bundle: tuple[Path, Path, str]) -> None:
    path, coop, _ = bundle
    lab = env.pem("lab")
    data = path.read_bytes()
    at = data.index(b"11.8")
    doc = env.json("verify", str(_flip(path, at + 1)), "--trusted-key", str(coop), "--trusted-key", str(lab), code=1)
    assert doc["error"]["code"] == "E_SIGNATURE"
    assert doc["error"]["seq"] == 2
    assert "changed after it was signed" in doc["error"]["explanation"]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "E_BUNDLE"),
        (b"not a bundle at all", "E_BUNDLE"),
        (b"\xff" * 10, "E_BUNDLE"),
    ],
)
def test_malformed_bundles_fail(env: Env, bundle: tuple[Path, Path, str], content: bytes, code: str) -> None:
    _, coop, _ = bundle
    bad = env.tmp / "bad.ocop"
    bad.write_bytes(content)
    doc = env.json("verify", str(bad), "--trusted-key", str(coop), code=1)
    assert doc["error"]["code"] == code


def test_truncated_and_extended_bundles_fail(env: Env, bundle: tuple[Path, Path, str]) -> None:
    path, coop, _ = bundle
    lab = env.pem("lab")
    keys = ["--trusted-key", str(coop), "--trusted-key", str(lab)]
    short = env.tmp / "short.ocop"
    short.write_bytes(path.read_bytes()[:-10])
    assert env.json("verify", str(short), *keys, code=1)["error"]["code"] == "E_TRUNCATED"
    long = env.tmp / "long.ocop"
    long.write_bytes(path.read_bytes() + b"\x40")
    assert env.json("verify", str(long), *keys, code=1)["error"]["code"] == "E_TRAILING"


def test_expect_batch(env: Env, bundle: tuple[Path, Path, str]) -> None:
    path, coop, batch = bundle
    lab = env.pem("lab")
    keys = ["--trusted-key", str(coop), "--trusted-key", str(lab)]
    env.ok("verify", str(path), *keys, "--expect-batch", batch)
    other = "00" * 32
    assert env.json("verify", str(path), *keys, "--expect-batch", other, code=1)["error"]["code"] == "E_BATCH"
    assert env.run("verify", str(path), *keys, "--expect-batch", "abc").exit_code == 2


def test_unusable_trusted_keys_are_input_errors(env: Env, bundle: tuple[Path, Path, str]) -> None:
    path, _, _ = bundle
    junk = env.tmp / "junk.pem"
    junk.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", encoding="ascii")
    result = env.run("verify", str(path), "--trusted-key", str(junk))
    assert result.exit_code == 3
    assert "E_KEY_FORMAT" in result.stderr
    assert env.run("verify", str(path)).exit_code == 2  # --trusted-key is required
    missing = env.run("verify", str(env.tmp / "none.ocop"), "--trusted-key", str(junk))
    assert missing.exit_code == 3


def test_tampered_ledger_is_reported_not_served(env: Env, bundle: tuple[Path, Path, str]) -> None:
    import sqlite3

    _, _, batch = bundle
    conn = sqlite3.connect(env.home / "ledger.sqlite")
    try:
        conn.execute("DROP TRIGGER IF EXISTS events_no_update")
        triggers = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
        for name in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        row = conn.execute(
            "SELECT rowid, raw FROM events WHERE seq = 2 AND batch_id = ?", (bytes.fromhex(batch),)
        ).fetchone()
        raw = bytearray(row[1])
        i = raw.index(b"11.8")
        raw[i + 1] = ord("7")
        conn.execute("UPDATE events SET raw = ? WHERE rowid = ?", (bytes(raw), row[0]))
        conn.commit()
    finally:
        conn.close()
    result = env.run("batch", "show", batch)
    assert result.exit_code == 1
    assert "E_TAMPERED" in result.stderr
    assert "11.8" not in result.stdout
    assert "17.8" not in result.stdout
    assert env.run("export", batch, "-o", str(env.tmp / "x.ocop")).exit_code == 1
    assert not (env.tmp / "x.ocop").exists()


def test_lineage_is_reported(env: Env, bundle: tuple[Path, Path, str]) -> None:
    path, coop, batch = bundle
    keys = ["--trusted-key", str(coop), "--trusted-key", str(env.pem("lab"))]
    doc = env.json("verify", str(path), *keys)
    (edge,) = doc["lineage"]
    assert edge["batch_id"] == batch
    assert edge["seq"] == 1
    assert edge["step"] == "ocop:drying"
    assert edge["input_batch"] == doc["batches"][1]["batch_id"]
    assert edge["input_seq"] == 1
    assert "#1 ocop:drying used" in env.ok("verify", str(path), *keys).stdout


def test_shipped_keys_must_be_exactly_the_signers(env: Env, bundle: tuple[Path, Path, str]) -> None:
    import dataclasses

    path, coop, _ = bundle
    lab = env.pem("lab")
    stranger = op.PrivateKey.generate().public_key
    with path.open("rb") as f:
        reader = BundleReader(f)
        events = [raw for _, raw in reader.events()]
        header = reader.header
    for keys in ((*header.keys, stranger), header.keys[:1]):
        out = env.tmp / "rekeyed.ocop"
        with out.open("wb") as f:
            write_bundle(f, dataclasses.replace(header, keys=keys), events)
        doc = env.json("verify", str(out), "--trusted-key", str(coop), "--trusted-key", str(lab), code=1)
        assert doc["error"]["code"] == "E_HEADER_MISMATCH"
