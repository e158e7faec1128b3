"""``ocop verify``: check a bundle offline against keys the auditor trusts, or audit it against a trust list."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click
import ocop_provenance as op
from ocop_provenance.events import (
    AttachmentReport,
    BundleReader,
    CorrectionLog,
    CorrectionNote,
    EquivocationProof,
    Subject,
    check_attachments,
    ed25519_backend,
    iter_verified,
    parse_unverified_event,
)
from ocop_provenance.trust import AuditReport, PinnedState, audit_bundles

from .context import CliError, Context, OcopCommand, pass_context
from .i18n import N_
from .logverify import LogOptions, check_bundle_logged
from .params import json_option
from .policy import verify_policy_file
from .render import Output
from .render.audit import AuditResult
from .render.logs import LogChecked
from .render.verify import VerifyFailure, VerifyResult
from .render.words import t
from .trust import (
    AnchorOptions,
    DocumentFailure,
    anchor_options,
    make_anchor,
    read_input,
    resolve_public_key,
    verify_trust_file,
    write_file,
)

MAX_TRUSTED_KEY_FILE = 4096

F = TypeVar("F", bound=Callable[..., Any])


def trusted_key_option(help_text: str, *, required: bool = False) -> Callable[[F], F]:
    """``--trusted-key PEM`` (repeatable, passed as ``trusted``): keys ``verify``, ``import``, ``qr verify`` trust."""
    return click.option(
        "--trusted-key",
        "trusted",
        multiple=True,
        required=required,
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PEM",
        help=help_text,
    )


def trust_list_option(help_text: str) -> Callable[[F], F]:
    """``--trust LIST`` (passed as ``trust_path``): audit against a signed trust list instead of trusted keys."""
    return click.option(
        "--trust",
        "trust_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        metavar="LIST",
        help=help_text,
    )


def load_trusted_keys(paths: Sequence[Path]) -> tuple[op.KeyRing, dict[bytes, str]]:
    """Read PEM public keys; return the ring of them and a key id -> file name map.

    Raises:
        CliError: A file cannot be read or is not an Ed25519 public key (exit 3).
    """
    keys = []
    labels: dict[bytes, str] = {}
    for p in paths:
        try:
            with p.open("rb") as f:
                data = f.read(MAX_TRUSTED_KEY_FILE + 1)
        except OSError as e:
            raise CliError(
                t("cannot read the trusted key {path}: {reason}", path=p, reason=e.strerror), code="E_IO"
            ) from e
        try:
            key = op.PublicKey.from_pem(data)
        except op.KeyFormatError as e:
            raise CliError(
                t("the trusted key {path} is not usable: {reason}", path=p, reason=e.message), code=e.code
            ) from e
        keys.append(key)
        labels.setdefault(key.key_id, str(p))
    return op.KeyRing.of(keys), labels


def locate(src: BinaryIO, error: op.ProvenanceError, path: str, expected: str | None = None) -> VerifyFailure:
    """Say where an error is: its own location fields, and the batch's place in the bundle header."""
    batch_id = None if error.batch_id is None else bytes.fromhex(error.batch_id)
    position = None
    name = None
    if batch_id is not None:
        try:
            src.seek(0)
            order = [b.batch_id for b in BundleReader(src).header.batches]
            position = order.index(batch_id) if batch_id in order else None
            if error.code in {"E_UNKNOWN_KEY", "E_BATCH"}:
                name = batch_names(src).get(batch_id)
        except (op.ProvenanceError, OSError):
            pass
    return VerifyFailure(
        path=path,
        error=error,
        batch_id=batch_id,
        batch_position=position,
        seq=error.seq,
        bundle_index=error.position,
        batch_name=name,
        expected=expected,
    )


def batch_names(src: BinaryIO) -> dict[bytes, tuple[str, str]]:
    """Each batch's product and lot as its genesis in the bundle claims them (unverified: to name a batch only).

    Raises:
        ProvenanceError: The bundle is malformed before every genesis was read.
        OSError: It cannot be read.
    """
    src.seek(0)
    reader = BundleReader(src)
    ids = [b.batch_id for b in reader.header.batches]
    names: dict[bytes, tuple[str, str]] = {}
    for index, raw in reader.events():
        if 0 <= index < len(ids) and ids[index] not in names:
            body = parse_unverified_event(raw).body
            if isinstance(body, op.Genesis):
                names[ids[index]] = (body.product.name, body.product.lot)
            if len(names) == len(ids):
                break
    return names


