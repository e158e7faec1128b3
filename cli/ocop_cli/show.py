"""``ocop show BUNDLE``: what a bundle records, without a ledger; verified only when trust is given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .context import Context, OcopCommand, pass_context
from .i18n import N_
from .params import json_option
from .render import Output
from .trust import DocumentFailure, anchor_options, make_anchor
from .verify import (
    audit_files,
    expected_root,
    trust_list_option,
    trusted_key_option,
    verify_file,
    verify_with,
)


@click.command("show", cls=OcopCommand)
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@trusted_key_option(N_("A public key you trust (PEM): the content is then verified, as by ocop verify. Repeatable."))
@trust_list_option(N_("A signed trust list: the content is then audited, as by ocop verify --trust."))
@anchor_options
@json_option
@pass_context
def command(ctx: Context, bundle: Path, trusted: tuple[Path, ...], trust_path: Path | None, **anchor: Any) -> None:
    """Print what BUNDLE records: its batches and every step (what, when, where, who, data, attachments).

    \b
    Without --trusted-key or --trust the signatures are checked only against
    the keys the bundle itself carries: anyone can make such a bundle, so the
    content is shown as UNVERIFIED (exit 0 when it is well formed). With them,
    this is ocop verify: exit 1 when anything does not verify.
    """
    if trusted and trust_path is not None:
        raise click.UsageError("give --trusted-key PEM or --trust LIST, not both")
    if trust_path is None and any(anchor.values()):
        raise click.UsageError("--authority-key, --threshold, --pinned-list, --via and --no-cache go with --trust")
    out = Output(ctx)
    if trust_path is not None:
        try:
            out.emit(audit_files(ctx, [bundle], trust_path, make_anchor(**anchor), detail=True))
        except DocumentFailure as f:
            out.emit(f.result)
        return
    if trusted:
        out.emit(verify_file(ctx, bundle, trusted, output=out, detail=True))
        return
    out.emit(verify_with(ctx, bundle, None, {}, expect=expected_root(None, [bundle]), output=out, detail=True))
