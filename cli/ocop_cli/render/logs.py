"""``ocop verify --log-key``: that every head of the bundle is in the portal's transparency log, and how it knows."""

from __future__ import annotations

from dataclasses import dataclass

from ocop_provenance import tlog

from .core import JsonDict
from .words import short, t, tn

__all__ = ["LogChecked"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LogChecked:
    """The verified receipts of a bundle's heads (part of a verify verdict, not a result of its own).

    Attributes:
        receipts_path: The receipts file read.
        verified: One verified receipt per head, in the header's order.
        witnesses: How many witnesses each checkpoint needed.
    """

    receipts_path: str
    verified: tuple[tlog.VerifiedReceipt, ...]
    witnesses: int

    def to_json(self) -> JsonDict:
        """The ``log`` member of the verdict."""
        return {
            "receipts": self.receipts_path,
            "witnesses_required": self.witnesses,
            "heads": [
                {
                    "batch_id": v.leaf.batch_id.hex(),
                    "seq": v.leaf.seq,
                    "head": v.leaf.head_id.hex(),
                    "logged": v.leaf.logged.isoformat(),
                    "origin": v.checkpoint.origin,
                    "index": v.index,
                    "tree_size": v.checkpoint.size,
                    "witnesses": [c.key.name for c in v.checkpoint.cosignatures],
                }
                for v in self.verified
            ],
        }

    def lines(self) -> list[str]:
        """The verdict's rows about the log."""
        origins = sorted({v.checkpoint.origin for v in self.verified})
        rows = [
            tn(
                len(self.verified),
                "  log       the {n} batch head is in the transparency log {origin} (receipt verified offline)",
                "  log       all {n} batch heads are in the transparency log {origin} (receipts verified offline)",
                origin=", ".join(origins),
            )
        ]
        for v in self.verified:
            names = ", ".join(c.key.name for c in v.checkpoint.cosignatures)
            if names:
                rows.append(
                    t("            {batch} #{seq}: leaf {index} of {size}, cosigned by {names}", batch=short(
                      v.leaf.batch_id), seq=v.leaf.seq, index=v.index, size=v.checkpoint.size, names=names)
                )  # fmt: skip
            else:
                rows.append(
                    t("            {batch} #{seq}: leaf {index} of {size}", batch=short(v.leaf.batch_id),
                      seq=v.leaf.seq, index=v.index, size=v.checkpoint.size)
                )  # fmt: skip
        return rows
