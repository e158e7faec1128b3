"""The JavaScript verifier (portal/ocop_portal/static/js) agrees with the Python library, case by case.

Every case below is judged twice: by the Python library (tests/js/cases.py) and by the JavaScript modules in one
Node process (tests/js/run_cases.mjs). The verdicts (OK, or the error code) must be equal, and for chains and bundles
so must the place of the failure (position in the input, batch, seq). The cases: 200 seeded single-bit mutations of
a realistic bundle, single-bit mutations of a sealed URL (alone and with the bundle), of the OCOP1: text form, of the
OCOP URL form and of two trust lists, seeded random CBOR for the strict decoder (also under small item budgets),
event payloads whose fields are replaced by near-miss values (times, quantities, GTINs, text, nulls, wrong types),
and the near misses of tests/js/near_misses.py: event times and quantities, trust-list payloads signed again, genesis
claims in audits and seals, chains verified with a trust list, and the item budgets of trust lists and headers; what
the consumer page does (200 single-bit mutations of the bundle audited with a trust list verified from pinned
authority keys, and mutated sealed URLs checked with both); and every committed vector of tests/vectors.
Node.js 20 or newer is required: without it these tests fail, they do not skip.
"""

from __future__ import annotations

import functools
import json
import random
import shutil
import subprocess
import unicodedata
from collections import Counter
from collections.abc import Callable
from itertools import cycle
from pathlib import Path
from typing import Any

import cbor2
import pytest

from tests.conftest import external_vectors
from tests.js import casefold_table, generate, near_misses, scenario
from tests.js.cases import Case, Where, bit_flips, python_outcome, text_flips
from tests.js.near_misses import det, edit_text, event_bytes

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NOW = scenario.NOW.isoformat()


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js 20+ is needed to test the JavaScript verifier (install nodejs); it is not on PATH")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 20:
        pytest.fail(f"Node.js 20+ is needed to test the JavaScript verifier, found {version}")
    return node


