"""Bundles: write/read, lineage across batches, every bundle error code, streaming from non-seekable input."""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import ocop_provenance as op
import pytest
from ocop_provenance import _cbor
from ocop_provenance.events import (
    MAX_EVENT_SIZE,
    BundleBatch,
    BundleHeader,
    BundleReader,
    LineageLink,
    append_step,
    bundle_order,
    head_of,
    open_batch,
    parse_unverified_event,
    write_bundle,
)

from tests.conftest import ICT, key
from tests.verifying import ANY_BATCH, options

WHERE = op.Location(name="Nghi Sơn")
T0 = datetime(2024, 11, 1, 8, 0, tzinfo=ICT)


def genesis(name: str, lot: str) -> op.Genesis:
    return op.Genesis(
        time=T0,
        product=op.Product(name=name, lot=lot, quantity="10", unit="kg"),
        producer=op.Producer(name="HTX Nghi Sơn", admin_code="38"),
    )


def grow(events: list[op.SignedEvent], signer: op.PrivateKey, n: int, **kw: object) -> list[op.SignedEvent]:
    for _ in range(n):
        events.append(
            append_step(
                events[-1],
                signer,
                step="ocop:drying",
                time=events[-1].time + timedelta(hours=1),
                location=WHERE,
                **kw,  # type: ignore[arg-type]
            )
        )
    return events


@dataclass
class Story:
    """Three batches: honey A (producer 1) -> mix B (producer 2, consumes A) -> pack C (producer 3, consumes B)."""

    a: list[op.SignedEvent]
    b: list[op.SignedEvent]
    c: list[op.SignedEvent]

    @property
    def ring(self) -> op.KeyRing:
        return op.KeyRing.of([key(1).public_key, key(2).public_key, key(3).public_key])


def story(a_len: int = 3) -> Story:
    a = grow([open_batch(genesis("Mật ong", "A1"), key(1))], key(1), a_len - 1)
    b = [open_batch(genesis("Mứt gừng mật ong", "B1"), key(2))]
    b = grow(b, key(2), 1)
    b = grow(b, key(2), 1, inputs=[head_of(a[-1]).as_input()])
    c = [open_batch(genesis("Hộp quà", "C1"), key(3))]
    c = grow(c, key(3), 1, inputs=[head_of(b[-1]).as_input()])
    c = grow(c, key(3), 1)
    return Story(a, b, c)


def header_for(*chains: list[op.SignedEvent], keys: tuple[op.PublicKey, ...] = ()) -> BundleHeader:
    return BundleHeader(
        root=chains[0][0].event_id,
        batches=tuple(BundleBatch(batch_id=ch[0].event_id, count=len(ch), head=ch[-1].event_id) for ch in chains),
        keys=keys,
    )


def bundle(*chains: list[op.SignedEvent], header: BundleHeader | None = None) -> bytes:
    out = io.BytesIO()
    signers = {e.key_id: None for ch in chains for e in ch}
    shipped = tuple(k.public_key for k in (key(1), key(2), key(3)) if k.key_id in signers)
    hdr = header or header_for(*chains, keys=shipped)
    write_bundle(out, hdr, [e.raw for ch in chains for e in ch])
    return out.getvalue()


def item(data: bytes) -> bytes:
    return _cbor.encode_bstr_head(len(data)) + data


def fail(data: bytes, ring: op.KeyRing, *, root: bytes | None = None, **kw: object) -> op.ProvenanceError:
    with pytest.raises(op.ProvenanceError) as info:
        op.verify_bundle(io.BytesIO(data), options(ring, **kw), root=ANY_BATCH if root is None else root)
    return info.value


@pytest.fixture(scope="module")
def s() -> Story:
    return story()


def test_round_trip(s: Story, tmp_path: Path) -> None:
    data = bundle(s.c, s.b, s.a)
    summary = op.verify_bundle(io.BytesIO(data), options(s.ring), root=ANY_BATCH)
    assert [c.batch_id for c in summary.chains] == [s.c[0].event_id, s.b[0].event_id, s.a[0].event_id]
    assert summary.root.head == s.c[-1]
    assert [c.count for c in summary.chains] == [3, 3, 3]
    assert summary.header.total_events == 9
    path = tmp_path / "hop-qua.ocopb"
    path.write_bytes(data)
    assert op.verify_bundle(path, options(s.ring), root=s.c[0].event_id).root.count == 3
    assert op.verify_bundle(str(path), options(s.ring), root=ANY_BATCH).root.count == 3


