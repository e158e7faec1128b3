"""Receipts that travel with a bundle: the receipts file (docs/format.md §18.11), the check that each head is logged.

A bundle names the head of each of its batches (its header, checked against the events when the bundle verifies).
A receipts file carries log receipts (§18.5) for those heads; :func:`verify_heads_logged` requires a receipt that
verifies (:func:`~ocop_provenance.tlog.verify_receipt`) for each head, so an auditor offline learns that every
head was published in the log, as it stands, and not replaced since.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from . import _cbor
from ._errors import FormatError, LogError, ProvenanceError
from ._note import NoteKey
from ._tlog import MAX_RECEIPT_SIZE, HeadLike, LogLeaf, Receipt, VerifiedReceipt, verify_receipt

__all__ = [
    "MAX_RECEIPTS",
    "MAX_RECEIPTS_SIZE",
    "RECEIPTS_MAGIC",
    "decode_receipts",
    "encode_receipts",
    "verify_heads_logged",
]

RECEIPTS_MAGIC = "ocop-log-receipts"
_VERSION = 1
#: The most receipts one file carries (a bundle lists at most 10 000 batches).
MAX_RECEIPTS = 10_000
#: The largest receipts file accepted.
MAX_RECEIPTS_SIZE = 64 << 20
_MAGIC, _VERSION_LABEL, _LIST = 0, 1, 2


def encode_receipts(receipts: Sequence[Receipt]) -> bytes:
    """Return the receipts file (docs/format.md §18.11): deterministic CBOR, the receipts in the order given.

    Raises:
        FormatError: More than :data:`MAX_RECEIPTS` receipts (``E_SIZE``).
    """
    if len(receipts) > MAX_RECEIPTS:
        raise FormatError(f"at most {MAX_RECEIPTS} receipts", code="E_SIZE", field="receipts")
    return _cbor.encode({_MAGIC: RECEIPTS_MAGIC, _VERSION_LABEL: _VERSION, _LIST: [r.to_bytes() for r in receipts]})


def decode_receipts(data: bytes) -> tuple[Receipt, ...]:
    """Parse a receipts file strictly (the receipts are not verified).

    Raises:
        FormatError: CBOR errors (``E_SIZE``, ``E_CBOR``, ``E_NONCANONICAL`` …); a wrong magic or label set
            (``E_SCHEMA``); another version (``E_VERSION``); a malformed receipt (its errors, ``position`` its
            place in the list).
    """
    m = _cbor.decode(data, max_size=MAX_RECEIPTS_SIZE, max_depth=2, max_items=MAX_RECEIPTS + 8)
    if not isinstance(m, dict) or m.get(_MAGIC) != RECEIPTS_MAGIC:
        raise FormatError("not a receipts file", code="E_SCHEMA", field="receipts")
    if m.get(_VERSION_LABEL) != _VERSION or type(m.get(_VERSION_LABEL)) is not int:
        raise FormatError("unsupported receipts file version", code="E_VERSION", field="receipts.version")
    if set(m) != {_MAGIC, _VERSION_LABEL, _LIST}:
        raise FormatError("a receipts file has exactly the labels 0-2", code="E_SCHEMA", field="receipts")
    items = m[_LIST]
    if not isinstance(items, list) or len(items) > MAX_RECEIPTS:
        raise FormatError(f"an array of at most {MAX_RECEIPTS} receipts", code="E_SCHEMA", field="receipts.list")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, bytes) or len(item) > MAX_RECEIPT_SIZE:
            raise FormatError("each receipt is a byte string", code="E_SCHEMA", field="receipts.list", position=i)
        try:
            out.append(Receipt.from_bytes(item))
        except ProvenanceError as e:
            raise e.locate(position=i) from None
    return tuple(out)


def verify_heads_logged(
    heads: Sequence[HeadLike],
    receipts: Sequence[Receipt],
    log_key: NoteKey,
    *,
    witness_keys: Sequence[NoteKey] = (),
    witnesses: int = 0,
    now: datetime | None = None,
    backend: str | None = None,
) -> tuple[VerifiedReceipt, ...]:
    """Require, for each head, a receipt of exactly that head that verifies; return them in the heads' order.

    Receipts of other heads are ignored (an older receipt of the batch does not cover a newer head). When several
    receipts log one head, the first that verifies is used.

    Args:
        heads: The heads to prove logged (a bundle's batch heads, after the bundle verified).
        receipts: The receipts available.
        log_key: The log's key.
        witness_keys: Witness keys.
        witnesses: How many distinct witnesses must have cosigned each receipt's checkpoint.
        now: The current time (see :func:`~ocop_provenance.tlog.open_checkpoint`).
        backend: Ed25519 backend name, or None for the fastest.

    Returns:
        One verified receipt per head.

    Raises:
        LogError: A head has no receipt (``E_LOG_MISSING``), or its receipt does not verify (the codes of
            :func:`~ocop_provenance.tlog.verify_receipt`); ``batch_id`` and ``seq`` say which head.
        FormatError, KeyFormatError: As :func:`~ocop_provenance.tlog.verify_receipt`.
    """
    by_head: dict[tuple[bytes, int, bytes], list[Receipt]] = {}
    for r in receipts:
        try:
            leaf = LogLeaf.from_bytes(r.leaf)
        except ProvenanceError:
            continue  # not a receipt of any head here: it proves nothing and hides nothing
        by_head.setdefault((leaf.batch_id, leaf.seq, leaf.head_id), []).append(r)
    out = []
    for head in heads:
        found = by_head.get((head.batch_id, head.seq, head.event_id), [])
        if not found:
            raise LogError(
                f"no log receipt for the head #{head.seq} of batch {head.batch_id.hex()[:16]}",
                code="E_LOG_MISSING",
                batch_id=head.batch_id,
                seq=head.seq,
                event_id=head.event_id,
            )
        error: ProvenanceError | None = None
        for r in found:
            try:
                verified = verify_receipt(
                    r,
                    log_key,
                    witness_keys=witness_keys,
                    witnesses=witnesses,
                    expect=head,
                    now=now,
                    backend=backend,
                )
            except ProvenanceError as e:
                error = error or e
                continue
            out.append(verified)
            break
        else:
            assert error is not None
            raise error.locate(batch_id=head.batch_id, seq=head.seq, event_id=head.event_id)
    return tuple(out)
