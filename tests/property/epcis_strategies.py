"""Hypothesis strategies for the EPCIS tests: chains with lineage, measurements, lot data and corrections."""

from __future__ import annotations

from datetime import timedelta

import ocop_provenance as op
from hypothesis import strategies as st
from ocop_provenance import epcis
from ocop_provenance.events import DataValue, append_correction, append_step, open_batch

from tests.conftest import key
from tests.property.strategies import (
    ALPHABET,
    attachments,
    data_maps,
    geneses,
    locations,
    offsets,
    steps,
    viet_text,
)

SIGNERS = (key(60), key(61))
KEYS = [s.public_key for s in SIGNERS]

measurement_values = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False).map(str),
    st.text(alphabet=ALPHABET, max_size=8),
)
lot_values = st.one_of(st.dates().map(lambda d: d.isoformat()), st.text(alphabet=ALPHABET, max_size=20))
extra_data = st.dictionaries(
    st.sampled_from(sorted(epcis.MEASUREMENTS)), measurement_values, max_size=3
) | st.dictionaries(st.sampled_from(sorted(epcis.LOT_MASTER_DATA)), lot_values, max_size=3)


@st.composite
def data(draw: st.DrawFn) -> dict[str, DataValue]:
    return {**draw(data_maps), **draw(extra_data)}


@st.composite
def chain(draw: st.DrawFn, tag: int, inputs: tuple[list[op.SignedEvent], ...] = ()) -> list[op.SignedEvent]:
    """A batch: a genesis and 0-3 steps in time order; the first step consumes ``inputs`` at their heads.

    ``tag`` goes into the genesis data, so that two batches of one bundle are never the same batch.
    """
    genesis = draw(geneses)
    body = op.Genesis(
        time=genesis.time,
        product=genesis.product,
        producer=genesis.producer,
        location=genesis.location,
        certificate=genesis.certificate,
        attachments=genesis.attachments,
        data={**draw(data()), "batch_tag": tag},
    )
    events = [open_batch(body, draw(st.sampled_from(SIGNERS)))]
    count = draw(st.integers(min_value=1 if inputs else 0, max_value=3))
    when = body.time
    for i in range(count):
        when = (when + timedelta(seconds=draw(st.integers(min_value=0, max_value=10**7)))).astimezone(draw(offsets))
        refs = (
            [op.InputRef(batch_id=c[0].batch_id, seq=len(c) - 1, head=c[-1].event_id) for c in inputs] if i == 0 else []
        )
        events.append(
            append_step(
                events[-1],
                draw(st.sampled_from(SIGNERS)),
                step=draw(steps),
                time=when,
                location=draw(locations()),
                inputs=refs,
                attachments=draw(st.lists(attachments, max_size=2)),
                data=draw(data()),
            )
        )
    # Corrections of earlier steps, by either signer: in force, superseded, withdrawals, unauthorised ones.
    for _ in range(draw(st.integers(min_value=0, max_value=2 if count else 0))):
        when = (when + timedelta(seconds=draw(st.integers(min_value=0, max_value=10**6)))).astimezone(draw(offsets))
        values = draw(st.none() | data().filter(bool))
        events.append(
            append_correction(
                events[-1],
                draw(st.sampled_from(SIGNERS)),
                corrected=events[draw(st.integers(min_value=1, max_value=count))],
                reason=draw(viet_text),
                time=when,
                location=draw(locations()),
                data=values,
                attachments=draw(st.lists(attachments, max_size=1)),
            )
        )
    return events


@st.composite
def bundles(draw: st.DrawFn) -> list[list[op.SignedEvent]]:
    """Chains as a bundle holds them: the root first, then the batches it consumed."""
    upstream = tuple(draw(chain(i + 1)) for i in range(draw(st.integers(min_value=0, max_value=2))))
    return [draw(chain(0, upstream)), *upstream]