@pytest.mark.parametrize("workers", [None, 2])
def test_summary_lists_every_lineage_link(s: Story, workers: int | None) -> None:
    summary = op.verify_bundle(
        io.BytesIO(bundle(s.c, s.b, s.a)), options(s.ring, workers=workers, chunk_size=1), root=ANY_BATCH
    )
    assert summary.lineage == (
        LineageLink(batch_id=s.c[0].event_id, seq=1, step="ocop:drying", input=head_of(s.b[-1]).as_input()),
        LineageLink(batch_id=s.b[0].event_id, seq=2, step="ocop:drying", input=head_of(s.a[-1]).as_input()),
    )


def test_reader(s: Story) -> None:
    reader = BundleReader(io.BytesIO(bundle(s.c, s.b, s.a)))
    assert reader.header.root == s.c[0].event_id
    assert set(reader.header.keys) == {key(1).public_key, key(2).public_key, key(3).public_key}
    items = list(reader.events())
    assert [i for i, _ in items] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert [raw for _, raw in items] == [e.raw for e in (*s.c, *s.b, *s.a)]


def test_events_are_plain_cose(s: Story) -> None:
    reader = BundleReader(io.BytesIO(bundle(s.c, s.b, s.a)))
    for _, raw in reader.events():
        assert raw[0] == 0xD2
        assert parse_unverified_event(raw).raw == raw


def test_header_round_trip(s: Story) -> None:
    hdr = header_for(s.c, s.b, s.a, keys=(key(1).public_key,))
    assert BundleHeader.from_bytes(hdr.to_bytes()) == hdr


def test_progress(s: Story) -> None:
    calls: list[tuple[int, int]] = []
    op.verify_bundle(
        io.BytesIO(bundle(s.c, s.b, s.a)), options(s.ring), root=ANY_BATCH, progress=lambda n, t: calls.append((n, t))
    )
    assert calls[-1] == (9, 9)
    out = io.BytesIO()
    written: list[tuple[int, int]] = []
    n = write_bundle(
        out,
        header_for(s.c, s.b, s.a),
        [e.raw for e in (*s.c, *s.b, *s.a)],
        progress=lambda a, b: written.append((a, b)),
    )
    assert n == 9
    assert written[-1] == (9, 9)


def test_single_batch_bundle(s: Story) -> None:
    assert op.verify_bundle(io.BytesIO(bundle(s.a)), options(s.ring), root=ANY_BATCH).root.count == 3


def test_shipped_keys_are_not_trusted(s: Story) -> None:
    err = fail(bundle(s.c, s.b, s.a), op.KeyRing.of([key(3).public_key, key(2).public_key]))
    assert err.code == "E_UNKNOWN_KEY"
    assert err.key_id == key(1).key_id.hex()


def test_root_mismatch(s: Story) -> None:
    assert fail(bundle(s.c, s.b, s.a), s.ring, root=s.a[0].event_id).code == "E_BATCH"


def test_e_input_missing(s: Story) -> None:
    err = fail(bundle(s.c, s.b), s.ring)
    assert err.code == "E_INPUT_MISSING"
    assert err.event_id == s.b[2].event_id.hex()


def test_e_input_head_other_event(s: Story) -> None:
    """B consumed A at a fork of A's seq 2; the bundle ships A's other branch."""
    rival = append_step(s.a[1], key(1), step="shipping", time=s.a[1].time + timedelta(hours=2), location=WHERE)
    b = grow([s.b[0], s.b[1]], key(2), 1, inputs=[head_of(rival).as_input()])
    c = grow([s.c[0]], key(3), 1, inputs=[head_of(b[-1]).as_input()])
    err = fail(bundle(c, b, s.a), s.ring)
    assert err.code == "E_INPUT_HEAD"
    assert err.event_id == s.a[2].event_id.hex()


