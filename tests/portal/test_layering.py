"""The CLI imports the portal only to serve: every other command works without its dependencies."""

from __future__ import annotations

import subprocess
import sys


def test_cli_does_not_import_the_portal() -> None:
    code = (
        "import sys, ocop_cli.main; "
        "print(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('ocop_portal', 'fastapi', 'sqlalchemy', 'uvicorn')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
