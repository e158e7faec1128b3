"""Shared helpers for the EPCIS tests: verified bundles in memory, the JSON Schema check, round-trip equality."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import ocop_provenance as op
import pytest
from ocop_provenance import epcis
from ocop_provenance.events import BundleBatch, BundleHeader, BundleSummary, write_bundle

from tests.verifying import options

SCHEMA_ENV = "OCOP_EPCIS_SCHEMA"
CREATED = datetime(2025, 1, 1, tzinfo=UTC)


def verified(
    chains: Sequence[Sequence[op.SignedEvent]], keys: Sequence[op.PublicKey]
) -> tuple[list[list[op.SignedEvent]], BundleSummary]:
    """Write ``chains`` (root first, then inputs) as a bundle, verify it, return the verified events and summary."""
    header = BundleHeader(
        root=chains[0][0].batch_id,
        batches=tuple(BundleBatch(batch_id=c[0].batch_id, count=len(c), head=c[-1].event_id) for c in chains),
        keys=tuple({k.key_id: k for k in keys if any(e.key_id == k.key_id for c in chains for e in c)}.values()),
    )
    buf = io.BytesIO()
    write_bundle(buf, header, [e.raw for c in chains for e in c])
    buf.seek(0)
    got: dict[int, list[op.SignedEvent]] = {}
    summary = op.verify_bundle(
        buf, options(op.KeyRing.of(keys)), root=header.root, on_event=lambda i, e: got.setdefault(i, []).append(e)
    )
    return [got[i] for i in sorted(got)], summary


def export(chains: Sequence[Sequence[op.SignedEvent]], keys: Sequence[op.PublicKey], **kwargs: Any) -> bytes:
    batches, summary = verified(chains, keys)
    return epcis.epcis_to_json(epcis.epcis_document(batches, summary, created=CREATED, **kwargs))


@cache
def _validator() -> Any:
    import jsonschema

    path = os.environ.get(SCHEMA_ENV)
    if not path:
        pytest.skip(
            f"{SCHEMA_ENV} is not set: `python3 tasks.py check` fetches the EPCIS 2.0 JSON Schema (ADR 0081)"
            " and sets it"
        )
    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    # The formats the schema uses are checked only when their checkers are installed (the dev extra): fail, never
    # pass unchecked, when one is missing.
    missing = {"date-time", "uri"} - set(checker.checkers)
    assert not missing, f"jsonschema cannot check the formats {sorted(missing)}: install the dev extra"
    return jsonschema.Draft7Validator(schema, format_checker=checker)


def schema_errors(document: bytes) -> list[str]:
    """Every way ``document`` breaks the EPCIS 2.0 JSON Schema (with format checks), as readable strings."""
    doc = json.loads(document)
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in _validator().iter_errors(doc)]


def same_data(a: object, b: object) -> bool:
    """Data maps equal with value types (True is not 1)."""
    da, db = dict(a), dict(b)  # type: ignore[call-overload]
    return da == db and all(type(da[k]) is type(db[k]) for k in da)


def same_step(content: epcis.EpcisStep, body: op.Step) -> bool:
    return (
        content.step == body.step
        and content.time == body.time
        and content.time.utcoffset() == body.time.utcoffset()
        and content.location == body.location
        and content.inputs == body.inputs
        and content.attachments == body.attachments
        and same_data(content.data, body.data)
        and same_correction(content.corrects, body.corrects)
    )


def same_correction(a: op.Correction | None, b: op.Correction | None) -> bool:
    if a is None or b is None:
        return a is b
    if (a.seq, a.event_id, a.reason) != (b.seq, b.event_id, b.reason):
        return False
    return a.data is b.data if a.data is None or b.data is None else same_data(a.data, b.data)


def own_events(events: Sequence[epcis.EpcisEvent]) -> list[epcis.EpcisEvent]:
    """The events that stand for one signed event each: not error declarations, not corrective events."""
    return [e for e in events if e.declaration is None and e.corrected_by is None]


def same_genesis(content: op.Genesis, body: op.Genesis) -> bool:
    return content == body and content.time.utcoffset() == body.time.utcoffset() and same_data(content.data, body.data)
