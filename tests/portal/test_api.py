"""The JSON API and the catalogue pages, and docs/portal-api.md against the OpenAPI document."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import ocop_provenance as op
from ocop_provenance.trust import verify_policy

from .conftest import PUBLIC, Live
from .world import NOW, World

DOCS = Path(__file__).resolve().parents[2] / "docs" / "portal-api.md"


def test_api_reference_agrees_with_openapi(ready: Live) -> None:
    doc = ready.client.get("/api/v1/openapi.json").json()
    served = {
        (method.upper(), path): (op_["summary"], sorted(int(s) for s in op_["responses"]))
        for path, ops in doc["paths"].items()
        for method, op_ in ops.items()
    }
    text = DOCS.read_text(encoding="utf-8")
    documented = {}
    for m in re.finditer(r"^### (GET|POST|PUT) (\S+)\n\n(.+?)\n.*?^Statuses: ([0-9, ]+)$", text, re.M | re.S):
        method, path, summary, statuses = m.groups()
        documented[(method, path)] = (summary.rstrip("."), sorted(int(s) for s in statuses.split(",")))
    assert documented == served


def test_batch_detail_and_bundle_download(published: Live, world: World) -> None:
    r = published.client.get(f"/api/v1/batches/{world.dried.hex()}")
    assert r.status_code == 200
    d = r.json()
    assert d["producer"] == {
        "id": "htx-nghi-son",
        "name": "HTX Đông trùng hạ thảo Nghi Sơn",
        "role": "producer",
        "admin_code": "38",
        "commune": "Nghi Sơn",
        "province": "Thanh Hóa",
    }
    assert d["declared_producer"]["name"] == "HTX Đông trùng hạ thảo Nghi Sơn"
    assert [s["step"] for s in d["steps"]] == [
        "genesis",
        "commissioning",
        "ocop:drying",
        "inspecting",
        "packing",
        "shipping",
    ]
    lab = d["steps"][3]
    assert lab["signer"]["name"] == "Phòng thử nghiệm Thanh Hóa"
    assert lab["data"] == {"moisture_pct": "11.8", "result": "Đạt"}
    assert lab["attachments"][0]["url"] is None
    assert d["steps"][2]["inputs"][0]["batch_id"] == world.fresh.hex()
    assert d["back"][0]["product"] == "Đông trùng hạ thảo tươi"
    assert d["links"]["page"] == f"{PUBLIC}/batches/{world.dried.hex()}"
    fresh = published.client.get(f"/api/v1/batches/{world.fresh.hex()}").json()
    assert fresh["forward"][0]["batch_id"] == world.dried.hex()

    r = published.client.get(f"/api/v1/batches/{world.dried.hex()}/bundle")
    assert r.status_code == 200
    trust = op.verify_trust_list(world.trust_v1, world.pin, now=NOW)
    summary = op.verify_bundle(io.BytesIO(r.content), op.VerifyOptions(keys=trust, now=NOW), root=world.dried)
    assert [c.count for c in summary.chains] == [6, 2]
    assert r.content == world.bundle()  # the same bytes the ledger exports
    assert published.client.get(f"/api/v1/batches/{'00' * 32}").status_code == 404
    assert published.client.get("/api/v1/batches/zz").status_code == 404


def test_material_for_an_independent_verifier(published: Live, world: World) -> None:
    seal = world.seal()
    r = published.client.get(f"/api/v1/batches/{world.dried.hex()}/material", params={"seal": seal})
    assert r.status_code == 200
    m = r.json()
    assert base64.b64decode(m["trust_list"]) == world.trust_v1
    assert base64.b64decode(m["policy"]) == world.policy
    assert m["seal"] == seal
    trust = op.verify_trust_list(base64.b64decode(m["trust_list"]), world.pin, now=NOW)
    policy = verify_policy(base64.b64decode(m["policy"]), trust, now=NOW)
    options = op.VerifyOptions(keys=trust, now=NOW)
    result = op.verify_seal(seal, options, bundle=base64.b64decode(m["bundle"]), policy=policy)
    assert result.code == "SEAL_OK"
    assert result.signer is not None
    assert result.signer.name == "HTX Đông trùng hạ thảo Nghi Sơn"


def test_search_with_and_without_diacritics(published: Live) -> None:
    for q in ("Đông trùng", "dong trung", "DONG TRUNG HA THAO SAY", "nghi son", "thanh hoa", "08931234567897", "L2411"):
        r = published.client.get("/api/v1/batches", params={"q": q})
        assert r.status_code == 200
        assert "Đông trùng hạ thảo sấy khô" in [b["product"] for b in r.json()], q
    assert published.client.get("/api/v1/batches", params={"q": "mật ong"}).json() == []
    assert published.client.get("/api/v1/batches", params={"q": "100%_"}).json() == []
    r = published.client.get("/api/v1/batches", params={"gtin": "8931234567897", "lot": "L2411-01"})
    assert [b["lot"] for b in r.json()] == ["L2411-01"]
    assert r.json()[0]["producer"]["name"] == "HTX Đông trùng hạ thảo Nghi Sơn"
    page = published.client.get("/", params={"q": "dong trung tuoi"})
    assert page.status_code == 200
    assert "Đông trùng hạ thảo tươi" in page.text
    assert "Đông trùng hạ thảo sấy khô" not in page.text


def test_products_and_producers(published: Live) -> None:
    products = published.client.get("/api/v1/products").json()
    assert {p["name"] for p in products} == {"Đông trùng hạ thảo sấy khô", "Đông trùng hạ thảo tươi"}
    producers = published.client.get("/api/v1/producers").json()
    assert [(p["id"], p["batches"]) for p in producers] == [("htx-nghi-son", 2)]
    page = published.client.get("/producers/htx-nghi-son", params={"lang": "en"})
    assert page.status_code == 200
    assert "HTX Đông trùng hạ thảo Nghi Sơn" in page.text
    assert "from the provincial trust list" in page.text
    assert published.client.get("/producers/nobody").status_code == 404
    assert published.client.get("/producers").status_code == 200


def test_seal_verification_api(published: Live, world: World) -> None:
    r = published.client.get("/api/v1/seals/verify", params={"url": world.seal()})
    assert (r.status_code, r.json()["ok"]) == (200, True)
    verification = r.json()["verification"]
    assert verification["schema"] == "ocop-seal-verification/2"
    # The sealer as the trust list names it, and what the verification established.
    assert verification["signer"]["name"] == "HTX Đông trùng hạ thảo Nghi Sơn"
    assert verification["signer"]["role"] == "producer"
    assert {"signature", "signer-trusted", "signer-role", "gtin-owner", "chain"} <= set(verification["checked"])
    assert verification["not_checked"] == []
    r = published.client.get("/api/v1/seals/verify", params={"url": "https://elsewhere.example/01/x"})
    assert (r.status_code, r.json()["code"]) == (422, "E_OTHER_RESOLVER")


def test_resolver_description(ready: Live) -> None:
    r = ready.client.get("/.well-known/gs1resolver")
    assert r.json()["resolverRoot"] == PUBLIC
    assert r.json()["supportedPrimaryKeys"] == ["01"]
