"""COSE_Sign1 envelope: what `parse_sign1` accepts, built by hand with cbor2 to stay independent of the encoder."""

from __future__ import annotations

import hashlib
from typing import Any

import cbor2
import ocop_provenance as op
import pytest
from ocop_provenance import _cose
from ocop_provenance.events import EVENT_TYP, parse_unverified_event

from tests.conftest import key
from tests.verifying import ANY_BATCH, options, verifies

TYP = EVENT_TYP
SEAL_TYP = "application/ocop-seal+cbor"
PAYLOAD = cbor2.dumps({0: 1})
LIMIT = 65536


def header(**overrides: Any) -> dict[int, Any]:
    h: dict[int, Any] = {1: -8, 4: key(1).key_id, 16: TYP}
    for name, value in overrides.items():
        label = {"alg": 1, "crit": 2, "cty": 3, "kid": 4, "typ": 16, "x99": 99}[name]
        if value is None:
            h.pop(label, None)
        else:
            h[label] = value
    return dict(sorted(h.items(), key=lambda kv: cbor2.dumps(kv[0])))


def build(
    protected: dict[int, Any] | bytes | None = None,
    unprotected: object = None,
    payload: object = PAYLOAD,
    *,
    signer: op.PrivateKey | None = None,
    signature: bytes | None = None,
    tag: int | None = 18,
    items: list[Any] | None = None,
) -> bytes:
    """A COSE_Sign1 built with cbor2; signed with `signer` (key 1 by default) over the real Sig_structure."""
    p = protected if isinstance(protected, bytes) else cbor2.dumps(protected if protected is not None else header())
    u = {} if unprotected is None else unprotected
    if signature is None:
        tbs = cbor2.dumps(["Signature1", p, b"", payload if isinstance(payload, bytes) else b""])
        signature = (signer or key(1)).sign(tbs)
    arr = items if items is not None else [p, u, payload, signature]
    return cbor2.dumps(cbor2.CBORTag(tag, arr) if tag is not None else arr)


def parse(data: bytes, typ: str = TYP) -> _cose.CoseSign1:
    return _cose.parse_sign1(data, typ=typ, max_size=LIMIT)


def failure(data: bytes, typ: str = TYP) -> op.ProvenanceError:
    with pytest.raises(op.ProvenanceError) as info:
        parse(data, typ)
    return info.value


def test_hand_built_envelope_is_accepted_and_verifies() -> None:
    data = build()
    cose = parse(data)
    tbs = cbor2.dumps(["Signature1", cose.protected, b"", PAYLOAD])
    assert cose.to_be_signed == tbs
    assert cose.object_id == hashlib.sha256(tbs).digest()
    assert cose.key_id == key(1).key_id
    assert cose.typ == TYP
    assert cose.payload == PAYLOAD
    assert cose.raw == data
    assert verifies(cose.verify, key(1).public_key)
    assert not verifies(cose.verify, key(2).public_key)


def test_sign1_matches_hand_built() -> None:
    ours = _cose.sign1(PAYLOAD, key(1), TYP)
    assert ours.raw == build()  # Ed25519 is deterministic, and both encodings are deterministic
    assert parse(ours.raw) == ours


def test_protected_header_layout() -> None:
    assert _cose.protected_header(key(1).key_id, TYP) == cbor2.dumps({1: -8, 4: key(1).key_id, 16: TYP})


@pytest.mark.parametrize("alg", [-19, -7, -35, -257, 0, 8, "EdDSA", b"\xf8", True])
def test_other_algorithms_refused(alg: object) -> None:
    err = failure(build(header(alg=alg)))
    assert err.code == "E_ALG"
    assert isinstance(err, op.SignatureError)


@pytest.mark.parametrize("crit", [[4], [], [99], ["x"]])
def test_crit_refused(crit: list[object]) -> None:
    err = failure(build(header(crit=crit)))
    assert err.code == "E_CRIT"
    assert isinstance(err, op.SignatureError)


@pytest.mark.parametrize(
    "protected",
    [
        header(cty=0),
        header(x99=1),
        header(alg=None),
        header(kid=None),
        header(typ=None),
        header(kid=b"\x00" * 31),
        header(kid="kid"),
        header(typ=42),
        {},
    ],
)
def test_protected_header_shape(protected: dict[int, Any]) -> None:
    assert failure(build(protected)).code == "E_COSE"


@pytest.mark.parametrize("protected", [cbor2.dumps([1, -8]), cbor2.dumps(b"x"), cbor2.dumps(1)])
def test_protected_not_a_map(protected: bytes) -> None:
    assert failure(build(protected)).code == "E_COSE"


def test_protected_not_deterministic() -> None:
    # Same header, keys in the wrong order: a second encoding of one header would give a second event id.
    h = header()
    unsorted = cbor2.dumps(dict(reversed(list(h.items()))))
    assert failure(build(unsorted)).code == "E_NONCANONICAL"
    # and a non-shortest integer
    shortest = cbor2.dumps(h)
    longer = shortest.replace(b"\x01\x27", b"\x01\x38\x07", 1)
    assert failure(build(longer)).code == "E_NONCANONICAL"


def test_protected_empty_or_tagged() -> None:
    assert failure(build(b"")).code == "E_CBOR"
    assert failure(build(cbor2.dumps(cbor2.CBORTag(1, header())))).code == "E_CBOR"


@pytest.mark.parametrize("unprotected", [{4: b"11"}, {1: -8}, {"x": 1}, {99: None}])
def test_unprotected_must_be_empty(unprotected: dict[object, object]) -> None:
    assert failure(build(unprotected=unprotected)).code == "E_UNPROTECTED"


