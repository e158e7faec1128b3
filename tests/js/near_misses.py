"""Cases one edit away from valid, where the reference's rules are most particular, for test_js_agrees.py.

Each function returns cases in the shape of tests/js/cases.py, built from fixed seeds: event times against the
RFC 3339 profile of docs/format.md §7.4; quantities against the §7.6 rule and its magnitude bound; trust-list
payloads edited and signed again by the authority (signatures are checked before a payload is decoded, so only a
validly signed payload reaches the decoder's rules); genesis claims against the trust list, in audits and in seals;
chains verified with a trust list's key windows; and the CBOR item budgets of trust lists and bundle headers.
"""

from __future__ import annotations

import copy
import io
import random
from datetime import date, datetime
from typing import Any

import cbor2
import ocop_provenance as op
from ocop_provenance import _cbor
from ocop_provenance.events import BundleReader, append_step, open_batch
from ocop_provenance.seals import make_seal
from ocop_provenance.trust import TRUST_TYP, parse_unverified_document, sign_document

from tests.js import scenario
from tests.js.cases import Case, bit_flips

NOW = scenario.NOW.isoformat()
V1_PIN = {"keys": scenario.public_hex("authority1", "authority2"), "threshold": 2}
AUTHORITY = [scenario.KEYS["authority1"], scenario.KEYS["authority2"]]


def det(value: Any) -> bytes:
    """Deterministic CBOR built with cbor2 (maps sorted by encoded key), whatever the values are."""

    def canon(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: canon(v[k]) for k in sorted(v, key=cbor2.dumps)}
        if isinstance(v, list):
            return [canon(x) for x in v]
        return v

    return cbor2.dumps(canon(value))


def event_bytes(payload: bytes) -> bytes:
    """A COSE_Sign1 event around ``payload``, validly signed by the producer (whatever the payload holds)."""
    signer = scenario.KEYS["producer"]
    protected = det({1: -8, 4: signer.key_id, 16: "application/ocop-event+cbor"})
    signature = signer.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))


def edit_text(text: str, rng: random.Random, alphabet: str) -> str:
    """``text`` with one or two characters replaced, deleted or inserted."""
    chars = list(text)
    for _ in range(rng.choice((1, 1, 2))):
        i = rng.randrange(len(chars) + 1)
        edit = rng.random()
        if edit < 0.4 and chars:
            chars[min(i, len(chars) - 1)] = rng.choice(alphabet)
        elif edit < 0.6 and chars:
            del chars[min(i, len(chars) - 1)]
        else:
            chars.insert(i, rng.choice(alphabet))
    return "".join(chars)


# ---- event times and quantities -----------------------------------------------------------------------------

TIMES = [
    "2025-05-02T08:00:00+07:00",
    "2025-05-02T08:00:00.250000+07:00",
    "2025-05-02T08:00:00.000001-03:30",
    "2025-05-02T08:00:00+00:00",
    "2025-05-02T08:00:00Z",
    "2025-05-02T08:00:00-00:00",
    "2025-05-02T08:00:00.000000+07:00",
    "2025-05-02T08:00:00.25+07:00",
    "2025-05-02T08:00:00.2500000+07:00",
    "2025-05-02T08:00:00,250000+07:00",
    "2025-05-02T08:00+07:00",
    "2025-05-02T08:00:00",
    "2025-05-02t08:00:00+07:00",
    "2025-05-02 08:00:00+07:00",
    "20250502T080000+0700",
    "2025-W18-5T08:00:00+07:00",
    "2025-05-02T08:00:00+0700",
    "2025-05-02T08:00:00+07",
    "2025-05-02T08:00:00+07:60",
    "2025-05-02T08:00:00-00:60",
    "2025-05-02T08:00:00+23:59",
    "2025-05-02T08:00:00+23:60",
    "2025-05-02T08:00:00+24:00",
    "2025-05-02T08:00:00+99:00",
    "2025-05-02T24:00:00+07:00",
    "2025-05-02T23:59:60+07:00",
    "2025-05-02T08:60:00+07:00",
    "2025-02-29T08:00:00+07:00",
    "2024-02-29T08:00:00+07:00",
    "2025-13-01T08:00:00+07:00",
    "2025-00-10T08:00:00+07:00",
    "2025-04-31T08:00:00+07:00",
    "1969-12-31T23:59:59+00:00",
    "1970-01-01T00:00:00+00:00",
    "1970-01-01T06:59:59+07:00",
    "0999-05-02T08:00:00+07:00",
    "0000-05-02T08:00:00+07:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59+14:00",
    "２０２５-05-02T08:00:00+07:00",
    "2025-05-02T08:00:00+07:00\n",
    "\u00a02025-05-02T08:00:00+07:00",
    "2025-05-02T08:00:00.123456789+07:00",
    "2025-05-02T08:00:00.12345x+07:00",
    "2025-05-02T08:00:00+07:00" + "0" * 20,
]

