"""Building chains: opening a batch and appending steps (immutable: each call returns a new event)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ._keys import Signer
from ._model import Attachment, DataValue, Genesis, InputRef, Location, SignedEvent, Step
from ._wire import sign_event

__all__ = ["ChainHead", "append_step", "head_of", "open_batch"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainHead:
    """The latest event of a batch: all that is needed to append the next one.

    Attributes:
        batch_id: The batch (its genesis event id).
        seq: The head's seq.
        event_id: The head's event id.
        time: The head's claimed time.
    """

    batch_id: bytes
    seq: int
    event_id: bytes
    time: datetime

    def as_input(self) -> InputRef:
        """Return a reference to this head, for a step that consumes this batch."""
        return InputRef(batch_id=self.batch_id, seq=self.seq, head=self.event_id)


def head_of(event: SignedEvent) -> ChainHead:
    """Return the chain head that ``event`` forms.

    Args:
        event: A batch's latest event.

    Returns:
        Its head, what :func:`append_step` extends.
    """
    return ChainHead(batch_id=event.batch_id, seq=event.seq, event_id=event.event_id, time=event.time)


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
