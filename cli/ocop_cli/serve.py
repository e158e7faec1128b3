"""``ocop serve``: run the provincial origin portal (docs/portal.md).

The portal package (``pip install 'ocop-provenance[portal]'``) is imported only here, and only when the command
runs, so the rest of the CLI works without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from ocop_provenance.trust import AuthorityPin, Policy

from .context import CliError, Context, ExitCode, OcopCommand, pass_context
from .logkeys import load_private_key
from .params import json_option, passphrase_file_option
from .render import Output
from .render.portal import Migrated, Serving
from .render.words import t
from .trust import read_input, resolve_public_key

if TYPE_CHECKING:
    from ocop_portal import Settings

__all__ = ["Server", "command", "free_port", "portal_settings", "prepare", "start"]


def _import_portal() -> Any:
    try:
        import ocop_portal  # noqa: PLC0415 - optional extra, imported only to serve
    except ImportError as e:
        raise CliError(
            "the portal is not installed: pip install 'ocop-provenance[portal]'", code="E_MISSING_EXTRA"
        ) from e
    return ocop_portal


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def portal_settings(
    ctx: Context, *, db: str | None, public_url: str, authority: tuple[str, ...], threshold: int | None, **kw: Any
) -> Settings:
    """Build the portal's settings from the command line (authority keys as PEM files or local key names)."""
    portal = _import_portal()
    pin = None
    if authority:
        keys = tuple(resolve_public_key(ctx, spec) for spec in authority)
        if threshold is None and len({k.raw for k in keys}) > 1:
            raise click.BadParameter("give --threshold with several authority keys", param_hint="--threshold")
        pin = AuthorityPin(keys, threshold or 1)
    try:
        settings: Settings = portal.Settings(
            db_url=db or str(ctx.home / "portal.sqlite"), public_url=public_url, authority=pin, clock=ctx.utc_now, **kw
        )
    except ValueError as e:
        raise click.BadParameter(str(e)) from e
    return settings


def prepare(settings: Settings, *, trust: Path | None, policies: tuple[Path, ...], out: Output) -> Any:
    """Migrate the database, install the trust list and policies given, and return the ASGI app."""
    portal = _import_portal()
    from ocop_portal.db import Database  # noqa: PLC0415
    from ocop_portal.registry import PublishError  # noqa: PLC0415

    database = Database(settings.db_url, read_url=settings.read_db_url)
    try:
        database.migrate()
    except Exception as e:
        raise CliError(f"cannot open or migrate the database: {e}", code="E_DATABASE") from e
    app = portal.create_app(settings, database=database)
    registry = app.state.portal.registry
    try:
        if trust is not None:
            tl, new = registry.install_trust_list(read_input(trust, "trust list"))
            if new:
                out.note(t("trust list {issuer} version {version}: installed", issuer=tl.issuer, version=tl.version))
            else:
                out.note(
                    t("trust list {issuer} version {version}: already current", issuer=tl.issuer, version=tl.version)
                )
        for path in policies:
            data = read_input(path, "policy")
            policy = Policy.parse_unverified(data)
            installed, new = registry.install_policy(policy.name, data)
            if new:
                out.note(t("policy {name} v{version}: installed", name=installed.name, version=installed.version))
            else:
                out.note(t("policy {name} v{version}: already current", name=installed.name, version=installed.version))
    except PublishError as e:
        if e.code in ("E_TRUST_ROLLBACK", "E_POLICY_ROLLBACK"):
            out.warn(t("{reason}: keeping the newer one the portal holds", reason=e.message))
        else:
            raise CliError(e.message, code=e.code, exit_code=ExitCode.VERIFY_FAILED) from e
    return app


