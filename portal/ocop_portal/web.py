"""The HTML side and the resolver: the catalogue, producer and batch pages, and the Digital Link URLs.

A Digital Link URL answers by content negotiation, as a GS1-Conformant resolver does: ``text/html`` (a phone's
browser) gets the consumer page; ``application/linkset+json`` (or ``?linkType=all``) gets the linkset; any other
``?linkType=gs1:X`` redirects (307) to that link. A failure is never answered with 200: a malformed code is 400, a
batch not published is 404, a seal that does not verify is 422 (the page says why).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from . import i18n, queries
from .app import Portal
from .resolver import GS1_VOC, LINK_TYPES, Resolved, linkset

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_LINKSET = "application/linkset+json"


def _portal(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def _wants_linkset(accept: str | None) -> bool:
    """True when the client prefers a linkset (or plain JSON) to HTML."""
    best_html, best_json = -1.0, -1.0
    for item in (accept or "").split(","):
        media, _, params = item.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.strip().lower()
        if media in (_LINKSET, "application/json"):
            best_json = max(best_json, q)
        elif media in ("text/html", "application/xhtml+xml", "text/*", "*/*"):
            best_html = max(best_html, q)
    return best_json > 0 and best_json > best_html


def _problem(resolved: Resolved) -> JSONResponse:
    v = resolved.verdict
    body = {"type": "about:blank", "title": v.message, "status": v.status, "code": v.code, "detail": v.detail}
    return JSONResponse(body, status_code=v.status, media_type="application/problem+json")


@router.get("/")
def catalogue(request: Request, q: str | None = None, page: int = 1) -> Response:
    portal = _portal(request)
    page = max(1, min(page, 1000))
    with portal.db.read() as conn:
        rows = queries.catalogue(conn, q, limit=50, offset=(page - 1) * 50)
    return portal.render(request, "catalogue.html", rows=rows, q=q or "", page=page)


@router.get("/producers")
def producer_list(request: Request, q: str | None = None) -> Response:
    portal = _portal(request)
    with portal.db.read() as conn:
        rows = queries.producers(conn, q)
    return portal.render(request, "producers.html", rows=rows, q=q or "")


@router.get("/producers/{participant_id}")
def producer(request: Request, participant_id: str) -> Response:
    portal = _portal(request)
    with portal.db.read() as conn:
        who = queries.participant_row(conn, participant_id)
        rows = queries.participant_batches(conn, participant_id) if who is not None else []
    if who is None:
        return portal.render(request, "error.html", status=404, code="E_NOT_FOUND")
    return portal.render(request, "producer.html", who=who, rows=rows)


@router.get("/batches/{batch_id}")
def batch(request: Request, batch_id: str) -> Response:
    portal = _portal(request)
    try:
        raw_id = bytes.fromhex(batch_id)
    except ValueError:
        raw_id = b""
    view = portal.resolver.batch_view(raw_id, portal.registry.state()) if len(raw_id) == 32 else None
    if view is None:
        return portal.render(request, "error.html", status=404, code="E_NOT_FOUND")
    return portal.render(request, "product.html", view=view, verdict=None, seal_url=None)


@router.get("/files/{sha256}")
def attachment(request: Request, sha256: str) -> Response:
    portal = _portal(request)
    try:
        digest = bytes.fromhex(sha256)
    except ValueError:
        digest = b""
    with portal.db.read() as conn:
        content = queries.file_content(conn, digest) if len(digest) == 32 else None
    if content is None:
        return Response(status_code=404)
    # Served as a download, never rendered on this origin (an attachment is the producer's content).
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "content-disposition": f'attachment; filename="{sha256[:16]}"',
            "content-security-policy": "sandbox; default-src 'none'",
            "cache-control": "public, max-age=31536000, immutable",
        },
    )


@router.get("/static/{digest}/{rel:path}")
def static_hashed(request: Request, digest: str, rel: str) -> Response:
    if len(digest) == 12 and all(c in "0123456789abcdef" for c in digest):
        return _portal(request).static_response(rel, digest)
    return _portal(request).static_response(f"{digest}/{rel}", None)


@router.get("/static/{rel:path}")
def static_plain(request: Request, rel: str) -> Response:
    return _portal(request).static_response(rel, None)


@router.get("/sw.js")
def service_worker(request: Request) -> Response:
    """The consumer page's service worker, at the root so that its scope covers the product pages."""
    return Response(
        _portal(request).service_worker,
        media_type="text/javascript; charset=utf-8",
        headers={"cache-control": "no-cache", "service-worker-allowed": "/"},
    )


