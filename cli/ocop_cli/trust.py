"""``ocop trust``: build, sign, inspect and verify trust lists through the trust store (docs/cli.md §Trust lists).

Two files (docs/cli.md §Trust list files):

* a **draft** (``*.json``): the list's content as JSON a person can read and edit, ``{"format":
  "ocop-trust-draft/1", ...}``, the shape of :meth:`ocop_provenance.TrustList.to_dict` without ``id``. ``init``,
  ``add-participant``, ``add-key``, ``retire``, ``revoke`` and ``bump`` write drafts; nothing in a draft is trusted.
* a **signed list** (``*.trust``): the library's multi-signed envelope (docs/format.md §16), written by ``sign``,
  which also adds co-signatures to a signed list (threshold signing with keys on different machines).

Verification walks from pinned authority keys (``--authority-key``), through a pinned earlier list
(``--pinned-list``, itself verified from those keys) and ``--via`` lists. The library's trust store in
``$OCOP_HOME/trust/`` keeps the newest list verified from each set of pinned keys and every later verification from
those keys starts there, so an older list (rollback) is refused across runs (docs/adr/0037).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import ocop_provenance as op
from ocop_provenance.trust import (
    ROLES,
    TRUST_TYP,
    AuthorityPin,
    KeyStatus,
    Participant,
    ParticipantKey,
    TrustList,
    TrustStore,
    TrustStoreError,
    add_signatures,
    anchor_id,
    parse_unverified_document,
    sign_trust_list,
)

from . import keystore
from .context import CliError, Context, ExitCode, OcopGroup, pass_context
from .files import write_file
from .i18n import N_
from .params import TEXT, TIME, json_option, passphrase_file_option
from .render import Output
from .render.trust import (
    DocumentFailed,
    DocumentSigned,
    DraftEdit,
    SignedSummary,
    TrustDraft,
    TrustInspected,
    TrustVerified,
    against_text,
)
from .render.words import t

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
        against: What it was checked against (the pinned keys, the stored list …).
    """

    def __init__(self, what: str, path: Path, error: op.ProvenanceError, against: str | None = None) -> None:
        super().__init__(error.message)
        self.what = what
        self.path = path
        self.error = error
        self.against = against

    @property
    def result(self) -> DocumentFailed:
        """The verdict to render."""
        return DocumentFailed(what=self.what, path=str(self.path), error=self.error, against=self.against)


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
        raise CliError(
            t("cannot read the {what} {path}: {reason}", what=t(what), path=path, reason=e.strerror or e), code="E_IO"
        ) from e
    if len(data) > limit:
        raise CliError(
            t("the {what} {path} is larger than {limit} bytes", what=t(what), path=path, limit=limit), code="E_SIZE"
        )
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
        raise CliError(t("{path} is not valid UTF-8 JSON: {reason}", path=path, reason=e), code="E_DRAFT") from e
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise CliError(t("{path} is not a draft of format {fmt}", path=path, fmt=fmt), code="E_DRAFT")
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
        data = read_input(path, N_("public key"), MAX_KEY_FILE)
        try:
            return op.PublicKey.from_pem(data)
        except op.KeyFormatError as e:
            raise CliError(
                t("{path} is not a usable public key: {reason}", path=path, reason=e.message), code=e.code
            ) from e
    if keystore.NAME_RE.fullmatch(spec) and (ctx.keys_dir / f"{spec}.pub").exists():
        return keystore.public_key(ctx, spec)
    raise CliError(
        t("{spec} is neither a PEM public key file nor a key in {keys_dir}", spec=repr(spec), keys_dir=ctx.keys_dir),
        code="E_NO_KEY",
    )


def signers_from_names(ctx: Context, names: Sequence[str], passphrase_file: Path | None) -> list[op.PrivateKey]:
    """Open the local private keys ``names`` (each asks for its passphrase only if sealed)."""
    return [keystore.load_signer(ctx, name, passphrase_file) for name in dict.fromkeys(names)]


def _threshold(keys: Sequence[op.PublicKey], threshold: int | None, option: str) -> int:
    if threshold is not None:
        return threshold
    if len({k.raw for k in keys}) == 1:
        return 1
    raise click.BadParameter(t("give the threshold when there are several authority keys"), param_hint=option)


# ---- drafts -------------------------------------------------------------------------------------------------


