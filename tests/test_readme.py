"""The README's library example runs as written."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_has_one_library_example() -> None:
    assert len(_python_blocks()) == 1


def test_readme_example_runs() -> None:
    (code,) = _python_blocks()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    assert out.getvalue() == "2 events verified for Đông trùng hạ thảo sấy khô\n"


def test_readme_quickstart_is_exactly_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    quickstart = text.split("## Quickstart", 1)[1].split("##", 1)[0]
    (block,) = re.findall(r"```\n(.*?)```", quickstart, flags=re.DOTALL)
    assert block.split("\n")[:-1] == ["python3 tasks.py demo", "python3 tasks.py check"]


@pytest.mark.slow
def test_readme_example_passes_mypy_strict(tmp_path: Path) -> None:
    """A library user's type checker accepts the example as written (it runs mypy --strict in a subprocess)."""
    (code,) = _python_blocks()
    (tmp_path / "readme_example.py").write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".mypy"), "readme_example.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_docs_index_lists_every_document_and_decision_record() -> None:
    docs = README.parent / "docs"
    index = (docs / "index.md").read_text(encoding="utf-8")
    missing = [p.name for p in sorted(docs.glob("*.md")) if p.name != "index.md" and f"({p.name})" not in index]
    missing += [p.name for p in sorted((docs / "adr").glob("*.md")) if f"(adr/{p.name})" not in index]
    assert missing == []
