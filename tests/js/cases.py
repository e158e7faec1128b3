"""Verification cases in one JSON shape, judged by the Python library (the JavaScript side is run_cases.mjs).

A case is a dict with a ``kind`` and hex/text inputs; :func:`python_verdict` returns the Python library's verdict:
``"OK"`` (``"SEAL_OK"``, ``"SEAL_OLDER_HEAD"`` for seals) or the code of the error it raises.

Kinds: ``cbor`` (the strict decoder, optionally with an item budget), ``public_key``, ``signature`` (one Ed25519
check), ``event`` (parse without a signature check), ``chain`` and ``bundle`` (``verify_chain``, ``verify_bundle``),
``proof`` (equivocation proof), ``trust`` (a trust list against pinned keys, optionally through intermediates or from
a pinned earlier list), ``bundle_trust`` (``audit_bundle`` with a verified trust list: the failure, else the first
finding: key status, genesis claims) and ``seal`` (URL or text, optionally with a bundle or events). Keys are
``trusted`` (hex public keys) or, for ``chain``, ``bundle_trust`` and ``seal``, a trust list (``trust``,
``authority``, optionally ``pinned`` and ``intermediates``), whose keys then sign only inside their windows.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import ocop_provenance as op
from ocop_provenance import _cbor
from ocop_provenance.events import EquivocationProof, Subject, parse_unverified_event
from ocop_provenance.trust import AuthorityPin

Case = dict[str, Any]


def _ring(keys: list[str]) -> op.KeyRing:
    return op.KeyRing.of(op.PublicKey.from_raw(bytes.fromhex(k)) for k in keys)


def _now(case: Case) -> datetime | None:
    return datetime.fromisoformat(case["now"]) if case.get("now") else None


def _pin(authority: dict[str, Any]) -> AuthorityPin:
    return AuthorityPin(
        tuple(op.PublicKey.from_raw(bytes.fromhex(k)) for k in authority["keys"]), authority["threshold"]
    )


def _trust(case: Case, now: datetime) -> op.VerifiedTrustList:
    anchor: op.VerifiedTrustList | AuthorityPin = _pin(case["authority"])
    if case.get("pinned"):
        anchor = op.verify_trust_list(bytes.fromhex(case["pinned"]), anchor, now=now)
    return op.verify_trust_list(
        bytes.fromhex(case["trust"]),
        anchor,
        now=now,
        intermediates=[bytes.fromhex(x) for x in case.get("intermediates", [])],
    )


def _options(case: Case) -> op.VerifyOptions[Any]:
    """The keys of a case (a verified trust list, or a ring of trusted keys) and its clock (or none)."""
    now = _now(case)
    keys: op.KeyRing | op.VerifiedTrustList
    if case.get("trust"):
        assert now is not None
        keys = _trust(case, now)
    else:
        keys = _ring(case["trusted"])
    return op.VerifyOptions(keys=keys, now=op.NO_CLOCK if now is None else now)


def _judge(case: Case) -> str:
    kind = case["kind"]
    now = _now(case)
    if kind == "cbor":
        _cbor.decode(
            bytes.fromhex(case["input"]),
            max_size=case.get("max_size", 1 << 20),
            max_depth=case["max_depth"],
            max_items=case.get("max_items"),
        )
    elif kind == "public_key":
        op.PublicKey.from_raw(bytes.fromhex(case["input"]))
    elif kind == "event":
        parse_unverified_event(bytes.fromhex(case["input"]))
    elif kind == "chain":
        batch: Subject = bytes.fromhex(case["batch_id"]) if case.get("batch_id") else op.ANY_BATCH
        op.verify_chain([bytes.fromhex(x) for x in case["events"]], _options(case), batch=batch)
    elif kind == "bundle":
        op.verify_bundle(io.BytesIO(bytes.fromhex(case["bundle"])), _options(case), root=op.ANY_BATCH)
    elif kind == "signature":
        key = op.PublicKey.from_raw(bytes.fromhex(case["key"]))
        try:
            key.verify(bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"]))
        except op.SignatureError:
            return "E_SIGNATURE"
    elif kind == "proof":
        EquivocationProof.from_bytes(bytes.fromhex(case["input"])).verify(_ring(case["trusted"]))
    elif kind == "trust":
        assert now is not None
        _trust(case, now)
    elif kind == "bundle_trust":
        report = op.audit_bundle(io.BytesIO(bytes.fromhex(case["bundle"])), _options(case), root=op.ANY_BATCH)
        if report.failure is not None:
            return str(report.failure.code)
        return str(report.findings[0].code) if report.findings else "OK"
    elif kind == "seal":
        chain = [bytes.fromhex(x) for x in case["events"]] if case.get("events") is not None else None
        bundle = bytes.fromhex(case["bundle"]) if case.get("bundle") else None
        return op.verify_seal(case["text"], _options(case), chain=chain, bundle=bundle).code
    else:  # pragma: no cover - a case file error
        raise AssertionError(f"unknown case kind {kind}")
    return "OK"


Where = dict[str, Any]


def python_outcome(case: Case) -> tuple[str, Where]:
    """Return the Python library's verdict for ``case`` and, for chains and bundles, where it failed.

    The verdict is the OK-like code or the code of the error raised; *where* holds the error's ``position``,
    ``batch_id`` and ``seq`` that are set (empty for other kinds, as run_cases.mjs gives it).
    """
    try:
        return _judge(case), {}
    except op.ProvenanceError as e:
        if case["kind"] not in ("chain", "bundle"):
            return str(e.code), {}
        where = {"position": e.position, "batch_id": e.batch_id, "seq": e.seq}
        return str(e.code), {k: v for k, v in where.items() if v is not None}


def python_verdict(case: Case) -> str:
    """Return the Python library's verdict for ``case``: OK-like code, or the code of the error it raised."""
    return python_outcome(case)[0]


def bit_flips(data: bytes, count: int, seed: int) -> Iterator[tuple[int, bytes]]:
    """Yield ``count`` (bit index, mutated copy) pairs, each with one bit of ``data`` flipped (seeded)."""
    rng = random.Random(seed)
    for _ in range(count):
        bit = rng.randrange(len(data) * 8)
        out = bytearray(data)
        out[bit // 8] ^= 1 << (bit % 8)
        yield bit, bytes(out)


def text_flips(text: str, count: int, seed: int) -> Iterator[tuple[int, str]]:
    """Yield ``count`` single-bit mutations of an ASCII text (bit 0-6 of one character, so it stays ASCII)."""
    rng = random.Random(seed)
    for _ in range(count):
        i = rng.randrange(len(text))
        bit = rng.randrange(7)
        yield i * 8 + bit, text[:i] + chr(ord(text[i]) ^ (1 << bit)) + text[i + 1 :]