def run_js(cases: list[Case]) -> list[tuple[str, Where]]:
    """Judge ``cases`` with the JavaScript verifier (one Node process): each case's code and where it failed."""
    out = subprocess.run(
        [_node(), "--max-old-space-size=2048", str(HERE / "run_cases.mjs")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    outcomes = json.loads(out.stdout)
    assert len(outcomes) == len(cases)
    return [(str(code), where) for code, where in outcomes]


# ---- the cases ----------------------------------------------------------------------------------------------


def _cbor_cases(count: int, seed: int) -> list[Case]:
    """Random CBOR items (near the data model, with keys that collide and floats), then byte-level edits."""
    rng = random.Random(seed)
    keys = [
        b"\x01",
        b"\xf5",
        b"\xf9\x3c\x00",
        b"\xe1",
        b"\x61a",
        b"\x41a",
        b"\x81\x01",
        b"\xa1\x01\x01",
        b"\x00",
        b"\xf4",
        b"\xe0",
        b"\xf6",
        b"\xf7",
        b"\x20",
        b"\x18\x18",
        b"\x02",
        b"\xf8\x20",
        b"\x18\x20",
        b"\x62ee",
    ]
    atoms = [
        b"\x00",
        b"\x17",
        b"\x18\x18",
        b"\x19\x01\x00",
        b"\x1b" + bytes(8),
        b"\x3b" + bytes([0xFF] * 8),
        b"\x3b\x7f" + bytes([0xFF] * 7),
        b"\x40",
        b"\x43abc",
        b"\x60",
        b"\x63\xc3\xa9a",
        b"\x63e\xcc\x81",
        b"\x63\xef\xbb\xbf",
        b"\xf4",
        b"\xf5",
        b"\xf6",
        b"\xf7",
        b"\xe0",
        b"\xf8\x20",
        b"\xf9\x7e\x00",
        b"\xfa\x3f\x80\x00\x00",
        b"\xc0\x00",
        b"\x5f\xff",
        b"\x62\xed\xa0",
    ]

    def item(depth: int) -> bytes:
        r = rng.random()
        if depth > 3 or r < 0.4:
            return rng.choice(atoms)
        n = rng.randrange(4)
        if r < 0.7:
            return bytes([0x80 + n]) + b"".join(item(depth + 1) for _ in range(n))
        return bytes([0xA0 + n]) + b"".join(
            (rng.choice(keys) if rng.random() < 0.7 else item(depth + 1)) + item(depth + 1) for _ in range(n)
        )

    cases = []
    for _ in range(count):
        data = bytearray(item(0))
        for _ in range(rng.choice((0, 1, 1, 2))):
            if not data:
                break
            i = rng.randrange(len(data))
            op_ = rng.random()
            if op_ < 0.5:
                data[i] ^= 1 << rng.randrange(8)
            elif op_ < 0.7:
                del data[i]
            else:
                data.insert(i, rng.randrange(256))
        if data:
            cases.append({"kind": "cbor", "input": bytes(data).hex(), "max_depth": rng.choice((1, 2, 3, 4, 8))})
    return cases


def _near_misses(value: Any, rng: random.Random) -> Any:
    """A value close to ``value``: another spelling, a type confusion, or a small edit."""
    if isinstance(value, str) and rng.random() < 0.7:
        return edit_text(value, rng, "0123456789-:+TZW.,_ xé\u00a0\u2003١\x00\x1b\u200b\ufeff")
    return rng.choice(
        [
            None,
            True,
            0,
            3,
            6,
            2**63,
            -(2**63),
            -1,
            "",
            " ",
            "012",
            "12.50",
            "1e3",
            "8931234567897",
            "08931234567897",
            "2020-W53-4",
            "20201230xx",
            "2025-05-02T08:00:00Z",
            "2025-05-02 08:00:00+07:00",
            b"\x00" * 32,
            b"x",
            [],
            {},
            [1],
            {0: "x"},
            "ocop:drying",
            "ab",
            "a" * 257,
            "x/y",
            "image/PNG",
        ]
    )


def _payload_cases(count: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    s = scenario.build()
    bases = [cbor2.loads(e.payload) for e in (*s.dried[:3], s.fresh[0])]
    cases = []
    for _ in range(count):
        payload = json.loads(json.dumps(rng.choice(bases), default=lambda b: {"__bytes__": b.hex()}))
        m: Any = _restore(payload)
        # walk down to a random member and change it (or drop it)
        parent, key = m, rng.choice(list(m))
        while isinstance(parent[key], (dict, list)) and parent[key] and rng.random() < 0.7:
            parent = parent[key]
            key = rng.choice(list(parent)) if isinstance(parent, dict) else rng.randrange(len(parent))
        if isinstance(parent, dict) and rng.random() < 0.08:
            del parent[key]
        else:
            parent[key] = _near_misses(parent[key], rng)
        cases.append({"kind": "event", "input": event_bytes(det(m)).hex()})
    return cases


def _restore(v: Any) -> Any:
    """Undo the JSON round trip of _payload_cases: integer labels and byte strings come back."""
    if isinstance(v, dict):
        if set(v) == {"__bytes__"}:
            return bytes.fromhex(v["__bytes__"])
        return {(int(k) if k.lstrip("-").isdigit() else k): _restore(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_restore(x) for x in v]
    return v


def _public_vector_cases() -> list[Case]:
    """Ed25519 (CCTV, Wycheproof, speccheck) and dCBOR vectors, vendored in tests/external/vectors."""
    cases: list[Case] = [
        {"kind": "signature", "key": v["key"], "sig": v["sig"], "msg": v["msg"].encode().hex()}
        for v in external_vectors("cctv_ed25519vectors.json")
    ]
    cases += [
        {"kind": "signature", "key": v["pub_key"], "sig": v["signature"], "msg": v["message"]}
        for v in external_vectors("speccheck_cases.json")
    ]
    for group in external_vectors("wycheproof_ed25519_test.json")["testGroups"]:
        cases += [
            {"kind": "signature", "key": group["publicKey"]["pk"], "sig": t["sig"], "msg": t["msg"]}
            for t in group["tests"]
        ]
    for name in ("dcbor_valid.json", "dcbor_invalid.json"):
        cases += [{"kind": "cbor", "input": v["hex"], "max_depth": 8} for v in external_vectors(name)]
    return cases


@functools.cache
def _mutation_cases() -> dict[str, Callable[[], list[Case]]]:
    """Each group's cases, built when its test asks for them (some groups take a second to build)."""
    s = scenario.build()
    everyone = scenario.public_hex(*scenario.KEY_NAMES)
    pin = {"keys": scenario.public_hex("authority1", "authority2"), "threshold": 2}
    single = {"keys": scenario.public_hex("authority1"), "threshold": 1}
    return {
        "bundle": lambda: [
            {"kind": "bundle", "bundle": d.hex(), "trusted": everyone, "now": NOW}
            for _, d in bit_flips(s.bundle, 200, 1)
        ],
        "seal url": lambda: [
            {"kind": "seal", "text": t, "trusted": everyone, "now": NOW} for _, t in text_flips(s.seal_url, 100, 2)
        ],
        "seal url with bundle": lambda: [
            {"kind": "seal", "text": t, "trusted": everyone, "bundle": s.bundle.hex(), "now": NOW}
            for _, t in text_flips(s.seal_url, 100, 3)
        ],
        "seal text": lambda: [
            {"kind": "seal", "text": t, "trusted": everyone, "now": NOW} for _, t in text_flips(s.seal_text, 100, 4)
        ],
        "seal ocop url": lambda: [
            {"kind": "seal", "text": t, "trusted": everyone, "now": NOW} for _, t in text_flips(s.seal_ocop_url, 50, 5)
        ],
        "trust list": lambda: [
            {"kind": "trust", "trust": d.hex(), "authority": pin, "now": NOW} for _, d in bit_flips(s.trust_v1, 100, 6)
        ],
        "single-signature trust list": lambda: [
            {"kind": "trust", "trust": d.hex(), "authority": single, "now": NOW}
            for _, d in bit_flips(s.trust_single, 200, 7)
        ],
        "cbor": lambda: _cbor_cases(2000, 8),
        "cbor item budget": lambda: [
            {**c, "max_items": n} for c, n in zip(_cbor_cases(1000, 10), cycle((1, 2, 3, 5, 8)))
        ],
        "event payload": lambda: _payload_cases(600, 9),
        "event time": lambda: near_misses.time_cases(400, 11),
        "event quantity": lambda: near_misses.quantity_cases(200, 12),
        "trust payload": lambda: near_misses.trust_payload_cases(400, 13),
        "claims": lambda: near_misses.claims_cases(60, 14),
        "chain with trust list": lambda: near_misses.chain_trust_cases(60, 15),
        "bundle locations": lambda: [
            {"kind": "chain", "events": [e.hex() for e in events], "trusted": everyone, "now": NOW}
            for events in _chain_edits(s, 60, 16)
        ],
        "item budgets": near_misses.bound_cases,
        "public vectors": _public_vector_cases,
        "corrected bundle": lambda: _corrected_bundle_cases(200, 17),
        "correction payload": lambda: _correction_payload_cases(300, 18),
        # What the consumer page does in the browser (static/js/page.js): the bundle audited with the trust list
        # verified from the pinned authority keys, and the seal checked with both.
        "bundle with trust list": lambda: [
            {"kind": "bundle_trust", "bundle": d.hex(), "trust": s.trust_v1.hex(), "authority": pin, "now": NOW}
            for _, d in bit_flips(s.bundle, 200, 19)
        ],
        "seal url with bundle and trust list": lambda: [
            {
                "kind": "seal",
                "text": t,
                "trust": s.trust_v1.hex(),
                "authority": pin,
                "bundle": s.bundle.hex(),
                "now": NOW,
            }
            for _, t in text_flips(s.seal_url, 100, 20)
        ],
        "committed vectors": _committed_vector_cases,
    }


def _committed_vector_cases() -> list[Case]:
    """Every committed vector of tests/vectors that a verifier judges: invalid.json, the bundle and the chains."""
    invalid = json.loads((ROOT / "tests" / "vectors" / "invalid.json").read_text(encoding="utf-8"))
    bundle = json.loads((ROOT / "tests" / "vectors" / "bundle.json").read_text(encoding="utf-8"))["bundle"]
    events = json.loads((ROOT / "tests" / "vectors" / "events.json").read_text(encoding="utf-8"))
    key_of = {k["name"]: k["public_key"] for k in _VECTOR_KEYS}
    everyone = list(key_of.values())
    now = invalid["now"]
    cases: list[Case] = []
    for v in invalid["vectors"]:
        trusted = [key_of[n] for n in v.get("trusted", key_of)]
        if v["kind"] == "chain":
            cases.append(
                {"kind": "chain", "events": v["input"], "trusted": trusted, "batch_id": v.get("batch_id"), "now": now}
            )
        elif v["kind"] == "bundle":
            cases.append({"kind": "bundle", "bundle": v["input"], "trusted": trusted, "now": now})
        else:
            cases.append({"kind": v["kind"], "input": v["input"]})
    cases.append({"kind": "bundle", "bundle": bundle["file"], "trusted": everyone, "now": now})
    cases.append({"kind": "bundle", "bundle": _CORRECTIONS["bundle"], "trusted": everyone, "now": now})
    for b in events["batches"]:
        chain = [e["cose"] for e in b["events"]]
        cases.append({"kind": "chain", "events": chain, "trusted": everyone, "batch_id": b["batch_id"], "now": now})
    return cases


_CORRECTIONS = json.loads((ROOT / "tests" / "vectors" / "corrections.json").read_text(encoding="utf-8"))
_VECTOR_KEYS = json.loads((ROOT / "tests" / "vectors" / "events.json").read_text(encoding="utf-8"))["keys"]


def _corrected_bundle_cases(count: int, seed: int) -> list[Case]:
    """Single-bit mutations of the corrections vector's bundle (docs/format.md §19): corrections and what they name."""
    bundle = bytes.fromhex(_CORRECTIONS["bundle"])
    trusted = [k["public_key"] for k in _VECTOR_KEYS]
    now = json.loads((ROOT / "tests" / "vectors" / "invalid.json").read_text(encoding="utf-8"))["now"]
    return [
        {"kind": "bundle", "bundle": d.hex(), "trusted": trusted, "now": now} for _, d in bit_flips(bundle, count, seed)
    ]


def _correction_payload_cases(count: int, seed: int) -> list[Case]:
    """Correction events whose declaration, seq, step, inputs or data are replaced by near-miss values."""
    rng = random.Random(seed)
    events = [bytes.fromhex(v["cose"]) for v in _CORRECTIONS["batches"][0]["events"]]
    bases = [cbor2.loads(cbor2.loads(raw).value[2]) for raw in events[3:5]]  # the two corrections
    cases = []
    for _ in range(count):
        m: Any = _restore(json.loads(json.dumps(rng.choice(bases), default=lambda b: {"__bytes__": b.hex()})))
        target = rng.random()
        if target < 0.6:  # a member of the declaration
            declaration = m[13]
            key = rng.choice([0, 1, 2, 3, 4])
            if key in declaration and rng.random() < 0.15:
                del declaration[key]
            elif key == 3 and rng.random() < 0.5:
                declaration[3] = rng.choice([{}, {"moisture_pct": 11}, {"moisture_pct": 1.5}, {"b": 1, "a": True}])
            else:
                declaration[key] = _near_misses(declaration.get(key), rng)
        elif target < 0.75:
            m[13] = _near_misses(m[13], rng)
        elif target < 0.85:
            m[rng.choice([2, 5])] = rng.choice([1, 2, 3, 4097, 5000, "ocop:correcting", "inspecting", "packing"])
        else:
            m[rng.choice([7, 9])] = rng.choice([[{0: b"\x01" * 32, 1: 0, 2: b"\x01" * 32}], {"x": 1}, [], {}])
        cases.append({"kind": "event", "input": event_bytes(det(m)).hex()})
    return cases


Outcome = tuple[str, Where]
GROUPS = [
    "bundle",
    "seal url",
    "seal url with bundle",
    "seal text",
    "seal ocop url",
    "trust list",
    "single-signature trust list",
    "cbor",
    "cbor item budget",
    "event payload",
    "event time",
    "event quantity",
    "trust payload",
    "claims",
    "chain with trust list",
    "bundle locations",
    "item budgets",
    "public vectors",
    "corrected bundle",
    "correction payload",
    "bundle with trust list",
    "seal url with bundle and trust list",
    "committed vectors",
]
# Groups whose inputs reach few rules by construction: how many distinct codes each must show at least.
# (event time: every text outside the profile is E_FIELD, so OK, E_FIELD and E_SCHEMA are all there is.)
FEWER_CODES = {"trust list": 2, "event quantity": 3, "item budgets": 3, "event time": 3}


def _chain_edits(s: scenario.Scenario, count: int, seed: int) -> list[list[bytes]]:
    """The root batch's chain with an event dropped, repeated, swapped or taken from the input batch."""
    rng = random.Random(seed)
    chain = [e.raw for e in s.dried]
    out = []
    for _ in range(count):
        events = list(chain)
        i, j = rng.randrange(len(events)), rng.randrange(len(events))
        edit = rng.randrange(4)
        if edit == 0:
            del events[i]
        elif edit == 1:
            events.insert(i, events[j])
        elif edit == 2:
            events[i], events[j] = events[j], events[i]
        else:
            events.insert(i, rng.choice(s.fresh).raw)
        out.append(events)
    return out


def _verdicts(group: str) -> list[tuple[Case, Outcome, Outcome]]:
    cases = _mutation_cases()[group]()
    return [(c, python_outcome(c), js) for c, js in zip(cases, run_js(cases), strict=True)]


@pytest.mark.parametrize("group", GROUPS)
def test_verdicts_agree(group: str) -> None:
    results = _verdicts(group)
    disagree = [(c, py, js) for c, py, js in results if py[0] != js[0]]
    assert not disagree, (
        f"{len(disagree)} of {len(results)} differ, first: python {disagree[0][1]}, js {disagree[0][2]}"
    )
    # chains and bundles: the failure is placed alike (position in the input, batch and seq)
    misplaced = [(c, py, js) for c, py, js in results if py[1] != js[1]]
    assert not misplaced, f"{len(misplaced)} placed differently, first: python {misplaced[0][1]}, js {misplaced[0][2]}"
    # the mutations reach more than one rule (a test that only ever saw one code could not tell much)
    assert len(Counter(py[0] for _, py, _ in results)) >= FEWER_CODES.get(group, 4)


def test_fixtures_are_fresh() -> None:
    assert (HERE / "fixtures.json").read_bytes() == generate.build(), "stale: run python -m tests.js.generate"


def test_fixture_verdicts_agree() -> None:
    doc = json.loads((HERE / "fixtures.json").read_text(encoding="utf-8"))
    cases = [generate.resolve(c, doc["blobs"]) for c in doc["cases"]]
    assert [code for code, _ in run_js(cases)] == [c["expected"] for c in cases]


def test_names_fold_as_in_python() -> None:
    """casefold.js and the JavaScript's lowercasing fold every character this Python knows as str.casefold does."""
    known = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn"]
    script = (
        'import { casefold } from "./portal/ocop_portal/static/js/fields.js";'
        'let s = ""; for await (const chunk of process.stdin) s += chunk;'
        "const out = []; for (const c of JSON.parse(s)) out.push(casefold(String.fromCodePoint(c)));"
        "process.stdout.write(JSON.stringify(out));"
    )
    out = subprocess.run(
        [_node(), "--input-type=module", "-e", script],
        input=json.dumps(known),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    folded = json.loads(out.stdout)
    wrong = [f"U+{c:04X}" for c, f in zip(known, folded, strict=True) if chr(c).casefold() != f]
    assert not wrong, f"{len(wrong)} characters fold differently, first {wrong[:10]}"


@pytest.mark.skipif(unicodedata.unidata_version != "14.0.0", reason="casefold.js holds Unicode 14.0.0 (Python 3.11)")
def test_casefold_table_is_fresh() -> None:
    assert casefold_table.OUT.read_text(encoding="utf-8") == casefold_table.build(), (
        "stale: run python -m tests.js.casefold_table"
    )