class Server:
    """A uvicorn server on a thread (``ocop demo --serve`` and tests); stop it with :meth:`stop`."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        """Configure (not start) the server."""
        import uvicorn  # noqa: PLC0415 - part of the portal extra

        class Uvicorn(uvicorn.Server):
            """uvicorn's server, which :meth:`Server.stop` wakes at once rather than at its next 0.1-s tick."""

            loop: asyncio.AbstractEventLoop | None = None
            wake: asyncio.Event | None = None

            async def main_loop(self) -> None:
                self.wake = asyncio.Event()
                self.loop = asyncio.get_running_loop()
                counter = 0
                while not await self.on_tick(counter):  # uvicorn's own loop, its sleep made wakeable
                    counter = (counter + 1) % 864000
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), 0.1)

            async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
                # uvicorn gives open connections 0.1 s to finish after asking them to close; with none open and no
                # task running there is nothing to wait for: close the listening sockets and return.
                if self.server_state.connections or self.server_state.tasks or sockets:
                    await super().shutdown(sockets)
                    return
                for server in self.servers:
                    server.close()
                for server in self.servers:
                    await server.wait_closed()
                if not self.force_exit:
                    await self.lifespan.shutdown()

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self._server = Uvicorn(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.url = f"http://{host}:{port}"

    def start(self) -> Server:
        """Start serving and wait until the socket accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise CliError("the portal did not start", code="E_SERVE", exit_code=ExitCode.INTERNAL)
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        loop, wake = self._server.loop, self._server.wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(wake.set)
        self._thread.join(timeout=10)


@contextlib.contextmanager
def start(app: Any, host: str, port: int) -> Iterator[Server]:
    """Serve ``app`` on a thread for the duration of the block."""
    server = Server(app, host, port).start()
    try:
        yield server
    finally:
        server.stop()


def log_settings(
    ctx: Context, log_key: str | None, generation: int, witnesses: tuple[str, ...], passphrase_file: Path | None
) -> dict[str, Any]:
    """The portal settings of its transparency log: the key, the generation and the witnesses (``URL=PEM``)."""
    if log_key is None:
        if witnesses:
            raise click.BadParameter(t("witnesses cosign a log: give --log-key too"), param_hint="--witness")
        return {}
    portal = _import_portal()
    endpoints = []
    for spec in witnesses:
        url, sep, pem = spec.rpartition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise click.BadParameter(t("{spec!r} is not URL=PEM", spec=spec), param_hint="--witness")
        endpoints.append(portal.WitnessEndpoint(url.rstrip("/"), resolve_public_key(ctx, pem)))
    return {
        "log_key": load_private_key(ctx, log_key, passphrase_file, "--log-key"),
        "log_generation": generation,
        "witnesses": tuple(endpoints),
    }


@click.command("serve", cls=OcopCommand)
@click.option(
    "--db", default=None, metavar="URL", help="SQLite file or postgresql://… [default: $OCOP_HOME/portal.sqlite]"
)
@click.option("--read-db", default=None, metavar="URL", help="A PostgreSQL read replica for pages and the API.")
@click.option(
    "--public-url", default=None, metavar="URL", help="The public base URL seals name [default: http://HOST:PORT]."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0: a free one).")
@click.option(
    "--trust", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A signed trust list to install."
)
@click.option("--policy", "policies", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A signed policy to install (under its own name). Repeatable.")  # fmt: skip
@click.option(
    "--authority-key", "authority", multiple=True, metavar="PEM|NAME", help="A pinned authority key. Repeatable."
)
@click.option("--threshold", type=click.IntRange(1), default=None, help="Authority signatures required.")
@click.option("--max-bundle-mb", type=click.IntRange(1), default=256, show_default=True, help="Largest upload.")
@click.option(
    "--max-events", type=click.IntRange(1), default=500_000, show_default=True, help="Most events per bundle."
)
@click.option("--publish-seconds", type=click.FloatRange(1), default=300.0, show_default=True, help="Upload budget.")
@click.option("--migrate-only", is_flag=True, help="Migrate the database to the newest schema and exit.")
@click.option(
    "--access-log", is_flag=True, help="Log every request with the client's address (off: scans stay anonymous)."
)
@click.option(
    "--log-key",
    default=None,
    metavar="PEM|NAME",
    help="Keep a transparency log of published heads, signing its checkpoints with this Ed25519 private key "
    "(docs/transparency.md).",
)
@click.option(
    "--log-generation",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="The log's generation: its origin is HOST/tlog/N (a new one starts a new log).",
)
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    metavar="URL=PEM",
    help="Push each new checkpoint to this witness (C2SP tlog-witness) and serve its cosignatures; PEM is its "
    "public key (file or local key name). Repeatable.",
)
@passphrase_file_option
@json_option
@pass_context
def command(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    db: str | None,
    read_db: str | None,
    public_url: str | None,
    host: str,
    port: int,
    trust: Path | None,
    policies: tuple[Path, ...],
    authority: tuple[str, ...],
    threshold: int | None,
    max_bundle_mb: int,
    max_events: int,
    publish_seconds: float,
    migrate_only: bool,
    access_log: bool,
    log_key: str | None,
    log_generation: int,
    witnesses: tuple[str, ...],
    passphrase_file: Path | None,
) -> None:
    """Run the origin portal: the registry producers publish to, and the page a shopper's scan opens.

    \b
    Producers publish with `ocop publish BATCH --to URL`; a bundle is accepted only if it
    verifies against the trust list (first installed with --trust and pinned
    --authority-key/--threshold; later replaced by PUT /api/v1/trust-list). Behind a
    reverse proxy, --public-url is the https:// address printed on the seals.
    """
    portal = _import_portal()
    port = port or free_port(host)
    out = Output(ctx)
    limits = portal.Limits(max_bundle_bytes=max_bundle_mb << 20, max_events=max_events, publish_seconds=publish_seconds)
    settings = portal_settings(
        ctx,
        db=db,
        public_url=public_url or f"http://{host}:{port}",
        authority=authority,
        threshold=threshold,
        read_db_url=read_db,
        limits=limits,
        **log_settings(ctx, log_key, log_generation, witnesses, passphrase_file),
    )
    app = prepare(settings, trust=trust, policies=policies, out=out)
    log = app.state.portal.registry.log
    if log.enabled:
        out.note(t("transparency log {origin}: verifier key {vkey}", origin=log.origin, vkey=log.note_key.to_vkey()))
    if migrate_only:
        out.emit(Migrated(db_url=settings.db_url))
        return
    import uvicorn  # noqa: PLC0415

    out.write(Serving(url=settings.public_url))
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log, proxy_headers=True, lifespan="off")
