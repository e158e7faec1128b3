"""``ocop verify`` with trusted keys, and ``ocop import``: the verified bundle, or where and why it failed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import ocop_provenance as op
from ocop_provenance.events import AttachmentReport, BundleSummary, CorrectionNote

from .core import JsonDict, Result, Text, error_json, lines
from .events import chain_json, correction_lines
from .explain import explain
from .logs import LogChecked
from .words import hex_or_none, short, t, tn

__all__ = ["Imported", "VerifyFailure", "VerifyResult", "problem_lines", "proves", "where_json", "where_text"]


def proves() -> list[str]:
    """What a valid signature proves and what it does not: the end of every verification report."""
    return [
        t("A valid signature proves who recorded what, and that nothing changed since. It does not prove"),
        t("that the records are true, nor that a given physical package is genuine."),
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyResult(Result):
    """What ``ocop verify --trusted-key`` checked (successful case)."""

    path: str
    summary: BundleSummary
    trusted: Mapping[bytes, str]
    backend: str
    corrections: tuple[tuple[bytes, CorrectionNote], ...] = ()
    attachments: AttachmentReport | None = None
    log: LogChecked | None = None

    @property
    def ok(self) -> bool:
        """The bundle verified and, when asked, every recorded attachment is present."""
        return self.attachments is None or self.attachments.ok

    @property
    def signers(self) -> list[bytes]:
        """Every signer's key id, in the order the bundle first shows it."""
        seen: dict[bytes, None] = {}
        for chain in self.summary.chains:
            for k in chain.signers:
                seen.setdefault(k, None)
        return list(seen)

    def to_json(self) -> JsonDict:
        s = self.summary
        return {
            "verified": True,
            "bundle": self.path,
            "root": s.header.root.hex(),
            "events": sum(c.count for c in s.chains),
            "batches": [chain_json(c, i) for i, c in enumerate(s.chains)],
            "lineage": [
                {
                    "batch_id": e.batch_id.hex(),
                    "seq": e.seq,
                    "step": e.step,
                    "input_batch": e.input.batch_id.hex(),
                    "input_seq": e.input.seq,
                    "input_head": e.input.head.hex(),
                }
                for e in s.lineage
            ],
            "signers": [{"key_id": k.hex(), "trusted_key": self.trusted.get(k)} for k in self.signers],
            "backend": self.backend,
            "corrections": [{"batch_id": b.hex(), **n.to_dict()} for b, n in self.corrections],
            **({} if self.attachments is None else {"attachments": self.attachments.to_dict()}),
            **({} if self.log is None else {"log": self.log.to_json()}),
        }

    def to_text(self) -> Text:
        s = self.summary
        root = s.root.genesis.body
        assert isinstance(root, op.Genesis)
        p = root.product
        rows = [t("VERIFIED  {path}", path=self.path)]
        if p.gtin:
            rows.append(t("  product   {name} · lot {lot} · GTIN {gtin}", name=p.name, lot=p.lot, gtin=p.gtin))
        else:
            rows.append(t("  product   {name} · lot {lot}", name=p.name, lot=p.lot))
        rows.append(t("  batch     {batch}", batch=s.header.root.hex()))
        rows.append(
            tn(
                sum(c.count for c in s.chains),
                "  checked   {n} event in {batches}: every signature, every hash link, every sequence number",
                "  checked   {n} events in {batches}: every signature, every hash link, every sequence number",
                batches=tn(len(s.chains), "{n} batch", "{n} batches"),
            )
        )
        rows.append(t("  lineage   every batch used as an input is in the bundle, at the point its consumer signed"))
        rows.extend(
            t(
                "            {batch} #{seq} {step} used {input} as it was at #{input_seq}",
                batch=short(edge.batch_id),
                seq=edge.seq,
                step=edge.step,
                input=short(edge.input.batch_id),
                input_seq=edge.input.seq,
            )
            for edge in s.lineage
        )
        rows.append(t("  batches"))
        for i, c in enumerate(s.chains):
            g = c.genesis.body
            assert isinstance(g, op.Genesis)
            fields = {
                "batch": short(c.batch_id),
                "name": g.product.name,
                "lot": g.product.lot,
                "events": tn(c.count, "{n} event", "{n} events"),
                "seq": c.head.seq,
                "head": short(c.head.event_id),
            }
            if i == 0:
                rows.append(t("    root   {batch}  {name} · lot {lot} · {events} · head #{seq} {head}", **fields))
            else:
                rows.append(t("    input  {batch}  {name} · lot {lot} · {events} · head #{seq} {head}", **fields))
        rows.append(t("  signers"))
        rows.extend(
            t("    {key_id}  {trusted_key}", key_id=k.hex(), trusted_key=self.trusted.get(k, "?")) for k in self.signers
        )
        if self.corrections:
            rows.append(
                t("  corrections (corrected steps stay in the record; only their own signer's corrections apply)")
            )
            for batch, note in self.corrections:
                rows.extend(
                    t("    {batch} #{seq} {what}", batch=short(batch), seq=note.seq, what=line.strip())
                    for line in correction_lines([note])
                )
        if self.attachments is not None:
            rows.extend(attachment_lines(self.attachments))
        if self.log is not None:
            rows.extend(self.log.lines())
        rows.append("")
        rows.extend(f"  {line}" for line in proves())
        return lines(*rows)