@pytest.mark.parametrize("unprotected", [[], b"", None, 0])
def test_unprotected_must_be_a_map(unprotected: object) -> None:
    items: list[Any] = [cbor2.dumps(header()), unprotected, PAYLOAD, b"\x00" * 64]
    assert failure(build(items=items)).code in ("E_UNPROTECTED", "E_COSE")


def test_untagged_refused() -> None:
    assert failure(build(tag=None)).code == "E_COSE"


@pytest.mark.parametrize("tag", [98, 17, 16, 96, 61, 1])
def test_wrong_tag_refused(tag: int) -> None:
    assert failure(build(tag=tag)).code in ("E_COSE", "E_CBOR")


def test_double_tag_refused() -> None:
    data = b"\xd2" + build()
    assert failure(data).code in ("E_COSE", "E_CBOR")


def test_detached_payload_refused() -> None:
    assert failure(build(payload=None)).code == "E_COSE"


@pytest.mark.parametrize("payload", ["text", 0, [], {}])
def test_payload_not_bytes(payload: object) -> None:
    assert failure(build(payload=payload)).code == "E_COSE"


@pytest.mark.parametrize("n", [0, 63, 65, 128])
def test_signature_length(n: int) -> None:
    assert failure(build(signature=b"\x00" * n)).code == "E_COSE"


@pytest.mark.parametrize("count", [3, 5])
def test_array_length(count: int) -> None:
    items: list[Any] = [cbor2.dumps(header()), {}, PAYLOAD, b"\x00" * 64, b""][:count]
    assert failure(build(items=items)).code == "E_COSE"


def test_not_an_array() -> None:
    assert failure(cbor2.dumps(cbor2.CBORTag(18, {0: 1}))).code == "E_COSE"
    assert failure(b"\xd2").code in ("E_COSE", "E_CBOR")
    assert failure(b"").code == "E_COSE"


def test_type_confusion_refused() -> None:
    """A validly signed object of another kind (a seal) never parses as an event, and vice versa."""
    seal = build(header(typ=SEAL_TYP))
    err = failure(seal)
    assert err.code == "E_CONTENT_TYPE"
    assert isinstance(err, op.SignatureError)
    assert verifies(parse(seal, SEAL_TYP).verify, key(1).public_key)
    assert failure(build(), SEAL_TYP).code == "E_CONTENT_TYPE"
    # the typ comparison is exact: no case folding, no parameters
    assert failure(build(header(typ=TYP.upper()))).code == "E_CONTENT_TYPE"
    assert failure(build(header(typ=TYP + "; v=1"))).code == "E_CONTENT_TYPE"


def test_trailing_bytes_refused() -> None:
    assert failure(build() + b"\x00").code == "E_TRAILING"


def test_size_cap() -> None:
    data = build(payload=cbor2.dumps(b"x" * 1000))
    with pytest.raises(op.FormatError) as info:
        _cose.parse_sign1(data, typ=TYP, max_size=len(data) - 1)
    assert info.value.code == "E_SIZE"
    assert _cose.parse_sign1(data, typ=TYP, max_size=len(data)).payload == cbor2.dumps(b"x" * 1000)


def test_object_id_does_not_depend_on_the_signature(chain: list[op.SignedEvent], ring: op.KeyRing) -> None:
    """Same protected header and payload, another signature: same id; the corrupted one fails E_SIGNATURE."""
    event = chain[1]
    bad_sig = bytes((event.signature[0] ^ 0x40,)) + event.signature[1:]
    forged = event.raw[:-64] + bad_sig
    parsed = parse_unverified_event(forged)
    assert parsed.event_id == event.event_id
    assert parsed.signature != event.signature
    with pytest.raises(op.SignatureError) as info:
        op.verify_chain([chain[0].raw, forged], options(ring), batch=ANY_BATCH)
    assert info.value.code == "E_SIGNATURE"
    assert info.value.position == 1
    assert info.value.event_id == event.event_id.hex()


class _BadSigner:
    def __init__(self, result: object) -> None:
        self.public_key = key(1).public_key
        self._result = result

    def sign(self, message: bytes) -> object:
        return self._result


@pytest.mark.parametrize("result", [b"\x00" * 63, b"\x00" * 65, "x" * 64, None])
def test_misbehaving_signer(result: object) -> None:
    with pytest.raises(op.SignatureError) as info:
        _cose.sign1(PAYLOAD, _BadSigner(result), TYP)  # type: ignore[arg-type]
    assert info.value.code == "E_SIGNER"


def test_external_signer_protocol() -> None:
    """Any object with public_key and sign works as a Signer (hardware token, KMS)."""

    class Remote:
        def __init__(self) -> None:
            self._k = key(3)

        @property
        def public_key(self) -> op.PublicKey:
            return self._k.public_key

        def sign(self, message: bytes) -> bytes:
            return self._k.sign(message)

    remote = Remote()
    assert isinstance(remote, op.Signer)
    cose = _cose.sign1(PAYLOAD, remote, TYP)
    assert verifies(parse(cose.raw).verify, key(3).public_key)


@pytest.mark.parametrize("data", ["d284", 10, 100_000, None, [0xD2]])
def test_non_bytes_input(data: object) -> None:
    with pytest.raises(op.FormatError) as info:
        _cose.parse_sign1(data, typ=TYP, max_size=LIMIT)  # type: ignore[arg-type]
    assert info.value.code == "E_TYPE"
    with pytest.raises(op.FormatError):
        parse_unverified_event(data)  # type: ignore[arg-type]


def test_bytearray_and_memoryview_input() -> None:
    data = build()
    assert parse(bytearray(data)) == parse(data)  # type: ignore[arg-type]
    assert parse(memoryview(data)) == parse(data)  # type: ignore[arg-type]
