"""``ocop demo``: the summary document (the text is the narration, written while the demo runs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .core import JsonDict, Result, Text

__all__ = ["DemoDone"]


@dataclass(frozen=True, slots=True)
class DemoDone(Result):
    """What the demo did: ids, sizes, who signed, and that the changed byte was caught."""

    summary: Mapping[str, Any]

    def to_json(self) -> JsonDict:
        return dict(self.summary)

    def to_text(self) -> Text:
        return Text()
