"""The ``ocop`` command: the root group, the context it builds, and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import Any

import click
import ocop_provenance as op

from . import i18n
from .context import EXIT_CODE_HELP, CliError, Context, ExitCode, OcopGroup, env_flag
from .render import Output, ensure_utf8_streams
from .render.words import t

__all__ = ["cli", "exit_code_for", "main"]


def exit_code_for(exc: BaseException) -> ExitCode:
    """Map an exception to the CLI's exit code (docs/adr/0050-cli-exit-codes.md).

    Stored data that no longer verifies (a ledger edited behind the library's back, ``TamperError``) is 1. Every
    other library error is about what the user gave (a field, a key, a step the ledger refuses, such as a time
    before the batch's last event) or about I/O, and is 3, like CLI and OS errors; anything else is a bug (4).
    ``ocop verify`` decides its own verdict (exit 1 for anything wrong with the bundle).
    """
    if isinstance(exc, CliError):
        return exc.exit_code
    if isinstance(exc, op.TamperError):
        return ExitCode.VERIFY_FAILED
    if isinstance(exc, (op.ProvenanceError, OSError)):
        return ExitCode.BAD_INPUT
    return ExitCode.INTERNAL


def _lang_argument(args: Sequence[str]) -> str | None:
    """The value of ``--lang`` on a command line, read before click parses it (so that help and usage errors are
    already in that language); click then checks the value."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.removeprefix("--lang=")
    return None


#: Each command's module and the attribute that holds it. A module is imported when its command runs (or when help
#: lists the commands): ``ocop key new`` need not import the portal's server, the PDF labels and the witness, which
#: took half of every run's start-up (0.43 s against 0.18-0.24 s).
COMMANDS: dict[str, tuple[str, str]] = {
    "key": ("key", "group"),
    "batch": ("batch", "group"),
    "step": ("step", "group"),
    "export": ("export", "command"),
    "verify": ("verify", "command"),
    "show": ("show", "command"),
    "import": ("importing", "command"),
    "demo": ("demo", "command"),
    "qr": ("qr", "group"),
    "trust": ("trust", "group"),
    "policy": ("policy", "group"),
    "publish": ("publish", "command"),
    "serve": ("serve", "command"),
    "witness": ("witness", "command"),
    "monitor": ("monitor", "command"),
}


class RootGroup(OcopGroup):
    """The root group: picks the language of the run, renders any error raised by a command and exits with its code.

    Its commands are imported on first use (:data:`COMMANDS`).
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
            assert isinstance(command, click.Command), (module, attribute)
            assert command.name == cmd_name, (module, attribute)
            self.add_command(command)
        return super().get_command(ctx, cmd_name)

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        lang = i18n.choose(_lang_argument(args), os.environ)
        i18n.use("en" if "--json" in args else lang)
        return super().make_context(info_name, args, parent, **extra)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        finally:
            i18n.use(i18n.DEFAULT)  # the next run in this process (a test) chooses again

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except (click.Abort, KeyboardInterrupt):
            click.echo(t("interrupted"), err=True)
            ctx.exit(ExitCode.INTERRUPTED)
        except Exception as exc:  # noqa: BLE001 - the one place every error is rendered and mapped
            obj = ctx.find_object(Context) or Context.from_environment(None)
            code = exit_code_for(exc)
            Output(obj).error(exc, code)
            ctx.exit(code)


@click.group(
    cls=RootGroup,
    epilog=EXIT_CODE_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--home",
    envvar="OCOP_HOME",
    default=None,
    metavar="DIR",
    help="Data directory for keys and the ledger [env OCOP_HOME; default: the per-user data directory].",
)
@click.option("--json", "json_", is_flag=True, help="Print one JSON document (schema ocop.cli/1) on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and more detail on errors.")
@click.option(
    "--lang",
    type=click.Choice(i18n.LANGUAGES),
    envvar="OCOP_LANG",
    default=None,
    help="Language of messages and help: en or vi [env OCOP_LANG; default: vi in a Vietnamese locale, else en]. "
    "--json output is always English.",
)
@click.version_option(op.__version__, prog_name="ocop")
@click.pass_context
def cli(ctx: click.Context, home: str | None, json_: bool, verbose: bool, lang: str | None) -> None:
    """Sign, export and verify the provenance of OCOP product batches.

    \b
    Each production step is an Ed25519-signed event, hash-chained to the batch's previous
    event and kept in a local ledger; a bundle carries a batch and the batches it was made
    from, for offline audit. Passphrases come from OCOP_PASSPHRASE, --passphrase-file or a
    prompt, never from the command line.
    """
    ensure_utf8_streams()
    obj = ctx.obj if isinstance(ctx.obj, Context) else Context.from_environment(home)
    if home and isinstance(ctx.obj, Context):
        obj = Context.from_environment(home)
        obj.clock = ctx.obj.clock
    obj.json = json_ or obj.json
    if obj.json:  # the language itself was chosen before parsing (RootGroup.make_context), and --lang checked now
        i18n.use("en")
    obj.verbose = verbose or env_flag("OCOP_VERBOSE")
    ctx.obj = obj


def main() -> None:
    """Console-script entry point."""
    ensure_utf8_streams()
    cli.main(prog_name="ocop")