QUANTITIES = [
    "0",
    "12.5",
    "12.50",
    "012",
    "1e3",
    "1E3",
    "1e1000000",
    "1e-1000000",
    "1e999999999999999999",
    "1e1000000000000000000",
    "0e1000000000000000000",
    "0e999999999999999999",
    "1e30",
    "1e29",
    "9e-30",
    "1e-30",
    "1e-31",
    "0.000000001",
    "0.0000000001",
    "999999999999999999",
    "1000000000000000000",
    "999999999999999999.999999999",
    "0.1000000000000000000000000000001",
    "1" + "0" * 63,
    "1" + "0" * 64,
    " " * 60 + "12",
    " " * 63 + "12",
    "-0",
    "-1",
    "+1",
    ".5",
    "5.",
    "1_000",
    "١٢",
    "NaN",
    "Infinity",
    "1e",
    "",
]


def _event_payloads() -> list[dict[int, Any]]:
    s = scenario.build()
    return [cbor2.loads(e.payload) for e in (*s.dried[:3], s.fresh[0], s.dried[0])]


def time_cases(count: int, seed: int) -> list[Case]:
    """Event payloads whose time is a listed near miss, or one edited at one or two characters."""
    rng = random.Random(seed)
    bases = _event_payloads()
    cases = []
    for i in range(count):
        m = copy.deepcopy(rng.choice(bases))
        t = TIMES[i] if i < len(TIMES) else edit_text(rng.choice(TIMES[:4]), rng, "0123456789-:+.TZ ,t")
        m[4] = t
        cases.append({"kind": "event", "input": event_bytes(det(m)).hex()})
    return cases


def quantity_cases(count: int, seed: int) -> list[Case]:
    """Genesis payloads whose product quantity is a listed near miss, an edited one, or an integer."""
    rng = random.Random(seed)
    geneses = [m for m in _event_payloads() if m[2] == 0]
    cases = []
    for i in range(count):
        m = copy.deepcopy(rng.choice(geneses))
        if i < len(QUANTITIES):
            q: Any = QUANTITIES[i]
        elif rng.random() < 0.15:
            q = rng.choice((0, 12, 10**18, 2**63 - 1, -1))
        else:
            q = edit_text(rng.choice(("85.25", "9.6", "1e3", "0.5")), rng, "0123456789.eE+-_ ")
        m[10][2] = q
        cases.append({"kind": "event", "input": event_bytes(det(m)).hex()})
    return cases


# ---- trust-list payloads, signed again ----------------------------------------------------------------------

_TRUST_VALUES: list[Any] = [
    None,
    True,
    0,
    1,
    2,
    3,
    2**63 - 1,
    2**63,
    -1,
    "",
    " ",
    "\u0085",
    "x" * 257,
    "2025-01-01T00:00:00Z",
    "2024-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "0999-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2025-02-29T00:00:00Z",
    "2025-01-01T24:00:00Z",
    "2025-01-01T00:00:00+00:00",
    "2025-01-01 00:00:00Z",
    "producer",
    "processor",
    "lab",
    "admin",
    "active",
    "retired",
    "revoked",
    "Active",
    "nghi-son",
    "Nghi-Son",
    "8931234",
    "893",
    "8931234567890",
    "0893",
    "16840",
    "38",
    "1",
    "12345678901",
    "8931234500009",
    "8931234500008",
    "893123450000",
    ["8931234"],
    ["8931234", "8931234"],
    ["8935678", "8931234"],
    ["893", "8931234"],
    ["8931234500016", "8931234500009"],
    ["8931234500008"],
    ["38", "16840"],
    ["3"],
    [],
    [1],
    {},
    {0: "x"},
    b"\x00" * 32,
    b"x",
    "Công ty TNHH Nông nghiệp Nghi Sơn",
    "Xã Quảng Phú",
]


