"""EPCIS 2.0 for the CLI: ``ocop export --epcis`` and ``ocop step import`` (docs/epcis.md).

Commands parse, call the library, render: this module holds the two library calls' glue (a verified bundle out of
the ledger, and the checks that an EPCIS document may become steps of a given batch).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timedelta

import ocop_provenance as op
from ocop_provenance import epcis
from ocop_provenance.ledger import NewStep

from .context import CliError
from .render.words import t


def epcis_export(
    ledger: op.Ledger, batch_id: bytes, *, now: datetime, created: datetime, trust: op.VerifiedTrustList | None
) -> tuple[bytes, int, int]:
    """The EPCIS document of ``batch_id`` and the batches it was made from, built from a verified bundle.

    The bundle is verified with the ledger's keys at ``now`` (the command's clock), as being about ``batch_id``;
    ``trust`` only names the signers.

    Returns:
        The JSON bytes, the number of events, the number of batches.
    """
    buf = io.BytesIO()
    ledger.export_bundle(batch_id, buf)
    buf.seek(0)
    batches: dict[int, list[op.SignedEvent]] = {}
    summary = op.verify_bundle(
        buf,
        op.VerifyOptions(keys=ledger.key_ring(), now=now),
        root=batch_id,
        on_event=lambda i, e: batches.setdefault(i, []).append(e),
    )
    document = epcis.epcis_document(batches.values(), summary, created=created, trust=trust)
    return epcis.epcis_to_json(document), sum(len(b) for b in batches.values()), len(batches)


def _refuse(message: str, code: str, event: epcis.EpcisEvent, field: str) -> op.FormatError:
    return op.FormatError(
        message, code=code, position=event.index, field=f"epcisBody.eventList[{event.index}].{field}".rstrip(".")
    )


def steps_to_import(
    ledger: op.Ledger, batch_id: bytes, data: bytes, *, now: datetime, tolerance: timedelta
) -> tuple[list[NewStep], list[epcis.EpcisEvent]]:
    """Read an EPCIS document and check that each event may be signed as the next step of ``batch_id``.

    Refused (exit 3, the event and field named): a genesis (``E_EPCIS_UNSUPPORTED``); an event exported from
    another batch, about another lot, dated in the future, or whose inputs are not where the ledger's heads are
    now (``E_EPCIS_FIELD``).
    """
    events = epcis.read_epcis(data)
    if not events:
        raise CliError(t("the document holds no events"), code="E_EPCIS_EMPTY")
    chain = ledger.events(batch_id)
    try:
        own_class = epcis.batch_class(next(chain))
    finally:
        getattr(chain, "close", lambda: None)()  # release the read cursor before signing
    steps: list[NewStep] = []
    for event in events:
        content = event.content
        if not isinstance(content, epcis.EpcisStep):
            raise _refuse(
                t("a genesis opens a batch: import signs steps of an existing one"), "E_EPCIS_UNSUPPORTED", event, ""
            )
        if event.batch_id is not None and event.batch_id != batch_id:
            raise _refuse(
                t("exported from batch {batch}, not this one", batch=event.batch_id.hex()[:16]),
                "E_EPCIS_FIELD",
                event,
                "ocop:batchId",
            )
        if event.epc_class != own_class:
            raise _refuse(
                t(
                    "the event is about {event_class}, this batch is {own_class}",
                    event_class=event.epc_class,
                    own_class=own_class,
                ),
                "E_EPCIS_FIELD",
                event,
                "epcClass",
            )
        if content.time > now + tolerance:
            raise _refuse(
                t("{time} is in the future", time=content.time.isoformat()), "E_EPCIS_FIELD", event, "eventTime"
            )
        for i, ref in enumerate(content.inputs):
            head = ledger.head(ref.batch_id)
            if (head.seq, head.event_id) != (ref.seq, ref.head):
                raise _refuse(
                    t(
                        "input batch {batch} is at #{seq} in this ledger, the event names #{named}",
                        batch=ref.batch_id.hex()[:16],
                        seq=head.seq,
                        named=ref.seq,
                    ),
                    "E_EPCIS_FIELD",
                    event,
                    f"ocop:input[{i}]",
                )
        steps.append(
            NewStep(
                step=content.step,
                time=content.time,
                location=content.location,
                inputs=tuple(ref.batch_id for ref in content.inputs),
                attachments=content.attachments,
                data=content.data,
            )
        )
    return steps, list(events)


def new_events(ledger: op.Ledger, batch_id: bytes, after_seq: int) -> Sequence[op.SignedEvent]:
    """The batch's events after ``after_seq`` (those an import just signed)."""
    return [e for e in ledger.events(batch_id) if e.seq > after_seq]
