"""The log through the CLI: ocop publish keeps receipts, ocop export ships them, ocop verify --log-key checks them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import ocop_provenance as op
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from ocop_provenance import tlog
from ocop_provenance.events import EquivocationProof

from ocop_cli.context import Context
from ocop_cli.main import cli
from ocop_portal import db, registry
from ocop_portal.tlog import PortalLog

from .conftest import Live, serve
from .world import ICT, NOW, PLACE, World, key

LOG_KEY = key(60)


@pytest.fixture
def logged(db_url: str, world: World) -> Iterator[Live]:
    for live in serve(db_url, world, log_key=LOG_KEY):
        assert live.client.put("/api/v1/trust-list", content=world.trust_v1).status_code == 200
        assert live.client.put("/api/v1/policies/vn.ocop/dried-cordyceps", content=world.policy).status_code == 200
        yield live


def _ocop(world: World, *args: str) -> tuple[int, dict[str, object]]:
    obj = Context(home=world.home, clock=lambda: NOW)  # the world's trust list is valid at NOW
    result = CliRunner().invoke(cli, [*args, "--json"], obj=obj, catch_exceptions=False)
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

    # The same with an audit against the trust list.
    trust_file = tmp_path / "trust.cbor"
    trust_file.write_bytes(world.trust_v1)
    authority = [a for i, k in enumerate(world.authority) for a in ("--authority-key", _pem(tmp_path, f"a{i}", k))]
    code, doc = _ocop(
        world, "verify", str(bundle), "--trust", str(trust_file), *authority, "--threshold", "2", "--log-key", log_pem
    )
    assert code == 0, doc
    assert [h["seq"] for h in doc["logs"][0]["heads"]] == [5, 1]  # type: ignore[index]

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


def _add(ledger_path: Path, world: World, step: str) -> None:
    with op.Ledger.open(ledger_path) as ledger:
        ledger.add_step(world.dried, world.coop, step=step, time=datetime(2024, 11, 8, 9, tzinfo=ICT), location=PLACE)


def _bundle_of(ledger_path: Path, world: World) -> bytes:
    other = World.__new__(World)
    other.ledger_path, other.dried = ledger_path, world.dried
    return World.bundle(other)


def test_a_re_signed_tail_is_refused_and_a_logged_fork_is_flagged_by_the_monitor(
    logged: Live, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The producer keeps a backup, publishes a step, then restores the backup and signs another step at that seq.
    backup = tmp_path / "backup.sqlite"
    shutil.copy(world.ledger_path, backup)
    _add(world.ledger_path, world, "receiving")
    _add(backup, world, "storing")
    assert logged.publish(world.bundle()).status_code == 201
    log_pem = _pem(tmp_path, "log", LOG_KEY)
    state, proofs = tmp_path / "monitor", tmp_path / "proofs"
    args = ("monitor", "--portal", logged.url, "--log-key", log_pem, "--state", str(state), "--proofs", str(proofs))
    code, doc = _ocop(world, *args)
    assert code == 0, doc
    assert (doc["size"], doc["findings"]) == (2, [])

    # The portal refuses the re-signed tail: a different head at a logged seq.
    refused = logged.publish(_bundle_of(backup, world))
    assert (refused.status_code, refused.json()["code"]) == (409, "E_FORK")

    # Its events table loses the tail (an old backup restored): the log still refuses the re-signed head.
    with logged.db.write() as conn:
        five = conn.execute(
            sa.select(db.events.c.event_id).where(db.events.c.batch_id == world.dried, db.events.c.seq == 5)
        ).scalar_one()
        conn.execute(db.events.delete().where(db.events.c.batch_id == world.dried, db.events.c.seq >= 6))
        conn.execute(db.batches.update().where(db.batches.c.batch_id == world.dried).values(head_seq=5, head_id=five))
    refused = logged.publish(_bundle_of(backup, world))
    assert (refused.status_code, refused.json()["code"]) == (409, "E_LOG_FORK")
    assert (refused.json()["seq"], refused.json()["leaf_index"]) == (6, 0)

    # A portal that does not check its log accepts and logs the other head: the log holds two heads at seq 6.
    def not_checking(log: PortalLog, conn: sa.Connection, records: list[Any], *, root: bool) -> tlog.LogLeaf | None:
        found = log.logged_head(conn, records[0].batch_id)
        return None if found is None else found[1]

    monkeypatch.setattr(registry, "_check_logged", not_checking)
    assert logged.publish(_bundle_of(backup, world)).status_code == 201

    code, doc = _ocop(world, *args)
    assert code == 1
    findings = doc["findings"]
    assert isinstance(findings, list)
    (fork,) = findings
    assert (fork["kind"], fork["code"], fork["batch_id"], fork["seq"]) == ("fork", "E_FORK", world.dried.hex(), 6)
    assert fork["signed"] is True
    proof = EquivocationProof.from_bytes(Path(fork["proof_file"]).read_bytes())
    assert proof.verify(op.KeyRing.of([world.coop.public_key])) == (world.dried, 6)
    text = CliRunner().invoke(cli, ["--home", str(world.home), *args])
    assert text.exit_code == 1
    assert "the producer signed two histories" in text.stdout

    # A monitor that never saw the first head cannot prove the fork, but still flags the pair it cannot settle.
    code, doc = _ocop(world, "monitor", "--portal", logged.url, "--log-key", log_pem)
    assert code == 1
    assert [(f["kind"], f["code"]) for f in doc["findings"]] == [("unavailable", "E_LOG_LEAF")]  # type: ignore[union-attr]

    # The leaves kept between runs are only a cache: damaged, they are fetched again.
    kept = state / "leaves"
    assert kept.stat().st_size > 0
    kept.write_bytes(kept.read_bytes()[:-5] + b"\xff" * 5)
    code, doc = _ocop(world, *args)
    assert (code, [f["kind"] for f in doc["findings"]]) == (1, ["fork"])  # type: ignore[union-attr]

    # The portal rewrites its log: the monitor holding the last checkpoint reports a split view, with evidence.
    with logged.db.write() as conn:
        for table in (db.tlog_leaves, db.tlog_nodes, db.tlog_checkpoints):
            conn.execute(table.delete())
        logged.app.state.portal.registry.log.append(conn, [(world.fresh, 0, bytes(32))] * 4, NOW)
    code, doc = _ocop(world, *args)
    assert code == 1
    assert [(f["kind"], f["code"]) for f in doc["findings"]] == [("split-view", "E_LOG_CONSISTENCY")]  # type: ignore[union-attr]
    assert (proofs / "split-view.offered.checkpoint").is_file()


def test_serve_log_options(world: World, tmp_path: Path) -> None:
    key_file = tmp_path / "log.key"
    key_file.write_bytes(LOG_KEY.to_pkcs8_pem())
    key_file.chmod(0o600)
    witness = _pem(tmp_path, "w", key(61))
    base = ["--home", str(world.home), "serve", "--db", str(tmp_path / "p.sqlite"), "--migrate-only"]
    run = CliRunner().invoke(cli, [*base, "--log-key", str(key_file), "--witness", f"http://127.0.0.1:9/={witness}"])
    assert run.exit_code == 0, run.output
    vkey = tlog.NoteKey.for_log("127.0.0.1/tlog/1", LOG_KEY.public_key).to_vkey()
    assert f"transparency log 127.0.0.1/tlog/1: verifier key {vkey}" in run.stderr
    assert CliRunner().invoke(cli, [*base, "--witness", f"http://127.0.0.1:9/={witness}"]).exit_code == 2
    bad = CliRunner().invoke(cli, [*base, "--log-key", str(key_file), "--witness", witness])
    assert bad.exit_code == 2
    assert "is not URL=PEM" in bad.stderr


def test_publish_with_the_log_key_catches_a_portal_that_rewrites_its_log(
    logged: Live, world: World, tmp_path: Path
) -> None:
    log_pem = _pem(tmp_path, "log", LOG_KEY)
    publish = ("publish", world.dried.hex(), "--to", logged.url, "--log-key", log_pem)
    code, doc = _ocop(world, *publish)
    assert code == 0, doc
    assert doc["log"] == {
        "origin": "id.thanhhoa.example.vn/tlog/1", "size": 2, "previous": None, "error": None, "evidence": None
    }  # fmt: skip
    _add(world.ledger_path, world, "receiving")
    code, doc = _ocop(world, *publish)
    assert code == 0, doc
    assert (doc["log"]["previous"], doc["log"]["size"]) == (2, 3)  # type: ignore[index]

    # The portal rewrites its log: the same heads, another history. The producer's next publication sees it.
    with op.Ledger.open(world.ledger_path) as ledger:
        heads = {b: list(ledger.events(b))[-1].event_id for b in (world.dried, world.fresh)}
    with logged.db.write() as conn:
        for table in (db.tlog_leaves, db.tlog_nodes, db.tlog_checkpoints):
            conn.execute(table.delete())
        logged.app.state.portal.registry.log.append(
            conn, [(world.dried, 6, heads[world.dried]), (world.fresh, 1, heads[world.fresh])] * 2, NOW
        )
    code, doc = _ocop(world, *publish)
    assert code == 1
    seen = doc["log"]
    assert isinstance(seen, dict)
    assert (seen["previous"], seen["size"], seen["error"]["code"]) == (3, 4, "E_LOG_CONSISTENCY")
    assert Path(seen["evidence"]).read_text(encoding="utf-8").count("id.thanhhoa.example.vn/tlog/1\n") == 2
    # Another key than the log's: its receipts are refused.
    code, doc = _ocop(world, "publish", world.dried.hex(), "--to", logged.url, "--log-key", _pem(tmp_path, "x", key(9)))
    assert (code, doc["log"]["error"]["code"]) == (1, "E_LOG_SIGNATURE")  # type: ignore[index]
