"""The independent side of the interop test: runs in its own interpreter with pycose 1.1.0 and cbor2 < 6.

It never imports ocop_provenance. It reads one JSON request on stdin and writes one JSON answer on stdout:

* ``verify``: for each item (COSE bytes, public key), check the COSE_Sign1 two independent ways, given only the
  32-byte public key:
  1. pycose: ``Sign1Message.decode`` + ``OKPKey(crv=Ed25519, x=...)`` + ``verify_signature()``; the same with one
     payload byte changed must fail (so the check is not vacuous);
  2. by hand: cbor2 5.x decodes the tag-18 array, the Sig_structure ``["Signature1", protected, h'', payload]`` is
     rebuilt with cbor2 and checked with pyca/cryptography's Ed25519.
  It also recomputes the RFC 9679 key thumbprint and the event id (SHA-256 of the Sig_structure) on its own.
* ``sign``: build a COSE_Sign1 with pycose over a given payload with the protected header
  ``{1: -8, 4: kid, 16: typ}`` and an empty unprotected header, and return its bytes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import metadata

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pycose.algorithms import EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

TYP_LABEL = 16


def thumbprint(x: bytes) -> bytes:
    # RFC 9679 §3: the required members of an OKP key, {1: kty, -1: crv, -2: x}, deterministically encoded.
    return hashlib.sha256(cbor2.dumps({1: 1, -1: 6, -2: x})).digest()


def pycose_verify(cose: bytes, x: bytes) -> bool:
    msg = Sign1Message.decode(cose)
    msg.key = OKPKey(crv=Ed25519, x=x)
    return bool(msg.verify_signature())


def manual(cose: bytes, x: bytes) -> dict[str, object]:
    item = cbor2.loads(cose)
    if not isinstance(item, cbor2.CBORTag) or item.tag != 18 or len(item.value) != 4:
        return {"ok": False, "why": "not a tagged COSE_Sign1"}
    protected, unprotected, payload, signature = item.value
    header = cbor2.loads(protected)
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    try:
        Ed25519PublicKey.from_public_bytes(x).verify(signature, sig_structure)
        ok = True
    except InvalidSignature:
        ok = False
    return {
        "ok": ok,
        "alg": header.get(1),
        "kid": header.get(4, b"").hex(),
        "typ": header.get(TYP_LABEL),
        "unprotected_empty": unprotected == {},
        "event_id": hashlib.sha256(sig_structure).hexdigest(),
    }


def verify(item: dict[str, str]) -> dict[str, object]:
    cose, x = bytes.fromhex(item["cose"]), bytes.fromhex(item["public_key"])
    tampered = bytearray(cose)
    tampered[-70] ^= 1  # a byte of the payload, just before the 64-byte signature and its 2-byte head
    return {
        "pycose": pycose_verify(cose, x),
        "pycose_tampered": pycose_verify(bytes(tampered), x),
        "manual": manual(cose, x),
        "thumbprint": thumbprint(x).hex(),
    }


def sign(item: dict[str, str]) -> str:
    seed = bytes.fromhex(item["seed"])
    x = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = bytes.fromhex(item["kid"]) if "kid" in item else thumbprint(x)
    if item.get("header_order") == "kid-first":
        phdr = {KID: kid, Algorithm: EdDSA, TYP_LABEL: item["typ"]}
    else:
        phdr = {Algorithm: EdDSA, KID: kid, TYP_LABEL: item["typ"]}
    msg = Sign1Message(phdr=phdr, uhdr={}, payload=bytes.fromhex(item["payload"]))
    msg.key = OKPKey(crv=Ed25519, d=seed, x=x)
    return msg.encode(tag=True).hex()


def main() -> None:
    request = json.load(sys.stdin)
    answer = {
        "versions": {name: metadata.version(name) for name in ("pycose", "cbor2", "cryptography")},
        "verify": [verify(item) for item in request.get("verify", [])],
        "sign": [sign(item) for item in request.get("sign", [])],
    }
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
