"""EPCIS properties over generated chains: the export is schema-valid, and reading it back gives the same content."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal

import ocop_provenance as op
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocop_provenance import epcis

from tests.conftest import examples
from tests.epcis.helpers import CREATED, export, own_events, same_genesis, same_step, schema_errors, verified
from tests.property.epcis_strategies import KEYS, bundles

SOME = settings(
    max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@SOME
@given(bundles())
def test_export_is_schema_valid(chains: list[list[op.SignedEvent]]) -> None:
    assert schema_errors(export(chains, KEYS)) == []


@SOME
@given(bundles())
def test_import_of_export_is_the_same_content(chains: list[list[op.SignedEvent]]) -> None:
    back = own_events(epcis.read_epcis(export(chains, KEYS), corrections=True))
    originals = [e for c in chains for e in c]
    assert len(back) == len(originals)
    for read, signed in zip(back, originals, strict=True):
        assert read.signed_event_id == signed.event_id
        if isinstance(signed.body, op.Genesis):
            assert isinstance(read.content, op.Genesis)
            assert same_genesis(read.content, signed.body)
        else:
            assert isinstance(read.content, epcis.EpcisStep)
            assert same_step(read.content, signed.body)


@SOME
@given(bundles())
def test_the_export_checks_against_the_signed_events(chains: list[list[op.SignedEvent]]) -> None:
    batches, summary = verified(chains, KEYS)
    document = epcis.epcis_document(batches, summary, created=CREATED)
    events = epcis.check_epcis(epcis.epcis_to_json(document), batches)
    # One event per signed event, and one declaration (and corrective event) per correction in force.
    logs = [epcis.correction_log(c) for c in batches]
    in_force = [n for log in logs for n in log.notes if n.in_force]
    assert len(own_events(events)) == sum(len(c) for c in batches)
    assert sum(e.declaration is not None for e in events) == len(in_force)
    assert sum(e.corrected_by is not None for e in events) == sum(not n.withdrawn for n in in_force)


json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=12), st.decimals(allow_nan=False, allow_infinity=False)
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=examples(100), deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_format_errors(data: bytes) -> None:
    with contextlib.suppress(op.FormatError):
        epcis.read_epcis(data)


@SOME
@given(bundles(), st.data())
def test_any_field_replaced_by_any_json_is_read_or_refused_with_a_format_error(
    chains: list[list[op.SignedEvent]], data: st.DataObject
) -> None:
    doc = json.loads(export(chains, KEYS), parse_float=Decimal)
    events = doc["epcisBody"]["eventList"]
    event = events[data.draw(st.integers(min_value=0, max_value=len(events) - 1))]
    target = event
    while True:  # walk down to some field, anywhere in the event
        key = data.draw(st.sampled_from(sorted(target)))
        inner = target[key]
        if isinstance(inner, list) and inner and isinstance(inner[0], dict) and data.draw(st.booleans()):
            target = inner[0]
        elif isinstance(inner, dict) and inner and data.draw(st.booleans()):
            target = inner
        else:
            break
    target[key] = data.draw(json_value)
    error: op.FormatError | None = None
    try:
        epcis.read_epcis(doc, corrections=data.draw(st.booleans()))
    except op.FormatError as e:
        error = e
    assert error is None or error.code.startswith("E_EPCIS_"), error
