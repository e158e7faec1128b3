"""Fixtures for CLI tests: a fresh OCOP_HOME per test, a runner, and a snapshot of the ledger."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import ocop_provenance as op
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from ocop_provenance import _keys

from ocop_cli.main import cli

PRODUCT = "Đông trùng hạ thảo sấy khô"
FRESH = "Đông trùng hạ thảo tươi"
PLACE = "Nghi Sơn, Thanh Hóa"
PASSPHRASE = "mật khẩu thử nghiệm"


@dataclass
class Env:
    home: Path
    tmp: Path
    runner: CliRunner

    def run(self, *args: str, input: str | None = None) -> Result:  # noqa: A002 - click's name
        return self.runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    def ok(self, *args: str) -> Result:
        result = self.run(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result

    def json(self, *args: str, code: int = 0) -> dict[str, Any]:
        result = self.run(*args, "--json")
        assert result.exit_code == code, (result.stdout, result.stderr)
        doc = json.loads(result.stdout)
        assert doc["schema"] == "ocop.cli/1"
        return doc

    def ledger_state(self) -> object:
        """Everything that identifies the ledger's contents: each batch with its count and head."""
        path = self.home / "ledger.sqlite"
        if not path.exists():
            return None
        with op.Ledger.open(path) as ledger:
            return sorted((b.batch_id, b.count, b.head_id) for b in ledger.batches())

    def new_key(self, name: str = "coop") -> str:
        return self.ok("key", "new", name).stdout.strip()

    def new_batch(self, key: str = "coop", product: str = PRODUCT, lot: str = "L2411-01", *extra: str) -> str:
        return self.ok(
            "batch",
            "new",
            "--key",
            key,
            "--product",
            product,
            "--lot",
            lot,
            "--quantity",
            "120",
            "--unit",
            "kg",
            "--where",
            PLACE,
            "--at",
            "2024-11-01T08:00:00+07:00",
            *extra,
        ).stdout.strip()

    def pem(self, name: str = "coop") -> Path:
        path = self.tmp / f"{name}.pem"
        path.write_text(self.ok("key", "export", name).stdout, encoding="ascii")
        return path


class RememberedScrypt:
    """scrypt that computes each (salt, cost, passphrase) once per test process and remembers the key it derived.

    Every CLI command that signs opens its key file, and so runs scrypt (about 40 ms at the lowest cost the library
    accepts, 2**14): that was some 60% of the CLI tests' CPU time. scrypt is a pure function, so answering a repeated
    derivation from memory changes nothing the tests can observe: the key file format, the parameters read from the
    file and checked by the library, a wrong passphrase or an altered salt or cost (a different input: computed,
    and refused) all behave as before. Only the same derivation is not repeated. Tests of the KDF itself
    (tests/unit/test_keys.py) do not use it.
    """

    _derived: ClassVar[dict[tuple[bytes, int, int, int, int, bytes], bytes]] = {}

    def __init__(self, *, salt: bytes, length: int, n: int, r: int, p: int) -> None:
        self._params = (salt, length, n, r, p)

    def derive(self, key_material: bytes) -> bytes:
        salt, length, n, r, p = self._params
        entry = (*self._params, bytes(key_material))
        if entry not in self._derived:
            self._derived[entry] = Scrypt(salt=salt, length=length, n=n, r=r, p=p).derive(key_material)
        return self._derived[entry]


class OneSalt:
    """``secrets`` for the key-file writer, whose 16-byte scrypt salt is one value per test process.

    With :class:`RememberedScrypt`, a key made by ``ocop key new`` then costs no scrypt run after the first one in
    the process (a fresh salt made each new key cost one, some 40 ms: a third of the CLI tests' CPU time). What the
    tests observe is unchanged: the file format, the parameters checked on reading, a wrong passphrase refused. The
    nonce and every other random value stay random; the salts of the KDF's own tests (tests/unit) stay random too.
    """

    SALT: ClassVar[bytes] = secrets.token_bytes(16)

    @staticmethod
    def token_bytes(n: int) -> bytes:
        return OneSalt.SALT if n == len(OneSalt.SALT) else secrets.token_bytes(n)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    home = tmp_path / "home"
    monkeypatch.setenv("OCOP_HOME", str(home))
    monkeypatch.setenv("OCOP_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("OCOP_TEST_KDF_COST", "14")  # the lowest cost the library accepts: keeps tests quick
    monkeypatch.delenv("OCOP_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("OCOP_VERBOSE", raising=False)
    monkeypatch.setenv("OCOP_LANG", "en")  # English whatever the locale of the machine (tests/cli/test_languages.py)
    monkeypatch.setattr(_keys, "Scrypt", RememberedScrypt)
    monkeypatch.setattr(_keys, "secrets", OneSalt)
    return Env(home=home, tmp=tmp_path, runner=CliRunner())


def step(env: Env, batch: str, name: str, at: str, *extra: str, key: str = "coop") -> Result:
    return env.run("step", "add", batch, "--key", key, "--step", name, "--at", at, "--where", PLACE, *extra)


StepFn = Callable[..., Result]
