"""The JSON API (``/api/v1``): publishing, trust lists and policies, batches, products, producers, seals.

Uploads are streamed to a private temporary file with a size cap (HTTP 413 beyond it) and a wall-time budget, then
verified and stored by the registry in a worker thread; a refused upload leaves the registry unchanged.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import ocop_provenance as op
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from ocop_provenance.gs1 import normalise_gtin
from starlette.concurrency import run_in_threadpool

from . import queries
from .app import Portal
from .registry import PublishError
from .schemas import (
    BatchDetail,
    BatchSummary,
    DocumentInstalled,
    Material,
    ParticipantOut,
    ProducerOut,
    PublishAccepted,
    Refusal,
    SealVerdict,
    batch_detail,
    participant_out,
)
from .trust import TrustState, policy_for

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")


def _refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Refusal} for status in statuses}


def _portal(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def _hex32(text: str) -> bytes | None:
    """32 bytes from 64 hex digits, else None."""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


def _refuse(error: PublishError) -> JSONResponse:
    return JSONResponse(error.to_dict(), status_code=error.status)


@contextlib.contextmanager
def _upload_file() -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix="ocop-upload-", suffix=".ocop")
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


async def _receive(request: Request, path: Path, limit: int, deadline: float) -> None:
    """Stream the request body into ``path``, refusing more than ``limit`` bytes or a slow upload."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PublishError(f"the upload is larger than {limit} bytes", code="E_TOO_LARGE", status=413)
    size = 0
    with path.open("wb") as f:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PublishError(f"the upload is larger than {limit} bytes", code="E_TOO_LARGE", status=413)
            if time.monotonic() > deadline:
                raise PublishError("the upload took longer than its budget", code="E_TIMEOUT", status=408)
            f.write(chunk)


async def _small_body(request: Request, limit: int) -> bytes:
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PublishError(f"the upload is larger than {limit} bytes", code="E_TOO_LARGE", status=413)
        parts.append(chunk)
    return b"".join(parts)


