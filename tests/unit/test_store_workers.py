"""Ledger.add_steps(workers=...): signing processes give the sequential path's events, chain and errors."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta
from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance.events import DataValue

from tests.conftest import ICT, key, sample_genesis

WHERE = op.Location(name="Xưởng sấy Nghi Sơn, Thanh Hóa", admin_code="38")
T1 = datetime(2024, 11, 2, 7, 30, tzinfo=ICT)
CHUNK = 3  # small chunks: many in flight, errors in the middle of one


def _steps(n: int, upstream: bytes | None = None) -> list[op.NewStep]:
    return [
        op.NewStep(
            step="ocop:drying" if i % 5 else "packing",
            time=T1 + timedelta(minutes=i),
            location=WHERE,
            inputs=(upstream,) if upstream is not None and i == 4 else (),
            attachments=(op.Attachment(name="lab.pdf", media_type="application/pdf", size=1, sha256=bytes(32)),)
            if i == 7
            else (),
            data={"tray": f"T-{i}", "temperature_c": i, "ghi_chu": "Sấy lần 2"}
            if i % 3
            else {"operator": "Lê Thị Hoa", "ok": True},
        )
        for i in range(n)
    ]


def _stored_rows(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        events = conn.execute("SELECT batch_id, seq, event_id, prev, key_id, time, step, raw FROM events ORDER BY n")
        inputs = conn.execute("SELECT * FROM inputs ORDER BY batch_id, seq, input_batch")
        return [*events.fetchall(), *inputs.fetchall()]
    finally:
        conn.close()


def _ledger_with_batches(path: Path, signer: op.PrivateKey) -> tuple[op.Ledger, bytes, bytes]:
    ledger = op.Ledger.open(path)
    upstream = ledger.open_batch(sample_genesis(), signer).event_id
    batch = ledger.open_batch(
        sample_genesis(product=op.Product(name="Đông trùng hạ thảo sấy khô", lot="D1", quantity="12", unit="kg")),
        signer,
    ).event_id
    return ledger, upstream, batch


def _no_children() -> bool:
    return multiprocessing.active_children() == []


def test_workers_store_the_same_bytes_and_chain(tmp_path: Path) -> None:
    coop = key(1)
    heads = []
    for name, workers in (("seq.ocop", None), ("par.ocop", 2), ("auto.ocop", "auto")):
        ledger, upstream, batch = _ledger_with_batches(tmp_path / name, coop)
        with ledger:
            heads.append(ledger.add_steps(batch, coop, _steps(25, upstream), chunk=CHUNK, workers=workers))
            assert ledger.verify_stored() == 27
        assert _no_children()
    assert heads[0] == heads[1] == heads[2]
    assert heads[0].seq == 25
    rows = _stored_rows(tmp_path / "seq.ocop")
    assert _stored_rows(tmp_path / "par.ocop") == rows
    assert _stored_rows(tmp_path / "auto.ocop") == rows


def test_workers_accept_any_iterable(tmp_path: Path) -> None:
    coop = key(1)
    ledger, _, batch = _ledger_with_batches(tmp_path / "l.ocop", coop)
    with ledger:
        head = ledger.add_steps(batch, coop, iter(_steps(10)), chunk=CHUNK, workers=2)
        assert head.seq == 10
        assert [e.seq for e in ledger.events(batch)] == list(range(11))


def _bad_step(steps: list[op.NewStep]) -> list[op.NewStep]:
    steps[11] = op.NewStep(step="drying", time=T1, location=WHERE)  # neither a CBV step nor namespaced
    return steps


def _missing_input(steps: list[op.NewStep]) -> list[op.NewStep]:
    steps[13] = op.NewStep(step="ocop:drying", time=T1 + timedelta(hours=1), location=WHERE, inputs=(bytes(32),))
    return steps


def _time_reversal(steps: list[op.NewStep]) -> list[op.NewStep]:
    steps[17] = op.NewStep(step="ocop:drying", time=T1 - timedelta(days=1), location=WHERE)
    return steps


def _bad_data(steps: list[op.NewStep]) -> list[op.NewStep]:
    steps[9] = op.NewStep(step="ocop:drying", time=T1 + timedelta(hours=1), location=WHERE, data={"x": "a\x1b[2J"})
    return steps


def _oversized(steps: list[op.NewStep]) -> list[op.NewStep]:
    data: dict[str, DataValue] = {f"k{i}": "x" * 1024 for i in range(64)}
    steps[15] = op.NewStep(step="ocop:drying", time=T1 + timedelta(hours=1), location=WHERE, data=data)
    return steps


@pytest.mark.parametrize(
    ("spoil", "index"), [(_bad_step, 11), (_missing_input, 13), (_time_reversal, 17), (_bad_data, 9), (_oversized, 15)]
)
def test_errors_in_the_middle_leave_the_ledger_unchanged(
    tmp_path: Path, spoil: Callable[[list[op.NewStep]], list[op.NewStep]], index: int
) -> None:
    coop = key(1)
    outcomes = []
    for name, workers in (("seq.ocop", None), ("par.ocop", 2)):
        ledger, upstream, batch = _ledger_with_batches(tmp_path / name, coop)
        with ledger:
            before = _stored_rows(tmp_path / name)
            with pytest.raises(op.ProvenanceError) as info:
                ledger.add_steps(batch, coop, spoil(_steps(25, upstream)), chunk=CHUNK, workers=workers)
            assert _stored_rows(tmp_path / name) == before
            assert ledger.head(batch).seq == 0
            # The ledger is usable afterwards.
            assert ledger.add_steps(batch, coop, _steps(5), chunk=CHUNK, workers=workers).seq == 5
        assert _no_children()
        outcomes.append((type(info.value), info.value.code, info.value.position, info.value.field))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][2] == index  # the spoilt step's position in ``steps``


def test_not_a_newstep_is_refused_the_same_way(tmp_path: Path) -> None:
    coop = key(1)
    for name, workers in (("seq.ocop", None), ("par.ocop", 2)):
        ledger, _, batch = _ledger_with_batches(tmp_path / name, coop)
        with ledger:
            steps: list[object] = [*_steps(10), "packing", *_steps(3)]
            with pytest.raises(TypeError):
                ledger.add_steps(batch, coop, steps, chunk=CHUNK, workers=workers)  # type: ignore[arg-type]
            assert ledger.head(batch).seq == 0
        assert _no_children()


def test_conflicting_writer(tmp_path: Path) -> None:
    coop = key(1)
    ledger, _, batch = _ledger_with_batches(tmp_path / "l.ocop", coop)
    ledger.close()
    with (
        op.Ledger.open(tmp_path / "l.ocop", timeout=0.05) as first,
        op.Ledger.open(tmp_path / "l.ocop", timeout=0.05) as second,
    ):
        codes = []
        with first.bulk():
            first.add_step(batch, coop, step="packing", time=T1, location=WHERE)
            for workers in (None, 2):
                with pytest.raises(op.ConflictError) as info:
                    second.add_steps(batch, coop, _steps(10), chunk=CHUNK, workers=workers)
                codes.append(info.value.code)
        assert codes == ["E_BUSY", "E_BUSY"]
        assert second.head(batch).seq == 1
    assert _no_children()


def test_interrupt_rolls_back_and_stops_the_signing_process(tmp_path: Path) -> None:
    coop = key(1)
    ledger, _, batch = _ledger_with_batches(tmp_path / "l.ocop", coop)

    def interrupted() -> Iterator[op.NewStep]:
        yield from _steps(12)
        raise KeyboardInterrupt

    with ledger:
        with pytest.raises(KeyboardInterrupt):
            ledger.add_steps(batch, coop, interrupted(), chunk=CHUNK, workers=2)
        assert _no_children()
        assert ledger.head(batch).seq == 0
        assert ledger.add_steps(batch, coop, _steps(4), chunk=CHUNK, workers=2).seq == 4


class _Token:
    """A signer that is not a PrivateKey (a token, a KMS): it signs in this process, whatever workers says."""

    def __init__(self, inner: op.PrivateKey) -> None:
        self._inner = inner
        self.calls = 0

    @property
    def public_key(self) -> op.PublicKey:
        return self._inner.public_key

    def sign(self, message: bytes) -> bytes:
        self.calls += 1
        return self._inner.sign(message)


def test_other_signers_sign_in_process(tmp_path: Path) -> None:
    coop = key(1)
    token = _Token(coop)
    ledger, upstream, batch = _ledger_with_batches(tmp_path / "token.ocop", coop)
    with ledger:
        ledger.add_steps(batch, token, _steps(20, upstream), chunk=CHUNK, workers=2)
    assert token.calls == 20
    ledger, upstream, batch = _ledger_with_batches(tmp_path / "key.ocop", coop)
    with ledger:
        ledger.add_steps(batch, coop, _steps(20, upstream), chunk=CHUNK)
    assert _stored_rows(tmp_path / "token.ocop") == _stored_rows(tmp_path / "key.ocop")


@pytest.mark.parametrize(("workers", "error"), [(True, TypeError), (-1, ValueError), ("all", ValueError)])
def test_bad_workers_argument(tmp_path: Path, workers: object, error: type[Exception]) -> None:
    coop = key(1)
    ledger, _, batch = _ledger_with_batches(tmp_path / "l.ocop", coop)
    with ledger, pytest.raises(error):
        ledger.add_steps(batch, coop, _steps(2), workers=workers)  # type: ignore[arg-type]


class _FaultyPool:
    """Stands in for the signing processes (fault injection): returns zero signatures, or dies."""

    dies = False

    def __init__(self, workers: int, signer: op.PrivateKey) -> None:
        pass

    def __class_getitem__(cls, item: object) -> type[_FaultyPool]:
        return cls

    def __enter__(self) -> _FaultyPool:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def run(self, chunks: Iterator[tuple[object, list[bytes]]], *, helper: object = None) -> Iterator[object]:
        for tag, items in chunks:
            if self.dies:
                raise BrokenProcessPool("a process died")
            yield tag, items, bytes(64 * len(items))


@pytest.mark.parametrize("dies", [False, True])
def test_a_faulty_signing_process_stores_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dies: bool) -> None:
    from ocop_provenance._ledger import _bulk

    monkeypatch.setattr(_bulk, "SigningPool", type("Pool", (_FaultyPool,), {"dies": dies}))
    coop = key(1)
    ledger, _, batch = _ledger_with_batches(tmp_path / "l.ocop", coop)
    with ledger:
        before = _stored_rows(tmp_path / "l.ocop")
        with pytest.raises(op.SignatureError) as info:
            ledger.add_steps(batch, coop, _steps(10), chunk=CHUNK, workers=2)
        assert info.value.code == "E_SIGNER"
        assert _stored_rows(tmp_path / "l.ocop") == before
