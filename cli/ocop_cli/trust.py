"""``ocop trust``: build, sign, inspect and verify trust lists; the trust-list cache (docs/cli.md §Trust lists).

Two files (docs/cli.md §Trust list files):

* a **draft** (``*.json``): the list's content as JSON a person can read and edit, ``{"format":
  "ocop-trust-draft/1", ...}``, the shape of :meth:`ocop_provenance.TrustList.to_dict` without ``id``. ``init``,
  ``add-participant``, ``add-key``, ``retire``, ``revoke`` and ``bump`` write drafts; nothing in a draft is trusted.
* a **signed list** (``*.trust``): the library's multi-signed envelope (docs/format.md §16), written by ``sign``,
  which also adds co-signatures to a signed list (threshold signing with keys on different machines).

Verification walks from pinned authority keys (``--authority-key``), a pinned earlier list (``--pinned-list``), or
the cached list of the same issuer. The latest list verified per issuer is kept in ``$OCOP_HOME/trust/`` and every
later verification must also verify from it, so an older list (rollback) is refused across runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import ocop_provenance as op

from . import keystore
from .context import CliError, Context, ExitCode, OcopGroup, pass_context
from .files import write_file
from .params import TEXT, TIME, json_option, passphrase_file_option
from .render import Renderer, SignedSummary, TrustVerified

__all__ = [
    "TRUST_DRAFT_FORMAT",
    "AnchorOptions",
    "DocumentFailure",
    "anchor_options",
    "draft_members",
    "draft_time",
    "group",
    "read_input",
    "resolve_public_key",
    "signers_from_names",
    "verify_trust_file",
    "write_file",
]

TRUST_DRAFT_FORMAT = "ocop-trust-draft/1"
MAX_DOCUMENT = 4 << 20
MAX_KEY_FILE = 4096


class DocumentFailure(Exception):  # noqa: N818 - a verdict, not an error of ocop
    """A trust list or policy did not verify: rendered as ``NOT VERIFIED`` and exit 1.

    Attributes:
        what: ``trust list`` or ``policy``.
        path: The file.
        error: The library's error.
        against: What it was checked against (``the pinned authority keys``, ``the cached list …``).
    """

    def __init__(self, what: str, path: Path, error: op.ProvenanceError, against: str | None = None) -> None:
        super().__init__(error.message)
        self.what = what
        self.path = path
        self.error = error
        self.against = against


# ---- files --------------------------------------------------------------------------------------------------


def read_input(path: Path, what: str, limit: int = MAX_DOCUMENT) -> bytes:
    """Read a whole (small) file.

    Raises:
        CliError: It cannot be read (``E_IO``) or is larger than ``limit`` (``E_SIZE``); exit 3.
    """
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise CliError(f"cannot read the {what} {path}: {e.strerror or e}", code="E_IO") from e
    if len(data) > limit:
        raise CliError(f"the {what} {path} is larger than {limit} bytes", code="E_SIZE")
    return data


def is_draft(data: bytes) -> bool:
    """True when ``data`` looks like a JSON draft rather than a signed envelope (a CBOR array)."""
    return data.lstrip()[:1] == b"{"


def load_json(data: bytes, path: Path, fmt: str) -> dict[str, Any]:
    """Decode a JSON draft and check its ``format`` member.

    Raises:
        CliError: Not JSON, or another format (``E_DRAFT``, exit 3).
    """
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise CliError(f"{path} is not valid UTF-8 JSON: {e}", code="E_DRAFT") from e
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise CliError(f"{path} is not a draft of format {fmt}", code="E_DRAFT")
    return doc


def dump_json(doc: Mapping[str, Any]) -> bytes:
    """The on-disk form of a draft: indented UTF-8 JSON (Vietnamese kept as is), ending with a newline."""
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# ---- keys ---------------------------------------------------------------------------------------------------


def resolve_public_key(ctx: Context, spec: str) -> op.PublicKey:
    """Return the public key named by ``spec``: a PEM file path, else a key name in ``$OCOP_HOME/keys``.

    Raises:
        CliError: Neither a readable PEM file nor a local key (``E_NO_KEY``, exit 3), or not an Ed25519 key.
    """
    path = Path(spec)
    if path.is_file():
        data = read_input(path, "public key", MAX_KEY_FILE)
        try:
            return op.PublicKey.from_pem(data)
        except op.KeyFormatError as e:
            raise CliError(f"{path} is not a usable public key: {e.message}", code=e.code) from e
    if keystore.NAME_RE.fullmatch(spec) and (ctx.keys_dir / f"{spec}.pub").exists():
        return keystore.public_key(ctx, spec)
    raise CliError(f"{spec!r} is neither a PEM public key file nor a key in {ctx.keys_dir}", code="E_NO_KEY")


def signers_from_names(ctx: Context, names: Sequence[str], passphrase_file: Path | None) -> list[op.PrivateKey]:
    """Open the local private keys ``names`` (each asks for its passphrase only if sealed)."""
    return [keystore.load_signer(ctx, name, passphrase_file) for name in dict.fromkeys(names)]


def _threshold(keys: Sequence[op.PublicKey], threshold: int | None, option: str) -> int:
    if threshold is not None:
        return threshold
    if len({k.raw for k in keys}) == 1:
        return 1
    raise click.BadParameter("give the threshold when there are several authority keys", param_hint=option)


# ---- drafts -------------------------------------------------------------------------------------------------


def draft_time(value: object, where: str) -> datetime:
    """Read a draft's time member (ISO 8601 text with an offset), in UTC.

    Raises:
        TypeError, ValueError: Not such a text (``trust_from_draft`` and ``policy_from_draft`` report E_DRAFT).
    """
    if not isinstance(value, str):
        raise TypeError(f"{where}: expected a time text such as 2026-01-01T00:00:00Z")
    try:
        t = datetime.fromisoformat(value)
    except ValueError as e:
        raise ValueError(f"{where}: {value!r} is not an ISO 8601 time") from e
    if t.utcoffset() is None:
        raise ValueError(f"{where}: {value!r} has no UTC offset")
    return t.astimezone(UTC)


def _opt_utc(value: object, where: str) -> datetime | None:
    return None if value is None else draft_time(value, where)


def _raw_key(entry: Mapping[str, Any], where: str) -> op.PublicKey:
    raw = entry["public_key"]
    if not isinstance(raw, str):
        raise TypeError(f"{where}.public_key: expected 64 hex digits")
    key = op.PublicKey.from_raw(bytes.fromhex(raw))
    kid = entry.get("key_id")
    if kid is not None and kid != key.key_id_hex:
        raise ValueError(f"{where}.key_id does not match its public_key (remove key_id or fix it)")
    return key


def draft_members(obj: object, allowed: set[str], where: str) -> Mapping[str, Any]:
    """Return ``obj`` if it is a JSON object holding only ``allowed`` members.

    Raises:
        TypeError, ValueError: It is not, naming ``where`` (reported as E_DRAFT by the draft readers).
    """
    if not isinstance(obj, dict):
        raise TypeError(f"{where}: expected an object")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown members {unknown}")
    return obj


_DRAFT_TOP = {"format", "issuer", "version", "issued_at", "expires", "authority", "participants", "id"}
_DRAFT_PARTICIPANT = {"id", "name", "role", "admin_code", "gln", "keys"}
_DRAFT_KEY = {"key_id", "public_key", "not_before", "not_after", "status", "status_time"}


def trust_from_draft(data: bytes, path: Path) -> op.TrustList:
    """Build the (unsigned) list a draft describes.

    Raises:
        CliError: The draft is not well formed (``E_DRAFT``, exit 3); the library's FormatError for invalid values.
    """
    doc = load_json(data, path, TRUST_DRAFT_FORMAT)
    try:
        top = draft_members(doc, _DRAFT_TOP, "draft")
        auth = draft_members(top["authority"], {"threshold", "keys"}, "authority")
        keys = tuple(_raw_key(k, f"authority.keys[{i}]") for i, k in enumerate(auth["keys"]))
        participants = []
        for i, p in enumerate(top["participants"]):
            where = f"participants[{i}]"
            pm = draft_members(p, _DRAFT_PARTICIPANT, where)
            pkeys = []
            for j, k in enumerate(pm["keys"]):
                kw = f"{where}.keys[{j}]"
                km = draft_members(k, _DRAFT_KEY, kw)
                pkeys.append(
                    op.ParticipantKey(
                        key=_raw_key(km, kw),
                        not_before=draft_time(km["not_before"], f"{kw}.not_before"),
                        not_after=draft_time(km["not_after"], f"{kw}.not_after"),
                        status=km.get("status", "active"),
                        status_time=_opt_utc(km.get("status_time"), f"{kw}.status_time"),
                    )
                )
            participants.append(
                op.Participant(
                    id=pm["id"],
                    name=pm["name"],
                    role=pm["role"],
                    admin_code=pm.get("admin_code"),
                    gln=pm.get("gln"),
                    keys=tuple(pkeys),
                )
            )
        return op.TrustList(
            issuer=top["issuer"],
            version=top["version"],
            issued_at=draft_time(top["issued_at"], "issued_at"),
            expires=draft_time(top["expires"], "expires"),
            authority=op.AuthorityPin(keys, auth["threshold"]),
            participants=tuple(participants),
        )
    except op.ProvenanceError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        detail = f"missing member {e}" if isinstance(e, KeyError) else str(e)
        raise CliError(f"{path}: {detail}", code="E_DRAFT") from e


def trust_to_draft(trust: op.TrustList) -> bytes:
    """The draft JSON of a list (its ``id`` dropped: a draft has none until signed)."""
    if trust.extensions or trust.critical:
        raise CliError("this list carries extension labels that ocop cannot edit as a draft", code="E_DRAFT")
    d = trust.to_dict()
    d.pop("id", None)
    return dump_json({"format": TRUST_DRAFT_FORMAT, **d})


def load_trust(path: Path) -> tuple[op.TrustList, bytes | None]:
    """Read a draft or a signed list (signatures NOT checked); return it and the signed bytes (None for a draft)."""
    data = read_input(path, "trust list")
    if is_draft(data):
        return trust_from_draft(data, path), None
    return op.TrustList.parse_unverified(data), data


def _load_draft(path: Path) -> op.TrustList:
    trust, signed = load_trust(path)
    if signed is not None:
        raise CliError(
            f"{path} is a signed list and cannot be edited: make a draft of the next version with "
            f"ocop trust bump {path} -o DRAFT.json",
            code="E_SIGNED",
        )
    return trust


def signed_summary(path: Path, data: bytes, typ: str, authority: op.AuthorityPin | None) -> SignedSummary:
    """Who signed a signed document, and how many of ``authority``'s keys did (informational, not a verification)."""
    doc = op.parse_unverified_document(data, typ=typ)
    good = doc.signed_by(authority.keys) if authority is not None else frozenset()
    auth_ids = {k.key_id for k in authority.keys} if authority is not None else set()
    return SignedSummary(
        path=str(path),
        object_id=doc.object_id,
        signers=tuple(s.key_id for s in doc.signatures),
        authority_ids=frozenset(auth_ids),
        valid_authority=len(good),
        threshold=None if authority is None else authority.threshold,
    )


