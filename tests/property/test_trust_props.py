from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import cbor2
import ocop_provenance as op
from hypothesis import given, settings
from hypothesis import strategies as st
from ocop_provenance.trust import (
    ParticipantKey,
    PinnedState,
    Policy,
    TrustList,
    parse_unverified_document,
    sign_document,
    sign_trust_list,
)

from tests.conftest import key
from tests.unit.trust_helpers import AUTH, NOW, pin, trust_draft

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SIGNERS = [key(80 + i) for i in range(4)]


@given(
    start=st.integers(-(10**6), 10**6),
    length=st.integers(1, 10**6),
    probe=st.integers(-(2 * 10**6), 2 * 10**6),
    status=st.sampled_from(["active", "retired", "revoked"]),
    retire=st.integers(-(2 * 10**6), 2 * 10**6),
)
def test_key_window_follows_the_specification(start: int, length: int, probe: int, status: str, retire: int) -> None:
    nb = T0 + timedelta(seconds=start)
    na = nb + timedelta(seconds=length)
    at = T0 + timedelta(seconds=probe)
    t_ret = T0 + timedelta(seconds=retire)
    entry = ParticipantKey(
        key=key(1).public_key,
        not_before=nb,
        not_after=na,
        status=status,
        status_time=None if status == "active" else t_ret,
    )
    valid = status != "revoked" and nb <= at < na and (status != "retired" or at < t_ret)
    assert (entry.problem_at(at) is None) == valid


@settings(max_examples=50, deadline=None)
@given(
    picks=st.lists(st.integers(0, len(SIGNERS) - 1), min_size=1, max_size=8),
    trusted=st.sets(st.integers(0, len(SIGNERS) - 1)),
)
def test_signatures_count_once_per_distinct_trusted_key(picks: list[int], trusted: set[int]) -> None:
    payload = cbor2.dumps({0: "x"})
    items = [cbor2.loads(sign_document(payload, [SIGNERS[i]], "application/x+cbor"))[0] for i in picks]
    doc = parse_unverified_document(cbor2.dumps(items), typ="application/x+cbor")
    got = doc.signed_by([SIGNERS[i].public_key for i in trusted] * 2)
    assert got == frozenset(SIGNERS[i].public_key.raw for i in set(picks) & trusted)
    single = parse_unverified_document(
        sign_document(payload, [SIGNERS[0]], "application/x+cbor"), typ="application/x+cbor"
    )
    assert doc.object_id == single.object_id


SIGNED_LIST = sign_trust_list(trust_draft(), AUTH)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=512))
def test_arbitrary_bytes_raise_only_library_errors(data: bytes) -> None:
    for parse in (TrustList.parse_unverified, Policy.parse_unverified, PinnedState.from_json):
        with contextlib.suppress(op.ProvenanceError):
            parse(data)


@settings(max_examples=100, deadline=None)
@given(position=st.integers(0, 10**9), bit=st.integers(0, 7))
def test_a_flipped_bit_never_changes_what_is_trusted(position: int, bit: int) -> None:
    # Three authority signatures, threshold two: a bit flipped inside one signature item leaves the list valid
    # (a bad extra signature is ignored, as in TUF), but it must then be exactly the same list.
    raw = bytearray(SIGNED_LIST)
    raw[position % len(raw)] ^= 1 << bit
    try:
        tl = op.verify_trust_list(bytes(raw), pin(), now=NOW)
    except op.ProvenanceError:
        return
    assert tl.trust_list.payload() == trust_draft().payload()
    assert tl.object_id == TrustList.parse_unverified(SIGNED_LIST).object_id
