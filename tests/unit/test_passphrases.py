"""Passphrases as text: NFC-normalised and UTF-8 encoded everywhere the library takes one, as the CLI does."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import ocop_provenance as op
import pytest

from tests.conftest import key

NFC = "Mật khẩu của hợp tác xã Nghi Sơn"
NFD = unicodedata.normalize("NFD", NFC)
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "bundle.json"


def test_the_two_forms_differ_as_bytes() -> None:
    assert NFC != NFD
    assert NFC.encode() != NFD.encode()


@pytest.mark.parametrize(("written", "read"), [(NFD, NFC), (NFC, NFD), (NFD, NFC.encode()), (NFC.encode(), NFD)])
def test_a_key_file_opens_with_either_form(tmp_path: Path, written: str | bytes, read: str | bytes) -> None:
    path = tmp_path / "coop.key"
    op.write_private_key(path, key(1), written, kdf_log2_n=14)
    assert op.read_private_key(path, read).public_key == key(1).public_key


def test_key_file_methods_take_text() -> None:
    data = key(2).to_key_file(NFD, kdf_log2_n=14)
    assert op.PrivateKey.from_key_file(data, NFC).public_key == key(2).public_key
    with pytest.raises(op.KeyFormatError) as info:
        op.PrivateKey.from_key_file(data, "mật khẩu khác")
    assert info.value.code == "E_PASSPHRASE"


def test_pkcs8_takes_text() -> None:
    pem = key(3).to_pkcs8_pem(NFD)
    assert b"ENCRYPTED" in pem
    assert op.PrivateKey.from_pkcs8_pem(pem, NFC).public_key == key(3).public_key
    assert op.PrivateKey.from_key_file(pem, NFC).public_key == key(3).public_key


def test_the_committed_key_file_vector_opens_with_text() -> None:
    kf = json.loads(VECTORS.read_text(encoding="utf-8"))["key_file"]
    decomposed = unicodedata.normalize("NFD", kf["passphrase"])
    opened = op.PrivateKey.from_key_file(kf["file"].encode("ascii"), decomposed)
    assert opened.public_key == op.PrivateKey.from_seed(bytes.fromhex(kf["seed"])).public_key


@pytest.mark.parametrize("bad", ["", "\ud800 nửa cặp"])
def test_empty_or_invalid_text_is_refused(bad: str) -> None:
    with pytest.raises(op.KeyFormatError) as info:
        key(4).to_key_file(bad, kdf_log2_n=14)
    assert info.value.code == "E_PASSPHRASE"


def test_other_types_are_refused() -> None:
    with pytest.raises(TypeError):
        key(4).to_key_file(1234, kdf_log2_n=14)  # type: ignore[arg-type]
