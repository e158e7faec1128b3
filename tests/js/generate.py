"""Regenerate tests/js/fixtures.json: seal, trust-list and audited-bundle cases with the Python library's verdicts.

Run ``python -m tests.js.generate`` from the repository root. The committed vectors in tests/vectors/ cover events,
chains and bundles; docs/format.md has none for seals and trust lists, so these cases (built from fixed seeds by
tests/js/scenario.py) give the JavaScript verifier's node tests the same footing. Each case carries ``expected``,
the verdict of the Python library; ``test_js_agrees.py`` checks that the committed file equals a fresh build.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import cbor2

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import ocop_provenance as op
from ocop_provenance._seal import base45_encode
from ocop_provenance.events import SignedEvent, append_step, head_of, open_batch
from ocop_provenance.seals import make_seal
from ocop_provenance.trust import TRUST_TYP, TrustList, parse_unverified_document, sign_trust_list

from tests.js import scenario
from tests.js.cases import Case, python_verdict

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures.json"
NOW = scenario.NOW.isoformat()
V1_PIN = {"keys": scenario.public_hex("authority1", "authority2"), "threshold": 2}


def _variant_with_retired_key(s: scenario.Scenario) -> bytes:
    """The root batch again, its drying step signed with the processor's retired key (after its retirement)."""
    return scenario.bundle_of([_retired_chain(s), s.fresh])


def _retired_chain(s: scenario.Scenario) -> list[SignedEvent]:
    g = s.dried[0]
    dry = append_step(
        g,
        scenario.KEYS["retired"],
        step="ocop:drying",
        time=datetime(2025, 5, 2, 9, 0, tzinfo=scenario.ICT),
        location=scenario.FACTORY,
        inputs=[head_of(s.fresh[-1]).as_input()],
    )
    return [g, dry]


def _signed_by_all(trust: TrustList) -> bytes:
    return sign_trust_list(trust, [scenario.KEYS[a] for a in ("authority1", "authority2", "authority3")])


def _outsider_bundle(s: scenario.Scenario) -> bytes:
    """The root batch's genesis (its claims are its signer's), then a step by a key the trust list does not hold."""
    g = s.dried[0]
    step = append_step(
        g,
        scenario.KEYS["outsider"],
        step="shipping",
        time=datetime(2025, 5, 7, 8, 0, tzinfo=scenario.ICT),
        location=op.Location(name="Kho Hưng Yên"),
    )
    return scenario.bundle_of([[g, step]])


