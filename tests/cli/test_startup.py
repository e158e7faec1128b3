"""A command imports what it needs: the other commands' modules are loaded only when they run or help lists them."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from ocop_cli.main import COMMANDS, cli

PROBE = """
import json, sys
from ocop_cli.main import cli
try:
    cli.main(sys.argv[1:], prog_name="ocop")
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("ocop_cli."))))
"""


def _loaded(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, encoding="utf-8", timeout=60, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_a_command_loads_no_other_commands_module() -> None:
    loaded = _loaded("key", "--help")
    assert "ocop_cli.key" in loaded
    others = {f"ocop_cli.{module}" for module, _ in COMMANDS.values() if module != "key"}
    assert not loaded & others, sorted(loaded & others)


def test_help_lists_every_command() -> None:
    assert _loaded("--help") >= {f"ocop_cli.{module}" for module, _ in COMMANDS.values()}
    ctx = click.Context(cli)
    names = cli.list_commands(ctx)
    assert names == sorted(COMMANDS)
    for name in names:
        command = cli.get_command(ctx, name)
        assert command is not None
        assert command.name == name
