"""ocop key new / list / export, passphrases and key files."""

from __future__ import annotations

import os
import re
import stat

import ocop_provenance as op
import pytest

from .conftest import PASSPHRASE, Env


def test_key_new_prints_the_key_id_alone(env: Env) -> None:
    result = env.ok("key", "new", "coop")
    assert re.fullmatch(r"[0-9a-f]{64}\n", result.stdout)
    key_file = env.home / "keys" / "coop.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert op.read_private_key(key_file, PASSPHRASE.encode()).key_id.hex() == result.stdout.strip()


def test_key_export_is_pem_spki_of_that_key(env: Env) -> None:
    key_id = env.new_key()
    pem = env.ok("key", "export", "coop").stdout
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert op.PublicKey.from_pem(pem).key_id_hex == key_id


def test_key_list_text_and_json(env: Env) -> None:
    ids = {name: env.new_key(name) for name in ("coop", "lab")}
    text = env.ok("key", "list").stdout.splitlines()
    assert [line.split()[:2] for line in text] == [["coop", ids["coop"]], ["lab", ids["lab"]]]
    doc = env.json("key", "list")
    assert [(k["name"], k["key_id"], k["encrypted"]) for k in doc["keys"]] == [
        ("coop", ids["coop"], True),
        ("lab", ids["lab"], True),
    ]


def test_key_list_on_an_empty_home(env: Env) -> None:
    assert env.ok("key", "list").stdout == ""
    assert env.json("key", "list")["keys"] == []


def test_key_new_refuses_an_existing_name(env: Env) -> None:
    first = env.new_key()
    result = env.run("key", "new", "coop")
    assert result.exit_code == 3
    assert "E_KEY_EXISTS" in result.stderr
    assert env.ok("key", "export", "coop").stdout  # the old key is untouched
    assert op.PublicKey.from_pem(env.ok("key", "export", "coop").stdout).key_id_hex == first


@pytest.mark.parametrize("name", ["Coop", "../x", "", "a" * 33, "-x", "co op", "đông"])
def test_key_names_are_validated(env: Env, name: str) -> None:
    result = env.run("key", "new", name)
    assert result.exit_code == 2
    assert not (env.home / "keys").exists() or not list((env.home / "keys").iterdir())


def test_no_passphrase_and_no_terminal_is_a_clear_error(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCOP_PASSPHRASE")
    result = env.run("key", "new", "coop")
    assert result.exit_code == 3
    assert "E_PASSPHRASE" in result.stderr
    assert "OCOP_PASSPHRASE" in result.stderr
    assert not (env.home / "keys" / "coop.key").exists()


def test_passphrase_file_beats_the_environment(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = env.tmp / "pass.txt"
    secret.write_text("khóa bí mật\n", encoding="utf-8")
    env.ok("key", "new", "coop", "--passphrase-file", str(secret))
    key_file = env.home / "keys" / "coop.key"
    op.read_private_key(key_file, "khóa bí mật".encode())
    # Opening the key later with the wrong environment passphrase fails; with the file it works.
    failed = env.run(
        "batch", "new", "--key", "coop", "--product", "x", "--lot", "L1", "--quantity", "1", "--unit", "kg"
    )
    assert failed.exit_code == 3
    assert "E_PASSPHRASE" in failed.stderr
    monkeypatch.delenv("OCOP_PASSPHRASE")
    env.ok(
        "batch",
        "new",
        "--key",
        "coop",
        "--product",
        "x",
        "--lot",
        "L1",
        "--quantity",
        "1",
        "--unit",
        "kg",
        "--passphrase-file",
        str(secret),
    )


def test_passphrases_are_nfc_normalised(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import unicodedata

    monkeypatch.setenv("OCOP_PASSPHRASE", unicodedata.normalize("NFD", "Hóa"))
    env.new_key()
    op.read_private_key(env.home / "keys" / "coop.key", unicodedata.normalize("NFC", "Hóa").encode())


def test_insecure_unencrypted_key_is_loud_and_usable_without_a_passphrase(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OCOP_PASSPHRASE")
    result = env.run("key", "new", "coop", "--insecure-unencrypted-key")
    assert result.exit_code == 0
    assert "NOT encrypted" in result.stderr
    assert (env.home / "keys" / "coop.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert "UNENCRYPTED" in env.ok("key", "list").stdout
    assert env.json("key", "list")["keys"][0]["encrypted"] is False
    env.new_batch()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_key_file_readable_by_others_is_refused(env: Env) -> None:
    env.new_key()
    env.new_batch()
    before = env.ledger_state()
    (env.home / "keys" / "coop.key").chmod(0o644)
    result = env.run(
        "batch", "new", "--key", "coop", "--product", "x", "--lot", "L2", "--quantity", "1", "--unit", "kg"
    )
    assert result.exit_code == 3
    assert "E_KEY_PERMS" in result.stderr
    assert "chmod 600" in result.stderr
    assert env.ledger_state() == before


def test_mismatched_public_half_is_refused(env: Env) -> None:
    env.new_key("coop")
    env.new_key("lab")
    (env.home / "keys" / "coop.pub").write_bytes((env.home / "keys" / "lab.pub").read_bytes())
    result = env.run(
        "batch", "new", "--key", "coop", "--product", "x", "--lot", "L2", "--quantity", "1", "--unit", "kg"
    )
    assert result.exit_code == 3
    assert "E_KEY_MISMATCH" in result.stderr
    assert env.ledger_state() is None


def test_key_export_of_a_missing_key(env: Env) -> None:
    result = env.run("key", "export", "nobody")
    assert result.exit_code == 3
    assert "E_NO_KEY" in result.stderr
    doc = env.json("key", "export", "nobody", code=3)
    assert doc["ok"] is False
    assert doc["error"]["code"] == "E_NO_KEY"
    assert doc["exit_code"] == 3


def test_hidden_prompt_with_confirmation(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from ocop_cli import keystore

    monkeypatch.delenv("OCOP_PASSPHRASE")
    monkeypatch.setattr(keystore, "interactive", lambda: True)
    result = env.run("key", "new", "coop", input="một hai ba\nmột hai ba\n")
    assert result.exit_code == 0, result.stderr
    assert "một hai ba" not in result.stdout + result.stderr  # hidden
    op.read_private_key(env.home / "keys" / "coop.key", "một hai ba".encode())
    # Using the key asks once; a wrong answer is exit 3 and changes nothing.
    args = ("batch", "new", "--key", "coop", "--product", "x", "--lot", "L", "--quantity", "1", "--unit", "kg")
    wrong = env.run(*args, input="sai\n")
    assert wrong.exit_code == 3
    assert "E_PASSPHRASE" in wrong.stderr
    assert env.ledger_state() is None
    assert env.run(*args, input="một hai ba\n").exit_code == 0


def test_wrong_passphrase_leaves_the_ledger_unchanged(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.new_key()
    batch = env.new_batch()
    before = env.ledger_state()
    monkeypatch.setenv("OCOP_PASSPHRASE", "not the passphrase")
    result = env.run("step", "add", batch, "--key", "coop", "--step", "packing", "--where", "x")
    assert result.exit_code == 3
    assert "E_PASSPHRASE" in result.stderr
    assert "wrong passphrase" in result.stderr
    assert env.ledger_state() == before
    doc = env.json("step", "add", batch, "--key", "coop", "--step", "packing", "--where", "x", code=3)
    assert doc["error"]["code"] == "E_PASSPHRASE"
