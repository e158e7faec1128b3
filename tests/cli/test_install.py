"""Installing ocop for real use (issue 13): ``python3 tasks.py build`` makes a wheel that holds the CLI."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ocop_cli.render.explain import explain_error

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_build_makes_a_wheel_and_an_sdist_with_the_cli(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "tasks.py"), "build", "--outdir", str(tmp_path)], check=True, cwd=ROOT)
    wheels = list(tmp_path.glob("ocop_provenance-*-py3-none-any.whl"))
    assert len(wheels) == 1
    assert len(list(tmp_path.glob("ocop_provenance-*.tar.gz"))) == 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
        assert "ocop_cli/main.py" in names
        assert "ocop_provenance/__init__.py" in names
        assert "ocop_provenance/fonts/DejaVuSans-vi.ttf" in names
        info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "ocop = ocop_cli.main:main" in wheel.read(info).decode()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    for extra in ("cli", "qr", "fast"):
        assert f"Provides-Extra: {extra}" in metadata


def test_missing_extra_says_how_to_install_it_from_this_repository() -> None:
    explanation = explain_error("E_MISSING_EXTRA")
    assert explanation is not None
    assert "python3 tasks.py build" in explanation
    assert "[cli,qr]" in explanation
    assert "build" in (ROOT / "tasks.py").read_text(encoding="utf-8")


def test_the_demo_environment_has_what_the_demo_runs() -> None:
    """``python3 tasks.py demo`` draws codes and label sheets (qr) and serves the portal (portal)."""
    spec = importlib.util.spec_from_file_location("ocop_tasks", ROOT / "tasks.py")
    assert spec is not None
    assert spec.loader is not None
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    assert {"cli", "qr", "portal"} <= set(tasks.DEMO_EXTRAS.split(","))
