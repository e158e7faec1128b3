"""The Python examples in docs/ use the public API as it is: every name they take from ocop_provenance exists there,
and none is a deprecated root name (the examples are what developers copy)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import ocop_provenance
import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCKS = [
    (path.name, i, block)
    for path in sorted(DOCS.glob("*.md"))
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL))
]


def _names_used(tree: ast.AST) -> list[tuple[str, str]]:
    """(module, name) for every ``from ocop_provenance[.x] import name`` and every ``alias.name`` of such a module."""
    modules: dict[str, str] = {}
    used: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "ocop_provenance":
                    modules[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ocop_provenance":
            for a in node.names:
                submodule = f"{node.module}.{a.name}"
                if node.module == "ocop_provenance" and importlib.util.find_spec(submodule) is not None:
                    modules[a.asname or a.name] = submodule  # from ocop_provenance import seals
                else:
                    used.append((node.module or "", a.name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            used.append((modules[node.value.id], node.attr))
    return used


@pytest.mark.parametrize(("doc", "index", "block"), BLOCKS, ids=[f"{d}#{i}" for d, i, _ in BLOCKS])
def test_doc_examples_use_the_current_public_api(doc: str, index: int, block: str) -> None:
    tree = ast.parse(block)
    wrong = []
    for module, name in _names_used(tree):
        mod = importlib.import_module(module)
        if module == "ocop_provenance" and name in ocop_provenance._HOME:
            wrong.append(f"{module}.{name} (moved to ocop_provenance.{ocop_provenance._HOME[name]})")
        elif name not in getattr(mod, "__all__", ()) and not hasattr(mod, name):
            wrong.append(f"{module}.{name} (no such name)")
        elif name.startswith("_"):
            wrong.append(f"{module}.{name} (private)")
    assert wrong == [], f"{doc}, example {index}"