def _mutate(m: Any, rng: random.Random) -> None:
    """Edit one member somewhere in ``m`` (mostly in a participant): replace, delete or add it, reorder a list."""
    parent, key = m, 6 if rng.random() < 0.6 else rng.choice(list(m))
    while isinstance(parent[key], (dict, list)) and parent[key] and rng.random() < 0.75:
        parent = parent[key]
        key = rng.choice(list(parent)) if isinstance(parent, dict) else rng.randrange(len(parent))
    r = rng.random()
    if isinstance(parent, dict) and r < 0.1:
        del parent[key]
    elif isinstance(parent, dict) and r < 0.25:
        parent[rng.randrange(12)] = rng.choice(_TRUST_VALUES)
    elif isinstance(parent, list) and r < 0.35:
        if rng.random() < 0.5:
            parent.reverse()
        else:
            parent.append(copy.deepcopy(parent[key]))
    elif isinstance(parent[key], str) and r < 0.6:
        parent[key] = edit_text(parent[key], rng, "0123456789-:TZ. xé\u00a0\u2003\x1b")
    else:
        parent[key] = copy.deepcopy(rng.choice(_TRUST_VALUES))


def trust_payload_cases(count: int, seed: int) -> list[Case]:
    """The test list's payload with one member edited, signed again by its authority (so the decoder decides)."""
    rng = random.Random(seed)
    s = scenario.build()
    base = cbor2.loads(parse_unverified_document(s.trust_v1, typ=TRUST_TYP).payload)
    cases = []
    for _ in range(count):
        m = copy.deepcopy(base)
        _mutate(m, rng)
        signed = sign_document(det(m), AUTHORITY, TRUST_TYP)
        cases.append({"kind": "trust", "trust": signed.hex(), "authority": V1_PIN, "now": NOW})
    return cases


# ---- who may claim what ---------------------------------------------------------------------------------------

_NAMES = [
    "Công ty TNHH Nông nghiệp Nghi Sơn",
    "CÔNG TY TNHH NÔNG NGHIỆP NGHI SƠN",
    " Công  ty TNHH\u3000Nông nghiệp\u00a0Nghi Sơn ",
    "Công ty TNHH Nông nghiệp Nghi Sơn\u200b",
    "Cong ty TNHH Nong nghiep Nghi Son",
    "Hợp tác xã Quảng Phú",
    "HỢP TÁC XÃ QUẢNG PHÚ",
    "Hợp tác xã Quảng\u2003Phú",
    "Trung tâm Kiểm nghiệm Thanh Hóa",
    "Xưởng sấy Nghi Sơn",
]
_CLAIMS: dict[str, list[Any]] = {
    "admin_code": [None, None, "16840", "16000", "38", "99"],
    "gln": [None, None, "8931234500009", "8931234500016", "8931234500023"],
    "gtin": [None, "8931234567897", "08931234567897", "8935678000002", "89312346"],
}


