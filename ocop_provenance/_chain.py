"""Chains: the one chain-link rule, the record it reads, and building (opening a batch, appending steps).

:func:`link_problem` is the only statement of the chain rules of docs/format.md §8.1 (genesis, batch, seq, link,
time). The sequential verifier, the worker processes, the parallel verifier's joins between chunks and the ledger
all call it on :class:`ChainHead` records, so the rule cannot differ between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ._keys import Signer
from ._model import Attachment, DataValue, Genesis, InputRef, Location, Step
from ._wire import SignedEvent, sign_event

__all__ = ["ChainHead", "Link", "append_step", "head_of", "in_time_order", "link_problem", "open_batch"]


class Link(Protocol):
    """What the chain rules read of an event: a :class:`ChainHead`, or a :class:`SignedEvent` itself."""

    @property
    def batch_id(self) -> bytes:
        """The batch (its genesis id; a genesis's own id)."""
        ...

    @property
    def seq(self) -> int:
        """The seq (0 for a genesis)."""
        ...

    @property
    def event_id(self) -> bytes:
        """The event's id."""
        ...

    @property
    def time(self) -> datetime:
        """The claimed time."""
        ...

    @property
    def prev(self) -> bytes | None:
        """The previous event's id (None for a genesis)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainHead:
    """An event's place in its batch's chain: what the chain rules read, and what the next step extends.

    Attributes:
        batch_id: The batch (its genesis event id).
        seq: The event's seq (0 for the genesis).
        event_id: The event's id.
        time: The event's claimed time.
        prev: The previous event's id (None for the genesis, or when not known).
        key_id: The signer's key id, when known.
    """

    batch_id: bytes
    seq: int
    event_id: bytes
    time: datetime
    prev: bytes | None = None
    key_id: bytes | None = None

    def as_input(self) -> InputRef:
        """Return a reference to this head, for a step that consumes this batch."""
        return InputRef(batch_id=self.batch_id, seq=self.seq, head=self.event_id)


def head_of(event: SignedEvent) -> ChainHead:
    """Return the chain record of ``event``: the head it forms.

    Args:
        event: An event (a batch's latest event, when used to append).

    Returns:
        Its record, what :func:`append_step` extends and what :func:`link_problem` reads.
    """
    body = event.body
    if type(body) is Step:
        return ChainHead(
            batch_id=body.batch_id,
            seq=body.seq,
            event_id=event.event_id,
            time=body.time,
            prev=body.prev,
            key_id=event.key_id,
        )
    return ChainHead(batch_id=event.event_id, seq=0, event_id=event.event_id, time=body.time, key_id=event.key_id)


def in_time_order(prev_seq: int, prev_time: datetime, time: datetime, tolerance: timedelta) -> bool:
    """Return whether an event's claimed ``time`` may follow the event at ``prev_seq`` (docs/format.md §8.1).

    From the first step on, claimed times do not go backwards by more than ``tolerance`` (signers' clocks differ).
    The genesis sets no floor: it records when the batch's record was opened, which may come after the steps it
    goes on to record (a cooperative entering last week's harvest from its paper notebook).
    """
    return prev_seq == 0 or time >= prev_time - tolerance


def link_problem(last: Link | None, event: Link, *, batch_id: bytes | None, tolerance: timedelta) -> str | None:
    """Return the code of the first chain rule ``event`` breaks after ``last``, or None if it extends it.

    The rules, in the order of docs/format.md §8.2 (steps 5 to 9):

    * first event (``last`` is None): it must be a genesis (``E_GENESIS``) opening ``batch_id`` if one is
      expected (``E_BATCH``);
    * later events: its batch must be ``batch_id`` (the chain's genesis id; ``E_BATCH``); the same seq as
      ``last`` is ``E_DUPLICATE`` (the same event) or ``E_FORK`` (another event); otherwise seq must be one more
      (``E_SEQ``), ``prev`` the last event's id (``E_LINK``), and the time in order (``E_TIME``).

    Args:
        last: The previous event (or its record), or None for the first event of the chain.
        event: The event to check (or its record).
        batch_id: The chain's batch (its genesis id), or the batch the caller expects; None accepts any.
        tolerance: How far a step's time may run behind the previous step's.

    Returns:
        None, or the code of the broken rule.
    """
    if last is None:
        if event.seq != 0:
            return "E_GENESIS"
        return "E_BATCH" if batch_id is not None and event.event_id != batch_id else None
    if batch_id is not None and event.batch_id != batch_id:
        return "E_BATCH"
    if event.seq == last.seq:
        return "E_DUPLICATE" if event.event_id == last.event_id else "E_FORK"
    if event.seq != last.seq + 1:
        return "E_SEQ"
    if event.prev != last.event_id:
        return "E_LINK"
    if not in_time_order(last.seq, last.time, event.time, tolerance):
        return "E_TIME"
    return None


def open_batch(genesis: Genesis, signer: Signer) -> SignedEvent:
    """Sign the genesis event of a new batch; the batch id is the returned event's id.

    Args:
        genesis: What the batch is and who made it.
        signer: The producer's key.

    Returns:
        The signed genesis event.

    Raises:
        FormatError: The event would be too large (``E_SIZE``).
        SignatureError: The signer did not return a 64-byte signature (``E_SIGNER``).
    """
    return sign_event(genesis, signer)


def append_step(
    head: ChainHead | SignedEvent,
    signer: Signer,
    *,
    step: str,
    time: datetime,
    location: Location,
    inputs: Iterable[InputRef] = (),
    attachments: Iterable[Attachment] = (),
    data: Mapping[str, DataValue] | None = None,
) -> SignedEvent:
    """Sign the step that follows ``head`` in its batch.

    Time order is checked by verifiers with a tolerance (docs/format.md §Verification); this function does
    not refuse an earlier time, because a signer's clock is theirs to set.

    Args:
        head: The batch's current head (an event or a :class:`ChainHead`).
        signer: The key of whoever performed the step.
        step: GS1 CBV 2.0 business step or namespaced custom step.
        time: When it happened (timezone-aware).
        location: Where it happened.
        inputs: Batches consumed, each pinned to its head.
        attachments: Files by hash.
        data: Key data elements.

    Returns:
        The signed step event.

    Raises:
        FormatError: A field is invalid (``E_FIELD``, with the field) or the event is too large (``E_SIZE``).
        SignatureError: The signer did not return a 64-byte signature (``E_SIGNER``).
    """
    if isinstance(head, SignedEvent):
        head = head_of(head)
    body = Step(
        batch_id=head.batch_id,
        seq=head.seq + 1,
        prev=head.event_id,
        time=time,
        step=step,
        location=location,
        inputs=tuple(inputs),
        attachments=tuple(attachments),
        data=data or {},
    )
    return sign_event(body, signer)
