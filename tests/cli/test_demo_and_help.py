"""ocop demo, --help and the exit-code mapping."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import ocop_provenance as op
import pytest

from ocop_cli.context import CliError, ExitCode
from ocop_cli.main import cli, exit_code_for

from .conftest import Env


def _demo_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("ocop-demo-*"))


def test_demo_runs_end_to_end_and_cleans_up(env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OCOP_PASSPHRASE")  # the demo needs nothing from the user
    # A private temporary root, so demos run by other tests at the same moment cannot disturb the count.
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    before = _demo_dirs()
    assert before == set()
    result = env.run("demo")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for text in ("Đông trùng hạ thảo tươi", "Đông trùng hạ thảo sấy khô", "ocop:drying", "inspecting", "VERIFIED"):
        assert text in out
    assert "NOT VERIFIED" in out
    assert "caught" in out
    assert str(private_tmp) in out  # it worked where we looked, and removed its directory afterwards
    assert _demo_dirs() == before
    assert not env.home.exists()  # the user's own home is untouched


def test_demo_json(env: Env) -> None:
    doc = env.json("demo")
    assert doc["verified"] is True
    assert doc["tamper"]["caught"] is True
    assert doc["tamper"]["code"] == "E_SIGNATURE"
    assert doc["bundle"]["batches"] == 2
    assert set(doc["keys"]) == {"coop", "workshop", "lab"}


def test_demo_keep(env: Env) -> None:
    result = env.run("demo", "--keep")
    assert result.exit_code == 0
    kept = [line.split(" ", 1)[1] for line in result.stderr.splitlines() if line.startswith("kept ")]
    assert len(kept) == 1
    path = Path(kept[0])
    assert (path / "dried.ocop").exists()
    import shutil

    shutil.rmtree(path)


def test_help_lists_exit_codes(env: Env) -> None:
    text = env.ok("--help").stdout
    for line in ("0  ok / verified", "1  verification failed", "2  usage error", "3  bad input"):
        assert line in text


@pytest.mark.parametrize(
    "args",
    [
        ("key", "--help"),
        ("key", "new", "--help"),
        ("key", "list", "--help"),
        ("key", "export", "--help"),
        ("batch", "--help"),
        ("batch", "new", "--help"),
        ("batch", "list", "--help"),
        ("batch", "show", "--help"),
        ("step", "add", "--help"),
        ("export", "--help"),
        ("verify", "--help"),
        ("demo", "--help"),
    ],
)
def test_every_command_has_help(env: Env, args: tuple[str, ...]) -> None:
    assert env.ok(*args).stdout.startswith("Usage: ")


def test_hidden_kdf_cost_is_not_advertised(env: Env) -> None:
    assert "kdf" not in env.ok("key", "new", "--help").stdout


def test_passphrase_never_an_option(env: Env) -> None:
    for command in (("key", "new"), ("batch", "new"), ("step", "add")):
        assert "--passphrase " not in env.ok(*command, "--help").stdout
    assert env.run("key", "new", "coop", "--passphrase", "x").exit_code == 2


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (op.TamperError("x"), ExitCode.VERIFY_FAILED),
        (op.SignatureError("x"), ExitCode.BAD_INPUT),
        (op.FormatError("x"), ExitCode.BAD_INPUT),
        (op.KeyFormatError("x", code="E_PASSPHRASE"), ExitCode.BAD_INPUT),
        (op.NotFoundError("x"), ExitCode.BAD_INPUT),
        (op.ConflictError("x"), ExitCode.BAD_INPUT),
        (FileNotFoundError(2, "No such file"), ExitCode.BAD_INPUT),
        (CliError("x"), ExitCode.BAD_INPUT),
        (CliError("x", exit_code=ExitCode.USAGE), ExitCode.USAGE),
        (RuntimeError("bug"), ExitCode.INTERNAL),
    ],
)
def test_exit_code_mapping(exc: BaseException, code: ExitCode) -> None:
    assert exit_code_for(exc) == code


def test_internal_errors_are_exit_4_without_traceback(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from ocop_cli import keystore

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(keystore, "list_keys", boom)
    result = env.run("key", "list")
    assert result.exit_code == 4
    assert "simulated bug" in result.stderr
    assert "Traceback" not in result.stderr
    verbose = env.run("--verbose", "key", "list")
    assert "Traceback" in verbose.stderr


def test_interrupt_is_130(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from ocop_cli import keystore

    def interrupt(*_a: object, **_k: object) -> None:
        raise click.Abort

    monkeypatch.setattr(keystore, "list_keys", interrupt)
    assert env.run("key", "list").exit_code == 130


def test_root_group_is_the_console_script() -> None:
    from ocop_cli import main

    assert main.cli is cli


def test_progress_bar_only_on_a_terminal(
    env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from ocop_cli.context import Context
    from ocop_cli.render import Output

    renderer = Output(Context(home=env.home))
    with renderer.progress("verifying") as update:
        update(1024, 4096)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with renderer.progress("verifying") as update:
        update(1024, 4096)
        update(4096, 4096)
    assert "verifying" in capsys.readouterr().err
    json_renderer = Output(Context(home=env.home, json=True))
    with json_renderer.progress("verifying") as update:
        update(4096, 4096)
    assert capsys.readouterr().err == ""
