"""The ASGI application: routes, security headers, static files with hashed URLs, templates per language.

The web tier keeps no state of its own beyond caches derived from the database (decoded events, memoised
verdicts, the trust state re-read every few seconds), so several app servers can share one database.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import i18n
from .db import Database
from .registry import Registry
from .resolver import Resolver
from .settings import Settings
from .views import ROLE_LABELS, SEAL_TEXTS, LruCache

__all__ = ["CSP", "Portal", "create_app"]

#: The consumer page loads nothing from elsewhere, runs no inline script, and cannot be framed. Its module scripts
#: (the in-browser verifier) and its service worker (``/sw.js``, the offline copy) come from the portal itself.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    # Everything public is public to any site (an online shop showing "verified origin"); no cookies exist.
    (b"access-control-allow-origin", b"*"),
]


class SecurityHeaders:
    """Pure ASGI middleware: the security headers on every response, and CORS preflight answers."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap ``app``."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        *_HEADERS,
                        (b"access-control-allow-methods", b"GET, HEAD, POST, PUT, OPTIONS"),
                        (b"access-control-allow-headers", b"content-type, accept, accept-language"),
                        (b"allow", b"GET, HEAD, POST, PUT, OPTIONS"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in _HEADERS if h[0] not in present]
            await send(message)

        await self.app(scope, receive, with_headers)


@dataclass(frozen=True, slots=True)
class StaticFile:
    """A file under ``static/``: its bytes' hash names its long-cached URL."""

    path: Path
    digest: str
    media_type: str


def _static_files() -> dict[str, StaticFile]:
    """Every static file with the hash that names its URL.

    The JavaScript modules under ``js/`` import each other by relative URL (``./seal.js``), so they share one hash:
    that of the whole module tree. A change to any module moves all of them to new URLs together.
    """
    root = Path(str(resources.files("ocop_portal") / "static"))
    found = [p for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    modules = hashlib.sha256()
    for p in found:
        rel = p.relative_to(root).as_posix()
        if rel.startswith("js/"):
            modules.update(rel.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    files: dict[str, StaticFile] = {}
    for p in found:
        rel = p.relative_to(root).as_posix()
        media = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
        if media.startswith("text/") or media in ("application/javascript", "application/json"):
            media += "; charset=utf-8"
        digest = modules.hexdigest() if rel.startswith("js/") else hashlib.sha256(p.read_bytes()).hexdigest()
        files[rel] = StaticFile(p, digest[:12], media)
    return files


def _service_worker(static: dict[str, StaticFile]) -> bytes:
    """``/sw.js``: worker/sw.js after a first line naming this build's static files (kept for offline use).

    Its version is the hash of every static file, so a new build installs a new worker that drops the old copies.
    """
    source = (resources.files("ocop_portal") / "worker" / "sw.js").read_bytes()
    version = hashlib.sha256("".join(f"{rel}:{f.digest};" for rel, f in sorted(static.items())).encode())
    precache = [f"/static/{f.digest}/{rel}" for rel, f in sorted(static.items())]
    config = {"version": version.hexdigest()[:12], "precache": precache}
    return b"const OCOP = " + json.dumps(config).encode() + b";\n" + source


class _CompiledTemplates(jinja2.BytecodeCache):
    """The templates' compiled code, kept for every :class:`Portal` of the process and both of its languages.

    Every environment is made with the same options (:meth:`Portal._environment`), so one compilation serves them
    all; Jinja checks each entry against its template's source checksum before using it.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


class Portal:
    """What the routes share: settings, database, registry, resolver, templates and static files."""

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        """Build the shared objects (the database must be migrated already: ``ocop serve`` does it)."""
        self.settings = settings
        self.db = database or Database(settings.db_url, read_url=settings.read_db_url)
        self.registry = Registry(self.db, settings)
        self.resolver = Resolver(self.registry, memo_size=settings.seal_memo)
        self.static = _static_files()
        self.service_worker = _service_worker(self.static)
        # Digital Link answers as sent (web.digital_link): (path, s, linkType or linkset, language) -> answer.
        self.answers: LruCache[tuple[str, str | None, str | None, str], Any] = LruCache(4096)
        self._envs = {lang: self._environment(lang) for lang in i18n.LANGUAGES}

    def static_url(self, rel: str) -> str:
        """The long-cached URL of a static file (its content hash in the path)."""
        return f"/static/{self.static[rel].digest}/{rel}"

    def _environment(self, lang: str) -> jinja2.Environment:
        settings = self.settings
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("ocop_portal", "templates"),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            bytecode_cache=_COMPILED,
        )
        env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
        env.globals.update(
            lang=lang,
            static=self.static_url,
            public_url=self.settings.public_url,
            seal_texts=SEAL_TEXTS,
            role_labels=ROLE_LABELS,
            # The in-browser check verifies the trust list from these keys (pinned in the page, not fetched).
            authority_keys=[] if settings.authority is None else [k.raw.hex() for k in settings.authority.keys],
            authority_threshold=0 if settings.authority is None else settings.authority.threshold,
            # ... and the log's receipt from this key (the portal's own: the receipt shows the head was logged).
            log_vkey=self.registry.log.note_key.to_vkey() if self.registry.log.enabled else None,
        )
        env.filters["when"] = lambda t: (
            t.strftime("%d/%m/%Y %H:%M")
            + (f" (UTC{t.strftime('%z')[:3]}:{t.strftime('%z')[3:]})" if t.utcoffset() is not None else "")
        )
        env.filters["day"] = lambda t: t.strftime("%d/%m/%Y")
        return env

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Render ``template`` in the request's language."""
        lang = i18n.choose(request.query_params.get("lang"), request.headers.get("accept-language"))
        path = request.url.path
        other = "en" if lang == "vi" else "vi"
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
        switch = path + "?" + urlencode([*query, ("lang", other)], safe=":/")
        html = (
            self._envs[lang].get_template(template).render(request_path=path, switch_url=switch, other=other, **context)
        )
        return HTMLResponse(
            html,
            status_code=status,
            headers={"content-language": lang, "vary": "Accept, Accept-Language"},
        )

    def fragment(self, lang: str, template: str, **context: Any) -> str:
        """Render a template fragment in ``lang``."""
        return self._envs[lang].get_template(template).render(**context)

    def static_response(self, rel: str, digest: str | None) -> Response:
        """Serve a static file: hashed URLs for a year (immutable), plain ones revalidated."""
        f = self.static.get(rel)
        if f is None or (digest is not None and digest != f.digest):
            return Response(status_code=404)
        cache = "public, max-age=31536000, immutable" if digest is not None else "no-cache"
        return Response(f.path.read_bytes(), media_type=f.media_type, headers={"cache-control": cache})


def create_app(settings: Settings, *, database: Database | None = None) -> FastAPI:
    """Build the portal's ASGI application.

    Args:
        settings: The configuration.
        database: An existing :class:`Database` (tests), else one is made from ``settings.db_url``.

    Returns:
        The application; its ``state.portal`` is the :class:`Portal`.
    """
    from . import api, tlog_api, web  # noqa: PLC0415 - the routers import this module's Portal

    portal = Portal(settings, database)
    app = FastAPI(
        title="OCOP origin portal",
        version="1",
        summary="Published OCOP batches, their signed records, and seal verification (GS1 Digital Link).",
        docs_url=None,  # the interactive docs load scripts from a CDN: the API reference is docs/portal-api.md
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.portal = portal
    app.include_router(api.router)
    app.include_router(tlog_api.router)
    app.include_router(web.router)
    app.add_middleware(SecurityHeaders)
    return app
