"""All output of the CLI: text for people, one JSON document (schema ``ocop.cli/1``) for programs.

Data goes to stdout; progress, notes and warnings go to stderr. In ``--json`` mode stdout carries exactly one JSON
document, on success and on failure alike. No other module prints.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
import ocop_provenance as op

from .context import SCHEMA, CliError, Context, ExitCode

__all__ = [
    "EXPLAIN",
    "EXPLAIN_SEAL",
    "AuditResult",
    "PolicyVerified",
    "Renderer",
    "SealFailure",
    "SealMade",
    "SealSheet",
    "SealVerified",
    "SignedSummary",
    "TrustVerified",
    "VerifyFailure",
    "VerifyResult",
    "ensure_utf8_streams",
]

JsonDict = dict[str, Any]

#: What each error code means, in words an auditor understands.
EXPLAIN: Mapping[str, str] = {
    "E_SIGNATURE": "the signature does not match the recorded content: the record was changed after it was signed",
    "E_UNKNOWN_KEY": "it was signed by a key that is not among the trusted keys you gave",
    "E_GENESIS": "the batch's history does not start with the event that opened the batch",
    "E_BATCH": "the event belongs to another batch than the one being checked",
    "E_SEQ": "events are missing or out of order in the batch's history",
    "E_DUPLICATE": "the same event appears twice",
    "E_FORK": "two different signed versions of the same step exist: the history was forked",
    "E_LINK": "the event does not link to the event before it: something was removed, inserted or replaced",
    "E_TIME": "the event claims a time earlier than the step before it",
    "E_FUTURE": "the event claims a time in the future",
    "E_EMPTY": "the batch has no events",
    "E_INPUT_MISSING": "a step says it used another batch, but that batch's records are not in the bundle",
    "E_INPUT_HEAD": "a step says it used another batch at a point in its history that the bundle does not show",
    "E_HEADER_MISMATCH": "the bundle's table of contents (its batches, heads or list of signers' keys) does not match "
    "the events it holds",
    "E_BUNDLE": "the file is not a well-formed ocop bundle",
    "E_BUNDLE_EXTRA": "the bundle holds a batch that nothing in it used",
    "E_BUNDLE_ORDER": "the batches in the bundle are in the wrong order",
    "E_TRUNCATED": "the file is cut short: events are missing at the end",
    "E_TRAILING": "there is extra data after the last event",
    "E_VERSION": "the bundle was written by an unsupported version of the format",
    "E_SIZE": "an item is larger than the format allows",
    "E_CBOR": "the bytes are damaged: they are not valid CBOR",
    "E_NONCANONICAL": "the bytes are not in their one canonical form: they were changed after signing",
    "E_SCHEMA": "the event's content is not in the expected structure: it was damaged or altered",
    "E_FIELD": "a field of the event holds an invalid value: it was damaged or altered",
    "E_COSE": "the signed envelope is damaged or not of the accepted kind",
    "E_TYPE": "the signed object is not a provenance event",
    "E_CONTENT_TYPE": "the signed object is not a provenance event",
    "E_ALG": "the signature uses an algorithm that is not accepted",
    "E_CRIT": "the signed object needs an extension this verifier does not know",
    "E_UNPROTECTED": "the envelope carries unsigned header data, which is not accepted",
    "E_WEAK_KEY": "a key is weak or malformed and can never be trusted",
    "E_KEY_FORMAT": "a key is not a valid Ed25519 key",
    "E_TAMPERED": "the stored record no longer matches what was signed: the ledger was edited outside ocop",
    "E_PASSPHRASE": "the passphrase is missing or wrong",
    "E_KEY_PERMS": "the key file can be read by other users; restrict it with chmod 600",
    "E_NOT_FOUND": "there is no such batch or key",
    "E_AMBIGUOUS": "several batches start with that prefix: give more characters",
    "E_CONFLICT": "another program added to the batch at the same moment: run the command again",
    "E_STORE": "the ledger cannot be read or written",
    "E_BUSY": "another program kept the ledger locked: run the command again when it has finished",
    "E_READ_ONLY": "the ledger's directory cannot be written",
    "E_CANT_OPEN": "the ledger cannot be opened",
    "E_NOT_LEDGER": "the ledger file is not an ocop ledger",
    "E_CORRUPT": "the ledger file is damaged: restore it from a backup",
    "E_DISK_FULL": "the disk is full: nothing was written",
    "E_LINEAGE_CYCLE": "a batch cannot be made, directly or indirectly, from itself",
}

#: What each seal, QR and image code means (``ocop qr``), consulted before :data:`EXPLAIN`.
EXPLAIN_SEAL: Mapping[str, str] = {
    "E_SEAL_PREFIX": "this is not an ocop seal: neither a sealed web link nor OCOP1: text",
    "E_SEAL_MISSING": "the link carries no seal (no ?s= digits): it cannot be verified offline",
    "E_SEAL_TRUNCATED": "the seal is cut short or padded: the code was damaged or altered",
    "E_SEAL_ENCODING": "the seal's digits or characters are damaged or altered",
    "E_SEAL_BATCH": "the seal is for another batch, product or lot than the bundle",
    "E_SEAL_HEAD": "the bundle's history differs from the one that was sealed: it was rewritten",
    "E_SEAL_ROLLBACK": "the bundle's history is shorter than the sealed one: steps were removed (truncated or rolled "
    "back)",
    "E_SEAL_SIGNER": "the seal was signed by a key that signed none of the sealed steps",
    "E_SEAL_FUTURE": "the seal claims a date in the future",
    "E_SEAL_TIME": "the seal is dated before the step it seals",
    "E_SIGNATURE": "the seal's signature does not match its content: the code was altered, or signed by another key",
    "E_UNKNOWN_KEY": "the seal was signed by a key that is not among the trusted keys",
    "E_KEY_REVOKED": "the seal's key is revoked in the trust list: nothing it signed is trusted",
    "E_KEY_RETIRED": "the seal's key was retired before the seal's date",
    "E_KEY_EXPIRED": "the seal's key had expired by the seal's date",
    "E_KEY_NOT_YET_VALID": "the seal's key was not yet valid on the seal's date",
    "E_CONTENT_TYPE": "the code holds a signed object that is not a seal (for example a provenance event)",
    "E_COSE": "the code holds a damaged signed object",
    "E_VERSION": "the seal was made by an unsupported version of the format",
    "E_DL_SYNTAX": "the link is not a well-formed GS1 Digital Link",
    "E_DL_ORDER": "the link's parts are in the wrong order for a GS1 Digital Link",
    "E_DL_QUALIFIER": "the link carries a part that seals do not cover",
    "E_DL_CHARSET": "the link holds characters that GS1 does not allow",
    "E_DL_QUERY": "the link carries unexpected query parameters",
    "E_GTIN": "the link's GTIN is malformed",
    "E_GTIN_CHECK": "the link's GTIN has a wrong check digit: a digit was changed",
    "E_NO_CODE": "no QR code was found in the image: photograph the code closer, flat and in focus",
    "E_MANY_CODES": "the image holds several different QR codes: photograph only one",
    "E_IMAGE_FORMAT": "the image is not a readable PNG or JPEG",
    "E_IMAGE_TOO_LARGE": "the image has too many pixels, or would take too much memory, to be read safely",
    "E_IMAGE_TIMEOUT": "reading the image took too long and was stopped: photograph only the code, closer",
    "E_IMAGE_DECODER": "the separate process that reads images could not start or stopped: try again",
    "E_MISSING_EXTRA": "drawing and reading QR codes needs the qr extra: pip install 'ocop-provenance[qr]'",
    "E_QR_CAPACITY": "the text is too long for a QR code",
    "E_LABEL_MODULE": "the code would print too small for a phone to read: choose a larger label or fewer lines",
    "E_LABEL_TEXT": "a line of the label does not fit it, or holds a character the embedded font cannot print",
    "E_LABEL_DATE": "the batch's record does not hold the date asked for: give it on the command line",
}


def ensure_utf8_streams() -> None:
    """Make stdout and stderr write UTF-8 whatever the locale (``LANG=C``, a Latin-1 terminal, ``PYTHONIOENCODING``).

    Vietnamese must come out as the bytes that were signed. UTF-8 encodes every character except lone surrogates,
    which are written as backslash escapes (the last resort).
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        if reconfigure is not None and encoding not in ("utf-8", "utf8"):
            try:
                reconfigure(encoding="utf-8", errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a stream that cannot change encoding
                continue


def _hex(b: bytes | None) -> str | None:
    return None if b is None else b.hex()


def _short(b: bytes) -> str:
    return b.hex()[:16]


def _time(t: datetime) -> str:
    return t.isoformat()


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyResult:
    """What ``ocop verify`` checked (successful case)."""

    path: str
    summary: op.BundleSummary
    trusted: Mapping[bytes, str]
    backend: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyFailure:
    """Where and why ``ocop verify`` failed."""

    path: str
    error: op.ProvenanceError
    batch_id: bytes | None = None
    batch_position: int | None = None
    seq: int | None = None
    bundle_index: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SealMade:
    """What ``ocop qr make`` made."""

    batch_id: bytes
    seal: op.Seal
    text: str
    form: str
    qr: op.QrCode
    output: str
    kind: str
    size: int
    terminal: str | None
    key_name: str
    module_mm: float = 0.0
    dpi: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SealSheet:
    """What ``ocop qr labels`` wrote."""

    batch_id: bytes
    output: str
    labels: int
    pages: int
    size: int
    first: op.Seal
    last: op.Seal
    manifest: str | None
    key_name: str
    label_mm: tuple[float, float] = (0.0, 0.0)
    per_page: int = 0
    module_mm: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SealVerified:
    """A seal that ``ocop qr verify`` verified."""

    text: str
    source: str
    result: op.SealVerification
    signer: Mapping[str, Any]
    bundle: str | None
    audited: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SealFailure:
    """A seal that ``ocop qr verify`` could read but that does not verify."""

    text: str
    source: str
    error: op.ProvenanceError


class Renderer:
    """Writes every result and error; holds the output mode from the context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # --- primitives -------------------------------------------------------------------------------------------

    @property
    def json(self) -> bool:
        return self.ctx.json

    def _doc(self, payload: Mapping[str, Any]) -> None:
        doc = {"schema": SCHEMA, "command": self.ctx.command, **payload}
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=_json_default))

    def out(self, text: str) -> None:
        """Write data to stdout (text mode)."""
        click.echo(text)

    def note(self, text: str) -> None:
        """Write a progress note to stderr (text mode only)."""
        if not self.json:
            click.echo(text, err=True)

    def warn(self, text: str) -> None:
        """Write a warning to stderr (in every mode)."""
        click.echo(f"warning: {text}", err=True)

    @contextmanager
    def progress(self, label: str) -> Iterator[Callable[[int, int], None]]:
        """A progress bar on stderr while a long job runs (shown only when stderr is a terminal).

        Yields a callback taking (done, total); the bar appears at the first call.
        """
        if self.json or not sys.stderr.isatty():
            yield lambda _done, _total: None
            return
        with contextlib.ExitStack() as stack:
            state: dict[str, Any] = {"bar": None, "last": 0}

            def update(done: int, total: int) -> None:
                if state["bar"] is None:
                    state["bar"] = stack.enter_context(click.progressbar(length=total, label=label, file=sys.stderr))
                state["bar"].update(done - state["last"])
                state["last"] = done

            yield update

    # --- errors -----------------------------------------------------------------------------------------------

    def error(self, exc: BaseException, exit_code: ExitCode) -> None:
        """Render an error (its code, what and where, in words) and, with --verbose, the traceback."""
        if isinstance(exc, op.ProvenanceError):
            err: JsonDict = exc.to_dict()
            text = _describe(exc)
        elif isinstance(exc, CliError):
            err = {"code": exc.code, "message": exc.message}
            text = f"{exc.message} [{exc.code}]"
        elif isinstance(exc, OSError):
            where = f" {exc.filename}" if exc.filename else ""
            err = {"code": "E_IO", "message": f"{exc.strerror or exc}", "path": str(exc.filename or "") or None}
            text = f"cannot use{where}: {exc.strerror or exc} [E_IO]"
        else:
            err = {"code": "E_INTERNAL", "message": f"{type(exc).__name__}: {exc}"}
            text = f"internal error: {type(exc).__name__}: {exc} (rerun with --verbose and report it) [E_INTERNAL]"
        if self.ctx.verbose and exit_code != ExitCode.OK:
            click.echo("".join(traceback.format_exception(exc)), err=True, nl=False)
        if self.json:
            self._doc({"ok": False, "exit_code": int(exit_code), "error": err})
        else:
            click.echo(f"error: {text}", err=True)

    # --- keys -------------------------------------------------------------------------------------------------

    def key_created(self, name: str, key: op.PublicKey, path: Path, *, encrypted: bool) -> None:
        if not encrypted:
            self.warn(f"{path} is NOT encrypted: anyone who can read this file can sign as {name}")
        if self.json:
            self._doc(
                {"ok": True, "key": {"name": name, "key_id": key.key_id_hex, "path": str(path), "encrypted": encrypted}}
            )
        else:
            self.out(key.key_id_hex)
            self.note(f"created key {name} in {path}")

    def key_public(self, name: str, key: op.PublicKey) -> None:
        pem = key.to_pem().decode("ascii")
        if self.json:
            self._doc({"ok": True, "key": {"name": name, "key_id": key.key_id_hex, "pem": pem}})
        else:
            click.echo(pem, nl=False)

    def key_list(self, entries: Sequence[Any]) -> None:
        if self.json:
            self._doc(
                {
                    "ok": True,
                    "keys": [
                        {
                            "name": e.name,
                            "key_id": e.public.key_id_hex if e.public else None,
                            "path": str(e.path),
                            "encrypted": e.encrypted,
                        }
                        for e in entries
                    ],
                }
            )
            return
        if not entries:
            self.note(f"no keys in {self.ctx.keys_dir} (create one with: ocop key new NAME)")
            return
        width = max(len(e.name) for e in entries)
        for e in entries:
            kid = e.public.key_id_hex if e.public else "(public key missing)"
            flag = "" if e.encrypted else "  UNENCRYPTED"
            self.out(f"{e.name:<{width}}  {kid}{flag}")

    # --- batches ----------------------------------------------------------------------------------------------

    def batch_created(self, event: op.SignedEvent, key_name: str) -> None:
        if self.json:
            self._doc({"ok": True, "batch": {"batch_id": event.batch_id.hex(), "event": event_json(event)}})
        else:
            self.out(event.batch_id.hex())
            self.note(f"opened batch {_short(event.batch_id)}, signed by {key_name}")

    def step_added(self, event: op.SignedEvent, key_name: str) -> None:
        if self.json:
            self._doc({"ok": True, "batch_id": event.batch_id.hex(), "event": event_json(event)})
        else:
            self.out(event.event_id.hex())
            self.note(f"added {event.step} as #{event.seq} of batch {_short(event.batch_id)}, signed by {key_name}")

    def batch_list(self, batches: Sequence[Any]) -> None:
        if self.json:
            self._doc(
                {
                    "ok": True,
                    "batches": [
                        {
                            "batch_id": b.batch_id.hex(),
                            "product": b.product,
                            "lot": b.lot,
                            "gtin": b.gtin,
                            "events": b.count,
                            "head_seq": b.head_seq,
                            "head_id": b.head_id.hex(),
                            "opened": _time(b.opened),
                            "updated": _time(b.updated),
                        }
                        for b in batches
                    ],
                }
            )
            return
        if not batches:
            self.note("no batches yet (open one with: ocop batch new --key NAME ...)")
            return
        for b in batches:
            self.out(
                f"{_short(b.batch_id)}  {b.product}  lot {b.lot}  {_plural(b.count, 'event')}"
                f"  updated {_time(b.updated)}"
            )

    def batch_show(self, events: Sequence[op.SignedEvent], names: Mapping[bytes, str]) -> None:
        genesis = events[0]
        if self.json:
            self._doc(
                {
                    "ok": True,
                    "batch_id": genesis.batch_id.hex(),
                    "verified": True,
                    "events": [event_json(e, names) for e in events],
                }
            )
            return
        body = genesis.body
        assert isinstance(body, op.Genesis)
        p = body.product
        lines = [f"Batch {genesis.batch_id.hex()}"]
        facts = [p.name, f"lot {p.lot}"]
        if p.gtin:
            facts.append(f"GTIN {p.gtin}")
        facts.append(f"{p.quantity} {p.unit}")
        lines.append("  " + " · ".join(facts))
        lines.append(f"  producer  {_producer(body.producer)}")
        if body.certificate is not None:
            c = body.certificate
            lines.append(f"  OCOP      {c.stars} stars, certificate {c.number} of {c.issued.isoformat()}")
        lines.append(f"  {len(events)} events; every signature and link checked when read from the ledger")
        lines.append("")
        for e in events:
            lines.extend(_event_lines(e, names))
        self.out("\n".join(lines))

    # --- export -----------------------------------------------------------------------------------------------

    def exported(self, path: str, *, kind: str, events: int, batches: int, size: int) -> None:
        if self.json:
            self._doc({"ok": True, "output": path, "format": kind, "events": events, "batches": batches, "bytes": size})
        else:
            what = "bundle" if kind == "bundle" else "COSE sequence"
            self.note(f"wrote {what} {path}: {_plural(events, 'event')} of {_plural(batches, 'batch')}, {size} bytes")

    # --- verify -----------------------------------------------------------------------------------------------

    def verified(self, r: VerifyResult) -> None:
        s = r.summary
        signers: dict[bytes, None] = {}
        for chain in s.chains:
            for k in chain.signers:
                signers.setdefault(k, None)
        if self.json:
            self._doc(
                {
                    "ok": True,
                    "verified": True,
                    "bundle": r.path,
                    "root": s.header.root.hex(),
                    "events": sum(c.count for c in s.chains),
                    "batches": [_chain_json(c, i) for i, c in enumerate(s.chains)],
                    "lineage": [
                        {
                            "batch_id": e.batch_id.hex(),
                            "seq": e.seq,
                            "step": e.step,
                            "input_batch": e.input.batch_id.hex(),
                            "input_seq": e.input.seq,
                            "input_head": e.input.head.hex(),
                        }
                        for e in s.lineage
                    ],
                    "signers": [{"key_id": k.hex(), "trusted_key": r.trusted.get(k)} for k in signers],
                    "backend": r.backend,
                }
            )
            return
        total = sum(c.count for c in s.chains)
        lines = [f"VERIFIED  {r.path}"]
        root = s.root.genesis.body
        assert isinstance(root, op.Genesis)
        lines.append(f"  product   {root.product.name} · lot {root.product.lot}" + _gtin(root.product))
        lines.append(f"  batch     {s.header.root.hex()}")
        lines.append(
            f"  checked   {total} events in {_plural(len(s.chains), 'batch')}: every signature, every hash link, "
            "every sequence number"
        )
        lines.append("  lineage   every batch used as an input is in the bundle, at the point its consumer signed")
        for edge in s.lineage:
            lines.append(
                f"            {_short(edge.batch_id)} #{edge.seq} {edge.step} used {_short(edge.input.batch_id)}"
                f" as it was at #{edge.input.seq}"
            )
        lines.append("  batches")
        for i, c in enumerate(s.chains):
            g = c.genesis.body
            assert isinstance(g, op.Genesis)
            role = "root " if i == 0 else "input"
            lines.append(
                f"    {role}  {_short(c.batch_id)}  {g.product.name} · lot {g.product.lot} · {c.count} events"
                f" · head #{c.head.seq} {_short(c.head.event_id)}"
            )
        lines.append("  signers")
        for k in signers:
            lines.append(f"    {k.hex()}  {r.trusted.get(k, '?')}")
        lines.append("")
        lines.append("  A valid signature proves who recorded what, and that nothing changed since. It does not prove")
        lines.append("  that the records are true, nor that a given physical package is genuine.")
        self.out("\n".join(lines))

    def _failed(self, e: op.ProvenanceError, fields: Mapping[str, Any], error: Mapping[str, Any]) -> None:
        """The JSON document of a verdict that is not verified (exit 1): ``fields``, then the error with ``error``."""
        self._doc(
            {
                "ok": False,
                "verified": False,
                **fields,
                "exit_code": int(ExitCode.VERIFY_FAILED),
                "error": {**e.to_dict(), **error},
            }
        )

    def verify_failed(self, f: VerifyFailure) -> None:
        e = f.error
        if self.json:
            self._failed(e, {"bundle": f.path}, _where_json(f))
            return
        lines = [f"NOT VERIFIED  {f.path}"]
        where = _where_text(f)
        if e.key_id:
            where.append(f"signed by key {e.key_id[:16]}")
        if where:
            lines.append(f"  where     {', '.join(where)}")
        lines.extend(_problem_lines(e, EXPLAIN.get(e.code), "  problem   ", "  detail    "))
        lines.append("  Do not rely on any record in this bundle.")
        self.out("\n".join(lines))

    def imported(self, path: str, result: VerifyResult, added: int) -> None:
        s = result.summary
        total = sum(c.count for c in s.chains)
        if self.json:
            self._doc(
                {
                    "ok": True,
                    "bundle": path,
                    "root": s.header.root.hex(),
                    "events": total,
                    "added": added,
                    "batches": [_chain_json(c, i) for i, c in enumerate(s.chains)],
                }
            )
            return
        self.out(s.header.root.hex())
        self.note(
            f"verified {path} and added {_plural(added, 'new event')} of {total} "
            f"({_plural(len(s.chains), 'batch')}) to the ledger"
        )

    # --- qr ---------------------------------------------------------------------------------------------------

    def qr_made(self, m: SealMade) -> None:
        st = m.seal.statement
        if m.kind in ("png", "svg"):
            _warn_small_modules(self, m.module_mm, "the code prints", "a larger --module-mm")
        if self.json:
            doc: JsonDict = {
                "ok": True,
                "text": m.text,
                "form": m.form,
                "output": m.output,
                "format": m.kind,
                "bytes": m.size,
                "qr": {"version": m.qr.version, "modules": m.qr.size, "ec_level": m.qr.ec_level},
                "seal": _seal_json(m.batch_id, m.seal),
            }
            if m.kind in ("png", "svg"):
                doc["printed"] = _printed_json(m)
            if m.terminal is not None:
                doc["terminal"] = m.terminal
            self._doc(doc)
            return
        if m.terminal is not None:
            click.echo(m.terminal, nl=False)
        self.out(m.text)
        where = f", wrote {m.output} ({m.size} bytes; {_printed_text(m)})" if m.kind in ("png", "svg") else ""
        self.note(
            f"sealed batch {_short(m.batch_id)} up to #{st.seq} with {m.key_name}, dated {st.sealed_on.isoformat()}"
            + (f", serial {st.serial}" if st.serial else "")
        )
        self.note(
            f"QR version {m.qr.version} ({m.qr.size}x{m.qr.size} modules), error correction {m.qr.ec_level}{where}"
        )

    def qr_labels(self, s: SealSheet) -> None:
        _warn_small_modules(
            self, s.module_mm, "the codes print", "a larger label, fewer lines of text, or error correction M"
        )
        if self.json:
            self._doc(
                {
                    "ok": True,
                    "output": s.output,
                    "labels": s.labels,
                    "pages": s.pages,
                    "bytes": s.size,
                    "manifest": s.manifest,
                    "layout": _sheet_layout_json(s),
                    "first": _seal_json(s.batch_id, s.first),
                    "last": _seal_json(s.batch_id, s.last),
                }
            )
            return
        span = f"{s.first.statement.serial} … {s.last.statement.serial}"
        self.out(s.output)
        self.note(
            f"{_plural(s.labels, 'label')} ({span}) on {_plural(s.pages, 'page')}, {s.size} bytes; "
            f"each with its own seal of batch {_short(s.batch_id)} by {s.key_name}"
            + (f"; manifest {s.manifest}" if s.manifest else "")
        )
        self.note(_sheet_layout_text(s))

    def seal_verified(self, v: SealVerified) -> None:
        r = v.result
        st = r.statement
        if self.json:
            self._doc(
                {
                    "ok": True,
                    "verified": True,
                    "source": v.source,
                    "text": v.text,
                    "bundle": v.bundle,
                    "audited": v.audited,
                    "signer": dict(v.signer),
                    "seal": r.to_dict(),
                }
            )
            return
        older = ""
        if r.chain is not None and r.code == "SEAL_OLDER_HEAD":
            older = f" (the record went on after sealing: the seal covers {r.chain.covered} of {r.chain.total} steps)"
        lines = [f"VALID SEAL · CON DẤU HỢP LỆ{older}"]
        ident = [f"GTIN {st.gtin}" if st.gtin else f"batch ref {st.batch_ref.hex() if st.batch_ref else '?'}"]
        ident.append(f"lô/lot {st.lot}")
        if st.serial:
            ident.append(f"số/serial {st.serial}")
        c = r.chain
        if c is not None:
            lines.append(f"  product   {c.product_name} · " + " · ".join(ident))
            stars = f" · OCOP {'★' * c.ocop_stars} ({c.ocop_stars} stars)" if c.ocop_stars else ""
            lines.append(f"  producer  {c.producer_name}" + (f" ({c.province})" if c.province else "") + stars)
        else:
            lines.append("  product   " + " · ".join(ident))
        participant = v.signer.get("participant")
        who = (
            f"{participant['name']} ({participant['role']}, trust list of {participant['trust_list']})"
            if participant
            else f"trusted key {v.signer.get('trusted_key')}"
        )
        lines.append(f"  signed by {who}, key {r.key.key_id_hex[:16]}")
        lines.append(f"  sealed    {st.sealed_on.isoformat()}: {_plural(st.seq + 1, 'step')} (#0 … #{st.seq})")
        if c is not None:
            lines.append(f"  steps     checked against the bundle {v.bundle}:")
            lines.extend(f"            #{s.seq:<3} {_time(s.time)}  {s.step}" for s in c.steps)
            if v.audited:
                lines.append("            every step's key was valid in the trust list at the time the step claims")
        else:
            lines.append("  steps     not shown: give the batch's bundle (--bundle FILE) to see and check them")
        lines.append("")
        lines.append(f"  Proves:            {r.proves}")
        lines.append(f"  Does not prove:    {r.does_not_prove}")
        lines.append(f"  Chứng minh:        {r.proves_vi}")
        lines.append(f"  Không chứng minh:  {r.does_not_prove_vi}")
        self.out("\n".join(lines))

    def seal_failed(self, f: SealFailure) -> None:
        e = f.error
        explanation = EXPLAIN_SEAL.get(e.code) or EXPLAIN.get(e.code)
        if isinstance(e, op.AuditError):
            # The seal verified; a step of the bundle did not pass the trust list (its key, at the step's time).
            explanation = "a step of the bundle fails the trust list: " + (EXPLAIN.get(e.code) or e.message)
        if self.json:
            self._failed(e, {"source": f.source, "text": f.text}, {"explanation": explanation})
            return
        lines = ["NOT VERIFIED · KHÔNG XÁC MINH ĐƯỢC"]
        lines.extend(_problem_lines(e, explanation, "  problem   ", "  detail    "))
        lines.append("  Do not rely on this code's record.")
        self.out("\n".join(lines))

    # --- demo -------------------------------------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        """One line of the demo's narration (stdout)."""
        if not self.json:
            click.echo(text)

    def demo_done(self, payload: Mapping[str, Any]) -> None:
        if self.json:
            self._doc(payload)

    # --- trust lists, policies and audits (ocop trust, ocop policy, ocop verify --trust) ----------------------

    def trust_draft(self, path: str, trust: op.TrustList, action: str) -> None:
        if self.json:
            listed = trust.to_dict()
            listed.pop("id", None)
            self._doc({"ok": True, "draft": path, "action": action, "list": listed})
            return
        self.out(path)
        self.note(
            f"{action}: draft of {trust.issuer} version {trust.version}, "
            f"{_plural(len(trust.participants), 'participant')}"
            f" (not signed yet: ocop trust sign {path} --key NAME)"
        )

    def signed_document(self, kind: str, s: SignedSummary, version: int) -> None:
        complete = None if s.threshold is None else s.valid_authority >= s.threshold
        if self.json:
            self._doc(
                {
                    "ok": True,
                    "output": s.path,
                    "kind": kind,
                    "version": version,
                    "id": s.object_id.hex(),
                    "signatures": [
                        {"key_id": k.hex(), "authority": k in s.authority_ids if s.threshold is not None else None}
                        for k in s.signers
                    ],
                    "authority_signatures": s.valid_authority if s.threshold is not None else None,
                    "threshold": s.threshold,
                    "complete": complete,
                }
            )
            return
        self.out(s.path)
        text = f"signed {kind} version {version}: {_plural(len(s.signers), 'signature')}"
        if s.threshold is not None:
            text += f", {s.valid_authority} of the list's authority (threshold {s.threshold})"
            if not complete:
                text += f": needs {s.threshold - s.valid_authority} more (ocop trust sign {s.path} --key NAME)"
        self.note(text)

    def trust_inspect(self, path: str, trust: op.TrustList, s: SignedSummary | None) -> None:
        if self.json:
            listed = trust.to_dict()
            if s is None:
                listed.pop("id", None)
            self._doc(
                {
                    "ok": True,
                    "path": path,
                    "signed": s is not None,
                    "verified": False,
                    "list": listed,
                    "signatures": None
                    if s is None
                    else [{"key_id": k.hex(), "authority": k in s.authority_ids} for k in s.signers],
                }
            )
            return
        state = "DRAFT (not signed)" if s is None else "signed, NOT verified (use ocop trust verify)"
        lines = [f"Trust list  {path}  [{state}]"]
        lines.append(f"  issuer      {trust.issuer}")
        lines.append(f"  version     {trust.version}")
        lines.append(f"  issued      {_utc(trust.issued_at)}")
        lines.append(f"  expires     {_utc(trust.expires)}")
        if s is not None:
            lines.append(f"  id          {s.object_id.hex()}")
        lines.append(f"  authority   {trust.authority.threshold} of {len(trust.authority.keys)} keys must sign")
        for ak in trust.authority.keys:
            lines.append(f"              {ak.key_id_hex}")
        if s is not None:
            lines.append(f"  signatures  {len(s.signers)}, {s.valid_authority} valid by the list's own authority keys")
            for kid in s.signers:
                mark = "authority" if kid in s.authority_ids else "NOT an authority key"
                lines.append(f"              {kid.hex()}  {mark}")
        lines.append(f"  participants ({len(trust.participants)})")
        for p in sorted(trust.participants, key=lambda p: p.id):
            extra = ", ".join(x for x in (p.admin_code and f"admin code {p.admin_code}", p.gln and f"GLN {p.gln}") if x)
            lines.append(f"    {p.id}  {p.name}  ({p.role}{', ' + extra if extra else ''})")
            for k in p.keys:
                status = k.status if k.status_time is None else f"{k.status} at {_utc(k.status_time)}"
                lines.append(
                    f"      key {k.key.key_id_hex[:16]}  valid {_utc(k.not_before)} to {_utc(k.not_after)}  {status}"
                )
        self.out("\n".join(lines))

    def trust_verified(self, r: TrustVerified) -> None:
        if self.json:
            self._doc({"ok": True, "verified": True, "trust_list": _trust_json(r), "list": r.trust.to_dict()})
            return
        t = r.trust
        lines = [f"VERIFIED  {r.path}"]
        lines.append(f"  issuer      {t.issuer}")
        lines.append(f"  version     {t.version}  (id {t.object_id.hex()[:16]})")
        lines.append(f"  expires     {_utc(t.expires)}")
        lines.append(f"  checked     against {r.against}")
        lines.append(f"  lists       {_plural(len(t.participants), 'participant')}")
        if r.cache is not None:
            lines.append(f"  cache       {_cache_note(r)}")
        self.out("\n".join(lines))

    def document_failed(self, what: str, path: str, e: op.ProvenanceError, against: str | None) -> None:
        if self.json:
            self._failed(e, {"document": what, "path": path, "against": against}, {"explanation": EXPLAIN.get(e.code)})
            return
        lines = [f"NOT VERIFIED  {path}  (the {what})"]
        if against:
            lines.append(f"  checked   against {against}")
        lines.extend(_problem_lines(e, EXPLAIN.get(e.code), "  problem   ", "  detail    "))
        lines.append(f"  Do not rely on this {what}, nor on an audit made with it.")
        self.out("\n".join(lines))

    def policy_draft(self, path: str, policy: op.Policy) -> None:
        if self.json:
            d = policy.to_dict()
            d.pop("id", None)
            self._doc({"ok": True, "draft": path, "policy": d})
            return
        self.out(path)
        self.note(
            f"drafted policy {policy.name} version {policy.version} ({policy.kind}), "
            f"{_plural(len(policy.steps), 'step')}"
            f" (not signed yet: ocop policy sign {path} --key NAME)"
        )

    def policy_inspect(self, path: str, policy: op.Policy, s: SignedSummary | None) -> None:
        if self.json:
            d = policy.to_dict()
            if s is None:
                d.pop("id", None)
            self._doc(
                {
                    "ok": True,
                    "path": path,
                    "signed": s is not None,
                    "verified": False,
                    "policy": d,
                    "signatures": None if s is None else [{"key_id": k.hex()} for k in s.signers],
                }
            )
            return
        state = "DRAFT (not signed)" if s is None else "signed, NOT verified (use ocop policy verify)"
        lines = [f"Policy  {path}  [{state}]"]
        lines.append(f"  name      {policy.name} version {policy.version}")
        lines.append(f"  kind      {policy.kind}")
        lines.append(f"  issued    {_utc(policy.issued_at)}")
        lines.append(f"  expires   {'never' if policy.expires is None else _utc(policy.expires)}")
        if s is not None:
            lines.append(f"  id        {s.object_id.hex()}")
            lines.append(f"  signed by {', '.join(k.hex()[:16] for k in s.signers)}")
        order = (
            "in this order; no other steps allowed" if policy.closed else "in this order; other steps may come between"
        )
        lines.append(f"  steps     ({order})")
        for i, rule in enumerate(policy.steps, 1):
            lines.append(f"    {i}. {_rule_text(rule)}")
        if policy.every is not None:
            lines.append(f"  every step: {_requirements(policy.every) or 'nothing more'}")
        if policy.batch_data:
            lines.append(f"  somewhere in the batch: {', '.join(policy.batch_data)}")
        if policy.gtins:
            lines.append(f"  products (GTIN): {', '.join(policy.gtins)}")
        self.out("\n".join(lines))

    def policy_verified(self, r: PolicyVerified) -> None:
        if self.json:
            self._doc({"ok": True, "verified": True, "policy": r.policy.to_dict(), "trust_list": _trust_json(r.trust)})
            return
        p = r.policy
        lines = [f"VERIFIED  {r.path}"]
        lines.append(f"  policy    {p.name} version {p.version} ({p.kind})")
        lines.append(
            f"  signed by the authority of {r.trust.trust.issuer} (trust list version {r.trust.trust.version})"
        )
        lines.append(f"  expires   {'never' if p.expires is None else _utc(p.expires)}")
        self.out("\n".join(lines))

    def audited(self, a: AuditResult) -> None:
        if self.json:
            payload: JsonDict = {
                "ok": a.ok,
                "verified": a.ok,
                "mode": "trust",
                "bundles": list(a.bundles),
                "trust_list": _trust_json(a.trust),
                "policy": None
                if a.policy is None
                else {
                    "path": a.policy_path,
                    "name": a.policy.name,
                    "version": a.policy.version,
                    "id": a.policy.object_id.hex(),
                },
                "pinned": None if a.pinned is None else {"path": a.pinned, "updated": a.pinned_updated},
                "audits": [
                    {"bundle": path, "where": None if f is None else _where_json(f), "report": r.to_dict()}
                    for path, r, f in zip(a.bundles, a.reports, a.failures, strict=True)
                ],
                "forks": [base64.b64encode(p.to_bytes()).decode("ascii") for p in a.forks],
                "proof_files": list(a.proof_files),
            }
            if not a.ok:
                payload["exit_code"] = int(ExitCode.VERIFY_FAILED)
            self._doc(payload)
            return
        blocks = [_audit_lines(path, r, f, a) for path, r, f in zip(a.bundles, a.reports, a.failures, strict=True)]
        text = "\n\n".join("\n".join(b) for b in blocks)
        tail: list[str] = []
        if len(a.bundles) > 1:
            tail.append(
                f"Cross-check of {len(a.bundles)} bundles: "
                + (f"{_plural(len(a.forks), 'fork')} found" if a.forks else "no fork between them")
            )
        if a.proof_files:
            tail.append(
                f"Fork proofs written (anyone can check them with the signer's public key): {', '.join(a.proof_files)}"
            )
        if a.pinned is not None:
            tail.append(
                f"Pinned state {a.pinned}: " + ("advanced to the heads seen" if a.pinned_updated else "unchanged")
            )
        tail.append("A valid signature proves who recorded what, and that nothing changed since. It does not prove")
        tail.append("that the records are true, nor that a given physical package is genuine.")
        self.out(text + "\n\n" + "\n".join(tail))


def _json_default(value: object) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _warn_small_modules(out: Renderer, module_mm: float, what: str, remedy: str) -> None:
    if 0 < module_mm < op.RECOMMENDED_MODULE_MM:
        out.warn(
            f"{what} {module_mm:.2f} mm modules: phones read them held close, but older phones and phones further "
            f"away need {op.RECOMMENDED_MODULE_MM} mm or more ({remedy})"
        )


def _printed_json(m: SealMade) -> JsonDict:
    side = (m.qr.size + 8) * m.module_mm  # the quiet zone of 4 modules included
    return {"module_mm": round(m.module_mm, 3), "width_mm": round(side, 1), "dpi": _round(m.dpi)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _printed_text(m: SealMade) -> str:
    side = (m.qr.size + 8) * m.module_mm
    at = f" at {m.dpi:g} dpi" if m.dpi is not None else ""
    return f"prints {side:.1f} mm wide{at}, {m.module_mm:.2f} mm modules"


def _sheet_layout_json(s: SealSheet) -> JsonDict:
    return {
        "label_mm": [round(s.label_mm[0], 2), round(s.label_mm[1], 2)],
        "per_page": s.per_page,
        "module_mm": round(s.module_mm, 3),
    }


def _sheet_layout_text(s: SealSheet) -> str:
    w, h = s.label_mm
    return f"labels {w:.4g} x {h:.4g} mm, {s.per_page} per page; code modules {s.module_mm:.2f} mm"


def _describe(e: op.ProvenanceError) -> str:
    explain = EXPLAIN.get(e.code) or EXPLAIN_SEAL.get(e.code)
    return f"{e}" + (f"\n       ({explain})" if explain else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}es" if word.endswith("ch") else f"{n} {word}s"


def _gtin(p: op.Product) -> str:
    return f" · GTIN {p.gtin}" if p.gtin else ""


def _producer(p: op.Producer) -> str:
    parts = [x for x in (p.commune, p.province) if x]
    extra = ", ".join(parts)
    code = f"admin code {p.admin_code}" if p.admin_code else ""
    tail = ", ".join(x for x in (code, extra) if x)
    return p.name + (f" ({tail})" if tail else "")


def _location(loc: op.Location | None) -> str:
    if loc is None:
        return "-"
    return loc.name + (f" [{loc.admin_code}]" if loc.admin_code else "")


def _event_lines(e: op.SignedEvent, names: Mapping[bytes, str]) -> list[str]:
    body = e.body
    signer = names.get(e.key_id)
    who = f"{signer} ({_short(e.key_id)})" if signer else f"key {_short(e.key_id)}"
    lines = [f"  #{e.seq:<3} {_time(e.time)}  {e.step:<14} at {_location(body.location)}  signed by {who}"]
    if isinstance(body, op.Step):
        for ref in body.inputs:
            lines.append(f"        input batch {_short(ref.batch_id)} at #{ref.seq} (event {_short(ref.head)})")
    for a in body.attachments:
        lines.append(f"        attached {a.name} ({a.media_type}, {a.size} bytes, sha256 {a.sha256.hex()[:16]}…)")
    for k, v in body.data.items():
        lines.append(f"        {k} = {_value(v)}")
    return lines


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _attachment_json(a: op.Attachment) -> JsonDict:
    return {"name": a.name, "media_type": a.media_type, "size": a.size, "sha256": a.sha256.hex()}


def _location_json(loc: op.Location | None) -> JsonDict | None:
    if loc is None:
        return None
    return {"name": loc.name, "admin_code": loc.admin_code, "lat_e6": loc.lat_e6, "lon_e6": loc.lon_e6, "gln": loc.gln}


def event_json(e: op.SignedEvent, names: Mapping[bytes, str] | None = None) -> JsonDict:
    """One event as JSON (docs/cli.md §Event)."""
    body = e.body
    out: JsonDict = {
        "seq": e.seq,
        "event_id": e.event_id.hex(),
        "step": e.step,
        "time": _time(e.time),
        "key_id": e.key_id.hex(),
        "signer": (names or {}).get(e.key_id),
        "location": _location_json(body.location),
        "inputs": [],
        "attachments": [_attachment_json(a) for a in body.attachments],
        "data": dict(body.data),
    }
    if isinstance(body, op.Step):
        out["prev"] = body.prev.hex()
        out["inputs"] = [{"batch_id": r.batch_id.hex(), "seq": r.seq, "head": r.head.hex()} for r in body.inputs]
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


def _chain_json(c: op.ChainSummary, position: int) -> JsonDict:
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


def keyed(items: Iterable[tuple[bytes, str]]) -> dict[bytes, str]:
    """Build a key id -> label mapping (first label wins)."""
    out: dict[bytes, str] = {}
    for k, v in items:
        out.setdefault(k, v)
    return out


def _seal_json(batch_id: bytes, seal: op.Seal) -> JsonDict:
    st = seal.statement
    return {
        "batch_id": batch_id.hex(),
        "key_id": seal.key_id.hex(),
        "seal_id": seal.seal_id.hex(),
        "resolver": st.resolver,
        "gtin": st.gtin,
        "lot": st.lot,
        "serial": st.serial,
        "seq": st.seq,
        "head": st.head.hex(),
        "sealed_on": st.sealed_on.isoformat(),
        "url": seal.to_url(),
    }


# ---- trust lists, policies and audits (ocop trust, ocop policy, ocop verify --trust) ---------------------------

EXPLAIN = {
    **EXPLAIN,
    "E_UNKNOWN_KEY": "it was signed by a key that is not among the trusted keys you gave (or not in the trust list)",
    "E_KEY_REVOKED": "the signing key was revoked (lost or stolen): nothing it signed is trusted, whatever date it "
    "claims",
    "E_KEY_RETIRED": "the signing key had been retired before the time this step claims",
    "E_KEY_EXPIRED": "the step claims a time after the end of the signing key's validity window",
    "E_KEY_NOT_YET_VALID": "the step claims a time before the start of the signing key's validity window",
    "E_TRUST_ROLLBACK": "this trust list is older than one already trusted: an old list may still trust stolen keys",
    "E_TRUST_CONFLICT": "two different trust lists claim the same version: the authority contradicted itself",
    "E_TRUST_THRESHOLD": "too few of the authority's keys signed this list (each key counts once)",
    "E_TRUST_EXPIRED": "the trust list has expired: get the authority's current list",
    "E_CRITICAL_FIELD": "the list uses a feature this version of ocop does not understand and must not ignore",
    "E_ENVELOPE": "the file is not a well-formed signed trust list or policy",
    "E_DUPLICATE_KEY": "the same key is listed twice",
    "E_POLICY_AUTHORITY": "the policy is not signed by enough of the trust list's authority keys",
    "E_POLICY_EXPIRED": "the policy has expired",
    "E_POLICY_ROLE": "the step was not signed by a participant in a role the policy allows",
    "E_POLICY_MISSING_STEP": "a step the policy requires does not appear",
    "E_POLICY_ORDER": "a step appears before a step the policy puts first",
    "E_POLICY_DATA": "a key data element the policy requires is missing",
    "E_POLICY_ATTACHMENT": "an attachment the policy requires is missing",
    "E_POLICY_FIELD": "a field the policy requires (such as a location code) is missing",
    "E_POLICY_EXTRA_STEP": "the policy does not allow this step",
    "E_POLICY_THRESHOLD": "too few distinct participants signed a step that needs several",
    "E_POLICY_BATCH_DATA": "no step of the batch carries a data element the policy requires",
    "E_POLICY_PRODUCT": "the policy does not cover this product",
    "E_PINNED_FORK": "the bundle shows a different step than the one you saw before: the history was forked",
    "E_ROLLBACK": "the bundle ends before a step you already saw: later steps are being hidden",
    "E_LINEAGE_DEPTH": "the chain of batches made from batches is deeper than allowed",
    "E_LINEAGE_SIZE": "the lineage holds more batches than allowed",
    "E_PINNED_FORMAT": "the pinned-state file is not valid",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedSummary:
    """Who signed a trust list or policy (read without verifying), and how many authority keys did."""

    path: str
    object_id: bytes
    signers: tuple[bytes, ...]
    authority_ids: frozenset[bytes]
    valid_authority: int
    threshold: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustVerified:
    """A verified trust list, what it was verified against, and what happened to the cache."""

    path: str
    trust: op.TrustList
    against: str
    cache: str | None
    cache_updated: bool
    cached_version: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyVerified:
    """A verified policy and the trust list whose authority signed it."""

    path: str
    policy: op.Policy
    trust: TrustVerified


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditResult:
    """What ``ocop verify --trust`` found: one report per bundle, where each failure is, forks, the pinned state."""

    bundles: tuple[str, ...]
    trust: TrustVerified
    policy: op.Policy | None
    policy_path: str | None
    reports: tuple[op.AuditReport, ...]
    failures: tuple[VerifyFailure | None, ...]
    forks: tuple[op.EquivocationProof, ...]
    pinned: str | None
    pinned_updated: bool
    proof_files: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every bundle audited clean."""
        return all(r.ok for r in self.reports)


def _utc(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cache_note(r: TrustVerified) -> str:
    if r.cache_updated:
        before = "" if r.cached_version is None else f" (was version {r.cached_version})"
        return f"{r.cache} now holds this list{before}"
    return f"{r.cache} holds version {r.cached_version}"


def _trust_json(r: TrustVerified) -> JsonDict:
    t = r.trust
    return {
        "path": r.path,
        "issuer": t.issuer,
        "version": t.version,
        "id": t.object_id.hex(),
        "issued_at": _utc(t.issued_at),
        "expires": _utc(t.expires),
        "participants": len(t.participants),
        "against": r.against,
        "cache": r.cache,
        "cache_updated": r.cache_updated,
        "cached_version": r.cached_version,
    }


def _where_json(f: VerifyFailure) -> JsonDict:
    return {
        "explanation": EXPLAIN.get(f.error.code),
        "batch_id": _hex(f.batch_id),
        "batch_position": f.batch_position,
        "seq": f.seq,
        "bundle_index": f.bundle_index,
    }


def _where_text(f: VerifyFailure) -> list[str]:
    """Where a failure is, in words: its position in the bundle, its batch, step and event id (as far as known)."""
    where = []
    if f.bundle_index is not None:
        where.append(f"event {f.bundle_index + 1} of the bundle")
    if f.batch_id is not None:
        where.append(f"{'the root batch' if f.batch_position == 0 else 'an input batch'} {_short(f.batch_id)}")
    if f.seq is not None:
        where.append(f"step #{f.seq}")
    if f.error.event_id:
        where.append(f"event id {f.error.event_id[:16]}")
    return where


def _problem_lines(e: op.ProvenanceError, explanation: str | None, problem: str, detail: str) -> list[str]:
    """The ``problem`` (plain words, else the message) and ``detail`` (message and code) lines of a failure."""
    return [f"{problem}{explanation or e.message}", f"{detail}{e.message} [{e.code}]"]


def _requirements(rule: op.StepRule) -> str:
    parts = []
    if rule.roles:
        parts.append("signed by a " + " or ".join(rule.roles))
    if rule.min_signers > 1:
        parts.append(f"by {rule.min_signers} distinct participants")
    if rule.data:
        parts.append("data " + ", ".join(rule.data))
    if rule.attachments:
        parts.append("attachment " + ", ".join(rule.attachments))
    if rule.fields:
        parts.append("field " + ", ".join(f.replace("|", " or ") for f in rule.fields))
    return "; ".join(parts)


def _rule_text(rule: op.StepRule) -> str:
    label = f" ({rule.label})" if rule.label else ""
    req = _requirements(rule)
    return f"{rule.step}{label}" + (f": {req}" if req else "")


def _signer_text(s: op.StepAudit) -> str:
    p = s.participant
    if p is None:
        return f"key {_short(s.key_id)}, which is NOT in the trust list"
    who = f"{p.name} ({p.role}) · key {_short(s.key_id)}"
    if s.key_problem is not None:
        who += f", NOT allowed at that time [{s.key_problem}]"
    return who


def _audit_lines(path: str, r: op.AuditReport, f: VerifyFailure | None, a: AuditResult) -> list[str]:
    lines = [f"{'VERIFIED' if r.ok else 'NOT VERIFIED'}  {path}"]
    t = a.trust.trust
    lines.append(f"  trust list  {t.issuer}, version {t.version}, checked against {a.trust.against}")
    if a.policy is not None:
        lines.append(f"  policy      {a.policy.name} version {a.policy.version} ({a.policy.kind}), for the root batch")
    if f is not None:
        where = _where_text(f)
        if where:
            lines.append(f"  where       {', '.join(where)}")
        lines.extend(_problem_lines(f.error, EXPLAIN.get(f.error.code), "  problem     ", "  detail      "))
        lines.append("  Do not rely on any record in this bundle.")
    by_event: dict[tuple[bytes | None, int | None], list[op.Finding]] = {}
    for finding in r.findings:
        by_event.setdefault((finding.batch_id, finding.index), []).append(finding)
    for b in r.batches:
        role = "root batch" if b.depth == 0 and b.batch_id == r.root else f"input batch (depth {b.depth})"
        lines.append("")
        lines.append(
            f"  {role} {_short(b.batch_id)}  {b.product} · lot {b.lot}" + (f" · GTIN {b.gtin}" if b.gtin else "")
        )
        lines.append(f"    producer  {b.producer}")
        for inp, seq, head, at in b.inputs:
            lines.append(
                f"    back      step #{at} used batch {_short(inp)} as it was at #{seq} (event {_short(head)})"
            )
        for cb, seq, _eid in b.consumed_by:
            lines.append(f"    forward   used by batch {_short(cb)} in its step #{seq}")
        steps = {s.seq: s for s in b.steps}
        for seq in b.dispatches:
            sent = steps.get(seq)
            origin = f" from {sent.location}" if sent is not None and sent.location else ""
            lines.append(f"    forward   dispatched at step #{seq}{origin}")
        if not b.inputs and not b.consumed_by and not b.dispatches:
            lines.append("    lineage   no input batch, not used or dispatched in this bundle")
        for s in b.steps:
            place = s.location or "-"
            code = f" [{s.location_code}]" if s.location_code else ""
            lines.append(f"    #{s.seq:<3} {s.time.isoformat()}  {s.step:<14} at {place}{code}")
            lines.append(f"         signed by {_signer_text(s)}")
            if s.rule is not None:
                req = _requirements(s.rule)
                label = f" ({s.rule.label})" if s.rule.label else ""
                lines.append(f"         policy    {s.rule.step}{label}" + (f" requires {req}" if req else ""))
            for finding in by_event.get((b.batch_id, s.seq), ()):
                rule = f" (rule {finding.rule})" if finding.rule else ""
                lines.append(f"         PROBLEM  {finding.message}{rule} [{finding.code}]")
    rest = [x for x in r.findings if x.index is None]
    if rest:
        lines.append("")
        lines.append("  for the batch as a whole")
        for finding in rest:
            batch = f"batch {_short(finding.batch_id)}" if finding.batch_id else "bundle"
            rule = f", rule {finding.rule}" if finding.rule else ""
            lines.append(f"    {batch}{rule}: {finding.message} [{finding.code}]")
    if r.ok:
        lines.append("")
        lines.append("  Every signature, link and lineage reference verified; every signer is in the trust list and")
        lines.append(
            "  allowed at the time it claims" + ("; the policy is satisfied." if a.policy is not None else ".")
        )
    elif r.findings:
        lines.append("")
        codes = sorted({x.code for x in r.findings})
        lines.append(f"  {_plural(len(r.findings), 'finding')}: {', '.join(codes)}")
    return lines
