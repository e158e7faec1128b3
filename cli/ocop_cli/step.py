"""``ocop step``: sign a production step onto a batch, or a correction of an earlier step."""

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
from .inputs import CBV_STEP_NAMES_VI, COMMON_CUSTOM_STEPS, from_input, resolve_batch
from .ledger import open_ledger
from .params import TEXT, json_option, not_in_future, parse_data, passphrase_file_option
from .render import Output
from .render.batches import StepAdded, StepCorrected, StepsImported
from .render.steps import StepList
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
    """Sign the next step of BATCH (id, unique hex prefix or lot code) and print the new event id.

    ocop step list shows the business steps (GS1 CBV) and the common namespaced ones.
    """
    keystore.validate_name(key_name)
    with from_input():
        location = op.Location(name=where, admin_code=where_code)
        files = attachments(attach)
    values = parse_data(data)
    time = not_in_future(at, ctx.clock(), DEFAULT_TIME_TOLERANCE)
    signer = keystore.load_signer(ctx, key_name, passphrase_file)
    with open_ledger(ctx, create=False) as ledger:
        batch_id = resolve_batch(ctx, ledger, batch)
        input_ids = [resolve_batch(ctx, ledger, i) for i in inputs]
        with from_input(step=step_name):
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


@group.command("correct")
@click.argument("batch")
@click.option("--seq", "seq", required=True, type=click.IntRange(min=0), help="The step to correct: its #number.")
@click.option("--reason", required=True, type=TEXT, help="Why the step is wrong, in plain words (signed, shown).")
@click.option("--key", "key_name", required=True, metavar="NAME", help="Your signing key: the step's own signer's.")
@click.option("--where", type=TEXT, default=None, help="Where the correction is made (default: the step's place).")
@click.option("--where-code", default=None, metavar="CODE", help="Administrative-unit code of that place.")
@at_option
@data_option
@attach_option
@passphrase_file_option
@json_option
@pass_context
def correct(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    batch: str,
    seq: int,
    reason: str,
    key_name: str,
    where: str | None,
    where_code: str | None,
    at: datetime | None,
    data: tuple[tuple[str, object], ...],
    attach: tuple[Path, ...],
    passphrase_file: Path | None,
) -> None:
    """Correct step #SEQ of BATCH: sign a correction as the batch's next step and print its event id.

    \b
    The wrong step stays in the record; the correction names it, says why,
    and gives the corrected values (--data KEY=VALUE, repeatable). Without
    --data the step is withdrawn: it did not happen as recorded. Only a
    correction signed by the step's own signer is applied by verifiers.
    """
    if seq == 0:
        raise click.BadParameter("#0 opened the batch and cannot be corrected: open a new batch", param_hint="--seq")
    if where is None and where_code is not None:
        raise click.UsageError("--where-code needs --where")
    keystore.validate_name(key_name)
    files = attachments(attach)
    values = parse_data(data)
    time = not_in_future(at, ctx.clock(), DEFAULT_TIME_TOLERANCE)
    signer = keystore.load_signer(ctx, key_name, passphrase_file)
    with open_ledger(ctx, create=False) as ledger:
        batch_id = resolve_batch(ctx, ledger, batch)
        location = None if where is None else op.Location(name=where, admin_code=where_code)
        if location is None:
            location = next((e.body.location for e in ledger.events(batch_id) if e.seq == seq), None)
        event = ledger.correct_step(
            batch_id,
            signer,
            seq=seq,
            reason=reason,
            time=time,
            location=location or op.Location(name="-"),
            data=values or None,  # type: ignore[arg-type]
            attachments=files,
        )
    Output(ctx).emit(StepCorrected(event=event, key_name=key_name))


@group.command("list")
@json_option
@pass_context
def list_steps(ctx: Context) -> None:
    """List the steps --step accepts: the GS1 CBV 2.0 business steps and common ocop: steps, with Vietnamese names."""
    cbv = dict(sorted(CBV_STEP_NAMES_VI.items()))
    Output(ctx).emit(StepList(cbv=cbv, custom=COMMON_CUSTOM_STEPS))


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
        batch_id = resolve_batch(ctx, ledger, batch)
        steps, read = steps_to_import(ledger, batch_id, data, now=ctx.clock(), tolerance=DEFAULT_TIME_TOLERANCE)
        before = ledger.head(batch_id).seq
        ledger.add_steps(batch_id, signer, steps)
        events = new_events(ledger, batch_id, before)
    Output(ctx).emit(StepsImported(source=str(source), events=events, read=read, key_name=key_name))