# ---- verification and the cache -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AnchorOptions:
    """Where trust in a list starts: pinned authority keys, a pinned earlier list, or the cache."""

    authority: tuple[str, ...] = ()
    threshold: int | None = None
    pinned_list: Path | None = None
    via: tuple[Path, ...] = ()
    use_cache: bool = True


def anchor_options(f: Any) -> Any:
    """The options that say what a trust list is verified against (``--authority-key`` … ``--no-cache``)."""
    options = [
        click.option(
            "--authority-key",
            "authority",
            multiple=True,
            metavar="KEY",
            help="A pinned authority public key: a PEM file or a key name in $OCOP_HOME/keys. Repeatable.",
        ),
        click.option(
            "--threshold",
            type=click.IntRange(1, 16),
            default=None,
            help="How many distinct pinned authority keys must have signed (needed with several keys).",
        ),
        click.option(
            "--pinned-list",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            metavar="FILE",
            help="A signed trust list you verified before: trust walks forward from it.",
        ),
        click.option(
            "--via",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help="Signed lists between the anchor and this one, oldest first (when authority keys rotated).",
        ),
        click.option(
            "--no-cache",
            is_flag=True,
            help="Neither read nor update the trust-list cache in $OCOP_HOME/trust.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_anchor(
    authority: tuple[str, ...], threshold: int | None, pinned_list: Path | None, **kw: Any
) -> AnchorOptions:
    """Build :class:`AnchorOptions` from the click values of :func:`anchor_options`.

    Raises:
        click.UsageError: Both ``--authority-key`` and ``--pinned-list``, or ``--threshold`` alone.
    """
    if authority and pinned_list is not None:
        raise click.UsageError("give either --authority-key or --pinned-list, not both")
    if threshold is not None and not authority:
        raise click.UsageError("--threshold goes with --authority-key")
    return AnchorOptions(
        authority=authority,
        threshold=threshold,
        pinned_list=pinned_list,
        via=tuple(kw.get("via", ())),
        use_cache=not kw.get("no_cache", False),
    )


def cache_path(ctx: Context, issuer: str) -> Path:
    """Where the latest verified list of ``issuer`` is cached.

    ``$OCOP_HOME/trust/<the first 32 hex digits of SHA-256(issuer)>.trust`` (docs/cli.md §Trust lists).
    """
    return ctx.home / "trust" / f"{hashlib.sha256(issuer.encode('utf-8')).hexdigest()[:32]}.trust"


def _cached(path: Path) -> op.TrustList | None:
    if not path.exists():
        return None
    try:
        return op.TrustList.parse_unverified(read_input(path, "cached trust list"))
    except op.ProvenanceError as e:
        raise CliError(
            f"the cached trust list {path} is damaged ({e.message}): remove it and verify against pinned keys",
            code="E_TRUST_CACHE",
        ) from e


def verify_trust_file(ctx: Context, path: Path, anchor: AnchorOptions, now: datetime) -> TrustVerified:
    """Verify a signed trust list against the anchor and the cache, and update the cache.

    Raises:
        DocumentFailure: The list (or a ``--via`` list) does not verify (exit 1).
        CliError: A file cannot be read, or it is a draft (exit 3).
        click.UsageError: No anchor at all: no authority key, pinned list or cached list (exit 2).
    """
    data = read_input(path, "trust list")
    if is_draft(data):
        raise CliError(f"{path} is a draft, not a signed list: sign it with ocop trust sign", code="E_NOT_SIGNED")
    try:
        claimed = op.TrustList.parse_unverified(data)
    except op.ProvenanceError as e:
        raise DocumentFailure("trust list", path, e) from e
    cache_file = cache_path(ctx, claimed.issuer)
    cached = _cached(cache_file) if anchor.use_cache else None
    via = [read_input(p, "intermediate trust list") for p in anchor.via]
    # from the cache, only the lists newer than the cached one lead forward
    try:
        after_cache = (
            via if cached is None else [r for r in via if op.TrustList.parse_unverified(r).version > cached.version]
        )
    except op.ProvenanceError as e:  # a damaged intermediate list: the same verdict as without the cache
        raise DocumentFailure("trust list", path, e) from e
    base: op.TrustList | op.AuthorityPin
    if anchor.authority:
        keys = tuple(resolve_public_key(ctx, spec) for spec in anchor.authority)
        base = op.AuthorityPin(keys, _threshold(keys, anchor.threshold, "--threshold"))
        against = f"{len(base.keys)} pinned authority key(s), threshold {base.threshold}"
    elif anchor.pinned_list is not None:
        try:
            base = op.TrustList.parse_unverified(read_input(anchor.pinned_list, "pinned trust list"))
        except op.ProvenanceError as e:
            raise CliError(f"the pinned list {anchor.pinned_list} is unusable: {e.message}", code=e.code) from e
        against = f"the pinned list {anchor.pinned_list} (version {base.version})"
    elif cached is not None:
        base = cached
        against = f"the cached list version {cached.version} ({cache_file})"
    else:
        raise click.UsageError(
            f"nothing to verify {path} against: give --authority-key KEY (with --threshold) or --pinned-list FILE "
            f"(no list of {claimed.issuer!r} is cached yet)"
        )
    try:
        trust = op.verify_trust_list(data, base, now=now, intermediates=after_cache if base is cached else via)
    except op.ProvenanceError as e:
        raise DocumentFailure("trust list", path, e, against) from e
    previous = None
    if cached is not None:
        previous = cached.version
        if base is not cached:
            try:
                op.verify_trust_list(data, cached, now=now, intermediates=after_cache)
            except op.ProvenanceError as e:
                raise DocumentFailure(
                    "trust list", path, e, f"the cached list version {cached.version} ({cache_file})"
                ) from e
    updated = False
    if anchor.use_cache and (cached is None or trust.version > cached.version):
        write_file(cache_file, trust.raw)
        updated = True
    return TrustVerified(
        path=str(path),
        trust=trust,
        against=against,
        cache=str(cache_file) if anchor.use_cache else None,
        cache_updated=updated,
        cached_version=previous,
    )


# ---- commands -----------------------------------------------------------------------------------------------


@click.group("trust", cls=OcopGroup)
def group() -> None:
    """Build, sign, inspect and verify trust lists (who holds which key, in which role).

    \b
    A draft (JSON, editable) is made with init/add-participant/add-key/retire/revoke/bump;
    sign turns it into a signed list (.trust) or adds co-signatures to one; verify checks
    a signed list against pinned authority keys or an earlier list and caches it.
    """


@group.command("init")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The draft.")
@click.option("--issuer", required=True, type=TEXT, help="The authority's name (e.g. a provincial OCOP office).")
@click.option(
    "--authority-key",
    "authority",
    multiple=True,
    required=True,
    metavar="KEY",
    help="An authority public key: a PEM file or a key name in $OCOP_HOME/keys. Repeatable.",
)
@click.option("--threshold", type=click.IntRange(1, 16), default=None, help="How many authority keys must sign.")
@click.option("--expires", required=True, type=TIME, help="When the list stops being usable (ISO 8601).")
@click.option("--list-version", type=click.IntRange(1), default=1, show_default=True, help="The list's version.")
@click.option("--force", is_flag=True, help="Overwrite an existing draft.")
@json_option
@pass_context
def init(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    output: Path,
    issuer: str,
    authority: tuple[str, ...],
    threshold: int | None,
    expires: datetime,
    list_version: int,
    force: bool,
) -> None:
    """Start a draft trust list: issuer, authority keys, threshold and expiry."""
    keys = tuple(resolve_public_key(ctx, spec) for spec in authority)
    trust = op.TrustList(
        issuer=issuer,
        version=list_version,
        issued_at=ctx.utc_now(),
        expires=expires.astimezone(UTC),
        authority=op.AuthorityPin(keys, _threshold(keys, threshold, "--threshold")),
        participants=(),
    )
    write_file(output, trust_to_draft(trust), overwrite=force)
    Renderer(ctx).trust_draft(str(output), trust, "created")


def _key_entries(
    ctx: Context, specs: Sequence[str], not_before: datetime, not_after: datetime
) -> tuple[op.ParticipantKey, ...]:
    return tuple(
        op.ParticipantKey(
            key=resolve_public_key(ctx, spec),
            not_before=not_before.astimezone(UTC),
            not_after=not_after.astimezone(UTC),
        )
        for spec in specs
    )


_KEY_OPTION = click.option(
    "--key",
    "keys",
    multiple=True,
    required=True,
    metavar="KEY",
    help="A public key: a PEM file or a key name in $OCOP_HOME/keys. Repeatable.",
)
_WINDOW = [
    click.option("--not-before", required=True, type=TIME, help="First time the key may sign (included)."),
    click.option("--not-after", required=True, type=TIME, help="First time the key may no longer sign (excluded)."),
]


def _window(f: Any) -> Any:
    for option in reversed(_WINDOW):
        f = option(f)
    return f


@group.command("add-participant")
@click.argument("draft", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--id", "participant_id", required=True, help="Stable id in the list (a-z 0-9 . _ -).")
@click.option("--name", required=True, type=TEXT, help="Display name (Vietnamese welcome).")
@click.option("--role", required=True, type=click.Choice(op.ROLES), help="The participant's role.")
@click.option("--admin-code", default=None, help="Administrative-unit code (digits).")
@click.option("--gln", default=None, help="GS1 Global Location Number (13 digits).")
@_KEY_OPTION
@_window
@json_option
@pass_context
def add_participant(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    draft: Path,
    participant_id: str,
    name: str,
    role: str,
    admin_code: str | None,
    gln: str | None,
    keys: tuple[str, ...],
    not_before: datetime,
    not_after: datetime,
) -> None:
    """Add a participant and its keys to DRAFT."""
    trust = _load_draft(draft)
    if any(p.id == participant_id for p in trust.participants):
        raise CliError(f"{participant_id} is already in the list: add keys with ocop trust add-key", code="E_EXISTS")
    participant = op.Participant(
        id=participant_id,
        name=name,
        role=role,
        admin_code=admin_code,
        gln=gln,
        keys=_key_entries(ctx, keys, not_before, not_after),
    )
    trust = trust.with_participant(participant)
    write_file(draft, trust_to_draft(trust))
    Renderer(ctx).trust_draft(str(draft), trust, f"added {participant_id}")


@group.command("add-key")
@click.argument("draft", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--id", "participant_id", required=True, help="The participant's id.")
@_KEY_OPTION
@_window
@json_option
@pass_context
def add_key(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context, draft: Path, participant_id: str, keys: tuple[str, ...], not_before: datetime, not_after: datetime
) -> None:
    """Add keys to a participant of DRAFT (a new device, a new staff member)."""
    trust = _load_draft(draft)
    try:
        participant = trust.participant(participant_id)
    except KeyError as e:
        raise CliError(f"no participant {participant_id} in {draft}", code="E_NOT_FOUND") from e
    new = (*participant.keys, *_key_entries(ctx, keys, not_before, not_after))
    trust = trust.with_participant(dataclasses.replace(participant, keys=new))
    write_file(draft, trust_to_draft(trust))
    Renderer(ctx).trust_draft(str(draft), trust, f"added {len(keys)} key(s) to {participant_id}")


def _set_status(ctx: Context, draft: Path, spec: str, status: str, at: datetime | None) -> None:
    trust = _load_draft(draft)
    key = resolve_public_key(ctx, spec)
    try:
        trust = trust.with_key_status(key, status, None if at is None else at.astimezone(UTC))
    except KeyError as e:
        raise CliError(f"no participant of {draft} holds key {key.key_id_hex[:16]}", code="E_NOT_FOUND") from e
    write_file(draft, trust_to_draft(trust))
    Renderer(ctx).trust_draft(str(draft), trust, f"{status} key {key.key_id_hex[:16]}")


@group.command("retire")
@click.argument("draft", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "key_spec", required=True, metavar="KEY", help="The key: a PEM file or a local key name.")
@click.option("--at", "at", required=True, type=TIME, help="Retirement time: steps claiming this time or later fail.")
@json_option
@pass_context
def retire(ctx: Context, draft: Path, key_spec: str, at: datetime) -> None:
    """Retire a key that was NOT compromised: steps it signed before --at stay valid."""
    _set_status(ctx, draft, key_spec, op.KeyStatus.RETIRED, at)


@group.command("revoke")
@click.argument("draft", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "key_spec", required=True, metavar="KEY", help="The key: a PEM file or a local key name.")
@click.option("--at", "at", type=TIME, default=None, help="When the compromise was declared (default: now).")
@json_option
@pass_context
def revoke(ctx: Context, draft: Path, key_spec: str, at: datetime | None) -> None:
    """Revoke a lost or stolen key: EVERY step it signed is refused, whatever time it claims."""
    _set_status(ctx, draft, key_spec, op.KeyStatus.REVOKED, at or ctx.utc_now())


@group.command("bump")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The new draft.")
@click.option("--expires", required=True, type=TIME, help="The new version's expiry.")
@click.option(
    "--authority-key", "authority", multiple=True, metavar="KEY", help="New authority keys (default: unchanged)."
)
@click.option("--threshold", type=click.IntRange(1, 16), default=None, help="New authority threshold.")
@click.option("--force", is_flag=True, help="Overwrite an existing draft.")
@json_option
@pass_context
def bump(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    source: Path,
    output: Path,
    expires: datetime,
    authority: tuple[str, ...],
    threshold: int | None,
    force: bool,
) -> None:
    """Make a draft of the next version of SOURCE (a signed list or a draft)."""
    trust, _ = load_trust(source)
    pin = None
    if authority:
        keys = tuple(resolve_public_key(ctx, spec) for spec in authority)
        pin = op.AuthorityPin(keys, _threshold(keys, threshold, "--threshold"))
    elif threshold is not None:
        pin = op.AuthorityPin(trust.authority.keys, threshold)
    new = trust.next_version(issued_at=ctx.utc_now(), expires=expires.astimezone(UTC), authority=pin)
    write_file(output, trust_to_draft(new), overwrite=force)
    Renderer(ctx).trust_draft(str(output), new, f"version {new.version} drafted from {source}")


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
    help="Where to write the signed list (default: a signed SOURCE is updated in place; a draft X.json gives X.trust).",
)
@passphrase_file_option
@json_option
@pass_context
def sign(ctx: Context, source: Path, keys: tuple[str, ...], output: Path | None, passphrase_file: Path | None) -> None:
    """Sign a draft into a signed list, or add co-signatures to a signed list.

    \b
    Threshold signing across machines: the first holder signs the draft, sends the
    .trust file to the next, who runs `ocop trust sign LIST.trust --key NAME`.
    """
    trust, signed = load_trust(source)
    signers = signers_from_names(ctx, keys, passphrase_file)
    out = Renderer(ctx)
    outsiders = [s for s in signers if s.public_key not in trust.authority.keys]
    for s in outsiders:
        out.warn(f"key {s.public_key.key_id_hex[:16]} is not one of this list's authority keys")
    if signed is None:
        data = op.sign_trust_list(trust, signers)
        target = output or source.with_suffix(".trust")
    else:
        data = op.add_signatures(signed, signers, typ=op.TRUST_TYP)
        target = output or source
    write_file(target, data)
    out.signed_document("trust list", signed_summary(target, data, op.TRUST_TYP, trust.authority), trust.version)


@group.command("inspect")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_context
def inspect(ctx: Context, source: Path) -> None:
    """Show a draft or a signed list (NOT a verification: use ocop trust verify)."""
    trust, signed = load_trust(source)
    summary = None if signed is None else signed_summary(source, signed, op.TRUST_TYP, trust.authority)
    Renderer(ctx).trust_inspect(str(source), trust, summary)


@group.command("verify")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@anchor_options
@json_option
@pass_context
def verify(ctx: Context, source: Path, **options: Any) -> None:
    """Verify a signed list against pinned authority keys, a pinned list or the cache.

    \b
    Refuses an older version than the pinned or cached one (rollback), an expired
    list, too few distinct authority signatures, and unknown critical fields.
    On success the list becomes the cached list of its issuer.
    """
    anchor = make_anchor(**options)
    out = Renderer(ctx)
    try:
        result = verify_trust_file(ctx, source, anchor, ctx.utc_now())
    except DocumentFailure as f:
        out.document_failed(f.what, str(f.path), f.error, f.against)
        click.get_current_context().exit(ExitCode.VERIFY_FAILED)
    out.trust_verified(result)