@router.post(
    "/bundles",
    response_model=PublishAccepted,
    status_code=201,
    responses=_refusals(408, 409, 413, 422, 503) | {200: {"model": PublishAccepted, "description": "Nothing new"}},
    summary="Publish a bundle (the body is the bundle's bytes)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def publish(request: Request) -> Any:
    """Verify a bundle against the current trust list (and policy) and store what it adds.

    When the portal keeps a transparency log, each moved head is logged in the same transaction and the answer's
    ``log.receipts`` holds a receipt (docs/format.md §18.5) for every batch of the bundle. Re-publishing the same
    chain changes nothing; a longer one extends it; a fork is refused (409, ``E_FORK``) and
    its proof kept and shown on the batch's page; a root batch shorter than the one held is refused (409,
    ``E_ROLLBACK``). Anything that does not verify is 422 with the library's code.
    """
    portal = _portal(request)
    started = time.monotonic()
    limits = portal.settings.limits
    with _upload_file() as path:
        try:
            await _receive(request, path, limits.max_bundle_bytes, started + limits.publish_seconds)
            result = await run_in_threadpool(portal.registry.publish, path, started=started)
        except PublishError as e:
            return _refuse(e)
    body = result.to_dict() | {"page": f"{portal.settings.public_url}/batches/{result.root.hex()}"}
    log = portal.registry.log
    if log.enabled:
        # Committed: push the new checkpoint to the witnesses, then hand out receipts carrying their cosignatures.
        outcomes = await run_in_threadpool(log.witness)
        receipts = await run_in_threadpool(log.receipts, [b.batch_id for b in result.batches])
        body["log"] = {
            "origin": log.origin,
            "receipts": [
                {"batch_id": batch_id.hex(), "receipt": base64.b64encode(r.to_bytes()).decode("ascii")}
                for batch_id, r in receipts.items()
            ],
            "witnesses": [
                {"url": o.url, "status": o.status, "cosigned": o.cosigned, "message": o.message} for o in outcomes
            ],
        }
    status = 201 if any(b.status != "unchanged" for b in result.batches) else 200
    return JSONResponse(body, status_code=status)


@router.put(
    "/files/{sha256}", status_code=201, responses=_refusals(404, 413, 422), summary="Publish an attachment's file"
)
async def put_file(request: Request, sha256: str) -> Any:
    """Store the file of an attachment that a published event names (by SHA-256 and size); others are refused."""
    portal = _portal(request)
    digest = _hex32(sha256)
    if digest is None:
        return _refuse(PublishError("not a SHA-256 in hex", code="E_HASH", status=422))
    try:
        content = await _small_body(request, portal.settings.limits.max_attachment_bytes)
        new = await run_in_threadpool(portal.registry.store_file, digest, content)
    except PublishError as e:
        return _refuse(e)
    return JSONResponse({"stored": new, "sha256": sha256}, status_code=201 if new else 200)


@router.get("/trust-list", responses=_refusals(404), summary="The current signed trust list (its bytes)")
def get_trust_list(request: Request) -> Response:
    """The signed trust list the portal verifies against (``application/cbor``)."""
    state = _portal(request).registry.state()
    if state.trust is None:
        return _refuse(PublishError("no trust list yet", code="E_NO_TRUST_LIST", status=404))
    return Response(state.trust.raw, media_type="application/cbor")


@router.put(
    "/trust-list",
    response_model=DocumentInstalled,
    responses=_refusals(409, 413, 422),
    summary="Replace the trust list",
)
async def put_trust_list(request: Request) -> Any:
    """Install a newer signed trust list; it must verify against the one held (or the pinned authority keys)."""
    portal = _portal(request)
    try:
        data = await _small_body(request, portal.settings.limits.max_document_bytes)
        trust, new = await run_in_threadpool(portal.registry.install_trust_list, data)
    except PublishError as e:
        return _refuse(e)
    return DocumentInstalled(
        installed=new, kind="trust-list", version=trust.version, id=trust.object_id.hex(), issuer=trust.issuer
    )


@router.get("/policies", summary="The policies in force")
def get_policies(request: Request) -> list[dict[str, Any]]:
    """Every policy in force, as JSON (its signed bytes at ``/api/v1/policies/{kind}``)."""
    return [p.to_dict() for _, p in sorted(_portal(request).registry.state().policies.items())]


@router.get("/policies/{kind:path}", responses=_refusals(404), summary="A policy's signed bytes")
def get_policy(request: Request, kind: str) -> Response:
    """The signed policy of a kind (``application/cbor``)."""
    policy = _portal(request).registry.state().policies.get(kind)
    if policy is None:
        return _refuse(PublishError("no such policy", code="E_NOT_FOUND", status=404))
    return Response(policy.policy.raw, media_type="application/cbor")


@router.put(
    "/policies/{kind:path}",
    response_model=DocumentInstalled,
    responses=_refusals(409, 413, 422),
    summary="Install a policy",
)
async def put_policy(request: Request, kind: str) -> Any:
    """Install a signed policy for a kind (its name); it must be signed by the trust list's authority."""
    portal = _portal(request)
    try:
        data = await _small_body(request, portal.settings.limits.max_document_bytes)
        policy, new = await run_in_threadpool(portal.registry.install_policy, kind, data)
    except PublishError as e:
        return _refuse(e)
    return DocumentInstalled(
        installed=new, kind="policy", version=policy.version, id=policy.object_id.hex(), name=policy.name
    )


def _summary(public: str, r: Any, state: TrustState) -> BatchSummary:
    producer = None
    if r.participant_id is not None:
        # The index row names the participant; where it is registered comes from the list itself.
        listed = state.trust.lookup(bytes(r.genesis_key_id)) if state.trust is not None else None
        producer = ParticipantOut(
            id=r.participant_id,
            name=r.participant_name,
            role=r.participant_role,
            admin_code=r.participant_admin_code,
            commune=None if listed is None else listed[0].commune,
            province=None if listed is None else listed[0].province,
        )
    batch_id = bytes(r.batch_id).hex()
    return BatchSummary(
        batch_id=batch_id,
        product=r.product_name,
        lot=r.lot,
        gtin=r.gtin,
        stars=r.stars,
        producer=producer,
        declared_producer=r.producer_name,
        declared_province=r.producer_province,
        events=int(r.head_seq) + 1,
        last_published=r.last_published,
        page=f"{public}/batches/{batch_id}",
    )


@router.get("/batches", response_model=list[BatchSummary], summary="Search published batches")
def list_batches(  # noqa: PLR0917 - FastAPI passes query parameters as arguments
    request: Request,
    q: Annotated[str | None, Query(max_length=200, description="Matches with or without diacritics")] = None,
    gtin: Annotated[str | None, Query(pattern="^[0-9]{8,14}$")] = None,
    lot: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """Published batches, newest first: by search text, or by GTIN and lot (an online shop's listing)."""
    portal = _portal(request)
    with portal.db.read() as conn:
        if gtin is not None:
            try:
                full = normalise_gtin(gtin)
            except op.FormatError:
                return []
            rows = list(queries.by_gtin(conn, full, lot, limit=limit, offset=offset))
        else:
            rows = list(queries.catalogue(conn, q, limit=limit, offset=offset))
    state = portal.registry.state()
    return [_summary(portal.settings.public_url, r, state) for r in rows]


def _view(request: Request, batch_id: str) -> Any:
    portal = _portal(request)
    try:
        raw = bytes.fromhex(batch_id)
    except ValueError:
        return None
    return portal.resolver.batch_view(raw, portal.registry.state()) if len(raw) == 32 else None


_NOT_FOUND = PublishError("no such batch on this portal", code="E_NOT_FOUND", status=404)


@router.get("/batches/{batch_id}", response_model=BatchDetail, responses=_refusals(404), summary="A published batch")
def get_batch(request: Request, batch_id: str) -> Any:
    """Who made it (from the trust list), what the record says, every step, lineage one step each way, forks."""
    view = _view(request, batch_id)
    if view is None:
        return _refuse(_NOT_FOUND)
    return batch_detail(_portal(request).settings.public_url, view)


@router.get("/batches/{batch_id}/bundle", responses=_refusals(404), summary="Download the batch's bundle")
def get_bundle(request: Request, batch_id: str) -> Response:
    """The bundle of the batch and its lineage as held, for ``ocop verify`` (``application/octet-stream``)."""
    portal = _portal(request)
    try:
        raw = bytes.fromhex(batch_id)
    except ValueError:
        raw = b""
    with portal.db.read() as conn:
        data = queries.export_bundle(conn, raw) if len(raw) == 32 else None
    if data is None:
        return _refuse(_NOT_FOUND)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"content-disposition": f'attachment; filename="{batch_id[:16]}.ocop"'},
    )


