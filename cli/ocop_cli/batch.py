"""``ocop batch``: open a batch, list the batches, show a batch's timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import click
import ocop_provenance as op
from ocop_provenance.events import DEFAULT_TIME_TOLERANCE
from ocop_provenance.ledger import BatchInfo

from . import keystore
from .context import CliError, Context, ExitCode, OcopGroup, pass_context
from .inputs import check_lot, fold, from_input, resolve_batch
from .ledger import open_ledger
from .params import DATA, DATE, TEXT, TIME, json_option, not_in_future, parse_data, passphrase_file_option
from .render import Output
from .render.batches import BatchCreated, BatchList, BatchTimeline
from .render.words import t


@click.group("batch", cls=OcopGroup)
def group() -> None:
    """Open batches and read their history."""


def attachments(paths: Sequence[Path]) -> tuple[op.Attachment, ...]:
    """Describe each ``--attach`` file by hash, size, name and guessed media type."""
    return tuple(op.Attachment.from_file(p) for p in paths)


attach_option = click.option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Record a file by its SHA-256 (the file itself is not stored). Repeatable.",
)
data_option = click.option(
    "--data",
    "data",
    multiple=True,
    type=DATA,
    metavar="KEY=VALUE",
    help="A key data element: integers stay integers, true/false are booleans, anything else is text. Repeatable.",
)
at_option = click.option(
    "--at", "at", type=TIME, default=None, help="When it happened (ISO 8601; default: now, local time)."
)


@group.command("new")
@click.option("--key", "key_name", required=True, metavar="NAME", help="The signing key (see ocop key list).")
@click.option("--product", required=True, type=TEXT, help='Product name as labelled, e.g. "Đông trùng hạ thảo".')
@click.option("--lot", required=True, type=TEXT, help="Lot code printed on the package.")
@click.option("--quantity", required=True, type=TEXT, help="Quantity (a decimal number, e.g. 120 or 12.5).")
@click.option("--unit", required=True, type=TEXT, help="Unit of the quantity (kg, hộp, ...).")
@click.option("--gtin", default=None, help="GTIN-8/12/13/14 with a valid check digit (optional).")
@click.option("--where", type=TEXT, default=None, help="Where the batch is opened (place name).")
@click.option("--where-code", default=None, metavar="CODE", help="Administrative-unit code of that place.")
@click.option("--producer", type=TEXT, default=None, help="Producer name (default: the key name).")
@click.option("--admin-code", default=None, metavar="CODE", help="Producer's administrative-unit code (digits).")
@click.option("--commune", type=TEXT, default=None, help="Producer's commune or ward, as named at signing.")
@click.option("--province", type=TEXT, default=None, help="Producer's province, as named at signing.")
@click.option("--gln", default=None, help="Producer's GS1 Global Location Number (13 digits).")
@click.option("--ocop-stars", type=click.IntRange(3, 5), default=None, help="OCOP rating: 3, 4 or 5 stars.")
@click.option("--ocop-cert", type=TEXT, default=None, metavar="NUMBER", help="OCOP certificate (decision) number.")
@click.option("--ocop-date", type=DATE, default=None, help="Date the OCOP certificate was issued (YYYY-MM-DD).")
@click.option(
    "--lot-unsealable",
    is_flag=True,
    help="Accept a lot outside GS1's character set (AI 10): the batch can then never carry a QR seal.",
)
@at_option
@data_option
@attach_option
@passphrase_file_option
@json_option
@pass_context
def new(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    key_name: str,
    product: str,
    lot: str,
    quantity: str,
    unit: str,
    gtin: str | None,
    where: str | None,
    where_code: str | None,
    producer: str | None,
    admin_code: str | None,
    commune: str | None,
    province: str | None,
    gln: str | None,
    ocop_stars: int | None,
    ocop_cert: str | None,
    ocop_date: date | None,
    at: datetime | None,
    data: tuple[tuple[str, object], ...],
    attach: tuple[Path, ...],
    passphrase_file: Path | None,
    lot_unsealable: bool = False,
) -> None:
    """Open a new batch (its genesis event) and print the batch id alone on stdout.

    The lot must be printable in a sealed QR code (GS1 AI 10: at most 20 of GS1's 82 characters) unless
    --lot-unsealable is given.
    """
    cert_given = [v is not None for v in (ocop_stars, ocop_cert, ocop_date)]
    if any(cert_given) and not all(cert_given):
        raise click.UsageError(t("--ocop-stars, --ocop-cert and --ocop-date go together"))
    if where is None and where_code is not None:
        raise click.UsageError(t("--where-code needs --where"))
    keystore.validate_name(key_name)
    check_lot(lot, unsealable=lot_unsealable)
    given = {"product.quantity": quantity, "product.lot": lot, "product.gtin": gtin}
    with from_input(**given):
        genesis = op.Genesis(
            time=not_in_future(at, ctx.clock(), DEFAULT_TIME_TOLERANCE),
            product=op.Product(name=product, lot=lot, quantity=quantity, unit=unit, gtin=gtin),
            producer=op.Producer(
                name=producer or key_name, admin_code=admin_code, commune=commune, province=province, gln=gln
            ),
            location=None if where is None else op.Location(name=where, admin_code=where_code),
            certificate=(
                None
                if ocop_stars is None or ocop_cert is None or ocop_date is None
                else op.Certificate(stars=ocop_stars, number=ocop_cert, issued=ocop_date)
            ),
            attachments=attachments(attach),
            data=parse_data(data),  # type: ignore[arg-type]
        )
    signer = keystore.load_signer(ctx, key_name, passphrase_file)
    with open_ledger(ctx) as ledger:
        event = ledger.open_batch(genesis, signer)
    Output(ctx).emit(BatchCreated(event=event, key_name=key_name))


@group.command("list")
@click.option(
    "--product",
    "product_filter",
    type=TEXT,
    default=None,
    metavar="TEXT",
    help="Only batches whose product name contains TEXT (any case; accents may be left out).",
)
@click.option("--since", type=DATE, default=None, help="Only batches opened on or after this date (YYYY-MM-DD).")
@json_option
@pass_context
def list_(ctx: Context, product_filter: str | None, since: date | None) -> None:
    """List the batches in the ledger (oldest first), optionally only some products or dates."""
    if not ctx.ledger_path.exists():
        Output(ctx).emit(BatchList(batches=(), ledger=str(ctx.ledger_path), filtered=False))
        return
    with open_ledger(ctx, create=False) as ledger:
        batches = ledger.batches()
    chosen = [b for b in batches if matches(b, product_filter, since)]
    filtered = product_filter is not None or since is not None
    Output(ctx).emit(BatchList(batches=chosen, ledger=str(ctx.ledger_path), filtered=filtered))


@group.command("show")
@click.argument("batch")
@json_option
@pass_context
def show(ctx: Context, batch: str) -> None:
    """Show the timeline of BATCH (a batch id, a unique prefix of 6+ hex digits, or a lot code).

    Every event is verified (signature and links) as it is read from the ledger.
    """
    with open_ledger(ctx, create=False) as ledger:
        batch_id = resolve_batch(ctx, ledger, batch)
        events = list(ledger.events(batch_id))
        held = {b.batch_id: b for b in ledger.batches()}
    if not events:
        raise CliError(t("batch {batch} has no events", batch=batch), code="E_EMPTY", exit_code=ExitCode.BAD_INPUT)
    used = {r.batch_id for e in events if isinstance(e.body, op.Step) for r in e.body.inputs}
    inputs = {b: (held[b].product, held[b].lot) for b in used if b in held}
    Output(ctx).emit(BatchTimeline(events=events, names=keystore.key_names(ctx), inputs=inputs))


def matches(batch: BatchInfo, product: str | None, since: date | None) -> bool:
    """Whether ``batch`` names ``product`` (a case- and accent-insensitive substring) and opened on or after
    ``since`` (its own calendar date, as it claims)."""
    if product is not None and fold(product) not in fold(batch.product):
        return False
    return since is None or batch.opened.date() >= since
