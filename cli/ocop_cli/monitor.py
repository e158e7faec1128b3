"""``ocop monitor``: walk a portal's transparency log and report any batch whose logged heads are not one chain.

Each run (docs/transparency.md, "Monitor"):

1. fetches the signed checkpoint and verifies it with the log key (and k witnesses, when asked); with a state
   directory, checks that it extends the checkpoint seen on the last run (the consistency proof from the portal);
2. fetches every leaf and checks that they rebuild the checkpoint's root (the portal cannot hide a leaf);
3. fetches the events of each logged head it has not seen yet (the batch's bundle from the portal) and keeps them
   in the state directory, so a head the portal later drops can still be compared;
4. settles every pair of leaves that must be one chain (two heads at one seq; a head and the next logged one):
   two different signed events at one seq are a fork, reported with the equivocation proof (docs/format.md §9).

It exits 1 when it finds a fork, a split view, a log that does not match its checkpoint, or a logged head whose
events it cannot obtain (the portal no longer serves a head it logged, and it was not kept on an earlier run).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import click
import ocop_provenance as op
from ocop_provenance import tlog
from ocop_provenance.events import BundleReader, EquivocationProof, parse_unverified_event

from .context import CliError, Context, OcopCommand, pass_context
from .files import write_file
from .logkeys import log_note_key, witness_note_keys
from .params import json_option
from .portal_http import get_bytes, get_json, proof_hashes
from .render import Output
from .render.logs import Finding, Monitored
from .render.words import t
from .trust import resolve_public_key

__all__ = ["command", "monitor"]

_PAGE = 1000
_MAX_LEAF = 256  # docs/format.md §18.2


@dataclass(slots=True)
class _Events:
    """Events by id: those fetched in this run, and (with a state directory) those kept from earlier runs."""

    directory: Path | None
    found: dict[bytes, op.SignedEvent]

    def get(self, event_id: bytes) -> op.SignedEvent | None:
        event = self.found.get(event_id)
        if event is None and self.directory is not None:
            path = self.directory / f"{event_id.hex()}.cose"
            if path.is_file():
                kept = parse_unverified_event(path.read_bytes())
                if kept.event_id != event_id:
                    return None  # a damaged or changed file: not that event
                event = self.found[event_id] = kept
        return event

    def add(self, event: op.SignedEvent) -> None:
        if event.event_id in self.found:
            return
        self.found[event.event_id] = event
        if self.directory is not None:
            path = self.directory / f"{event.event_id.hex()}.cose"
            if not path.exists():
                write_file(path, event.raw)

    def chain(self, head: bytes) -> list[op.SignedEvent] | None:
        """The chain ending at ``head`` (genesis first), or None when an event of it is missing."""
        out = []
        current: bytes | None = head
        while current is not None:
            event = self.get(current)
            if event is None:
                return None
            out.append(event)
            current = event.prev
        out.reverse()
        return out


def _fetch_batch(base: str, batch_id: bytes, events: _Events, keys: dict[bytes, op.PublicKey]) -> list[op.SignedEvent]:
    """The batch's events as the portal serves them now (its bundle's root batch), kept in ``events``.

    The keys the bundle ships are collected into ``keys``: only to check that a fork's two events are validly
    signed (by whom is for the trust list to say).
    """
    data = get_bytes(f"{base}/api/v1/batches/{batch_id.hex()}/bundle")
    reader = BundleReader(io.BytesIO(data))
    keys.update((k.key_id, k) for k in reader.header.keys)
    out = []
    for index, raw in reader.events():
        if index != 0:
            break
        event = parse_unverified_event(raw)
        events.add(event)
        out.append(event)
    return out


def _verified_leaves(base: str, kept: list[bytes], checkpoint: tlog.VerifiedCheckpoint) -> list[tlog.LogLeaf]:
    """Every leaf of the checkpoint's tree: ``kept`` (from earlier runs) and the rest from the portal, verified.

    Raises:
        ProvenanceError: The leaves do not rebuild the checkpoint's root, or one is malformed.
    """
    tree = tlog.MemoryTree()
    old = [tlog.LogLeaf.from_bytes(raw) for raw in kept]
    tree.extend(kept)
    raws: list[bytes] = []
    start = len(kept)
    while start + len(raws) < checkpoint.size:
        at = start + len(raws)
        page = get_json(f"{base}/tlog/leaves?start={at}&end={min(checkpoint.size, at + _PAGE)}")
        got = proof_hashes(page.get("leaves"))
        if not got:
            raise CliError(t("the portal served no leaves"), code="E_PORTAL")
        raws.extend(got)
    return [*old, *tlog.verify_log_leaves(raws, checkpoint, tree)]


def _read_leaves(path: Path) -> list[bytes]:
    """The leaves kept by earlier runs: each a 2-byte big-endian length and the leaf's bytes (a damaged tail is
    dropped: the leaves are verified against the checkpoint anyway)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    out, i = [], 0
    while i + 2 <= len(data):
        n = int.from_bytes(data[i : i + 2], "big")
        if not 0 < n <= _MAX_LEAF or i + 2 + n > len(data):
            break
        out.append(data[i + 2 : i + 2 + n])
        i += 2 + n
    return out


