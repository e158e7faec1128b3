"""unicode14.js carries exactly the Python library's table of code points Unicode 14.0 leaves unassigned (ADR 0048)."""

from __future__ import annotations

import re
from pathlib import Path

from ocop_provenance._unicode import _RANGES

JS = Path(__file__).resolve().parents[2] / "portal" / "ocop_portal" / "static" / "js" / "unicode14.js"


def test_the_javascript_table_is_the_pythons() -> None:
    source = JS.read_text(encoding="utf-8")
    block = source[source.index("const UNASSIGNED = (") : source.index(").trim()")]
    items = "".join(re.findall(r'"([^"]*)"', block)).split()
    ranges = [(int(a, 16), int(b or a, 16)) for a, _, b in (item.partition("-") for item in items)]
    assert ranges == list(_RANGES)