def draft_time(value: object, where: str) -> datetime:
    """Read a draft's time member (ISO 8601 text with an offset), in UTC.

    Raises:
        TypeError, ValueError: Not such a text (``trust_from_draft`` and ``policy_from_draft`` report E_DRAFT).
    """
    if not isinstance(value, str):
        raise TypeError(t("{where}: expected a time text such as 2026-01-01T00:00:00Z", where=where))
    try:
        when = datetime.fromisoformat(value)
    except ValueError as e:
        raise ValueError(t("{where}: {value} is not an ISO 8601 time", where=where, value=repr(value))) from e
    if when.utcoffset() is None:
        raise ValueError(t("{where}: {value} has no UTC offset", where=where, value=repr(value)))
    return when.astimezone(UTC)


def _opt_utc(value: object, where: str) -> datetime | None:
    return None if value is None else draft_time(value, where)


def _raw_key(entry: Mapping[str, Any], where: str) -> op.PublicKey:
    raw = entry["public_key"]
    if not isinstance(raw, str):
        raise TypeError(t("{where}.public_key: expected 64 hex digits", where=where))
    key = op.PublicKey.from_raw(bytes.fromhex(raw))
    kid = entry.get("key_id")
    if kid is not None and kid != key.key_id_hex:
        raise ValueError(t("{where}.key_id does not match its public_key (remove key_id or fix it)", where=where))
    return key


def draft_members(obj: object, allowed: set[str], where: str) -> Mapping[str, Any]:
    """Return ``obj`` if it is a JSON object holding only ``allowed`` members.

    Raises:
        TypeError, ValueError: It is not, naming ``where`` (reported as E_DRAFT by the draft readers).
    """
    if not isinstance(obj, dict):
        raise TypeError(t("{where}: expected an object", where=where))
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ValueError(t("{where}: unknown members {unknown}", where=where, unknown=unknown))
    return obj


_DRAFT_TOP = {"format", "issuer", "version", "issued_at", "expires", "authority", "participants", "id"}
_DRAFT_PARTICIPANT = {
    "id",
    "name",
    "role",
    "admin_code",
    "gln",
    "commune",
    "province",
    "gs1_prefixes",
    "glns",
    "admin_codes",
    "keys",
}
_DRAFT_KEY = {"key_id", "public_key", "not_before", "not_after", "status", "status_time"}


def trust_from_draft(data: bytes, path: Path) -> TrustList:
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
                    ParticipantKey(
                        key=_raw_key(km, kw),
                        not_before=draft_time(km["not_before"], f"{kw}.not_before"),
                        not_after=draft_time(km["not_after"], f"{kw}.not_after"),
                        status=km.get("status", "active"),
                        status_time=_opt_utc(km.get("status_time"), f"{kw}.status_time"),
                    )
                )
            participants.append(
                Participant(
                    id=pm["id"],
                    name=pm["name"],
                    role=pm["role"],
                    admin_code=pm.get("admin_code"),
                    gln=pm.get("gln"),
                    commune=pm.get("commune"),
                    province=pm.get("province"),
                    gs1_prefixes=tuple(pm.get("gs1_prefixes", ())),
                    glns=tuple(pm.get("glns", ())),
                    admin_codes=tuple(pm.get("admin_codes", ())),
                    keys=tuple(pkeys),
                )
            )
        return TrustList(
            issuer=top["issuer"],
            version=top["version"],
            issued_at=draft_time(top["issued_at"], "issued_at"),
            expires=draft_time(top["expires"], "expires"),
            authority=AuthorityPin(keys, auth["threshold"]),
            participants=tuple(participants),
        )
    except op.ProvenanceError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        detail = t("missing member {member}", member=e) if isinstance(e, KeyError) else str(e)
        raise CliError(t("{path}: {detail}", path=path, detail=detail), code="E_DRAFT") from e


def trust_to_draft(trust: TrustList) -> bytes:
    """The draft JSON of a list (its ``id`` dropped: a draft has none until signed)."""
    if trust.extensions or trust.critical:
        raise CliError(t("this list carries extension labels that ocop cannot edit as a draft"), code="E_DRAFT")
    d = trust.to_dict()
    d.pop("id", None)
    return dump_json({"format": TRUST_DRAFT_FORMAT, **d})


def load_trust(path: Path) -> tuple[TrustList, bytes | None]:
    """Read a draft or a signed list (signatures NOT checked); return it and the signed bytes (None for a draft)."""
    data = read_input(path, N_("trust list"))
    if is_draft(data):
        return trust_from_draft(data, path), None
    return TrustList.parse_unverified(data), data


