"""Publishing: what the registry accepts, refuses, and leaves unchanged (both databases)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import threading
from datetime import datetime
from pathlib import Path

import ocop_provenance as op
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from ocop_provenance.events import EquivocationProof
from ocop_provenance.trust import TrustList, dried_cordyceps_policy, sign_policy, sign_trust_list

from ocop_cli.main import cli
from ocop_portal import db

from .conftest import CLIENT_TLS, Live, serve
from .world import COOP, GTIN, ICT, NEIGHBOUR, PLACE, World, key


def _counts(live: Live) -> dict[str, int]:
    with live.db.read() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (db.batches, db.events, db.inputs, db.attachment_refs, db.public_keys, db.forks)
        }


def _ocop(*args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def _add_step(world: World, ledger_path: Path, step: str, day: int, **kw: object) -> None:
    with op.Ledger.open(ledger_path) as ledger:
        ledger.add_step(
            world.dried, world.coop, step=step, time=datetime(2024, 11, day, 9, 0, tzinfo=ICT), location=PLACE, **kw
        )


def test_cli_publish_then_again_then_longer(ready: Live, world: World) -> None:
    code, doc = _ocop("--home", str(world.home), "publish", world.dried.hex()[:12], "--to", ready.url)
    assert code == 0, doc
    answer = doc["answer"]
    assert isinstance(answer, dict)
    assert answer["accepted"] is True
    assert [(b["status"], b["count"]) for b in answer["batches"]] == [("new", 6), ("new", 2)]
    assert answer["policy"] == {"name": "vn.ocop/dried-cordyceps", "version": 1}

    code, doc = _ocop("--home", str(world.home), "publish", world.dried.hex(), "--to", ready.url)
    assert code == 0
    assert [b["status"] for b in doc["answer"]["batches"]] == ["unchanged", "unchanged"]  # type: ignore[index]
    assert doc["answer"]["added"] == 0  # type: ignore[index]

    _add_step(world, world.ledger_path, "receiving", 8)
    code, doc = _ocop("--home", str(world.home), "publish", world.dried.hex(), "--to", ready.url)
    assert code == 0
    assert [(b["status"], b["held"], b["count"]) for b in doc["answer"]["batches"]] == [  # type: ignore[index]
        ("extended", 6, 7),
        ("unchanged", 2, 2),
    ]
    assert _counts(ready)["events"] == 9


def test_cli_publish_uploads_attachment_files(ready: Live, world: World, tmp_path: Path) -> None:
    report = tmp_path / "ket-qua.pdf"
    report.write_bytes(world.report)
    other = tmp_path / "other.pdf"
    other.write_bytes(b"not attached to any event")
    code, doc = _ocop(
        "--home", str(world.home), "publish", world.dried.hex(), "--to", ready.url, "--attach", str(report),
        "--attach", str(other),
    )  # fmt: skip
    assert code == 1  # the second file is refused
    files = {Path(str(f["file"])).name: f for f in doc["files"]}  # type: ignore[union-attr]
    assert files["ket-qua.pdf"]["http_status"] == 201
    assert files["other.pdf"]["http_status"] == 404
    assert files["other.pdf"]["code"] == "E_NOT_ATTACHED"
    sha = hashlib.sha256(world.report).hexdigest()
    r = ready.client.get(f"/files/{sha}")
    assert r.status_code == 200
    assert r.content == world.report
    assert r.headers["content-disposition"].startswith("attachment")


def test_cli_publish_refused_is_exit_1(ready: Live, world: World) -> None:
    stranger = key(77)
    with op.Ledger.open(world.ledger_path) as ledger:
        batch = ledger.open_batch(
            op.Genesis(
                time=datetime(2024, 11, 3, 8, 0, tzinfo=ICT),
                product=op.Product(name="Mật ong", lot="M1", quantity="1", unit="kg"),
                producer=op.Producer(name="Ai đó"),
            ),
            stranger,
        )
    code, doc = _ocop("--home", str(world.home), "publish", batch.batch_id.hex(), "--to", ready.url)
    assert code == 1
    assert doc["answer"]["code"] == "E_UNKNOWN_KEY"  # type: ignore[index]
    assert _counts(ready)["batches"] == 0


def _neighbours_batch(world: World, *, name: str, gtin: str | None, admin_code: str | None = "38") -> bytes:
    """A batch the other producer of the province opens with what its record claims."""
    with op.Ledger.open(world.ledger_path) as ledger:
        batch = ledger.open_batch(
            op.Genesis(
                time=datetime(2024, 11, 3, 8, 0, tzinfo=ICT),
                product=op.Product(name="Mật ong hoa nhãn", lot="MO-01", quantity="10", unit="lít", gtin=gtin),
                producer=op.Producer(name=name, admin_code=admin_code),
            ),
            world.neighbour,
        )
    return world.bundle(batch.batch_id)


@pytest.mark.parametrize(
    ("claims", "code", "field"),
    [
        ({"name": COOP, "gtin": None}, "E_CLAIM_MISMATCH", "producer.name"),
        ({"name": NEIGHBOUR, "gtin": None, "admin_code": "40"}, "E_CLAIM_MISMATCH", "producer.admin_code"),
        ({"name": NEIGHBOUR, "gtin": GTIN}, "E_GTIN_NOT_OWNED", "product.gtin"),
    ],
    ids=["name", "admin-code", "gtin"],
)
def test_a_producer_claiming_anothers_name_code_or_gtin_is_refused(
    ready: Live, world: World, claims: dict[str, str | None], code: str, field: str
) -> None:
    # Issue 10, finding 1: the neighbour's key is in the trust list and signs validly, but what its genesis claims
    # (the cooperative's name, a commune code not its own, the cooperative's GTIN) is not the neighbour's to claim.
    r = ready.publish(_neighbours_batch(world, **claims))  # type: ignore[arg-type]
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == code
    assert [(f["code"], f["field"]) for f in body["findings"]] == [(code, field)]
    assert _counts(ready)["batches"] == 0
    # Its own name, codes and no foreign GTIN: accepted.
    r = ready.publish(_neighbours_batch(world, name=NEIGHBOUR, gtin="08939999000017"))
    assert r.status_code == 201, r.text


def test_an_event_signed_by_a_revoked_key_is_refused(ready: Live, world: World) -> None:
    v2 = world.trust_list(2, revoked=(world.lab.public_key,))
    assert ready.client.put("/api/v1/trust-list", content=v2).status_code == 200
    r = ready.publish(world.bundle())
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "E_KEY_REVOKED"
    error = body["error"]
    assert (error["batch_id"], error["seq"], error["key_id"]) == (world.dried.hex(), 3, world.lab.public_key.key_id_hex)
    assert _counts(ready)["events"] == 0


def test_fork_is_refused_and_its_proof_kept_and_shown(ready: Live, world: World, tmp_path: Path) -> None:
    other = tmp_path / "other-ledger.sqlite"
    shutil.copy(world.ledger_path, other)
    _add_step(world, world.ledger_path, "receiving", 8)
    _add_step(world, other, "storing", 8)
    assert ready.publish(world.bundle()).status_code == 201
    before = _counts(ready)

    forked = World.__new__(World)
    forked.ledger_path, forked.dried = other, world.dried
    r = ready.publish(World.bundle(forked))
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "E_FORK"
    assert body["seq"] == 6
    proof = EquivocationProof.from_bytes(base64.b64decode(body["proof"]))
    assert proof.verify(op.KeyRing.of([world.coop.public_key])) == (world.dried, 6)
    after = _counts(ready)
    assert after == before | {"forks": 1}  # only the proof was written

    page = ready.client.get(f"/batches/{world.dried.hex()}")
    assert page.status_code == 200
    assert 'id="forks"' in page.text
    assert body["proof"] in page.text
    detail = ready.client.get(f"/api/v1/batches/{world.dried.hex()}").json()
    assert [f["seq"] for f in detail["forks"]] == [6]
    # The same fork again keeps one proof.
    assert ready.publish(World.bundle(forked)).status_code == 409
    assert _counts(ready)["forks"] == 1


def test_rollback_is_refused(ready: Live, world: World) -> None:
    short = world.bundle()
    _add_step(world, world.ledger_path, "receiving", 8)
    assert ready.publish(world.bundle()).status_code == 201
    before = _counts(ready)
    r = ready.publish(short)
    assert r.status_code == 409
    assert r.json()["code"] == "E_ROLLBACK"
    assert (r.json()["held"], r.json()["bundle"]) == (7, 6)
    assert _counts(ready) == before


def test_upstream_batch_shorter_than_held_is_not_a_rollback(ready: Live, world: World) -> None:
    dried = world.bundle()
    with op.Ledger.open(world.ledger_path) as ledger:
        ledger.add_step(
            world.fresh, world.coop, step="storing", time=datetime(2024, 11, 9, 9, 0, tzinfo=ICT), location=PLACE
        )
    r = ready.publish(world.bundle(world.fresh))
    assert r.status_code == 201
    assert r.json()["batches"][0]["count"] == 3
    # The dried batch's bundle carries the fresh batch as it was (2 events): accepted, nothing lost.
    r = ready.publish(dried)
    assert r.status_code == 201, r.text
    assert [(b["status"], b["count"]) for b in r.json()["batches"]] == [("new", 6), ("unchanged", 3)]


def test_bundle_failing_at_its_last_event_leaves_no_row(ready: Live, world: World) -> None:
    data = bytearray(world.bundle())
    data[-1] ^= 0x01  # the last byte of the last event: its signature
    r = ready.publish(bytes(data))
    assert r.status_code == 422
    assert r.json()["code"] == "E_SIGNATURE"
    error = r.json()["error"]
    assert (error["batch_id"], error["seq"]) == (world.fresh.hex(), 1)  # seq 1 of the fresh batch: the last event
    assert _counts(ready) == dict.fromkeys(
        ("batches", "events", "inputs", "attachment_refs", "public_keys", "forks"), 0
    )


def test_policy_findings_refuse(ready: Live, tmp_path: Path) -> None:
    home = tmp_path / "w2"
    home.mkdir()
    w = World(home, "https://id.thanhhoa.example.vn")
    with op.Ledger.open(w.ledger_path) as ledger:
        batch = ledger.open_batch(
            op.Genesis(
                time=datetime(2024, 11, 2, 7, 0, tzinfo=ICT),
                product=op.Product(name="Đông trùng hạ thảo sấy khô", lot="L9", quantity="1", unit="kg"),
                producer=op.Producer(name=COOP, admin_code="38"),
                location=PLACE,
            ),
            w.coop,
        )
    r = ready.publish(w.bundle(batch.batch_id))
    assert r.status_code == 422
    body = r.json()
    assert body["policy"] == "vn.ocop/dried-cordyceps"
    assert {f["code"] for f in body["findings"]} >= {"E_POLICY_MISSING_STEP"}


def test_garbage_and_limits(db_url: str, world: World) -> None:
    from ocop_portal import Limits

    gen = serve(db_url, world, limits=Limits(max_bundle_bytes=4000, max_events=7))
    live = next(gen)
    try:
        assert live.client.put("/api/v1/trust-list", content=world.trust_v1).status_code == 200
        r = live.publish(b"\xa1\x00\x00")
        assert (r.status_code, r.json()["code"]) == (422, "E_BUNDLE")
        r = live.publish(world.bundle())
        assert (r.status_code, r.json()["code"]) == (413, "E_TOO_MANY_EVENTS")
        r = live.publish(b"x" * 5000)
        assert (r.status_code, r.json()["code"]) == (413, "E_TOO_LARGE")
        assert _counts(live)["events"] == 0
    finally:
        gen.close()


def test_trust_list_replacement(ready: Live, world: World) -> None:
    v2 = world.trust_list(2)
    r = ready.client.put("/api/v1/trust-list", content=v2)
    assert (r.status_code, r.json()["installed"], r.json()["version"]) == (200, True, 2)
    r = ready.client.put("/api/v1/trust-list", content=v2)
    assert (r.status_code, r.json()["installed"]) == (200, False)
    r = ready.client.put("/api/v1/trust-list", content=world.trust_v1)
    assert (r.status_code, r.json()["code"]) == (409, "E_TRUST_ROLLBACK")
    # Signed by one authority key only (two are required).
    tl = TrustList.parse_unverified(world.trust_list(3))
    r = ready.client.put("/api/v1/trust-list", content=sign_trust_list(tl, world.authority[:1]))
    assert (r.status_code, r.json()["code"]) == (422, "E_TRUST_THRESHOLD")
    assert ready.client.get("/api/v1/health").json()["trust_list"] == 2
    assert ready.client.get("/api/v1/trust-list").content == v2


def test_policy_replacement(ready: Live, world: World) -> None:
    from .world import NOW

    r = ready.client.put("/api/v1/policies/vn.ocop/other", content=world.policy)
    assert (r.status_code, r.json()["code"]) == (422, "E_POLICY_NAME")
    unsigned = sign_policy(dried_cordyceps_policy(issued_at=NOW, version=2), [key(9)])
    r = ready.client.put("/api/v1/policies/vn.ocop/dried-cordyceps", content=unsigned)
    assert (r.status_code, r.json()["code"]) == (422, "E_POLICY_AUTHORITY")
    r = ready.client.get("/api/v1/policies")
    assert [p["name"] for p in r.json()] == ["vn.ocop/dried-cordyceps"]


def test_concurrent_forks_store_one_chain(ready: Live, world: World, tmp_path: Path) -> None:
    assert ready.publish(world.bundle()).status_code == 201
    bundles = []
    for i, step in enumerate(("receiving", "storing", "holding", "loading")):
        path = tmp_path / f"l{i}.sqlite"
        shutil.copy(world.ledger_path, path)
        _add_step(world, path, step, 8)
        w = World.__new__(World)
        w.ledger_path, w.dried = path, world.dried
        bundles.append(World.bundle(w))
    codes: list[int] = []
    lock = threading.Lock()

    def go(b: bytes) -> None:
        import httpx

        status = httpx.post(f"{ready.url}/api/v1/bundles", content=b, timeout=60, verify=CLIENT_TLS).status_code
        with lock:
            codes.append(status)

    threads = [threading.Thread(target=go, args=(b,)) for b in bundles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201, 409, 409, 409]
    assert _counts(ready)["events"] == 9  # 7 of the dried batch (one extension won) and 2 of the fresh


def test_migrations_match_the_schema(empty_db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    database = db.Database(empty_db_url)
    database.migrate()
    database.migrate()  # a second run is a no-op
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.METADATA)
    database.dispose()
    assert diff == []
