#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+.

python3 tasks.py demo    create .venv, install, run `ocop demo`
python3 tasks.py check   create .venv, install with dev tools, run format check, lint, types,
                         import contracts, the JavaScript verifier's tests (Node.js 20+) and the whole
                         test suite (in parallel, slow tests included);
                         arguments after `check` go to pytest, e.g. `check -m "not slow"` or `check -n 0`
python3 tasks.py quick   the same check without the tests marked slow (kill loops, process races,
                         real CLI processes): for a developer between edits, not instead of `check`
python3 tasks.py bench   run the benchmarks (see docs/performance.md)

A venv is installed again only when pyproject.toml, the Python version or the interop pins changed since its
last successful install (a stamp file inside it records them); delete .venv or .venv-interop to force it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

if sys.version_info < (3, 11):  # noqa: UP036 - this script is what tells an older Python to go away
    sys.exit("ocop-provenance needs Python 3.11 or newer")

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
# pycose 1.1 decodes only with cbor2 < 6 and this library needs cbor2 >= 6: the interop peer gets its own venv.
INTEROP_VENV = ROOT / ".venv-interop"
INTEROP_REQUIREMENTS = ("pycose==1.1.0", "cbor2>=5.4,<6")
STAMP = ".ocop-installed"
# The whole suite in parallel: one pytest-xdist worker per CPU; worksteal keeps both busy to the end.
PARALLEL = ("-n", "logical", "--dist", "worksteal")


def _say(text: str) -> None:
    """One line to stderr in one write, so that lines from the set-up thread do not interleave with others."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    _say("+ " + " ".join(str(a) for a in args))
    start = time.monotonic()
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)  # noqa: S603
    _say(f"  ({time.monotonic() - start:.1f} s: {_label(args)})")


def _label(args: tuple[str | Path, ...]) -> str:
    """The short name of a command: the module of ``python -m module``, else the program's name."""
    if len(args) > 2 and args[1] == "-m":
        return str(args[2])
    return Path(args[0]).name


def _run_captured(*args: str | Path) -> tuple[str, subprocess.CompletedProcess[str]]:
    """Run a command with its output kept, so that commands run side by side do not interleave their output."""
    start = time.monotonic()
    done = subprocess.run([str(a) for a in args], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    line = f"+ {' '.join(str(a) for a in args)}\n  ({time.monotonic() - start:.1f} s: {_label(args)})"
    return line, done


def _stamp(what: tuple[str, ...]) -> str:
    """What an install of ``what`` depends on: the Python version, the requirements and pyproject.toml."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return hashlib.sha256("\n".join([sys.version, *what, pyproject]).encode()).hexdigest()


def _install(venv_dir: Path, what: tuple[str, ...], *, or_: tuple[str, ...] = ()) -> Path:
    """Create ``venv_dir`` if needed and pip-install ``what`` into it, unless its stamp says that is done.

    ``or_``: another install (e.g. ``-e .[dev]``) that includes this one and, if done, is just as good.
    """
    python = venv_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    stamp = venv_dir / STAMP
    key = _stamp(what)
    good = {key, _stamp(or_)} if or_ else {key}
    if python.exists() and stamp.exists() and stamp.read_text(encoding="ascii") in good:
        _say(f"+ {venv_dir.name} is up to date (delete it to reinstall)")
        return python
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(venv_dir)
    stamp.unlink(missing_ok=True)
    _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *what)
    stamp.write_text(key, encoding="ascii")  # only after a successful install
    return python


def _setup(extras: str) -> None:
    # The dev extra includes every other: a venv installed for `check` serves `demo` too.
    _install(VENV, ("-e", f".[{extras}]"), or_=("-e", ".[dev]"))


def _setup_interop() -> Path:
    """Create .venv-interop with the independent COSE implementation; return its interpreter."""
    return _install(INTEROP_VENV, INTEROP_REQUIREMENTS)


def _node() -> str:
    """Return Node.js 20+, which the JavaScript verifier's tests need (tests/js); exit with a message without it."""
    node = shutil.which("node")
    if node is None:
        sys.exit("the check needs Node.js 20 or newer for the JavaScript verifier's tests (node --test tests/js)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603
    if int(version.lstrip("v").split(".")[0]) < 20:
        sys.exit(f"the check needs Node.js 20 or newer for the JavaScript verifier's tests, found {version}")
    return node


def _check(pytest_args: list[str]) -> None:
    """Format check, lint, types, import contracts, then the tests; set-up overlaps with the checks where it can."""
    node = _node()  # before any set-up: without Node.js the check cannot pass
    with ThreadPoolExecutor(max_workers=4) as pool:
        # The interop venv is needed only by the tests: build it while the main venv installs and mypy runs.
        interop: Future[Path] = pool.submit(_setup_interop)
        _setup("dev")
        py = BIN / "python"
        _run(py, "-m", "ruff", "format", "--check", ".")
        _run(py, "-m", "ruff", "check", ".")
        # mypy, import-linter and the JavaScript verifier's node tests (which need neither venv) each use about one
        # core: run them side by side, report each, fail if any failed.
        checks = [
            pool.submit(_run_captured, py, "-m", "mypy"),
            pool.submit(_run_captured, BIN / "lint-imports"),
            pool.submit(_run_captured, node, "--test", "tests/js"),
        ]
        failed = 0
        for future in checks:
            line, done = future.result()
            _say(line)
            print(done.stdout, end="", flush=True)
            print(done.stderr, end="", file=sys.stderr, flush=True)
            failed = failed or done.returncode
        interop_python = interop.result()
        if failed:
            sys.exit(failed)
    env = {**os.environ, "OCOP_INTEROP_PYTHON": str(interop_python)}
    _run(BIN / "python", "-m", "pytest", *PARALLEL, *pytest_args, env=env)


def main() -> None:
    """Run the task named on the command line."""
    task = sys.argv[1] if len(sys.argv) > 1 else "help"
    if task == "demo":
        _setup("cli,fast")
        _run(BIN / "ocop", "demo")
    elif task == "check":
        _check(sys.argv[2:])
    elif task == "quick":
        _check(["-m", "not slow", *sys.argv[2:]])
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
