"""Hatchling build hook: compile gettext catalogues (.po) into .mo files at build time.

Every ``<package>/**/locale/<lang>/LC_MESSAGES/<domain>.po`` under the packages the wheel ships is compiled with
Babel into the ``.mo`` beside it. Compiled files are build products, never committed (``*.mo`` is in .gitignore):

* for an editable install the ``.mo`` files are written into the source tree, where the installed package reads
  them (each ``pip install -e .`` compiles them again);
* for a wheel they are compiled into a temporary directory and force-included at the package's path, because
  hatchling leaves out files that .gitignore names.

A catalogue with a fuzzy or missing translation still compiles (gettext falls back to the message id); the tests
check that every message is translated.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def _catalogues(root: Path, packages: list[str]) -> list[Path]:
    found: list[Path] = []
    for package in packages:
        found.extend(sorted((root / package).glob("**/locale/*/LC_MESSAGES/*.po")))
    return found


def compile_catalogue(po: Path, mo: Path) -> None:
    """Compile one .po file into ``mo`` (Babel's reader and writer, as ``pybabel compile`` does)."""
    from babel.messages.mofile import write_mo  # noqa: PLC0415 - a build requirement, needed only here
    from babel.messages.pofile import read_po  # noqa: PLC0415

    with po.open("rb") as f:
        catalog = read_po(f)
    mo.parent.mkdir(parents=True, exist_ok=True)
    with mo.open("wb") as f:
        write_mo(f, catalog, use_fuzzy=False)


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compile the gettext catalogues of every shipped package."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return  # an sdist ships the .po sources; the wheel built from it compiles them
        root = Path(self.root)
        packages = self.build_config.target_config.get("packages", [])
        catalogues = _catalogues(root, list(packages))
        if version == "editable":
            for po in catalogues:
                compile_catalogue(po, po.with_suffix(".mo"))
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="ocop-mo-")
        out = Path(self._tmp.name)
        for po in catalogues:
            rel = po.relative_to(root)
            # cli/ocop_cli/... is installed as ocop_cli/...: drop the source folder hatchling strips.
            package = next(p for p in packages if rel.as_posix().startswith(p.rstrip("/") + "/"))
            inside = rel.relative_to(Path(package).parent) if "/" in package else rel
            target = out / inside.with_suffix(".mo")
            compile_catalogue(po, target)
            build_data["force_include"][str(target)] = inside.with_suffix(".mo").as_posix()

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()
