"""The COSE working group's EdDSA example (cose-wg/Examples eddsa-sig-01) against our COSE primitives.

Its protected header ({1: -8, 3: 0}) and its unprotected kid are not what our envelope accepts, so only the
primitives are compared: the Sig_structure bytes and the signature.
"""

from __future__ import annotations

from typing import Any

import ocop_provenance as op
import pytest
from ocop_provenance import _cbor, _cose
from ocop_provenance.events import EVENT_TYP, available_backends

from tests.conftest import external_vectors
from tests.verifying import verifies


@pytest.fixture(scope="module")
def example() -> Any:
    return external_vectors("cose_eddsa-sig-01.json")


def parts(example: Any) -> tuple[bytes, bytes, bytes]:
    raw = bytes.fromhex(example["output"]["cbor"])
    assert raw[0] == 0xD2  # tag 18
    protected, unprotected, payload, signature = _cbor.decode(raw[1:], max_size=4096)
    assert unprotected == {4: b"11"}
    assert payload == example["input"]["plaintext"].encode()
    return protected, payload, signature


def test_to_be_signed_matches(example: Any) -> None:
    protected, payload, _ = parts(example)
    assert _cose.to_be_signed(protected, payload) == bytes.fromhex(example["intermediates"]["ToBeSign_hex"])


@pytest.mark.parametrize("backend", available_backends())
def test_signature_verifies(example: Any, backend: str) -> None:
    protected, payload, signature = parts(example)
    key = op.PublicKey.from_raw(bytes.fromhex(example["input"]["sign0"]["key"]["x_hex"]))
    tbs = _cose.to_be_signed(protected, payload)
    assert verifies(key.verify, signature, tbs, backend=backend)
    assert not verifies(key.verify, signature, tbs[:-1] + b"!", backend=backend)


def test_signing_reproduces_signature(example: Any) -> None:
    protected, payload, signature = parts(example)
    key = op.PrivateKey.from_seed(bytes.fromhex(example["input"]["sign0"]["key"]["d_hex"]))
    assert key.public_key.raw.hex() == example["input"]["sign0"]["key"]["x_hex"]
    assert key.sign(_cose.to_be_signed(protected, payload)) == signature


def test_our_envelope_refuses_it(example: Any) -> None:
    # A well-formed COSE_Sign1, but with a kid in the unprotected header: anyone could change it.
    with pytest.raises(op.FormatError) as info:
        _cose.parse_sign1(bytes.fromhex(example["output"]["cbor"]), typ=EVENT_TYP, max_size=4096)
    assert info.value.code == "E_UNPROTECTED"
