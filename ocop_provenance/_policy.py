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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import _cbor, _fields
from ._corrections import CorrectionLog
from ._errors import ErrorCode, FormatError
from ._keys import Signer
from ._model import CORRECTION_STEP, Attachment, DataValue, Genesis
from ._trust import (
    MAX_DOCUMENT_ITEMS,
    MAX_SIGNED_DOCUMENT_SIZE,
    ROLES,
    Participant,
    TrustError,
    VerifiedTrustList,
    labelled,
    list_field,
    parse_time,
    parse_unverified_document,
    sign_document,
    time_text,
)
from ._wire import SignedEvent

__all__ = [
    "DATA_KINDS",
    "FIELD_NAMES",
    "POLICY_TYP",
    "DataRequirement",
    "Finding",
    "Policy",
    "StepRule",
    "VerifiedPolicy",
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
_ANY = re.compile(r".+", re.DOTALL)
_MEDIA = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126})")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{0,8}[1-9])?")
#: The kinds of value a data requirement can ask for.
DATA_KINDS = ("number", "integer", "text", "boolean")

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

_POLICY = (
    "v",
    "name",
    "version",
    "issued_at",
    "expires",
    "kind",
    "gtins",
    "steps",
    "every",
    "batch_data",
    "closed",
    "sealers",
)
_RULE = ("step", "roles", "data", "attachments", "fields", "min_signers", "label")
_REQUIREMENT = ("key", "kind", "min", "max", "unit")


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One problem an audit found: a policy violation, or a key the trust list does not allow.

    Attributes:
        code: Stable code (``E_POLICY_*``, ``E_KEY_*``, ``E_UNKNOWN_KEY``, ``E_CLAIM_*``, …).
        message: Plain-words explanation.
        batch_id: The batch concerned, if any.
        seq: The event's seq in its batch, if the finding is about one event.
        event_id: The event's id, if any.
        key_id: The signer's key id, if relevant.
        step: The step name concerned, if any.
        rule: Which policy rule was broken (``steps[2]``, ``every``, ``batch_data``, ``gtins``), if any.
        field: Which field of the event the finding is about (``producer.admin_code``), if any.
    """

    code: str
    message: str
    batch_id: bytes | None = None
    seq: int | None = None
    event_id: bytes | None = None
    key_id: bytes | None = None
    step: str | None = None
    rule: str | None = None
    field: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", ErrorCode(self.code))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "code": str(self.code),
            "message": self.message,
            "batch_id": None if self.batch_id is None else self.batch_id.hex(),
            "seq": self.seq,
            "event_id": None if self.event_id is None else self.event_id.hex(),
            "key_id": None if self.key_id is None else self.key_id.hex(),
            "step": self.step,
            "rule": self.rule,
            "field": self.field,
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


def _decimal(value: object, where: str) -> str:
    if type(value) is not str or not _NUMBER.fullmatch(value):
        raise FormatError("a bound is a decimal number like 10 or -2.5", code="E_FIELD", field=where)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class DataRequirement:
    """A key data element a step must record, and what its value must be (docs/format.md §16).

    Attributes:
        key: The data element's name (e.g. ``moisture``).
        kind: None (any value, but text must not be blank), ``number`` (an integer, or decimal text such as
            ``11.8`` or ``-2``), ``integer``, ``text`` (not blank) or ``boolean``.
        minimum: For numbers, the least accepted value (decimal text), inclusive.
        maximum: For numbers, the greatest accepted value, inclusive.
        unit: For numbers, the unit the value is read in (``%``, ``°C``, ``kg``), shown in reports and exports.
    """

    key: str
    kind: str | None = None
    minimum: str | None = None
    maximum: str | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        _fields.data_key(self.key, "steps.data.key")
        if self.kind is not None and self.kind not in DATA_KINDS:
            raise FormatError(f"kind must be one of {', '.join(DATA_KINDS)}", code="E_FIELD", field="steps.data.kind")
        numeric = self.kind in ("number", "integer")
        for name in ("minimum", "maximum", "unit"):
            if getattr(self, name) is not None and not numeric:
                raise FormatError(f"{name} applies to numbers only", code="E_FIELD", field=f"steps.data.{name}")
        if self.minimum is not None:
            _decimal(self.minimum, "steps.data.min")
        if self.maximum is not None:
            _decimal(self.maximum, "steps.data.max")
        if self.minimum is not None and self.maximum is not None and Decimal(self.minimum) > Decimal(self.maximum):
            raise FormatError("min is greater than max", code="E_FIELD", field="steps.data.max")
        if self.unit is not None:
            object.__setattr__(self, "unit", _fields.text(self.unit, "steps.data.unit", limit=32))

    def problem(self, value: object) -> str | None:
        """Return why ``value`` does not satisfy the requirement, or None if it does."""
        kind = self.kind
        if kind is None:
            return "is blank" if isinstance(value, str) and _fields.is_blank(value) else None
        if kind == "text":
            return None if isinstance(value, str) and not _fields.is_blank(value) else "must be non-blank text"
        if kind == "boolean":
            return None if isinstance(value, bool) else "must be true or false"
        if isinstance(value, bool):
            return f"must be {'an integer' if kind == 'integer' else 'a number'}, not true or false"
        if isinstance(value, int) or (isinstance(value, str) and kind == "number" and _NUMBER.fullmatch(value)):
            number = Decimal(value)
        else:
            return "must be an integer" if kind == "integer" else "must be a number such as 11.8"
        unit = f" {self.unit}" if self.unit else ""
        if self.minimum is not None and number < Decimal(self.minimum):
            return f"{value}{unit} is below the minimum {self.minimum}{unit}"
        if self.maximum is not None and number > Decimal(self.maximum):
            return f"{value}{unit} is above the maximum {self.maximum}{unit}"
        return None

    def to_wire(self) -> str | dict[int, Any]:
        """Return the requirement's CBOR value: the bare name, or a map when it says more."""
        if self.kind is None:
            return self.key
        m: dict[int, Any] = {0: self.key, 1: self.kind}
        for label, value in ((2, self.minimum), (3, self.maximum), (4, self.unit)):
            if value is not None:
                m[label] = value
        return m

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {"key": self.key, "kind": self.kind, "min": self.minimum, "max": self.maximum, "unit": self.unit}

    @classmethod
    def from_wire(cls, value: object, where: str) -> DataRequirement:
        """Read a requirement from its CBOR value.

        Raises:
            FormatError: ``E_SCHEMA`` or ``E_FIELD``.
        """
        if isinstance(value, str):
            return cls(key=value)
        m = labelled(value, _REQUIREMENT, where, (0, 1))
        try:
            return cls(key=m["key"], kind=m["kind"], minimum=m.get("min"), maximum=m.get("max"), unit=m.get("unit"))
        except FormatError as e:
            e.field = f"{where}.{(e.field or '').rsplit('.', 1)[-1]}"
            raise


