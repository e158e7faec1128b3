"""Export and import: the offline bundle of a batch's lineage, and the bundles of others brought in.

Export reads in one snapshot and verifies every row it writes (as every read does). Import verifies the bundle
against the caller's keys and stores what is new in one transaction; a different validly signed event where the
ledger holds one is a fork (:class:`ForkError`, with its proof).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .._bundle import BundleBatch, BundleHeader, BundleReader, verify_bundle, write_bundle
from .._errors import ProvenanceError, StoreError
from .._model import SignedEvent, Step
from .._verify import ChainSummary, KeyRing
from .._wire import decode_event
from ._append import Appender
from ._db import Database, sql, tampered
from ._keyring import KeyStore
from ._lineage import lineage
from ._read import Reader

__all__ = ["Exchange"]


class Exchange:
    """What ``export_bundle``, ``export_cose_sequence`` and ``import_bundle`` do."""

    def __init__(self, db: Database, keys: KeyStore, reader: Reader, appender: Appender) -> None:
        """Read through ``reader``; store imported events with ``appender``'s rules."""
        self._db = db
        self._keys = keys
        self._reader = reader
        self._appender = appender

    def export_bundle(
        self, batch_id: bytes, out: BinaryIO, *, progress: Callable[[int, int], None] | None
    ) -> BundleHeader:
        """Write the bundle of a batch and its lineage, verified, from one read snapshot."""
        with self._db.snapshot("an export", nested="cannot export inside a bulk block") as conn:
            order = lineage(conn, batch_id)
            batches = []
            key_ids: set[bytes] = set()
            with sql("reading batch heads"):
                for b in order:
                    row = conn.execute(
                        "SELECT seq, event_id FROM events WHERE batch_id = ? ORDER BY seq DESC LIMIT 1", (b,)
                    ).fetchone()
                    batches.append(BundleBatch(batch_id=b, count=row[0] + 1, head=bytes(row[1])))
                    key_ids.update(
                        bytes(r[0]) for r in conn.execute("SELECT DISTINCT key_id FROM events WHERE batch_id = ?", (b,))
                    )
            keys = []
            for kid in sorted(key_ids):
                key = self._keys.key(conn, kid)
                if key is None:
                    raise tampered("an event names a key the ledger does not hold")
                keys.append(key)
            header = BundleHeader(root=batch_id, batches=tuple(batches), keys=tuple(keys))
            members = set(order)

            def check_inputs(event: SignedEvent) -> None:
                if isinstance(event.body, Step):
                    for ref in event.body.inputs:
                        if ref.batch_id not in members:
                            raise tampered(
                                "an input batch is missing from the lineage index",
                                seq=event.seq,
                                event_id=event.event_id,
                            )

            def raws() -> Iterator[bytes]:
                for b in order:
                    for event in self._reader.stream(b, on_event=check_inputs):
                        yield event.raw

            write_bundle(out, header, raws(), progress=progress)
        return header

    def export_cose_sequence(self, batch_id: bytes, out: BinaryIO) -> int:
        """Write a batch's verified events as a CBOR sequence; return how many."""
        n = 0
        for event in self._reader.events(batch_id):
            out.write(event.raw)
            n += 1
        return n

    def import_bundle(self, source: BinaryIO | str | os.PathLike[str], keys: KeyRing) -> int:
        """Verify a bundle against ``keys`` and store what is new in one transaction; return how many."""
        if isinstance(source, (str, os.PathLike)):
            summary = verify_bundle(source, keys)
            with _open_for_import(source) as src:
                return self._import(src, keys, summary.chains)
        with _rewindable(source) as src:
            start = src.tell()
            summary = verify_bundle(src, keys)
            src.seek(start)
            return self._import(src, keys, summary.chains)

    def _import(self, src: BinaryIO, keys: KeyRing, chains: tuple[ChainSummary, ...]) -> int:
        signers: set[bytes] = set()
        for chain in chains:
            signers.update(chain.signers)
        stored = 0
        appender = self._appender
        with self._db.write("importing a bundle") as conn:
            for kid in sorted(signers):
                for key in keys.candidates(kid):
                    self._keys.add(conn, key)
            reader = BundleReader(src)
            deferred: list[SignedEvent] = []
            for index, (_, raw) in enumerate(reader.events()):
                try:
                    event = decode_event(raw)
                except ProvenanceError as e:
                    e.index = index
                    raise
                stored += appender.append_one(conn, event, index=index, import_mode=True, deferred=deferred)
            for event in deferred:
                assert isinstance(event.body, Step)
                appender.check_inputs(
                    conn, event.body, {"event_id": event.event_id.hex(), "key_id": event.key_id.hex()}
                )
        return stored


@contextlib.contextmanager
def _open_for_import(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    try:
        f = Path(path).open("rb")  # noqa: SIM115 - closed by the with below
    except OSError as e:
        raise StoreError(f"cannot read {path}: {e.strerror}", code="E_IO") from e
    with f:
        yield f


@contextlib.contextmanager
def _rewindable(source: BinaryIO) -> Iterator[BinaryIO]:
    seekable = False
    with contextlib.suppress(OSError, AttributeError, ValueError):
        seekable = source.seekable()
    if seekable:
        yield source
        return
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
        while chunk := source.read(1 << 16):
            spool.write(chunk)
        spool.seek(0)
        yield spool  # type: ignore[misc]
