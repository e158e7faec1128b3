#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+.

python3 tasks.py demo    create .venv, install, run `ocop demo`
python3 tasks.py check   create .venv, install with dev tools, run format check, lint, types,
                         import contracts and the whole test suite
python3 tasks.py bench   run the benchmarks (see docs/performance.md)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

if sys.version_info < (3, 11):  # noqa: UP036 - this script is what tells an older Python to go away
    sys.exit("ocop-provenance needs Python 3.11 or newer")

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
# pycose 1.1 decodes only with cbor2 < 6 and this library needs cbor2 >= 6: the interop peer gets its own venv.
INTEROP_VENV = ROOT / ".venv-interop"
INTEROP_REQUIREMENTS = ("pycose==1.1.0", "cbor2>=5.4,<6")


def _run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), file=sys.stderr, flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)  # noqa: S603


def _setup(extras: str) -> None:
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    _run(
        BIN / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-e",
        f".[{extras}]",
    )


def _setup_interop() -> Path:
    """Create .venv-interop with the independent COSE implementation; return its interpreter."""
    python = INTEROP_VENV / ("Scripts" if os.name == "nt" else "bin") / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(INTEROP_VENV)
    _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *INTEROP_REQUIREMENTS)
    return python


def _node() -> str:
    """Return Node.js 20+, which the JavaScript verifier's tests need (tests/js); exit with a message without it."""
    node = shutil.which("node")
    if node is None:
        sys.exit("the check needs Node.js 20 or newer for the JavaScript verifier's tests (node --test tests/js)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603
    if int(version.lstrip("v").split(".")[0]) < 20:
        sys.exit(f"the check needs Node.js 20 or newer for the JavaScript verifier's tests, found {version}")
    return node


def main() -> None:
    """Run the task named on the command line."""
    task = sys.argv[1] if len(sys.argv) > 1 else "help"
    if task == "demo":
        _setup("cli,fast")
        _run(BIN / "ocop", "demo")
    elif task == "check":
        _setup("dev")
        py = BIN / "python"
        _run(py, "-m", "ruff", "format", "--check", ".")
        _run(py, "-m", "ruff", "check", ".")
        _run(py, "-m", "mypy")
        _run(BIN / "lint-imports")
        _run(_node(), "--test", "tests/js")
        interop = _setup_interop()
        _run(py, "-m", "pytest", *sys.argv[2:], env={**os.environ, "OCOP_INTEROP_PYTHON": str(interop)})
    elif task == "bench":
        _setup("dev")
        _run(BIN / "python", "-m", "benchmarks", *sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(0 if task == "help" else 2)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as e:
        sys.exit(e.returncode or 1)
