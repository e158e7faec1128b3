"""Corrections: a signed step that declares an earlier step of its batch erroneous (docs/format.md §19).

Signed history never changes; a clerk's mistake is answered by a *correction*, a step whose business step is
``ocop:correcting`` and whose ``corrects`` names the erroneous step by seq **and** event id, with a reason and,
optionally, the corrected key data elements (docs/adr/0100-corrections.md). Three pieces, each stated once:

* :class:`RecentEvents` and :meth:`RecentEvents.problem`: the check that a correction names an event of its own
  chain, earlier, and not itself a correction. The chain verifier, the parallel verifier's joins and the ledger's
  reads run it; a verifier holds the ids of at most :data:`MAX_CORRECTION_DISTANCE` events, so memory stays bounded
  (a correction reaches at most that far back: a rule of the format, checked when the event is decoded).
* :class:`CorrectionLog`: how each step of a verified batch stands once its corrections are read: corrected (by
  which correction, in force or not), withdrawn, or as recorded. A correction is **in force** only when its signer
  is the corrected step's signer (the same trust-list participant in an audit, the same key otherwise); the latest
  such correction of a step replaces earlier ones. Audits, policies, seal checks and the CLI all read this log.
* :func:`append_correction`: sign a correction.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final, Literal

from ._chain import ChainHead, head_of
from ._errors import FormatError
from ._keys import Signer
from ._model import (
    CORRECTION_STEP,
    MAX_CORRECTION_DISTANCE,
    Attachment,
    Correction,
    DataValue,
    Location,
    Step,
)
from ._wire import SignedEvent, sign_event

__all__ = [
    "CorrectionLog",
    "CorrectionNote",
    "CorrectionStatus",
    "RecentEvents",
    "append_correction",
]

#: How a correction stands: ``in_force`` (it holds), ``superseded`` (a later correction in force replaced it),
#: ``unauthorised`` (not signed by the corrected step's signer: shown, never applied).
CorrectionStatus = Literal["in_force", "superseded", "unauthorised"]


_A_CORRECTION, _NOT_A_CORRECTION = b"\x01", b"\x00"


class RecentEvents:
    """The ids of a chain's last :data:`MAX_CORRECTION_DISTANCE` events, to check corrections in bounded memory.

    Events are noted in chain order; each entry is 33 bytes (a flag saying whether the event is a correction, and
    its id), so the window holds at most 135 KiB whatever the chain's length.
    """

    __slots__ = ("_entries", "_next")

    def __init__(self) -> None:
        """Start with an empty window."""
        self._entries: deque[bytes] = deque(maxlen=MAX_CORRECTION_DISTANCE)
        self._next = 0  # the seq the next noted event is expected to have

    def note(self, seq: int, event_id: bytes, *, is_correction: bool) -> None:
        """Note the event at ``seq`` (the one after the last noted; otherwise the window starts again there)."""
        if seq != self._next:
            self._entries.clear()  # only a report goes on past a broken seq: what came before is not this chain's
        self._entries.append((_A_CORRECTION if is_correction else _NOT_A_CORRECTION) + event_id)
        self._next = seq + 1

    def note_event(self, event: SignedEvent) -> None:
        """Note a verified event (the verifier's inner loop: :meth:`note` written out)."""
        body = event.body
        if type(body) is Step:
            seq, flag = body.seq, _NOT_A_CORRECTION if body.corrects is None else _A_CORRECTION
        else:
            seq, flag = 0, _NOT_A_CORRECTION
        if seq != self._next:
            self._entries.clear()
        self._entries.append(flag + event.envelope.object_id)
        self._next = seq + 1

    def note_ids(self, first_seq: int, ids: bytes, corrections: Iterable[int]) -> None:
        """Note consecutive events from ``first_seq``: their ids concatenated, and the offsets of corrections."""
        marked = set(corrections)
        count = len(ids) // 32
        skip = max(0, count - MAX_CORRECTION_DISTANCE)  # only the last ones can stay in the window
        if skip:
            self._entries.clear()
            self._next = first_seq + skip
        for i in range(skip, count):
            self.note(first_seq + i, ids[32 * i : 32 * i + 32], is_correction=i in marked)

    def get(self, seq: int) -> tuple[bytes, bool] | None:
        """Return ``(event id, is a correction)`` of the noted event at ``seq``, or None if the window lacks it."""
        back = self._next - seq
        if not 1 <= back <= len(self._entries):
            return None
        entry = self._entries[-back]
        return entry[1:], entry[0] == 1

    def problem(self, corrects: Correction) -> str | None:
        """Return why ``corrects`` does not name a correctable earlier event of this chain, or None.

        The code of the failure is always ``E_CORRECTION_TARGET``.
        """
        return target_problem(corrects, self.get(corrects.seq))


def target_problem(corrects: Correction, target: tuple[bytes, bool] | None) -> str | None:
    """Return why a correction may not correct ``target`` (the event its chain holds at its seq), or None.

    Args:
        corrects: What the correction names.
        target: ``(event id, is a correction)`` of the chain's event at ``corrects.seq``, or None if there is none.
    """
    if target is None:
        return f"the chain holds no event at seq {corrects.seq} before this correction"
    event_id, is_correction = target
    if event_id != corrects.event_id:
        return f"the event at seq {corrects.seq} is not the one the correction names (another batch's, or another)"
    if is_correction:
        return f"seq {corrects.seq} is itself a correction: correct the original step instead"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectionNote:
    """One correction, and how it stands against the step it corrects.

    Attributes:
        seq: The corrected step's seq.
        event_id: The corrected step's event id.
        by_seq: The correction's seq.
        by_event_id: The correction's event id.
        by_key_id: The key id that signed the correction.
        time: When the correction says it was made.
        reason: Why, in the signer's words.
        data: The corrected key data elements, or None when the step is withdrawn.
        attachments: Files the correction attaches (a re-issued certificate, say).
        status: ``in_force``, ``superseded`` or ``unauthorised`` (:data:`CorrectionStatus`).
    """

    seq: int
    event_id: bytes
    by_seq: int
    by_event_id: bytes
    by_key_id: bytes
    time: datetime
    reason: str
    data: Mapping[str, DataValue] | None
    attachments: tuple[Attachment, ...]
    status: CorrectionStatus

    @property
    def withdrawn(self) -> bool:
        """True when the correction withdraws the step (no corrected values): it did not happen as recorded."""
        return self.data is None

    @property
    def in_force(self) -> bool:
        """True when this correction holds for its step."""
        return self.status == "in_force"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping (ids as hex)."""
        return {
            "seq": self.seq,
            "event_id": self.event_id.hex(),
            "by_seq": self.by_seq,
            "by_event_id": self.by_event_id.hex(),
            "by_key_id": self.by_key_id.hex(),
            "time": self.time.isoformat(),
            "reason": self.reason,
            "withdrawn": self.withdrawn,
            "data": None if self.data is None else dict(self.data),
            "attachments": [
                {"name": a.name, "media_type": a.media_type, "size": a.size, "sha256": a.sha256.hex()}
                for a in self.attachments
            ],
            "status": self.status,
        }


class _KeyId:
    """The default signer identity: the key id that signed the event."""


KEY_ID: Final = _KeyId()


class CorrectionLog:
    """How the steps of one verified batch stand once its corrections are read (feed events in chain order).

    A correction is in force when its signer is the corrected step's signer: by default the same key; pass
    ``signer=`` to :meth:`add` to judge by another identity (an audit passes the trust-list participant's id, so a
    participant's new key may correct what its old key signed; None means a signer who may not correct anything).
    The latest correction in force of a step replaces earlier ones (each says the step's values anew, relative to
    the step as recorded); the others stay listed as ``superseded`` or ``unauthorised``. Nothing is hidden.

    Memory: one note per correction, plus the signers of the last :data:`MAX_CORRECTION_DISTANCE` events.
    """

    def __init__(self) -> None:
        """Start an empty log."""
        self._signers: deque[Hashable | None] = deque(maxlen=MAX_CORRECTION_DISTANCE)
        self._next = 0
        self._notes: list[CorrectionNote] = []
        self._by_step: dict[int, list[int]] = {}
        self._current: dict[int, int] = {}

    def add(self, event: SignedEvent, signer: Hashable | _KeyId | None = KEY_ID) -> CorrectionNote | None:
        """Read the next event of the batch; return its note if it is a correction.

        Args:
            event: The next verified event, in chain order.
            signer: Who signed it, for the in-force rule (default: its key id; None: a signer whose corrections
                are never in force, such as a key the trust list does not allow).

        Returns:
            The correction's note as it stands now, or None for any other event.
        """
        who = event.key_id if isinstance(signer, _KeyId) else signer
        if event.seq != self._next:
            self._signers.clear()
        body = event.body
        note = None
        if type(body) is Step and body.corrects is not None:
            c = body.corrects
            back = event.seq - c.seq
            original = self._signers[-back] if 1 <= back <= len(self._signers) else None
            authorised = who is not None and original is not None and who == original
            note = CorrectionNote(
                seq=c.seq,
                event_id=c.event_id,
                by_seq=event.seq,
                by_event_id=event.event_id,
                by_key_id=event.key_id,
                time=body.time,
                reason=c.reason,
                data=c.data,
                attachments=body.attachments,
                status="in_force" if authorised else "unauthorised",
            )
            index = len(self._notes)
            self._notes.append(note)
            self._by_step.setdefault(c.seq, []).append(index)
            if authorised:
                previous = self._current.get(c.seq)
                if previous is not None:
                    self._notes[previous] = replace(self._notes[previous], status="superseded")
                self._current[c.seq] = index
        self._signers.append(who)
        self._next = event.seq + 1
        return note

    @property
    def notes(self) -> tuple[CorrectionNote, ...]:
        """Every correction read so far, in chain order, each with its status as it stands now."""
        return tuple(self._notes)

    def of_step(self, seq: int) -> tuple[CorrectionNote, ...]:
        """Every correction of the step at ``seq``, in chain order."""
        return tuple(self._notes[i] for i in self._by_step.get(seq, ()))

    def in_force(self, seq: int) -> CorrectionNote | None:
        """The correction in force for the step at ``seq``, if any."""
        index = self._current.get(seq)
        return None if index is None else self._notes[index]

    def by(self, seq: int) -> CorrectionNote | None:
        """The note of the correction at ``seq`` (the correction's own seq), if that event is a correction."""
        for note in self._notes:
            if note.by_seq == seq:
                return note
        return None

    def effective_data(self, event: SignedEvent) -> Mapping[str, DataValue] | None:
        """The key data elements of ``event`` as corrected, or None when the step is withdrawn.

        Without a correction in force: the event's own data. With one: the event's data, each corrected key
        replaced (or added) by the correction's value.
        """
        note = self.in_force(event.seq)
        if note is None:
            return event.body.data
        if note.data is None:
            return None
        return {**event.body.data, **note.data}

    def effective_attachments(self, event: SignedEvent) -> tuple[Attachment, ...]:
        """The files of ``event`` together with those of the correction in force for it, if any."""
        note = self.in_force(event.seq)
        return event.body.attachments + (() if note is None else note.attachments)


def append_correction(
    head: ChainHead | SignedEvent,
    signer: Signer,
    *,
    corrected: ChainHead | SignedEvent,
    reason: str,
    time: datetime,
    location: Location,
    data: Mapping[str, DataValue] | None = None,
    attachments: Iterable[Attachment] = (),
) -> SignedEvent:
    """Sign a correction of an earlier step of the same batch, as the step that follows ``head``.

    Args:
        head: The batch's current head.
        signer: The key of whoever corrects; for the correction to be in force, the corrected step's signer (the
            same participant of the trust list).
        corrected: The erroneous step (an event, or its :class:`~ocop_provenance.events.ChainHead`).
        reason: Why it is corrected.
        time: When the correction is made.
        location: Where it is made.
        data: The corrected key data elements; None withdraws the step (it did not happen as recorded).
        attachments: Supporting files, by hash.

    Returns:
        The signed correction.

    Raises:
        FormatError: ``corrected`` is not an earlier step of ``head``'s batch (a genesis, a later step, more than
            :data:`MAX_CORRECTION_DISTANCE` back: ``E_FIELD``), or a field is invalid.
        SignatureError: The signer did not return a 64-byte signature (``E_SIGNER``).
    """
    if isinstance(head, SignedEvent):
        head = head_of(head)
    if isinstance(corrected, SignedEvent):
        corrected = head_of(corrected)
    if corrected.batch_id != head.batch_id:
        raise FormatError("a correction corrects a step of its own batch", code="E_FIELD", field="corrects")
    body = Step(
        batch_id=head.batch_id,
        seq=head.seq + 1,
        prev=head.event_id,
        time=time,
        step=CORRECTION_STEP,
        location=location,
        attachments=tuple(attachments),
        corrects=Correction(seq=corrected.seq, event_id=corrected.event_id, reason=reason, data=data),
    )
    return sign_event(body, signer)
