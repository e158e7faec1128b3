"""A small portal log for the transparency-log tests: keys, a tree, signed checkpoints, witnesses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ocop_provenance import tlog
from ocop_provenance.events import ChainHead

from tests.conftest import key

ORIGIN = "ocop.thanhhoa.gov.vn/tlog/1"
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
LOG_SIGNER = tlog.NoteSigner(ORIGIN, key(40))
WITNESSES = (
    tlog.Cosigner("witness.snnptnt.thanhhoa.gov.vn", key(41)),
    tlog.Cosigner("witness.vinastas.org.vn", key(42)),
    tlog.Cosigner("witness.example.org/w3", key(43)),
)
LOG_KEY = LOG_SIGNER.key
WITNESS_KEYS = tuple(w.key for w in WITNESSES)


@dataclass
class Portal:
    """A log as the portal keeps it, in memory."""

    tree: tlog.MemoryTree = field(default_factory=tlog.MemoryTree)
    leaves: list[tlog.LogLeaf] = field(default_factory=list)
    signer: tlog.NoteSigner = LOG_SIGNER

    def publish(self, head: tlog.HeadLike, when: datetime | None = None) -> int:
        leaf = tlog.LogLeaf.for_head(head, when or T0 + timedelta(minutes=len(self.leaves)))
        self.leaves.append(leaf)
        return self.tree.append(leaf.to_bytes())

    def note(self, size: int | None = None) -> tlog.SignedNote:
        size = self.tree.size if size is None else size
        cp = tlog.Checkpoint(origin=ORIGIN, size=size, root_hash=self.tree.root(size))
        return tlog.sign_checkpoint(cp, self.signer)

    def receipt(self, index: int, note: tlog.SignedNote | None = None) -> tlog.Receipt:
        return tlog.make_receipt(self.leaves[index], index, note or self.note(), self.tree)


def cosigned(note: tlog.SignedNote, *witnesses: tlog.Cosigner, when: datetime = T0) -> tlog.SignedNote:
    return note.with_signatures(w.cosign(note.text, when) for w in witnesses)


def fake_head(n: int, seq: int = 0, batch: int = 0) -> ChainHead:
    return ChainHead(batch_id=bytes([batch]) * 32, seq=seq, event_id=bytes([n]) * 32, time=T0)
