"""``ocop policy``: a starter draft, inspection, verification; and how a policy rule reads in words."""

from __future__ import annotations

from dataclasses import dataclass

from ocop_provenance.trust import DataRequirement, Policy, StepRule, VerifiedPolicy

from .core import JsonDict, Result, Text, lines
from .trust import SignedSummary, TrustVerified, trust_json
from .words import t, tn, utc

__all__ = ["PolicyDraft", "PolicyInspected", "PolicyVerified", "requirements", "rule_name", "rule_text"]


def _either(items: tuple[str, ...]) -> str:
    return t(" or ").join(items)


def _requirement(r: DataRequirement) -> str:
    """A data requirement in words: ``moisture`` or ``moisture (number 0-100 %)``."""
    if r.kind is None:
        return r.key
    low = "…" if r.minimum is None else r.minimum
    high = "…" if r.maximum is None else r.maximum
    bounds = "" if r.minimum is None and r.maximum is None else f" {low}-{high}"
    unit = f" {r.unit}" if r.unit else ""
    return t("{key} ({kind}{bounds}{unit})", key=r.key, kind=r.kind, bounds=bounds, unit=unit)


def requirements(rule: StepRule) -> str:
    """What a rule requires of a step, in words (empty when nothing)."""
    parts = []
    if rule.roles:
        parts.append(t("signed by a {roles}", roles=_either(rule.roles)))
    if rule.min_signers > 1:
        parts.append(t("by {n} distinct participants", n=rule.min_signers))
    if rule.data:
        parts.append(t("data {names}", names=", ".join(_requirement(r) for r in rule.data)))
    if rule.attachments:
        parts.append(t("attachment {types}", types=", ".join(rule.attachments)))
    if rule.fields:
        parts.append(t("field {fields}", fields=", ".join(_either(tuple(f.split("|"))) for f in rule.fields)))
    return "; ".join(parts)


def rule_text(rule: StepRule) -> str:
    """A rule as ``step (label): requirements``."""
    req = requirements(rule)
    if rule.label and req:
        return t("{step} ({label}): {requirements}", step=rule.step, label=rule.label, requirements=req)
    if rule.label:
        return t("{step} ({label})", step=rule.step, label=rule.label)
    if req:
        return t("{step}: {requirements}", step=rule.step, requirements=req)
    return rule.step


def rule_name(rule: str) -> str:
    """A policy rule as a person reads it: ``steps[3]`` (the library's path into the policy) is ``rule 4``.

    Rules are numbered from 1, as ``ocop policy inspect`` lists them; the other rules are named.
    """
    if rule.startswith("steps[") and rule.endswith("]") and rule[6:-1].isdigit():
        return t("rule {n}", n=int(rule[6:-1]) + 1)
    if rule == "every":
        return t("the rule for every step")
    if rule == "batch_data":
        return t("the rule for the whole batch")
    if rule == "gtins":
        return t("the rule for products")
    return t("rule {rule}", rule=rule)


def _expires(policy: Policy | VerifiedPolicy) -> str:
    return t("never") if policy.expires is None else utc(policy.expires)


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyDraft(Result):
    """``ocop policy starter``: the draft written."""

    path: str
    policy: Policy

    def to_json(self) -> JsonDict:
        d = self.policy.to_dict()
        d.pop("id", None)
        return {"draft": self.path, "policy": d}

    def to_text(self) -> Text:
        p = self.policy
        note = t(
            "drafted policy {name} version {version} ({kind}), {steps} (not signed yet: ocop policy sign {path} "
            "--key NAME)",
            name=p.name,
            version=p.version,
            kind=p.kind,
            steps=tn(len(p.steps), "{n} step", "{n} steps"),
            path=self.path,
        )
        return lines(self.path, err=[note])


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyInspected(Result):
    """``ocop policy inspect``: a draft or a signed policy as it claims to be (not a verification)."""

    path: str
    policy: Policy
    summary: SignedSummary | None

    def to_json(self) -> JsonDict:
        s = self.summary
        d = self.policy.to_dict()
        if s is None:
            d.pop("id", None)
        return {
            "path": self.path,
            "signed": s is not None,
            "verified": False,
            "policy": d,
            "signatures": None if s is None else [{"key_id": k.hex()} for k in s.signers],
        }

    def to_text(self) -> Text:
        p, s = self.policy, self.summary
        if s is None:
            rows = [t("Policy  {path}  [DRAFT (not signed)]", path=self.path)]
        else:
            rows = [t("Policy  {path}  [signed, NOT verified (use ocop policy verify)]", path=self.path)]
        rows.append(t("  name      {name} version {version}", name=p.name, version=p.version))
        rows.append(t("  kind      {kind}", kind=p.kind))
        rows.append(t("  issued    {time}", time=utc(p.issued_at)))
        rows.append(t("  expires   {time}", time=_expires(p)))
        if s is not None:
            rows.append(t("  id        {id}", id=s.object_id.hex()))
            rows.append(t("  signed by {keys}", keys=", ".join(k.hex()[:16] for k in s.signers)))
        if p.closed:
            rows.append(t("  steps     (in this order; no other steps allowed)"))
        else:
            rows.append(t("  steps     (in this order; other steps may come between)"))
        rows.extend(t("    {n}. {rule}", n=i, rule=rule_text(rule)) for i, rule in enumerate(p.steps, 1))
        if p.every is not None:
            rows.append(t("  every step: {requirements}", requirements=requirements(p.every) or t("nothing more")))
        if p.batch_data:
            rows.append(t("  somewhere in the batch: {names}", names=", ".join(p.batch_data)))
        if p.gtins:
            rows.append(t("  products (GTIN): {gtins}", gtins=", ".join(p.gtins)))
        return lines(*rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyVerified(Result):
    """A verified policy and the trust list whose authority signed it."""

    path: str
    policy: VerifiedPolicy
    trust: TrustVerified

    def to_json(self) -> JsonDict:
        return {"verified": True, "policy": self.policy.to_dict(), "trust_list": trust_json(self.trust)}

    def to_text(self) -> Text:
        p, tl = self.policy, self.trust.trust
        return lines(
            t("VERIFIED  {path}", path=self.path),
            t("  policy    {name} version {version} ({kind})", name=p.name, version=p.version, kind=p.kind),
            t(
                "  signed by the authority of {issuer} (trust list version {version})",
                issuer=tl.issuer,
                version=tl.version,
            ),
            t("  expires   {time}", time=_expires(p)),
        )
