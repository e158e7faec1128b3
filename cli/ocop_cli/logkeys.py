"""Keys of the transparency log's commands: private keys from a PEM file or a local name, note keys from PEM keys.

A log or witness key is configured as a plain Ed25519 key (a PEM file or a key in ``$OCOP_HOME/keys``); its signed
note name is then the one the matching signature line gives (the key hash binds it, docs/format.md §18.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import ocop_provenance as op
from ocop_provenance import tlog

from . import keystore
from .context import CliError, Context
from .render.words import t
from .trust import resolve_public_key

__all__ = ["load_private_key", "log_note_key", "public_keys", "witness_note_keys"]


def load_private_key(ctx: Context, spec: str, passphrase_file: Path | None, option: str) -> op.PrivateKey:
    """The private key ``spec`` names: a PKCS#8 PEM file (its passphrase asked for if sealed), else a local key.

    Raises:
        CliError: Neither (``E_NO_KEY``, exit 3).
        KeyFormatError: A malformed file, a wrong passphrase, a file others can read.
    """
    path = Path(spec)
    if path.is_file():
        try:
            return op.read_private_key(path, None)
        except op.KeyFormatError as e:
            if e.code != "E_PASSPHRASE":
                raise
            return op.read_private_key(path, keystore.read_passphrase(passphrase_file, purpose=t("key {p}", p=path)))
    if keystore.NAME_RE.fullmatch(spec) and (ctx.keys_dir / f"{spec}.key").exists():
        return keystore.load_signer(ctx, spec, passphrase_file)
    raise CliError(
        t("{option} {spec!r} is neither a private key file nor a key in {dir}", option=option, spec=spec,
          dir=ctx.keys_dir),
        code="E_NO_KEY",
    )  # fmt: skip


def public_keys(ctx: Context, specs: Sequence[str]) -> tuple[op.PublicKey, ...]:
    """The public keys named (PEM files or local key names), each once."""
    return tuple(dict.fromkeys(resolve_public_key(ctx, s) for s in specs))


def log_note_key(note: tlog.SignedNote, key: op.PublicKey) -> tlog.NoteKey:
    """The log's note key for a PEM key: named as the line whose key hash matches it (the checkpoint's origin).

    Raises:
        LogError: No signature line of that key (``E_LOG_SIGNATURE``).
    """
    found = tlog.keys_in_note(note, key, tlog.ED25519)
    if not found:
        raise tlog.LogError(t("the checkpoint carries no signature of the log key given"), code="E_LOG_SIGNATURE")
    return found[0]


def witness_note_keys(note: tlog.SignedNote, keys: Sequence[op.PublicKey]) -> tuple[tlog.NoteKey, ...]:
    """The witness note keys, named as the note's cosignature lines name them (keys without a line: none)."""
    return tuple(k for key in keys for k in tlog.keys_in_note(note, key, tlog.COSIGNATURE_V1))
