"""Ed25519 against external vectors: RFC 8032, Wycheproof, CCTV and ed25519-speccheck, on every backend.

Findings pinned here (see also the report in the commit history):
* Wycheproof: all 151 cases give the expected answer on libsodium and OpenSSL; no Wycheproof public key is weak.
* CCTV: every low-order or non-canonical public key (526 of 914 vectors) is refused with E_WEAK_KEY.
* The raw backends disagree on signatures whose R is a point of small order: libsodium refuses them, OpenSSL
  accepts them (43 CCTV vectors, speccheck case 2). ``PublicKey.verify`` refuses a small-order R before calling
  either backend, so the library's answer does not depend on whether PyNaCl is installed.
"""

from __future__ import annotations

from typing import Any

import ocop_provenance as op
import pytest
from ocop_provenance.events import available_backends

from tests.conftest import external_vectors
from tests.verifying import verifies

BACKENDS = available_backends()
WEAK_FLAGS = {"low_order_A", "non_canonical_A"}


# ---- RFC 8032 §7.1, tests 1-3 ------------------------------------------------------------------------------------

RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032)
@pytest.mark.parametrize("backend", BACKENDS)
def test_rfc8032(seed: str, public: str, message: str, signature: str, backend: str) -> None:
    key = op.PrivateKey.from_seed(bytes.fromhex(seed))
    assert key.public_key.raw.hex() == public
    msg = bytes.fromhex(message)
    assert key.sign(msg).hex() == signature
    pub = op.PublicKey.from_raw(bytes.fromhex(public))
    assert verifies(pub.verify, bytes.fromhex(signature), msg, backend=backend)
    assert not verifies(pub.verify, bytes.fromhex(signature), msg + b"\x00", backend=backend)


# ---- Wycheproof ---------------------------------------------------------------------------------------------------


def wycheproof_cases() -> list[tuple[str, str, str, str, str]]:
    data = external_vectors("wycheproof_ed25519_test.json")
    return [
        (g["publicKey"]["pk"], t["msg"], t["sig"], t["result"], f"tc{t['tcId']}")
        for g in data["testGroups"]
        for t in g["tests"]
    ]


def test_wycheproof_count() -> None:
    cases = wycheproof_cases()
    assert len(cases) == external_vectors("wycheproof_ed25519_test.json")["numberOfTests"] == 151


@pytest.mark.parametrize("backend", BACKENDS)
def test_wycheproof(backend: str) -> None:
    wrong = []
    for pk, msg, sig, result, name in wycheproof_cases():
        # Every Wycheproof public key is a valid, non-weak key: none is refused by the weak-key check.
        key = op.PublicKey.from_raw(bytes.fromhex(pk))
        got = verifies(key.verify, bytes.fromhex(sig), bytes.fromhex(msg), backend=backend)
        assert result in ("valid", "invalid")
        if got != (result == "valid"):
            wrong.append(name)
    assert wrong == []


# ---- CCTV -----------------------------------------------------------------------------------------------------------


def cctv() -> list[dict[str, Any]]:
    return [dict(v, flags=set(v["flags"] or ())) for v in external_vectors("cctv_ed25519vectors.json")]


def test_cctv_weak_keys_rejected() -> None:
    weak = [v for v in cctv() if v["flags"] & WEAK_FLAGS]
    assert len(weak) == 526
    for v in weak:
        with pytest.raises(op.WeakKeyError) as info:
            op.PublicKey.from_raw(bytes.fromhex(v["key"]))
        assert info.value.code == "E_WEAK_KEY"
        assert isinstance(info.value, op.KeyFormatError)


def test_cctv_other_keys_load() -> None:
    for v in cctv():
        if not v["flags"] & WEAK_FLAGS:
            op.PublicKey.from_raw(bytes.fromhex(v["key"]))


def test_cctv_backends_agree() -> None:
    """What each backend accepts for the keys that load, and that the library gives one answer for all."""
    accepted: dict[str, set[int]] = {b: set() for b in BACKENDS}
    for v in cctv():
        if v["flags"] & WEAK_FLAGS:
            continue
        key = op.PublicKey.from_raw(bytes.fromhex(v["key"]))
        for b in BACKENDS:
            if verifies(key.verify, bytes.fromhex(v["sig"]), v["msg"].encode(), backend=b):
                accepted[b].add(v["number"])
    sets = list(accepted.values())
    assert all(s == sets[0] for s in sets)
    by_number = {v["number"]: v for v in cctv()}
    # Accepted: only signatures with a canonical R of large order (a torsion component in A or R is tolerated:
    # cofactorless verification, as both backends do). 43 vectors.
    for n in sets[0]:
        flags = by_number[n]["flags"]
        assert not flags & {"low_order_R", "non_canonical_R", "low_order_residue", "reencoded_k"}
    assert len(sets[0]) == 43


def test_cctv_small_order_r_refused() -> None:
    """A small-order R is refused on every backend (OpenSSL alone would accept 43 of these)."""
    count = 0
    for v in cctv():
        if v["flags"] & WEAK_FLAGS or "low_order_R" not in v["flags"]:
            continue
        key = op.PublicKey.from_raw(bytes.fromhex(v["key"]))
        for b in BACKENDS:
            assert not verifies(key.verify, bytes.fromhex(v["sig"]), v["msg"].encode(), backend=b)
        count += 1
    assert count > 0


# ---- ed25519-speccheck ------------------------------------------------------------------------------------------

# Case index -> expected outcome through the library: "weak" = key refused, True/False = verify result.
# 0, 1, 10, 11: small-order or non-canonical A. 2: small-order R (OpenSSL alone accepts it). 3: mixed-order A and R,
# valid cofactorless. 4-9: cofactored-only, non-canonical R or S >= L: refused.
SPECCHECK: dict[int, str | bool] = {
    0: "weak",
    1: "weak",
    2: False,
    3: True,
    4: False,
    5: False,
    6: False,
    7: False,
    8: False,
    9: False,
    10: "weak",
    11: "weak",
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_speccheck(backend: str) -> None:
    cases = external_vectors("speccheck_cases.json")
    assert len(cases) == len(SPECCHECK)
    for i, case in enumerate(cases):
        expected = SPECCHECK[i]
        if expected == "weak":
            with pytest.raises(op.WeakKeyError):
                op.PublicKey.from_raw(bytes.fromhex(case["pub_key"]))
            continue
        key = op.PublicKey.from_raw(bytes.fromhex(case["pub_key"]))
        got = verifies(key.verify, bytes.fromhex(case["signature"]), bytes.fromhex(case["message"]), backend=backend)
        assert got is expected, i
