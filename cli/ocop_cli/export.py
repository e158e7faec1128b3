"""``ocop export``: write the offline bundle of a batch (or its events alone as a COSE sequence)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import click

from .context import CliError, Context, ExitCode, OcopCommand, pass_context
from .ledger import open_ledger
from .params import json_option
from .render import Output
from .render.batches import Exported


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[BinaryIO]:
    """Write to a temporary file next to ``path`` and move it into place only when everything was written.

    ``-`` writes to stdout (refused when stdout is a terminal: the output is binary).
    """
    if path == "-":
        if sys.stdout.isatty():
            raise CliError("refusing to write binary data to a terminal: use -o FILE", exit_code=ExitCode.USAGE)
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.command("export", cls=OcopCommand)
@click.argument("batch")
@click.option("-o", "--output", required=True, metavar="FILE", help="Where to write ('-' for stdout).")
@click.option(
    "--cose-seq",
    is_flag=True,
    help="Write only this batch's events, as an RFC 8742 CBOR sequence of COSE_Sign1 in chain order "
    "(no header, no upstream batches).",
)
@json_option
@pass_context
def command(ctx: Context, batch: str, output: str, cose_seq: bool) -> None:
    """Export BATCH (id or unique hex prefix) for an auditor.

    \b
    The bundle holds the batch, every batch it was made from, and the signers'
    public keys (which an auditor must NOT trust just because they are there:
    verify with keys obtained from the signers, ocop verify --trusted-key).
    """
    if output == "-" and ctx.json:
        raise click.UsageError("--json needs -o FILE: stdout would carry both the export and the report")
    out = Output(ctx)
    with open_ledger(ctx, create=False) as ledger:
        batch_id = ledger.resolve(batch)
        if cose_seq:
            with atomic_output(output) as f:
                count = ledger.export_cose_sequence(batch_id, f)
                size = f.tell() if output != "-" else 0
            out.emit(Exported(path=output, kind="cose-seq", events=count, batches=1, size=size))
            return
        with atomic_output(output) as f, out.progress("exporting") as progress:
            header = ledger.export_bundle(batch_id, f, progress=progress)
            size = f.tell() if output != "-" else 0
    out.emit(Exported(path=output, kind="bundle", events=header.total_events, batches=len(header.batches), size=size))
