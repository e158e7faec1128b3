"""Both Ed25519 backends give the same answer on every external vector (docs/adr/0022).

Keys the library refuses as weak never reach a backend; for every other vector, libsodium and OpenSSL must agree,
and Wycheproof's expected results must hold.
"""

from __future__ import annotations

from collections.abc import Iterator

import ocop_provenance as op
import pytest
from ocop_provenance.events import available_backends

from tests.conftest import external_vectors
from tests.verifying import verifies

pytestmark = pytest.mark.skipif("libsodium" not in available_backends(), reason="PyNaCl (libsodium) is not installed")


def _cases() -> Iterator[tuple[str, str, str, bytes, bool | None]]:
    """Yield (name, public key hex, signature hex, message, expected or None)."""
    wycheproof = external_vectors("wycheproof_ed25519_test.json")
    assert isinstance(wycheproof, dict)
    for group in wycheproof["testGroups"]:
        for t in group["tests"]:
            expected = {"valid": True, "invalid": False}.get(t["result"])
            yield f"wycheproof-{t['tcId']}", group["publicKey"]["pk"], t["sig"], bytes.fromhex(t["msg"]), expected
    cctv = external_vectors("cctv_ed25519vectors.json")
    assert isinstance(cctv, list)
    for c in cctv:
        yield f"cctv-{c['number']}", c["key"], c["sig"], c["msg"].encode(), None
    speccheck = external_vectors("speccheck_cases.json")
    assert isinstance(speccheck, list)
    for i, c in enumerate(speccheck):
        yield f"speccheck-{i}", c["pub_key"], c["signature"], bytes.fromhex(c["message"]), None


def _answers() -> Iterator[tuple[str, bool, bool, bool | None]]:
    for name, pk, sig, msg, expected in _cases():
        try:
            key = op.PublicKey.from_raw(bytes.fromhex(pk))
        except (op.WeakKeyError, op.KeyFormatError):
            continue  # refused before any backend sees it
        signature = bytes.fromhex(sig)
        yield (
            name,
            verifies(key.verify, signature, msg, backend="libsodium"),
            verifies(key.verify, signature, msg, backend="openssl"),
            expected,
        )


def test_backends_agree_on_every_vector() -> None:
    answers = list(_answers())
    assert len(answers) > 500
    disagree = [(name, a, b) for name, a, b, _ in answers if a != b]
    assert disagree == []


def test_wycheproof_expectations_hold_on_both_backends() -> None:
    wrong = [(name, a, expected) for name, a, b, expected in _answers() if expected is not None and a != expected]
    assert wrong == []


def test_small_order_r_is_refused_whatever_the_backend() -> None:
    key = op.PrivateKey.from_seed(bytes(32))
    message = b"ocop"
    good = key.sign(message)
    identity_r = (1).to_bytes(32, "little")
    for backend in available_backends():
        assert verifies(key.public_key.verify, good, message, backend=backend)
        assert not verifies(key.public_key.verify, identity_r + good[32:], message, backend=backend)