def verify_file(
    ctx: Context,
    bundle: Path,
    trusted: Sequence[Path],
    *,
    expect: bytes | None = None,
    output: Output | None = None,
    attachments: Path | None = None,
    detail: bool = False,
) -> VerifyResult | VerifyFailure:
    """Verify ``bundle`` against the trusted key files.

    Args:
        attachments: A folder whose files are checked against the attachments the events record.
        detail: Keep every event, to show what was recorded.

    Returns:
        The result on success (with every correction found, and the attachment report when asked); where and why
        it failed otherwise (anything wrong with the bundle's bytes).

    Raises:
        CliError: A trusted key is unusable, or a file in ``attachments`` cannot be read (exit 3).
        OSError: The bundle cannot be opened (exit 3).
    """
    ring, labels = load_trusted_keys(trusted)
    return verify_with(ctx, bundle, ring, labels, expect=expect, output=output, attachments=attachments, detail=detail)


def verify_with(
    ctx: Context,
    bundle: Path,
    ring: op.KeyRing | None,
    labels: dict[bytes, str],
    *,
    expect: bytes | None = None,
    output: Output | None = None,
    attachments: Path | None = None,
    detail: bool = False,
) -> VerifyResult | VerifyFailure:
    """Verify ``bundle`` against ``ring`` or, when it is None, only against the keys the bundle carries (the
    content is then unverified: ``ocop show``); ``attachments`` and ``detail`` as for :func:`verify_file`.

    Raises:
        CliError: A file in ``attachments`` cannot be read (exit 3).
        OSError: The bundle cannot be opened (exit 3).
    """
    out = output or Output(ctx)
    logs: dict[int, CorrectionLog] = {}
    recorded: list[op.SignedEvent] = []  # the events that record attachments, when they are to be checked
    events: list[op.SignedEvent] = []  # every event, when the steps are shown
    with bundle.open("rb") as src:
        try:
            keys = ring
            if keys is None:
                keys = op.KeyRing.of(BundleReader(src).header.keys)
                src.seek(0)
            with out.progress(t("verifying")) as progress:
                # Large bundles are checked on every core (small ones in process: see docs/performance.md).
                options = op.VerifyOptions(keys=keys, now=ctx.clock(), workers="auto")
                root: Subject = op.ANY_BATCH if expect is None else expect
                with iter_verified(src, options, root=root, progress=progress) as verified:
                    for index, event in verified:
                        logs.setdefault(index, CorrectionLog()).add(event)
                        if attachments is not None and event.body.attachments:
                            recorded.append(event)
                        if detail:
                            events.append(event)
                    summary = verified.summary
        except op.ProvenanceError as e:
            return locate(src, e, str(bundle), None if expect is None else expect.hex())
    corrections: list[tuple[bytes, CorrectionNote]] = [
        (summary.chains[index].batch_id, note) for index, log in sorted(logs.items()) for note in log.notes
    ]
    report: AttachmentReport | None = None
    if attachments is not None:
        try:
            report = check_attachments(recorded, attachments)
        except op.AttachmentReadError as e:
            raise CliError(e.message, code=e.code) from e
    return VerifyResult(
        path=str(bundle),
        summary=summary,
        trusted=labels,
        backend=ed25519_backend(),
        corrections=tuple(corrections),
        attachments=report,
        events=tuple(events),
        self_keys=ring is None,
    )


summary_option = click.option(
    "--summary",
    is_flag=True,
    help="Only the verdict, the batches and the signers: not every step's data and attachments.",
)


