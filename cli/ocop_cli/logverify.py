"""``ocop verify --log-key``: check the receipts of a verified bundle's heads (docs/transparency.md)."""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import ocop_provenance as op
from ocop_provenance import tlog
from ocop_provenance.events import BundleHeader, BundleReader

from .context import Context
from .files import write_file
from .logkeys import log_note_key, witness_note_keys
from .portal_http import get_json, proof_hashes
from .render.logs import LogChecked, LogSeen
from .render.words import t
from .trust import read_input

__all__ = ["LogOptions", "LogSeen", "check_bundle_logged", "check_publication"]


@dataclass(frozen=True, slots=True)
class LogOptions:
    """What ``--log-key``, ``--witness-key``, ``--witnesses`` and ``--receipts`` asked for."""

    log_key: op.PublicKey
    witness_keys: tuple[op.PublicKey, ...]
    witnesses: int
    receipts: Path | None


@dataclass(frozen=True, slots=True)
class _Head:
    batch_id: bytes
    seq: int
    event_id: bytes


def _heads(header: BundleHeader) -> list[_Head]:
    return [_Head(b.batch_id, b.count - 1, b.head) for b in header.batches]


def _named_keys(receipts: Sequence[tlog.Receipt], options: LogOptions) -> tuple[tlog.NoteKey, tuple[tlog.NoteKey, ...]]:
    log_key: tlog.NoteKey | None = None
    witness: dict[tuple[str, bytes], tlog.NoteKey] = {}
    for r in receipts:
        note = tlog.SignedNote.parse(r.checkpoint)
        if log_key is None:
            with contextlib.suppress(tlog.LogError):
                log_key = log_note_key(note, options.log_key)
        for k in witness_note_keys(note, options.witness_keys):
            witness.setdefault((k.name, k.public_key.raw), k)
    if log_key is None:
        raise tlog.LogError(t("no receipt's checkpoint is signed by the log key given"), code="E_LOG_SIGNATURE")
    return log_key, tuple(witness.values())


def check_bundle_logged(bundle: Path, options: LogOptions, now: datetime) -> LogChecked:
    """Require a verifying receipt for each batch head of ``bundle`` (already verified, so its header is true).

    Raises:
        ProvenanceError: A malformed receipts file, a head without a receipt (``E_LOG_MISSING``), a receipt that does
            not verify (``E_LOG_*``, located at its batch and seq).
        CliError, OSError: The receipts file cannot be read.
    """
    path = options.receipts or bundle.with_name(bundle.name + ".receipts")
    with bundle.open("rb") as f:
        header = BundleReader(f).header
    heads = _heads(header)
    if not path.is_file():
        first = heads[0]
        raise tlog.LogError(
            t("no receipts file {path} (ocop export --receipts writes it)", path=path),
            code="E_LOG_MISSING",
            batch_id=first.batch_id,
            seq=first.seq,
        )
    receipts = tlog.decode_receipts(read_input(path, "receipts file", tlog.MAX_RECEIPTS * 140_000))
    if not receipts:
        first = heads[0]
        raise tlog.LogError("the receipts file is empty", code="E_LOG_MISSING", batch_id=first.batch_id, seq=first.seq)
    log_key, witness_keys = _named_keys(receipts, options)
    if options.witnesses > len(options.witness_keys):
        raise tlog.LogError(
            t("{k} witnesses required but {n} witness keys given", k=options.witnesses, n=len(options.witness_keys)),
            code="E_LOG_RANGE",
        )
    cosigners = len({k.public_key for k in witness_keys})
    if options.witnesses > cosigners:
        first = heads[0]
        raise tlog.LogError(
            t("{n} of the required {k} witnesses cosigned the receipts' checkpoints", n=cosigners, k=options.witnesses),
            code="E_LOG_WITNESSES",
            batch_id=first.batch_id,
            seq=first.seq,
        )
    verified = tlog.verify_heads_logged(
        heads, receipts, log_key, witness_keys=witness_keys, witnesses=options.witnesses, now=now
    )
    return LogChecked(receipts_path=str(path), verified=verified, witnesses=options.witnesses)


def _answer_receipts(answer: Mapping[str, Any]) -> list[tlog.Receipt]:
    log = answer.get("log")
    items = log.get("receipts") if isinstance(log, Mapping) else None
    out = []
    for item in items if isinstance(items, list) else []:
        try:
            out.append(tlog.Receipt.from_bytes(base64.b64decode(str(item.get("receipt", "")), validate=True)))
        except (op.ProvenanceError, binascii.Error, AttributeError):
            continue  # reported as a head without a receipt below
    return out


def check_publication(
    ctx: Context, base: str, header: BundleHeader, answer: Mapping[str, Any], log_key: op.PublicKey
) -> LogSeen:
    """Check the receipts of an accepted publication, and that the log extends the checkpoint seen last time.

    The checkpoint of the receipts is kept in ``$OCOP_HOME/tlog/`` per log origin; the next publication's checkpoint
    must extend it (the portal's consistency proof), else the log showed this producer another history.

    Raises:
        CliError: The portal cannot be reached for the consistency proof (``E_PORTAL``, exit 3).
    """
    receipts = _answer_receipts(answer)
    heads = _heads(header)
    if not receipts:
        first = heads[0]
        missing = tlog.LogError(
            t("the portal answered no log receipt"), code="E_LOG_MISSING", batch_id=first.batch_id, seq=first.seq
        )
        return LogSeen(error=missing)
    try:
        key = log_note_key(tlog.SignedNote.parse(receipts[0].checkpoint), log_key)
        verified = tlog.verify_heads_logged(heads, receipts, key, now=ctx.utc_now())
    except op.ProvenanceError as e:
        return LogSeen(error=e)
    checkpoint = max((v.checkpoint for v in verified), key=lambda c: c.size)
    state = ctx.home / "tlog" / (checkpoint.origin.replace("/", "_") + ".checkpoint")
    seen = LogSeen(origin=checkpoint.origin, size=checkpoint.size)
    if state.is_file():
        held = tlog.LogState.from_note(state.read_text(encoding="utf-8"), key)
        old = held.checkpoint.size
        seen = LogSeen(origin=checkpoint.origin, size=checkpoint.size, previous=old)
        proof: list[bytes] = []
        if 0 < old < checkpoint.size:
            proof = proof_hashes(get_json(f"{base}/tlog/consistency?old={old}&new={checkpoint.size}").get("proof"))
        try:
            held.update(checkpoint, proof)
        except tlog.LogError as e:
            evidence = state.with_name(state.stem + f".split-view-{checkpoint.size}.txt")
            write_file(evidence, (held.note + "\n" + checkpoint.note.to_text()).encode("utf-8"))
            return LogSeen(
                origin=checkpoint.origin, size=checkpoint.size, previous=old, error=e, evidence=str(evidence)
            )
        if checkpoint.size == old:
            return seen
    write_file(state, checkpoint.note.to_bytes())
    return seen
