"""``ocop trust`` (and what ``policy`` shares with it): drafts, signing, inspection, verification, failed documents."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import ocop_provenance as op
from ocop_provenance.trust import AuthorityPin, Participant, TrustList, VerifiedTrustList

from ..i18n import N_
from .core import JsonDict, Result, Text, error_json, lines
from .explain import explain
from .verify import problem_lines
from .words import t, tn, utc

#: The words of a key's status in a trust list (``active``, ``retired``, ``revoked``), marked for translation.
KEY_STATUS_WORDS = (N_("active"), N_("retired"), N_("revoked"))

__all__ = [
    "DocumentFailed",
    "DocumentSigned",
    "DraftEdit",
    "SignedSummary",
    "TrustDraft",
    "TrustInspected",
    "TrustVerified",
    "against_text",
    "authority_text",
    "trust_json",
]


class DraftEdit(enum.Enum):
    """What an editing command did to a trust-list draft."""

    CREATED = "created"
    PARTICIPANT_ADDED = "participant"
    KEYS_ADDED = "keys"
    KEY_RETIRED = "retired"
    KEY_REVOKED = "revoked"
    BUMPED = "bumped"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustDraft(Result):
    """A trust-list draft written by ``trust init``, ``add-participant``, ``add-key``, ``retire``, ``revoke``, ``bump``.

    Attributes:
        path: The draft written.
        trust: Its content.
        edit: What was done.
        participant: The participant added to, or given keys (``PARTICIPANT_ADDED``, ``KEYS_ADDED``).
        count: How many keys were added (``KEYS_ADDED``).
        key_id: The key retired or revoked (hex).
        source: The list the new version was drafted from (``BUMPED``).
    """

    path: str
    trust: TrustList
    edit: DraftEdit
    participant: str | None = None
    count: int = 0
    key_id: str | None = None
    source: str | None = None

    @property
    def action(self) -> str:
        """What was done, in words (the JSON ``action`` member, and the start of the note)."""
        match self.edit:
            case DraftEdit.CREATED:
                return t("created")
            case DraftEdit.PARTICIPANT_ADDED:
                return t("added {participant}", participant=self.participant)
            case DraftEdit.KEYS_ADDED:
                return t("added {n} key(s) to {participant}", n=self.count, participant=self.participant)
            case DraftEdit.KEY_RETIRED:
                return t("retired key {key}", key=(self.key_id or "")[:16])
            case DraftEdit.KEY_REVOKED:
                return t("revoked key {key}", key=(self.key_id or "")[:16])
            case DraftEdit.BUMPED:
                return t("version {version} drafted from {source}", version=self.trust.version, source=self.source)

    def to_json(self) -> JsonDict:
        listed = self.trust.to_dict()
        listed.pop("id", None)
        return {"draft": self.path, "action": self.action, "list": listed}

    def to_text(self) -> Text:
        tl = self.trust
        note = t(
            "{action}: draft of {issuer} version {version}, {participants} (not signed yet: ocop trust sign {path} "
            "--key NAME)",
            action=self.action,
            issuer=tl.issuer,
            version=tl.version,
            participants=tn(len(tl.participants), "{n} participant", "{n} participants"),
            path=self.path,
        )
        return lines(self.path, err=[note])


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedSummary:
    """Who signed a trust list or policy (read without verifying), and how many authority keys did."""

    path: str
    object_id: bytes
    signers: tuple[bytes, ...]
    authority_ids: frozenset[bytes]
    valid_authority: int
    threshold: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentSigned(Result):
    """``ocop trust sign``, ``ocop policy sign``: the signed file, its signatures and whether enough authority signed.

    Attributes:
        kind: ``trust list`` or ``policy``.
        summary: Who signed.
        version: The document's version.
        outsiders: Key ids (hex) that signed but are not among the list's authority keys (a warning).
    """

    kind: str
    summary: SignedSummary
    version: int
    outsiders: tuple[str, ...] = ()

    @property
    def complete(self) -> bool | None:
        """Whether enough of the list's authority keys signed (None for a policy: its authority is a list's)."""
        s = self.summary
        return None if s.threshold is None else s.valid_authority >= s.threshold

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(t("key {key} is not one of this list's authority keys", key=k[:16]) for k in self.outsiders)

    def to_json(self) -> JsonDict:
        s = self.summary
        return {
            "output": s.path,
            "kind": self.kind,
            "version": self.version,
            "id": s.object_id.hex(),
            "signatures": [
                {"key_id": k.hex(), "authority": k in s.authority_ids if s.threshold is not None else None}
                for k in s.signers
            ],
            "authority_signatures": s.valid_authority if s.threshold is not None else None,
            "threshold": s.threshold,
            "complete": self.complete,
        }

    def to_text(self) -> Text:
        s = self.summary
        fields = {
            "version": self.version,
            "signatures": tn(len(s.signers), "{n} signature", "{n} signatures"),
            "valid": s.valid_authority,
            "threshold": s.threshold,
            "path": s.path,
        }
        if s.threshold is None and self.kind == "policy":
            note = t("signed policy version {version}: {signatures}", **fields)
        elif s.threshold is None:
            note = t("signed trust list version {version}: {signatures}", **fields)
        elif self.complete:
            note = t(
                "signed trust list version {version}: {signatures}, {valid} of the list's authority "
                "(threshold {threshold})",
                **fields,
            )
        else:
            note = t(
                "signed trust list version {version}: {signatures}, {valid} of the list's authority "
                "(threshold {threshold}): needs {missing} more (ocop trust sign {path} --key NAME)",
                missing=(s.threshold or 0) - s.valid_authority,
                **fields,
            )
        return lines(s.path, err=[note])


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustInspected(Result):
    """``ocop trust inspect``: a draft or a signed list as it claims to be (not a verification)."""

    path: str
    trust: TrustList
    summary: SignedSummary | None

    def to_json(self) -> JsonDict:
        s = self.summary
        listed = self.trust.to_dict()
        if s is None:
            listed.pop("id", None)
        return {
            "path": self.path,
            "signed": s is not None,
            "verified": False,
            "list": listed,
            "signatures": None
            if s is None
            else [{"key_id": k.hex(), "authority": k in s.authority_ids} for k in s.signers],
        }

    def to_text(self) -> Text:
        tl, s = self.trust, self.summary
        if s is None:
            rows = [t("Trust list  {path}  [DRAFT (not signed)]", path=self.path)]
        else:
            rows = [t("Trust list  {path}  [signed, NOT verified (use ocop trust verify)]", path=self.path)]
        rows.append(t("  issuer      {issuer}", issuer=tl.issuer))
        rows.append(t("  version     {version}", version=tl.version))
        rows.append(t("  issued      {time}", time=utc(tl.issued_at)))
        rows.append(t("  expires     {time}", time=utc(tl.expires)))
        if s is not None:
            rows.append(t("  id          {id}", id=s.object_id.hex()))
        rows.append(
            t(
                "  authority   {threshold} of {keys} keys must sign",
                threshold=tl.authority.threshold,
                keys=len(tl.authority.keys),
            )
        )
        rows.extend(f"              {ak.key_id_hex}" for ak in tl.authority.keys)
        if s is not None:
            rows.append(
                t(
                    "  signatures  {n}, {valid} valid by the list's own authority keys",
                    n=len(s.signers),
                    valid=s.valid_authority,
                )
            )
            for kid in s.signers:
                if kid in s.authority_ids:
                    rows.append(t("              {key_id}  authority", key_id=kid.hex()))
                else:
                    rows.append(t("              {key_id}  NOT an authority key", key_id=kid.hex()))
        rows.append(t("  participants ({n})", n=len(tl.participants)))
        for p in sorted(tl.participants, key=lambda p: p.id):
            rows.append(_participant_line(p))
            for k in p.keys:
                window = {
                    "key": k.key.key_id_hex[:16],
                    "start": utc(k.not_before),
                    "end": utc(k.not_after),
                    "status": t(k.status),  # one of KEY_STATUS_WORDS
                }
                if k.status_time is None:
                    rows.append(t("      key {key}  valid {start} to {end}  {status}", **window))
                else:
                    rows.append(
                        t(
                            "      key {key}  valid {start} to {end}  {status} at {time}",
                            time=utc(k.status_time),
                            **window,
                        )
                    )
        return lines(*rows)


def _participant_line(p: Participant) -> str:
    facts = [p.role]
    if p.admin_code:
        facts.append(t("admin code {code}", code=p.admin_code))
    if p.gln:
        facts.append(t("GLN {gln}", gln=p.gln))
    return t("    {id}  {name}  ({facts})", id=p.id, name=p.name, facts=", ".join(facts))


def against_text(
    *,
    pin: AuthorityPin | None,
    pinned_list: str | None = None,
    stored_version: int | None = None,
    store_entry: str | None = None,
) -> str:
    """What a trust list was verified from, in words: the pinned keys, through a pinned list or the stored list."""
    if pin is None:
        return t("the stored list version {version} ({entry})", version=stored_version, entry=store_entry)
    keys = {"keys": len(pin.keys), "threshold": pin.threshold}
    if stored_version is not None:
        return t(
            "{keys} pinned authority key(s), threshold {threshold}, through the stored list version {version} "
            "({entry})",
            version=stored_version,
            entry=store_entry,
            **keys,
        )
    if pinned_list is not None:
        return t(
            "{keys} pinned authority key(s), threshold {threshold}, through the pinned list {path}",
            path=pinned_list,
            **keys,
        )
    return t("{keys} pinned authority key(s), threshold {threshold}", **keys)


def authority_text(trust: TrustList | VerifiedTrustList) -> str:
    """What a policy is verified against, in words: the authority of a verified trust list."""
    return t("the authority of {issuer} (trust list v{version})", issuer=trust.issuer, version=trust.version)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustVerified(Result):
    """A verified trust list, what it was verified against, and what the trust store did.

    Attributes:
        path: The list's file.
        trust: The verified list.
        against: What it was verified from, in words (:func:`against_text`).
        anchor: The anchor id (hex) of the pinned keys or the store entry used, or None.
        cache: The trust store entry, or None with ``--no-cache``.
        cache_updated: True when the store now holds this list.
        cached_version: The version the entry held before, or None.
    """

    path: str
    trust: VerifiedTrustList
    against: str
    anchor: str | None = None
    cache: str | None = None
    cache_updated: bool = False
    cached_version: int | None = None

    def to_json(self) -> JsonDict:
        return {"verified": True, "trust_list": trust_json(self), "list": self.trust.to_dict()}

    def to_text(self) -> Text:
        tl = self.trust
        rows = [
            t("VERIFIED  {path}", path=self.path),
            t("  issuer      {issuer}", issuer=tl.issuer),
            t("  version     {version}  (id {id})", version=tl.version, id=tl.object_id.hex()[:16]),
            t("  expires     {time}", time=utc(tl.expires)),
            t("  checked     against {against}", against=self.against),
            tn(len(tl.participants), "  lists       {n} participant", "  lists       {n} participants"),
        ]
        if self.cache is not None:
            rows.append(self._store_line())
        return lines(*rows)

    def _store_line(self) -> str:
        if not self.cache_updated:
            return t("  store       {entry} holds version {version}", entry=self.cache, version=self.cached_version)
        if self.cached_version is None:
            return t("  store       {entry} now holds this list", entry=self.cache)
        return t(
            "  store       {entry} now holds this list (was version {version})",
            entry=self.cache,
            version=self.cached_version,
        )


def trust_json(r: TrustVerified) -> JsonDict:
    """The ``trust_list`` member of ``trust verify``, ``policy verify`` and ``verify --trust``."""
    tl = r.trust
    return {
        "path": r.path,
        "issuer": tl.issuer,
        "version": tl.version,
        "id": tl.object_id.hex(),
        "issued_at": utc(tl.issued_at),
        "expires": utc(tl.expires),
        "participants": len(tl.participants),
        "against": r.against,
        "anchor": r.anchor,
        "cache": r.cache,
        "cache_updated": r.cache_updated,
        "cached_version": r.cached_version,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentFailed(Result):
    """A trust list or policy that does not verify: ``NOT VERIFIED`` and exit 1.

    Attributes:
        what: ``trust list`` or ``policy``.
        path: The file.
        error: The library's error.
        against: What it was checked against, in words, when known.
    """

    what: str
    path: str
    error: op.ProvenanceError
    against: str | None = None

    @property
    def ok(self) -> bool:
        return False

    def to_json(self) -> JsonDict:
        e = self.error
        return {
            "verified": False,
            "document": self.what,
            "path": self.path,
            "against": self.against,
            "error": {**error_json(e), "explanation": explain(e.code)},
        }

    def to_text(self) -> Text:
        e = self.error
        if self.what == "policy":
            rows = [t("NOT VERIFIED  {path}  (the policy)", path=self.path)]
        else:
            rows = [t("NOT VERIFIED  {path}  (the trust list)", path=self.path)]
        if self.against:
            rows.append(t("  checked   against {against}", against=self.against))
        rows.extend(problem_lines(e, explain(e.code)))
        if self.what == "policy":
            rows.append(t("  Do not rely on this policy, nor on an audit made with it."))
        else:
            rows.append(t("  Do not rely on this trust list, nor on an audit made with it."))
        return lines(*rows)
