"""Operations: the serve command's set-up, limits in time, an expired trust list, a read replica, CORS preflight."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from ocop_cli.context import Context
from ocop_cli.main import cli
from ocop_portal import Limits

from .conftest import Live, serve
from .world import NOW, World


def _serve_cli(*args: str) -> tuple[int, str]:
    ctx = Context(home=Path("/nonexistent"), clock=lambda: NOW)
    result = CliRunner().invoke(cli, ["serve", *args], catch_exceptions=False, obj=ctx)
    return result.exit_code, result.output


def test_migrate_only_and_first_trust_list(tmp_path: Path, world: World) -> None:
    db = str(tmp_path / "p.sqlite")
    code, out = _serve_cli("--db", db, "--migrate-only", "--json")
    assert code == 0
    assert json.loads(out)["migrated"] is True
    trust = tmp_path / "v1.trust"
    trust.write_bytes(world.trust_v1)
    # Without pinned authority keys the first list cannot be trusted.
    code, out = _serve_cli("--db", db, "--trust", str(trust), "--migrate-only")
    assert code == 1
    assert "E_NO_AUTHORITY" in out
    pems = []
    for i, k in enumerate(world.authority):
        pem = tmp_path / f"a{i}.pem"
        pem.write_bytes(k.public_key.to_pem())
        pems += ["--authority-key", str(pem)]
    code, out = _serve_cli("--db", db, "--trust", str(trust), *pems, "--migrate-only")
    assert code == 2  # several authority keys need --threshold
    code, out = _serve_cli("--db", db, "--trust", str(trust), *pems, "--threshold", "2", "--migrate-only")
    assert code == 0, out
    # Started again with the same (now held) list: nothing changes.
    code, out = _serve_cli("--db", db, "--trust", str(trust), *pems, "--threshold", "2", "--migrate-only")
    assert code == 0, out


def test_time_budget(db_url: str, world: World) -> None:
    gen = serve(db_url, world, limits=Limits(publish_seconds=0.0))
    live = next(gen)
    try:
        assert live.client.put("/api/v1/trust-list", content=world.trust_v1).status_code == 200
        r = live.publish(world.bundle())
        assert (r.status_code, r.json()["code"]) == (408, "E_TIMEOUT")
    finally:
        gen.close()


def test_expired_trust_list(db_url: str, world: World) -> None:
    gen = serve(db_url, world)
    live = next(gen)
    try:
        assert live.client.put("/api/v1/trust-list", content=world.trust_v1).status_code == 200
        assert live.publish(world.bundle()).status_code == 201
    finally:
        gen.close()
    later = serve(db_url, world, clock=lambda: NOW + timedelta(days=400))
    live = next(later)
    try:
        r = live.client.get(live.path(world.seal()), headers={"accept": "text/html"})
        assert r.status_code == 503
        assert 'data-code="E_TRUST_EXPIRED"' in r.text or "E_TRUST_EXPIRED" in r.text
        r = live.publish(world.bundle())
        assert (r.status_code, r.json()["code"]) == (503, "E_TRUST_EXPIRED")
    finally:
        later.close()


def test_read_replica_setting(db_url: str, world: World) -> None:
    gen = serve(db_url, world, read_db_url=db_url)
    live = next(gen)
    try:
        assert live.client.put("/api/v1/trust-list", content=world.trust_v1).status_code == 200
        assert live.publish(world.bundle()).status_code == 201
        assert live.client.get(live.path(world.seal()), headers={"accept": "text/html"}).status_code == 200
    finally:
        gen.close()


def test_cors_preflight(published: Live) -> None:
    r = published.client.options(
        "/api/v1/batches", headers={"origin": "https://shop.example", "access-control-request-method": "GET"}
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert "GET" in r.headers["access-control-allow-methods"]
