"""The public keys a ledger knows: recorded once, never changed (a label may be), verified when read."""

from __future__ import annotations

from .._errors import KeyFormatError, TamperError
from .._keys import PublicKey
from .._verify import KeyRing
from ._db import Connection, Database, sql, tampered

__all__ = ["KeyStore", "key_from_row"]


def key_from_row(key_id: bytes, raw: bytes) -> PublicKey:
    """Return a stored key, checked against its key id.

    Raises:
        TamperError: The key is not a valid Ed25519 key, or its thumbprint is not ``key_id`` (``E_TAMPERED``).
    """
    try:
        key = PublicKey.from_raw(raw)
    except KeyFormatError as e:
        raise TamperError(
            "a stored public key is not a valid Ed25519 key: the ledger was changed outside this library",
            code="E_TAMPERED",
            key_id=bytes(key_id).hex(),
        ) from e
    if key.key_id != key_id:
        raise TamperError(
            "a stored public key does not match its key id: the ledger was changed outside this library",
            code="E_TAMPERED",
            key_id=bytes(key_id).hex(),
        )
    return key


class KeyStore:
    """The ``keys`` table: what :meth:`~ocop_provenance.Ledger.add_key`, ``key_ring`` and ``key_labels`` do."""

    def __init__(self, db: Database) -> None:
        """Work on ``db``."""
        self._db = db

    def add_key(self, key: PublicKey, *, label: str | None) -> None:
        """Record a key (and its label, if given) in its own transaction or the open one."""
        if not isinstance(key, PublicKey):
            raise TypeError("add_key takes a PublicKey")
        with self._db.write("adding a key") as conn:
            self.add(conn, key)
            if label is not None:
                conn.execute("UPDATE keys SET label = ? WHERE key_id = ?", (label, key.key_id))

    def add(self, conn: Connection, key: PublicKey) -> None:
        """Record a key inside the current write transaction (idempotent)."""
        if key.key_id in self._db.known_keys:
            return
        conn.execute("INSERT OR IGNORE INTO keys (key_id, raw) VALUES (?, ?)", (key.key_id, key.raw))
        stored = self.key(conn, key.key_id)
        if stored != key:  # pragma: no cover - only a SHA-256 collision or tampering gets here
            raise tampered("another key is stored under this key id")
        self._db.known_keys.add(key.key_id)

    def key(self, conn: Connection, key_id: bytes) -> PublicKey | None:
        """Return the stored key with this id (verified), or None."""
        key = self._db.keys.get(key_id)
        if key is not None:
            return key
        row = conn.execute("SELECT raw FROM keys WHERE key_id = ?", (key_id,)).fetchone()
        if row is None:
            return None
        key = key_from_row(key_id, row[0])
        self._db.keys[key_id] = key
        return key

    def ring(self) -> KeyRing:
        """Return every stored key, verified."""
        with sql("reading keys"):
            rows = self._db.connection().execute("SELECT key_id, raw FROM keys ORDER BY key_id").fetchall()
        return KeyRing.of(key_from_row(k, r) for k, r in rows)

    def labels(self) -> dict[bytes, str | None]:
        """Return each stored key id with its label."""
        with sql("reading keys"):
            rows = self._db.connection().execute("SELECT key_id, label FROM keys ORDER BY key_id").fetchall()
        return {bytes(k): label for k, label in rows}
