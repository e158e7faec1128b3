"""EPCIS properties over generated chains: the export is schema-valid, and reading it back gives the same content."""

from __future__ import annotations

import ocop_provenance as op
from hypothesis import HealthCheck, given, settings
from ocop_provenance import epcis

from tests.epcis.helpers import export, same_genesis, same_step, schema_errors
from tests.property.epcis_strategies import KEYS, bundles

SOME = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@SOME
@given(bundles())
def test_export_is_schema_valid(chains: list[list[op.SignedEvent]]) -> None:
    assert schema_errors(export(chains, KEYS)) == []


@SOME
@given(bundles())
def test_import_of_export_is_the_same_content(chains: list[list[op.SignedEvent]]) -> None:
    back = epcis.read_epcis(export(chains, KEYS))
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
