"""Checking an EPCIS document against verified signed events (docs/epcis.md §5).

An EPCIS copy is evidence only as far as each of its events says what a verified signed event says. The check
reads the document (:func:`~._epcis_import.read_epcis`, which also recomputes every exported event's CBV hash) and
compares each event, by ``ocop:eventId``, with the verified event of that id: batch, seq, prev, signer key id, the
lot classes it names, and its whole content. Signer *names* in ``ocop:signer`` are not compared: a consumer takes
names from its own verified trust list, by key id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._epcis import batch_class
from ._epcis_import import EpcisEvent, EpcisStep, read_epcis
from ._errors import VerificationError
from ._model import Genesis, Step
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


def _content_differs(read: Genesis | EpcisStep, body: Genesis | Step) -> str | None:
    """The first part of the content that differs, or None."""
    if read.time != body.time or read.time.utcoffset() != body.time.utcoffset():
        return "eventTime"
    if not _same_data(read.data, body.data):
        return "data"
    if isinstance(read, Genesis) and isinstance(body, Genesis):
        return None if read == body else "genesis"
    if isinstance(read, EpcisStep) and isinstance(body, Step):
        for name in ("step", "location", "inputs", "attachments"):
            if getattr(read, name) != getattr(body, name):
                return name
        return None
    return "type"


def check_epcis(
    data: bytes | str | Mapping[str, Any], batches: Iterable[Sequence[SignedEvent]]
) -> tuple[EpcisEvent, ...]:
    """Check that every event of an EPCIS document says what a verified signed event says.

    Args:
        data: The EPCIS 2.0 JSON-LD document (as for :func:`read_epcis`).
        batches: Verified events grouped by batch, each from genesis to head (what
            :func:`~ocop_provenance.verify_bundle` passes to ``on_event``): the evidence.

    Returns:
        The document's events, each backed by a signed event. Events of ``batches`` that the document leaves
        out are not an error (a document may show part of a bundle); compare counts if that matters.

    Raises:
        FormatError: The document cannot be read (as :func:`read_epcis`, ``E_EPCIS_HASH`` included).
        VerificationError: ``E_EPCIS_UNSIGNED`` (an event without ``ocop:eventId``, or naming no verified
            event) or ``E_EPCIS_MISMATCH`` (batch, seq, prev, signer key, lot class or content differ), naming
            the event's index and the field.
    """
    signed: dict[bytes, SignedEvent] = {}
    classes: dict[bytes, str] = {}
    for chain in batches:
        for i, one in enumerate(chain):
            if i == 0 and one.is_genesis:
                classes[one.batch_id] = batch_class(one)
            signed[one.event_id] = one
    events = read_epcis(data)
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
        differs = _content_differs(event.content, original.body)
        if differs is not None:
            raise _mismatch(event, differs, differs)
    return events
