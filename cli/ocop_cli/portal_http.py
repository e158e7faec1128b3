"""Reading a portal's public endpoints (stdlib ``urllib``): bytes, JSON objects, proofs; every failure is E_PORTAL."""

from __future__ import annotations

import base64
import binascii
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from .context import CliError
from .render.words import t

__all__ = ["TIMEOUT", "get_bytes", "get_json", "proof_hashes"]

TIMEOUT = 60.0
_MAX_ANSWER = 64 << 20


def get_bytes(url: str, limit: int = _MAX_ANSWER) -> bytes:
    """GET ``url`` and return at most ``limit`` bytes of its answer.

    Raises:
        CliError: Not reachable, an HTTP error, or too large (``E_PORTAL``, exit 3).
    """
    request = urllib.request.Request(url, headers={"accept": "*/*"})  # noqa: S310 - http(s) checked by the caller
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            data: bytes = response.read(limit + 1)
    except urllib.error.HTTPError as e:
        with e:
            body = e.read(4096).decode("utf-8", errors="replace")
        raise CliError(t("the portal answered HTTP {status} to {url}: {body}", status=e.code, url=url,
                         body=body.strip()[:300]), code="E_PORTAL") from e  # fmt: skip
    except (urllib.error.URLError, OSError) as e:
        raise CliError(t("cannot reach the portal at {url}: {reason}", url=url, reason=getattr(e, "reason", e)),
                       code="E_PORTAL") from e  # fmt: skip
    if len(data) > limit:
        raise CliError(t("the portal's answer to {url} is too large", url=url), code="E_PORTAL")
    return data


def get_json(url: str) -> Mapping[str, Any]:
    """GET ``url`` and return its JSON object (``E_PORTAL`` otherwise)."""
    try:
        doc = json.loads(get_bytes(url))
    except ValueError as e:
        raise CliError(t("the portal did not answer JSON to {url}", url=url), code="E_PORTAL") from e
    if not isinstance(doc, dict):
        raise CliError(t("the portal did not answer a JSON object to {url}", url=url), code="E_PORTAL")
    return doc


def proof_hashes(values: object) -> list[bytes]:
    """The hashes of a proof in a JSON answer (base64 strings; ``E_PORTAL`` otherwise)."""
    if not isinstance(values, list):
        raise CliError(t("the portal answered a malformed proof"), code="E_PORTAL")
    try:
        hashes = [base64.b64decode(str(v), validate=True) for v in values]
    except binascii.Error as e:
        raise CliError(t("the portal answered a malformed proof"), code="E_PORTAL") from e
    return hashes
