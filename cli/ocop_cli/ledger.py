"""Opening the ledger (``$OCOP_HOME/ledger.sqlite``) for the commands."""

from __future__ import annotations

import ocop_provenance as op

from .context import Context

__all__ = ["open_ledger"]


def open_ledger(ctx: Context, *, create: bool = True) -> op.Ledger:
    """Open the ledger, durable (one fsync per commit: rural power cuts are common).

    Args:
        ctx: The CLI context.
        create: Create the ledger when it does not exist; when False a missing ledger is an empty one and
            :class:`~ocop_provenance.NotFoundError` is raised instead of creating a file.

    Raises:
        NotFoundError: ``create`` is False and there is no ledger yet (``E_NOT_FOUND``).
        StoreError: The ledger cannot be opened.
    """
    if not create and not ctx.ledger_path.exists():
        raise op.NotFoundError(f"there is no ledger yet in {ctx.home} (open a batch with: ocop batch new)")
    return op.Ledger.open(ctx.ledger_path, durable=True)
