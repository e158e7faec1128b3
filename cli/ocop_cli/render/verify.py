"""``ocop verify`` with trusted keys, and ``ocop import``: the verified bundle, or where and why it failed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import ocop_provenance as op
from ocop_provenance.events import AttachmentReport, BundleSummary, CorrectionNote

from .core import JsonDict, Result, Text, error_json, lines
from .events import chain_json, correction_lines, event_json, event_lines
from .explain import explain
from .logs import LogChecked
from .words import hex_or_none, short, t, tn

__all__ = [
    "Imported",
    "VerifyFailure",
    "VerifyResult",
    "input_signer_text",
    "problem_lines",
    "proves",
    "where_json",
    "where_text",
]


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
    events: tuple[op.SignedEvent, ...] = ()
    """Every event of the bundle, in bundle order, when the steps are shown (not with ``--summary``)."""
    self_keys: bool = False
    """Checked only against the keys the bundle carries (``ocop show`` without trust): the content is unverified."""
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

    def _names(self) -> dict[bytes, tuple[str, str]]:
        names = {}
        for c in self.summary.chains:
            g = c.genesis.body
            assert isinstance(g, op.Genesis)
            names[c.batch_id] = (g.product.name, g.product.lot)
        return names

    def _recorded_json(self) -> JsonDict:
        if not self.events:
            return {}
        names = self._names()
        by_batch: dict[bytes, list[JsonDict]] = {c.batch_id: [] for c in self.summary.chains}
        for e in self.events:
            by_batch.setdefault(e.batch_id, []).append(event_json(e, self.trusted, names))
        return {"recorded": [{"batch_id": b.hex(), "events": events} for b, events in by_batch.items()]}

    def _recorded_lines(self) -> list[str]:
        if not self.events:
            return []
        names = self._names()
        rows = [t("  recorded")]
        for i, c in enumerate(self.summary.chains):
            product, lot = names[c.batch_id]
            if i == 0:
                rows.append(
                    t(
                        "    root batch {batch}  {product} · lot {lot}",
                        batch=short(c.batch_id),
                        product=product,
                        lot=lot,
                    )
                )
            else:
                rows.append(
                    t(
                        "    input batch {batch}  {product} · lot {lot}",
                        batch=short(c.batch_id),
                        product=product,
                        lot=lot,
                    )
                )
            for e in self.events:
                if e.batch_id == c.batch_id:
                    notes = [n for b, n in self.corrections if b == c.batch_id and n.seq == e.seq]
                    rows.extend(f"  {line}" for line in event_lines(e, self.trusted, notes, names))
        return rows

    def to_json(self) -> JsonDict:
        s = self.summary
        if self.self_keys:
            head: JsonDict = {
                "verified": False,
                "content": "unverified",
                "note": t("signatures checked only against the keys the bundle carries: anyone can make such a bundle"),
            }
        else:
            head = {"verified": True}
        return {
            **head,
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
            **self._recorded_json(),
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
        if self.self_keys:
            rows = [
                t("CONTENT OF {path} (UNVERIFIED)", path=self.path),
                t("  Its signatures match only the keys the bundle itself carries: anyone can make such a bundle."),
                t("  To know who signed, give the producers' keys (--trusted-key) or a trust list (--trust)."),
            ]
        else:
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
        rows.extend(self._recorded_lines())
        if self.corrections and not self.events:  # else each step's timeline shows its corrections
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
        if not self.self_keys:
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
    batch_name: tuple[str, str] | None = None
    """The failing batch's product and lot, as its (unverified) genesis in the bundle claims them."""
    expected: str | None = None
    """The batch ``--expect-batch`` named (its id or prefix, as given), if any."""

    @property
    def explanation(self) -> str | None:
        """The failure in plain words; an untrusted signer of an input batch is named as such (issue 13)."""
        if self.error.code == "E_BATCH" and self.expected is not None and self.batch_id is not None:
            return other_batch_text(self.batch_id, self.batch_name, self.expected)
        return input_signer_text(self.error, self.batch_id, self.batch_position, self.batch_name) or explain(
            self.error.code
        )

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
        rows.extend(problem_lines(e, self.explanation))
        rows.append(t("  Do not rely on any record in this bundle."))
        return lines(*rows)


def where_json(f: VerifyFailure) -> JsonDict:
    """Where a failure is, as JSON members: its explanation, batch, position and step (null when unknown)."""
    return {
        "explanation": f.explanation,
        "batch_id": hex_or_none(f.batch_id),
        "batch_position": f.batch_position,
        "seq": f.seq,
        "bundle_index": f.bundle_index,
    }


def other_batch_text(batch_id: bytes, name: tuple[str, str] | None, expected: str) -> str:
    """Which batch a bundle is about, when it is not the one ``--expect-batch`` named."""
    if name is None:
        return t(
            "the bundle is about batch {batch}, not the batch {expected} you expected",
            batch=batch_id.hex(),
            expected=expected,
        )
    return t(
        "the bundle is about batch {batch} ({product}, lot {lot}), not the batch {expected} you expected",
        batch=batch_id.hex(),
        product=name[0],
        lot=name[1],
        expected=expected,
    )


def input_signer_text(
    e: op.ProvenanceError, batch_id: bytes | None, position: int | None, name: tuple[str, str] | None
) -> str | None:
    """Whose key is missing, when an input batch (not the root) is signed by a key that is not trusted, else None."""
    if e.code != "E_UNKNOWN_KEY" or batch_id is None or position is None or position == 0:
        return None
    if name is None:
        return t(
            "the signer of input batch {batch} is not among the keys you trust: obtain that producer's public key "
            "from them (ocop key export) and give it with --trusted-key, or use a trust list that names them",
            batch=short(batch_id),
        )
    return t(
        "the signer of input batch {batch} ({product}, lot {lot}) is not among the keys you trust: obtain that "
        "producer's public key from them (ocop key export) and give it with --trusted-key, or use a trust list "
        "that names them",
        batch=short(batch_id),
        product=name[0],
        lot=name[1],
    )


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
