"""The output core: the streams, the result contract, the one JSON document, errors and progress.

Every command ends by handing one :class:`Result` to :meth:`Output.emit`. A result knows its verdict (``ok``, the
exit code), how to become JSON (:meth:`Result.to_json`: the command's members) and text (:meth:`Result.to_text`).
:func:`document` is the only place a JSON document is built, always from ``to_json()``, so the JSON and the text of a
run describe the same result. Data goes to stdout; notes, warnings and progress to stderr; in ``--json`` mode stdout
carries exactly one JSON document, on success and on failure alike.
"""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
import ocop_provenance as op
from ocop_provenance.trust import TrustStoreError

from ..context import SCHEMA, CliError, Context, ExitCode
from .explain import explain_error
from .words import t

__all__ = ["ErrorReport", "JsonDict", "Output", "Result", "Text", "document", "ensure_utf8_streams", "lines"]

JsonDict = dict[str, Any]


def ensure_utf8_streams() -> None:
    """Make stdout and stderr write UTF-8 whatever the locale (``LANG=C``, a Latin-1 terminal, ``PYTHONIOENCODING``).

    Vietnamese must come out as the bytes that were signed. UTF-8 encodes every character except lone surrogates,
    which are written as backslash escapes (the last resort).
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        if reconfigure is not None and encoding not in ("utf-8", "utf8"):
            try:
                reconfigure(encoding="utf-8", errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a stream that cannot change encoding
                continue


#: The location members of every JSON error object (docs/cli.md §JSON): ``index`` is kept as the position.
_LOCATION = ("index", "position", "batch_id", "seq", "event_id", "key_id", "field")


def error_json(e: op.ProvenanceError) -> JsonDict:
    """A library error as JSON: its code, message and location, ``index`` being its position (ocop.cli/1)."""
    d = e.to_dict()
    return {"code": d.pop("code"), "message": d.pop("message"), "index": e.position, **d}


@dataclass(frozen=True, slots=True)
class Text:
    """What a result shows a person.

    Attributes:
        out: Written to stdout exactly as it is (the data: an id, a report).
        err: Lines written to stderr (notes about what was done), in text mode only.
    """

    out: str = ""
    err: tuple[str, ...] = ()


def lines(*rows: str, err: Iterable[str] = ()) -> Text:
    """A :class:`Text` of stdout ``rows`` (each ending with a newline) and stderr lines ``err``."""
    return Text(out="".join(f"{row}\n" for row in rows), err=tuple(err))


class Result(ABC):
    """What a command did, as one value: rendered as text or as the members of the JSON document.

    Subclasses are frozen dataclasses. ``ok`` is the verdict (False makes the run exit 1 unless ``exit_code`` says
    otherwise); ``warnings`` go to stderr in every mode.
    """

    __slots__ = ()

    @property
    def ok(self) -> bool:
        """Whether the command succeeded (and what it checked verified)."""
        return True

    @property
    def exit_code(self) -> ExitCode:
        """The process exit code (docs/adr/0050-cli-exit-codes.md)."""
        return ExitCode.OK if self.ok else ExitCode.VERIFY_FAILED

    @property
    def warnings(self) -> tuple[str, ...]:
        """Warnings to show on stderr whatever the output mode."""
        return ()

    @abstractmethod
    def to_json(self) -> JsonDict:
        """The command's members of the JSON document (docs/cli.md), after ``schema``, ``command`` and ``ok``."""

    @abstractmethod
    def to_text(self) -> Text:
        """What a person sees."""


def document(result: Result, command: str) -> JsonDict:
    """The JSON document (schema ``ocop.cli/1``) of ``result``: the one place a document is built.

    ``schema``, ``command`` and ``ok`` come first, then the result's members; when the result is not ok,
    ``exit_code`` is added just before ``error`` (or last, when there is no ``error`` member).
    """
    doc: JsonDict = {"schema": SCHEMA, "command": command, "ok": result.ok}
    members = result.to_json()
    if not result.ok and "error" not in members:
        members["exit_code"] = int(result.exit_code)
    for name, value in members.items():
        if name == "error" and not result.ok:
            doc["exit_code"] = int(result.exit_code)
        doc[name] = value
    return doc