def test_e_input_head_not_shipped(s: Story) -> None:
    """The consumed head is at seq 2, the bundle holds A only up to seq 1."""
    err = fail(bundle(s.c, s.b, s.a[:2]), s.ring)
    assert err.code == "E_INPUT_HEAD"


def test_input_consumed_at_earlier_seq_is_fine() -> None:
    """A may grow after B consumed it: the bundle may ship A beyond the consumed head."""
    s = story()
    longer_a = grow(list(s.a), key(1), 2)
    assert (
        op.verify_bundle(io.BytesIO(bundle(s.c, s.b, longer_a)), options(s.ring), root=ANY_BATCH).chains[2].count == 5
    )


def test_e_bundle_extra(s: Story) -> None:
    stray = [open_batch(genesis("Lạc", "X1"), key(1))]
    assert fail(bundle(s.c, s.b, s.a, stray), s.ring).code == "E_BUNDLE_EXTRA"


def test_e_bundle_order(s: Story) -> None:
    # The header and stream put A before B, which consumes it.
    data = bundle(s.c, s.a, s.b)
    assert fail(data, s.ring).code in ("E_BUNDLE_ORDER", "E_BUNDLE_EXTRA")
    # Root C consumes B; list B last and A (consumed by B) first after the root: A is unreferenced when it starts.
    # A bundle where the input comes first but is referenced: C consumes both B and A directly.
    c2 = grow([s.c[0]], key(3), 1, inputs=[head_of(s.b[-1]).as_input(), head_of(s.a[-1]).as_input()])
    assert op.verify_bundle(io.BytesIO(bundle(c2, s.b, s.a)), options(s.ring), root=ANY_BATCH).root.count == 2
    assert fail(bundle(c2, s.a, s.b), s.ring).code == "E_BUNDLE_ORDER"


def test_e_header_mismatch(s: Story) -> None:
    hdr = header_for(s.c, s.b, s.a)
    wrong = BundleHeader(
        root=hdr.root,
        batches=(hdr.batches[0], hdr.batches[1], BundleBatch(batch_id=s.a[0].event_id, count=3, head=b"\x00" * 32)),
        keys=(),
    )
    assert fail(bundle(s.c, s.b, s.a, header=wrong), s.ring).code == "E_HEADER_MISMATCH"


def test_declared_count_too_small(s: Story) -> None:
    hdr = header_for(s.c, s.b, s.a)
    short = BundleHeader(root=hdr.root, batches=(hdr.batches[0],), keys=())
    data = item(short.to_bytes()) + b"".join(item(e.raw) for e in (*s.c, *s.b, *s.a))
    assert fail(data, s.ring).code in ("E_TRAILING", "E_INPUT_MISSING")


def test_e_truncated(s: Story) -> None:
    data = bundle(s.c, s.b, s.a)
    for cut in (len(data) - 1, len(data) - 64, len(data) - len(s.a[-1].raw) - 1):
        assert fail(data[:cut], s.ring).code == "E_TRUNCATED"
    last = len(data) - len(item(s.a[-1].raw))
    assert fail(data[:last], s.ring).code == "E_TRUNCATED"


def test_e_trailing(s: Story) -> None:
    data = bundle(s.c, s.b, s.a)
    assert fail(data + b"\x00", s.ring).code == "E_TRAILING"
    assert fail(data + item(s.a[-1].raw), s.ring).code == "E_TRAILING"


def test_e_bundle_empty_and_non_bstr() -> None:
    ring = op.KeyRing.of([])
    assert fail(b"", ring).code == "E_BUNDLE"
    assert fail(b"\x01", ring).code == "E_BUNDLE"  # an integer, not a byte string
    assert fail(b"\x60", ring).code == "E_BUNDLE"  # a text string
    assert fail(b"\x5f\x41\x00\xff", ring).code == "E_BUNDLE"  # indefinite-length byte string


def test_non_bstr_event_item(s: Story) -> None:
    data = item(header_for(s.a).to_bytes()) + _cbor.encode([s.a[0].raw])
    assert fail(data, s.ring).code == "E_BUNDLE"


def test_non_shortest_item_length(s: Story) -> None:
    raw = s.a[0].raw
    assert 24 <= len(raw) < 256
    data = item(header_for(s.a[:1]).to_bytes()) + b"\x59" + len(raw).to_bytes(2, "big") + raw
    assert fail(data, s.ring).code == "E_NONCANONICAL"


