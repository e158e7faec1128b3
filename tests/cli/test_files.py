"""Files meant to be shared are readable (issue 13): exports, codes, label sheets, manifests, trust lists, policies
and drafts get the permissions of any new file (the umask decides; a file being replaced keeps its own), private
keys stay 0600, and an error names the user's path, never a temporary file."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import PRODUCT, Env, step
from .trust_setup import make_policy, make_trust

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
R = "https://id.example.vn"


@pytest.fixture(params=[0o022, 0o027])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def batch(env: Env, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OCOP_RESOLVER", R)
    env.new_key("coop")
    created = env.new_batch("coop", PRODUCT, "L2411-01", "--gtin", "08931234567897")
    assert step(env, created, "commissioning", "2024-11-01T09:00:00+07:00").exit_code == 0
    return created


def test_shared_files_honour_the_umask_and_keys_stay_private(umask: int, env: Env, batch: str) -> None:
    out = env.tmp / "out"
    out.mkdir()
    env.ok("export", batch, "-o", str(out / "batch.ocop"))
    env.ok("export", batch, "--cose-seq", "-o", str(out / "batch.cose"))
    env.ok("qr", "make", batch, "--key", "coop", "-o", str(out / "code.png"))
    env.ok("qr", "make", batch, "--key", "coop", "-o", str(out / "code.svg"))
    env.ok(
        "qr", "labels", batch, "--key", "coop", "--count", "2", "-o", str(out / "sheet.pdf"),
        "--manifest", str(out / "units.csv"),
    )  # fmt: skip
    authority = make_trust(env)
    policy = make_policy(env)
    shared = [*out.iterdir(), authority.draft, authority.signed, policy, env.tmp / "policy.json"]
    expected = 0o666 & ~umask
    assert {p.name: mode(p) for p in shared} == {p.name: expected for p in shared}
    keys = env.home / "keys"
    assert {p.name: mode(p) for p in keys.glob("*.key")} == {p.name: 0o600 for p in keys.glob("*.key")}
    assert {mode(p) for p in keys.glob("*.pub")} == {expected}
    assert leftovers(out) == []
    assert leftovers(env.tmp) == []


def test_a_replaced_file_keeps_its_permissions(env: Env, batch: str) -> None:
    target = env.tmp / "batch.ocop"
    env.ok("export", batch, "-o", str(target))
    target.chmod(0o600)  # the user restricted it
    before = target.stat().st_ino
    env.ok("export", batch, "-o", str(target))
    assert target.stat().st_ino != before  # replaced, not rewritten in place
    assert mode(target) == 0o600


@pytest.mark.parametrize("where", ["missing-directory", "a-directory"])
def test_errors_name_the_users_path_not_a_temporary_file(env: Env, batch: str, where: str) -> None:
    if where == "missing-directory":
        target = env.tmp / "no" / "such" / "batch.ocop"
    else:
        target = env.tmp / "batch.ocop"
        target.mkdir()  # replacing a directory with the export fails at the very end
    for args in (
        ("export", batch, "-o", str(target)),
        ("qr", "make", batch, "--key", "coop", "-o", str(target.with_suffix(".png"))),
    ):
        if where == "a-directory" and args[0] == "qr":
            target.with_suffix(".png").mkdir()
        result = env.run(*args)
        assert result.exit_code == 3, result.stderr
        assert ".tmp" not in result.stderr
        named = str(target) if args[0] == "export" else str(target.with_suffix(".png"))
        assert named in result.stderr, result.stderr
        doc = env.json(*args, code=3)
        assert doc["error"]["code"] == "E_IO"
        assert doc["error"]["path"] == named
    assert leftovers(env.tmp) == []


def test_trust_list_errors_name_the_users_path(env: Env) -> None:
    env.new_key("a1")
    blocker = env.tmp / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    target = blocker / "draft.json"  # its parent is a file
    result = env.run(
        "trust", "init", "-o", str(target), "--issuer", "Sở Công Thương", "--authority-key", "a1",
        "--expires", "2099-01-01T00:00:00Z",
    )  # fmt: skip
    assert result.exit_code == 3
    assert str(target) in result.stderr
    assert ".tmp" not in result.stderr