def _write_leaves(path: Path, leaves: list[bytes]) -> None:
    write_file(path, b"".join(len(raw).to_bytes(2, "big") + raw for raw in leaves))


def monitor(
    base: str,
    log_key: op.PublicKey,
    *,
    witness_keys: tuple[op.PublicKey, ...] = (),
    witnesses: int = 0,
    state: Path | None = None,
    proofs: Path | None = None,
) -> Monitored:
    """Run the monitor once against the portal at ``base`` (see the module's description).

    Raises:
        CliError: The portal cannot be reached or answers nonsense (exit 3).
        ProvenanceError: The checkpoint does not verify (exit 1 through the verdict is not possible: raised).
    """
    findings: list[Finding] = []
    note = tlog.SignedNote.parse(get_bytes(f"{base}/tlog/checkpoint", 1 << 20))
    key = log_note_key(note, log_key)
    checkpoint = tlog.open_checkpoint(
        note, key, witness_keys=witness_note_keys(note, witness_keys), witnesses=witnesses
    )
    previous: tlog.LogState | None = None
    held = None if state is None else state / "checkpoint"
    if held is not None and held.is_file():
        previous = tlog.LogState.from_note(held.read_text(encoding="utf-8"), key)
        old = previous.checkpoint.size
        proof: list[bytes] = []
        if 0 < old < checkpoint.size:
            answer = get_json(f"{base}/tlog/consistency?old={old}&new={checkpoint.size}")
            proof = proof_hashes(answer.get("proof"))
        try:
            previous.update(checkpoint, proof)
        except tlog.LogError as e:
            findings.append(Finding(kind="split-view", code=e.code, message=e.message))
            if proofs is not None:
                write_file(proofs / "split-view.previous.checkpoint", previous.note.encode("utf-8"))
                write_file(proofs / "split-view.offered.checkpoint", checkpoint.note.to_bytes())
            return Monitored(portal=base, origin=checkpoint.origin, size=checkpoint.size, findings=tuple(findings))
    kept = [] if state is None else _read_leaves(state / "leaves")
    if len(kept) > checkpoint.size:
        kept = []  # more leaves kept than the log now has: the split view is reported above; start again
    try:
        leaves = _verified_leaves(base, kept, checkpoint)
    except op.ProvenanceError:
        leaves = None
    if leaves is None and kept:
        with contextlib.suppress(op.ProvenanceError):
            leaves = _verified_leaves(base, [], checkpoint)  # the kept leaves were damaged: fetch them all
    if leaves is None:
        message = t("the leaves served are not the tree the log signed")
        findings.append(Finding(kind="leaves", code="E_LOG_INCLUSION", message=message))
        return Monitored(portal=base, origin=checkpoint.origin, size=checkpoint.size, findings=tuple(findings))
    if state is not None and len(leaves) != len(kept):
        _write_leaves(state / "leaves", [leaf.to_bytes() for leaf in leaves])

    events = _Events(None if state is None else state / "events", {})
    keys: dict[bytes, op.PublicKey] = {}
    fetched: set[bytes] = set()
    for leaf in leaves:
        if leaf.batch_id not in fetched and events.get(leaf.head_id) is None:
            fetched.add(leaf.batch_id)
            _fetch_batch(base, leaf.batch_id, events, keys)
    pairs = tlog.leaf_pairs_to_check(list(enumerate(leaves)))
    forks: list[tuple[tlog.LeafPair, EquivocationProof]] = []
    for pair in pairs:
        first, second = events.chain(pair.first.head_id), events.chain(pair.second.head_id)
        batch, seq = pair.first.batch_id, pair.first.seq
        if first is None or second is None:
            missing = pair.first if first is None else pair.second
            findings.append(
                Finding(
                    kind="unavailable",
                    code="E_LOG_LEAF",
                    message=t("the events of the logged head #{seq} (leaf {index}) are neither served nor kept",
                              seq=missing.seq, index=pair.first_index if first is None else pair.second_index),
                    batch_id=batch,
                    seq=seq,
                )
            )  # fmt: skip
            continue
        try:
            proof_found = tlog.fork_proof_for(pair, first, second)
        except op.ProvenanceError as e:
            findings.append(Finding(kind="unavailable", code=e.code, message=e.message, batch_id=batch, seq=seq))
            continue
        if proof_found is not None:
            forks.append((pair, proof_found))
    for n, (pair, fork) in enumerate(forks, 1):
        path = None
        if proofs is not None:
            path = proofs / f"fork-{n}.proof"
            write_file(path, fork.to_bytes())
        if pair.first.batch_id not in fetched:
            fetched.add(pair.first.batch_id)
            _fetch_batch(base, pair.first.batch_id, events, keys)  # the signers' keys, as the portal ships them
        try:
            fork.verify(op.KeyRing.of(list(keys.values())))
            signed = True
        except op.ProvenanceError:
            signed = False
        findings.append(
            Finding(
                kind="fork",
                code="E_FORK",
                message=t("batch {batch}: two different events at seq {seq}, logged at leaves {a} and {b}",
                          batch=pair.first.batch_id.hex()[:16], seq=pair.first.seq, a=pair.first_index,
                          b=pair.second_index),
                batch_id=pair.first.batch_id,
                seq=pair.first.seq,
                proof=fork.to_bytes(),
                proof_file=None if path is None else str(path),
                leaves=(pair.first_index, pair.second_index),
                signed=signed,
            )
        )  # fmt: skip
    if held is not None and not any(f.kind in ("split-view", "leaves") for f in findings):
        write_file(held, checkpoint.note.to_bytes())
    return Monitored(
        portal=base,
        origin=checkpoint.origin,
        size=checkpoint.size,
        batches=len({leaf.batch_id for leaf in leaves}),
        pairs=len(pairs),
        findings=tuple(findings),
    )


