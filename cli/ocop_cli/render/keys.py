"""``ocop key``: a new key, the key list, a public key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ocop_provenance as op

from ..keystore import KeyEntry
from .core import JsonDict, Result, Text, lines
from .words import t

__all__ = ["KeyCreated", "KeyList", "KeyPublic"]


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyCreated(Result):
    """``ocop key new``: the key id on stdout."""

    name: str
    key: op.PublicKey
    path: Path
    encrypted: bool

    @property
    def warnings(self) -> tuple[str, ...]:
        if self.encrypted:
            return ()
        return (
            t(
                "{path} is NOT encrypted: anyone who can read this file can sign as {name}",
                path=self.path,
                name=self.name,
            ),
        )

    def to_json(self) -> JsonDict:
        key = {"name": self.name, "key_id": self.key.key_id_hex, "path": str(self.path), "encrypted": self.encrypted}
        return {"key": key}

    def to_text(self) -> Text:
        return lines(self.key.key_id_hex, err=[t("created key {name} in {path}", name=self.name, path=self.path)])


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyPublic(Result):
    """``ocop key export``: the public key as PEM."""

    name: str
    key: op.PublicKey

    def to_json(self) -> JsonDict:
        return {"key": {"name": self.name, "key_id": self.key.key_id_hex, "pem": self.key.to_pem().decode("ascii")}}

    def to_text(self) -> Text:
        return Text(out=self.key.to_pem().decode("ascii"))


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyList(Result):
    """``ocop key list``: name, key id and whether the key is stored unencrypted."""

    keys_dir: Path
    entries: Sequence[KeyEntry]

    def to_json(self) -> JsonDict:
        return {
            "keys": [
                {
                    "name": e.name,
                    "key_id": e.public.key_id_hex if e.public else None,
                    "path": str(e.path),
                    "encrypted": e.encrypted,
                }
                for e in self.entries
            ]
        }

    def to_text(self) -> Text:
        if not self.entries:
            return Text(err=(t("no keys in {path} (create one with: ocop key new NAME)", path=self.keys_dir),))
        width = max(len(e.name) for e in self.entries)
        rows = []
        for e in self.entries:
            name = e.name.ljust(width)
            if e.public is None and e.encrypted:
                rows.append(t("{name}  (public key missing)", name=name))
            elif e.public is None:
                rows.append(t("{name}  (public key missing)  UNENCRYPTED", name=name))
            elif e.encrypted:
                rows.append(t("{name}  {key_id}", name=name, key_id=e.public.key_id_hex))
            else:
                rows.append(t("{name}  {key_id}  UNENCRYPTED", name=name, key_id=e.public.key_id_hex))
        return lines(*rows)