@router.get("/.well-known/gs1resolver")
def resolver_description(request: Request) -> JSONResponse:
    public = _portal(request).settings.public_url
    return JSONResponse(
        {
            "name": "OCOP origin portal",
            "resolverRoot": public,
            "supportedPrimaryKeys": ["01"],
            "supportedLinkType": [{"namespace": GS1_VOC, "prefix": "gs1:"}],
            "linkTypeDefaultCanBeLinkset": True,
            "linkTypeDefaultCanBeAll": True,
            "supportedContextValuesEnumerated": [],
        }
    )


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A Digital Link answer as sent, kept for ``Settings.page_cache_seconds`` (see :func:`digital_link`)."""

    expires: float
    trust_id: bytes
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    scans: tuple[bytes, bytes] | None  # the page around its look-up count (a serialised unit's page)
    scan_link: str | None


_SCANS = re.compile(rb"<!--scans-->.*?<!--/scans-->", re.S)
#: Sent by the page's service worker when it keeps a copy for offline use: not a look-up, so not counted.
OFFLINE_COPY = "x-ocop-offline-copy"


async def digital_link(request: Request) -> Response:
    """Answer a Digital Link URL (see the module docstring).

    An answer is kept for ``Settings.page_cache_seconds`` and served again, without verifying or rendering, to
    the same URL asked in the same way (HTML or linkset, language) while the trust list is unchanged; a serialised
    unit's look-up is counted, and its count rendered, on every request (but the copy the page's service worker
    keeps, marked with :data:`OFFLINE_COPY`).
    """
    portal = _portal(request)
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    path = raw_path.decode("ascii", "replace").split("?", 1)[0]
    query = request.query_params
    s, link_type = query.get("s"), query.get("linkType")
    if len(path) > 2048 or (s is not None and len(s) > 400) or (link_type is not None and len(link_type) > 200):
        return JSONResponse({"code": "E_DL_SYNTAX", "title": "too long", "status": 400}, status_code=400)
    lang = i18n.choose(query.get("lang"), request.headers.get("accept-language"))
    counted = request.method == "GET" and OFFLINE_COPY not in request.headers
    wants = link_type or ("all" if _wants_linkset(request.headers.get("accept")) else None)
    key = (path, s, wants, lang)
    state = portal.registry.fresh_state()
    cached = portal.answers.get(key)
    if (
        cached is not None
        and state is not None
        and cached.trust_id == state.trust_id
        and time.monotonic() < cached.expires
    ):
        body = cached.body
        if cached.scans is not None and cached.scan_link is not None:
            scans = (0, datetime.min)
            if counted:
                scans = await run_in_threadpool(portal.registry.count_scan, cached.scan_link)
            fragment = portal.fragment(lang, "_scans.html", verdict={"scans": scans})
            body = cached.scans[0] + fragment.encode() + cached.scans[1] if counted else body
        return Response(body, status_code=cached.status, headers=dict(cached.headers))
    response, resolved = await run_in_threadpool(_answer, portal, request, path, s, wants, counted)
    verdict = resolved.verdict
    serial = verdict.statement.link().path if verdict.ok and verdict.statement and verdict.statement.serial else None
    if portal.settings.page_cache_seconds > 0 and counted:
        body = bytes(response.body)
        split = _SCANS.search(body) if serial is not None else None
        portal.answers.put(
            key,
            CachedAnswer(
                expires=time.monotonic() + portal.settings.page_cache_seconds,
                trust_id=portal.registry.state().trust_id,
                status=response.status_code,
                headers=tuple((k, v) for k, v in response.headers.items() if k != "content-length"),
                body=body,
                scans=None if split is None else (body[: split.start()], body[split.end() :]),
                scan_link=serial,
            ),
        )
    return response


# A plain Starlette route (no parameter models to solve): the resolver is the hottest path, and it is described
# in docs/portal-api.md rather than in the OpenAPI document.
for _prefix in ("/01/", "/ocop/"):
    router.routes.append(Route(_prefix + "{rest:path}", digital_link, methods=["GET", "HEAD"]))


def _answer(  # noqa: PLR0917 - one private call site
    portal: Portal, request: Request, path: str, s: str | None, wants: str | None, counted: bool
) -> tuple[Response, Resolved]:
    resolved = portal.resolver.resolve(path, s, count=counted)
    verdict = resolved.verdict
    view = verdict.batch
    headers = {"vary": "Accept, Accept-Language"}
    if wants is not None:
        if verdict.status != 200 or view is None or resolved.anchor is None:
            return _problem(resolved), resolved
        title = f"{view.product.name} — {view.product.lot}"
        links = linkset(portal.settings.public_url, resolved.anchor, resolved.seal_url, view, title)
        if wants in ("all", "linkset"):
            response = Response(
                json.dumps(links, ensure_ascii=False),
                media_type=_LINKSET,
                headers={**headers, "link": f'<{resolved.anchor}>; rel="describedby"'},
            )
            return response, resolved
        name = wants.removeprefix("gs1:").removeprefix(GS1_VOC)
        targets: list[dict[str, Any]] = links["linkset"][0].get(f"{GS1_VOC}{name}", [])
        if name not in LINK_TYPES or not targets:
            problem = {"type": "about:blank", "title": "no such link type for this item", "status": 404}
            return (
                JSONResponse(problem | {"code": "E_LINK_TYPE"}, status_code=404, media_type="application/problem+json"),
                resolved,
            )
        return RedirectResponse(targets[0]["href"], status_code=307, headers=headers), resolved
    page = portal.render(
        request,
        "product.html" if view is not None else "error.html",
        status=verdict.status,
        view=view,
        verdict=verdict,
        seal_url=resolved.seal_url,
        code=verdict.code,
    )
    if resolved.anchor is not None:
        linkset_url = f"{resolved.seal_url or resolved.anchor}{'&' if resolved.seal_url else '?'}linkType=all"
        page.headers["link"] = f'<{linkset_url}>; rel="linkset"; type="{_LINKSET}"'
    return page, resolved
