"""The log through the CLI: ocop publish keeps receipts, ocop export ships them, ocop verify --log-key checks them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import ocop_provenance as op
import pytest
from click.testing import CliRunner

from ocop_cli.main import cli

from .conftest import Live, serve
from .world import ICT, PLACE, World, key

LOG_KEY = key(60)


@pytest.fixture
def logged(db_url: str, world: World) -> Iterator[Live]:
    for live in serve(db_url, world, log_key=LOG_KEY):
        assert live.client.put("/api/v1/trust-list", content=world.trust_v1).status_code == 200
        assert live.client.put("/api/v1/policies/vn.ocop/dried-cordyceps", content=world.policy).status_code == 200
        yield live


def _ocop(world: World, *args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, ["--home", str(world.home), *args, "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def _pem(tmp_path: Path, name: str, k: op.PrivateKey) -> str:
    path = tmp_path / f"{name}.pem"
    path.write_bytes(k.public_key.to_pem())
    return str(path)


def test_publish_export_verify_with_receipts(logged: Live, world: World, tmp_path: Path) -> None:
    code, doc = _ocop(world, "publish", world.dried.hex(), "--to", logged.url)
    assert code == 0, doc
    receipts = doc["receipts"]
    assert isinstance(receipts, list)
    assert sorted(Path(p).name.split(".")[1] for p in receipts) == ["1", "5"]  # the heads of both batches

    bundle = tmp_path / "dried.ocop"
    code, doc = _ocop(world, "export", world.dried.hex(), "-o", str(bundle), "--receipts", f"{bundle}.receipts")
    assert code == 0, doc
    assert doc["receipts"]["count"] == 2  # type: ignore[index]

    trusted = [a for n, k in (("coop", world.coop), ("ws", world.workshop), ("lab", world.lab))
               for a in ("--trusted-key", _pem(tmp_path, n, k))]  # fmt: skip
    log_pem = _pem(tmp_path, "log", LOG_KEY)
    code, doc = _ocop(world, "verify", str(bundle), *trusted, "--log-key", log_pem)
    assert code == 0, doc
    heads = doc["log"]["heads"]  # type: ignore[index]
    assert [(h["batch_id"], h["seq"]) for h in heads] == [(world.dried.hex(), 5), (world.fresh.hex(), 1)]
    assert {h["origin"] for h in heads} == {"id.thanhhoa.example.vn/tlog/1"}
    text = CliRunner().invoke(cli, ["--home", str(world.home), "verify", str(bundle), *trusted, "--log-key", log_pem])
    assert "are in the transparency log id.thanhhoa.example.vn/tlog/1" in text.stdout

    # Another log key: not this log's receipts.
    code, doc = _ocop(world, "verify", str(bundle), *trusted, "--log-key", _pem(tmp_path, "other", key(62)))
    assert code == 1
    assert doc["error"]["code"] == "E_LOG_SIGNATURE"  # type: ignore[index]
    # Witnesses required, none cosigned.
    code, doc = _ocop(
        world, "verify", str(bundle), *trusted, "--log-key", log_pem, "--witness-key", _pem(tmp_path, "w", key(61))
    )
    assert code == 1
    assert doc["error"]["code"] == "E_LOG_WITNESSES"  # type: ignore[index]

    # A step added but not published: its head has no receipt.
    with op.Ledger.open(world.ledger_path) as ledger:
        ledger.add_step(
            world.dried, world.coop, step="receiving", time=datetime(2024, 11, 8, 9, tzinfo=ICT), location=PLACE
        )
    code, doc = _ocop(world, "export", world.dried.hex(), "-o", str(bundle), "--receipts", f"{bundle}.receipts")
    assert code == 0
    assert doc["receipts"]["unlogged"] == [{"batch_id": world.dried.hex(), "seq": 6}]  # type: ignore[index]
    code, doc = _ocop(world, "verify", str(bundle), *trusted, "--log-key", log_pem)
    assert code == 1
    error = doc["error"]
    assert isinstance(error, dict)
    assert (error["code"], error["batch_id"], error["seq"]) == ("E_LOG_MISSING", world.dried.hex(), 6)
