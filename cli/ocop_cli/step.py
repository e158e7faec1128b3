"""``ocop step``: sign a production step onto a batch."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
import ocop_provenance as op
from ocop_provenance import epcis
from ocop_provenance.events import DEFAULT_TIME_TOLERANCE

from . import keystore
from .batch import at_option, attach_option, attachments, data_option
from .context import Context, OcopGroup, pass_context
from .epcis_io import new_events, steps_to_import
from .i18n import N_
from .ledger import open_ledger
from .params import TEXT, json_option, not_in_future, parse_data, passphrase_file_option
from .render import Output
from .render.batches import StepAdded, StepsImported
from .trust import read_input


@click.group("step", cls=OcopGroup)
def group() -> None:
    """Sign production steps onto a batch."""


@group.command("add")
@click.argument("batch")
@click.option("--key", "key_name", required=True, metavar="NAME", help="The signing key of whoever did the step.")
@click.option(
    "--step",
    "step_name",
    required=True,
    help="A GS1 CBV 2.0 business step (commissioning, inspecting, packing, shipping, ...) "
    "or a namespaced step such as ocop:drying.",
)
@click.option("--where", required=True, type=TEXT, help="Where the step happened (place name).")
@click.option("--where-code", default=None, metavar="CODE", help="Administrative-unit code of that place.")
@click.option(
    "--input",
    "inputs",
    multiple=True,
    metavar="BATCH",
    help="A batch consumed by this step (lineage), pinned to its current head. Repeatable.",
)
@at_option
@data_option
@attach_option
@passphrase_file_option
@json_option
@pass_context
def add(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    batch: str,
    key_name: str,
    step_name: str,
    where: str,
    where_code: str | None,
    inputs: tuple[str, ...],
    at: datetime | None,
    data: tuple[tuple[str, object], ...],
    attach: tuple[Path, ...],
    passphrase_file: Path | None,
) -> None:
    """Sign the next step of BATCH (id or unique hex prefix) and print the new event id."""
    keystore.validate_name(key_name)
    location = op.Location(name=where, admin_code=where_code)
    files = attachments(attach)
    values = parse_data(data)
    time = not_in_future(at, ctx.clock(), DEFAULT_TIME_TOLERANCE)
    signer = keystore.load_signer(ctx, key_name, passphrase_file)
    with open_ledger(ctx, create=False) as ledger:
        batch_id = ledger.resolve(batch)
        input_ids = [ledger.resolve(i) for i in inputs]
        event = ledger.add_step(
            batch_id,
            signer,
            step=step_name,
            time=time,
            location=location,
            inputs=input_ids,
            attachments=files,
            data=values,  # type: ignore[arg-type]
        )
    Output(ctx).emit(StepAdded(event=event, key_name=key_name))


@group.command("import")
@click.argument("batch")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "key_name", required=True, metavar="NAME", help="The signing key of whoever did the steps.")
@passphrase_file_option
@json_option
@pass_context
def import_epcis(ctx: Context, batch: str, source: Path, key_name: str, passphrase_file: Path | None) -> None:
    """Sign the events of an EPCIS 2.0 JSON-LD document SOURCE as the next steps of BATCH.

    \b
    For a producer whose ERP or another traceability system already emits
    GS1 EPCIS: each ObjectEvent (OBSERVE) or TransformationEvent about this
    batch's lot becomes one signed step, in document order, all or none.
    Anything an ocop step cannot carry is refused with the event and field
    named (exit 3); nothing is dropped. The mapping: docs/epcis.md.
    """
    keystore.validate_name(key_name)
    data = read_input(source, N_("EPCIS document"), epcis.MAX_EPCIS_SIZE)
    signer = keystore.load_signer(ctx, key_name, passphrase_file)
    with open_ledger(ctx, create=False) as ledger:
        batch_id = ledger.resolve(batch)
        steps, read = steps_to_import(ledger, batch_id, data, now=ctx.clock(), tolerance=DEFAULT_TIME_TOLERANCE)
        before = ledger.head(batch_id).seq
        ledger.add_steps(batch_id, signer, steps)
        events = new_events(ledger, batch_id, before)
    Output(ctx).emit(StepsImported(source=str(source), events=events, read=read, key_name=key_name))
