"""``ocop export``: write the offline bundle of a batch (or its events alone as a COSE sequence)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .context import Context, OcopCommand, pass_context
from .epcis_io import epcis_export
from .files import atomic_output
from .i18n import N_
from .inputs import resolve_batch
from .ledger import open_ledger
from .params import json_option
from .receipts import receipts_for, write_receipts_file
from .render import Output
from .render.batches import EpcisExported, Exported
from .render.words import t
from .trust import DocumentFailure, anchor_options, make_anchor, verify_trust_file
from .verify import trust_list_option


@click.command("export", cls=OcopCommand)
@click.argument("batch")
@click.option("-o", "--output", required=True, metavar="FILE", help="Where to write ('-' for stdout).")
@click.option(
    "--cose-seq",
    is_flag=True,
    help="Write only this batch's events, as an RFC 8742 CBOR sequence of COSE_Sign1 in chain order "
    "(no header, no upstream batches).",
)
@click.option(
    "--epcis",
    is_flag=True,
    help="Write a GS1 EPCIS 2.0 JSON-LD document of the batch and every batch it was made from "
    "(docs/epcis.md), built from the verified bundle.",
)
@click.option(
    "--receipts",
    "receipts_path",
    default=None,
    metavar="FILE",
    help="Also write the transparency-log receipts of the bundle's heads (kept by ocop publish) to FILE, for "
    "ocop verify --log-key (docs/format.md §18.11).",
)
@trust_list_option(N_("With --epcis: name each signer as this signed trust list names them."))
@anchor_options
@json_option
@pass_context
def command(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    batch: str,
    output: str,
    cose_seq: bool,
    epcis: bool,
    receipts_path: str | None,
    trust_path: Path | None,
    **anchor: Any,
) -> None:
    """Export BATCH (id or unique hex prefix) for an auditor.

    \b
    The bundle holds the batch, every batch it was made from, and the signers'
    public keys (which an auditor must NOT trust just because they are there:
    verify with keys obtained from the signers, ocop verify --trusted-key).
    With --epcis, the same events as a GS1 EPCIS 2.0 JSON-LD document: each
    EPCIS event carries the signed event's id and signer, and its CBV 2.0
    event hash as eventID.
    """
    if output == "-" and ctx.json:
        raise click.UsageError(t("--json needs -o FILE: stdout would carry both the export and the report"))
    if cose_seq and epcis:
        raise click.UsageError(t("give either --cose-seq or --epcis"))
    if receipts_path is not None and (cose_seq or epcis or receipts_path == "-"):
        raise click.UsageError(t("--receipts FILE goes with a bundle export"))
    if trust_path is not None and not epcis:
        raise click.UsageError(t("--trust goes with --epcis"))
    out = Output(ctx)
    if epcis:
        now = ctx.clock()
        try:
            trust = None if trust_path is None else verify_trust_file(ctx, trust_path, make_anchor(**anchor), now)
        except DocumentFailure as failed:  # NOT VERIFIED, exit 1: no signer can be named through it
            out.emit(failed.result)
            return
        with open_ledger(ctx, create=False) as ledger:
            data, events, batches = epcis_export(
                ledger,
                resolve_batch(ctx, ledger, batch),
                now=now,
                created=ctx.utc_now(),
                trust=None if trust is None else trust.trust,
            )
        with atomic_output(output) as f:
            f.write(data)
        out.emit(EpcisExported(path=output, events=events, batches=batches, size=len(data)))
        return
    with open_ledger(ctx, create=False) as ledger:
        batch_id = resolve_batch(ctx, ledger, batch)
        if cose_seq:
            with atomic_output(output) as f:
                count = ledger.export_cose_sequence(batch_id, f)
                size = f.tell() if output != "-" else 0
            out.emit(Exported(path=output, kind="cose-seq", events=count, batches=1, size=size))
            return
        with atomic_output(output) as f, out.progress("exporting") as progress:
            header = ledger.export_bundle(batch_id, f, progress=progress)
            size = f.tell() if output != "-" else 0
    receipts: tuple[str, int, int] | None = None
    missing: list[tuple[bytes, int]] = []
    if receipts_path is not None:
        found, missing = receipts_for(ctx, [(b.batch_id, b.count - 1) for b in header.batches])
        receipts = (receipts_path, len(found), write_receipts_file(receipts_path, found))
    out.emit(
        Exported(
            path=output,
            kind="bundle",
            events=header.total_events,
            batches=len(header.batches),
            size=size,
            receipts=receipts,
            unlogged=tuple(missing),
        )
    )
