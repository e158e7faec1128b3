"""``ocop import``: verify a bundle from another party and add its events to the local ledger."""

from __future__ import annotations

from pathlib import Path

import click
import ocop_provenance as op
from ocop_provenance.events import ed25519_backend

from .context import Context, OcopCommand, pass_context
from .i18n import N_
from .ledger import open_ledger
from .params import json_option
from .render import Output
from .render.verify import Imported, VerifyResult
from .render.words import t
from .verify import load_trusted_keys, locate, trusted_key_option


@click.command("import", cls=OcopCommand)
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@trusted_key_option(N_("A public key you trust (PEM), obtained from its owner. Repeatable."), required=True)
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
    ring, labels = load_trusted_keys(trusted)
    # allow_rollback: a ledger that lost heads it handed out is mended by importing a bundle that holds them.
    with bundle.open("rb") as src, open_ledger(ctx, allow_rollback=True) as ledger:
        try:
            with out.progress(t("verifying")) as progress:
                # One pass: each event is stored as it is verified; nothing is stored unless all of it verifies.
                options = op.VerifyOptions(keys=ring, now=ctx.clock(), workers="auto")
                result = ledger.import_bundle(src, options, progress=progress)
        except (op.FormatError, op.VerificationError) as e:
            # The bundle does not verify, or it forks what the ledger holds (E_FORK): nothing was stored.
            out.emit(locate(src, e, str(bundle)))
            return
    checked = VerifyResult(path=str(bundle), summary=result.summary, trusted=labels, backend=ed25519_backend())
    out.emit(Imported(path=str(bundle), result=checked, added=result.stored))