def _load_draft(path: Path) -> TrustList:
    trust, signed = load_trust(path)
    if signed is not None:
        raise CliError(
            t(
                "{path} is a signed list and cannot be edited: make a draft of the next version with "
                "ocop trust bump {path} -o DRAFT.json",
                path=path,
            ),
            code="E_SIGNED",
        )
    return trust


def signed_summary(path: Path, data: bytes, typ: str, authority: AuthorityPin | None) -> SignedSummary:
    """Who signed a signed document, and how many of ``authority``'s keys did (informational, not a verification)."""
    doc = parse_unverified_document(data, typ=typ)
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


# ---- verification and the store ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AnchorOptions:
    """Where trust in a list starts: pinned authority keys (and a pinned earlier list), or the trust store."""

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
            help="With --authority-key: an earlier signed list, verified from those keys; trust walks on from it.",
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
            help="Neither read nor update the trust store in $OCOP_HOME/trust (then --authority-key is needed).",
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
        CliError: ``--pinned-list`` without ``--authority-key`` (``E_PINNED_LIST_UNANCHORED``, exit 2): a list
            cannot vouch for itself.
        click.UsageError: ``--threshold`` without ``--authority-key``.
    """
    if pinned_list is not None and not authority:
        raise CliError(
            t(
                "the pinned list {pinned_list} cannot vouch for itself: give the authority keys it must be signed by "
                "(--authority-key KEY, with --threshold)",
                pinned_list=pinned_list,
            ),
            code="E_PINNED_LIST_UNANCHORED",
            exit_code=ExitCode.USAGE,
        )
    if threshold is not None and not authority:
        raise click.UsageError(t("--threshold goes with --authority-key"))
    return AnchorOptions(
        authority=authority,
        threshold=threshold,
        pinned_list=pinned_list,
        via=tuple(kw.get("via", ())),
        use_cache=not kw.get("no_cache", False),
    )


def verify_trust_file(ctx: Context, path: Path, anchor: AnchorOptions, now: datetime) -> TrustVerified:
    """Verify a signed trust list from the pinned keys and the trust store, and remember it (docs/trust.md).

    The store (``$OCOP_HOME/trust``, :class:`ocop_provenance.TrustStore`) holds the newest list verified from each
    set of pinned authority keys; verification starts there when it holds one, so an older list is refused in any
    later run. A ``--pinned-list`` is walked through first, from the pinned keys. Without pinned keys the store entry
    holding a list of the same issuer is the anchor.

    Raises:
        DocumentFailure: The list (or a ``--pinned-list``/``--via`` list) does not verify (exit 1).
        CliError: A file cannot be read, or it is a draft (exit 3); no anchor, or several (exit 2).
        TrustStoreError: A store entry is damaged or cannot be written (exit 3).
        click.UsageError: ``--no-cache`` and no pinned keys: nothing to verify from (exit 2).
    """
    data = read_input(path, N_("trust list"))
    if is_draft(data):
        raise CliError(
            t("{path} is a draft, not a signed list: sign it with ocop trust sign", path=path), code="E_NOT_SIGNED"
        )
    pin = None
    if anchor.authority:
        keys = tuple(resolve_public_key(ctx, spec) for spec in anchor.authority)
        pin = AuthorityPin(keys, _threshold(keys, anchor.threshold, "--threshold"))
    pinned = [] if anchor.pinned_list is None else [read_input(anchor.pinned_list, N_("pinned trust list"))]
    via = [*pinned, *(read_input(p, N_("intermediate trust list")) for p in anchor.via)]
    pinned_list = None if anchor.pinned_list is None else str(anchor.pinned_list)
    if not anchor.use_cache:
        if pin is None:
            raise click.UsageError(
                t("nothing to verify {path} against without the trust store: give --authority-key", path=path)
            )
        against = against_text(pin=pin, pinned_list=pinned_list)
        try:
            trust = op.verify_trust_list(data, pin, now=now, intermediates=via)
        except op.ProvenanceError as e:
            raise DocumentFailure("trust list", path, e, against) from e
        return TrustVerified(path=str(path), trust=trust, against=against, anchor=anchor_id(pin).hex())
    store = TrustStore(ctx.home / "trust")
    try:
        start = store.anchor(pin) if pin is not None else store.find(data)
    except TrustStoreError as e:
        if e.code in ("E_TRUST_STORE_NO_ANCHOR", "E_TRUST_STORE_AMBIGUOUS"):
            raise CliError(
                t(
                    "nothing to verify {path} against: {reason} (--authority-key KEY, with --threshold)",
                    path=path,
                    reason=e.message,
                ),
                code=e.code,
                exit_code=ExitCode.USAGE,
            ) from e
        raise
    except op.ProvenanceError as e:  # the list is malformed: found nothing to choose an entry with
        raise DocumentFailure("trust list", path, e) from e
    stored = start.stored
    against = against_text(
        pin=pin,
        pinned_list=pinned_list if stored is None else None,
        stored_version=None if stored is None else stored.version,
        store_entry=str(start.path),
    )
    try:
        result = store.verify(data, start, now=now, intermediates=via)
    except TrustStoreError:
        raise
    except op.ProvenanceError as e:
        raise DocumentFailure("trust list", path, e, against) from e
    return TrustVerified(
        path=str(path),
        trust=result.trust,
        against=against,
        anchor=start.id.hex(),
        cache=str(start.path),
        cache_updated=result.updated,
        cached_version=result.previous_version,
    )


# ---- commands -----------------------------------------------------------------------------------------------


@click.group("trust", cls=OcopGroup)
def group() -> None:
    """Build, sign, inspect and verify trust lists (who holds which key, in which role).

    \b
    A draft (JSON, editable) is made with init/add-participant/add-key/retire/revoke/bump;
    sign turns it into a signed list (.trust) or adds co-signatures to one; verify checks
    a signed list against pinned authority keys and remembers it in the trust store.
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
    trust = TrustList(
        issuer=issuer,
        version=list_version,
        issued_at=ctx.utc_now(),
        expires=expires.astimezone(UTC),
        authority=AuthorityPin(keys, _threshold(keys, threshold, "--threshold")),
        participants=(),
    )
    write_file(output, trust_to_draft(trust), overwrite=force)
    Output(ctx).emit(TrustDraft(path=str(output), trust=trust, edit=DraftEdit.CREATED))