@router.get(
    "/batches/{batch_id}/material",
    response_model=Material,
    responses=_refusals(404),
    summary="The raw material for an independent verifier",
)
def get_material(request: Request, batch_id: str, seal: Annotated[str | None, Query(max_length=1400)] = None) -> Any:
    """The raw material for an independent (in-browser) verifier: bundle, trust list and policy as signed."""
    portal = _portal(request)
    view = _view(request, batch_id)
    state = portal.registry.state()
    if view is None or state.trust is None:
        return _refuse(_NOT_FOUND)
    with portal.db.read() as conn:
        bundle = queries.export_bundle(conn, bytes.fromhex(batch_id))
        older = queries.trust_list_raws(conn)[:-1] if portal.settings.authority is not None else []
        receipt = portal.registry.log.receipt_for(conn, bytes.fromhex(batch_id), seq=view.count - 1)
    assert bundle is not None
    policy = policy_for(state.policies, view.product)
    material = Material(
        batch_id=batch_id,
        bundle=base64.b64encode(bundle).decode("ascii"),
        trust_list=base64.b64encode(state.trust.raw).decode("ascii"),
        trust_list_version=state.trust.version,
        policy=None if policy is None else base64.b64encode(policy.policy.raw).decode("ascii"),
        seal=seal,
        intermediates=[base64.b64encode(raw).decode("ascii") for raw in older],
        receipt=None if receipt is None else base64.b64encode(receipt.to_bytes()).decode("ascii"),
    )
    # Revalidated on every use, answered 304 when unchanged: a phone with poor signal (the page's service worker asks
    # the network first) downloads a batch's bundle again only when something in it changed.
    response = JSONResponse(material.model_dump(mode="json"), headers={"cache-control": "no-cache"})
    etag = '"' + hashlib.sha256(bytes(response.body)).hexdigest()[:32] + '"'
    if etag in (request.headers.get("if-none-match") or "").replace("W/", "").split(", "):
        return Response(status_code=304, headers={"etag": etag, "cache-control": "no-cache"})
    response.headers["etag"] = etag
    return response


