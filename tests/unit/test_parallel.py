"""The parallel verifier gives the sequential verifier's answer: the same summary, or the same first error.

Chains are small and chunks tiny (3 events) so that every kind of break lands at a chunk's start, middle and end.
"""

from __future__ import annotations

import io
import multiprocessing
import multiprocessing.forkserver
from collections.abc import Callable
from datetime import datetime, timedelta

import ocop_provenance as op
import pytest
from ocop_provenance.events import (
    BundleBatch,
    BundleHeader,
    ChainSummary,
    head_of,
    open_batch,
    sign_event,
    write_bundle,
)

from tests.conftest import ICT, key, sample_chain, sample_genesis
from tests.verifying import ANY_BATCH, options

CHUNK = 3
LENGTH = 10
WHERE = op.Location(name="Nghi Sơn, Thanh Hóa", admin_code="38")


def _outcome(run: Callable[[], object]) -> tuple[str, object]:
    try:
        return "ok", run()
    except op.ProvenanceError as e:
        proof = e.proof.to_bytes() if isinstance(e, op.ForkError) else None
        return "error", (type(e), e.code, e.position, e.event_id, e.key_id, e.field, proof)


def _agree(
    raws: list[bytes], ring: op.KeyRing, *, batch_id: bytes | None = None, **kwargs: object
) -> tuple[str, object]:
    batch = ANY_BATCH if batch_id is None else batch_id
    sequential = _outcome(lambda: op.verify_chain(raws, options(ring, **kwargs), batch=batch))
    parallel = _outcome(
        lambda: op.verify_chain(raws, options(ring, workers=2, chunk_size=CHUNK, **kwargs), batch=batch)
    )
    assert parallel == sequential
    return sequential


def _step(after: op.SignedEvent, signer: op.PrivateKey, **changes: object) -> op.SignedEvent:
    fields: dict[str, object] = {
        "batch_id": after.batch_id,
        "seq": after.seq + 1,
        "prev": after.event_id,
        "time": after.time + timedelta(minutes=1),
        "step": "ocop:drying",
        "location": WHERE,
    }
    fields.update(changes)
    return sign_event(op.Step(**fields), signer)  # type: ignore[arg-type]


def _after(event: op.SignedEvent, n: int) -> list[op.SignedEvent]:
    out = [event]
    for _ in range(n):
        out.append(_step(out[-1], key(1)))
    return out[1:]


@pytest.fixture(scope="module")
def long_chain() -> list[op.SignedEvent]:
    return sample_chain(key(1), LENGTH)


@pytest.fixture(scope="module")
def ring1() -> op.KeyRing:
    return op.KeyRing.of([key(1).public_key])


def test_valid_chain_same_summary(long_chain: list[op.SignedEvent], ring1: op.KeyRing) -> None:
    kind, summary = _agree([e.raw for e in long_chain], ring1)
    assert kind == "ok"
    assert isinstance(summary, ChainSummary)
    assert summary.count == LENGTH
    assert summary.head == long_chain[-1]


def test_valid_chain_with_expected_batch_and_clock(long_chain: list[op.SignedEvent], ring1: op.KeyRing) -> None:
    now = datetime(2030, 1, 1, tzinfo=ICT)
    assert _agree([e.raw for e in long_chain], ring1, batch_id=long_chain[0].event_id, now=now)[0] == "ok"


def test_signed_event_objects_are_accepted(long_chain: list[op.SignedEvent], ring1: op.KeyRing) -> None:
    summary = op.verify_chain(long_chain, options(ring1, workers=2, chunk_size=CHUNK), batch=ANY_BATCH)
    assert summary.count == LENGTH


@pytest.mark.parametrize("at", [0, 1, 2, 3, 5, LENGTH - 1])
def test_bad_signature(long_chain: list[op.SignedEvent], ring1: op.KeyRing, at: int) -> None:
    raws = [e.raw for e in long_chain]
    raws[at] = raws[at][:-1] + bytes([raws[at][-1] ^ 1])
    assert _agree(raws, ring1)[1][1] == "E_SIGNATURE"  # type: ignore[index]


