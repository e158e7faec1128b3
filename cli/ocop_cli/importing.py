"""``ocop import``: verify a bundle from another party and add its events to the local ledger."""

from __future__ import annotations

from pathlib import Path

import click
import ocop_provenance as op

from .context import Context, OcopCommand, pass_context
from .ledger import open_ledger
from .params import json_option
from .render import Output
from .render.verify import Imported, VerifyFailure
from .verify import load_trusted_keys, locate, trusted_key_option, verify_file


@click.command("import", cls=OcopCommand)
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@trusted_key_option("A public key you trust (PEM), obtained from its owner. Repeatable.", required=True)
@json_option
@pass_context
def command(ctx: Context, bundle: Path, trusted: tuple[Path, ...]) -> None:
    """Verify BUNDLE and add its events to the ledger (events already held are skipped).

    \b
    This is how a drying workshop or a lab gets a cooperative's batch into its own
    ledger before signing the next step. Nothing is stored unless the whole bundle
    verifies against the --trusted-key files (exit 1 otherwise, as ocop verify).
    """
    out = Output(ctx)
    result = verify_file(ctx, bundle, trusted, output=out)
    if isinstance(result, VerifyFailure):
        out.emit(result)
        return
    ring, _ = load_trusted_keys(trusted)
    with open_ledger(ctx) as ledger, bundle.open("rb") as src:
        try:
            added = ledger.import_bundle(src, op.VerifyOptions(keys=ring, now=ctx.clock()))
        except (op.FormatError, op.VerificationError) as e:
            # The file changed since it was verified, or it forks what the ledger holds (E_FORK).
            out.emit(locate(src, e, str(bundle)))
            return
    out.emit(Imported(path=str(bundle), result=result, added=added))
