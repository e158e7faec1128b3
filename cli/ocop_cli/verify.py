"""``ocop verify``: check a bundle offline against keys the auditor trusts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import click
import ocop_provenance as op

from .context import CliError, Context, ExitCode, OcopCommand, pass_context
from .params import json_option
from .render import LineageEdge, Renderer, VerifyFailure, VerifyResult

MAX_TRUSTED_KEY_FILE = 4096


def load_trusted_keys(paths: Sequence[Path]) -> tuple[list[op.PublicKey], dict[bytes, str]]:
    """Read PEM public keys; return them and a key id -> file name map.

    Raises:
        CliError: A file cannot be read or is not an Ed25519 public key (exit 3).
    """
    keys = []
    labels: dict[bytes, str] = {}
    for p in paths:
        try:
            with p.open("rb") as f:
                data = f.read(MAX_TRUSTED_KEY_FILE + 1)
        except OSError as e:
            raise CliError(f"cannot read the trusted key {p}: {e.strerror}", code="E_IO") from e
        try:
            key = op.PublicKey.from_pem(data)
        except op.KeyFormatError as e:
            raise CliError(f"the trusted key {p} is not usable: {e.message}", code=e.code) from e
        keys.append(key)
        labels.setdefault(key.key_id, str(p))
    return keys, labels


def locate(src: BinaryIO, error: op.ProvenanceError, path: str) -> VerifyFailure:
    """Find which batch and step an error is about, by re-reading the bundle without trusting it."""
    failure = VerifyFailure(path=path, error=error)
    try:
        src.seek(0)
        reader = op.BundleReader(src)
        for n, (position, raw) in enumerate(reader.events()):
            batch_id = reader.header.batches[position].batch_id
            try:
                event = op.parse_unverified_event(raw)
            except op.ProvenanceError:
                # The verifier stops at the first failure: an event that does not parse is the one.
                return VerifyFailure(path=path, error=error, batch_id=batch_id, batch_position=position, bundle_index=n)
            if error.event_id is not None and event.event_id.hex() == error.event_id:
                return VerifyFailure(
                    path=path, error=error, batch_id=batch_id, batch_position=position, seq=event.seq, bundle_index=n
                )
    except (op.ProvenanceError, OSError):
        pass
    return failure


def verify_file(
    ctx: Context,
    bundle: Path,
    trusted: Sequence[Path],
    *,
    expect: bytes | None = None,
    renderer: Renderer | None = None,
) -> VerifyResult | VerifyFailure:
    """Verify ``bundle`` against the trusted key files.

    Returns:
        The result on success; where and why it failed otherwise (anything wrong with the bundle's bytes).

    Raises:
        CliError: A trusted key is unusable (exit 3).
        OSError: The bundle cannot be opened (exit 3).
    """
    keys, labels = load_trusted_keys(trusted)
    ring = op.KeyRing.of(keys)
    out = renderer or Renderer(ctx)
    with bundle.open("rb") as src:
        try:
            with out.progress("verifying") as progress:
                summary = op.verify_bundle(src, ring, root=expect, now=ctx.clock(), progress=progress)
        except op.ProvenanceError as e:
            return locate(src, e, str(bundle))
        try:
            edges = lineage_edges(src, summary)
        except op.ProvenanceError as e:
            return VerifyFailure(path=str(bundle), error=e)
    return VerifyResult(path=str(bundle), summary=summary, trusted=labels, backend=op.ed25519_backend(), lineage=edges)


def lineage_edges(src: BinaryIO, summary: op.BundleSummary) -> list[LineageEdge]:
    """Re-read a verified bundle to list which step used which input batch.

    Signatures are not checked again: each event is tied to the verified chain by hash. A batch's events must run
    from the verified genesis (whose id is the batch id) through ``prev`` links to the verified head, so by
    SHA-256's collision resistance they are the events that were verified, even if the file changed meanwhile.

    Raises:
        ChainError: The file no longer holds the verified events (``E_CHANGED``).
    """
    changed = op.ChainError("the file changed while it was being verified", code="E_CHANGED")
    src.seek(0)
    reader = op.BundleReader(src)
    edges: list[LineageEdge] = []
    last: list[bytes | None] = [None] * len(summary.chains)
    for position, raw in reader.events():
        event = op.parse_unverified_event(raw)
        chain = summary.chains[position]
        expected_prev = last[position]
        if expected_prev is None:
            if event.event_id != chain.batch_id:
                raise changed
        elif event.prev != expected_prev or event.batch_id != chain.batch_id:
            raise changed
        last[position] = event.event_id
        if isinstance(event.body, op.Step):
            edges.extend(
                LineageEdge(
                    batch_id=event.batch_id,
                    seq=event.seq,
                    step=event.step,
                    input_batch=ref.batch_id,
                    input_seq=ref.seq,
                    input_head=ref.head,
                )
                for ref in event.body.inputs
            )
    if [c.head.event_id for c in summary.chains] != last:
        raise changed
    return edges


def _hex_batch(_ctx: click.Context, _param: click.Parameter, value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise click.BadParameter("must be a full batch id (64 hex digits)")
    return raw


@click.command("verify", cls=OcopCommand)
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--trusted-key",
    "trusted",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PEM",
    help="A public key you trust (PEM, from ocop key export), obtained from its owner. Repeatable.",
)
@click.option(
    "--expect-batch",
    callback=_hex_batch,
    default=None,
    metavar="BATCH_ID",
    help="Fail unless the bundle is about this batch (full id): guards against a bundle of another batch.",
)
@json_option
@pass_context
def command(ctx: Context, bundle: Path, trusted: tuple[Path, ...], expect_batch: bytes | None) -> None:
    """Verify BUNDLE offline: every signature, hash link and lineage link.

    \b
    Only the --trusted-key files are trusted; the keys inside the bundle are not.
    Exit 0 when everything verifies, 1 when anything does not (the output says
    which event failed and why), 3 when a file cannot be read.
    """
    out = Renderer(ctx)
    result = verify_file(ctx, bundle, trusted, expect=expect_batch, renderer=out)
    if isinstance(result, VerifyFailure):
        out.verify_failed(result)
        click.get_current_context().exit(ExitCode.VERIFY_FAILED)
    out.verified(result)
