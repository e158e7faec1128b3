"""``ocop verify --trust``: one audit report per bundle (who signed each step, what the policy requires), forks."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

import ocop_provenance as op
from ocop_provenance.events import EquivocationProof
from ocop_provenance.trust import AuditReport, BatchAudit, Finding, StepAudit, VerifiedPolicy

from .. import i18n
from .core import JsonDict, Result, Text
from .events import correction_lines, event_json, event_lines
from .explain import explain
from .logs import LogChecked
from .policy import requirements, rule_name
from .trust import TrustVerified, trust_json
from .verify import VerifyFailure, problem_lines, proves, where_json, where_text
from .words import short, t, tn

__all__ = ["AuditResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditResult(Result):
    """What ``ocop verify --trust`` found: one report per bundle, where each failure is, forks, the pinned state."""

    bundles: tuple[str, ...]
    trust: TrustVerified
    policy: VerifiedPolicy | None
    policy_path: str | None
    reports: tuple[AuditReport, ...]
    failures: tuple[VerifyFailure | None, ...]
    forks: tuple[EquivocationProof, ...]
    pinned: str | None
    pinned_updated: bool
    proof_files: tuple[str, ...] = ()
    recorded: tuple[Mapping[bytes, op.SignedEvent], ...] = ()
    """For each bundle (unless ``--summary``), the verified events by id: what each step recorded."""
    #: With ``--log-key``: the log verdict of each bundle, in order.
    logs: tuple[LogChecked, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every bundle audited clean."""
        return all(r.ok for r in self.reports)

    def to_json(self) -> JsonDict:
        p = self.policy
        return {
            "verified": self.ok,
            "mode": "trust",
            "bundles": list(self.bundles),
            "trust_list": trust_json(self.trust),
            "policy": None
            if p is None
            else {"path": self.policy_path, "name": p.name, "version": p.version, "id": p.object_id.hex()},
            "pinned": None if self.pinned is None else {"path": self.pinned, "updated": self.pinned_updated},
            "audits": [
                {
                    "bundle": path,
                    "where": None if f is None else where_json(f),
                    "report": r.to_dict(),
                    **self._recorded_json(i, r),
                }
                for i, (path, r, f) in enumerate(zip(self.bundles, self.reports, self.failures, strict=True))
            ],
            "forks": [base64.b64encode(proof.to_bytes()).decode("ascii") for proof in self.forks],
            "proof_files": list(self.proof_files),
            **({"logs": [c.to_json() for c in self.logs]} if self.logs else {}),
        }

    def _recorded(self, i: int) -> Mapping[bytes, op.SignedEvent] | None:
        return self.recorded[i] if i < len(self.recorded) else None

    def _recorded_json(self, i: int, r: AuditReport) -> JsonDict:
        """``recorded``: each verified step's event as JSON, named by the trust list (absent with --summary)."""
        events = self._recorded(i)
        if events is None:
            return {}
        names = {s.key_id: s.participant.name for b in r.batches for s in b.steps if s.participant is not None}
        inputs = {b.batch_id: (b.product, b.lot) for b in r.batches}
        return {
            "recorded": [
                {
                    "batch_id": b.batch_id.hex(),
                    "events": [event_json(events[s.event_id], names, inputs) for s in b.steps if s.event_id in events],
                }
                for b in r.batches
            ]
        }

    def to_text(self) -> Text:
        blocks = [
            "\n".join(self._bundle_lines(path, r, f, self._recorded(i)))
            for i, (path, r, f) in enumerate(zip(self.bundles, self.reports, self.failures, strict=True))
        ]
        tail: list[str] = []
        for checked in self.logs:
            tail.extend(line.strip() for line in checked.lines()[:1])
        if len(self.bundles) > 1 and self.forks:
            tail.append(
                t(
                    "Cross-check of {n} bundles: {forks} found",
                    n=len(self.bundles),
                    forks=tn(len(self.forks), "{n} fork", "{n} forks"),
                )
            )
        elif len(self.bundles) > 1:
            tail.append(t("Cross-check of {n} bundles: no fork between them", n=len(self.bundles)))
        if self.proof_files:
            tail.append(
                t(
                    "Fork proofs written (anyone can check them with the signer's public key): {files}",
                    files=", ".join(self.proof_files),
                )
            )
        if self.pinned is not None and self.pinned_updated:
            tail.append(t("Pinned state {path}: advanced to the heads seen", path=self.pinned))
        elif self.pinned is not None:
            tail.append(t("Pinned state {path}: unchanged", path=self.pinned))
        tail.extend(proves())
        return Text(out="\n\n".join(blocks) + "\n\n" + "\n".join(tail) + "\n")

    def _bundle_lines(
        self, path: str, r: AuditReport, f: VerifyFailure | None, recorded: Mapping[bytes, op.SignedEvent] | None
    ) -> list[str]:
        rows = [t("VERIFIED  {path}", path=path) if r.ok else t("NOT VERIFIED  {path}", path=path)]
        tl = self.trust.trust
        rows.append(
            t(
                "  trust list  {issuer}, version {version}, checked against {against}",
                issuer=tl.issuer,
                version=tl.version,
                against=self.trust.against,
            )
        )
        if self.policy is not None:
            p = self.policy
            rows.append(
                t(
                    "  policy      {name} version {version} ({kind}), for the root batch",
                    name=p.name,
                    version=p.version,
                    kind=p.kind,
                )
            )
        if f is not None:
            where = where_text(f)
            if where:
                rows.append(t("  where       {where}", where=", ".join(where)))
            rows.extend(problem_lines(f.error, f.explanation, wide=True))
            rows.append(t("  Do not rely on any record in this bundle."))
        by_event: dict[tuple[bytes | None, int | None], list[Finding]] = {}
        for finding in r.findings:
            by_event.setdefault((finding.batch_id, finding.seq), []).append(finding)
        for b in r.batches:
            rows.append("")
            rows.extend(_batch_lines(b, r, by_event, recorded or {}))
        rest = [x for x in r.findings if x.seq is None]
        if rest:
            rows.append("")
            rows.append(t("  for the batch as a whole"))
            rows.extend(_whole_batch_line(finding) for finding in rest)
        if r.ok:
            rows.append("")
            rows.append(
                t("  Every signature, link and lineage reference verified; every signer is in the trust list and")
            )
            if self.policy is not None:
                rows.append(t("  allowed at the time it claims; the policy is satisfied."))
            else:
                rows.append(t("  allowed at the time it claims."))
        elif r.findings:
            rows.append("")
            codes = ", ".join(sorted({x.code for x in r.findings}))
            rows.append(tn(len(r.findings), "  {n} finding: {codes}", "  {n} findings: {codes}", codes=codes))
        return rows


