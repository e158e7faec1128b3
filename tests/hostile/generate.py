"""Hostile inputs (issue 10, finding 5): what each costs the reader is bounded, and each is refused with its code.

Every input is rebuilt from fixed seeds by :func:`build` (the files are several MiB, so the generator is committed,
not its output); ``python -m tests.hostile.generate DIR`` writes them all to DIR as ``NAME.bin``. Each case names
the public entry point it attacks and the code that entry must give:

* ``verify_trust_list`` / ``verify_policy``: the verifying paths, which check the authority's signatures over the
  payload bytes before decoding it, so an outsider's document is refused for its signatures alone;
* ``trust_inspect`` / ``policy_inspect``: ``TrustList.parse_unverified`` / ``Policy.parse_unverified``, which
  decode without any signature (inspection), bounded by the item budget and the depth limit instead;
* ``verify_bundle`` and ``parse_event``: the bundle reader (1 MiB header, 64 KiB items) and the event parser.

``tests/unit/test_hostile.py`` runs every case in process (its code) and the largest in fresh processes (their
peak memory); ``benchmarks/bench_hostile.py`` times each in a fresh process next to honest documents of the same
kind. docs/format.md §12 lists the limits these inputs hit.
"""

from __future__ import annotations

import hashlib
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cbor2
import ocop_provenance as op
from ocop_provenance._cbor import count_items
from ocop_provenance._trust import MAX_DOCUMENT_ITEMS
from ocop_provenance.events import BundleBatch, BundleHeader, open_batch, parse_unverified_event, write_bundle
from ocop_provenance.trust import (
    POLICY_TYP,
    TRUST_TYP,
    AuthorityPin,
    Participant,
    ParticipantKey,
    Policy,
    TrustList,
    VerifiedTrustList,
    sign_trust_list,
    verify_policy,
    verify_trust_list,
)

__all__ = ["ANCHOR", "CASES", "NOW", "Hostile", "build", "honest_trust_list", "judge", "main", "trusted"]

MiB = 1 << 20
NOW = datetime(2025, 6, 1, tzinfo=UTC)
_ISSUED = datetime(2025, 1, 1, tzinfo=UTC)
_EXPIRES = datetime(2026, 1, 1, tzinfo=UTC)
_EVENT_TYP = "application/ocop-event+cbor"


def _key(name: str) -> op.PrivateKey:
    return op.PrivateKey.from_seed(hashlib.sha256(f"ocop-provenance hostile input key: {name}".encode()).digest())


AUTHORITY, OUTSIDER, PRODUCER = _key("authority"), _key("outsider"), _key("producer")
#: The pinned authority the verifying entry points start from.
ANCHOR = AuthorityPin((AUTHORITY.public_key,), 1)


def _sign1(payload: bytes, signer: op.PrivateKey, typ: str, unprotected: bytes = b"\xa0") -> bytes:
    """A tagged COSE_Sign1 built here with cbor2 (so that a hostile layout is not refused by the writer)."""
    protected = cbor2.dumps({1: -8, 4: signer.key_id, 16: typ})
    signature = signer.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    return b"\xd2\x84" + cbor2.dumps(protected) + unprotected + cbor2.dumps(payload) + cbor2.dumps(signature)


def _envelope(*items: bytes) -> bytes:
    return cbor2.dumps(list(items))


def _array_head(n: int) -> bytes:
    return b"\x9a" + n.to_bytes(4, "big")


def _draft(participants: tuple[Participant, ...] = ()) -> TrustList:
    """A trust list of the pinned authority, unsigned."""
    return TrustList(
        issuer="Văn phòng Điều phối OCOP",
        version=1,
        issued_at=_ISSUED,
        expires=_EXPIRES,
        authority=ANCHOR,
        participants=participants,
    )


def _trust_prefix() -> bytes:
    """A genuine trust list payload up to its participants array: labels 0-5, then label 6 (value to follow)."""
    payload = _draft().payload()
    assert payload.endswith(b"\x06\x80")  # deterministic: label 6, the empty array, last
    return payload[:-1]


def _fill(prefix: bytes, item: bytes, budget_bytes: int) -> bytes:
    """``prefix`` followed by an array of as many copies of ``item`` as fit in ``budget_bytes``."""
    n = (budget_bytes - len(prefix) - 5) // len(item)
    return prefix + _array_head(n) + item * n


def _document(payload: bytes, typ: str, signer: op.PrivateKey = OUTSIDER) -> bytes:
    return _envelope(_sign1(payload, signer, typ))


# ---- trust lists ---------------------------------------------------------------------------------------------


def trust_empty_maps() -> bytes:
    # Millions of empty maps where participants go: 4 MiB, one byte per item.
    return _document(_fill(_trust_prefix(), b"\xa0", 4 * MiB - 200), TRUST_TYP)


def trust_at_item_budget() -> bytes:
    # As many empty maps as the item budget allows: the costliest payload the inspection path still decodes.
    prefix = _trust_prefix()
    n = MAX_DOCUMENT_ITEMS - count_items(prefix + b"\x80", max_items=MAX_DOCUMENT_ITEMS)
    return _document(prefix + _array_head(n) + b"\xa0" * n, TRUST_TYP)