def _hex_batch(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().lower()
    if not 6 <= len(text) <= 64 or any(c not in "0123456789abcdef" for c in text):
        raise click.BadParameter(t("must be a batch id or a prefix of it (6 to 64 hex digits)"))
    return text


def expected_root(prefix: str | None, bundles: Sequence[Path]) -> bytes | None:
    """The full batch id ``--expect-batch PREFIX`` names: the root of the first bundle it is a prefix of.

    When no bundle's root starts with it, an id that starts with it (and so matches none of them) is returned: the
    verification then fails with ``E_BATCH``, saying which batch the bundle is about.
    """
    if prefix is None:
        return None
    for path in bundles:
        try:
            with path.open("rb") as src:
                root = BundleReader(src).header.root
        except (op.ProvenanceError, OSError):
            continue  # verifying it reports the problem
        if root.hex().startswith(prefix):
            return root
    return bytes.fromhex((prefix + "0" * 64)[:64])


@click.command("verify", cls=OcopCommand)
@click.argument(
    "bundles", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="BUNDLE..."
)
@trusted_key_option(N_("A public key you trust (PEM, from ocop key export), obtained from its owner. Repeatable."))
@trust_list_option(N_("Audit against a signed trust list instead: who holds each key, in which role, when."))
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="POLICY",
    help="With --trust: a signed process policy the root batch must satisfy.",
)
@click.option(
    "--pinned",
    "pinned_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="STATE",
    help="With --trust: what you saw before (JSON pinned state): forks and rollbacks are caught.",
)
@click.option(
    "--update-pinned",
    is_flag=True,
    help="With --pinned: after a clean audit, advance the pinned state (created if missing).",
)
@click.option(
    "--proofs",
    "proofs_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="With --trust: write each fork found as a portable proof file (fork-N.proof) in DIR.",
)
@anchor_options
@click.option(
    "--attachments",
    "attachments_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="With --trusted-key: check the files in DIR against the attachments the events record (by SHA-256).",
)
@click.option(
    "--expect-batch",
    callback=_hex_batch,
    default=None,
    metavar="BATCH_ID",
    help="Fail unless the bundle is about this batch (its id or a prefix of 6+ hex digits): guards against a "
    "bundle of another batch.",
)
@summary_option
@click.option(
    "--log-key",
    default=None,
    metavar="PEM|NAME",
    help="Also require each batch head to be in this transparency log: a receipt (from --receipts) that verifies.",
)
@click.option(
    "--receipts",
    "receipts_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="With --log-key: the receipts file (ocop export --receipts) [default: BUNDLE.receipts].",
)
@click.option(
    "--witness-key",
    "witness_keys",
    multiple=True,
    metavar="PEM|NAME",
    help="With --log-key: a witness's public key. Repeatable.",
)
@click.option(
    "--witnesses",
    type=click.IntRange(0),
    default=None,
    help="With --log-key: how many of the --witness-key witnesses must have cosigned [default: all of them].",
)
@json_option
@pass_context
def command(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    bundles: tuple[Path, ...],
    trusted: tuple[Path, ...],
    trust_path: Path | None,
    policy_path: Path | None,
    pinned_path: Path | None,
    update_pinned: bool,
    proofs_dir: Path | None,
    attachments_dir: Path | None,
    expect_batch: str | None,
    summary: bool,
    log_key: str | None,
    receipts_path: Path | None,
    witness_keys: tuple[str, ...],
    witnesses: int | None,
    **anchor: Any,
) -> None:
    """Verify BUNDLE offline: every signature, hash link and lineage link.

    \b
    Two modes:
      --trusted-key PEM...  only these keys are trusted (one bundle);
      --trust LIST          audit against a trust list (and --policy, --pinned):
                            who signed each step, in which role, what is missing.
                            Several bundles are also cross-checked for forks.
    Each step is shown: what, when, where, who signed it, its data and attachments
    (--summary: the batches and signers only). With --log-key, each batch head must
    also be in the portal's transparency log (receipts from ocop export --receipts;
    --witness-key/--witnesses: cosigned by k witnesses). The keys inside a bundle are
    never trusted (ocop show prints a bundle's content without trust). Exit 0 when everything verifies,
    1 when anything does not (the output says where and why), 3 when a file
    cannot be read.
    """
    if bool(trusted) == (trust_path is not None):
        raise click.UsageError(t("give either --trusted-key PEM or --trust LIST"))
    log = _log_options(ctx, log_key, receipts_path, witness_keys, witnesses, len(bundles))
    out = Output(ctx)
    expect = expected_root(expect_batch, bundles)
    if trust_path is None:
        given = (("--policy", policy_path), ("--pinned", pinned_path), ("--proofs", proofs_dir))
        extra = [name for name, value in given if value is not None]
        if update_pinned or any(anchor.get(k) for k in ("authority", "threshold", "pinned_list", "via")):
            extra.append("--update-pinned/--authority-key/--threshold/--pinned-list/--via")
        if extra:
            raise click.UsageError(t("{options} go with --trust", options=", ".join(extra)))
        if len(bundles) != 1:
            raise click.UsageError(t("with --trusted-key, give one bundle (use --trust to cross-check several)"))
        result = verify_file(
            ctx, bundles[0], trusted, expect=expect, output=out, attachments=attachments_dir, detail=not summary
        )
        if isinstance(result, VerifyFailure) and expect_batch is not None:
            result = replace(result, expected=expect_batch)  # as the user typed it
        if log is not None and isinstance(result, VerifyResult) and result.ok:
            checked = _check_log(ctx, bundles[0], log)
            if isinstance(checked, VerifyFailure):
                out.emit(checked)
                return
            result = dataclasses.replace(result, log=checked)
        out.emit(result)
        return
    if attachments_dir is not None:
        raise click.UsageError("--attachments goes with --trusted-key")
    if update_pinned and pinned_path is None:
        raise click.UsageError(t("--update-pinned needs --pinned STATE"))
    try:
        audit = audit_files(
            ctx,
            bundles,
            trust_path,
            make_anchor(**anchor),
            policy_path=policy_path,
            pinned_path=pinned_path,
            update_pinned=update_pinned,
            expect=expect,
            proofs_dir=proofs_dir,
            detail=not summary,
        )
    except DocumentFailure as f:
        out.emit(f.result)
        return
    if log is not None and audit.ok:
        logged = []
        for bundle in bundles:
            checked = _check_log(ctx, bundle, log)
            if isinstance(checked, VerifyFailure):
                out.emit(checked)
                return
            logged.append(checked)
        audit = dataclasses.replace(audit, logs=tuple(logged))
    out.emit(audit)


