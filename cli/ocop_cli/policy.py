"""``ocop policy``: starter process policies, signing, inspection and verification (docs/cli.md §Policies).

A policy draft is JSON (``{"format": "ocop-policy-draft/1", ...}``, the shape of
:meth:`ocop_provenance.Policy.to_dict` without ``id``) that a person can read and edit; ``sign`` turns it into the
signed envelope (``*.policy``) or adds co-signatures to one. A policy is trusted only when a threshold of the
trust list's authority keys signed it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import ocop_provenance as op
from ocop_provenance.trust import (
    POLICY_TYP,
    DataRequirement,
    Policy,
    StepRule,
    VerifiedPolicy,
    VerifiedTrustList,
    add_signatures,
    circular_02_2024_policy,
    dried_cordyceps_policy,
    sign_policy,
    verify_policy,
)

from .context import CliError, Context, OcopGroup, pass_context
from .i18n import N_
from .params import TIME, json_option, passphrase_file_option
from .render import Output
from .render.policy import PolicyDraft, PolicyInspected, PolicyVerified
from .render.trust import DocumentSigned, authority_text
from .render.words import t
from .trust import (
    DocumentFailure,
    anchor_options,
    draft_members,
    draft_time,
    dump_json,
    is_draft,
    load_json,
    make_anchor,
    read_input,
    signed_summary,
    signers_from_names,
    verify_trust_file,
    write_file,
)

__all__ = ["POLICY_DRAFT_FORMAT", "STARTERS", "group", "load_policy", "verify_policy_file"]

POLICY_DRAFT_FORMAT = "ocop-policy-draft/1"
STARTERS = {"dried-cordyceps": dried_cordyceps_policy, "circular-02-2024": circular_02_2024_policy}

_TOP = {"format", "name", "version", "id", "kind", "issued_at", "expires", "gtins", "steps", "every", "batch_data"}
_TOP_ALL = _TOP | {"closed", "sealers"}
_RULE = {"step", "label", "roles", "data", "attachments", "fields", "min_signers"}
_REQUIREMENT = {"key", "kind", "min", "max", "unit"}


def _requirement(obj: object, where: str) -> DataRequirement:
    """A data requirement: a bare name, or ``{"key", "kind", "min", "max", "unit"}`` (docs/trust.md)."""
    if isinstance(obj, str):
        return DataRequirement(key=obj)
    r = draft_members(obj, _REQUIREMENT, where)
    return DataRequirement(
        key=r["key"], kind=r.get("kind"), minimum=r.get("min"), maximum=r.get("max"), unit=r.get("unit")
    )


def _rule(obj: object, where: str, step: str | None = None) -> StepRule:
    rule = draft_members(obj, _RULE, where)
    return StepRule(
        step=step or rule["step"],
        label=rule.get("label"),
        roles=tuple(rule.get("roles", ())),
        data=tuple(_requirement(d, f"{where}.data[{i}]") for i, d in enumerate(rule.get("data", ()))),
        attachments=tuple(rule.get("attachments", ())),
        fields=tuple(rule.get("fields", ())),
        min_signers=rule.get("min_signers", 1),
    )


def policy_from_draft(data: bytes, path: Path) -> Policy:
    """Build the (unsigned) policy a draft describes.

    Raises:
        CliError: The draft is not well formed (``E_DRAFT``, exit 3); the library's FormatError for invalid values.
    """
    doc = load_json(data, path, POLICY_DRAFT_FORMAT)
    try:
        draft_members(doc, _TOP_ALL, "draft")
        every = doc.get("every")
        return Policy(
            name=doc["name"],
            version=doc["version"],
            issued_at=draft_time(doc["issued_at"], "issued_at"),
            expires=None if doc.get("expires") is None else draft_time(doc["expires"], "expires"),
            kind=doc["kind"],
            steps=tuple(_rule(r, f"steps[{i}]") for i, r in enumerate(doc["steps"])),
            gtins=tuple(doc.get("gtins", ())),
            every=None if every is None else _rule(every, "every", step="other"),
            batch_data=tuple(doc.get("batch_data", ())),
            closed=doc.get("closed", False),
            sealers=tuple(doc.get("sealers", ())),
        )
    except op.ProvenanceError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        detail = t("missing member {member}", member=e) if isinstance(e, KeyError) else str(e)
        raise CliError(t("{path}: {detail}", path=path, detail=detail), code="E_DRAFT") from e


def policy_to_draft(policy: Policy) -> bytes:
    """The draft JSON of a policy (its ``id`` dropped)."""
    d: dict[str, Any] = policy.to_dict()
    d.pop("id", None)
    return dump_json({"format": POLICY_DRAFT_FORMAT, **d})


def load_policy(path: Path) -> tuple[Policy, bytes | None]:
    """Read a draft or a signed policy (signatures NOT checked); return it and the signed bytes (None for a draft)."""
    data = read_input(path, N_("policy"))
    if is_draft(data):
        return policy_from_draft(data, path), None
    return Policy.parse_unverified(data), data


def verify_policy_file(path: Path, trust: VerifiedTrustList, now: datetime) -> VerifiedPolicy:
    """Verify a signed policy against a verified trust list's authority.

    Raises:
        DocumentFailure: It does not verify (exit 1).
        CliError: It cannot be read, or is a draft (exit 3).
    """
    data = read_input(path, N_("policy"))
    if is_draft(data):
        raise CliError(
            t("{path} is a draft, not a signed policy: sign it with ocop policy sign", path=path), code="E_NOT_SIGNED"
        )
    try:
        return verify_policy(data, trust, now=now)
    except op.ProvenanceError as e:
        raise DocumentFailure("policy", path, e, authority_text(trust)) from e


@click.group("policy", cls=OcopGroup)
def group() -> None:
    """Process policies: what a complete record of a kind of product looks like.

    \b
    starter writes a draft (JSON, editable); sign turns it into a signed policy
    (.policy) or adds co-signatures; verify checks it against a trust list's authority.
    """


@group.command("starter")
@click.argument("kind", type=click.Choice(sorted(STARTERS)))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The draft.")
@click.option("--policy-version", type=click.IntRange(1), default=1, show_default=True, help="The policy's version.")
@click.option("--expires", type=TIME, default=None, help="When the policy stops being usable (default: never).")
@click.option("--force", is_flag=True, help="Overwrite an existing draft.")
@json_option
@pass_context
def starter(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context, kind: str, output: Path, policy_version: int, expires: datetime | None, force: bool
) -> None:
    """Write the starter policy KIND as a draft: dried-cordyceps, or circular-02-2024 (minimum data elements)."""
    policy = STARTERS[kind](
        issued_at=ctx.utc_now(), version=policy_version, expires=None if expires is None else expires.astimezone(UTC)
    )
    write_file(output, policy_to_draft(policy), overwrite=force)
    Output(ctx).emit(PolicyDraft(path=str(output), policy=policy))


@group.command("sign")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key", "keys", multiple=True, required=True, metavar="NAME", help="A local authority key name. Repeatable."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write (default: a signed SOURCE is updated in place; a draft X.json gives X.policy).",
)
@passphrase_file_option
@json_option
@pass_context
def sign(ctx: Context, source: Path, keys: tuple[str, ...], output: Path | None, passphrase_file: Path | None) -> None:
    """Sign a policy draft, or add co-signatures to a signed policy."""
    policy, signed = load_policy(source)
    signers = signers_from_names(ctx, keys, passphrase_file)
    if signed is None:
        data = sign_policy(policy, signers)
        target = output or source.with_suffix(".policy")
    else:
        data = add_signatures(signed, signers, typ=POLICY_TYP)
        target = output or source
    write_file(target, data)
    summary = signed_summary(target, data, POLICY_TYP, None)
    Output(ctx).emit(DocumentSigned(kind="policy", summary=summary, version=policy.version))


@group.command("inspect")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_context
def inspect(ctx: Context, source: Path) -> None:
    """Show a draft or a signed policy (NOT a verification: use ocop policy verify)."""
    policy, signed = load_policy(source)
    summary = None if signed is None else signed_summary(source, signed, POLICY_TYP, None)
    Output(ctx).emit(PolicyInspected(path=str(source), policy=policy, summary=summary))


@group.command("verify")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--trust",
    "trust_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="LIST",
    help="The signed trust list whose authority must have signed the policy.",
)
@anchor_options
@json_option
@pass_context
def verify(ctx: Context, source: Path, trust_path: Path, **options: Any) -> None:
    """Verify a signed policy: the trust list first, then the policy against its authority."""
    anchor = make_anchor(**options)
    now = ctx.utc_now()
    out = Output(ctx)
    try:
        trust = verify_trust_file(ctx, trust_path, anchor, now)
        policy = verify_policy_file(source, trust.trust, now)
    except DocumentFailure as f:
        out.emit(f.result)
        return
    out.emit(PolicyVerified(path=str(source), policy=policy, trust=trust))