def trust_deep_nesting() -> bytes:
    # An extension label (kept, ignored) holding 100,000 nested arrays: depth, not size.
    payload = _trust_prefix() + b"\x80"  # participants: []
    payload = b"\xa8" + payload[1:] + b"\x18\x63" + b"\x81" * 100_000 + b"\x00"  # label 99
    return _document(payload, TRUST_TYP)


def trust_many_signatures() -> bytes:
    # An envelope of a million empty byte strings where 1 to 32 signatures go.
    n = 4 * MiB - 16
    return _array_head(n) + b"\x40" * n


def trust_unprotected_bomb() -> bytes:
    # One signature whose unprotected header (which no signature covers) is a map of 400,000 entries.
    n = 400_000
    entries = b"".join(cbor2.dumps(i) + b"\x00" for i in range(n))
    item = _sign1(b"\xa0", OUTSIDER, TRUST_TYP, unprotected=b"\xba" + n.to_bytes(4, "big") + entries)
    return _envelope(item)


def trust_huge_declared_length() -> bytes:
    # A byte string that claims 2**62 bytes: nothing may be allocated for it.
    return b"\x81\x5b" + (1 << 62).to_bytes(8, "big") + b"\x00" * 64


# ---- policies ---------------------------------------------------------------------------------------------------


def policy_empty_maps() -> bytes:
    prefix = cbor2.dumps({0: 1, 1: "vn.ocop/bomb", 2: 1, 3: "2025-01-01T00:00:00Z", 5: "bom"}) + b"\x07"
    prefix = b"\xa6" + prefix[1:]
    return _document(_fill(prefix, b"\xa0", 4 * MiB - 200), POLICY_TYP)


# ---- bundles and events ---------------------------------------------------------------------------------------


def _genesis() -> op.SignedEvent:
    body = op.Genesis(
        time=datetime(2025, 1, 2, 8, 0, tzinfo=UTC),
        product=op.Product(name="Đông trùng hạ thảo sấy khô", lot="L1", quantity="1", unit="kg"),
        producer=op.Producer(name="HTX Nông nghiệp Nghi Sơn"),
    )
    return open_batch(body, PRODUCER)


def _bundle(header: bytes, *events: bytes) -> bytes:
    return b"".join(cbor2.dumps(item) for item in (header, *events))


def bundle_header_tiny_items() -> bytes:
    # A 1 MiB header whose key list is a million empty byte strings.
    g = _genesis()
    head = cbor2.dumps({0: "ocop-bundle", 1: 1, 2: g.event_id})[1:]
    tail = cbor2.dumps(4) + cbor2.dumps([[g.event_id, 1, g.event_id]])
    n = MiB - 200
    header = b"\xa5" + head + b"\x03" + _array_head(n) + b"\x40" * n + tail
    return _bundle(header, g.raw)


def bundle_header_many_keys() -> bytes:
    # 10,000 distinct valid keys in a header that ships one event: every key is checked (§3.1) before the events.
    g = _genesis()
    keys = [op.PrivateKey.from_seed(hashlib.sha256(i.to_bytes(4, "big")).digest()).public_key for i in range(10_000)]
    header = BundleHeader(
        root=g.event_id,
        batches=(BundleBatch(batch_id=g.event_id, count=1, head=g.event_id),),
        keys=tuple(keys),
    )
    out = io.BytesIO()
    write_bundle(out, header, [g.raw])
    return out.getvalue()


def bundle_header_deep() -> bytes:
    g = _genesis()
    return _bundle(b"\x81" * 40_000 + b"\x00", g.raw)  # under the item budget: the depth limit refuses it


def bundle_item_huge_length() -> bytes:
    g = _genesis()
    header = BundleHeader(
        root=g.event_id,
        batches=(BundleBatch(batch_id=g.event_id, count=1, head=g.event_id),),
        keys=(PRODUCER.public_key,),
    )
    return cbor2.dumps(header.to_bytes()) + b"\x5b" + (1 << 62).to_bytes(8, "big")


def event_array_head() -> bytes:
    # A payload whose array claims 2**32 members, in a 64 KiB event.
    return _sign1(b"\x9b" + (1 << 32).to_bytes(8, "big") + b"\x00" * 1000, PRODUCER, _EVENT_TYP)


# ---- the cases ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hostile:
    """One hostile input against one entry point, and the code that entry point must give."""

    name: str
    entry: str
    code: str
    attack: str
    make: Callable[[], bytes]


