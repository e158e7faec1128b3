"""``ocop publish``: export a batch's bundle and upload it to an origin portal (docs/portal.md).

An HTTP client only (stdlib ``urllib``): the portal decides. It verifies the bundle against its trust list and
policy and answers what it accepted (new, extended or unchanged batches) or why it refused (a fork, a rollback, a
signer it does not trust, a policy finding). Attachment files named with ``--attach`` are uploaded afterwards; the
portal keeps only files whose SHA-256 and size a published event names.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from .context import CliError, Context, OcopCommand, pass_context
from .inputs import resolve_batch
from .ledger import open_ledger
from .logverify import check_publication
from .params import json_option
from .receipts import store_receipts
from .render import Output
from .render.portal import Published
from .trust import resolve_public_key

__all__ = ["command", "post", "upload_bundle", "upload_file"]

TIMEOUT = 600.0


def _answer(response: Any) -> dict[str, Any]:
    body = response.read(4 << 20)
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        doc = None
    if not isinstance(doc, dict):
        raise CliError(f"the portal answered HTTP {response.status} without a JSON document", code="E_PORTAL")
    doc["http_status"] = response.status
    return doc


def post(url: str, body: Any, *, method: str = "POST", length: int | None = None) -> dict[str, Any]:
    """Send ``body`` (bytes or a binary file) and return the portal's JSON answer, refusals included.

    Raises:
        CliError: The portal cannot be reached or does not answer JSON (``E_PORTAL``, exit 3).
    """
    headers = {"content-type": "application/octet-stream", "accept": "application/json"}
    if length is not None:
        headers["content-length"] = str(length)
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - scheme checked by caller
            return _answer(response)
    except urllib.error.HTTPError as e:
        with e:
            return _answer(e)
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise CliError(f"cannot reach the portal at {url}: {reason}", code="E_PORTAL") from e


def _base(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("the portal's URL starts with https:// (or http://)", param_hint="--to")
    return url.rstrip("/")


def upload_bundle(base: str, bundle: Path) -> dict[str, Any]:
    """Upload a bundle file (streamed) to ``base``/api/v1/bundles; return the portal's answer."""
    with bundle.open("rb") as f:
        return post(f"{base}/api/v1/bundles", f, length=bundle.stat().st_size)


def upload_file(base: str, path: Path) -> dict[str, Any]:
    """Upload an attachment's file to ``base``/api/v1/files/{sha256}; return the portal's answer."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    answer = post(f"{base}/api/v1/files/{sha}", data, method="PUT")
    return {"file": str(path), "sha256": sha, **answer}


@click.command("publish", cls=OcopCommand)
@click.argument("batch")
@click.option("--to", "to", required=True, metavar="URL", help="The portal's base URL (https://id.example.vn).")
@click.option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also publish this attachment's file (the portal keeps it only if a published event names its hash).",
)
@click.option(
    "--log-key",
    default=None,
    metavar="PEM|NAME",
    help="The portal's log public key: check its receipts, and that its log extends the checkpoint seen on the "
    "last publication (kept in $OCOP_HOME/tlog/).",
)
@json_option
@pass_context
def command(ctx: Context, batch: str, to: str, attach: tuple[Path, ...], log_key: str | None) -> None:
    """Export BATCH (id or unique hex prefix) with its lineage and publish it to a portal.

    \b
    The portal accepts the bundle only if it verifies against its trust list (and the
    policy for that kind of product). Publishing the same or a longer chain again is
    safe; a fork or a shorter chain is refused. Exit 0 when accepted, 1 when refused.
    When the portal keeps a transparency log, its receipts (proof that each head
    is logged) are kept in receipts/ next to the ledger, for ocop export --receipts;
    with --log-key they are checked, and the log must extend what it showed before.
    """
    base = _base(to)
    log_public = None if log_key is None else resolve_public_key(ctx, log_key)
    with tempfile.TemporaryDirectory(prefix="ocop-publish-") as tmp:
        bundle = Path(tmp) / "batch.ocop"
        with open_ledger(ctx, create=False) as ledger:
            batch_id = resolve_batch(ctx, ledger, batch)
            with bundle.open("wb") as f:
                header = ledger.export_bundle(batch_id, f)
        answer = upload_bundle(base, bundle)
    files = [upload_file(base, p) for p in attach] if answer.get("accepted") else []
    stored, problems = store_receipts(ctx, header, answer) if answer.get("accepted") else ([], [])
    seen = None
    if log_public is not None and answer.get("accepted"):
        seen = check_publication(ctx, base, header, answer, log_public)
    Output(ctx).emit(
        Published(
            portal=base,
            batch_id=batch_id,
            events=header.total_events,
            answer=answer,
            files=files,
            receipts=tuple(str(p) for p in stored),
            receipt_problems=tuple(problems),
            log=seen,
        )
    )
