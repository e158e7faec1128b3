"""The trust store: the newest verified trust list per anchor, kept in a directory (docs/trust.md §The trust store).

:func:`~ocop_provenance.verify_trust_list` is pure: it knows nothing of what was trusted before. An auditor who
verified version 5 of a list must refuse version 3 tomorrow (it may still trust a stolen key), so something must
remember version 5 across runs. This module is that memory and nothing else: a thin I/O layer that reads the
remembered list, calls ``verify_trust_list`` from it, and writes the newer list back.

An **anchor** is a set of pinned authority keys with a threshold (an :class:`~ocop_provenance.AuthorityPin`). Its
id, :func:`anchor_id`, is SHA-256 of the deterministic CBOR ``["ocop-trust-anchor", 1, threshold, [keys...]]`` with
the raw 32-byte keys sorted bytewise (docs/format.md §16, ADR 0037). The store holds, per anchor, the signed bytes of
the newest list verified from it: ``DIRECTORY/<anchor id, 64 hex digits>.trust``. Entries are keyed by what the
auditor pinned, never by what a list claims about itself (its issuer name): a list verified from wrongly pinned keys
lands in that wrong anchor's entry and cannot block the lists of the right one.

Verification from an anchor starts at its stored list when there is one (that list was verified from the anchor's
keys before, perhaps through rotations), else at the pinned keys; a list older than the stored one is refused
(``E_TRUST_ROLLBACK``), another list of the same version is ``E_TRUST_CONFLICT``. Writes are atomic (temporary file,
fsync, rename, under a lock) and never replace a newer entry. The store is as trusted as its directory: anyone who
can write it can plant a list.

Errors: :class:`TrustStoreError` (a :class:`~ocop_provenance.StoreError`, so also an ``OSError``) with
``E_TRUST_STORE_DAMAGED`` (an entry that is not a readable trust list: remove it and verify from pinned keys again),
``E_TRUST_STORE_NO_ANCHOR`` (no pinned keys given and no stored list of the list's issuer),
``E_TRUST_STORE_AMBIGUOUS`` (no pinned keys given and several anchors hold lists of that issuer) and
``E_TRUST_STORE`` (the directory cannot be read or written).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import _cbor
from ._errors import ErrorCode, ProvenanceError, StoreError
from ._trust import (
    MAX_SIGNED_DOCUMENT_SIZE,
    AuthorityPin,
    TrustList,
    VerifiedTrustList,
    load_trusted_root,
    verify_trust_list,
)

__all__ = ["StoredTrust", "TrustAnchor", "TrustStore", "TrustStoreError", "anchor_id"]

#: The first item of the array hashed into an anchor id (domain separation).
ANCHOR_DOMAIN = "ocop-trust-anchor"
ANCHOR_VERSION = 1
#: A directory holding more entries than this is refused when searched by issuer (bounded work).
MAX_ENTRIES = 10_000
_ENTRY = re.compile(r"[0-9a-f]{64}\.trust")


class TrustStoreError(StoreError):
    """The trust store cannot be used: a damaged entry, no anchor to verify from, or I/O.

    Attributes:
        path: The entry or directory concerned, when there is one.
    """

    code = ErrorCode.TRUST_STORE

    def __init__(self, message: str, *, code: str | None = None, path: Path | None = None) -> None:
        super().__init__(message, code=code)
        self.path = path


def anchor_id(pin: AuthorityPin) -> bytes:
    """The id of an anchor: SHA-256 of ``["ocop-trust-anchor", 1, threshold, sorted raw keys]`` in deterministic CBOR.

    The same keys and threshold give the same id whatever their order; another threshold is another anchor.

    Args:
        pin: The pinned authority keys and threshold.

    Returns:
        32 bytes.
    """
    keys = sorted(k.raw for k in pin.keys)
    return hashlib.sha256(_cbor.encode([ANCHOR_DOMAIN, ANCHOR_VERSION, pin.threshold, keys])).digest()


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustAnchor:
    """Where the verification of a trust list starts: an anchor and the newest list the store holds for it.

    Attributes:
        id: The anchor id (:func:`anchor_id`), which names the store entry.
        path: The store entry.
        pin: The pinned authority keys, or None for an anchor found in the store by issuer (:meth:`TrustStore.find`).
        stored: The newest list verified from this anchor before, or None.
    """

    id: bytes
    path: Path
    pin: AuthorityPin | None
    stored: TrustList | None

    def __post_init__(self) -> None:
        if self.pin is None and self.stored is None:
            raise ValueError("an anchor needs pinned keys or a stored list")


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredTrust:
    """A list verified through the store.

    Attributes:
        trust: The verified list.
        anchor: The anchor it was verified from (with what the store held before).
        updated: True when the store now holds this list (it is newer than what was there).
    """

    trust: VerifiedTrustList
    anchor: TrustAnchor
    updated: bool

    @property
    def previous_version(self) -> int | None:
        """The version the store held for the anchor before, or None."""
        return None if self.anchor.stored is None else self.anchor.stored.version


class TrustStore:
    """A directory of the newest verified trust list per anchor (module docstring).

    Args:
        directory: Where the entries are; created (mode 0700) on the first write.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self._dir = Path(directory)

    @property
    def directory(self) -> Path:
        """The store's directory."""
        return self._dir

    def path_for(self, anchor: bytes) -> Path:
        """The entry of the anchor with id ``anchor``."""
        if len(anchor) != 32:
            raise ValueError("an anchor id is 32 bytes")
        return self._dir / f"{anchor.hex()}.trust"

    def anchor(self, pin: AuthorityPin) -> TrustAnchor:
        """The anchor of pinned keys ``pin``, with the list the store holds for it.

        Raises:
            TrustStoreError: ``E_TRUST_STORE_DAMAGED`` (the entry is not a readable trust list), ``E_TRUST_STORE``.
        """
        aid = anchor_id(pin)
        path = self.path_for(aid)
        return TrustAnchor(id=aid, path=path, pin=pin, stored=self._read(path))

    def find(self, data: bytes) -> TrustAnchor:
        """The anchor to verify ``data`` from when no keys are pinned: the one whose stored list has its issuer.

        The issuer ``data`` claims only selects the entry; trust comes from verifying ``data`` from the stored list.

        Raises:
            TrustStoreError: ``E_TRUST_STORE_NO_ANCHOR`` (no stored list of that issuer), ``E_TRUST_STORE_AMBIGUOUS``
                (several anchors hold one: pin the keys), ``E_TRUST_STORE_DAMAGED``, ``E_TRUST_STORE``.
            FormatError, KeyFormatError, TrustError: ``data`` is not a well-formed trust list.
        """
        issuer = TrustList.parse_unverified(data).issuer
        found = [(path, stored) for path, stored in self._entries() if stored.issuer == issuer]
        if not found:
            raise TrustStoreError(
                f"no list of {issuer!r} is in the trust store: verify one from its authority's pinned keys first",
                code="E_TRUST_STORE_NO_ANCHOR",
                path=self._dir,
            )
        if len(found) > 1:
            raise TrustStoreError(
                f"{len(found)} anchors in the trust store hold lists of {issuer!r}: pin the authority's keys",
                code="E_TRUST_STORE_AMBIGUOUS",
                path=self._dir,
            )
        path, stored = found[0]
        return TrustAnchor(id=bytes.fromhex(path.stem), path=path, pin=None, stored=stored)

    def verify(
        self,
        data: bytes,
        anchor: TrustAnchor,
        *,
        now: datetime,
        intermediates: Iterable[bytes] = (),
        backend: str | None = None,
        update: bool = True,
    ) -> StoredTrust:
        """Verify ``data`` from ``anchor`` and remember it when it is newer than the stored list.

        From the stored list when there is one (only the ``intermediates`` newer than it are used), else from the
        pinned keys; ``verify_trust_list`` decides.

        Args:
            data: The signed trust list.
            anchor: From :meth:`anchor` or :meth:`find`.
            now: The verifier's clock (timezone-aware).
            intermediates: Lists between the anchor and ``data``, oldest first (a pinned earlier list goes first).
            backend: Ed25519 backend name, or None.
            update: Write the list to the store when it is newer (False: verify only).

        Returns:
            The verified list and whether the store now holds it.

        Raises:
            FormatError, KeyFormatError, TrustError: As :func:`~ocop_provenance.verify_trust_list`
                (``E_TRUST_ROLLBACK`` for a list older than the stored one).
            TrustStoreError: The entry cannot be written (``E_TRUST_STORE``).
        """
        given = list(intermediates)
        start: VerifiedTrustList | AuthorityPin
        if anchor.stored is not None:
            # The stored list was verified from this anchor before: it is the trusted root (checked against its own
            # authority, intact; its expiry does not matter, it only carries the authority forward).
            start = load_trusted_root(anchor.stored.raw, now=now, backend=backend)
            given = [raw for raw in given if TrustList.parse_unverified(raw).version > anchor.stored.version]
        else:
            assert anchor.pin is not None  # TrustAnchor.__post_init__
            start = anchor.pin
        trust = verify_trust_list(data, start, now=now, intermediates=given, backend=backend)
        updated = False
        if update and (anchor.stored is None or trust.version > anchor.stored.version):
            updated = self._write(anchor.path, trust)
        return StoredTrust(trust=trust, anchor=anchor, updated=updated)

    # ---- I/O ---------------------------------------------------------------------------------------------------

    def _read(self, path: Path) -> TrustList | None:
        try:
            with path.open("rb") as f:
                data = f.read(MAX_SIGNED_DOCUMENT_SIZE + 1)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise TrustStoreError(f"cannot read the trust store entry {path}: {e.strerror}", path=path) from e
        problem = "larger than a trust list may be"
        if len(data) <= MAX_SIGNED_DOCUMENT_SIZE:
            try:
                return TrustList.parse_unverified(data)
            except ProvenanceError as e:
                problem = e.message
        raise TrustStoreError(
            f"the trust store entry {path} is damaged ({problem}): remove it and verify again from the "
            "authority's pinned keys",
            code="E_TRUST_STORE_DAMAGED",
            path=path,
        )

    def _entries(self) -> Iterator[tuple[Path, TrustList]]:
        try:
            names = sorted(p.name for p in self._dir.iterdir()) if self._dir.is_dir() else []
        except OSError as e:
            raise TrustStoreError(f"cannot read the trust store {self._dir}: {e.strerror}", path=self._dir) from e
        names = [n for n in names if _ENTRY.fullmatch(n)]
        if len(names) > MAX_ENTRIES:
            raise TrustStoreError(f"the trust store {self._dir} holds more than {MAX_ENTRIES} entries", path=self._dir)
        for name in names:
            stored = self._read(self._dir / name)
            if stored is not None:
                yield self._dir / name, stored

    def _write(self, path: Path, trust: VerifiedTrustList) -> bool:
        """Replace the entry with ``trust`` unless it now holds a list at least as new; True when written."""
        try:
            self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            with _locked(self._dir):
                current = self._read(path)
                if current is not None and current.version >= trust.version:
                    return False  # another run stored this version or a newer one meanwhile
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=self._dir)
                try:
                    with os.fdopen(fd, "wb") as f:
                        f.write(trust.raw)
                        f.flush()
                        os.fsync(f.fileno())
                    Path(tmp).replace(path)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
                _fsync_directory(self._dir)
        except OSError as e:
            if isinstance(e, TrustStoreError):
                raise
            raise TrustStoreError(f"cannot write the trust store entry {path}: {e.strerror}", path=path) from e
        return True


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold the store's lock file (POSIX ``flock``) while an entry is compared and replaced."""
    if sys.platform == "win32":  # pragma: no cover - rename is still atomic; concurrent writers are not serialised
        yield
        return
    import fcntl  # noqa: PLC0415 - POSIX only

    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    if sys.platform == "win32":  # pragma: no cover
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