CASES: tuple[Hostile, ...] = (
    Hostile("trust-empty-maps", "verify_trust_list", "E_TRUST_THRESHOLD",
            "4 MiB trust list of 4 million empty maps, signed by an outsider", trust_empty_maps),
    Hostile("trust-empty-maps", "trust_inspect", "E_SIZE",
            "the same list inspected without signatures: over the item budget", trust_empty_maps),
    Hostile("trust-at-item-budget", "verify_trust_list", "E_TRUST_THRESHOLD",
            "a trust list of empty maps just inside the item budget", trust_at_item_budget),
    Hostile("trust-at-item-budget", "trust_inspect", "E_SIZE",
            "the same list inspected: decoded (the budget's worth), then too many participants", trust_at_item_budget),
    Hostile("trust-deep-nesting", "verify_trust_list", "E_TRUST_THRESHOLD",
            "an extension holding 100,000 nested arrays", trust_deep_nesting),
    Hostile("trust-deep-nesting", "trust_inspect", "E_CBOR",
            "the same list inspected: deeper than the payload's depth limit", trust_deep_nesting),
    Hostile("trust-many-signatures", "verify_trust_list", "E_SIZE",
            "an envelope of 4 million empty byte strings", trust_many_signatures),
    Hostile("trust-unprotected-bomb", "verify_trust_list", "E_SIZE",
            "a signature whose unprotected header is a map of 400,000 entries", trust_unprotected_bomb),
    Hostile("trust-huge-declared-length", "verify_trust_list", "E_CBOR",
            "a byte string declaring 2**62 bytes", trust_huge_declared_length),
    Hostile("policy-empty-maps", "verify_policy", "E_POLICY_AUTHORITY",
            "4 MiB policy of 4 million empty maps, signed by an outsider", policy_empty_maps),
    Hostile("policy-empty-maps", "policy_inspect", "E_SIZE",
            "the same policy inspected: over the item budget", policy_empty_maps),
    Hostile("bundle-header-tiny-items", "verify_bundle", "E_SIZE",
            "a 1 MiB bundle header of a million empty byte strings", bundle_header_tiny_items),
    Hostile("bundle-header-many-keys", "verify_bundle", "E_HEADER_MISMATCH",
            "a bundle header shipping 10,000 valid keys for one event", bundle_header_many_keys),
    Hostile("bundle-header-deep", "verify_bundle", "E_CBOR",
            "a bundle header of 40,000 nested arrays", bundle_header_deep),
    Hostile("bundle-item-huge-length", "verify_bundle", "E_SIZE",
            "an event item declaring 2**62 bytes", bundle_item_huge_length),
    Hostile("event-array-head", "parse_event", "E_CBOR",
            "an event payload whose array declares 2**32 members", event_array_head),
)  # fmt: skip


def build(name: str) -> bytes:
    """Return the bytes of the hostile input ``name``."""
    for case in CASES:
        if case.name == name:
            return case.make()
    raise KeyError(name)


def _producer(pid: str, name: str, key: op.PublicKey, **claims: object) -> Participant:
    window = ParticipantKey(key=key, not_before=_ISSUED, not_after=_EXPIRES)
    return Participant(id=pid, name=name, role="producer", keys=(window,), **claims)  # type: ignore[arg-type]


def trusted() -> VerifiedTrustList:
    """A small genuine trust list of the pinned authority (policies are checked against it)."""
    draft = _draft((_producer("htx", "HTX Nông nghiệp Nghi Sơn", PRODUCER.public_key),))
    return verify_trust_list(sign_trust_list(draft, [AUTHORITY]), ANCHOR, now=NOW)


def honest_trust_list(participants: int) -> bytes:
    """An honest trust list signed by the authority: each participant with one key, a commune and a GS1 prefix."""
    people = tuple(
        _producer(
            f"p{i:05d}",
            f"Hợp tác xã Nông nghiệp số {i}",
            op.PrivateKey.from_seed(hashlib.sha256(b"honest %d" % i).digest()).public_key,
            admin_code="16840",
            commune="Phường Nghi Sơn",
            province="Thanh Hóa",
            gs1_prefixes=(f"893{i:05d}",),
        )
        for i in range(participants)
    )
    return sign_trust_list(_draft(people), [AUTHORITY])


def judge(entry: str, data: bytes, trust: VerifiedTrustList | None = None) -> str:
    """Run ``entry`` on ``data`` and return the error code it raised ("OK" if it accepted)."""
    try:
        if entry == "verify_trust_list":
            verify_trust_list(data, ANCHOR, now=NOW)
        elif entry == "trust_inspect":
            TrustList.parse_unverified(data)
        elif entry == "verify_policy":
            verify_policy(data, trust or trusted(), now=NOW)
        elif entry == "policy_inspect":
            Policy.parse_unverified(data)
        elif entry == "verify_bundle":
            op.verify_bundle(io.BytesIO(data), op.VerifyOptions(keys=op.KeyRing.of([PRODUCER.public_key]), now=NOW),
                             root=op.ANY_BATCH)  # fmt: skip
        elif entry == "parse_event":
            parse_unverified_event(data)
        else:
            raise ValueError(f"unknown entry {entry}")
    except op.ProvenanceError as e:
        return str(e.code)
    return "OK"


def main(argv: list[str]) -> int:
    """Write every hostile input to the directory ``argv[0]`` as NAME.bin."""
    if len(argv) != 1:
        print("usage: python -m tests.hostile.generate DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name in dict.fromkeys(c.name for c in CASES):
        data = build(name)
        (out / f"{name}.bin").write_bytes(data)
        print(f"{name}.bin  {len(data):>9} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