def _key_entries(
    ctx: Context, specs: Sequence[str], not_before: datetime, not_after: datetime
) -> tuple[ParticipantKey, ...]:
    return tuple(
        ParticipantKey(
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
@click.option("--role", required=True, type=click.Choice(ROLES), help="The participant's role.")
@click.option("--admin-code", default=None, help="Administrative-unit code of its commune (digits).")
@click.option("--gln", default=None, help="GS1 Global Location Number of its main site (13 digits).")
@click.option("--commune", default=None, type=TEXT, help="Commune or ward name, as registered.")
@click.option("--province", default=None, type=TEXT, help="Province name, as registered.")
@click.option(
    "--gs1-prefix",
    "gs1_prefixes",
    multiple=True,
    help="A GS1 Company Prefix it holds (4-12 digits): the GTINs it may claim. Repeatable.",
)
@click.option("--other-gln", "glns", multiple=True, help="Another GLN (site) it may claim. Repeatable.")
@click.option(
    "--other-admin-code",
    "admin_codes",
    multiple=True,
    help="Another administrative-unit code it may claim. Repeatable.",
)
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
    commune: str | None,
    province: str | None,
    gs1_prefixes: tuple[str, ...],
    glns: tuple[str, ...],
    admin_codes: tuple[str, ...],
    keys: tuple[str, ...],
    not_before: datetime,
    not_after: datetime,
) -> None:
    """Add a participant, what it may claim, and its keys to DRAFT.

    \b
    What it may claim is checked against every batch it opens: the GTINs (by GS1
    Company Prefix), GLNs and administrative-unit codes its records name.
    """
    trust = _load_draft(draft)
    if any(p.id == participant_id for p in trust.participants):
        raise CliError(
            t(
                "{participant_id} is already in the list: add keys with ocop trust add-key",
                participant_id=participant_id,
            ),
            code="E_EXISTS",
        )
    participant = Participant(
        id=participant_id,
        name=name,
        role=role,
        admin_code=admin_code,
        gln=gln,
        commune=commune,
        province=province,
        gs1_prefixes=gs1_prefixes,
        glns=glns,
        admin_codes=admin_codes,
        keys=_key_entries(ctx, keys, not_before, not_after),
    )
    trust = trust.with_participant(participant)
    write_file(draft, trust_to_draft(trust))
    Output(ctx).emit(
        TrustDraft(path=str(draft), trust=trust, edit=DraftEdit.PARTICIPANT_ADDED, participant=participant_id)
    )


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
        raise CliError(
            t("no participant {participant_id} in {draft}", participant_id=participant_id, draft=draft),
            code="E_NOT_FOUND",
        ) from e
    new = (*participant.keys, *_key_entries(ctx, keys, not_before, not_after))
    trust = trust.with_participant(dataclasses.replace(participant, keys=new))
    write_file(draft, trust_to_draft(trust))
    Output(ctx).emit(
        TrustDraft(path=str(draft), trust=trust, edit=DraftEdit.KEYS_ADDED, participant=participant_id, count=len(keys))
    )


def _set_status(ctx: Context, draft: Path, spec: str, status: str, at: datetime | None) -> None:
    trust = _load_draft(draft)
    key = resolve_public_key(ctx, spec)
    try:
        trust = trust.with_key_status(key, status, None if at is None else at.astimezone(UTC))
    except KeyError as e:
        raise CliError(
            t("no participant of {draft} holds key {key_id}", draft=draft, key_id=key.key_id_hex[:16]),
            code="E_NOT_FOUND",
        ) from e
    write_file(draft, trust_to_draft(trust))
    edit = DraftEdit.KEY_REVOKED if status == KeyStatus.REVOKED else DraftEdit.KEY_RETIRED
    Output(ctx).emit(TrustDraft(path=str(draft), trust=trust, edit=edit, key_id=key.key_id_hex))


@group.command("retire")
@click.argument("draft", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "key_spec", required=True, metavar="KEY", help="The key: a PEM file or a local key name.")
@click.option("--at", "at", required=True, type=TIME, help="Retirement time: steps claiming this time or later fail.")
@json_option
@pass_context
def retire(ctx: Context, draft: Path, key_spec: str, at: datetime) -> None:
    """Retire a key that was NOT compromised: steps it signed before --at stay valid."""
    _set_status(ctx, draft, key_spec, KeyStatus.RETIRED, at)


@group.command("revoke")
@click.argument("draft", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "key_spec", required=True, metavar="KEY", help="The key: a PEM file or a local key name.")
@click.option("--at", "at", type=TIME, default=None, help="When the compromise was declared (default: now).")
@json_option
@pass_context
def revoke(ctx: Context, draft: Path, key_spec: str, at: datetime | None) -> None:
    """Revoke a lost or stolen key: EVERY step it signed is refused, whatever time it claims."""
    _set_status(ctx, draft, key_spec, KeyStatus.REVOKED, at or ctx.utc_now())


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
        pin = AuthorityPin(keys, _threshold(keys, threshold, "--threshold"))
    elif threshold is not None:
        pin = AuthorityPin(trust.authority.keys, threshold)
    new = trust.next_version(issued_at=ctx.utc_now(), expires=expires.astimezone(UTC), authority=pin)
    write_file(output, trust_to_draft(new), overwrite=force)
    Output(ctx).emit(TrustDraft(path=str(output), trust=new, edit=DraftEdit.BUMPED, source=str(source)))


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
    outsiders = tuple(s.public_key.key_id_hex for s in signers if s.public_key not in trust.authority.keys)
    if signed is None:
        data = sign_trust_list(trust, signers)
        target = output or source.with_suffix(".trust")
    else:
        data = add_signatures(signed, signers, typ=TRUST_TYP)
        target = output or source
    write_file(target, data)
    summary = signed_summary(target, data, TRUST_TYP, trust.authority)
    Output(ctx).emit(DocumentSigned(kind="trust list", summary=summary, version=trust.version, outsiders=outsiders))


@group.command("inspect")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_context
def inspect(ctx: Context, source: Path) -> None:
    """Show a draft or a signed list (NOT a verification: use ocop trust verify)."""
    trust, signed = load_trust(source)
    summary = None if signed is None else signed_summary(source, signed, TRUST_TYP, trust.authority)
    Output(ctx).emit(TrustInspected(path=str(source), trust=trust, summary=summary))


@group.command("verify")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@anchor_options
@json_option
@pass_context
def verify(ctx: Context, source: Path, **options: Any) -> None:
    """Verify a signed list against pinned authority keys (and a pinned list) or the trust store.

    \b
    Refuses an older version than the one stored for the same pinned keys (rollback),
    an expired list, too few distinct authority signatures, and unknown critical fields.
    On success the trust store remembers the list for those keys.
    """
    anchor = make_anchor(**options)
    out = Output(ctx)
    try:
        result = verify_trust_file(ctx, source, anchor, ctx.utc_now())
    except DocumentFailure as f:
        out.emit(f.result)
        return
    out.emit(result)
