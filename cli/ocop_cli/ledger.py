"""Opening the ledger (``$OCOP_HOME/ledger.sqlite``) for the commands, and journaling the heads they hand out."""

from __future__ import annotations

import ocop_provenance as op

from .context import Context
from .render import Output
from .render.words import t

__all__ = ["open_ledger", "record_handout"]


def open_ledger(ctx: Context, *, create: bool = True, allow_rollback: bool = False) -> op.Ledger:
    """Open the ledger, durable (one fsync per commit: rural power cuts are common).

    Warns on stderr when the head journal (``ledger.sqlite.heads``) had to be started for a ledger that already
    held batches: a first run of a version that keeps one, or a journal that was deleted.

    Args:
        ctx: The CLI context.
        create: Create the ledger when it does not exist; when False a missing ledger is an empty one and
            :class:`~ocop_provenance.NotFoundError` is raised instead of creating a file.
        allow_rollback: Open a ledger that lacks heads it handed out, to restore them (``ocop import``).

    Raises:
        NotFoundError: ``create`` is False and there is no ledger yet (``E_NOT_FOUND``).
        TamperError: The ledger lacks a head it handed out (``E_LEDGER_ROLLBACK``), or the head journal is
            broken (``E_JOURNAL_BROKEN``) (exit 1).
        StoreError: The ledger cannot be opened.
    """
    if not create and not ctx.ledger_path.exists():
        raise op.NotFoundError(t("there is no ledger yet in {home} (open a batch with: ocop batch new)", home=ctx.home))
    ledger = op.Ledger.open(ctx.ledger_path, durable=True, allow_rollback=allow_rollback)
    status = ledger.journal_status()
    if status.adopted:
        Output(ctx).warn(
            t(
                "the head journal {path} was missing; a new one was started with the current heads of "
                "{count} batches (a deleted journal looks the same: see docs/store.md)",
                path=status.path,
                count=status.adopted,
            )
        )
    return ledger


def record_handout(ctx: Context, head: op.SignedEvent, purpose: str) -> None:
    """Journal ``head`` in the ledger's head journal before it leaves in a seal or a publication.

    Raises:
        TamperError: The ledger no longer holds it as read (``E_LEDGER_ROLLBACK``), or the journal is broken.
        StoreError: The journal cannot be written.
    """
    with open_ledger(ctx, create=False) as ledger:
        ledger.record_handout(head.batch_id, purpose=purpose, seq=head.seq)