def build_cases() -> list[Case]:
    s = scenario.build()
    everyone = scenario.public_hex(*scenario.KEY_NAMES)
    producer = scenario.public_hex("producer")
    one_signature = sign_trust_list(scenario.trust_list(1, ("authority1", "authority2")), [scenario.KEYS["authority1"]])
    doc = parse_unverified_document(s.trust_v1, typ=TRUST_TYP)
    same_twice = cbor2.dumps([doc.signatures[0].raw, doc.signatures[0].raw])
    digits = s.seal_url.split("?s=")[1]
    altered = s.seal_url.replace(digits, digits[:100] + str((int(digits[100]) + 1) % 10) + digits[101:])
    trust = {"trust": s.trust_v1.hex(), "authority": V1_PIN}
    # a producer's batch under another company's GS1 prefix
    foreign = open_batch(
        op.Genesis(
            time=datetime(2025, 5, 2, 8, 0, tzinfo=scenario.ICT),
            product=op.Product(name="Trà shan tuyết", lot="TS-2505", quantity="50", unit="hộp", gtin="8935678000002"),
            producer=op.Producer(name="Công ty TNHH Nông nghiệp Nghi Sơn", admin_code="16840"),
        ),
        scenario.KEYS["producer"],
    )
    out: list[Case] = [
        # trust lists
        {"name": "trust-ok", "kind": "trust", **trust, "now": NOW},
        {
            "name": "trust-one-of-two-signatures",
            "kind": "trust",
            "trust": one_signature.hex(),
            "authority": V1_PIN,
            "now": NOW,
        },
        {
            "name": "trust-same-signature-twice",
            "kind": "trust",
            "trust": same_twice.hex(),
            "authority": V1_PIN,
            "now": NOW,
        },
        {"name": "trust-expired", "kind": "trust", **trust, "now": "2026-01-01T00:00:00+00:00"},
        {
            "name": "trust-wrong-pins",
            "kind": "trust",
            "trust": s.trust_v1.hex(),
            "authority": {"keys": scenario.public_hex("outsider"), "threshold": 1},
            "now": NOW,
        },
        {
            "name": "trust-rotated",
            "kind": "trust",
            "trust": s.trust_v2.hex(),
            "authority": V1_PIN,
            "intermediates": [s.trust_v1.hex()],
            "now": NOW,
        },
        # an older version signed by the pinned list's authority too (else it fails on signatures, before its
        # version can be read: the next case)
        {
            "name": "trust-rollback",
            "kind": "trust",
            "trust": _signed_by_all(scenario.trust_list(1, ("authority1", "authority2"))).hex(),
            "authority": V1_PIN,
            "pinned": s.trust_v2.hex(),
            "now": NOW,
        },
        {"name": "trust-older-not-signed-by-pinned", "kind": "trust", **trust, "pinned": s.trust_v2.hex(), "now": NOW},
        {
            "name": "trust-conflict",
            "kind": "trust",
            "trust": _signed_by_all(
                replace(scenario.trust_list(2, ("authority2", "authority3")), issuer="Một danh sách khác")
            ).hex(),
            "authority": V1_PIN,
            "pinned": s.trust_v2.hex(),
            "now": NOW,
        },
        {
            "name": "trust-holds-an-event",
            "kind": "trust",
            "trust": cbor2.dumps([s.dried[0].raw]).hex(),
            "authority": V1_PIN,
            "now": NOW,
        },
        # bundles audited with the trust list
        {"name": "bundle-trust-ok", "kind": "bundle_trust", "bundle": s.bundle.hex(), **trust, "now": NOW},
        {
            "name": "bundle-retired-key",
            "kind": "bundle_trust",
            "bundle": _variant_with_retired_key(s).hex(),
            **trust,
            "now": NOW,
        },
        {
            "name": "bundle-signer-not-listed",
            "kind": "bundle_trust",
            "bundle": _outsider_bundle(s).hex(),
            **trust,
            "now": NOW,
        },
        {"name": "bundle-ok", "kind": "bundle", "bundle": s.bundle.hex(), "trusted": everyone, "now": NOW},
        # seals
        {"name": "seal-url", "kind": "seal", "text": s.seal_url, "trusted": producer, "now": NOW},
        {"name": "seal-text", "kind": "seal", "text": s.seal_text, "trusted": producer, "now": NOW},
        {"name": "seal-ocop-url", "kind": "seal", "text": s.seal_ocop_url, "trusted": producer, "now": NOW},
        {
            "name": "seal-url-with-bundle",
            "kind": "seal",
            "text": s.seal_url,
            "trusted": everyone,
            "bundle": s.bundle.hex(),
            "now": NOW,
        },
        {
            "name": "seal-url-with-events",
            "kind": "seal",
            "text": s.seal_url,
            "trusted": everyone,
            "events": [e.raw.hex() for e in s.dried[:4]],
            "now": NOW,
        },
        {
            "name": "seal-trust-with-bundle",
            "kind": "seal",
            "text": s.seal_url,
            **trust,
            "bundle": s.bundle.hex(),
            "now": NOW,
        },
        {
            "name": "seal-ocop-with-bundle",
            "kind": "seal",
            "text": s.seal_ocop_url,
            "trusted": everyone,
            "bundle": s.plain_bundle.hex(),
            "now": NOW,
        },
        {"name": "seal-altered-digit", "kind": "seal", "text": altered, "trusted": producer, "now": NOW},
        {"name": "seal-truncated", "kind": "seal", "text": s.seal_url[:-1], "trusted": producer, "now": NOW},
        {
            "name": "seal-other-batch",
            "kind": "seal",
            "text": s.seal_url,
            "trusted": everyone,
            "bundle": s.plain_bundle.hex(),
            "now": NOW,
        },
        {
            "name": "seal-untrusted-signer",
            "kind": "seal",
            "text": s.seal_url,
            "trusted": scenario.public_hex("lab"),
            "now": NOW,
        },
        {
            "name": "seal-from-the-future",
            "kind": "seal",
            "text": s.seal_url,
            "trusted": producer,
            "now": "2025-05-02T00:00:00+00:00",
        },
        {
            "name": "seal-rolled-back-chain",
            "kind": "seal",
            "text": s.seal_url,
            "trusted": everyone,
            "events": [e.raw.hex() for e in s.dried[:3]],
            "now": NOW,
        },
        {
            "name": "seal-event-as-text",
            "kind": "seal",
            "text": "OCOP1:" + base45_encode(s.dried[0].raw),
            "trusted": producer,
            "now": NOW,
        },
        {
            "name": "seal-wrong-prefix",
            "kind": "seal",
            "text": "OCOP2:" + s.seal_text[6:],
            "trusted": producer,
            "now": NOW,
        },
        {
            "name": "seal-user-info",
            "kind": "seal",
            "text": s.seal_url.replace("://", "://x@"),
            "trusted": producer,
            "now": NOW,
        },
        {
            "name": "seal-key-retired-before-sealing",
            "kind": "seal",
            "text": make_seal(
                s.dried[0], s.dried[3], scenario.KEYS["retired"], resolver=scenario.RESOLVER, sealed_on=date(2025, 5, 4)
            ).to_url(),
            **trust,
            "now": NOW,
        },
        # who may claim and seal what (with a trust list)
        {"name": "bundle-claims-mismatch", "kind": "bundle_trust", "bundle": s.plain_bundle.hex(), **trust, "now": NOW},
        {
            "name": "bundle-gtin-not-owned",
            "kind": "bundle_trust",
            "bundle": scenario.bundle_of([[foreign]]).hex(),
            **trust,
            "now": NOW,
        },
        {
            "name": "seal-by-a-lab",
            "kind": "seal",
            "text": make_seal(
                s.dried[0], s.dried[3], scenario.KEYS["lab"], resolver=scenario.RESOLVER, sealed_on=date(2025, 5, 4)
            ).to_url(),
            **trust,
            "now": NOW,
        },
        {
            "name": "seal-gtin-not-owned",
            "kind": "seal",
            "text": make_seal(
                foreign, foreign, scenario.KEYS["producer"], resolver=scenario.RESOLVER, sealed_on=date(2025, 5, 4)
            ).to_url(),
            **trust,
            "now": NOW,
        },
        {
            "name": "seal-claims-mismatch",
            "kind": "seal",
            "text": s.seal_ocop_url,
            **trust,
            "bundle": s.plain_bundle.hex(),
            "now": NOW,
        },
        # a trust list's key windows hold on every path
        {
            "name": "seal-chain-with-retired-key",
            "kind": "seal",
            "text": make_seal(
                s.dried[0],
                s.dried[0],
                scenario.KEYS["producer"],
                resolver=scenario.RESOLVER,
                sealed_on=date(2025, 5, 2),
            ).to_url(),
            **trust,
            "bundle": _variant_with_retired_key(s).hex(),
            "now": NOW,
        },
        {
            "name": "chain-trust-retired-key",
            "kind": "chain",
            "events": [e.raw.hex() for e in _retired_chain(s)],
            **trust,
            "now": NOW,
        },
        {"name": "chain-trust-ok", "kind": "chain", "events": [e.raw.hex() for e in s.dried], **trust, "now": NOW},
    ]
    for case in out:
        case["expected"] = python_verdict(case)
    return out