@pytest.mark.parametrize(
    "header",
    [
        {0: "ocop-bundlE", 1: 1, 2: b"\x00" * 32, 3: [], 4: [[b"\x00" * 32, 1, b"\x00" * 32]]},
        {0: "ocop-bundle", 1: 1, 2: b"\x00" * 32, 3: [], 4: [[b"\x00" * 32, 1, b"\x00" * 32]], 5: 0},
        {0: "ocop-bundle", 1: 1, 2: b"\x00" * 32, 3: []},
        {0: "ocop-bundle", 1: 1, 2: b"\x00" * 31, 3: [], 4: [[b"\x00" * 32, 1, b"\x00" * 32]]},
        {0: "ocop-bundle", 1: 1, 2: b"\x00" * 32, 3: ["k"], 4: [[b"\x00" * 32, 1, b"\x00" * 32]]},
        {0: "ocop-bundle", 1: 1, 2: b"\x00" * 32, 3: [], 4: []},
        {0: "ocop-bundle", 1: 1, 2: b"\x00" * 32, 3: [], 4: [[b"\x00" * 32, 0, b"\x00" * 32]]},
        {0: "ocop-bundle", 1: 1, 2: b"\x00" * 32, 3: [], 4: [[b"\x00" * 32, True, b"\x00" * 32]]},
        {0: "ocop-bundle", 1: 1, 2: b"\x00" * 32, 3: [], 4: [[b"\x01" * 32, 1, b"\x00" * 32]]},  # root not first
        {
            0: "ocop-bundle",
            1: 1,
            2: b"\x00" * 32,
            3: [],
            4: [[b"\x00" * 32, 1, b"\x00" * 32], [b"\x00" * 32, 1, b"\x00" * 32]],
        },  # listed twice
        [1, 2],
    ],
)
def test_bad_header(header: object) -> None:
    data = _cbor.encode(header)
    with pytest.raises(op.FormatError) as info:
        BundleHeader.from_bytes(data)
    assert info.value.code == "E_BUNDLE"
    assert fail(item(data), op.KeyRing.of([])).code == "E_BUNDLE"


@pytest.mark.parametrize("version", [2, True])  # CBOR true is not the integer 1, whatever Python's == says
def test_header_version(version: object) -> None:
    data = _cbor.encode({0: "ocop-bundle", 1: version, 2: b"\x00" * 32, 3: [], 4: [[b"\x00" * 32, 1, b"\x00" * 32]]})
    with pytest.raises(op.FormatError) as info:
        BundleHeader.from_bytes(data)
    assert info.value.code == "E_VERSION"


def test_header_weak_key() -> None:
    data = _cbor.encode(
        {0: "ocop-bundle", 1: 1, 2: b"\x00" * 32, 3: [b"\x01" + b"\x00" * 31], 4: [[b"\x00" * 32, 1, b"\x00" * 32]]}
    )
    with pytest.raises(op.WeakKeyError) as info:
        BundleHeader.from_bytes(data)
    assert info.value.field == "keys"


def test_header_not_cbor() -> None:
    with pytest.raises(op.FormatError):
        BundleHeader.from_bytes(b"\xff")


def test_item_size_cap(s: Story) -> None:
    head = item(header_for(s.a).to_bytes())
    huge = b"\x5a" + (MAX_EVENT_SIZE + 1).to_bytes(4, "big")
    assert fail(head + huge, s.ring).code == "E_SIZE"
    assert fail(b"\x5b" + (2**62).to_bytes(8, "big"), s.ring).code == "E_SIZE"  # header item


def test_write_bundle_count_mismatch(s: Story) -> None:
    hdr = header_for(s.a)
    with pytest.raises(op.FormatError) as info:
        write_bundle(io.BytesIO(), hdr, [e.raw for e in s.a[:2]])
    assert info.value.code == "E_BUNDLE"
    with pytest.raises(op.FormatError) as info:
        write_bundle(io.BytesIO(), hdr, [e.raw for e in (*s.a, s.a[0])])
    assert info.value.code == "E_BUNDLE"


