"""``ocop witness``: a C2SP tlog-witness that cosigns the checkpoints of the logs it follows (docs/transparency.md).

A small HTTP server (stdlib): ``POST /add-checkpoint`` (tlog-witness v1.0.0) and ``GET /key`` (its verifier key).
The checks are the library's (:func:`ocop_provenance.tlog.witness_add_checkpoint`); this module adds the HTTP and
the state file: per log origin, the signed checkpoint it last cosigned. Each request reads the state, checks, writes
the new state (a temporary file, fsync, rename, fsync of the directory) and only then answers with the cosignature,
all under one lock; the state file is also locked against a second witness process for as long as this one runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import click
import ocop_provenance as op
from ocop_provenance import tlog

from .context import CliError, Context, OcopCommand, pass_context
from .logkeys import load_private_key, public_keys
from .params import json_option, passphrase_file_option
from .render import Output
from .render.logs import WitnessServing
from .render.words import t

__all__ = ["STATE_VERSION", "WitnessServer", "WitnessState", "command"]

#: The state file's ``version`` member.
STATE_VERSION = 1
_MAX_BODY = 256 << 10


class WitnessState:
    """The state file: per log origin, the signed note of the checkpoint last cosigned (JSON, written atomically).

    ``{"version": 1, "logs": {"<origin>": "<signed note text>"}}``. The file is locked (``flock``) while the object
    is open, so two witness processes cannot share one state and roll each other back.
    """

    def __init__(self, path: Path) -> None:
        """Open (or create) the state at ``path`` and lock it.

        Raises:
            CliError: Another process holds the lock, or the file is not a witness state (``E_WITNESS_STATE``).
        """
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file: IO[bytes] = (path.parent / (path.name + ".lock")).open("ab")
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            self._lock_file.close()
            raise CliError(
                t("another witness process uses the state file {path}", path=path), code="E_WITNESS_STATE"
            ) from e
        self.logs: dict[str, str] = self._read()
        self.mutex = threading.Lock()

    def _read(self) -> dict[str, str]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            message = t("{path} is not a witness state file: {e}", path=self.path, e=e)
            raise CliError(message, code="E_WITNESS_STATE") from e
        logs = doc.get("logs") if isinstance(doc, dict) and doc.get("version") == STATE_VERSION else None
        if not isinstance(logs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in logs.items()):
            raise CliError(t("{path} is not a witness state file", path=self.path), code="E_WITNESS_STATE")
        return dict(logs)

    def last(self, origin: str) -> tlog.Checkpoint | None:
        """The checkpoint last cosigned for ``origin`` (None: none yet)."""
        note = self.logs.get(origin)
        return None if note is None else tlog.Checkpoint.parse(tlog.SignedNote.parse(note).text)

    def store(self, origin: str, note: str) -> None:
        """Make ``note`` the origin's last cosigned checkpoint, durably, before the cosignature is sent."""
        logs = self.logs | {origin: note}
        data = json.dumps({"version": STATE_VERSION, "logs": logs}, ensure_ascii=False, indent=1).encode("utf-8")
        tmp = self.path.parent / (self.path.name + ".tmp")
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.path)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.logs = logs

    def close(self) -> None:
        """Release the lock."""
        self._lock_file.close()


