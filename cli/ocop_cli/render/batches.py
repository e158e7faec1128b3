"""``ocop batch``, ``ocop step`` and ``ocop export``: a new batch or steps, the batch list, a timeline, an export."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import ocop_provenance as op
from ocop_provenance.epcis import EpcisEvent
from ocop_provenance.ledger import BatchInfo

from .core import JsonDict, Result, Text, lines
from .events import corrections_of, event_json, event_lines, producer_text
from .words import iso, short, t, tn

__all__ = [
    "BatchCreated",
    "BatchList",
    "BatchTimeline",
    "EpcisExported",
    "Exported",
    "StepAdded",
    "StepCorrected",
    "StepsImported",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchCreated(Result):
    """``ocop batch new``: the batch id on stdout."""

    event: op.SignedEvent
    key_name: str

    def to_json(self) -> JsonDict:
        return {"batch": {"batch_id": self.event.batch_id.hex(), "event": event_json(self.event)}}

    def to_text(self) -> Text:
        e = self.event
        note = t("opened batch {batch}, signed by {key}", batch=short(e.batch_id), key=self.key_name)
        return lines(e.batch_id.hex(), err=[note])


@dataclass(frozen=True, slots=True, kw_only=True)
class StepAdded(Result):
    """``ocop step add``: the new event id on stdout."""

    event: op.SignedEvent
    key_name: str

    def to_json(self) -> JsonDict:
        return {"batch_id": self.event.batch_id.hex(), "event": event_json(self.event)}

    def to_text(self) -> Text:
        e = self.event
        note = t(
            "added {step} as #{seq} of batch {batch}, signed by {key}",
            step=e.step,
            seq=e.seq,
            batch=short(e.batch_id),
            key=self.key_name,
        )
        return lines(e.event_id.hex(), err=[note])


@dataclass(frozen=True, slots=True, kw_only=True)
class StepCorrected(Result):
    """``ocop step correct``: the correction's event id on stdout."""

    event: op.SignedEvent
    key_name: str

    def to_json(self) -> JsonDict:
        return {"batch_id": self.event.batch_id.hex(), "event": event_json(self.event)}

    def to_text(self) -> Text:
        e = self.event
        body = e.body
        assert isinstance(body, op.Step)
        assert body.corrects is not None
        fields = {
            "seq": body.corrects.seq,
            "by": e.seq,
            "batch": short(e.batch_id),
            "key": self.key_name,
        }
        if body.corrects.withdrawn:
            note = t("withdrew step #{seq} of batch {batch} with correction #{by}, signed by {key}", **fields)
        else:
            note = t("corrected step #{seq} of batch {batch} with correction #{by}, signed by {key}", **fields)
        return lines(e.event_id.hex(), err=[note])