def _batch_lines(
    b: BatchAudit,
    r: AuditReport,
    by_event: dict[tuple[bytes | None, int | None], list[Finding]],
    recorded: Mapping[bytes, op.SignedEvent],
) -> list[str]:
    facts = {"batch": short(b.batch_id), "product": b.product, "lot": b.lot, "gtin": b.gtin}
    root = b.depth == 0 and b.batch_id == r.root
    if root and b.gtin:
        head = t("  root batch {batch}  {product} · lot {lot} · GTIN {gtin}", **facts)
    elif root:
        head = t("  root batch {batch}  {product} · lot {lot}", **facts)
    elif b.gtin:
        head = t("  input batch (depth {depth}) {batch}  {product} · lot {lot} · GTIN {gtin}", depth=b.depth, **facts)
    else:
        head = t("  input batch (depth {depth}) {batch}  {product} · lot {lot}", depth=b.depth, **facts)
    rows = [head]
    if b.producer is not None:
        rows.append(t("    producer  {name} ({role}, per the trust list)", name=b.producer.name, role=b.producer.role))
    else:
        rows.append(t("    producer  not a usable participant of the trust list"))
    rows.append(t("    declared  {name}: the record's own words about its producer", name=b.declared_producer))
    rows.extend(
        t(
            "    back      step #{at} used batch {batch} as it was at #{seq} (event {head})",
            at=at,
            batch=short(inp),
            seq=seq,
            head=short(head_id),
        )
        for inp, seq, head_id, at in b.inputs
    )
    rows.extend(
        t("    forward   used by batch {batch} in its step #{seq}", batch=short(cb), seq=seq)
        for cb, seq, _eid in b.consumed_by
    )
    steps = {s.seq: s for s in b.steps}
    for seq in b.dispatches:
        sent = steps.get(seq)
        if sent is not None and sent.location:
            rows.append(t("    forward   dispatched at step #{seq} from {place}", seq=seq, place=sent.location))
        else:
            rows.append(t("    forward   dispatched at step #{seq}", seq=seq))
    if not b.inputs and not b.consumed_by and not b.dispatches:
        rows.append(t("    lineage   no input batch, not used or dispatched in this bundle"))
    inputs = {x.batch_id: (x.product, x.lot) for x in r.batches}
    for s in b.steps:
        rows.extend(_step_lines(s, by_event.get((b.batch_id, s.seq), ())))
        event = recorded.get(s.event_id)
        if event is not None:  # what the step recorded: its inputs, attachments and data
            rows.extend(f"   {line}" for line in event_lines(event, {}, inputs=inputs)[1:])
    return rows


