"""Lineage in the ledger: which batches a batch was made from, in bundle order, and the loop check.

The ``inputs`` table holds one row per (consuming step, input batch). A bundle carries the root batch first and
each input batch after every batch that consumes it (docs/adr/0013-store-lineage-order-and-import.md), and
appending a step whose input would make lineage loop is refused, so that such an order always exists.
"""

from __future__ import annotations

from collections import deque

from .._bundle import bundle_order
from ._db import Connection, not_found, sql, tampered

__all__ = ["lineage", "upstream"]


def upstream(conn: Connection, batch_id: bytes) -> set[bytes]:
    """Return the batch and every batch it was made from, at any depth."""
    seen = {batch_id}
    queue = deque([batch_id])
    while queue:
        b = queue.popleft()
        for row in conn.execute("SELECT DISTINCT input_batch FROM inputs WHERE batch_id = ?", (b,)):
            up = bytes(row[0])
            if up not in seen:
                seen.add(up)
                queue.append(up)
    return seen


def lineage(conn: Connection, batch_id: bytes) -> list[bytes]:
    """Return the batch, then every upstream batch, each once, consumers before their inputs.

    Raises:
        NotFoundError: No such batch.
    """
    with sql("reading lineage"):
        if conn.execute("SELECT 1 FROM events WHERE event_id = ? AND seq = 0", (batch_id,)).fetchone() is None:
            raise not_found(batch_id)

        def inputs_of(batch: bytes) -> list[bytes]:
            query = "SELECT input_batch FROM inputs WHERE batch_id = ? GROUP BY input_batch ORDER BY min(seq)"
            return [bytes(r[0]) for r in conn.execute(query, (batch,))]

        try:
            return bundle_order(batch_id, inputs_of)
        except ValueError:  # pragma: no cover - appends refuse loops
            raise tampered("the lineage of this batch loops") from None