def _log_options(  # noqa: PLR0917 - the command's options, passed on
    ctx: Context,
    log_key: str | None,
    receipts: Path | None,
    witness_keys: tuple[str, ...],
    witnesses: int | None,
    bundles: int,
) -> LogOptions | None:
    if log_key is None:
        if receipts is not None or witness_keys or witnesses is not None:
            raise click.UsageError(t("--receipts, --witness-key and --witnesses go with --log-key"))
        return None
    if receipts is not None and bundles != 1:
        raise click.UsageError(t("--receipts names the receipts of one bundle"))
    keys = tuple(dict.fromkeys(resolve_public_key(ctx, k) for k in witness_keys))
    k = len(keys) if witnesses is None else witnesses
    if k > len(keys):
        raise click.BadParameter(t("{k} witnesses of {n} witness keys", k=k, n=len(keys)), param_hint="--witnesses")
    return LogOptions(resolve_public_key(ctx, log_key), keys, k, receipts)


def _check_log(ctx: Context, bundle: Path, log: LogOptions) -> LogChecked | VerifyFailure:
    """The log verdict on a verified bundle, or where its heads' receipts fail (exit 1)."""
    try:
        return check_bundle_logged(bundle, log, ctx.clock())
    except op.ProvenanceError as e:
        with bundle.open("rb") as src:
            return locate(src, e, str(bundle))


# ---- audit against a trust list (--trust) -------------------------------------------------------------------


def _read_pinned(path: Path, *, create: bool) -> PinnedState:
    if create and not path.exists():
        return PinnedState()
    return PinnedState.from_json(read_input(path, N_("pinned state"), 64 << 20))


