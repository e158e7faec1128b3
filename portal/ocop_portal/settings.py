"""What an operator configures: the database, the public URL, the pinned authority and the upload limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import ocop_provenance as op
from ocop_provenance.trust import AuthorityPin

__all__ = ["Limits", "Settings", "WitnessEndpoint", "utc_now"]

_PUBLIC_URL = re.compile(r"https?://[a-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*")


def utc_now() -> datetime:
    """The portal's default clock: now, in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Bounds on one upload (docs/portal.md §Limits).

    Attributes:
        max_bundle_bytes: Largest bundle accepted (HTTP 413 beyond).
        max_events: Most events in one bundle (checked on the header, before any signature).
        publish_seconds: Wall-time budget for receiving and verifying one bundle.
        max_attachment_bytes: Largest attachment file accepted.
        max_document_bytes: Largest trust list or policy accepted.
    """

    max_bundle_bytes: int = 256 << 20
    max_events: int = 500_000
    publish_seconds: float = 300.0
    max_attachment_bytes: int = 32 << 20
    max_document_bytes: int = 4 << 20


@dataclass(frozen=True, slots=True)
class WitnessEndpoint:
    """A witness the log pushes its checkpoints to (C2SP tlog-witness), and the key its cosignatures verify with.

    Attributes:
        url: The witness's base URL; requests go to ``url/add-checkpoint``.
        key: The witness's Ed25519 public key (its cosignature lines are matched by key hash).
    """

    url: str
    key: op.PublicKey


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The portal's configuration.

    Attributes:
        db_url: ``sqlite:///path`` or ``postgresql://…`` (a bare path is a SQLite file).
        public_url: The resolver's public base URL (scheme, host, optional path prefix) that seals name: requests
            are verified as if they arrived there, whatever the proxy in front sends.
        authority: Authority keys pinned at first start (verify the first trust list), or None.
        limits: Upload limits.
        clock: Returns the current time (timezone-aware); tests replace it.
        read_db_url: A read replica for the pages and the API, or None.
        trust_refresh_seconds: How often an app server re-reads the current trust list and policies, so that an
            update made through another server reaches it.
        seal_memo: How many seal verdicts each app server memoises (0: verify every request from scratch).
        page_cache_seconds: How long an app server may answer a Digital Link URL from its rendered copy of the
            answer (0: never). The copy is dropped at once when the trust list changes; a serialised unit's look-up
            is still counted, and its count shown, on every request.
        log_key: The transparency log's Ed25519 key (signs checkpoints), or None: no log is kept.
        log_generation: The ``<n>`` of the log's origin ``<host>/tlog/<n>`` (ADR 0070): a new one restarts the log.
        witnesses: Witnesses each new checkpoint is pushed to; their cosignatures are served with it.
        witness_timeout: Seconds to wait for one witness's answer.
    """

    db_url: str
    public_url: str
    authority: AuthorityPin | None = None
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], datetime] = utc_now
    read_db_url: str | None = None
    trust_refresh_seconds: float = 5.0
    seal_memo: int = 4096
    page_cache_seconds: float = 1.0
    log_key: op.PrivateKey | None = None
    log_generation: int = 1
    witnesses: tuple[WitnessEndpoint, ...] = ()
    witness_timeout: float = 10.0

    def __post_init__(self) -> None:
        url = self.public_url.rstrip("/")
        if not _PUBLIC_URL.fullmatch(url):
            raise ValueError(f"--public-url must look like https://host[/prefix], not {self.public_url!r}")
        object.__setattr__(self, "public_url", url)
        if self.log_generation < 1:
            raise ValueError("the log generation is a positive integer")

    @property
    def log_origin(self) -> str:
        """The log's origin: ``<public host>/tlog/<generation>`` (ADR 0070)."""
        host = self.public_url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
        return f"{host}/tlog/{self.log_generation}"