def _shared(cases: list[Case]) -> tuple[dict[str, str], list[Case]]:
    """Move inputs used by several cases to ``blobs``; a case names one as ``"blob:<n>"``."""
    counts: dict[str, int] = {}
    for case in cases:
        for key in ("bundle", "trust", "pinned"):
            if isinstance(case.get(key), str):
                counts[case[key]] = counts.get(case[key], 0) + 1
    blobs = {f"blob:{i}": value for i, value in enumerate(v for v, n in counts.items() if n > 1)}
    names = {value: name for name, value in blobs.items()}
    return blobs, [
        {k: names.get(v, v) if k in ("bundle", "trust", "pinned") else v for k, v in c.items()} for c in cases
    ]


def resolve(case: Case, blobs: dict[str, str]) -> Case:
    """Return ``case`` with its ``blob:<n>`` references replaced by the inputs."""
    return {k: blobs.get(v, v) if isinstance(v, str) else v for k, v in case.items()}


def build() -> bytes:
    """Return the bytes of fixtures.json."""
    blobs, cases = _shared(build_cases())
    doc: dict[str, Any] = {
        "description": "Seal, trust-list and audited-bundle cases built by tests/js/generate.py from fixed seeds, "
        "each with the verdict of the Python library (expected). Case shape: tests/js/cases.py; a value "
        '"blob:<n>" stands for blobs["blob:<n>"].',
        "generated_for": datetime(2025, 6, 1, tzinfo=UTC).isoformat(),
        "blobs": blobs,
        "cases": cases,
    }
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


if __name__ == "__main__":
    FIXTURES.write_bytes(build())
