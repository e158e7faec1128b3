"""Events and batches as JSON and as lines of text: shared by ``batch``, ``step``, ``verify`` and ``import``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import ocop_provenance as op
from ocop_provenance.events import ChainSummary, CorrectionLog, CorrectionNote

from .core import JsonDict
from .words import iso, short, t

__all__ = [
    "chain_json",
    "correction_lines",
    "corrections_of",
    "event_json",
    "event_lines",
    "location_text",
    "producer_text",
]


def producer_text(p: op.Producer) -> str:
    """The producer's name, then its administrative code, commune and province when known."""
    facts = []
    if p.admin_code:
        facts.append(t("admin code {code}", code=p.admin_code))
    facts.extend(x for x in (p.commune, p.province) if x)
    if not facts:
        return p.name
    return t("{name} ({facts})", name=p.name, facts=", ".join(facts))


def location_text(loc: op.Location | None) -> str:
    """A place's name and ``[administrative code]``, or ``-``."""
    if loc is None:
        return "-"
    if loc.admin_code:
        return t("{name} [{code}]", name=loc.name, code=loc.admin_code)
    return loc.name


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def corrections_of(events: Iterable[op.SignedEvent]) -> CorrectionLog:
    """How the steps of one verified batch stand (docs/format.md §19), each correction judged by its key."""
    log = CorrectionLog()
    for e in events:
        log.add(e)
    return log


def correction_lines(notes: Sequence[CorrectionNote], indent: str = "        ") -> list[str]:
    """What became of a step: each correction of it, in order, with its status and reason."""
    out = []
    for n in notes:
        fields = {"by": n.by_seq, "reason": n.reason}
        if n.status == "unauthorised":
            text = t("correction #{by} NOT applied (not signed by this step's signer): {reason}", **fields)
        elif n.status == "superseded":
            text = t("corrected by #{by}, replaced by a later correction: {reason}", **fields)
        elif n.withdrawn:
            text = t("withdrawn by #{by}: {reason}", **fields)
        else:
            text = t("corrected by #{by}: {reason}", **fields)
        out.append(indent + text)
    return out


def event_lines(
    e: op.SignedEvent,
    names: Mapping[bytes, str],
    corrections: Sequence[CorrectionNote] = (),
    inputs: Mapping[bytes, tuple[str, str]] | None = None,
) -> list[str]:
    """An event of a timeline: time, step, place and signer, then its inputs, attachments and data.

    A correction says what it corrects; a corrected step ends with each correction of it (``corrections``).
    ``inputs`` gives the product and lot of the input batches that are known (held in the ledger or the bundle).
    """
    known = inputs or {}
    body = e.body
    signer = names.get(e.key_id)
    fields = {"seq": e.seq, "time": iso(e.time), "step": e.step, "place": location_text(body.location)}
    if signer:
        head = t(
            "  #{seq:<3} {time}  {step:<14} at {place}  signed by {name} ({key})",
            name=signer,
            **fields,
            key=short(e.key_id),
        )
    else:
        head = t("  #{seq:<3} {time}  {step:<14} at {place}  signed by key {key}", **fields, key=short(e.key_id))
    out = [head]
    if isinstance(body, op.Step):
        for r in body.inputs:
            if r.batch_id in known:
                product, lot = known[r.batch_id]
                out.append(
                    t(
                        "        input batch {batch} ({product}, lot {lot}) at #{seq} (event {head})",
                        batch=short(r.batch_id),
                        product=product,
                        lot=lot,
                        seq=r.seq,
                        head=short(r.head),
                    )
                )
            else:
                out.append(
                    t(
                        "        input batch {batch} at #{seq} (event {head})",
                        batch=short(r.batch_id),
                        seq=r.seq,
                        head=short(r.head),
                    )
                )
    out.extend(
        t(
            "        attached {name} ({media_type}, {size} bytes, sha256 {digest})",
            name=a.name,
            media_type=a.media_type,
            size=a.size,
            digest=a.sha256.hex(),
        )
        for a in body.attachments
    )
    out.extend(t("        {name} = {value}", name=k, value=_value(v)) for k, v in body.data.items())
    if isinstance(body, op.Step) and body.corrects is not None:
        c = body.corrects
        out.append(
            t("        corrects #{seq} (event {event}): {reason}", seq=c.seq, event=short(c.event_id), reason=c.reason)
        )
        if c.data is None:
            out.append(t("        step #{seq} did not happen as recorded (withdrawn)", seq=c.seq))
        else:
            out.extend(t("        corrected {name} = {value}", name=k, value=_value(v)) for k, v in c.data.items())
    out.extend(correction_lines(corrections))
    return out


def _attachment_json(a: op.Attachment) -> JsonDict:
    return {"name": a.name, "media_type": a.media_type, "size": a.size, "sha256": a.sha256.hex()}


def _location_json(loc: op.Location | None) -> JsonDict | None:
    if loc is None:
        return None
    return {"name": loc.name, "admin_code": loc.admin_code, "lat_e6": loc.lat_e6, "lon_e6": loc.lon_e6, "gln": loc.gln}


def event_json(
    e: op.SignedEvent, names: Mapping[bytes, str] | None = None, inputs: Mapping[bytes, tuple[str, str]] | None = None
) -> JsonDict:
    """One event as JSON (docs/cli.md §Event); each input names its product and lot when ``inputs`` knows them."""
    body = e.body
    known = inputs or {}
    out: JsonDict = {
        "seq": e.seq,
        "event_id": e.event_id.hex(),
        "step": e.step,
        "time": iso(e.time),
        "key_id": e.key_id.hex(),
        "signer": (names or {}).get(e.key_id),
        "location": _location_json(body.location),
        "inputs": [],
        "attachments": [_attachment_json(a) for a in body.attachments],
        "data": dict(body.data),
    }
    if isinstance(body, op.Step):
        out["prev"] = body.prev.hex()
        out["inputs"] = [
            {
                "batch_id": r.batch_id.hex(),
                "seq": r.seq,
                "head": r.head.hex(),
                **(
                    {}
                    if inputs is None
                    else {
                        "product": known[r.batch_id][0] if r.batch_id in known else None,
                        "lot": known[r.batch_id][1] if r.batch_id in known else None,
                    }
                ),
            }
            for r in body.inputs
        ]
        fix = body.corrects
        if fix is not None:
            out["corrects"] = {
                "seq": fix.seq,
                "event_id": fix.event_id.hex(),
                "reason": fix.reason,
                "data": None if fix.data is None else dict(fix.data),
            }
    else:
        p = body.product
        out["product"] = {"name": p.name, "lot": p.lot, "quantity": p.quantity, "unit": p.unit, "gtin": p.gtin}
        pr = body.producer
        out["producer"] = {
            "name": pr.name,
            "admin_code": pr.admin_code,
            "commune": pr.commune,
            "province": pr.province,
            "gln": pr.gln,
        }
        c = body.certificate
        out["certificate"] = (
            None if c is None else {"stars": c.stars, "number": c.number, "issued": c.issued.isoformat()}
        )
    return out


def chain_json(c: ChainSummary, position: int) -> JsonDict:
    """One batch of a verified bundle (``position`` 0 is the root)."""
    g = c.genesis.body
    assert isinstance(g, op.Genesis)
    return {
        "batch_id": c.batch_id.hex(),
        "role": "root" if position == 0 else "input",
        "product": g.product.name,
        "lot": g.product.lot,
        "gtin": g.product.gtin,
        "events": c.count,
        "head_seq": c.head.seq,
        "head_id": c.head.event_id.hex(),
        "signers": [k.hex() for k in c.signers],
    }
