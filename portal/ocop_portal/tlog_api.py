"""The transparency log's endpoints (``/tlog``): checkpoint, key, leaves, proofs and receipts (docs/portal.md).

The checkpoint is a C2SP signed note served as text, with the cosignatures of the witnesses it was pushed to. Leaves
and proofs are JSON with base64 hashes; a receipt is the CBOR of docs/format.md §18.5 (``application/cbor``) or
the same content as a C2SP tlog-proof (``?format=tlog-proof``).
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from .app import Portal
from .tlog import MAX_LEAVES_PAGE, LogRequestError

__all__ = ["router"]

router = APIRouter(prefix="/tlog")

_MAX = (1 << 63) - 1
_NO_STORE = {"cache-control": "no-cache"}


def _codes(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"description": "A refusal: JSON with a stable code and a message"} for status in statuses}


def _portal(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def _refuse(error: LogRequestError) -> JSONResponse:
    return JSONResponse({"code": error.code, "message": error.message}, status_code=error.status)


def _b64(hashes: tuple[bytes, ...] | list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode("ascii") for h in hashes]


@router.get(
    "/checkpoint", responses=_codes(404), summary="The log's latest signed checkpoint, with witness cosignatures"
)
def checkpoint(request: Request) -> Response:
    """The latest checkpoint as a C2SP signed note (``text/plain``), cosigned by the witnesses that answered."""
    try:
        note = _portal(request).registry.log.checkpoint()
    except LogRequestError as e:
        return _refuse(e)
    return PlainTextResponse(note, headers=_NO_STORE)


@router.get("/key", responses=_codes(404), summary="The log's verifier key (signed-note vkey)")
def key(request: Request) -> Response:
    """The log's note verifier key ``<origin>+<key hash>+<base64>``: a client pins it, or the PEM key it names."""
    try:
        vkey = _portal(request).registry.log.note_key.to_vkey()
    except LogRequestError as e:
        return _refuse(e)
    return PlainTextResponse(vkey + "\n")


@router.get("/leaves", responses=_codes(400, 404), summary="Leaves of the log, from start to end (exclusive)")
def leaves(
    request: Request, start: Annotated[int, Query(ge=0, le=_MAX)], end: Annotated[int, Query(ge=1, le=_MAX)]
) -> Any:
    """The leaves' bytes in base64, at most 1000 per request (``end`` is lowered to that)."""
    try:
        raws = _portal(request).registry.log.leaves(start, end)
    except LogRequestError as e:
        return _refuse(e)
    return {"start": start, "leaves": _b64(raws), "max": MAX_LEAVES_PAGE}


@router.get("/inclusion", responses=_codes(400, 404), summary="An inclusion proof of a leaf in a signed tree size")
def inclusion(
    request: Request, index: Annotated[int, Query(ge=0, le=_MAX)], size: Annotated[int, Query(ge=1, le=_MAX)]
) -> Any:
    """The RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    try:
        proof = _portal(request).registry.log.inclusion(index, size)
    except LogRequestError as e:
        return _refuse(e)
    return {"index": index, "size": size, "proof": _b64(proof)}


@router.get("/consistency", responses=_codes(400, 404), summary="A consistency proof between two signed tree sizes")
def consistency(
    request: Request, old: Annotated[int, Query(ge=1, le=_MAX)], new: Annotated[int, Query(ge=1, le=_MAX)]
) -> Any:
    """The RFC 9162 consistency proof from the tree of ``old`` leaves to the tree of ``new`` leaves."""
    try:
        proof = _portal(request).registry.log.consistency(old, new)
    except LogRequestError as e:
        return _refuse(e)
    return {"old": old, "new": new, "proof": _b64(proof)}


@router.get("/receipts/{batch_id}", responses=_codes(404), summary="The receipt of a batch's logged head")
async def receipt(
    request: Request,
    batch_id: str,
    seq: Annotated[int | None, Query(ge=0, le=_MAX)] = None,
    format: Annotated[str, Query(pattern="^(cbor|tlog-proof)$")] = "cbor",  # noqa: A002 - the query's name
) -> Response:
    """The receipt (leaf, inclusion proof, cosigned checkpoint) of the batch's newest logged head, or at ``seq``."""
    portal = _portal(request)
    log = portal.registry.log
    if not log.enabled:
        return _refuse(LogRequestError("this portal keeps no transparency log", code="E_NO_LOG", status=404))
    try:
        raw = bytes.fromhex(batch_id)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        return _refuse(LogRequestError("not a batch id (64 hex digits)", code="E_NOT_FOUND", status=404))

    def find() -> Any:
        with portal.db.read() as conn:
            return log.receipt_for(conn, raw, seq)

    found = await run_in_threadpool(find)
    if found is None:
        return _refuse(LogRequestError("the log holds no head of this batch", code="E_NOT_FOUND", status=404))
    if format == "tlog-proof":
        return PlainTextResponse(found.to_tlog_proof())
    return Response(found.to_bytes(), media_type="application/cbor")