def _json_default(value: object) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class ErrorReport(Result):
    """An error that stopped a command: its code, what and where, in words; rendered on stderr in text mode."""

    error: BaseException
    code: ExitCode

    @property
    def ok(self) -> bool:
        return False

    @property
    def exit_code(self) -> ExitCode:
        return self.code

    @property
    def error_code(self) -> str:
        """The error's stable code: the library's or the CLI's own, ``E_IO`` or ``E_INTERNAL``."""
        exc = self.error
        if isinstance(exc, (op.ProvenanceError, CliError)):
            return exc.code
        return "E_IO" if isinstance(exc, OSError) else "E_INTERNAL"

    @property
    def explanation(self) -> str | None:
        """The error in plain words: the CLI error's own, else its code's (a seal, QR or image code included)."""
        exc = self.error
        if isinstance(exc, CliError) and exc.explanation is not None:
            return exc.explanation
        return explain_error(self.error_code)

    def to_json(self) -> JsonDict:
        """The ``error`` member: always ``code``, ``message``, ``index``, ``position``, ``batch_id``, ``seq``,
        ``event_id``, ``key_id``, ``field`` and ``explanation`` (null when unknown); an I/O or trust store error adds
        ``path``."""
        exc = self.error
        err: JsonDict = {"code": self.error_code, **dict.fromkeys(_LOCATION)}
        if isinstance(exc, op.ProvenanceError):
            err = error_json(exc)
            if isinstance(exc, TrustStoreError) and exc.path is not None:
                err["path"] = str(exc.path)
        elif isinstance(exc, CliError):
            if isinstance(exc.__cause__, op.ProvenanceError):  # where the library found the mistake
                err = error_json(exc.__cause__)
                err["code"] = exc.code
            err["message"] = exc.message
            err["field"] = err.get("field") or getattr(exc, "field", None)  # an input error names its field
        elif isinstance(exc, OSError):
            err["message"] = f"{exc.strerror or exc}"
            err["path"] = str(exc.filename or "") or None
        else:
            err["message"] = f"{type(exc).__name__}: {exc}"
        return {
            "error": {
                "code": err.pop("code"),
                "message": err.pop("message"),
                **err,
                "explanation": self.explanation,
            }
        }

    def to_text(self) -> Text:
        exc = self.error
        explanation = self.explanation
        if isinstance(exc, op.ProvenanceError) and explanation:
            return Text(err=(t("error: {error}\n       ({explanation})", error=exc, explanation=explanation),))
        if isinstance(exc, op.ProvenanceError):
            return Text(err=(t("error: {error}", error=exc),))
        if isinstance(exc, CliError) and explanation:
            return Text(
                err=(
                    t(
                        "error: {message} [{code}]\n       ({explanation})",
                        message=exc.message,
                        code=exc.code,
                        explanation=explanation,
                    ),
                )
            )
        if isinstance(exc, CliError):
            return Text(err=(t("error: {message} [{code}]", message=exc.message, code=exc.code),))
        if isinstance(exc, OSError):
            reason = exc.strerror or exc
            if exc.filename:
                return Text(err=(t("error: cannot use {path}: {reason} [E_IO]", path=exc.filename, reason=reason),))
            return Text(err=(t("error: cannot use: {reason} [E_IO]", reason=reason),))
        return Text(
            err=(
                t(
                    "error: internal error: {kind}: {detail} (rerun with --verbose and report it) [E_INTERNAL]",
                    kind=type(exc).__name__,
                    detail=exc,
                ),
            )
        )


class Output:
    """Writes results, errors, notes, warnings and progress, in the output mode of the context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def json(self) -> bool:
        """True in ``--json`` mode."""
        return self.ctx.json

    def emit(self, result: Result) -> None:
        """Write ``result`` and, when it is not ok, end the command with its exit code."""
        self.write(result)
        if result.exit_code != ExitCode.OK:
            click.get_current_context().exit(result.exit_code)

    def write(self, result: Result) -> None:
        """Write ``result``: its warnings, then its JSON document or its text."""
        for warning in result.warnings:
            self.warn(warning)
        if self.json:
            doc = document(result, self.ctx.command)
            click.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=_json_default))
            return
        self._text(result.to_text())

    def show(self, result: Result) -> None:
        """Write the text of ``result`` in the middle of a narration (text mode only; nothing in JSON mode)."""
        if not self.json:
            self._text(result.to_text())

    def _text(self, text: Text) -> None:
        if text.out:
            click.echo(text.out, nl=False)
        for line in text.err:
            click.echo(line, err=True)

    def error(self, exc: BaseException, exit_code: ExitCode) -> None:
        """Render an error (its code, what and where, in words) and, with --verbose, the traceback."""
        if self.ctx.verbose and exit_code != ExitCode.OK:
            click.echo("".join(traceback.format_exception(exc)), err=True, nl=False)
        self.write(ErrorReport(exc, exit_code))

    def say(self, text: str = "") -> None:
        """One line of narration on stdout (text mode only): ``ocop demo``."""
        if not self.json:
            click.echo(text)

    def note(self, text: str) -> None:
        """A progress note on stderr (text mode only)."""
        if not self.json:
            click.echo(text, err=True)

    def warn(self, text: str) -> None:
        """A warning on stderr (in every mode)."""
        click.echo(t("warning: {text}", text=text), err=True)

    @contextlib.contextmanager
    def progress(self, label: str) -> Iterator[Callable[[int, int], None]]:
        """A progress bar on stderr while a long job runs (shown only when stderr is a terminal).

        Yields a callback taking (done, total); the bar appears at the first call.
        """
        if self.json or not sys.stderr.isatty():
            yield lambda _done, _total: None
            return
        with contextlib.ExitStack() as stack:
            state: dict[str, Any] = {"bar": None, "last": 0}

            def update(done: int, total: int) -> None:
                if state["bar"] is None:
                    state["bar"] = stack.enter_context(click.progressbar(length=total, label=label, file=sys.stderr))
                state["bar"].update(done - state["last"])
                state["last"] = done

            yield update