class WitnessServer:
    """The witness's HTTP server on a thread (tests) or in the foreground (:meth:`serve_forever`)."""

    def __init__(
        self,
        state: WitnessState,
        cosigner: tlog.Cosigner,
        log_keys: Sequence[op.PublicKey],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], datetime],
    ) -> None:
        """Bind the socket (port 0: a free one); nothing is served until started."""
        self.state, self.cosigner, self.log_keys, self.clock = state, cosigner, tuple(log_keys), clock
        witness = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "ocop-witness"
            timeout = 30  # seconds a client may take to send its request (a slow client holds one thread)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
                return

            def _send(self, status: int, body: bytes, media: str = "text/plain; charset=utf-8") -> None:
                self.send_response(status)
                self.send_header("content-type", media)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/key":
                    self._send(200, (witness.cosigner.key.to_vkey() + "\n").encode("utf-8"))
                else:
                    self._send(404, b"not found\n")

            def do_POST(self) -> None:
                if self.path != "/add-checkpoint":
                    self._send(404, b"not found\n")
                    return
                length = self.headers.get("content-length", "")
                if not length.isdigit() or int(length) > _MAX_BODY:
                    self._send(400, b"E_SIZE: a body of at most 256 KiB with a content-length\n")
                    return
                self._send(*witness.add_checkpoint(self.rfile.read(int(length))))

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    def _log_key(self, request: tlog.AddCheckpoint) -> tlog.NoteKey | None:
        origin = request.unverified_origin
        note = tlog.SignedNote.parse(request.checkpoint)
        for key in self.log_keys:
            for found in tlog.keys_in_note(note, key, tlog.ED25519):
                if found.name == origin:
                    return found
        return None

    def add_checkpoint(self, body: bytes) -> tuple[int, bytes, str]:
        """Answer one ``add-checkpoint`` request: ``(status, body, content type)`` (tlog-witness)."""
        plain = "text/plain; charset=utf-8"
        try:
            request = tlog.AddCheckpoint.parse(body)
            log_key = self._log_key(request)
            if log_key is None:
                return 404, b"E_LOG_ORIGIN: this witness follows no such log\n", plain
            with self.state.mutex:
                cosigned = tlog.witness_add_checkpoint(
                    request,
                    log_key=log_key,
                    last=self.state.last(log_key.name),
                    cosigner=self.cosigner,
                    now=self.clock(),
                )
                self.state.store(log_key.name, cosigned.verified.note.to_text())
        except tlog.WitnessConflictError as e:
            return 409, f"{e.size}\n".encode("ascii"), "text/x.tlog.size"
        except op.ProvenanceError as e:
            return tlog.witness_http_status(e), f"{e.code}: {e.message}\n".encode(), plain
        except OSError as e:  # the state could not be written: nothing is cosigned
            return 500, f"E_WITNESS_STATE: {e}\n".encode(), plain
        return 200, cosigned.response_body, plain

    def start(self) -> WitnessServer:
        """Serve on a daemon thread."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


@contextlib.contextmanager
def running(server: WitnessServer) -> Iterator[WitnessServer]:
    """Serve for the duration of the block."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


@click.command("witness", cls=OcopCommand)
@click.option("--key", "key_spec", required=True, metavar="PEM|NAME", help="The witness's Ed25519 private key.")
@click.option(
    "--name", required=True, metavar="NAME", help="The witness's name in its cosignatures (e.g. witness.example.vn)."
)
@click.option(
    "--log-key",
    "log_keys",
    required=True,
    multiple=True,
    metavar="PEM|NAME",
    help="The public key of a log to witness (its origin is the name its checkpoints are signed under). Repeatable.",
)
@click.option(
    "--state",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The state file: the checkpoint last cosigned per log (created if missing; keep it, back it up).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8400, show_default=True, type=click.IntRange(0, 65535), help="Port (0: a free one).")
@passphrase_file_option
@json_option
@pass_context
def command(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    key_spec: str,
    name: str,
    log_keys: tuple[str, ...],
    state: Path,
    host: str,
    port: int,
    passphrase_file: Path | None,
) -> None:
    """Run a transparency-log witness (C2SP tlog-witness): cosign checkpoints that extend the last one.

    \b
    A portal started with --witness URL=PEM pushes each new checkpoint to
    URL/add-checkpoint with a consistency proof from the size this witness last
    cosigned; the witness refuses a checkpoint that rewrites what it cosigned
    (E_LOG_CONSISTENCY, HTTP 422) and never cosigns two trees of one size.
    """
    try:
        cosigner = tlog.Cosigner(name, load_private_key(ctx, key_spec, passphrase_file, "--key"))
    except op.KeyFormatError as e:
        if e.code == "E_VKEY":
            raise click.BadParameter(e.message, param_hint="--name") from e
        raise
    keys = public_keys(ctx, log_keys)
    held = WitnessState(state)
    try:
        server = WitnessServer(held, cosigner, keys, host=host, port=port, clock=ctx.utc_now)
        Output(ctx).write(WitnessServing(url=server.url, vkey=cosigner.key.to_vkey(), state=str(state)))
        try:
            server.httpd.serve_forever()
        except KeyboardInterrupt:
            pass  # Ctrl-C stops the witness; every cosigned checkpoint is already in the state file
        finally:
            server.httpd.server_close()
    finally:
        held.close()
