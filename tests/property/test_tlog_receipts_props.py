"""Properties of the receipts file (docs/format.md §18.11).

* any list of receipts round-trips byte for byte, and the file is deterministic CBOR (it decodes to what encoded it);
* every head of every receipt in the file is proven by ``verify_heads_logged``, whatever the order of the file;
* any changed byte of a file is refused with a library error, or yields receipts that fail to prove some head;
* arbitrary bytes raise only library errors.
"""

from __future__ import annotations

import contextlib
from functools import cache

import ocop_provenance as op
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocop_provenance import tlog

from tests.conftest import examples
from tests.unit.tlog_helpers import LOG_KEY, Portal, fake_head

SETTINGS = settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def _log() -> tuple[tuple[tlog.LogLeaf, ...], tuple[tlog.Receipt, ...]]:
    portal = Portal()
    for n in range(12):
        portal.publish(fake_head(n + 1, seq=n % 4, batch=n % 3))
    return tuple(portal.leaves), tuple(portal.receipt(i) for i in range(12))


@SETTINGS
@given(st.lists(st.integers(0, 11), max_size=12))
def test_any_receipts_round_trip_and_prove_their_heads(picks: list[int]) -> None:
    leaves, receipts = _log()
    chosen = [receipts[i] for i in picks]
    data = tlog.encode_receipts(chosen)
    assert tlog.decode_receipts(data) == tuple(chosen)
    assert tlog.encode_receipts(tlog.decode_receipts(data)) == data
    heads = [leaves[i] for i in reversed(picks)]
    assert [v.index for v in tlog.verify_heads_logged(heads, chosen, LOG_KEY)] == list(reversed(picks))


@SETTINGS
@given(st.integers(0, 10_000), st.integers(1, 255))
def test_a_changed_byte_never_proves_a_head_it_should_not(position: int, delta: int) -> None:
    leaves, receipts = _log()
    data = bytearray(tlog.encode_receipts(receipts[:3]))
    data[position % len(data)] ^= delta
    try:
        decoded = tlog.decode_receipts(bytes(data))
        verified = tlog.verify_heads_logged(list(leaves[:3]), decoded, LOG_KEY)
    except op.ProvenanceError:
        return
    # A change that keeps every head proven can only be a change outside what the proofs cover: the same receipts.
    assert [v.leaf for v in verified] == list(leaves[:3])
    assert decoded == receipts[:3]


@SETTINGS
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_library_errors(data: bytes) -> None:
    with contextlib.suppress(op.ProvenanceError):
        tlog.decode_receipts(data)