def attachment_lines(report: AttachmentReport) -> list[str]:
    """The recorded attachments and what the folder holds for each: present, different or missing."""
    counts = {
        "present": len(report.with_status("present")),
        "different": len(report.with_status("different")),
        "missing": len(report.with_status("missing")),
        "dir": str(report.directory),
    }
    if report.ok:
        rows = [t("  attachments  all {present} present in {dir} (matched by SHA-256 and size)", **counts)]
    else:
        rows = [
            t(
                "  attachments  NOT ALL PRESENT in {dir}: {present} present, {different} different, {missing} missing",
                **counts,
            )
        ]
    for c in report.checks:
        fields = {"name": c.attachment.name, "seq": c.seq, "batch": short(c.batch_id)}
        if c.status == "present" and c.renamed and c.path is not None:
            rows.append(t("    present    {name} (batch {batch} #{seq}) as {file}", file=c.path.name, **fields))
        elif c.status == "present":
            rows.append(t("    present    {name} (batch {batch} #{seq})", **fields))
        elif c.status == "different":
            rows.append(
                t("    DIFFERENT  {name} (batch {batch} #{seq}): the file of that name holds other bytes", **fields)
            )
        else:
            rows.append(t("    MISSING    {name} (batch {batch} #{seq})", **fields))
    return rows


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyFailure(Result):
    """Where and why a bundle failed (``ocop verify``, ``ocop import``): as far as re-reading it could tell."""

    path: str
    error: op.ProvenanceError
    batch_id: bytes | None = None
    batch_position: int | None = None
    seq: int | None = None
    bundle_index: int | None = None

    @property
    def ok(self) -> bool:
        return False

    def to_json(self) -> JsonDict:
        return {"verified": False, "bundle": self.path, "error": {**error_json(self.error), **where_json(self)}}

    def to_text(self) -> Text:
        e = self.error
        rows = [t("NOT VERIFIED  {path}", path=self.path)]
        where = where_text(self)
        if e.key_id:
            where.append(t("signed by key {key}", key=e.key_id[:16]))
        if where:
            rows.append(t("  where     {where}", where=", ".join(where)))
        rows.extend(problem_lines(e, explain(e.code)))
        rows.append(t("  Do not rely on any record in this bundle."))
        return lines(*rows)


def where_json(f: VerifyFailure) -> JsonDict:
    """Where a failure is, as JSON members: its explanation, batch, position and step (null when unknown)."""
    return {
        "explanation": explain(f.error.code),
        "batch_id": hex_or_none(f.batch_id),
        "batch_position": f.batch_position,
        "seq": f.seq,
        "bundle_index": f.bundle_index,
    }


def where_text(f: VerifyFailure) -> list[str]:
    """Where a failure is, in words: its position in the bundle, its batch, step and event id (as far as known).

    Positions written ``#N`` count from 0, like step numbers: ``event #3 of the bundle`` is ``bundle_index`` 3 (and
    the error's ``index`` 3) in the JSON document.
    """
    where = []
    if f.bundle_index is not None:
        where.append(t("event #{n} of the bundle", n=f.bundle_index))
    if f.batch_id is not None and f.batch_position == 0:
        where.append(t("the root batch {batch}", batch=short(f.batch_id)))
    elif f.batch_id is not None:
        where.append(t("an input batch {batch}", batch=short(f.batch_id)))
    if f.seq is not None:
        where.append(t("step #{seq}", seq=f.seq))
    if f.error.event_id:
        where.append(t("event id {event}", event=f.error.event_id[:16]))
    return where


def problem_lines(e: op.ProvenanceError, explanation: str | None, *, wide: bool = False) -> list[str]:
    """The ``problem`` (plain words, else the message) and ``detail`` (message and code) lines of a failure.

    ``wide`` aligns them with the twelve-column labels of the audit report.
    """
    if wide:
        return [
            t("  problem     {problem}", problem=explanation or e.message),
            t("  detail      {message} [{code}]", message=e.message, code=e.code),
        ]
    return [
        t("  problem   {problem}", problem=explanation or e.message),
        t("  detail    {message} [{code}]", message=e.message, code=e.code),
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Imported(Result):
    """``ocop import``: the bundle verified and its new events were stored."""

    path: str
    result: VerifyResult
    added: int

    def to_json(self) -> JsonDict:
        s = self.result.summary
        return {
            "bundle": self.path,
            "root": s.header.root.hex(),
            "events": sum(c.count for c in s.chains),
            "added": self.added,
            "batches": [chain_json(c, i) for i, c in enumerate(s.chains)],
        }

    def to_text(self) -> Text:
        s = self.result.summary
        note = t(
            "verified {path} and added {added} of {total} ({batches}) to the ledger",
            path=self.path,
            added=tn(self.added, "{n} new event", "{n} new events"),
            total=sum(c.count for c in s.chains),
            batches=tn(len(s.chains), "{n} batch", "{n} batches"),
        )
        return lines(s.header.root.hex(), err=[note])