def claims_cases(count: int, seed: int) -> list[Case]:
    """One-event batches whose genesis claims vary, signed by various listed keys: audited, and sealed."""
    rng = random.Random(seed)
    trust = {"trust": scenario.build().trust_v1.hex(), "authority": V1_PIN, "now": NOW}
    cases = []
    for _ in range(count):
        signer = scenario.KEYS[rng.choice(("producer", "producer", "farm", "lab", "processor", "retired"))]
        genesis = open_batch(
            op.Genesis(
                time=datetime(2025, 5, 2, 8, 0, tzinfo=scenario.ICT),
                product=op.Product(
                    name="Mật ong hoa nhãn", lot="MO-2505", quantity="40", unit="lít", gtin=rng.choice(_CLAIMS["gtin"])
                ),
                producer=op.Producer(
                    name=rng.choice(_NAMES),
                    admin_code=rng.choice(_CLAIMS["admin_code"]),
                    gln=rng.choice(_CLAIMS["gln"]),
                ),
            ),
            signer,
        )
        bundle = scenario.bundle_of([[genesis]])
        cases.append({"kind": "bundle_trust", "bundle": bundle.hex(), **trust})
        seal = make_seal(genesis, genesis, signer, resolver=scenario.RESOLVER, sealed_on=date(2025, 5, 4))
        with_bundle = {"bundle": bundle.hex()} if rng.random() < 0.7 else {}
        cases.append({"kind": "seal", "text": seal.to_url(), **with_bundle, **trust})
    return cases


# ---- chains verified with a trust list --------------------------------------------------------------------------


def chain_trust_cases(count: int, seed: int) -> list[Case]:
    """The root batch's chain verified with the trust list: as signed, with a retired key's step, bit-flipped."""
    s = scenario.build()
    trust = {"trust": s.trust_v1.hex(), "authority": V1_PIN, "now": NOW}
    dried = [e.raw for e in s.dried]
    retired = append_step(
        s.dried[0],
        scenario.KEYS["retired"],
        step="ocop:drying",
        time=datetime(2025, 5, 2, 9, 0, tzinfo=scenario.ICT),
        location=scenario.FACTORY,
    )
    cases: list[Case] = [
        {"kind": "chain", "events": [e.hex() for e in dried], **trust},
        {"kind": "chain", "events": [dried[0].hex(), retired.raw.hex()], **trust},
        {"kind": "chain", "events": [e.hex() for e in dried], "batch_id": s.fresh[0].event_id.hex(), **trust},
        {"kind": "chain", "events": [], **trust},
    ]
    rng = random.Random(seed)
    for _ in range(count):
        events = list(dried)
        i = rng.randrange(len(events))
        _, events[i] = next(bit_flips(events[i], 1, rng.randrange(1 << 30)))
        cases.append({"kind": "chain", "events": [e.hex() for e in events], **trust})
    return cases


# ---- item budgets ---------------------------------------------------------------------------------------------


def _sign_over_budget(payload: bytes) -> bytes:
    """sign_document without the writer's budget check (a signer refuses to sign more than the budget)."""
    from ocop_provenance._cose import sign1

    signed = {key.key_id: sign1(payload, key, TRUST_TYP).raw for key in AUTHORITY}
    return _cbor.encode([signed[k] for k in sorted(signed)])


def bound_cases() -> list[Case]:
    """A trust list at and one over its item budget; a bundle header at and one over its own; small budgets."""
    from ocop_provenance._bundle import MAX_HEADER_ITEMS
    from ocop_provenance._trust import MAX_DOCUMENT_ITEMS

    s = scenario.build()
    base = cbor2.loads(parse_unverified_document(s.trust_v1, typ=TRUST_TYP).payload)
    base_items = _cbor.count_items(det(base), max_items=1 << 40)
    cases: list[Case] = []
    for extra in (0, 1):
        m = {**base, 100: [0] * (MAX_DOCUMENT_ITEMS - base_items - 2 + extra)}  # the label, the array, its zeros
        signed = _sign_over_budget(det(m))
        cases.append({"kind": "trust", "trust": signed.hex(), "authority": V1_PIN, "now": NOW})
    header = cbor2.loads(BundleReader(io.BytesIO(s.bundle)).header.to_bytes())
    header_items = _cbor.count_items(det(header), max_items=1 << 40)
    for extra in (0, 1):
        # keys: one array of zeros instead of byte strings (a malformed header, unless its size stops it first)
        m = {**header, 3: [[0] * (MAX_HEADER_ITEMS - header_items + len(header[3]) - 1 + extra)]}
        h = det(m)
        cases.append(
            {"kind": "bundle", "bundle": (_cbor.encode_bstr_head(len(h)) + h).hex(), "trusted": [], "now": NOW}
        )
    return cases
