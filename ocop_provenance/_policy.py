"""Process policies: what a complete record looks like for a kind of product (docs/trust.md, docs/format.md).

A policy is an in-toto-layout-like list of step rules, signed by the authority that issues the trust list (the
same multi-signed envelope, content type ``application/ocop-policy+cbor``). Each rule names a step (``genesis``,
a GS1 CBV 2.0 business step or a namespaced step like ``ocop:drying``), the roles that may sign it, the key data
elements, attachments (by media type) and event fields it must carry, and how many distinct participants must sign
it. Rules are in the required order. :meth:`Policy.evaluate` reports *every* violation, each with a stable code, the
rule and the event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import _cbor
from ._errors import FormatError
from ._keys import Signer
from ._model import CBV_BUSINESS_STEPS, Genesis, SignedEvent
from ._trust import (
    MAX_SIGNED_DOCUMENT_SIZE,
    ROLES,
    Participant,
    TrustError,
    TrustList,
    labelled,
    list_field,
    parse_time,
    parse_unverified_document,
    sign_document,
    text_field,
    time_text,
    uint_field,
)

__all__ = [
    "FIELD_NAMES",
    "POLICY_TYP",
    "Finding",
    "Policy",
    "StepRule",
    "circular_02_2024_policy",
    "dried_cordyceps_policy",
    "sign_policy",
    "verify_policy",
]

#: The COSE ``typ`` of a process policy.
POLICY_TYP = "application/ocop-policy+cbor"
POLICY_FORMAT_VERSION = 1
MAX_RULES = 64
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._/-]{0,127}")
_CUSTOM_STEP = re.compile(r"[a-z][a-z0-9-]{0,31}:[a-z][a-z0-9_]{0,63}")
_DATA_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")
_MEDIA = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126})")

#: Event fields a rule can require; ``a|b`` in a rule means "a or b".
FIELD_NAMES: frozenset[str] = frozenset(
    {
        "product.gtin",
        "producer.admin_code",
        "producer.gln",
        "producer.commune",
        "producer.province",
        "certificate",
        "location",
        "location.admin_code",
        "location.gln",
        "location.geo",
    }
)

_POLICY = ("v", "name", "version", "issued_at", "expires", "kind", "gtins", "steps", "every", "batch_data", "closed")
_RULE = ("step", "roles", "data", "attachments", "fields", "min_signers", "label")


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One problem an audit found: a policy violation, or a key the trust list does not allow.

    Attributes:
        code: Stable code (``E_POLICY_*``, ``E_KEY_*``, ``E_UNKNOWN_KEY``, …).
        message: Plain-words explanation.
        batch_id: The batch concerned, if any.
        index: The event's position in its batch (its seq), if the finding is about one event.
        event_id: The event's id, if any.
        key_id: The signer's key id, if relevant.
        step: The step name concerned, if any.
        rule: Which policy rule was broken (``steps[2]``, ``every``, ``batch_data``, ``gtins``), if any.
    """

    code: str
    message: str
    batch_id: bytes | None = None
    index: int | None = None
    event_id: bytes | None = None
    key_id: bytes | None = None
    step: str | None = None
    rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "code": self.code,
            "message": self.message,
            "batch_id": None if self.batch_id is None else self.batch_id.hex(),
            "index": self.index,
            "event_id": None if self.event_id is None else self.event_id.hex(),
            "key_id": None if self.key_id is None else self.key_id.hex(),
            "step": self.step,
            "rule": self.rule,
        }


def _names(value: object, where: str, pattern: re.Pattern[str], limit: int = 64) -> tuple[str, ...]:
    items = tuple(value) if isinstance(value, (list, tuple)) else None
    if items is None or len(items) > limit:
        raise FormatError(f"expected a list of at most {limit} names", code="E_FIELD", field=where)
    for item in items:
        if not isinstance(item, str) or not pattern.fullmatch(item):
            raise FormatError(f"{item!r} is not allowed here", code="E_FIELD", field=where)
    if len(set(items)) != len(items):
        raise FormatError("a name is listed twice", code="E_FIELD", field=where)
    return items