def _step_lines(s: StepAudit, findings: list[Finding] | tuple[()]) -> list[str]:
    fields = {"seq": s.seq, "time": s.time.isoformat(), "step": s.step, "place": s.location or "-"}
    if s.location_code:
        rows = [t("    #{seq:<3} {time}  {step:<14} at {place} [{code}]", code=s.location_code, **fields)]
    else:
        rows = [t("    #{seq:<3} {time}  {step:<14} at {place}", **fields)]
    rows.append(t("         signed by {signer}", signer=_signer_text(s)))
    if s.rule is not None:
        rule = s.rule
        req = requirements(rule)
        if rule.label and req:
            rows.append(
                t("         policy    {step} ({label}) requires {req}", step=rule.step, label=rule.label, req=req)
            )
        elif rule.label:
            rows.append(t("         policy    {step} ({label})", step=rule.step, label=rule.label))
        elif req:
            rows.append(t("         policy    {step} requires {req}", step=rule.step, req=req))
        else:
            rows.append(t("         policy    {step}", step=rule.step))
    fix = s.corrects
    if fix is not None:
        rows.append(t("         corrects  #{seq}: {reason}", seq=fix.seq, reason=fix.reason))
    rows.extend(correction_lines(s.corrected_by, indent="         "))
    for finding in findings:
        if finding.rule:
            rows.append(
                t(
                    "         PROBLEM  {message} ({rule}) [{code}]",
                    message=_finding_words(finding),
                    rule=rule_name(finding.rule),
                    code=finding.code,
                )
            )
        else:
            rows.append(t("         PROBLEM  {message} [{code}]", message=_finding_words(finding), code=finding.code))
    return rows


def _finding_words(finding: Finding) -> str:
    """A finding in words: the library's message (English), or in another language the explanation of its code."""
    if i18n.current() != i18n.DEFAULT:
        return explain(finding.code) or finding.message
    return finding.message


def _signer_text(s: StepAudit) -> str:
    p = s.participant
    if p is None:
        return t("key {key}, which is NOT in the trust list", key=short(s.key_id))
    if s.key_problem is not None:
        return t(
            "{name} ({role}) · key {key}, NOT allowed at that time [{problem}]",
            name=p.name,
            role=p.role,
            key=short(s.key_id),
            problem=s.key_problem,
        )
    return t("{name} ({role}) · key {key}", name=p.name, role=p.role, key=short(s.key_id))


def _whole_batch_line(finding: Finding) -> str:
    fields = {"message": finding.message, "code": finding.code, "rule": rule_name(finding.rule or "")}
    if finding.batch_id and finding.rule:
        return t("    batch {batch}, {rule}: {message} [{code}]", batch=short(finding.batch_id), **fields)
    if finding.batch_id:
        return t("    batch {batch}: {message} [{code}]", batch=short(finding.batch_id), **fields)
    if finding.rule:
        return t("    bundle, {rule}: {message} [{code}]", **fields)
    return t("    bundle: {message} [{code}]", **fields)
