"""``ocop step list``: the business steps a step may record, with their Vietnamese names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .core import JsonDict, Result, Text, lines
from .words import t

__all__ = ["StepList"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StepList(Result):
    """The GS1 CBV 2.0 business steps and the common namespaced (``ocop:``) steps, each with its Vietnamese name."""

    cbv: Mapping[str, str]
    custom: Mapping[str, str]

    def to_json(self) -> JsonDict:
        return {
            "steps": [
                *({"step": s, "kind": "cbv", "name_vi": name} for s, name in self.cbv.items()),
                *({"step": s, "kind": "custom", "name_vi": name} for s, name in self.custom.items()),
            ]
        }

    def to_text(self) -> Text:
        rows = [t("GS1 CBV 2.0 business steps:")]
        rows.extend(t("  {step:<24} {name}", step=s, name=name) for s, name in self.cbv.items())
        rows.append("")
        rows.append(t("Common namespaced steps (any prefix:name of lower-case letters is accepted):"))
        rows.extend(t("  {step:<24} {name}", step=s, name=name) for s, name in self.custom.items())
        return lines(*rows)
