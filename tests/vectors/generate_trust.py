"""Regenerate tests/vectors/trust.json: trust lists, policies, seals and audits (docs/format.md §16-§17).

Run ``python -m tests.vectors.generate_trust`` from the repository root; ``tests/vectors/test_trust_vectors.py``
checks that the committed file equals a fresh regeneration and replays every vector. Keys come from fixed seeds
(SHA-256 of ``"ocop-provenance trust vector key: <name>"``) and every time is fixed, so the bytes are reproducible.

Valid documents come from the library. Malformed ones are built here with cbor2 and signed with the keys directly,
so each carries valid signatures over its malformed bytes and is refused for what it carries.

Kinds (what a replaying verifier calls):

* ``trust_list``: ``verify_trust_list(input, anchor, now, intermediates)``; the anchor is pinned keys with a
  threshold (``{"keys": [names], "threshold": n}``) or an earlier vector of this file (``{"list": name}``);
* ``policy``: ``verify_policy(input, <the valid trust list named by "trust">, now)``;
* ``seal``: ``verify_seal(input, VerifyOptions(keys=<trust list>, now), bundle=<bundle or none>,
  policy=<policy or none>)``; ``expected_code`` is ``SEAL_OK``, ``SEAL_OLDER_HEAD`` or an error code;
* ``audit``: ``audit_bundle(input, VerifyOptions(keys=<trust list>, now), root=ANY_BATCH, policy=...)``; the
  findings as ``[code, seq, field]`` in report order, and the root batch's producer as the list names it.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import cbor2

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import ocop_provenance as op
from ocop_provenance.events import BundleBatch, BundleHeader, append_step, open_batch, write_bundle
from ocop_provenance.seals import make_seal
from ocop_provenance.trust import (
    POLICY_TYP,
    TRUST_TYP,
    AuthorityPin,
    DataRequirement,
    Participant,
    ParticipantKey,
    Policy,
    StepRule,
    TrustList,
    sign_policy,
    sign_trust_list,
)

from tests.vectors.generate import _det, _hex  # one deterministic encoder for the generators

HERE = Path(__file__).resolve().parent
ICT = timezone(timedelta(hours=7))
ISSUED = datetime(2025, 1, 1, tzinfo=UTC)
EXPIRES = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 6, 1, tzinfo=UTC)
NOT_BEFORE, NOT_AFTER = datetime(2024, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
RESOLVER = "https://id.example.vn"
KEY_NAMES = (
    "authority-1",
    "authority-2",
    "authority-3",
    "new-authority",
    "producer",
    "rival",
    "processor",
    "lab",
    "retailer",
    "outsider",
)
GTIN = "08931234567897"  # under the producer's GS1 Company Prefix 8931234


def _seed(name: str) -> bytes:
    return hashlib.sha256(f"ocop-provenance trust vector key: {name}".encode()).digest()


KEYS = {name: op.PrivateKey.from_seed(_seed(name)) for name in KEY_NAMES}
AUTH = [KEYS["authority-1"], KEYS["authority-2"], KEYS["authority-3"]]
PIN = AuthorityPin(tuple(k.public_key for k in AUTH), 2)


def _pkey(name: str, **kw: Any) -> ParticipantKey:
    fields: dict[str, Any] = {"key": KEYS[name].public_key, "not_before": NOT_BEFORE, "not_after": NOT_AFTER}
    fields.update(kw)
    return ParticipantKey(**fields)


def _participants(*, lab: ParticipantKey | None = None) -> tuple[Participant, ...]:
    return (
        Participant(
            id="htx-nghi-son",
            name="HTX Nông nghiệp Nghi Sơn",
            role="producer",
            keys=(_pkey("producer"),),
            admin_code="16840",
            gln="8931234500009",
            commune="Phường Nghi Sơn",
            province="Thanh Hóa",
            gs1_prefixes=("8931234",),
            glns=("8931234500016",),
            admin_codes=("16000",),
        ),
        Participant(
            id="htx-doi-thu",
            name="HTX Đối thủ",
            role="producer",
            keys=(_pkey("rival"),),
            admin_code="40",
            gs1_prefixes=("8939999",),
        ),
        Participant(id="xuong-say", name="Xưởng sấy Tĩnh Gia", role="processor", keys=(_pkey("processor"),)),
        Participant(id="phong-thu-nghiem", name="Phòng thử nghiệm Thanh Hóa", role="lab", keys=(lab or _pkey("lab"),)),
        Participant(id="cua-hang", name="Cửa hàng Đặc sản Sầm Sơn", role="retailer", keys=(_pkey("retailer"),)),
    )


def _draft(version: int = 1, **kw: Any) -> TrustList:
    fields: dict[str, Any] = {
        "issuer": "Văn phòng Điều phối OCOP tỉnh Thanh Hóa",
        "version": version,
        "issued_at": ISSUED,
        "expires": EXPIRES,
        "authority": PIN,
        "participants": _participants(),
    }
    fields.update(kw)
    return TrustList(**fields)


def _sign1(payload: bytes, signer: op.PrivateKey, typ: str) -> bytes:
    protected = cbor2.dumps({1: -8, 4: signer.key_id, 16: typ})
    signature = signer.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))


def _envelope(payload: bytes, signers: Sequence[op.PrivateKey], typ: str = TRUST_TYP) -> bytes:
    by_id = {s.key_id: _sign1(payload, s, typ) for s in signers}
    return cbor2.dumps([by_id[k] for k in sorted(by_id)])


def _edit(payload: bytes, change: Any) -> bytes:
    """Decode a deterministic payload with cbor2, let ``change`` edit it, and encode it deterministically again."""
    m = cbor2.loads(payload)
    change(m)
    return _det(m)


# ---- batches -----------------------------------------------------------------------------------------------


WHERE = op.Location(name="Phường Nghi Sơn, Thanh Hóa", admin_code="16840")
PDF = b"%PDF-1.4\n% Phieu ket qua thu nghiem\n"


def _pdf(size: int | None = None) -> op.Attachment:
    return op.Attachment(
        name="phieu-ket-qua.pdf",
        media_type="application/pdf",
        size=len(PDF) if size is None else size,
        sha256=hashlib.sha256(PDF if size is None else b"").digest(),
    )


def _batch(
    opener: str = "producer",
    *,
    gtin: str | None = GTIN,
    producer_name: str = "HTX Nông nghiệp Nghi Sơn",
    moisture: object = "11.8",
    pdf: op.Attachment | None = None,
    again: bool = False,
) -> list[op.SignedEvent]:
    """A dried-cordyceps batch: genesis, harvest, drying, lab test, packing (and drying again after, if asked)."""
    genesis = op.Genesis(
        time=datetime(2025, 5, 10, 1, 0, tzinfo=ICT),
        product=op.Product(name="Đông trùng hạ thảo sấy khô", lot="DT2505-01", quantity="12.5", unit="kg", gtin=gtin),
        producer=op.Producer(name=producer_name, admin_code="16840", province="Thanh Hóa"),
        location=WHERE,
    )
    events = [open_batch(genesis, KEYS[opener])]
    plan: list[tuple[str, str, dict[str, Any]]] = [
        ("commissioning", opener, {}),
        ("ocop:drying", "processor", {"data": {"moisture_pct": moisture}}),
        ("inspecting", "lab", {"attachments": [pdf or _pdf()]}),
        ("packing", opener, {}),
    ]
    if again:
        plan.append(("ocop:drying", "processor", {"data": {"moisture_pct": "11"}}))
    for i, (step, who, extra) in enumerate(plan, 1):
        events.append(
            append_step(
                events[-1],
                KEYS[who],
                step=step,
                time=datetime(2025, 5, 10, 1 + i, 0, tzinfo=ICT),
                location=WHERE,
                **extra,
            )
        )
    return events


def _bundle(events: Sequence[op.SignedEvent]) -> bytes:
    signers = list(dict.fromkeys(e.key_id for e in events))
    by_id = {k.key_id: k.public_key for k in KEYS.values()}
    header = BundleHeader(
        root=events[0].event_id,
        batches=(BundleBatch(batch_id=events[0].event_id, count=len(events), head=events[-1].event_id),),
        keys=tuple(by_id[k] for k in signers),
    )
    out = io.BytesIO()
    write_bundle(out, header, [e.raw for e in events])
    return out.getvalue()


def _policy(**kw: Any) -> Policy:
    fields: dict[str, Any] = {
        "name": "vn.ocop/dried-cordyceps",
        "version": 1,
        "issued_at": ISSUED,
        "kind": "Đông trùng hạ thảo sấy khô",
        "steps": (
            StepRule(step="genesis", roles=("producer",), fields=("producer.admin_code",)),
            StepRule(step="commissioning", roles=("producer",)),
            StepRule(
                step="ocop:drying",
                roles=("processor",),
                data=(DataRequirement(key="moisture_pct", kind="number", minimum="0", maximum="13.5", unit="%"),),
            ),
            StepRule(step="inspecting", roles=("lab",), attachments=("application/pdf",)),
            StepRule(step="packing", roles=("producer",)),
        ),
    }
    fields.update(kw)
    return Policy(**fields)


# ---- the vectors ------------------------------------------------------------------------------------------------


def _trust_vectors() -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    out: list[dict[str, Any]] = []
    lists: dict[str, bytes] = {}
    keys3 = {"keys": ["authority-1", "authority-2", "authority-3"], "threshold": 2}

    def add(name: str, data: bytes, code: str, about: str, anchor: dict[str, Any] | None = None, **extra: Any) -> None:
        out.append(
            {
                "name": name,
                "kind": "trust_list",
                "input": _hex(data),
                "anchor": anchor or keys3,
                "now": extra.pop("now", NOW).isoformat(),
                "expected_code": code,
                "about": about,
                **extra,
            }
        )

    v1 = sign_trust_list(_draft(), AUTH[:2])
    lists["list-v1"] = v1
    tl = TrustList.parse_unverified(v1)
    add("list-v1", v1, "OK", "a valid list: participant claims (labels 6-10), a producer, a rival producer, a "
        "processor, a lab and a retailer; signed by 2 of 3 authority keys", object_id=_hex(tl.object_id),
        participants=[p.id for p in sorted(tl.participants, key=lambda p: p.id)])  # fmt: skip
    v2 = sign_trust_list(_draft(2, participants=_participants(lab=_pkey("lab", status="revoked"))), AUTH[1:])
    lists["list-v2"] = v2
    add("list-v2", v2, "OK", "version 2, the lab's key revoked; verified from version 1", {"list": "list-v1"})
    ext = sign_trust_list(_draft(extensions={99: "kept, ignored"}, critical=(5,)), AUTH[:2])
    add("list-extension-and-known-crit", ext, "OK", "an unknown top-level label 99 (kept, ignored) and crit [5] "
        "naming a label a version-1 reader knows")  # fmt: skip

    payload = _draft().payload()
    add("envelope-not-an-array", cbor2.dumps({0: _sign1(payload, AUTH[0], TRUST_TYP)}), "E_ENVELOPE",
        "the envelope is a map")  # fmt: skip
    add("envelope-empty", cbor2.dumps([]), "E_ENVELOPE", "an envelope of no signature")
    add("envelope-item-not-bstr", cbor2.dumps([_sign1(payload, AUTH[0], TRUST_TYP), "signature"]), "E_ENVELOPE",
        "a second item that is text, not a byte string")  # fmt: skip
    sig = _sign1(payload, AUTH[0], TRUST_TYP)
    add("envelope-33-signatures", cbor2.dumps([sig] * 33), "E_SIZE", "33 signatures: 34 data items, over the "
        "envelope's budget of 33")  # fmt: skip
    other = _draft(issuer="Một cơ quan khác").payload()
    add("envelope-payloads-differ", cbor2.dumps([_sign1(payload, AUTH[0], TRUST_TYP), _sign1(other, AUTH[1],
        TRUST_TYP)]), "E_ENVELOPE", "two signatures over different payloads")  # fmt: skip
    add("envelope-policy-typ", _envelope(payload, AUTH[:2], POLICY_TYP), "E_CONTENT_TYPE",
        "a trust list signed as a policy")  # fmt: skip
    add("signed-by-one-of-two", _envelope(payload, AUTH[:1]), "E_TRUST_THRESHOLD", "one authority signature, two "
        "required")  # fmt: skip
    add("same-signature-twice", cbor2.dumps([sig, sig]), "E_TRUST_THRESHOLD", "one key's signature twice counts once")
    add("garbage-signed-by-outsider", _envelope(b"\xff\xff", [KEYS["outsider"]]), "E_TRUST_THRESHOLD",
        "a payload that is not CBOR, signed by an outsider: signatures are checked before the payload is "
        "decoded")  # fmt: skip
    add("garbage-signed-by-authority", _envelope(b"\xff\xff", AUTH[:2]), "E_CBOR",
        "the same payload signed by the authority: decoded after the signatures, and refused")  # fmt: skip
    unknown_crit = sign_trust_list(_draft(extensions={99: 1}, critical=(99,)), AUTH[:2])
    add("crit-unknown-label", unknown_crit, "E_CRITICAL_FIELD", "crit [99]: a label a version-1 reader does not know")

    def crit(value: list[int]) -> bytes:
        return _envelope(_edit(payload, lambda m: m.update({7: value})), AUTH[:2])

    add("crit-absent-label", crit([99]), "E_SCHEMA", "crit names a label the list does not carry")
    add("crit-listed-twice", crit([3, 3]), "E_SCHEMA", "crit lists label 3 twice")
    add("crit-unsorted", crit([5, 3]), "E_NONCANONICAL", "crit [5, 3]: not in increasing order")

    def participant(index: int, change: Any) -> bytes:
        def edit(m: dict[int, Any]) -> None:
            change(m[6][index])

        return _envelope(_edit(payload, edit), AUTH[:2])

    add("participant-unknown-label", participant(0, lambda p: p.update({11: "x"})), "E_SCHEMA",
        "a participant label beyond 10")  # fmt: skip
    add("participant-gln-check-digit", participant(0, lambda p: p.update({4: "8931234500008"})), "E_FIELD",
        "a participant's GLN with a wrong check digit", expected_field="participants[0].gln")  # fmt: skip
    add("participant-gs1-prefix-3-digits", participant(0, lambda p: p.update({8: ["893"]})), "E_FIELD",
        "a GS1 Company Prefix of 3 digits")  # fmt: skip
    add("participant-claims-unsorted", participant(1, lambda p: p.update({8: ["8939999", "8931111"]})),
        "E_NONCANONICAL", "gs1_prefixes not in increasing order")  # fmt: skip
    add("participant-claim-listed-twice", participant(1, lambda p: p.update({8: ["8939999", "8939999"]})),
        "E_FIELD", "a prefix listed twice")  # fmt: skip
    add("year-0999", _envelope(_edit(payload, lambda m: m.update({3: "0999-01-01T00:00:00Z"})), AUTH[:2]), "E_FIELD",
        "issued_at in year 999: years are 1970-9999")  # fmt: skip
    add("time-lowercase-z", _envelope(_edit(payload, lambda m: m.update({3: "2025-01-01T00:00:00z"})), AUTH[:2]),
        "E_SCHEMA", "a trust-list time with a lowercase z")  # fmt: skip
    add("expired", v1, "E_TRUST_EXPIRED", "verified at its expiry instant", now=EXPIRES)
    conflict = sign_trust_list(_draft(issuer="Văn phòng OCOP (bản khác)"), AUTH[:2])
    add("same-version-other-content", conflict, "E_TRUST_CONFLICT", "another version 1 after version 1",
        {"list": "list-v1"})  # fmt: skip
    rollback_draft = _draft(authority=AuthorityPin((KEYS["new-authority"].public_key,), 1), issuer="Bản cũ")
    add("rollback-before-own-threshold", sign_trust_list(rollback_draft, AUTH[1:]), "E_TRUST_ROLLBACK",
        "version 1 after version 2, signed by version 2's authority but not by its own: versions are judged "
        "before the list's own authority threshold", {"list": "list-v2"})  # fmt: skip
    own = _draft(authority=AuthorityPin((AUTH[0].public_key, KEYS["new-authority"].public_key), 2))
    add("own-threshold-unmet", sign_trust_list(own, AUTH[:2]), "E_TRUST_THRESHOLD", "signed by 2 of the pinned "
        "keys, but only 1 of the 2 its own authority needs")  # fmt: skip

    def authority_key_as_participant(m: dict[int, Any]) -> None:
        m[6][0][5][0][0] = AUTH[0].public_key.raw

    add("key-held-twice", _envelope(_edit(payload, authority_key_as_participant), AUTH[:2]), "E_DUPLICATE_KEY",
        "an authority key also held by a participant")  # fmt: skip

    def weak(m: dict[int, Any]) -> None:
        m[6][0][5][0][0] = bytes([1]) + bytes(31)

    add("weak-participant-key", _envelope(_edit(payload, weak), AUTH[:2]), "E_WEAK_KEY", "the identity point as a key")
    return out, lists


def _policy_vectors() -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    out: list[dict[str, Any]] = []
    policies: dict[str, bytes] = {}

    def add(name: str, data: bytes, code: str, about: str, **extra: Any) -> None:
        out.append(
            {
                "name": name,
                "kind": "policy",
                "input": _hex(data),
                "trust": "list-v1",
                "now": extra.pop("now", NOW).isoformat(),
                "expected_code": code,
                "about": about,
                **extra,
            }
        )

    dried = sign_policy(_policy(), AUTH[:2])
    policies["policy-dried"] = dried
    add("policy-dried", dried, "OK", "typed data: moisture_pct a number from 0 to 13.5 %, as the map "
        "{0: key, 1: kind, 2: min, 3: max, 4: unit}")  # fmt: skip
    gifts = sign_policy(
        _policy(
            name="vn.ocop/gift-boxes",
            kind="Hộp quà",
            steps=(StepRule(step="genesis", roles=("retailer",), data=("note",)),),  # type: ignore[arg-type]
            sealers=("retailer",),
        ),
        AUTH[:2],
    )
    policies["policy-gifts"] = gifts
    add("policy-gifts", gifts, "OK", "label 11 (sealers): retailers may seal; a bare data name (present, not blank)")
    payload = _policy().payload()

    def rule(change: Any) -> bytes:
        def edit(m: dict[int, Any]) -> None:
            change(m[7][2][2][0])

        return _envelope(_edit(payload, edit), AUTH[:2], POLICY_TYP)

    add("policy-signed-by-outsider", _envelope(payload, [KEYS["outsider"]], POLICY_TYP), "E_POLICY_AUTHORITY",
        "signed by a key that is not the authority's")  # fmt: skip
    add("requirement-unknown-kind", rule(lambda r: r.update({1: "date"})), "E_FIELD", "kind 'date'")
    add("requirement-min-above-max", rule(lambda r: r.update({2: "14"})), "E_FIELD", "min 14 above max 13.5")
    add("requirement-bound-not-canonical", rule(lambda r: r.update({3: "13.50"})), "E_FIELD",
        "a bound with a trailing zero")  # fmt: skip
    add("requirement-unknown-label", rule(lambda r: r.update({5: "x"})), "E_SCHEMA", "requirement label 5")

    def bare(value: str) -> bytes:
        return _envelope(_edit(payload, lambda m: m[7][2].update({2: [value]})), AUTH[:2], POLICY_TYP)

    add("requirement-blank-name", bare(""), "E_FIELD", "a bare data name that is empty")
    add("requirement-unit-on-text",
        _envelope(_edit(payload, lambda m: m[7][2].update({2: [{0: "grade", 1: "text", 4: "%"}]})), AUTH[:2],
                  POLICY_TYP), "E_FIELD", "a unit on a text requirement")  # fmt: skip
    add("sealers-unknown-role", _envelope(_edit(payload, lambda m: m.update({11: ["farmer"]})), AUTH[:2], POLICY_TYP),
        "E_FIELD", "sealers names a role that does not exist")  # fmt: skip
    add("closed-false", _envelope(_edit(payload, lambda m: m.update({10: False})), AUTH[:2], POLICY_TYP), "E_SCHEMA",
        "closed written as false (absent or true only)")  # fmt: skip
    expiring = sign_policy(_policy(expires=datetime(2025, 5, 1, tzinfo=UTC)), AUTH[:2])
    add("policy-expired", expiring, "E_POLICY_EXPIRED", "expired before now")
    return out, policies


def _seal_vectors() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(
        name: str,
        text: str,
        code: str,
        about: str,
        *,
        trust: str = "list-v1",
        bundle: bytes | None = None,
        policy: str | None = None,
        now: datetime = NOW,
        **extra: Any,
    ) -> None:
        entry: dict[str, Any] = {"name": name, "kind": "seal", "input": text, "trust": trust, "now": now.isoformat()}
        if bundle is not None:
            entry["bundle"] = _hex(bundle)
        if policy is not None:
            entry["policy"] = policy
        entry.update({"expected_code": code, "about": about, **extra})
        out.append(entry)

    def seal(events: Sequence[op.SignedEvent], signer: str, day: date, head: int = -1) -> str:
        return make_seal(events[0], events[head], KEYS[signer], resolver=RESOLVER, sealed_on=day).to_url()

    good = _batch()
    full = ["signature", "signer-trusted", "signer-role", "gtin-owner", "chain", "genesis-claims"]
    add("seal-with-bundle", seal(good, "producer", date(2025, 5, 11)), "SEAL_OK", "the producer's seal with its "
        "bundle: every check", bundle=_bundle(good), checked=full, not_checked=[])  # fmt: skip
    add("seal-without-bundle", seal(good, "producer", date(2025, 5, 11)), "SEAL_OK", "without the bundle the chain "
        "is not checked, and the result says so", checked=full[:4], not_checked=["chain"])  # fmt: skip
    add("seal-older-head", seal(good, "producer", date(2025, 5, 11), head=3), "SEAL_OLDER_HEAD", "the record went "
        "on after the seal", bundle=_bundle(good))  # fmt: skip
    add("seal-by-retailer", seal(_batch("retailer")[:1], "retailer", date(2025, 5, 11)), "E_SEAL_ROLE",
        "a retailer's key seals a throwaway genesis claiming the producer's GTIN")  # fmt: skip
    gift = [
        open_batch(
            op.Genesis(
                time=datetime(2025, 5, 10, 9, 0, tzinfo=ICT),
                product=op.Product(name="Hộp quà đặc sản", lot="HQ-01", quantity="1", unit="hộp"),
                producer=op.Producer(name="Cửa hàng Đặc sản Sầm Sơn"),
                data={"note": "Tết 2026"},
            ),
            KEYS["retailer"],
        )
    ]
    add("seal-by-retailer-policy-sealers", seal(gift, "retailer", date(2025, 5, 11)), "SEAL_OK", "a policy whose "
        "sealers name retailers", bundle=_bundle(gift), policy="policy-gifts")  # fmt: skip
    add("seal-gtin-not-owned", seal(_batch("rival"), "rival", date(2025, 5, 11)), "E_GTIN_NOT_OWNED",
        "a second producer seals the first producer's GTIN", bundle=_bundle(_batch("rival")))  # fmt: skip
    impostor = _batch("rival", gtin=None)
    add("seal-claims-not-the-sealers", seal(impostor, "rival", date(2025, 5, 11)), "E_CLAIM_MISMATCH",
        "no GTIN; the genesis claims the first producer's name and commune code", bundle=_bundle(impostor),
        expected_field="producer.name")  # fmt: skip
    late_utc = datetime(2025, 6, 2, 1, 0, tzinfo=timezone(timedelta(hours=14)))  # UTC: 1 June, 11:00
    add("seal-future-utc-day", seal(good, "producer", date(2025, 6, 3)), "E_SEAL_FUTURE", "sealed on 3 June; now is "
        "2 June at +14:00 but 1 June in UTC: the day boundary is UTC's, plus one day", now=late_utc)  # fmt: skip
    add("seal-future-boundary", seal(good, "producer", date(2025, 6, 2)), "SEAL_OK", "sealed on 2 June, the same "
        "now: UTC's date plus one day is allowed", now=late_utc)  # fmt: skip
    add("seal-before-head", seal(good, "producer", date(2025, 5, 8)), "E_SEAL_TIME", "the sealed head happened on 10 "
        "May in its own offset (+07:00; 9 May in UTC): a seal dated 8 May is before that day minus one",
        bundle=_bundle(good))  # fmt: skip
    add("seal-before-head-boundary", seal(good, "producer", date(2025, 5, 9)), "SEAL_OK", "dated 9 May: the head's "
        "day minus one", bundle=_bundle(good))  # fmt: skip
    add("seal-revoked-step", seal(good, "producer", date(2025, 5, 11)), "E_KEY_REVOKED", "the lab's key is revoked "
        "in version 2: its step fails the bundle, whatever time it claims", trust="list-v2",
        bundle=_bundle(good))  # fmt: skip
    return out


def _audit_vectors() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(name: str, events: Sequence[op.SignedEvent], findings: list[list[Any]], about: str, **kw: Any) -> None:
        out.append(
            {
                "name": name,
                "kind": "audit",
                "input": _hex(_bundle(events)),
                "trust": kw.pop("trust", "list-v1"),
                "policy": kw.pop("policy", "policy-dried"),
                "now": NOW.isoformat(),
                "expected_findings": findings,
                "about": about,
                **kw,
            }
        )

    add("audit-clean", _batch(), [], "a complete record by the genuine producer", producer="htx-nghi-son",
        declared_producer="HTX Nông nghiệp Nghi Sơn")  # fmt: skip
    add("audit-impersonation", _batch("rival"), [["E_CLAIM_MISMATCH", 0, "producer.name"],
        ["E_CLAIM_MISMATCH", 0, "producer.admin_code"], ["E_GTIN_NOT_OWNED", 0, "product.gtin"]],
        "a second producer's record claiming the first producer's name, commune code and GTIN",
        producer="htx-doi-thu", declared_producer="HTX Nông nghiệp Nghi Sơn")  # fmt: skip
    add("audit-revoked-step", _batch(), [["E_KEY_REVOKED", 3, None], ["E_POLICY_ROLE", 3, None]],
        "the lab's key revoked: its step is the lab's no more", trust="list-v2")  # fmt: skip
    for name, value in (("blank", ""), ("false", False), ("out-of-range", "14"), ("not-canonical", "11.80")):
        add(f"audit-moisture-{name}", _batch(moisture=value), [["E_POLICY_DATA_VALUE", 2, None]],
            f"moisture_pct {value!r}: a number from 0 to 13.5 is required")  # fmt: skip
    add("audit-empty-pdf", _batch(pdf=_pdf(0)), [["E_POLICY_ATTACHMENT", 3, None]], "a 0-byte PDF")
    add("audit-repeated-step-out-of-order", _batch(again=True), [["E_POLICY_ORDER", 5, None]],
        "drying again after packing: order is checked at every occurrence")  # fmt: skip
    return out


def build() -> bytes:
    """Return the exact bytes of trust.json."""
    trust, lists = _trust_vectors()
    policies, _ = _policy_vectors()
    doc = {
        "description": __doc__.split("\n\n", 1)[0].replace("\n", " ")
        + " Keys: seed = SHA-256 of 'ocop-provenance trust vector key: <name>'.",
        "keys": [{"name": n, "seed": _hex(_seed(n)), "public_key": _hex(KEYS[n].public_key.raw)} for n in KEY_NAMES],
        "now": NOW.isoformat(),
        "vectors": [*trust, *policies, *_seal_vectors(), *_audit_vectors()],
    }
    del lists
    return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def main() -> int:
    """Write trust.json next to this script."""
    data = build()
    (HERE / "trust.json").write_bytes(data)
    print(f"wrote tests/vectors/trust.json ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
