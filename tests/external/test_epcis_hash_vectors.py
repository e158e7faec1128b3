"""The CBV 2.0 event hash against the published examples of GS1 Germany's reference implementation (MIT).

See tests/external/epcis_hash/SOURCES.md: 17 JSON-LD documents, 35 events, each with its expected hash id.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ocop_provenance import epcis

HERE = Path(__file__).resolve().parent / "epcis_hash"
DOCUMENTS = sorted(p.stem for p in HERE.glob("*.jsonld"))


def _prefixes(doc: dict[str, Any]) -> dict[str, str]:
    context = doc.get("@context")
    out: dict[str, str] = {}
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, dict):
            out.update({k: v for k, v in item.items() if isinstance(v, str)})
    return out


def _events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    body = doc["epcisBody"]
    if "eventList" in body:
        return list(body["eventList"])
    if "event" in body:
        return [body["event"]]
    return list(body["queryResults"]["resultsBody"]["eventList"])


def test_the_vectors_are_all_there() -> None:
    assert len(DOCUMENTS) == 17
    assert sum(len(_events(json.loads((HERE / f"{d}.jsonld").read_text(encoding="utf-8")))) for d in DOCUMENTS) == 35


@pytest.mark.parametrize("name", DOCUMENTS)
def test_event_hashes_equal_the_published_ones(name: str) -> None:
    doc = json.loads((HERE / f"{name}.jsonld").read_text(encoding="utf-8"), parse_float=Decimal)
    want = (HERE / f"{name}.hashes").read_text(encoding="utf-8").split()
    got = [epcis.epcis_event_hash(event, _prefixes(doc)) for event in _events(doc)]
    assert got == want