def _requirements(value: object, where: str) -> tuple[DataRequirement, ...]:
    items = tuple(value) if isinstance(value, (list, tuple)) else None
    if items is None or len(items) > 64:
        raise FormatError("expected a list of at most 64 data requirements", code="E_FIELD", field=where)
    out = tuple(DataRequirement(key=i) if isinstance(i, str) else i for i in items)
    if not all(isinstance(i, DataRequirement) for i in out):
        raise FormatError("expected data element names or DataRequirement items", code="E_FIELD", field=where)
    if len({r.key for r in out}) != len(out):
        raise FormatError("a data element is required twice", code="E_FIELD", field=where)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRule:
    """What one required step must look like.

    Attributes:
        step: ``genesis``, a GS1 CBV 2.0 business step, or a namespaced step (``ocop:drying``).
        roles: Roles allowed to sign it (empty: any participant in the trust list).
        data: Key data elements each such event must carry, with what their values must be (a name alone is a
            :class:`DataRequirement` of any kind: present and not blank).
        attachments: Media types each such event must attach (``type/*`` matches any subtype), each by a
            non-empty file.
        fields: Event fields each such event must fill; ``a|b`` means either.
        min_signers: How many distinct participants (in an allowed role) must have signed such an event.
        label: A plain-words name for reports (e.g. "Kiểm nghiệm").
    """

    step: str
    roles: tuple[str, ...] = ()
    data: tuple[DataRequirement, ...] = field(default=())
    attachments: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    min_signers: int = 1
    label: str | None = None

    def __post_init__(self) -> None:
        if self.step != "genesis":
            _fields.business_step(self.step, "steps.step")
        roles = _names(self.roles, "steps.roles", re.compile(r"[a-z]+"))
        if any(r not in ROLES for r in roles):
            raise FormatError(f"roles must be among {', '.join(ROLES)}", code="E_FIELD", field="steps.roles")
        object.__setattr__(self, "roles", roles)
        object.__setattr__(self, "data", _requirements(self.data, "steps.data"))
        object.__setattr__(self, "attachments", _names(self.attachments, "steps.attachments", _MEDIA))
        object.__setattr__(self, "fields", _field_alternatives(self.fields, "steps.fields"))
        _fields.uint(self.min_signers, "steps.min_signers", 1, 16)
        if self.label is not None:
            object.__setattr__(self, "label", _fields.text(self.label, "steps.label"))

    def to_map(self) -> dict[int, Any]:
        """Return the rule's CBOR map (absent optional values are omitted)."""
        m: dict[int, Any] = {0: self.step}
        if self.roles:
            m[1] = list(self.roles)
        if self.data:
            m[2] = [r.to_wire() for r in self.data]
        for label, value in ((3, self.attachments), (4, self.fields)):
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
            "data": [r.to_dict() for r in self.data],
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
        sealers: Roles whose participants may seal this kind of product (empty: producers only).
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
    sealers: tuple[str, ...] = ()
    object_id: bytes = b""
    raw: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise FormatError("policy name must be 1-128 of a-z 0-9 . _ / -", code="E_FIELD", field="name")
        _fields.uint(self.version, "version", 1)
        time_text(self.issued_at, "issued_at")
        if self.expires is not None:
            time_text(self.expires, "expires")
            if self.expires <= self.issued_at:
                raise FormatError("expires must be later than issued_at", code="E_FIELD", field="expires")
        object.__setattr__(self, "kind", _fields.text(self.kind, "kind"))
        steps = tuple(self.steps)
        if not steps or len(steps) > MAX_RULES or not all(isinstance(s, StepRule) for s in steps):
            raise FormatError(f"a policy has 1 to {MAX_RULES} step rules", code="E_FIELD", field="steps")
        if len({s.step for s in steps}) != len(steps):
            raise FormatError("a step is named by two rules", code="E_FIELD", field="steps")
        if "genesis" in (s.step for s in steps[1:]):
            raise FormatError("the genesis rule can only come first", code="E_FIELD", field="steps")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "gtins", _names(self.gtins, "gtins", re.compile(r"[0-9]{14}"), 1024))
        batch_data = _names(self.batch_data, "batch_data", _ANY)
        object.__setattr__(self, "batch_data", tuple(_fields.data_key(k, "batch_data") for k in batch_data))
        if self.every is not None:
            if not isinstance(self.every, StepRule) or self.every.roles or self.every.attachments:
                raise FormatError("the every-rule holds only data and fields", code="E_FIELD", field="every")
            bad = [f for f in self.every.fields for a in f.split("|") if not a.startswith("location")]
            if bad:
                raise FormatError("the every-rule can only require location fields", code="E_FIELD", field="every")
        if not isinstance(self.closed, bool):
            raise FormatError("closed must be a boolean", code="E_FIELD", field="closed")
        sealers = _names(self.sealers, "sealers", re.compile(r"[a-z]+"))
        if any(r not in ROLES for r in sealers):
            raise FormatError(f"sealers must be among {', '.join(ROLES)}", code="E_FIELD", field="sealers")
        object.__setattr__(self, "sealers", tuple(sorted(sealers)))

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
        if self.sealers:
            m[11] = list(self.sealers)
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
            "sealers": list(self.sealers),
        }

    @classmethod
    def parse_unverified(cls, data: bytes) -> Policy:
        """Parse a signed policy **without checking signatures** (inspection only).

        Raises:
            FormatError: Malformed envelope or payload.
        """
        doc = parse_unverified_document(data, typ=POLICY_TYP)
        m = _cbor.decode(doc.payload, max_size=MAX_SIGNED_DOCUMENT_SIZE, max_depth=6, max_items=MAX_DOCUMENT_ITEMS)
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
            name=p["name"],
            version=_fields.uint(p["version"], "version", 1),
            issued_at=parse_time(p["issued_at"], "issued_at"),
            expires=parse_time(p["expires"], "expires") if "expires" in p else None,
            kind=p["kind"],
            steps=tuple(rules),
            gtins=tuple(list_field(p["gtins"], "gtins", 1024)) if "gtins" in p else (),
            every=every,
            batch_data=tuple(list_field(p["batch_data"], "batch_data", 64)) if "batch_data" in p else (),
            closed=closed,
            sealers=tuple(list_field(p["sealers"], "sealers", len(ROLES))) if "sealers" in p else (),
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

        Corrections (docs/format.md §19) are read first: a step is judged on its corrected key data elements (and
        with the attachments of the correction in force), a withdrawn step counts as absent, and correction events
        are not process steps. Only a correction signed by the corrected step's participant is in force.

        Returns:
            Every violation (empty when the record is complete), in a stable order: per-event findings in chain
            order, then missing steps, thresholds and batch-wide data.
        """
        out: list[Finding] = []
        log = CorrectionLog()
        for event, who in events:
            log.add(event, None if who is None else who.id)
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
                    seq=None if ev is None else ev.seq,
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
        latest = -1  # the highest rule index seen so far: governed events must follow the rules' order, every time
        for pos, (event, who) in enumerate(events):
            data = log.effective_data(event)
            if event.step == CORRECTION_STEP or data is None:
                continue  # a correction is not a process step; a withdrawn step did not happen as recorded
            files = log.effective_attachments(event)
            seen_data.update(k for k, v in data.items() if not (isinstance(v, str) and _fields.is_blank(v)))
            if self.every is not None:
                self._check_rule(self.every, "every", event, pos, add, data, files)
            found = by_step.get(event.step)
            if found is None:
                if self.closed:
                    add("E_POLICY_EXTRA_STEP", f"step {event.step} is not in this policy", pos, None, event.step)
                continue
            i, rule = found
            first.setdefault(i, pos)
            if i < latest:
                add(
                    "E_POLICY_ORDER",
                    f"step {rule.step} comes after step {self.steps[latest].step}, which the policy puts later",
                    pos,
                    f"steps[{i}]",
                    rule.step,
                )
            latest = max(latest, i)
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
            self._check_rule(rule, f"steps[{i}]", event, pos, add, data, files)
        for i, rule in enumerate(self.steps):
            if i not in first:
                add(
                    "E_POLICY_MISSING_STEP",
                    f"required step {rule.step} does not appear",
                    None,
                    f"steps[{i}]",
                    rule.step,
                )
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
    def _check_rule(  # noqa: PLR0917 - one call site shape, private
        rule: StepRule,
        where: str,
        event: SignedEvent,
        pos: int,
        add: Any,
        data: Mapping[str, DataValue],
        attachments: tuple[Attachment, ...],
    ) -> None:
        for req in rule.data:
            if req.key not in data:
                add("E_POLICY_DATA", f"key data element {req.key} is missing", pos, where, event.step)
                continue
            problem = req.problem(data[req.key])
            if problem is not None:
                add("E_POLICY_DATA_VALUE", f"key data element {req.key} {problem}", pos, where, event.step)
        files = [(a.media_type, a.size) for a in attachments]
        for pattern in rule.attachments:
            matching = [size for media, size in files if _media_ok(pattern, media)]
            if not matching:
                add("E_POLICY_ATTACHMENT", f"an attachment of type {pattern} is required", pos, where, event.step)
            elif not any(matching):
                add("E_POLICY_ATTACHMENT", f"the attachment of type {pattern} is an empty file", pos, where, event.step)
        for alternatives in rule.fields:
            if not any(_has_field(event, f) for f in alternatives.split("|")):
                add("E_POLICY_FIELD", f"field {alternatives.replace('|', ' or ')} is missing", pos, where, event.step)


def _rule(r: dict[str, Any], where: str) -> StepRule:
    def names(key: str) -> tuple[Any, ...]:
        return tuple(list_field(r[key], f"{where}.{key}", 64)) if key in r else ()

    if "min_signers" in r and _fields.uint(r["min_signers"], f"{where}.min_signers", 2) < 2:
        raise FormatError("min_signers is absent when 1", code="E_SCHEMA", field=f"{where}.min_signers")
    return StepRule(
        step=r["step"],
        roles=names("roles"),
        data=tuple(DataRequirement.from_wire(d, f"{where}.data[{i}]") for i, d in enumerate(names("data"))),
        attachments=names("attachments"),
        fields=names("fields"),
        min_signers=r.get("min_signers", 1),
        label=r.get("label"),
    )


def sign_policy(policy: Policy, signers: Iterable[Signer]) -> bytes:
    """Sign a policy with one or more authority keys.

    Returns:
        The signed envelope bytes.
    """
    return sign_document(policy.payload(), signers, POLICY_TYP)


_VERIFIED = object()


@dataclass(frozen=True, slots=True)
class VerifiedPolicy:
    """A policy that :func:`verify_policy` accepted: the only kind an audit applies.

    Attributes:
        policy: The verified content.
        trust_id: The id of the trust list whose authority signed it.
    """

    policy: Policy
    trust_id: bytes
    _token: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._token is not _VERIFIED:
            raise TypeError("a VerifiedPolicy comes only from verify_policy()")

    @property
    def name(self) -> str:
        """The policy's name."""
        return self.policy.name

    @property
    def version(self) -> int:
        """The policy's version."""
        return self.policy.version

    @property
    def object_id(self) -> bytes:
        """SHA-256 of the payload: the policy's identity."""
        return self.policy.object_id

    @property
    def kind(self) -> str:
        """The kind of product, in plain words."""
        return self.policy.kind

    @property
    def expires(self) -> datetime | None:
        """When the policy stops being usable, if ever."""
        return self.policy.expires

    @property
    def steps(self) -> tuple[StepRule, ...]:
        """The step rules, in the required order."""
        return self.policy.steps

    def evaluate(
        self, events: Sequence[tuple[SignedEvent, Participant | None]], *, batch_id: bytes | None = None
    ) -> list[Finding]:
        """Check one batch's events against the policy (:meth:`Policy.evaluate`)."""
        return self.policy.evaluate(events, batch_id=batch_id)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping (:meth:`Policy.to_dict`)."""
        return self.policy.to_dict()


def verify_policy(
    data: bytes, trust: VerifiedTrustList, *, now: datetime, backend: str | None = None
) -> VerifiedPolicy:
    """Verify a signed policy against the authority of a verified trust list.

    The authority's signatures are checked over the payload bytes before the payload is decoded.

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
        TypeError: ``trust`` is not a :class:`~ocop_provenance.VerifiedTrustList`.
        ValueError: ``now`` is naive.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(trust, VerifiedTrustList):
        raise TypeError("verify_policy needs a VerifiedTrustList (from verify_trust_list)")
    doc = parse_unverified_document(data, typ=POLICY_TYP)
    got = doc.signed_by(trust.authority.keys, backend=backend)
    if len(got) < trust.authority.threshold:
        raise TrustError(
            f"the policy carries {len(got)} valid signature(s) of the trust list's authority, "
            f"{trust.authority.threshold} required",
            code="E_POLICY_AUTHORITY",
        )
    policy = Policy.parse_unverified(data)
    if policy.expires is not None and now >= policy.expires:
        raise TrustError(f"the policy expired at {time_text(policy.expires)}", code="E_POLICY_EXPIRED", field="expires")
    return VerifiedPolicy(policy, trust.object_id, _VERIFIED)


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
            StepRule(
                step="ocop:drying",
                roles=("processor",),
                data=(DataRequirement(key="moisture", kind="number", minimum="0", maximum="100", unit="%"),),
                label="Sấy",
            ),
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