def test_missing_file(tmp_path: Path, s: Story) -> None:
    with pytest.raises(op.FormatError) as info:
        op.verify_bundle(tmp_path / "absent.ocopb", options(s.ring), root=ANY_BATCH)
    assert info.value.code == "E_IO"


def test_event_from_another_batch_inside_a_batch(s: Story) -> None:
    hdr = header_for(s.a)
    data = item(hdr.to_bytes()) + item(s.a[0].raw) + item(s.b[1].raw) + item(s.a[2].raw)
    assert fail(data, s.ring).code == "E_BATCH"


class _Unseekable(io.RawIOBase):
    """A raw stream that returns at most `chunk` bytes per read and cannot seek or tell (like a pipe)."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._chunk = chunk

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._chunk, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n

    def seek(self, *_: object) -> int:
        raise io.UnsupportedOperation("seek")

    def tell(self) -> int:
        raise io.UnsupportedOperation("tell")


def test_streaming_from_buffered_unseekable(s: Story) -> None:
    stream = io.BufferedReader(_Unseekable(bundle(s.c, s.b, s.a), chunk=7), buffer_size=16)
    assert op.verify_bundle(stream, options(s.ring), root=ANY_BATCH).root.count == 3  # type: ignore[arg-type]


def test_streaming_from_raw_stream_with_short_reads(s: Story) -> None:
    """A raw stream (an unbuffered pipe or socket) may return fewer bytes than asked: that is not truncation."""
    stream = _Unseekable(bundle(s.c, s.b, s.a), chunk=100)
    assert op.verify_bundle(stream, options(s.ring), root=ANY_BATCH).root.count == 3  # type: ignore[arg-type]


def test_streaming_from_a_pipe(s: Story) -> None:
    data = bundle(s.c, s.b, s.a)
    r, w = os.pipe()

    def writer() -> None:
        with os.fdopen(w, "wb", buffering=0) as f:
            for i in range(0, len(data), 50):
                f.write(data[i : i + 50])

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with os.fdopen(r, "rb") as f:
            assert op.verify_bundle(f, options(s.ring), root=ANY_BATCH).root.count == 3
    finally:
        thread.join()


@pytest.mark.parametrize("change", ["missing", "extra", "duplicate", "other"])
def test_shipped_keys_must_be_the_signers(s: Story, change: str) -> None:
    """The header is unsigned: its key list must be exactly the signers' keys, so no byte of it can change."""
    signers = [key(3).public_key, key(2).public_key, key(1).public_key]
    keys = {
        "missing": signers[:2],
        "extra": [*signers, key(4).public_key],
        "duplicate": [*signers, signers[0]],
        "other": [signers[0], signers[1], key(4).public_key],
    }[change]
    hdr = header_for(s.c, s.b, s.a, keys=tuple(keys))
    err = fail(bundle(s.c, s.b, s.a, header=hdr), s.ring)
    assert err.code == "E_HEADER_MISMATCH"
    assert err.field == "keys"


def test_shipped_key_order_is_free(s: Story) -> None:
    hdr = header_for(s.c, s.b, s.a, keys=(key(1).public_key, key(3).public_key, key(2).public_key))
    assert (
        op.verify_bundle(io.BytesIO(bundle(s.c, s.b, s.a, header=hdr)), options(s.ring), root=ANY_BATCH).root.count == 3
    )


def test_bundle_order_puts_each_batch_after_every_batch_that_consumes_it() -> None:
    # root <- a, b (in that order); a <- shared, c; b <- shared. shared is consumed by a and by b, so it waits for b,
    # while c is ready as soon as a is placed.
    graph = {b"root": [b"a", b"b"], b"a": [b"shared", b"c"], b"b": [b"shared"], b"shared": [], b"c": []}
    order = bundle_order(b"root", graph.__getitem__)
    assert order == [b"root", b"a", b"b", b"c", b"shared"]
    assert bundle_order(b"c", graph.__getitem__) == [b"c"]


def test_bundle_order_refuses_a_lineage_that_loops() -> None:
    graph = {b"root": [b"a"], b"a": [b"b"], b"b": [b"a"]}
    with pytest.raises(ValueError, match="loops"):
        bundle_order(b"root", graph.__getitem__)
