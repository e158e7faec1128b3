"""Fixtures of the portal's tests: both databases, a world of keys and batches, a portal served on loopback.

Every test that takes ``db_url`` runs on SQLite and on PostgreSQL. PostgreSQL comes from a throwaway cluster
(:mod:`tests.portal.pg`) when its server binaries are installed. Without them the PostgreSQL runs are skipped on a
developer's machine, and fail in CI (``OCOP_CI=1``, set by ``.ci/run``, which installs them).
"""

from __future__ import annotations

import os
import shutil
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("ocop_portal", reason="the portal extra is not installed")

from ocop_cli.serve import Server, free_port
from ocop_portal import Limits, Settings, create_app
from ocop_portal.db import Database

from .pg import Cluster, find_bin, running_cluster
from .world import NOW, World

PUBLIC = "https://id.thanhhoa.example.vn"
#: One TLS context for the tests' HTTP clients: each client would otherwise load the CA bundle again (some 30 ms),
#: though they speak plain HTTP to loopback.
CLIENT_TLS = ssl.create_default_context()
IN_CI = os.environ.get("OCOP_CI", "").lower() in ("1", "true", "yes")


def require(what: str, reason: str) -> None:
    """Skip on a developer's machine, fail in CI, when something the test needs is missing."""
    if IN_CI:
        pytest.fail(f"{what} is missing in CI: {reason}")
    pytest.skip(f"{what} is not installed here ({reason}); .ci/run installs it")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    bin_dir = find_bin()
    if bin_dir is None:
        yield None
        return
    with running_cluster(bin_dir) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A portal database migrated once per test process, copied for each test that takes ``db_url``."""
    path = tmp_path_factory.mktemp("schema") / "portal.sqlite"
    database = Database(str(path))
    database.migrate()
    database.dispose()
    assert not path.with_name(path.name + "-wal").exists(), "the template must be whole in its one file"
    return path


@pytest.fixture(scope="session")
def migrated_pg(pg_cluster: Cluster | None) -> str | None:
    """One PostgreSQL database per test process, migrated once and emptied after each test that used it."""
    if pg_cluster is None:
        return None
    url = pg_cluster.new_database()
    database = Database(url)
    database.migrate()
    database.dispose()
    return url


def _missing_pg() -> None:
    require("PostgreSQL", "no server binaries under /usr/lib/postgresql (apt-get install postgresql-15)")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty portal database at the newest schema, on each of the two databases.

    Migrating costs some 60 ms on SQLite and 400 ms on PostgreSQL, on every one of some 300 tests; so the schema is
    made once per test process (by the portal's own migrations) and each test gets a copy of the SQLite file, or the
    process's PostgreSQL database, emptied after the test. The migrations themselves are tested on empty databases
    (``empty_db_url``).
    """
    if request.param == "sqlite":
        path = tmp_path / "portal.sqlite"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        yield str(path)
        return
    cluster: Cluster | None = request.getfixturevalue("pg_cluster")
    if cluster is None:
        _missing_pg()
    assert cluster is not None
    url: str = request.getfixturevalue("migrated_pg")
    yield url
    cluster.empty(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema at all, on each of the two databases (for the migrations' own tests)."""
    if request.param == "sqlite":
        return str(tmp_path / "portal.sqlite")
    cluster: Cluster | None = request.getfixturevalue("pg_cluster")
    if cluster is None:
        _missing_pg()
    assert cluster is not None
    return cluster.new_database()


@pytest.fixture
def world(tmp_path: Path) -> World:
    home = tmp_path / "home"
    home.mkdir()
    return World(home, PUBLIC)


@dataclass
class Live:
    """A portal served on loopback whose public URL is ``PUBLIC`` (as behind a reverse proxy)."""

    url: str
    app: Any
    db: Database
    client: httpx.Client
    settings: Settings

    def path(self, seal_url: str) -> str:
        """The path and query of a sealed URL (what the proxy forwards)."""
        assert seal_url.startswith(PUBLIC)
        return seal_url[len(PUBLIC) :]

    def publish(self, bundle: bytes) -> httpx.Response:
        return self.client.post("/api/v1/bundles", content=bundle)


def serve(db_url: str, world: World, wrap: Callable[[Any], Any] | None = None, **settings: Any) -> Iterator[Live]:
    """Serve a portal on loopback (``wrap``: an ASGI middleware put in front of it, for tests that alter answers)."""
    s = Settings(**({"db_url": db_url, "public_url": PUBLIC, "authority": world.pin, "clock": lambda: NOW} | settings))
    database = Database(s.db_url)
    database.migrate()
    app = create_app(s, database=database)
    port = free_port()
    server = Server(app if wrap is None else wrap(app), "127.0.0.1", port).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60, verify=CLIENT_TLS) as client:
            yield Live(server.url, app, database, client, s)
    finally:
        server.stop()
        database.dispose()


@pytest.fixture
def live(db_url: str, world: World) -> Iterator[Live]:
    yield from serve(db_url, world)


@pytest.fixture
def ready(live: Live, world: World) -> Live:
    """A portal with the trust list and the dried-cordyceps policy installed."""
    assert live.client.put("/api/v1/trust-list", content=world.trust_v1).status_code == 200
    assert live.client.put("/api/v1/policies/vn.ocop/dried-cordyceps", content=world.policy).status_code == 200
    return live


@pytest.fixture
def published(ready: Live, world: World) -> Live:
    """A portal holding the dried batch (and the fresh batch it was made from)."""
    r = ready.publish(world.bundle())
    assert r.status_code == 201, r.text
    return ready


__all__ = ["CLIENT_TLS", "IN_CI", "PUBLIC", "Limits", "Live", "require", "serve"]