@router.get("/products", summary="Products: published batches grouped by GTIN (or name) and producer")
def list_products(request: Request, q: Annotated[str | None, Query(max_length=200)] = None) -> list[dict[str, Any]]:
    """One entry per product and producer, with its batches (newest first)."""
    portal = _portal(request)
    with portal.db.read() as conn:
        rows = queries.catalogue(conn, q, limit=1000)
    products: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        key = (r.gtin or r.product_name, r.participant_id or r.producer_name)
        entry = products.setdefault(
            key,
            {
                "name": r.product_name,
                "gtin": r.gtin,
                "stars": r.stars,
                "producer": None
                if r.participant_id is None
                else {"id": r.participant_id, "name": r.participant_name, "role": r.participant_role},
                "batches": [],
            },
        )
        entry["batches"].append({"batch_id": bytes(r.batch_id).hex(), "lot": r.lot})
    return list(products.values())


@router.get("/producers", response_model=list[ProducerOut], summary="Producers (from the trust list)")
def list_producers(request: Request, q: Annotated[str | None, Query(max_length=200)] = None) -> Any:
    """Participants of the current trust list that opened published batches."""
    portal = _portal(request)
    with portal.db.read() as conn:
        rows = queries.producers(conn, q)
    public = portal.settings.public_url
    return [
        ProducerOut(
            id=r.participant_id,
            name=r.name,
            role=r.role,
            admin_code=r.admin_code,
            batches=int(r.batches),
            page=f"{public}/producers/{r.participant_id}",
        )
        for r in rows
    ]


@router.get(
    "/seals/verify",
    response_model=SealVerdict,
    responses={s: {"model": SealVerdict} for s in (400, 404, 422, 503)},
    summary="Verify a seal (a scanned Digital Link URL)",
)
def verify_seal(request: Request, url: Annotated[str, Query(max_length=2048)]) -> Any:
    """The verdict on a sealed URL of this portal, as the consumer page gives it (no look-up is counted)."""
    portal = _portal(request)
    public = portal.settings.public_url
    if not url.startswith(public + "/"):
        other = SealVerdict(
            ok=False,
            code="E_OTHER_RESOLVER",
            status=422,
            message="the URL names another resolver",
            detail=None,
            batch_id=None,
            product=None,
            producer=None,
            verification=None,
            scans=None,
        )
        return JSONResponse(other.model_dump(mode="json"), status_code=422)
    path, _, query = url[len(public) :].partition("?")
    seal = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("s")
    resolved = portal.resolver.resolve(path, seal, count=False)
    v = resolved.verdict
    body = SealVerdict(
        ok=v.ok,
        code=v.code,
        status=v.status,
        message=v.message,
        detail=v.detail,
        batch_id=None if v.batch is None else v.batch.batch_id,
        product=None if v.batch is None else v.batch.product.name,
        producer=None if v.batch is None else participant_out(v.batch.maker),
        verification=None if v.verification is None else v.verification.to_dict(),
        scans=None,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=v.status)


@router.get("/health", summary="Liveness and the trust list in force")
def health(request: Request) -> dict[str, Any]:
    """``ok`` and the current trust list's version (null before one is installed)."""
    state = _portal(request).registry.state()
    return {"ok": True, "trust_list": None if state.trust is None else state.trust.version}
