"""The one context object every command receives, the exit codes, and the CLI's own error type.

The root group (``main.py``) builds a :class:`Context` from its options and the environment; commands read the data
directory, output mode and clock from it and never look at the environment themselves (except the passphrase, which
is read in :mod:`ocop_cli.keystore`).
"""

from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import platformdirs

from .i18n import N_, translate_help

__all__ = [
    "EXIT_CODE_HELP",
    "SCHEMA",
    "CliError",
    "Context",
    "ExitCode",
    "OcopCommand",
    "OcopGroup",
    "local_now",
    "pass_context",
]

#: The version tag of every JSON document the CLI prints (docs/cli.md §JSON).
SCHEMA = "ocop.cli/1"


class ExitCode(enum.IntEnum):
    """Exit codes, the same for every command (docs/adr/0050-cli-exit-codes.md)."""

    OK = 0
    """Success; for ``verify``: the bundle verified."""
    VERIFY_FAILED = 1
    """The data was read and does not verify (bad signature, broken chain or lineage, malformed or tampered bytes)."""
    USAGE = 2
    """The command line is wrong (unknown option, missing argument, invalid value)."""
    BAD_INPUT = 3
    """Bad input, key or I/O problem: no passphrase, wrong passphrase, missing key or batch, unreadable file."""
    INTERNAL = 4
    """A bug in ocop: please report it with the output of ``--verbose``."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C, or end of input at a prompt)."""


EXIT_CODE_HELP = N_("""\b
Exit codes:
  0  ok / verified
  1  verification failed (the data does not verify)
  2  usage error (wrong options or arguments)
  3  bad input, key or I/O problem (nothing was changed)
  4  internal error (a bug: rerun with --verbose and report it)""")


class CliError(Exception):
    """A problem the CLI itself detects (not a library error): rendered as a message, with an exit code.

    ``explanation`` replaces the plain-words explanation of ``code`` when the code's usual one does not fit (a
    label layout that does not fit its page is ``E_FIELD``, but not a signed event's field).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "E_CLI",
        exit_code: ExitCode = ExitCode.BAD_INPUT,
        explanation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.exit_code = exit_code
        self.explanation = explanation


def local_now() -> datetime:
    """The default clock: the current local time, timezone-aware, to the second."""
    return datetime.now().astimezone().replace(microsecond=0)


def default_home() -> Path:
    """The data directory when ``OCOP_HOME`` is not set: the platform's per-user data directory."""
    return Path(platformdirs.user_data_dir("ocop", appauthor=False))


@dataclass(slots=True, kw_only=True)
class Context:
    """What the root group hands to every command.

    Attributes:
        home: The data directory (keys in ``home/keys``, the ledger at ``home/ledger.sqlite``).
        json: Print one JSON document on stdout instead of text.
        verbose: Show tracebacks and extra detail.
        clock: Returns the current time (timezone-aware); tests replace it.
        command: The dotted name of the running command, for JSON output (``batch.new``).
    """

    home: Path
    json: bool = False
    verbose: bool = False
    clock: Callable[[], datetime] = field(default=local_now)
    command: str = "ocop"

    @property
    def keys_dir(self) -> Path:
        """Where private keys (``NAME.key``) and their public halves (``NAME.pub``) live."""
        return self.home / "keys"

    @property
    def ledger_path(self) -> Path:
        """The SQLite ledger."""
        return self.home / "ledger.sqlite"

    def utc_now(self) -> datetime:
        """The clock's time in UTC, to the second: what trust lists and policies record and are checked at."""
        return self.clock().astimezone(UTC).replace(microsecond=0)

    @classmethod
    def from_environment(cls, home: str | None) -> Context:
        """Build a context with ``home`` (from ``--home`` / ``OCOP_HOME``) or the platform default."""
        path = Path(home).expanduser() if home else default_home()
        return cls(home=path.absolute())


def pass_context(f: Callable[..., object]) -> Callable[..., object]:
    """Decorator: pass the :class:`Context` as the first argument (click ``make_pass_decorator``)."""
    return click.make_pass_decorator(Context)(f)


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to a true value (1, true, yes, on)."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


HELP_OPTION_HELP = N_("Show this message and exit.")


class _TranslatedHelp:
    """Help in the language of the run: click reads help texts when it shows them, so translate them then.

    The English texts stay on the command and its parameters (the message ids); while the help is written, each is
    replaced by its translation (:func:`ocop_cli.i18n.translate_help`), and put back afterwards.
    """

    help: str | None
    epilog: str | None
    short_help: str | None

    @contextlib.contextmanager
    def _translated(self, ctx: click.Context | None) -> Iterator[None]:
        params: list[click.Parameter] = list(self.params) if isinstance(self, click.Command) else []
        help_option = None
        if ctx is not None and isinstance(self, click.Command):
            params = self.get_params(ctx)
            # click builds --help once per command, its text already through gettext: its English is the message id
            help_option = self.get_help_option(ctx)
        english = [HELP_OPTION_HELP if p is help_option else getattr(p, "help", None) for p in params]
        saved = (self.help, self.epilog, self.short_help, english)
        self.help, self.epilog, self.short_help = (translate_help(x) for x in saved[:3])
        for p, text in zip(params, english, strict=True):
            if isinstance(p, click.Option | click.Argument):
                p.help = translate_help(text)
        try:
            yield
        finally:
            self.help, self.epilog, self.short_help = saved[:3]
            for p, text in zip(params, saved[3], strict=True):
                if isinstance(p, click.Option | click.Argument):
                    p.help = text

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with self._translated(ctx):
            super().format_help(ctx, formatter)  # type: ignore[misc]

    def get_short_help_str(self, limit: int = 45) -> str:
        with self._translated(None):
            return str(super().get_short_help_str(limit))  # type: ignore[misc]


class OcopCommand(_TranslatedHelp, click.Command):
    """A command that records its dotted name (``batch.new``) in the context, for JSON output and errors."""

    def invoke(self, ctx: click.Context) -> Any:
        obj = ctx.find_object(Context)
        if obj is not None:
            obj.command = ".".join(ctx.command_path.split()[1:]) or "ocop"
        return super().invoke(ctx)


class OcopGroup(_TranslatedHelp, click.Group):
    """A group whose commands and subgroups are :class:`OcopCommand` / :class:`OcopGroup`."""

    command_class = OcopCommand
    group_class = type
