"""Arbitrary bytes into every decoder raise only the library's errors (ProvenanceError), never anything else."""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Callable
from functools import cache

import ocop_provenance as op
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocop_provenance import _cbor
from ocop_provenance.events import (
    BundleBatch,
    BundleHeader,
    BundleReader,
    EquivocationProof,
    append_step,
    parse_unverified_event,
    write_bundle,
)

from tests.conftest import examples, key, sample_chain
from tests.verifying import ANY_BATCH, options

SETTINGS = settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
RING = op.KeyRing.of([key(1).public_key])


@cache
def seeds() -> dict[str, bytes]:
    """Valid inputs, mutated by the strategies below to reach deep into each decoder."""
    chain = sample_chain(key(1), 3)
    rival = append_step(chain[1], key(1), step="shipping", time=chain[2].time, location=op.Location(name="x"))
    header = BundleHeader(
        root=chain[0].event_id,
        batches=(BundleBatch(batch_id=chain[0].event_id, count=3, head=chain[-1].event_id),),
        keys=(key(1).public_key,),
    )
    out = io.BytesIO()
    write_bundle(out, header, [e.raw for e in chain])
    return {
        "event": chain[1].raw,
        "header": header.to_bytes(),
        "proof": EquivocationProof.of(chain[2], rival).to_bytes(),
        "bundle": out.getvalue(),
        "pem": key(1).public_key.to_pem(),
        "pkcs8": key(1).to_pkcs8_pem(),
        "keyfile": key(1).to_key_file(b"pw", kdf_log2_n=14),
    }


@cache  # one strategy per seed: hypothesis inspects a composite's source each time one is made
def mutated(name: str) -> st.SearchStrategy[bytes]:
    """A valid input with a few bytes replaced, inserted or removed, or truncated."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = bytearray(seeds()[name])
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            kind = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
            pos = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
            if kind == "replace" and data:
                data[pos] = draw(st.integers(min_value=0, max_value=255))
            elif kind == "insert":
                data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
            elif kind == "delete" and data:
                del data[pos]
            else:
                del data[pos:]
        return bytes(data)

    return build()


def armoured(label: str) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=200).map(
        lambda b: f"-----BEGIN {label}-----\n{base64.b64encode(b).decode()}\n-----END {label}-----\n".encode()
    )


def only_library_errors(fn: Callable[[bytes], object], data: bytes) -> None:
    with contextlib.suppress(op.ProvenanceError):
        fn(data)


def read_bundle(data: bytes) -> None:
    reader = BundleReader(io.BytesIO(data))
    for _ in reader.events():
        pass


DECODERS: dict[str, Callable[[bytes], object]] = {
    "cbor": lambda d: _cbor.decode(d, max_size=1 << 16),
    "event": parse_unverified_event,
    "header": BundleHeader.from_bytes,
    "proof": lambda d: EquivocationProof.from_bytes(d).verify(RING),
    "keyfile": lambda d: op.PrivateKey.from_key_file(d, b"pw"),
    "pem": op.PublicKey.from_pem,
    "bundle": read_bundle,
    "verify_bundle": lambda d: op.verify_bundle(io.BytesIO(d), options(RING), root=ANY_BATCH),
    "verify_chain": lambda d: op.verify_chain([d], options(RING), batch=ANY_BATCH),
}


@pytest.mark.parametrize("name", sorted(DECODERS))
@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes(name: str, data: bytes) -> None:
    only_library_errors(DECODERS[name], data)


@pytest.mark.parametrize(
    ("name", "seed"),
    [
        ("cbor", "event"),
        ("cbor", "header"),
        ("event", "event"),
        ("header", "header"),
        ("proof", "proof"),
        ("bundle", "bundle"),
        ("verify_bundle", "bundle"),
        ("verify_chain", "event"),
        ("pem", "pem"),
        ("keyfile", "pkcs8"),
        ("keyfile", "keyfile"),
    ],
)
@SETTINGS
@given(data=st.data())
def test_mutated_valid_inputs(name: str, seed: str, data: st.DataObject) -> None:
    only_library_errors(DECODERS[name], data.draw(mutated(seed)))


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("pem", "PUBLIC KEY"),
        ("keyfile", "OCOP ED25519 PRIVATE KEY"),
        ("keyfile", "PRIVATE KEY"),
        ("keyfile", "ENCRYPTED PRIVATE KEY"),
    ],
)
@SETTINGS
@given(data=st.data())
def test_armoured_garbage(name: str, label: str, data: st.DataObject) -> None:
    only_library_errors(DECODERS[name], data.draw(armoured(label)))


@SETTINGS
@given(st.binary(max_size=300))
def test_cbor_encoded_garbage_into_key_file(body: bytes) -> None:
    """A well-armoured key file whose body is CBOR of random shape."""
    data = _cbor.encode(
        {
            0: "ocop-key",
            1: 1,
            2: "scrypt",
            3: body[:16],
            4: 14,
            5: 8,
            6: 1,
            7: body[16:28],
            8: body[28:76],
            9: body[76:108],
        }
    )
    text = base64.b64encode(data).decode()
    only_library_errors(
        DECODERS["keyfile"],
        f"-----BEGIN OCOP ED25519 PRIVATE KEY-----\n{text}\n-----END OCOP ED25519 PRIVATE KEY-----\n".encode(),
    )
