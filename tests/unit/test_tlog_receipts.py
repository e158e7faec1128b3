"""The receipts file and the check that every head of a bundle is logged (docs/format.md §18.11)."""

from __future__ import annotations

import ocop_provenance as op
import pytest
from ocop_provenance import tlog

from tests.unit.tlog_helpers import LOG_KEY, Portal, fake_head


def _log() -> tuple[Portal, list[tlog.Receipt]]:
    portal = Portal()
    heads = [fake_head(1, 0, 1), fake_head(2, 3, 2), fake_head(3, 4, 2)]
    for h in heads:
        portal.publish(h)
    return portal, [portal.receipt(i) for i in range(3)]


def test_each_head_needs_its_own_receipt() -> None:
    _, receipts = _log()
    got = tlog.verify_heads_logged([fake_head(3, 4, 2), fake_head(1, 0, 1)], receipts, LOG_KEY)
    assert [v.index for v in got] == [2, 0]
    # A receipt of an older head of the batch does not cover a newer one.
    with pytest.raises(tlog.LogError) as missing:
        tlog.verify_heads_logged([fake_head(3, 4, 2)], receipts[:2], LOG_KEY)
    assert missing.value.code == "E_LOG_MISSING"
    assert (missing.value.batch_id, missing.value.seq) == ((bytes([2]) * 32).hex(), 4)


def test_a_receipt_that_does_not_verify_is_refused_with_its_head() -> None:
    _, receipts = _log()
    r = receipts[1]
    broken = tlog.Receipt(leaf=r.leaf, index=r.index, proof=(bytes(32), *r.proof[1:]), checkpoint=r.checkpoint)
    with pytest.raises(tlog.LogError) as bad:
        tlog.verify_heads_logged([fake_head(2, 3, 2)], [broken], LOG_KEY)
    assert bad.value.code == "E_LOG_INCLUSION"
    assert bad.value.seq == 3
    # A good receipt next to the broken one is enough.
    assert len(tlog.verify_heads_logged([fake_head(2, 3, 2)], [broken, r], LOG_KEY)) == 1


def test_receipts_file_round_trip_and_strictness() -> None:
    _, receipts = _log()
    data = tlog.encode_receipts(receipts)
    assert tlog.decode_receipts(data) == tuple(receipts)
    assert tlog.decode_receipts(tlog.encode_receipts([])) == ()
    with pytest.raises(op.ProvenanceError) as e:
        tlog.decode_receipts(receipts[0].to_bytes())
    assert e.value.code == "E_SCHEMA"
    with pytest.raises(op.ProvenanceError) as e:
        tlog.decode_receipts(data + b"\x00")
    assert e.value.code == "E_TRAILING"