def _field_alternatives(value: object, where: str) -> tuple[str, ...]:
    items = _names(value, where, re.compile(r"[a-z_.|]{1,200}"))
    for item in items:
        for alt in item.split("|"):
            if alt not in FIELD_NAMES:
                raise FormatError(f"unknown field {alt!r} (known: {sorted(FIELD_NAMES)})", code="E_FIELD", field=where)
    return items


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRule:
    """What one required step must look like.

    Attributes:
        step: ``genesis``, a GS1 CBV 2.0 business step, or a namespaced step (``ocop:drying``).
        roles: Roles allowed to sign it (empty: any participant in the trust list).
        data: Key data elements each such event must carry.
        attachments: Media types each such event must attach (``type/*`` matches any subtype).
        fields: Event fields each such event must fill; ``a|b`` means either.
        min_signers: How many distinct participants (in an allowed role) must have signed such an event.
        label: A plain-words name for reports (e.g. "Kiểm nghiệm").
    """

    step: str
    roles: tuple[str, ...] = ()
    data: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    min_signers: int = 1
    label: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.step, str) or not (
            self.step == "genesis" or self.step in CBV_BUSINESS_STEPS or _CUSTOM_STEP.fullmatch(self.step)
        ):
            raise FormatError(f"{self.step!r} is not a step name", code="E_FIELD", field="steps.step")
        roles = _names(self.roles, "steps.roles", re.compile(r"[a-z]+"))
        if any(r not in ROLES for r in roles):
            raise FormatError(f"roles must be among {', '.join(ROLES)}", code="E_FIELD", field="steps.roles")
        object.__setattr__(self, "roles", roles)
        object.__setattr__(self, "data", _names(self.data, "steps.data", _DATA_KEY))
        object.__setattr__(self, "attachments", _names(self.attachments, "steps.attachments", _MEDIA))
        object.__setattr__(self, "fields", _field_alternatives(self.fields, "steps.fields"))
        uint_field(self.min_signers, "steps.min_signers", 1)
        if self.min_signers > 16:
            raise FormatError("min_signers is at most 16", code="E_FIELD", field="steps.min_signers")
        if self.label is not None:
            text_field(self.label, "steps.label")

    def to_map(self) -> dict[int, Any]:
        """Return the rule's CBOR map (absent optional values are omitted)."""
        m: dict[int, Any] = {0: self.step}
        for label, value in ((1, self.roles), (2, self.data), (3, self.attachments), (4, self.fields)):
            if value:
                m[label] = list(value)
        if self.min_signers != 1:
            m[5] = self.min_signers
        if self.label is not None:
            m[6] = self.label
        return m

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "step": self.step,
            "label": self.label,
            "roles": list(self.roles),
            "data": list(self.data),
            "attachments": list(self.attachments),
            "fields": list(self.fields),
            "min_signers": self.min_signers,
        }


def _has_field(event: SignedEvent, name: str) -> bool:
    body = event.body
    head, _, tail = name.partition(".")
    if head in ("product", "producer", "certificate"):
        if not isinstance(body, Genesis):
            return False
        obj: Any = getattr(body, head)
        return obj is not None and (not tail or getattr(obj, tail) is not None)
    loc = body.location
    if loc is None:
        return False
    if not tail:
        return True
    if tail == "geo":
        return loc.lat_e6 is not None
    return getattr(loc, tail) is not None