@pytest.mark.parametrize("at", [0, 3, 4, LENGTH - 1])
@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],
        lambda raw: b"\x00" + raw[1:],
        lambda raw: raw + b"\x00",
        lambda raw: raw[:40] + bytes([raw[40] ^ 0x20]) + raw[41:],
        lambda raw: b"",
    ],
    ids=["truncated", "not-tagged", "trailing", "payload-byte", "empty"],
)
def test_malformed_bytes(
    long_chain: list[op.SignedEvent], ring1: op.KeyRing, at: int, damage: Callable[[bytes], bytes]
) -> None:
    raws = [e.raw for e in long_chain]
    raws[at] = damage(raws[at])
    kind, detail = _agree(raws, ring1)
    assert kind == "error"
    assert detail[2] == at  # type: ignore[index]


@pytest.mark.parametrize("at", [1, 3, 4, LENGTH - 1])
def test_unknown_signer(long_chain: list[op.SignedEvent], ring1: op.KeyRing, at: int) -> None:
    raws = [e.raw for e in long_chain[:at]]
    raws.append(_step(long_chain[at - 1], key(2)).raw)
    assert _agree(raws, ring1)[1][1] == "E_UNKNOWN_KEY"  # type: ignore[index]


@pytest.mark.parametrize("at", [1, 3, 4, LENGTH - 1])
def test_bad_link(long_chain: list[op.SignedEvent], ring1: op.KeyRing, at: int) -> None:
    raws = [e.raw for e in long_chain[:at]]
    raws.append(_step(long_chain[at - 1], key(1), prev=bytes(32)).raw)
    assert _agree(raws, ring1)[1][1] == "E_LINK"  # type: ignore[index]


@pytest.mark.parametrize("at", [1, 3, 4, 8])
def test_seq_gap(long_chain: list[op.SignedEvent], ring1: op.KeyRing, at: int) -> None:
    raws = [e.raw for i, e in enumerate(long_chain) if i != at]
    assert _agree(raws, ring1)[1][1] == "E_SEQ"  # type: ignore[index]


@pytest.mark.parametrize("at", [1, 3, 4, LENGTH - 1])
def test_fork_and_duplicate(long_chain: list[op.SignedEvent], ring1: op.KeyRing, at: int) -> None:
    other = _step(long_chain[at - 1], key(1), step="packing")
    forked = [e.raw for e in long_chain[: at + 1]] + [other.raw]
    assert _agree(forked, ring1)[1][1] == "E_FORK"  # type: ignore[index]
    doubled = [e.raw for e in long_chain[: at + 1]] + [long_chain[at].raw] + [e.raw for e in long_chain[at + 1 :]]
    assert _agree(doubled, ring1)[1][1] == "E_DUPLICATE"  # type: ignore[index]


@pytest.mark.parametrize("at", [1, 3, 4, LENGTH - 1])
def test_foreign_batch(long_chain: list[op.SignedEvent], ring1: op.KeyRing, at: int) -> None:
    other = [open_batch(sample_genesis(time=datetime(2024, 11, 2, 8, 0, tzinfo=ICT)), key(1))]
    for _ in range(at):
        other.append(_step(other[-1], key(1)))
    raws = [e.raw for e in long_chain[:at]] + [other[at].raw] + [e.raw for e in long_chain[at + 1 :]]
    assert _agree(raws, ring1)[1][1] in {"E_BATCH", "E_LINK"}  # type: ignore[index]
    genesis_again = [e.raw for e in long_chain[:at]] + [other[0].raw]
    assert _agree(genesis_again, ring1)[1][1] == "E_BATCH"  # type: ignore[index]


def test_first_step_may_precede_genesis_on_both_paths(long_chain: list[op.SignedEvent], ring1: op.KeyRing) -> None:
    early = _step(long_chain[0], key(1), time=long_chain[0].time - timedelta(days=30))
    status, summary = _agree([long_chain[0].raw, early.raw, *[e.raw for e in _after(early, 6)]], ring1)
    assert status == "ok"
    assert isinstance(summary, ChainSummary)
    assert summary.count == 8


