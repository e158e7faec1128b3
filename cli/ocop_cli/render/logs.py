"""``ocop verify --log-key``: that every head of the bundle is in the portal's transparency log, and how it knows."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import ocop_provenance as op
from ocop_provenance import tlog

from .core import JsonDict, Result, Text, lines
from .words import hex_or_none, short, t, tn

__all__ = ["Finding", "LogChecked", "LogSeen", "Monitored", "WitnessServing"]


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """What ``ocop monitor`` found wrong.

    Attributes:
        kind: ``fork`` (two signed events at one seq, with ``proof``), ``split-view`` (the checkpoint does not
            extend the one seen last run), ``leaves`` (the leaves served are not the signed tree) or
            ``unavailable`` (a logged head's events are neither served nor kept: the pair cannot be settled).
        code: The stable code (``E_FORK``, ``E_LOG_CONSISTENCY``, ``E_LOG_INCLUSION``, ``E_LOG_LEAF`` …).
        message: In plain words.
        batch_id: The batch, when known.
        seq: The seq, when known.
        proof: The equivocation proof's bytes (docs/format.md §9), for a fork.
        proof_file: Where it was written (``--proofs``).
        leaves: The two log indexes of a fork.
        signed: For a fork: both events' signatures verify with the keys the portal's bundles ship.
    """

    kind: str
    code: str
    message: str
    batch_id: bytes | None = None
    seq: int | None = None
    proof: bytes | None = None
    proof_file: str | None = None
    leaves: tuple[int, int] | None = None
    signed: bool | None = None

    def to_json(self) -> JsonDict:
        """JSON form."""
        return {
            "kind": self.kind,
            "code": self.code,
            "message": self.message,
            "batch_id": hex_or_none(self.batch_id),
            "seq": self.seq,
            "proof": None if self.proof is None else base64.b64encode(self.proof).decode("ascii"),
            "proof_file": self.proof_file,
            "leaves": None if self.leaves is None else list(self.leaves),
            "signed": self.signed,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Monitored(Result):
    """``ocop monitor``: the log walked, and what was wrong (exit 1 when anything was)."""

    portal: str
    origin: str
    size: int
    batches: int = 0
    pairs: int = 0
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> JsonDict:
        return {
            "portal": self.portal,
            "origin": self.origin,
            "size": self.size,
            "batches": self.batches,
            "pairs_checked": self.pairs,
            "findings": [f.to_json() for f in self.findings],
        }

    def to_text(self) -> Text:
        head = t(
            "log {origin} at {portal}: {size} leaves, {batches} batches, {pairs} head pairs checked",
            origin=self.origin,
            portal=self.portal,
            size=self.size,
            batches=self.batches,
            pairs=self.pairs,
        )
        if self.ok:
            return lines(t("CLEAN  {head}", head=head), t("  every batch's logged heads are one chain"))
        rows = [t("FOUND  {head}", head=head)]
        for f in self.findings:
            rows.append(t("  {kind}: {message} [{code}]", kind=f.kind, message=f.message, code=f.code))
            if f.kind == "fork" and f.signed:
                rows.append(t("    both events are validly signed: the producer signed two histories"))
            if f.proof_file is not None:
                rows.append(t("    proof written to {path} (check it with the signer's public key)", path=f.proof_file))
            elif f.proof is not None:
                rows.append(t("    proof (base64): {proof}", proof=base64.b64encode(f.proof).decode("ascii")))
        return lines(*rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class WitnessServing(Result):
    """``ocop witness``: the witness listens (written before serving, until Ctrl-C)."""

    url: str
    vkey: str
    state: str

    def to_json(self) -> JsonDict:
        return {"url": self.url, "witness_key": self.vkey, "state": self.state}

    def to_text(self) -> Text:
        return lines(
            t("witness listening at {url}/add-checkpoint (Ctrl-C stops it)", url=self.url),
            t("  its key (give it to the portal and to verifiers): {vkey}", vkey=self.vkey),
            t("  state file: {path}", path=self.state),
        )


@dataclass(frozen=True, slots=True)
class LogSeen:
    """What ``ocop publish --log-key`` checked of the portal's log.

    Attributes:
        origin: The log's origin ("" when not known).
        size: The size of the checkpoint the receipts are proven against (0 when not known).
        previous: The size of the checkpoint held from an earlier publication, or None.
        error: Why the receipts or the log were refused, or None.
        evidence: With a split view: the file holding both signed checkpoints.
    """

    origin: str = ""
    size: int = 0
    previous: int | None = None
    error: op.ProvenanceError | None = None
    evidence: str | None = None
