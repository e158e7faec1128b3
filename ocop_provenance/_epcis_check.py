"""Checking an EPCIS document against verified signed events (docs/epcis.md §5).

An EPCIS copy is evidence only as far as each of its events says what a verified signed event says. The check
reads the document (:func:`~._epcis_import.read_epcis`, which also recomputes every exported event's CBV hash) and
compares each event, by ``ocop:eventId``, with the verified event of that id: batch, seq, prev, signer key id, the
lot classes it names, and its whole content. Signer *names* in ``ocop:signer`` are not compared: a consumer takes
names from its own verified trust list, by key id.

Corrections (docs/epcis.md §2.4): a correction's own event is compared like any other (with ``ocop:corrects`` and
how it stands); an ``errorDeclaration`` must declare a correction *in force* of that very event, with its time and
reason, and list the document's corrective events of it; a corrective event must carry the corrected event with
the values of the correction in force named by ``ocop:correctedBy``. In force is judged as the export judges it
(:func:`~._epcis.correction_log`, with the same trust list or by key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._corrections import CorrectionNote
from ._epcis import DID_NOT_OCCUR, INCORRECT_DATA, batch_class, correction_log
from ._epcis_import import EpcisDeclaration, EpcisEvent, EpcisStep, read_epcis
from ._errors import VerificationError
from ._model import Correction, Genesis, Step
from ._trust import VerifiedTrustList
from ._wire import SignedEvent

__all__ = ["check_epcis"]


def _mismatch(event: EpcisEvent, what: str, field: str, code: str = "E_EPCIS_MISMATCH") -> VerificationError:
    return VerificationError(
        f"the EPCIS event differs from the signed event: {what}",
        code=code,
        position=event.index,
        event_id=event.signed_event_id,
        field=f"epcisBody.eventList[{event.index}].{field}",
    )


def _same_data(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    return dict(a) == dict(b) and all(type(a[k]) is type(b[k]) for k in a)


def _same_correction(a: Correction | None, b: Correction | None) -> bool:
    if a is None or b is None:
        return a is b
    same = (a.seq, a.event_id, a.reason) == (b.seq, b.event_id, b.reason)
    if a.data is None or b.data is None:
        return same and a.data is b.data
    return same and _same_data(a.data, b.data)


def _content_differs(
    read: Genesis | EpcisStep, body: Genesis | Step, data: Mapping[str, object] | None = None
) -> str | None:
    """The first part of the content that differs (``data`` replacing the body's own), or None."""
    if read.time != body.time or read.time.utcoffset() != body.time.utcoffset():
        return "eventTime"
    if not _same_data(read.data, body.data if data is None else data):
        return "data"
    if isinstance(read, Genesis) and isinstance(body, Genesis):
        return None if read == body else "genesis"
    if isinstance(read, EpcisStep) and isinstance(body, Step):
        for name in ("step", "location", "inputs", "attachments"):
            if getattr(read, name) != getattr(body, name):
                return name
        return None if _same_correction(read.corrects, body.corrects) else "ocop:corrects"
    return "type"


def _note(
    notes: Mapping[int, CorrectionNote], correction: SignedEvent | None, target: SignedEvent
) -> CorrectionNote | None:
    """How ``correction`` stands, if it is a correction of ``target``'s batch naming ``target``; else None.

    ``notes`` are the corrections of ``target``'s batch, by their own seq.
    """
    if correction is None or correction.batch_id != target.batch_id:
        return None
    note = notes.get(correction.seq)
    return note if note is not None and note.event_id == target.event_id else None


def _declaration_differs(
    declaration: EpcisDeclaration, note: CorrectionNote | None, correctives: Mapping[str, bytes | None]
) -> tuple[str, str] | None:
    """What of an error declaration a signed correction in force does not say: (what, field), or None."""
    where = "errorDeclaration."
    if note is None or not note.in_force:
        return "declares no correction in force of this event", where + "ocop:correction"
    t = declaration.time
    if t != note.time or t.utcoffset() != note.time.utcoffset():
        return "declaration time", where + "declarationTime"
    if declaration.reason != (DID_NOT_OCCUR if note.withdrawn else INCORRECT_DATA):
        return "error reason", where + "reason"
    if declaration.correction_reason != note.reason:
        return "the correction's reason", where + "ocop:reason"
    ids = declaration.corrective_event_ids
    # A withdrawal has no corrective event; corrected values have one, this correction's, in the document.
    wanted = 0 if note.withdrawn else 1
    if len(ids) != wanted or any(correctives.get(i) != note.by_event_id for i in ids):
        return "corrective events", where + "correctiveEventIDs"
    return None


def check_epcis(
    data: bytes | str | Mapping[str, Any],
    batches: Iterable[Sequence[SignedEvent]],
    *,
    trust: VerifiedTrustList | None = None,
) -> tuple[EpcisEvent, ...]:
    """Check that every event of an EPCIS document says what a verified signed event says.

    Args:
        data: The EPCIS 2.0 JSON-LD document (as for :func:`read_epcis`).
        batches: Verified events grouped by batch, each from genesis to head (what
            :func:`~ocop_provenance.verify_bundle` passes to ``on_event``): the evidence.
        trust: The verified trust list that judges who may correct (the export's; without one, by key, as
            :func:`~ocop_provenance.epcis.correction_log`). Signer names are never compared.

    Returns:
        The document's events, each backed by a signed event. Events of ``batches`` that the document leaves
        out are not an error (a document may show part of a bundle); compare counts if that matters.

    Raises:
        FormatError: The document cannot be read (as :func:`read_epcis`, ``E_EPCIS_HASH`` included).
        VerificationError: ``E_EPCIS_UNSIGNED`` (an event without ``ocop:eventId``, or naming no verified
            event) or ``E_EPCIS_MISMATCH`` (batch, seq, prev, signer key, lot class or content differ; an error
            declaration or corrective event that no correction in force backs, or that differs from it), naming
            the event's index and the field.
    """
    signed: dict[bytes, SignedEvent] = {}
    classes: dict[bytes, str] = {}
    corrections: dict[bytes, dict[int, CorrectionNote]] = {}  # by batch, then by the correction's seq
    for chain in batches:
        for i, one in enumerate(chain):
            if i == 0 and one.is_genesis:
                classes[one.batch_id] = batch_class(one)
            signed[one.event_id] = one
        if chain:
            corrections[chain[0].batch_id] = {n.by_seq: n for n in correction_log(chain, trust).notes}
    events = read_epcis(data, corrections=True)
    correctives = {e.event_hash: e.corrected_by for e in events if e.corrected_by is not None}
    for event in events:
        if event.signed_event_id is None or event.signed_event_id not in signed:
            raise _mismatch(event, "no verified signed event has its ocop:eventId", "ocop:eventId", "E_EPCIS_UNSIGNED")
        original = signed[event.signed_event_id]
        checks = (
            ("batch", event.batch_id == original.batch_id, "ocop:batchId"),
            ("seq", event.seq == original.seq, "ocop:seq"),
            ("prev", event.prev == original.prev, "ocop:prev"),
            ("signer key", event.key_id == original.key_id, "ocop:signer"),
            ("lot class", event.epc_class == classes.get(original.batch_id), "epcClass"),
        )
        for what, ok, field in checks:
            if not ok:
                raise _mismatch(event, what, field)
        if isinstance(original.body, Step):
            want = tuple(classes.get(ref.batch_id) for ref in original.body.inputs)
            if event.input_classes != want:
                raise _mismatch(event, "input lot classes", "inputQuantityList")
        notes = corrections.get(original.batch_id, {})
        body = original.body
        expected = None
        if event.corrected_by is not None:
            note = _note(notes, signed.get(event.corrected_by), original)
            if note is None or not note.in_force or note.data is None:
                raise _mismatch(event, "corrects with no correction in force", "ocop:correctedBy")
            expected = {**body.data, **note.data}
        differs = _content_differs(event.content, body, expected)
        if differs is not None:
            raise _mismatch(event, differs, differs)
        if event.status is not None:
            own = notes.get(original.seq)
            if own is None or own.status != event.status:
                raise _mismatch(event, "how the correction stands", "ocop:corrects.ocop:status")
        if event.declaration is not None:
            note = _note(notes, signed.get(event.declaration.correction), original)
            wrong = _declaration_differs(event.declaration, note, correctives)
            if wrong is not None:
                raise _mismatch(event, *wrong)
    return events