@dataclass(frozen=True, slots=True, kw_only=True)
class StepsImported(Result):
    """``ocop step import``: the steps signed from an EPCIS document, their event ids on stdout (one a line)."""

    source: str
    events: Sequence[op.SignedEvent]
    read: Sequence[EpcisEvent]
    key_name: str

    def to_json(self) -> JsonDict:
        return {
            "source": self.source,
            "batch_id": self.events[0].batch_id.hex() if self.events else None,
            "imported": len(self.events),
            "events": [
                {**event_json(e), "epcis_event_hash": r.event_hash} for e, r in zip(self.events, self.read, strict=True)
            ],
        }

    def to_text(self) -> Text:
        if not self.events:
            return lines()
        first, last = self.events[0], self.events[-1]
        note = tn(
            len(self.events),
            "signed {n} step from {path} as #{first}-#{last} of batch {batch}, signed by {key}",
            "signed {n} steps from {path} as #{first}-#{last} of batch {batch}, signed by {key}",
            path=self.source,
            first=first.seq,
            last=last.seq,
            batch=short(first.batch_id),
            key=self.key_name,
        )
        return lines(*(e.event_id.hex() for e in self.events), err=[note])


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchList(Result):
    """``ocop batch list``: the batches (those matching ``--product`` / ``--since`` when ``filtered``)."""

    batches: Sequence[BatchInfo]
    ledger: str = ""
    filtered: bool = False

    def to_json(self) -> JsonDict:
        return {
            "batches": [
                {
                    "batch_id": b.batch_id.hex(),
                    "product": b.product,
                    "lot": b.lot,
                    "gtin": b.gtin,
                    "events": b.count,
                    "head_seq": b.head_seq,
                    "head_id": b.head_id.hex(),
                    "opened": iso(b.opened),
                    "updated": iso(b.updated),
                }
                for b in self.batches
            ]
        }

    def to_text(self) -> Text:
        if not self.batches and self.filtered:
            return Text(err=(t("no batch matches in {ledger}", ledger=self.ledger),))
        if not self.batches:
            return Text(
                err=(
                    t("no batches yet in {ledger} (open one with: ocop batch new --key NAME ...)", ledger=self.ledger),
                )
            )
        return lines(
            *(
                t(
                    "{batch}  {product}  lot {lot}  {events}  updated {updated}",
                    batch=short(b.batch_id),
                    product=b.product,
                    lot=b.lot,
                    events=tn(b.count, "{n} event", "{n} events"),
                    updated=iso(b.updated),
                )
                for b in self.batches
            )
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchTimeline(Result):
    """``ocop batch show``: the batch's events, each verified as it was read."""

    events: Sequence[op.SignedEvent]
    names: Mapping[bytes, str]
    inputs: Mapping[bytes, tuple[str, str]] = field(default_factory=dict)
    """The product and lot of each input batch the ledger holds."""

    def to_json(self) -> JsonDict:
        return {
            "batch_id": self.events[0].batch_id.hex(),
            "verified": True,
            "events": [event_json(e, self.names, self.inputs) for e in self.events],
            "corrections": [n.to_dict() for n in corrections_of(self.events).notes],
        }

    def to_text(self) -> Text:
        genesis = self.events[0]
        body = genesis.body
        assert isinstance(body, op.Genesis)
        p = body.product
        rows = [t("Batch {batch}", batch=genesis.batch_id.hex())]
        if p.gtin:
            rows.append(
                t(
                    "  {name} · lot {lot} · GTIN {gtin} · {quantity} {unit}",
                    name=p.name,
                    lot=p.lot,
                    gtin=p.gtin,
                    quantity=p.quantity,
                    unit=p.unit,
                )
            )
        else:
            rows.append(
                t("  {name} · lot {lot} · {quantity} {unit}", name=p.name, lot=p.lot, quantity=p.quantity, unit=p.unit)
            )
        rows.append(t("  producer  {producer}", producer=producer_text(body.producer)))
        c = body.certificate
        if c is not None:
            rows.append(
                t(
                    "  OCOP      {stars} stars, certificate {number} of {issued}",
                    stars=c.stars,
                    number=c.number,
                    issued=c.issued.isoformat(),
                )
            )
        rows.append(
            tn(
                len(self.events),
                "  {n} event; every signature and link checked when read from the ledger",
                "  {n} events; every signature and link checked when read from the ledger",
            )
        )
        rows.append("")
        log = corrections_of(self.events)
        for e in self.events:
            rows.extend(event_lines(e, self.names, log.of_step(e.seq), self.inputs))
        return lines(*rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class Exported(Result):
    """``ocop export``: what was written (the report goes to stderr: stdout may carry the export itself)."""

    path: str
    kind: str
    events: int
    batches: int
    size: int
    #: With ``--receipts``: the receipts file, how many receipts it holds, its size.
    receipts: tuple[str, int, int] | None = None
    #: With ``--receipts``: the heads ``(batch id, seq)`` no stored receipt logs.
    unlogged: tuple[tuple[bytes, int], ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(
            t("no log receipt for head #{seq} of batch {batch}: publish it first (ocop publish)", seq=s,
              batch=short(b))
            for b, s in self.unlogged
        )  # fmt: skip

    def to_json(self) -> JsonDict:
        doc = _written_json(self.path, self.kind, self.events, self.batches, self.size)
        if self.receipts is not None:
            doc["receipts"] = {
                "output": self.receipts[0],
                "count": self.receipts[1],
                "bytes": self.receipts[2],
                "unlogged": [{"batch_id": b.hex(), "seq": s} for b, s in self.unlogged],
            }
        return doc

    def to_text(self) -> Text:
        counts = _written_counts(self.path, self.events, self.batches, self.size)
        if self.kind == "bundle":
            rows = [t("wrote bundle {path}: {events} of {batches}, {size} bytes", **counts)]
            if self.receipts is not None:
                path, n, size = self.receipts
                rows.append(
                    tn(n, "wrote {n} log receipt to {path} ({size} bytes)", "wrote {n} log receipts to {path} "
                       "({size} bytes)", path=path, size=size)
                )  # fmt: skip
            return Text(err=tuple(rows))
        return Text(err=(t("wrote COSE sequence {path}: {events} of {batches}, {size} bytes", **counts),))


@dataclass(frozen=True, slots=True, kw_only=True)
class EpcisExported(Result):
    """``ocop export --epcis``: the EPCIS 2.0 JSON-LD document written (reported on stderr, as for a bundle)."""

    path: str
    events: int
    batches: int
    size: int

    def to_json(self) -> JsonDict:
        return _written_json(self.path, "epcis", self.events, self.batches, self.size)

    def to_text(self) -> Text:
        counts = _written_counts(self.path, self.events, self.batches, self.size)
        return Text(err=(t("wrote EPCIS 2.0 JSON-LD document {path}: {events} of {batches}, {size} bytes", **counts),))


def _written_json(path: str, kind: str, events: int, batches: int, size: int) -> JsonDict:
    return {"output": path, "format": kind, "events": events, "batches": batches, "bytes": size}


def _written_counts(path: str, events: int, batches: int, size: int) -> dict[str, object]:
    return {
        "path": path,
        "events": tn(events, "{n} event", "{n} events"),
        "batches": tn(batches, "{n} batch", "{n} batches"),
        "size": size,
    }
