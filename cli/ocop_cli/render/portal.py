"""``ocop publish`` and ``ocop serve``: the portal's answer to an upload, a migrated database, a serving portal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .core import JsonDict, Result, Text, error_json, lines
from .logs import LogSeen
from .words import short, t, tn

__all__ = ["Migrated", "Published", "Serving"]


def _file_ok(answer: Mapping[str, Any]) -> bool:
    return int(answer.get("http_status", 500)) < 300


@dataclass(frozen=True, slots=True, kw_only=True)
class Published(Result):
    """``ocop publish``: what the portal accepted (or why it refused), and each attachment file uploaded.

    ``ok`` only when the portal accepted the bundle and every file: a refused file is exit 1 too.
    """

    portal: str
    batch_id: bytes
    events: int
    answer: Mapping[str, Any]
    files: Sequence[Mapping[str, Any]] = ()
    receipts: Sequence[str] = ()
    receipt_problems: Sequence[str] = ()
    #: With ``--log-key``: what was checked of the portal's log.
    log: LogSeen | None = None

    @property
    def accepted(self) -> bool:
        """Whether the portal accepted the bundle."""
        return bool(self.answer.get("accepted"))

    @property
    def ok(self) -> bool:
        return self.accepted and all(_file_ok(f) for f in self.files) and (self.log is None or self.log.error is None)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(t("a log receipt was not kept: {problem}", problem=p) for p in self.receipt_problems)

    def to_json(self) -> JsonDict:
        return {
            "portal": self.portal,
            "batch": self.batch_id.hex(),
            "events": self.events,
            "answer": dict(self.answer),
            "files": [dict(f) for f in self.files],
            "receipts": list(self.receipts),
            **({} if self.log is None else {"log": _log_json(self.log)}),
        }

    def to_text(self) -> Text:
        a = self.answer
        if self.accepted:
            added = int(a.get("added", 0))
            rows = [
                tn(
                    added,
                    "published {batch} to {portal}: {n} event added",
                    "published {batch} to {portal}: {n} events added",
                    batch=short(self.batch_id),
                    portal=self.portal,
                )
            ]
            for b in a.get("batches", []):
                rows.append(
                    tn(
                        int(b["count"]),
                        "  {batch}  {status:<9}  {n} event held",
                        "  {batch}  {status:<9}  {n} events held",
                        batch=str(b["batch_id"])[:16],
                        status=b["status"],
                    )
                )
            if a.get("page"):
                rows.append(t("  page: {url}", url=a["page"]))
            if self.receipts:
                rows.append(
                    tn(
                        len(self.receipts),
                        "  log: {n} receipt kept (proof that the head is in the portal's transparency log)",
                        "  log: {n} receipts kept (proof that the heads are in the portal's transparency log)",
                    )
                )
        else:
            rows = [t("REFUSED by {portal}: {message} [{code}]", portal=self.portal, message=a.get("message"),
                      code=a.get("code"))]  # fmt: skip
            rows += [
                t("  {code}: {message}", code=f.get("code"), message=f.get("message")) for f in a.get("findings") or []
            ]
        if self.log is not None:
            rows.extend(_log_rows(self.log))
        for f in self.files:
            if _file_ok(f):
                rows.append(t("  file {path}: published ({code})", path=f["file"], code=f.get("code", "ok")))
            else:
                rows.append(t("  file {path}: refused ({code})", path=f["file"], code=f.get("code", "ok")))
        return lines(*rows)


def _log_json(seen: LogSeen) -> JsonDict:
    return {
        "origin": seen.origin or None,
        "size": seen.size or None,
        "previous": seen.previous,
        "error": None if seen.error is None else error_json(seen.error),
        "evidence": seen.evidence,
    }


def _log_rows(seen: LogSeen) -> list[str]:
    if seen.error is not None:
        rows = [t("  log: REFUSED: {message} [{code}]", message=seen.error.message, code=seen.error.code)]
        if seen.evidence is not None:
            rows.append(t("  the two signed checkpoints are kept in {path}: evidence of the split view",
                          path=seen.evidence))  # fmt: skip
        return rows
    if seen.previous is None:
        return [t("  log: receipts verified; checkpoint of {size} leaves of {origin} kept", size=seen.size,
                  origin=seen.origin)]  # fmt: skip
    return [t("  log: receipts verified; {origin} grew from {previous} to {size} leaves, consistently",
              origin=seen.origin, previous=seen.previous, size=seen.size)]  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Migrated(Result):
    """``ocop serve --migrate-only``: the database is at the newest schema."""

    db_url: str

    def to_json(self) -> JsonDict:
        return {"migrated": True}

    def to_text(self) -> Text:
        return lines(t("the database is at the newest schema ({kind})", kind=self.db_url.split("://", 1)[0]))


@dataclass(frozen=True, slots=True, kw_only=True)
class Serving(Result):
    """``ocop serve`` and ``ocop demo --serve``: the portal listens (written before serving, until Ctrl-C).

    ``extra``: further JSON members (the demo's summary, the product page's URL and the portal's answer).
    """

    url: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        return {"url": self.url, **self.extra}

    def to_text(self) -> Text:
        return lines(t("serving the portal at {url} (Ctrl-C stops it)", url=self.url))