@click.command("monitor", cls=OcopCommand)
@click.option("--portal", required=True, metavar="URL", help="The portal's base URL.")
@click.option("--log-key", required=True, metavar="PEM|NAME", help="The log's public key.")
@click.option("--witness-key", "witness_keys", multiple=True, metavar="PEM|NAME", help="A witness key. Repeatable.")
@click.option(
    "--witnesses", type=click.IntRange(0), default=None, help="Witness cosignatures required [default: all keys]."
)
@click.option(
    "--state",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Keep the last checkpoint and the events of every logged head here between runs (recommended).",
)
@click.option(
    "--proofs",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Write each fork's equivocation proof (fork-N.proof) and split-view evidence here.",
)
@json_option
@pass_context
def command(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    portal: str,
    log_key: str,
    witness_keys: tuple[str, ...],
    witnesses: int | None,
    state: Path | None,
    proofs: Path | None,
) -> None:
    """Walk a portal's transparency log and report batches whose logged heads fork.

    \b
    Checks the signed checkpoint (and that it extends the one seen last run, with
    --state), that the leaves served are the signed tree, and that every batch's
    logged heads are one chain. Exit 0 when clean, 1 when it finds a fork (with
    the equivocation proof: two signed events at one step) or a log that lies.
    """
    if not portal.startswith(("http://", "https://")):
        raise click.BadParameter(t("the portal's URL starts with https:// (or http://)"), param_hint="--portal")
    wkeys = tuple(dict.fromkeys(resolve_public_key(ctx, k) for k in witness_keys))
    k = len(wkeys) if witnesses is None else witnesses
    if k > len(wkeys):
        raise click.BadParameter(t("{k} witnesses of {n} witness keys", k=k, n=len(wkeys)), param_hint="--witnesses")
    result = monitor(
        portal.rstrip("/"),
        resolve_public_key(ctx, log_key),
        witness_keys=wkeys,
        witnesses=k,
        state=state,
        proofs=proofs,
    )
    Output(ctx).emit(result)