@pytest.mark.parametrize("at", [2, 3, 4, LENGTH - 1])
def test_time_reversal_and_future(long_chain: list[op.SignedEvent], ring1: op.KeyRing, at: int) -> None:
    early = _step(long_chain[at - 1], key(1), time=long_chain[at - 1].time - timedelta(hours=1))
    raws = [e.raw for e in long_chain[:at]] + [early.raw]
    assert _agree(raws, ring1)[1][1] == "E_TIME"  # type: ignore[index]
    now = long_chain[at].time - timedelta(hours=1)
    assert _agree([e.raw for e in long_chain], ring1, now=now)[1][1] == "E_FUTURE"  # type: ignore[index]


def test_genesis_rules_and_empty(long_chain: list[op.SignedEvent], ring1: op.KeyRing) -> None:
    raws = [e.raw for e in long_chain]
    assert _agree(raws[1:], ring1)[1][1] == "E_GENESIS"  # type: ignore[index]
    assert _agree(raws, ring1, batch_id=bytes(32))[1][1] == "E_BATCH"  # type: ignore[index]
    assert _agree([], ring1)[1][1] == "E_EMPTY"  # type: ignore[index]


def test_first_of_several_failures_is_reported(long_chain: list[op.SignedEvent], ring1: op.KeyRing) -> None:
    raws = [e.raw for e in long_chain]
    raws[7] = raws[7][:-1] + bytes([raws[7][-1] ^ 1])
    raws[4] = raws[4][:-1]
    kind, detail = _agree(raws, ring1)
    assert kind == "error"
    assert detail[2] == 4  # type: ignore[index]


def test_workers_argument() -> None:
    ring = op.KeyRing.of([key(1).public_key])
    raws = [e.raw for e in sample_chain(key(1), 2)]
    assert (
        op.verify_chain(raws, options(ring, workers="auto"), batch=ANY_BATCH).count == 2
    )  # one chunk: verified in this process
    assert op.verify_chain(raws, options(ring, workers=0, chunk_size=1), batch=ANY_BATCH).count == 2
    with pytest.raises(ValueError, match="workers"):
        op.verify_chain(raws, options(ring, workers=-1), batch=ANY_BATCH)
    with pytest.raises(ValueError, match="workers"):
        op.verify_chain(raws, options(ring, workers="many"), batch=ANY_BATCH)
    with pytest.raises(TypeError):
        op.verify_chain(raws, options(ring, workers=True), batch=ANY_BATCH)


# ---- bundles -------------------------------------------------------------------------------------------


def _bundle(
    root: list[op.SignedEvent], inputs: list[list[op.SignedEvent]], keys: list[op.PublicKey] | None = None
) -> bytes:
    batches = [root, *inputs]
    header = BundleHeader(
        root=root[0].event_id,
        batches=tuple(BundleBatch(batch_id=b[0].event_id, count=len(b), head=b[-1].event_id) for b in batches),
        keys=tuple(keys if keys is not None else _signers(batches)),
    )
    out = io.BytesIO()
    write_bundle(out, header, (e.raw for b in batches for e in b))
    return out.getvalue()


def _signers(batches: list[list[op.SignedEvent]]) -> list[op.PublicKey]:
    by_id = {k.public_key.key_id: k.public_key for k in (key(1), key(2))}
    return list({e.key_id: by_id[e.key_id] for b in batches for e in b}.values())


def _agree_bundle(data: bytes, ring: op.KeyRing) -> tuple[str, object]:
    def run(**kwargs: object) -> object:
        seen: list[tuple[int, int]] = []
        summary = op.verify_bundle(
            io.BytesIO(data), options(ring, **kwargs), root=ANY_BATCH, progress=lambda d, t: seen.append((d, t))
        )  # type: ignore[arg-type]
        return summary, seen[-1]

    sequential = _outcome(run)
    parallel = _outcome(lambda: run(workers=2, chunk_size=CHUNK))
    assert parallel == sequential
    return sequential


def _lineage(input_len: int = 5, pin: int | None = None) -> tuple[list[op.SignedEvent], list[op.SignedEvent]]:
    upstream = [open_batch(sample_genesis(time=datetime(2024, 10, 1, 8, 0, tzinfo=ICT)), key(2))]
    for _ in range(input_len - 1):
        upstream.append(_step(upstream[-1], key(2)))
    consumed = upstream[pin if pin is not None else -1]
    root = [open_batch(sample_genesis(), key(1))]
    for i in range(7):
        inputs = [head_of(consumed).as_input()] if i == 4 else []
        root.append(_step(root[-1], key(1), inputs=inputs))
    return root, upstream


