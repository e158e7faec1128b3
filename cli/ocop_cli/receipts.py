"""Log receipts kept beside the ledger: ``ocop publish`` stores them, ``ocop export --receipts`` ships them.

A receipt (docs/format.md §18.5) proves that one head of one batch is in a portal's transparency log. They are
kept as files in ``receipts/`` next to the ledger, one per logged head, named ``<batch id>.<seq>.receipt`` (the
receipt's CBOR): a later receipt of the same head (against a bigger checkpoint) replaces the earlier one. Files,
not ledger rows: a receipt is public, needs no transaction with the events, and must not change the ledger's schema.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import ocop_provenance as op
from ocop_provenance import tlog
from ocop_provenance.events import BundleHeader

from .context import Context
from .files import atomic_output, write_file
from .render.words import short, t

__all__ = [
    "MAX_RECEIPT_FILE",
    "receipt_path",
    "receipts_dir",
    "receipts_for",
    "store_receipts",
    "write_receipts_file",
]

#: The largest receipt file read back.
MAX_RECEIPT_FILE = 256 << 10


def receipts_dir(ctx: Context) -> Path:
    """Where the receipts of this ledger are kept."""
    return ctx.ledger_path.parent / "receipts"


def receipt_path(ctx: Context, batch_id: bytes, seq: int) -> Path:
    """The file of the receipt of head ``seq`` of ``batch_id``."""
    return receipts_dir(ctx) / f"{batch_id.hex()}.{seq}.receipt"


def _heads(header: BundleHeader) -> set[tuple[bytes, int, bytes]]:
    return {(b.batch_id, b.count - 1, b.head) for b in header.batches}


def store_receipts(ctx: Context, header: BundleHeader, answer: Mapping[str, Any]) -> tuple[list[Path], list[str]]:
    """Keep the receipts of a portal's publish answer that log a head of the bundle published.

    Receipts are stored as given (``ocop verify --log-key`` verifies them); one that does not parse, or logs a head
    the bundle does not have, is not kept.

    Returns:
        The files written, and a problem per receipt not kept.
    """
    log = answer.get("log")
    items = log.get("receipts") if isinstance(log, Mapping) else None
    written: list[Path] = []
    problems: list[str] = []
    heads = _heads(header)
    for item in items if isinstance(items, list) else []:
        try:
            raw = base64.b64decode(str(item.get("receipt", "")), validate=True)
            receipt = tlog.Receipt.from_bytes(raw)
            leaf = tlog.LogLeaf.from_bytes(receipt.leaf)
        except (op.ProvenanceError, binascii.Error, AttributeError) as e:
            problems.append(str(getattr(e, "message", e)))
            continue
        if (leaf.batch_id, leaf.seq, leaf.head_id) not in heads:
            problems.append(
                t("a receipt for a head the bundle does not have ({batch} #{seq})", batch=short(leaf.batch_id),
                  seq=leaf.seq)
            )  # fmt: skip
            continue
        path = receipt_path(ctx, leaf.batch_id, leaf.seq)
        write_file(path, raw)
        written.append(path)
    return written, problems


def receipts_for(
    ctx: Context, heads: Iterable[tuple[bytes, int]]
) -> tuple[list[tlog.Receipt], list[tuple[bytes, int]]]:
    """The stored receipts of the heads ``(batch id, seq)``, and the heads that have none.

    Raises:
        FormatError: A stored receipt is malformed.
    """
    found: list[tlog.Receipt] = []
    missing: list[tuple[bytes, int]] = []
    for batch_id, seq in heads:
        path = receipt_path(ctx, batch_id, seq)
        if not path.is_file():
            missing.append((batch_id, seq))
            continue
        with path.open("rb") as f:
            found.append(tlog.Receipt.from_bytes(f.read(MAX_RECEIPT_FILE + 1)))
    return found, missing


def write_receipts_file(path: str, receipts: Sequence[tlog.Receipt]) -> int:
    """Write a receipts file (docs/format.md §18.11); return its size."""
    data = tlog.encode_receipts(receipts)
    with atomic_output(path) as f:
        f.write(data)
    return len(data)
