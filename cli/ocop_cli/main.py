"""The ``ocop`` command: the root group, the context it builds, and the one place errors become exit codes."""

from __future__ import annotations

from typing import Any

import click
import ocop_provenance as op

from . import batch, demo, export, importing, key, monitor, publish, serve, step, verify, witness
from . import policy as policy_commands
from . import qr as qr_commands
from . import trust as trust_commands
from .context import EXIT_CODE_HELP, CliError, Context, ExitCode, OcopGroup, env_flag
from .render import Output, ensure_utf8_streams

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


class RootGroup(OcopGroup):
    """The root group: renders any error raised by a command and exits with its code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except (click.Abort, KeyboardInterrupt):
            click.echo("interrupted", err=True)
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
@click.version_option(op.__version__, prog_name="ocop")
@click.pass_context
def cli(ctx: click.Context, home: str | None, json_: bool, verbose: bool) -> None:
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
    obj.verbose = verbose or env_flag("OCOP_VERBOSE")
    ctx.obj = obj


cli.add_command(key.group)
cli.add_command(batch.group)
cli.add_command(step.group)
cli.add_command(export.command)
cli.add_command(verify.command)
cli.add_command(importing.command)
cli.add_command(demo.command)
cli.add_command(qr_commands.group)
cli.add_command(trust_commands.group)
cli.add_command(policy_commands.group)
cli.add_command(publish.command)
cli.add_command(serve.command)
cli.add_command(witness.command)
cli.add_command(monitor.command)


def main() -> None:
    """Console-script entry point."""
    ensure_utf8_streams()
    cli.main(prog_name="ocop")