def test_bundle_with_lineage_agrees() -> None:
    root, upstream = _lineage()
    ring = op.KeyRing.of([key(1).public_key, key(2).public_key])
    kind, result = _agree_bundle(_bundle(root, [upstream]), ring)
    assert kind == "ok"
    summary, last_progress = result  # type: ignore[misc]
    assert [c.count for c in summary.chains] == [8, 5]
    assert last_progress == (13, 13)


@pytest.mark.parametrize("pin", [1, 2, 3, 4])
def test_bundle_input_head_mismatch_agrees(pin: int) -> None:
    root, upstream = _lineage(pin=pin)
    shipped = [*upstream[:pin], _step(upstream[pin - 1], key(2), step="packing")]
    while len(shipped) < len(upstream):
        shipped.append(_step(shipped[-1], key(2)))
    ring = op.KeyRing.of([key(1).public_key, key(2).public_key])
    kind, detail = _agree_bundle(_bundle(root, [shipped]), ring)
    assert kind == "error"
    assert detail[1] == "E_INPUT_HEAD"  # type: ignore[index]


def test_bundle_missing_input_and_bad_event_agree() -> None:
    root, upstream = _lineage()
    ring = op.KeyRing.of([key(1).public_key, key(2).public_key])
    assert _agree_bundle(_bundle(root, []), ring)[1][1] == "E_INPUT_MISSING"  # type: ignore[index]
    data = bytearray(_bundle(root, [upstream]))
    data[-1] ^= 1  # the last signature of the input batch
    assert _agree_bundle(bytes(data), ring)[1][1] == "E_SIGNATURE"  # type: ignore[index]
    only_key1 = op.KeyRing.of([key(1).public_key])
    assert _agree_bundle(_bundle(root, [upstream]), only_key1)[1][1] == "E_UNKNOWN_KEY"  # type: ignore[index]
    extra_key = _bundle(root, [upstream], [key(1).public_key, key(2).public_key, key(3).public_key])
    assert _agree_bundle(extra_key, ring)[1][1] == "E_HEADER_MISMATCH"  # type: ignore[index]


def test_bundle_on_event_sees_the_same_events_in_order() -> None:
    root, upstream = _lineage()
    data = _bundle(root, [upstream])
    ring = op.KeyRing.of([key(1).public_key, key(2).public_key])

    def run(stop_at: int | None, **kwargs: object) -> tuple[list[tuple[int, bytes]], tuple[str, object]]:
        seen: list[tuple[int, bytes]] = []

        def on_event(batch: int, event: op.SignedEvent) -> None:
            seen.append((batch, event.event_id))
            if len(seen) == stop_at:
                raise op.ChainError("stopped by the hook", code="E_CHAIN", position=len(seen))

        outcome = _outcome(
            lambda: op.verify_bundle(io.BytesIO(data), options(ring, **kwargs), root=ANY_BATCH, on_event=on_event)
        )  # type: ignore[arg-type]
        return seen, outcome

    for stop_at in (None, 1, 4, 9):
        sequential = run(stop_at)
        assert run(stop_at, workers=2, chunk_size=CHUNK) == sequential
        assert len(sequential[0]) == (13 if stop_at is None else stop_at)


@pytest.mark.skipif("forkserver" not in multiprocessing.get_all_start_methods(), reason="no fork server here")
def test_the_fork_server_loads_the_library_and_keeps_what_the_program_asked_it_to_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Workers forked from a server that has the library loaded start without importing it again.
    from ocop_provenance import _parallel as parallel

    server = multiprocessing.forkserver._forkserver  # type: ignore[attr-defined]
    monkeypatch.setattr(server, "_preload_modules", ["__main__", "json"])
    assert parallel._context().get_start_method() == "forkserver"
    assert server._preload_modules == ["__main__", "json", "ocop_provenance._parallel"]
    parallel._context()  # a second pool asks for nothing more
    assert server._preload_modules == ["__main__", "json", "ocop_provenance._parallel"]
