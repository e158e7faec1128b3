"""Keys: weak-key rejection, key ids, key files at rest, PKCS#8 / PEM interop, the Signer protocol."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import cbor2
import ocop_provenance as op
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from hypothesis import given, settings
from hypothesis import strategies as st
from ocop_provenance.events import available_backends, ed25519_backend

from tests.conftest import key
from tests.verifying import verifies

P = 2**255 - 19
FAST = 14  # scrypt log2 N for tests
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def le(n: int) -> bytes:
    return n.to_bytes(32, "little")


def pem_of_raw(raw: bytes) -> bytes:
    b64 = base64.b64encode(SPKI_PREFIX + raw).decode()
    return f"-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n".encode()


# The eight points of small order, canonical encodings (from the CCTV / libsodium blocklist), and aliases.
SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",  # identity
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2 (y = -1)
    "0000000000000000000000000000000000000000000000000000000000000000",  # order 4 (y = 0)
    "0000000000000000000000000000000000000000000000000000000000000080",  # order 4, sign bit
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
]
NON_CANONICAL = [
    le(P).hex(),  # y = p (an alias of y = 0)
    le(P + 1).hex(),  # y = p + 1 (alias of the identity)
    "0100000000000000000000000000000000000000000000000000000000000080",  # identity with the sign bit (x = 0)
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  # y = -1 with the sign bit (x = 0)
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = 2**255 - 1 >= p
]


@pytest.mark.parametrize("hexkey", SMALL_ORDER + NON_CANONICAL)
def test_weak_public_keys_rejected(hexkey: str) -> None:
    with pytest.raises(op.WeakKeyError) as info:
        op.PublicKey.from_raw(bytes.fromhex(hexkey))
    assert info.value.code == "E_WEAK_KEY"
    with pytest.raises(op.WeakKeyError):
        op.PublicKey.from_pem(pem_of_raw(bytes.fromhex(hexkey)))


def test_identity_key_forgery_is_impossible() -> None:
    """With the identity key, R = identity and S = 0 would verify for every message under OpenSSL."""
    with pytest.raises(op.WeakKeyError):
        op.PublicKey.from_raw(bytes.fromhex(SMALL_ORDER[0]))


def test_off_curve_key_rejected() -> None:
    # y = 2: (y^2 - 1) / (d y^2 + 1) is not a square mod p.
    with pytest.raises(op.KeyFormatError) as info:
        op.PublicKey.from_raw(le(2))
    assert info.value.code == "E_KEY_FORMAT"
    assert not isinstance(info.value, op.WeakKeyError)


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=2**255 - 20))
def test_the_curve_check_agrees_with_eulers_criterion(y: int) -> None:
    # The one-Jacobi-symbol check equals the textbook decompression: x^2 = (y^2-1)/(d y^2+1) a square mod p.
    p = 2**255 - 19
    d = -121665 * pow(121666, p - 2, p) % p
    x2 = (y * y - 1) * pow(d * y * y + 1, p - 2, p) % p
    on_curve = x2 == 0 or pow(x2, (p - 1) // 2, p) == 1
    small_order = y in {0, 1, p - 1} or le(y) in {bytes.fromhex(h) for h in SMALL_ORDER}
    try:
        op.PublicKey.from_raw(le(y))
    except op.WeakKeyError:
        assert small_order
    except op.KeyFormatError:
        assert not on_curve
    else:
        assert on_curve


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_wrong_length_public_key(length: int) -> None:
    with pytest.raises(op.KeyFormatError) as info:
        op.PublicKey.from_raw(b"\x01" * length)
    assert info.value.code == "E_KEY_FORMAT"


def test_key_id_is_rfc9679_thumbprint() -> None:
    pub = key(1).public_key
    # RFC 9679 §3: required members of an OKP key (kty 1 = OKP, crv -1 = 6 Ed25519, x -2), deterministic CBOR,
    # keys in bytewise order 1 (01), -1 (20), -2 (21). Built with cbor2 directly, not with the library's encoder.
    cose_key = cbor2.dumps({1: 1, -1: 6, -2: pub.raw})
    assert cose_key[:8] == bytes.fromhex("a301012006215820")
    assert pub.key_id == hashlib.sha256(cose_key).digest()
    assert pub.key_id_hex == pub.key_id.hex()
    assert key(1).key_id == pub.key_id
    assert key(2).key_id != pub.key_id


def test_public_key_equality_ignores_derived_fields() -> None:
    a = op.PublicKey.from_raw(key(1).public_key.raw)
    assert a == key(1).public_key
    assert hash(a) == hash(key(1).public_key)
    assert a != key(2).public_key


def test_pem_round_trip() -> None:
    pub = key(3).public_key
    pem = pub.to_pem()
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert op.PublicKey.from_pem(pem) == pub
    assert op.PublicKey.from_pem(pem.decode()) == pub
    # The same bytes cryptography writes for the key.
    loaded = serialization.load_pem_public_key(pem)
    assert loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == pub.raw


@pytest.mark.parametrize(
    "pem",
    [
        b"",
        b"not a key",
        b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
        b"x" * 5000,
    ],
)
def test_from_pem_garbage(pem: bytes) -> None:
    with pytest.raises(op.KeyFormatError) as info:
        op.PublicKey.from_pem(pem)
    assert info.value.code == "E_KEY_FORMAT"


@pytest.mark.parametrize("other", [ec.generate_private_key(ec.SECP256R1()), ed448.Ed448PrivateKey.generate()])
def test_from_pem_other_algorithm(other: ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey) -> None:
    pem = other.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(op.KeyFormatError) as info:
        op.PublicKey.from_pem(pem)
    assert info.value.code == "E_KEY_FORMAT"


@pytest.mark.parametrize("backend", available_backends())
def test_sign_verify(backend: str) -> None:
    k = key(4)
    sig = k.sign(b"message")
    assert len(sig) == 64
    assert verifies(k.public_key.verify, sig, b"message", backend=backend)
    assert not verifies(k.public_key.verify, sig, b"messagE", backend=backend)
    assert not verifies(key(5).public_key.verify, sig, b"message", backend=backend)
    assert not verifies(k.public_key.verify, sig[:63], b"message", backend=backend)
    assert not verifies(k.public_key.verify, sig + b"\x00", b"message", backend=backend)
    assert not verifies(k.public_key.verify, b"\x00" * 64, b"message", backend=backend)


def test_verify_default_backend_and_unknown_backend() -> None:
    k = key(4)
    sig = k.sign(b"m")
    assert ed25519_backend() == available_backends()[0]
    assert verifies(k.public_key.verify, sig, b"m")
    with pytest.raises(ValueError):
        verifies(k.public_key.verify, sig, b"m", backend="gpg")


def test_s_not_reduced_is_refused() -> None:
    # S + L verifies the same equation but is a second encoding: both backends refuse it.
    ell = 2**252 + 27742317777372353535851937790883648493
    k = key(4)
    sig = k.sign(b"m")
    s = int.from_bytes(sig[32:], "little") + ell
    malleated = sig[:32] + s.to_bytes(32, "little")
    for backend in available_backends():
        assert not verifies(k.public_key.verify, malleated, b"m", backend=backend)


def test_from_seed() -> None:
    assert key(1).public_key == op.PrivateKey.from_seed(b"\x01" * 32).public_key
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_seed(b"\x01" * 31)
    assert info.value.code == "E_KEY_FORMAT"


def test_generate_is_random_and_a_signer() -> None:
    a, b = op.PrivateKey.generate(), op.PrivateKey.generate()
    assert a.public_key != b.public_key
    assert isinstance(a, op.Signer)


def test_repr_does_not_leak_the_seed() -> None:
    k = key(7)
    seed_hex = (b"\x07" * 32).hex()
    assert seed_hex[:16] not in repr(k)
    assert k.key_id.hex()[:16] in repr(k)


# ---- key files ------------------------------------------------------------------------------------------------


def test_key_file_round_trip() -> None:
    k = key(8)
    data = k.to_key_file(b"m\xe1t kh\xe1u", kdf_log2_n=FAST)
    assert data.startswith(b"-----BEGIN OCOP ED25519 PRIVATE KEY-----")
    assert b"\x08" * 8 not in base64.b64decode(b"".join(data.splitlines()[1:-1]))
    again = op.PrivateKey.from_key_file(data, b"m\xe1t kh\xe1u")
    assert again.public_key == k.public_key
    assert again.sign(b"x") == k.sign(b"x")


def test_key_file_is_salted() -> None:
    k = key(8)
    assert k.to_key_file(b"pw", kdf_log2_n=FAST) != k.to_key_file(b"pw", kdf_log2_n=FAST)


@pytest.mark.parametrize("passphrase", [b"wrong", b"pw ", b"PW"])
def test_key_file_wrong_passphrase(passphrase: bytes) -> None:
    data = key(8).to_key_file(b"pw", kdf_log2_n=FAST)
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_key_file(data, passphrase)
    assert info.value.code == "E_PASSPHRASE"


@pytest.mark.parametrize("passphrase", [None, b""])
def test_key_file_needs_a_passphrase(passphrase: bytes | None) -> None:
    data = key(8).to_key_file(b"pw", kdf_log2_n=FAST)
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_key_file(data, passphrase)
    assert info.value.code == "E_PASSPHRASE"


def _rearmour(fields: dict[int, object]) -> bytes:
    body = base64.b64encode(cbor2.dumps(dict(sorted(fields.items())))).decode()
    return f"-----BEGIN OCOP ED25519 PRIVATE KEY-----\n{body}\n-----END OCOP ED25519 PRIVATE KEY-----\n".encode()


def _fields(data: bytes) -> dict[int, object]:
    fields = cbor2.loads(base64.b64decode(b"".join(data.splitlines()[1:-1])))
    assert isinstance(fields, dict)
    return fields


@pytest.mark.parametrize("label", [3, 7, 8, 9])
def test_key_file_tampered(label: int) -> None:
    """Flipping a bit of the salt, nonce, sealed seed or public key is detected (authenticated header)."""
    data = key(8).to_key_file(b"pw", kdf_log2_n=FAST)
    fields = _fields(data)
    value = fields[label]
    assert isinstance(value, bytes)
    fields[label] = bytes((value[0] ^ 1,)) + value[1:]
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_key_file(_rearmour(fields), b"pw")
    assert info.value.code == "E_PASSPHRASE"


@pytest.mark.parametrize(
    ("label", "value"),
    [
        (4, 30),  # scrypt N = 2**30: would allocate 1 TiB
        (4, 13),
        (5, 1),
        (6, 2),
        (0, "other"),
        (1, 2),
        (1, True),  # CBOR true is not the integer 1
        (6, True),
        (2, "argon2"),
        (3, b"short"),
        (8, b"\x00" * 47),
        (9, "text"),
    ],
)
def test_key_file_fields_out_of_range(label: int, value: object) -> None:
    fields = _fields(key(8).to_key_file(b"pw", kdf_log2_n=FAST))
    fields[label] = value
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_key_file(_rearmour(fields), b"pw")
    assert info.value.code == "E_KEY_FORMAT"


def test_key_file_extra_label() -> None:
    fields = _fields(key(8).to_key_file(b"pw", kdf_log2_n=FAST))
    fields[10] = 1
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_key_file(_rearmour(fields), b"pw")
    assert info.value.code == "E_KEY_FORMAT"


def test_key_file_public_key_mismatch() -> None:
    """A file whose public key was swapped for another valid key, with the seed re-sealed over it, is refused."""
    fields = _fields(key(8).to_key_file(b"pw", kdf_log2_n=FAST))
    fields[9] = key(9).public_key.raw
    # Re-seal the same seed under the edited header so the AEAD check passes.
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    salt, nonce = fields[3], fields[7]
    assert isinstance(salt, bytes)
    assert isinstance(nonce, bytes)
    header = {k: v for k, v in fields.items() if k != 8}
    kek = Scrypt(salt=salt, length=32, n=2**FAST, r=8, p=1).derive(b"pw")
    fields[8] = ChaCha20Poly1305(kek).encrypt(nonce, b"\x08" * 32, cbor2.dumps(dict(sorted(header.items()))))
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_key_file(_rearmour(fields), b"pw")
    assert info.value.code == "E_KEY_FORMAT"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe",
        b"-----BEGIN OCOP ED25519 PRIVATE KEY-----\n-----END OCOP ED25519 PRIVATE KEY-----\n",
        b"-----BEGIN OCOP ED25519 PRIVATE KEY-----\n!!!!\n-----END OCOP ED25519 PRIVATE KEY-----\n",
        b"-----BEGIN OCOP ED25519 PRIVATE KEY-----\nAAAA\n-----END OCOP ED25519 PRIVATE KEY-----\n",
        b"-----BEGIN OTHER-----\nAAAA\n-----END OTHER-----\n",
        b"A" * 5000,
    ],
)
def test_key_file_garbage(data: bytes) -> None:
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_key_file(data, b"pw")
    assert info.value.code == "E_KEY_FORMAT"


@pytest.mark.parametrize("cost", [13, 18])
def test_key_file_cost_bounds(cost: int) -> None:
    with pytest.raises(op.KeyFormatError) as info:
        key(8).to_key_file(b"pw", kdf_log2_n=cost)
    assert info.value.code == "E_KEY_FORMAT"


def test_key_file_empty_passphrase_refused() -> None:
    with pytest.raises(op.KeyFormatError) as info:
        key(8).to_key_file(b"", kdf_log2_n=FAST)
    assert info.value.code == "E_PASSPHRASE"


# ---- write_private_key / read_private_key -----------------------------------------------------------------------

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


@posix_only
def test_write_read_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "coop.key"
    op.write_private_key(path, key(10), b"pw", kdf_log2_n=FAST)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert op.read_private_key(path, b"pw").public_key == key(10).public_key


@posix_only
def test_write_mode_ignores_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        op.write_private_key(tmp_path / "k", key(10), b"pw", kdf_log2_n=FAST)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


def test_write_refuses_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "coop.key"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        op.write_private_key(path, key(10), b"pw", kdf_log2_n=FAST)
    assert path.read_bytes() == b"precious"


@posix_only
def test_write_refuses_through_symlink(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"precious")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(FileExistsError):
        op.write_private_key(link, key(10), b"pw", kdf_log2_n=FAST)
    assert target.read_bytes() == b"precious"


def test_write_plaintext_needs_explicit_consent(tmp_path: Path) -> None:
    path = tmp_path / "plain.key"
    with pytest.raises(op.KeyFormatError) as info:
        op.write_private_key(path, key(10), None)
    assert info.value.code == "E_PASSPHRASE"
    assert not path.exists()
    op.write_private_key(path, key(10), None, insecure_plaintext=True)
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert op.read_private_key(path, None).public_key == key(10).public_key


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o610])
def test_read_refuses_accessible_file(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "coop.key"
    op.write_private_key(path, key(10), b"pw", kdf_log2_n=FAST)
    path.chmod(mode)
    with pytest.raises(op.KeyFormatError) as info:
        op.read_private_key(path, b"pw")
    assert info.value.code == "E_KEY_PERMS"


@posix_only
def test_read_accepts_0400(tmp_path: Path) -> None:
    path = tmp_path / "coop.key"
    op.write_private_key(path, key(10), b"pw", kdf_log2_n=FAST)
    path.chmod(0o400)
    assert op.read_private_key(path, b"pw").public_key == key(10).public_key


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        op.read_private_key(tmp_path / "absent", b"pw")


# ---- PKCS#8 -----------------------------------------------------------------------------------------------------


def test_pkcs8_round_trip_unencrypted() -> None:
    pem = key(11).to_pkcs8_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert op.PrivateKey.from_pkcs8_pem(pem).public_key == key(11).public_key
    # Interop: cryptography reads it as the same key.
    other = serialization.load_pem_private_key(pem, password=None)
    assert other.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ) == key(11).public_key.raw  # fmt: skip


def test_pkcs8_round_trip_encrypted() -> None:
    pem = key(11).to_pkcs8_pem(b"pw")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert op.PrivateKey.from_pkcs8_pem(pem, b"pw").public_key == key(11).public_key
    assert op.PrivateKey.from_key_file(pem, b"pw").public_key == key(11).public_key


def test_pkcs8_wrong_or_missing_passphrase() -> None:
    pem = key(11).to_pkcs8_pem(b"pw")
    for passphrase in (None, b"bad"):
        with pytest.raises(op.KeyFormatError) as info:
            op.PrivateKey.from_pkcs8_pem(pem, passphrase)
        assert info.value.code == "E_PASSPHRASE"


def test_pkcs8_passphrase_for_unencrypted_key() -> None:
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_pkcs8_pem(key(11).to_pkcs8_pem(), b"pw")
    assert info.value.code == "E_PASSPHRASE"


def test_pkcs8_other_algorithm() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_pkcs8_pem(pem)
    assert info.value.code == "E_KEY_FORMAT"


def test_pkcs8_garbage() -> None:
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_pkcs8_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert info.value.code == "E_KEY_FORMAT"