def _media_ok(pattern: str, media: str) -> bool:
    if pattern.endswith("/*"):
        return media.split("/", 1)[0] == pattern[:-2]
    return media == pattern


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A process policy for one kind of product.

    Attributes:
        name: Identifier, e.g. ``vn.ocop/dried-cordyceps``.
        version: Version number.
        issued_at: When issued.
        kind: Plain-words product kind.
        steps: Required steps, in the required order.
        expires: When it stops being usable, if ever.
        gtins: If given, the batch's GTIN (14 digits) must be one of these.
        every: A rule every event must satisfy (its ``data`` and ``fields``; its step is ``other``, unused).
        batch_data: Key data elements that must appear on at least one event of the batch.
        closed: If True, steps the policy does not name are violations.
        object_id: SHA-256 of the payload, once signed or parsed.
        raw: The signed envelope bytes, when parsed.
    """

    name: str
    version: int
    issued_at: datetime
    kind: str
    steps: tuple[StepRule, ...]
    expires: datetime | None = None
    gtins: tuple[str, ...] = ()
    every: StepRule | None = None
    batch_data: tuple[str, ...] = ()
    closed: bool = False
    object_id: bytes = b""
    raw: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise FormatError("policy name must be 1-128 of a-z 0-9 . _ / -", code="E_FIELD", field="name")
        uint_field(self.version, "version", 1)
        time_text(self.issued_at, "issued_at")
        if self.expires is not None:
            time_text(self.expires, "expires")
            if self.expires <= self.issued_at:
                raise FormatError("expires must be later than issued_at", code="E_FIELD", field="expires")
        text_field(self.kind, "kind")
        steps = tuple(self.steps)
        if not steps or len(steps) > MAX_RULES or not all(isinstance(s, StepRule) for s in steps):
            raise FormatError(f"a policy has 1 to {MAX_RULES} step rules", code="E_FIELD", field="steps")
        if len({s.step for s in steps}) != len(steps):
            raise FormatError("a step is named by two rules", code="E_FIELD", field="steps")
        if "genesis" in (s.step for s in steps[1:]):
            raise FormatError("the genesis rule can only come first", code="E_FIELD", field="steps")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "gtins", _names(self.gtins, "gtins", re.compile(r"[0-9]{14}"), 1024))
        object.__setattr__(self, "batch_data", _names(self.batch_data, "batch_data", _DATA_KEY))
        if self.every is not None:
            if not isinstance(self.every, StepRule) or self.every.roles or self.every.attachments:
                raise FormatError("the every-rule holds only data and fields", code="E_FIELD", field="every")
            bad = [f for f in self.every.fields for a in f.split("|") if not a.startswith("location")]
            if bad:
                raise FormatError("the every-rule can only require location fields", code="E_FIELD", field="every")
        if not isinstance(self.closed, bool):
            raise FormatError("closed must be a boolean", code="E_FIELD", field="closed")

    def payload(self) -> bytes:
        """Return the deterministic CBOR payload."""
        m: dict[int, Any] = {
            0: POLICY_FORMAT_VERSION,
            1: self.name,
            2: self.version,
            3: time_text(self.issued_at),
            5: self.kind,
            7: [s.to_map() for s in self.steps],
        }
        if self.expires is not None:
            m[4] = time_text(self.expires)
        if self.gtins:
            m[6] = list(self.gtins)
        if self.every is not None:
            m[8] = {k: v for k, v in self.every.to_map().items() if k != 0}
        if self.batch_data:
            m[9] = list(self.batch_data)
        if self.closed:
            m[10] = True
        return _cbor.encode(m)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "name": self.name,
            "version": self.version,
            "id": self.object_id.hex(),
            "kind": self.kind,
            "issued_at": time_text(self.issued_at),
            "expires": None if self.expires is None else time_text(self.expires),
            "gtins": list(self.gtins),
            "steps": [s.to_dict() for s in self.steps],
            "every": None if self.every is None else self.every.to_dict(),
            "batch_data": list(self.batch_data),
            "closed": self.closed,
        }

    @classmethod
    def parse_unverified(cls, data: bytes) -> Policy:
        """Parse a signed policy **without checking signatures** (inspection only).

        Raises:
            FormatError: Malformed envelope or payload.
        """
        doc = parse_unverified_document(data, typ=POLICY_TYP)
        m = _cbor.decode(doc.payload, max_size=MAX_SIGNED_DOCUMENT_SIZE, max_depth=5)
        if isinstance(m, dict) and (m.get(0) != POLICY_FORMAT_VERSION or isinstance(m.get(0), bool)):
            raise FormatError(f"unsupported policy format {m.get(0)!r}", code="E_VERSION", field="v")
        p = labelled(m, _POLICY, "payload", (0, 1, 2, 3, 5, 7))
        rules = [
            _rule(labelled(r, _RULE, f"steps[{i}]", (0,)), f"steps[{i}]")
            for i, r in enumerate(list_field(p["steps"], "steps", MAX_RULES))
        ]
        every = None
        if "every" in p:
            e = labelled(p["every"], _RULE, "every", ())
            if "step" in e:
                raise FormatError("the every-rule names no step", code="E_SCHEMA", field="every")
            every = _rule({**e, "step": "other"}, "every")
        closed = p.get("closed", False)
        if "closed" in p and closed is not True:
            raise FormatError("closed is absent or true", code="E_SCHEMA", field="closed")
        policy = cls(
            name=text_field(p["name"], "name"),
            version=uint_field(p["version"], "version", 1),
            issued_at=parse_time(p["issued_at"], "issued_at"),
            expires=parse_time(p["expires"], "expires") if "expires" in p else None,
            kind=text_field(p["kind"], "kind"),
            steps=tuple(rules),
            gtins=tuple(list_field(p["gtins"], "gtins", 1024)) if "gtins" in p else (),
            every=every,
            batch_data=tuple(list_field(p["batch_data"], "batch_data", 64)) if "batch_data" in p else (),
            closed=closed,
            object_id=doc.object_id,
            raw=data,
        )
        if policy.payload() != doc.payload:
            raise FormatError("the policy is not in its one canonical form", code="E_NONCANONICAL", field="payload")
        return policy

    def evaluate(
        self, events: Sequence[tuple[SignedEvent, Participant | None]], *, batch_id: bytes | None = None
    ) -> list[Finding]:
        """Check one batch's events (in chain order, genesis first) against the policy.

        Args:
            events: Each event with the trust-list participant whose key signed it (None if none is allowed).
            batch_id: The batch, for the findings.

        Returns:
            Every violation (empty when the record is complete), in a stable order: per-event findings in chain
            order, then missing steps, thresholds and batch-wide data.
        """
        out: list[Finding] = []
        by_step = {r.step: (i, r) for i, r in enumerate(self.steps)}
        first: dict[int, int] = {}
        signers: dict[int, set[str]] = {}
        seen_data: set[str] = set()

        def add(code: str, message: str, pos: int | None, rule: str | None, step: str | None) -> None:
            ev = events[pos][0] if pos is not None else None
            out.append(
                Finding(
                    code=code,
                    message=message,
                    batch_id=batch_id,
                    index=None if ev is None else ev.seq,
                    event_id=None if ev is None else ev.event_id,
                    key_id=None if ev is None else ev.key_id,
                    step=step,
                    rule=rule,
                )
            )

        if self.gtins and events:
            body = events[0][0].body
            gtin = body.product.gtin if isinstance(body, Genesis) else None
            if gtin not in self.gtins:
                add("E_POLICY_PRODUCT", f"GTIN {gtin} is not a product this policy covers", 0, "gtins", "genesis")
        for pos, (event, who) in enumerate(events):
            seen_data.update(event.body.data)
            if self.every is not None:
                self._check_rule(self.every, "every", event, pos, add)
            found = by_step.get(event.step)
            if found is None:
                if self.closed:
                    add("E_POLICY_EXTRA_STEP", f"step {event.step} is not in this policy", pos, None, event.step)
                continue
            i, rule = found
            first.setdefault(i, pos)
            role_ok = not rule.roles or (who is not None and who.role in rule.roles)
            if not role_ok:
                signer = "an unlisted or unusable key" if who is None else f"{who.name} ({who.role})"
                add(
                    "E_POLICY_ROLE",
                    f"signed by {signer}; the policy requires {' or '.join(rule.roles)}",
                    pos,
                    f"steps[{i}]",
                    rule.step,
                )
            elif who is not None:
                signers.setdefault(i, set()).add(who.id)
            self._check_rule(rule, f"steps[{i}]", event, pos, add)
        latest = -1
        latest_rule = -1
        for i, rule in enumerate(self.steps):
            if i not in first:
                add(
                    "E_POLICY_MISSING_STEP",
                    f"required step {rule.step} does not appear",
                    None,
                    f"steps[{i}]",
                    rule.step,
                )
                continue
            if first[i] < latest:
                add(
                    "E_POLICY_ORDER",
                    f"step {rule.step} comes before step {self.steps[latest_rule].step}, which the policy puts first",
                    first[i],
                    f"steps[{i}]",
                    rule.step,
                )
            if first[i] > latest:
                latest, latest_rule = first[i], i
        for i, rule in enumerate(self.steps):
            count = len(signers.get(i, ()))
            if i in first and rule.min_signers > 1 and count < rule.min_signers:
                add(
                    "E_POLICY_THRESHOLD",
                    f"step {rule.step} was signed by {count} distinct allowed participant(s), "
                    f"{rule.min_signers} required",
                    None,
                    f"steps[{i}]",
                    rule.step,
                )
        for key in self.batch_data:
            if key not in seen_data:
                add("E_POLICY_BATCH_DATA", f"no event of the batch carries {key}", None, "batch_data", None)
        return out

    @staticmethod
    def _check_rule(rule: StepRule, where: str, event: SignedEvent, pos: int, add: Any) -> None:
        for key in rule.data:
            if key not in event.body.data:
                add("E_POLICY_DATA", f"key data element {key} is missing", pos, where, event.step)
        media = [a.media_type for a in event.body.attachments]
        for pattern in rule.attachments:
            if not any(_media_ok(pattern, m) for m in media):
                add("E_POLICY_ATTACHMENT", f"an attachment of type {pattern} is required", pos, where, event.step)
        for alternatives in rule.fields:
            if not any(_has_field(event, f) for f in alternatives.split("|")):
                add("E_POLICY_FIELD", f"field {alternatives.replace('|', ' or ')} is missing", pos, where, event.step)


def _rule(r: dict[str, Any], where: str) -> StepRule:
    def names(key: str) -> tuple[Any, ...]:
        return tuple(list_field(r[key], f"{where}.{key}", 64)) if key in r else ()

    if "min_signers" in r and uint_field(r["min_signers"], f"{where}.min_signers", 2) < 2:
        raise FormatError("min_signers is absent when 1", code="E_SCHEMA", field=f"{where}.min_signers")
    return StepRule(
        step=r["step"],
        roles=names("roles"),
        data=names("data"),
        attachments=names("attachments"),
        fields=names("fields"),
        min_signers=r.get("min_signers", 1),
        label=text_field(r["label"], f"{where}.label") if "label" in r else None,
    )


def sign_policy(policy: Policy, signers: Iterable[Signer]) -> bytes:
    """Sign a policy with one or more authority keys.

    Returns:
        The signed envelope bytes.
    """
    return sign_document(policy.payload(), signers, POLICY_TYP)


def verify_policy(data: bytes, trust: TrustList, *, now: datetime, backend: str | None = None) -> Policy:
    """Verify a signed policy against the authority of a verified trust list.

    Args:
        data: The signed policy.
        trust: A verified trust list; a threshold of its authority keys must have signed the policy.
        now: The verifier's clock.
        backend: Ed25519 backend, or None.

    Returns:
        The verified policy.

    Raises:
        FormatError: Malformed policy.
        TrustError: ``E_POLICY_AUTHORITY`` (too few distinct authority signatures, e.g. an unknown signer),
            ``E_POLICY_EXPIRED``.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    policy = Policy.parse_unverified(data)
    doc = parse_unverified_document(data, typ=POLICY_TYP)
    got = doc.signed_by(trust.authority.keys, backend=backend)
    if len(got) < trust.authority.threshold:
        raise TrustError(
            f"the policy carries {len(got)} valid signature(s) of the trust list's authority, "
            f"{trust.authority.threshold} required",
            code="E_POLICY_AUTHORITY",
        )
    if policy.expires is not None and now >= policy.expires:
        raise TrustError(f"the policy expired at {time_text(policy.expires)}", code="E_POLICY_EXPIRED", field="expires")
    return policy


