"""iter_verified: a bundle's verified events without a callback, then the summary; errors and early stops."""

from __future__ import annotations

import io
from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance.events import iter_verified

from tests.unit.test_bundle import Story, bundle, grow, story
from tests.verifying import ANY_BATCH, options


@pytest.fixture(scope="module")
def s() -> Story:
    return story()


@pytest.mark.parametrize("workers", [None, 2])
def test_every_event_comes_back_in_file_order_then_the_summary(s: Story, workers: int | None) -> None:
    data = bundle(s.c, s.b, s.a)
    expected = op.verify_bundle(io.BytesIO(data), options(s.ring), root=ANY_BATCH)
    with iter_verified(io.BytesIO(data), options(s.ring, workers=workers, chunk_size=2), root=ANY_BATCH) as events:
        assert events.header.root == s.c[0].event_id
        got = list(events)
        assert events.summary == expected
    assert [(i, e.raw) for i, e in got] == [(i, e.raw) for i, chain in enumerate((s.c, s.b, s.a)) for e in chain]


def test_the_summary_is_not_there_before_the_end(s: Story) -> None:
    events = iter_verified(io.BytesIO(bundle(s.c, s.b, s.a)), options(s.ring), root=ANY_BATCH)
    next(events)
    with pytest.raises(RuntimeError):
        _ = events.summary
    events.close()
    with pytest.raises(StopIteration):
        next(events)
    with pytest.raises(RuntimeError):
        _ = events.summary


def test_an_error_stops_iteration_after_the_good_events(s: Story) -> None:
    broken_c = grow(list(s.c), op.PrivateKey.from_seed(bytes([8]) * 32), 1)  # a signer nobody trusts
    data = bundle(broken_c, s.b, s.a)
    seen: list[bytes] = []
    events = iter_verified(io.BytesIO(data), options(s.ring), root=ANY_BATCH)
    with pytest.raises(op.UntrustedKeyError) as info:
        seen.extend(e.raw for _, e in events)
    assert seen == [e.raw for e in s.c]
    assert info.value.position == 3


def test_bundle_wide_checks_come_at_the_end(s: Story) -> None:
    # header claims are checked when iteration ends: events came back, the verdict is still a failure
    data = bundle(s.c, s.b)  # the input batch A is missing
    events = iter_verified(io.BytesIO(data), options(s.ring), root=ANY_BATCH)
    with pytest.raises(op.ChainError) as info:
        list(events)
    assert info.value.code == "E_INPUT_MISSING"


def test_a_path_is_opened_and_closed_here(s: Story, tmp_path: Path) -> None:
    path = tmp_path / "b.ocop"
    path.write_bytes(bundle(s.c, s.b, s.a))
    with iter_verified(path, options(s.ring), root=s.c[0].event_id) as events:
        next(events)
    assert events._src.closed
    assert sum(1 for _ in iter_verified(str(path), options(s.ring), root=ANY_BATCH)) == 9


def test_the_header_is_checked_at_once(s: Story, tmp_path: Path) -> None:
    with pytest.raises(op.ChainError) as info:
        iter_verified(io.BytesIO(bundle(s.c, s.b, s.a)), options(s.ring), root=s.a[0].event_id)
    assert info.value.code == "E_BATCH"
    with pytest.raises(op.FormatError) as missing:
        iter_verified(tmp_path / "none.ocop", options(s.ring), root=ANY_BATCH)
    assert missing.value.code == "E_IO"
    with pytest.raises(TypeError):
        iter_verified(io.BytesIO(b""), options(s.ring), root=b"short")  # type: ignore[arg-type]