def audit_files(
    ctx: Context,
    bundles: Sequence[Path],
    trust_path: Path,
    anchor: AnchorOptions,
    *,
    policy_path: Path | None = None,
    pinned_path: Path | None = None,
    update_pinned: bool = False,
    expect: bytes | None = None,
    proofs_dir: Path | None = None,
    detail: bool = False,
) -> AuditResult:
    """Verify the trust list (and policy), then audit each bundle; advance the pinned state if asked and clean.

    Fork proofs found are written to ``proofs_dir`` (``fork-N.proof``, docs/format.md §9) when it is given.

    This is what ``ocop verify --trust`` and ``ocop demo`` run.

    Raises:
        DocumentFailure: The trust list or policy does not verify (exit 1).
        CliError, OSError: A file cannot be read (exit 3).
        ProvenanceError: The pinned state is malformed (exit 3).
    """
    now = ctx.clock()
    trust = verify_trust_file(ctx, trust_path, anchor, now)
    policy = None if policy_path is None else verify_policy_file(policy_path, trust.trust, now)
    pinned = None if pinned_path is None else _read_pinned(pinned_path, create=update_pinned)
    for b in bundles:
        if not b.is_file():
            raise CliError(t("cannot read the bundle {path}: no such file", path=b), code="E_IO")
    options = op.VerifyOptions(keys=trust.trust, now=now)
    root: Subject = op.ANY_BATCH if expect is None else expect
    # With detail, each bundle is read once into memory: the audit checks those bytes and the steps it verified
    # are shown from the same bytes.
    contents = [b.read_bytes() for b in bundles] if detail else []
    sources: list[Path | BinaryIO] = [io.BytesIO(c) for c in contents] if detail else list(bundles)
    if len(bundles) == 1:
        reports: tuple[AuditReport, ...] = (
            op.audit_bundle(sources[0], options, policy=policy, pinned=pinned, root=root),
        )
        forks: tuple[EquivocationProof, ...] = reports[0].forks
    else:
        cross = audit_bundles(sources, options, policy=policy, pinned=pinned, root=root)
        reports, forks = cross.reports, cross.forks
    recorded = tuple(recorded_events(c, r) for c, r in zip(contents, reports, strict=True)) if detail else ()
    failures: list[VerifyFailure | None] = []
    for path, report in zip(bundles, reports, strict=True):
        if report.failure is None:
            failures.append(None)
            continue
        with path.open("rb") as src:
            failures.append(locate(src, report.failure, str(path), None if expect is None else expect.hex()))
    ok = all(r.ok for r in reports)
    pinned_written = False
    if update_pinned and pinned_path is not None and ok:
        state = pinned or PinnedState()
        for r in reports:
            state = state.updated(r)
        write_file(pinned_path, state.to_json().encode("utf-8"))
        pinned_written = True
    proof_files: list[str] = []
    if proofs_dir is not None and forks:
        proofs_dir.mkdir(parents=True, exist_ok=True)
        for n, proof in enumerate(forks, 1):
            target = proofs_dir / f"fork-{n}.proof"
            write_file(target, proof.to_bytes())
            proof_files.append(str(target))
    return AuditResult(
        bundles=tuple(str(b) for b in bundles),
        trust=trust,
        policy=policy,
        policy_path=None if policy_path is None else str(policy_path),
        reports=reports,
        failures=tuple(failures),
        forks=forks,
        pinned=None if pinned_path is None else str(pinned_path),
        pinned_updated=pinned_written,
        proof_files=tuple(proof_files),
        recorded=recorded,
    )


def recorded_events(data: bytes, report: AuditReport) -> dict[bytes, op.SignedEvent]:
    """The events of ``data`` (a bundle) that ``report`` verified, by event id: what each audited step recorded."""
    verified = {s.event_id for b in report.batches for s in b.steps}
    found: dict[bytes, op.SignedEvent] = {}
    try:
        for _index, raw in BundleReader(io.BytesIO(data)).events():
            event = parse_unverified_event(raw)
            if event.event_id in verified:
                found[event.event_id] = event
    except op.ProvenanceError:
        pass  # the audit reported where the bundle breaks; the steps before it are shown
    return found