_LOCATION_CODE = "location.admin_code|location.gln"


def dried_cordyceps_policy(*, issued_at: datetime, version: int = 1, expires: datetime | None = None) -> Policy:
    """Return the starter policy for dried cordyceps (đông trùng hạ thảo sấy khô), unsigned.

    Steps in order: genesis by a producer (with the producer's administrative-unit code); ``commissioning``
    (harvest) by a producer; ``ocop:drying`` by a processor, recording ``moisture``; ``inspecting`` by a lab, with a
    PDF certificate attached; ``packing`` by a producer or processor; ``shipping`` by a producer or distributor.
    Every event must carry a location code (administrative-unit code or GLN).
    """
    return Policy(
        name="vn.ocop/dried-cordyceps",
        version=version,
        issued_at=issued_at,
        expires=expires,
        kind="Đông trùng hạ thảo sấy khô",
        steps=(
            StepRule(step="genesis", roles=("producer",), fields=("producer.admin_code",), label="Mở lô"),
            StepRule(step="commissioning", roles=("producer",), label="Thu hoạch"),
            StepRule(step="ocop:drying", roles=("processor",), data=("moisture",), label="Sấy"),
            StepRule(step="inspecting", roles=("lab",), attachments=("application/pdf",), label="Kiểm nghiệm"),
            StepRule(step="packing", roles=("producer", "processor"), label="Đóng gói"),
            StepRule(step="shipping", roles=("producer", "distributor"), label="Vận chuyển"),
        ),
        every=StepRule(step="other", fields=(_LOCATION_CODE,)),
    )


def circular_02_2024_policy(*, issued_at: datetime, version: int = 1, expires: datetime | None = None) -> Policy:
    """Return a policy checking the minimum data elements of Circular 02/2024/TT-BKHCN, unsigned.

    Mapping (docs/trust.md): product name and trace code (lot) are mandatory in every genesis; the producer's
    address is its administrative-unit code, commune or province; a product image is an ``image/*`` attachment on
    the genesis; every stage carries a location code (administrative-unit code or GLN) and a time (always present);
    shelf life and applied standards are the key data elements ``shelf_life`` and ``standards`` on some event.
    """
    return Policy(
        name="vn.tt-02-2024/minimum",
        version=version,
        issued_at=issued_at,
        expires=expires,
        kind="Mọi sản phẩm (Thông tư 02/2024/TT-BKHCN)",
        steps=(
            StepRule(
                step="genesis",
                roles=("producer",),
                attachments=("image/*",),
                fields=("producer.admin_code|producer.commune|producer.province",),
                label="Thông tin sản phẩm và nhà sản xuất",
            ),
        ),
        every=StepRule(step="other", fields=(_LOCATION_CODE,)),
        batch_data=("shelf_life", "standards"),
    )
