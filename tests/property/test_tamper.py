"""Any single changed byte, or any truncation, of an event or a bundle is rejected with a library error."""

from __future__ import annotations

import io
from datetime import timedelta
from functools import cache

import ocop_provenance as op
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocop_provenance.events import (
    BundleBatch,
    BundleHeader,
    BundleReader,
    append_step,
    head_of,
    open_batch,
    report_chain,
    write_bundle,
)

from tests.conftest import examples, key, sample_chain, sample_genesis
from tests.verifying import ANY_BATCH, options

SETTINGS = settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
RING = op.KeyRing.of([key(1).public_key, key(2).public_key])
WHERE = op.Location(name="Kho Thanh Hóa")


@cache
def events() -> tuple[op.SignedEvent, ...]:
    return tuple(sample_chain(key(1), 3))


@cache
def bundle_bytes() -> bytes:
    upstream = [
        open_batch(sample_genesis(product=op.Product(name="Mật ong", lot="M1", quantity="3", unit="l")), key(2))
    ]
    upstream.append(
        append_step(upstream[-1], key(2), step="packing", time=upstream[-1].time + timedelta(hours=1), location=WHERE)
    )
    root = list(events())
    root.append(
        append_step(
            root[-1],
            key(1),
            step="ocop:mixing",
            time=root[-1].time + timedelta(hours=1),
            location=WHERE,
            inputs=[head_of(upstream[-1]).as_input()],
        )
    )
    header = BundleHeader(
        root=root[0].event_id,
        batches=(
            BundleBatch(batch_id=root[0].event_id, count=len(root), head=root[-1].event_id),
            BundleBatch(batch_id=upstream[0].event_id, count=len(upstream), head=upstream[-1].event_id),
        ),
        keys=(key(1).public_key, key(2).public_key),
    )
    out = io.BytesIO()
    write_bundle(out, header, [e.raw for e in (*root, *upstream)])
    return out.getvalue()


def test_fixtures_verify() -> None:
    assert op.verify_chain([e.raw for e in events()], options(RING), batch=ANY_BATCH).count == 3
    assert op.verify_bundle(io.BytesIO(bundle_bytes()), options(RING), root=ANY_BATCH).root.count == 4


def flip(data: bytes, position: int, value: int) -> bytes:
    position %= len(data)
    new = (data[position] + 1 + value % 255) % 256  # never the original byte
    assert new != data[position]
    return data[:position] + bytes((new,)) + data[position + 1 :]


def rejected_chain(raws: list[bytes]) -> None:
    with pytest.raises(op.ProvenanceError):
        op.verify_chain(raws, options(RING), batch=ANY_BATCH)


def rejected_bundle(data: bytes) -> None:
    with pytest.raises(op.ProvenanceError):
        op.verify_bundle(io.BytesIO(data), options(RING), root=ANY_BATCH)


@SETTINGS
@given(st.integers(min_value=0, max_value=2), st.integers(min_value=0), st.integers(min_value=0, max_value=254))
def test_event_byte_changed(which: int, position: int, value: int) -> None:
    raws = [e.raw for e in events()]
    raws[which] = flip(raws[which], position, value)
    rejected_chain(raws)


@SETTINGS
@given(st.integers(min_value=0, max_value=2), st.integers(min_value=0))
def test_event_truncated(which: int, cut: int) -> None:
    raws = [e.raw for e in events()]
    raws[which] = raws[which][: cut % len(raws[which])]
    rejected_chain(raws)


@SETTINGS
@given(st.integers(min_value=0, max_value=2), st.binary(min_size=1, max_size=8))
def test_event_extended(which: int, extra: bytes) -> None:
    raws = [e.raw for e in events()]
    raws[which] = raws[which] + extra
    rejected_chain(raws)


def test_every_event_byte_changed_exhaustively() -> None:
    """Not sampled: each position of one step event, each with one replacement value."""
    raws = [e.raw for e in events()]
    for position in range(len(raws[1])):
        changed = list(raws)
        changed[1] = flip(raws[1], position, position * 37)
        rejected_chain(changed)


@SETTINGS
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=254))
def test_bundle_byte_changed(position: int, value: int) -> None:
    rejected_bundle(flip(bundle_bytes(), position, value))


@SETTINGS
@given(st.integers(min_value=0))
def test_bundle_truncated(cut: int) -> None:
    data = bundle_bytes()
    rejected_bundle(data[: cut % len(data)])


def test_every_bundle_header_byte_changed() -> None:
    """The header is not signed, so each of its bytes must be checked against the events."""
    data = bundle_bytes()
    end = len(BundleReader(io.BytesIO(data)).header.to_bytes()) + 3  # the item head is 3 bytes
    for position in range(end):
        for value in (0, 127):
            rejected_bundle(flip(data, position, value))


@SETTINGS
@given(st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=6))
def test_only_the_chain_in_order_verifies(order: list[int]) -> None:
    """Any other sequence of a chain's events (reordered, repeated, with gaps) is rejected; its prefixes verify."""
    chain = [*events(), *_fourth()]
    raws = [chain[i].raw for i in order]
    if order == list(range(len(order))):
        assert op.verify_chain(raws, options(RING), batch=ANY_BATCH).count == len(order)
    else:
        rejected_chain(raws)
        report = report_chain(raws, options(RING), batch=ANY_BATCH)
        assert not report.ok
        assert all(isinstance(f, op.ProvenanceError) for f in report.failures)


@cache
def _fourth() -> tuple[op.SignedEvent]:
    last = events()[-1]
    return (append_step(last, key(2), step="inspecting", time=last.time + timedelta(hours=1), location=WHERE),)
