"""The key directory (``$OCOP_HOME/keys``) and passphrases.

Each key NAME is two files: ``NAME.key``, the private key sealed with scrypt and ChaCha20-Poly1305 (mode 0600,
written by the library's ``write_private_key``), and ``NAME.pub``, its public key as PEM SubjectPublicKeyInfo, so
that listing and exporting keys never needs the passphrase. When a private key is loaded, its public half must match
``NAME.pub``.

Passphrases never come from the command line: ``--passphrase-file``, then ``OCOP_PASSPHRASE``, then a hidden
prompt when standard input is a terminal. Text passphrases are NFC-normalised and encoded as UTF-8, so a Vietnamese
passphrase typed on any system opens the same key.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import click
import ocop_provenance as op

from .context import CliError, Context, ExitCode
from .files import write_file
from .render.words import t

__all__ = [
    "DEFAULT_KDF_COST",
    "KeyEntry",
    "create_key",
    "key_names",
    "list_keys",
    "load_signer",
    "public_key",
    "read_passphrase",
    "validate_name",
]

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
DEFAULT_KDF_COST = 15
MAX_PASSPHRASE_FILE = 4096
PASSPHRASE_ENV = "OCOP_PASSPHRASE"  # noqa: S105 - the variable name, not a secret


def validate_name(name: str) -> str:
    """Return ``name`` if it is a valid key name (1-32 of a-z, 0-9, ``-``, ``_``; starting with a letter or digit).

    Raises:
        click.BadParameter: Not a valid name (a usage error).
    """
    if not NAME_RE.fullmatch(name):
        raise click.BadParameter(
            t("{name} is not a valid key name: use 1-32 lowercase letters, digits, '-' or '_'", name=repr(name)),
            param_hint="NAME",
        )
    return name


def _normalise(text: str) -> bytes:
    # Under a non-UTF-8 locale the environment and the terminal arrive decoded with the wrong codec: recover the
    # bytes and read them as UTF-8 when they are (the same recovery as for command-line text).
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = os.fsencode(text).decode("utf-8")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise CliError(t("the passphrase is not valid UTF-8 text"), code="E_PASSPHRASE")
    return unicodedata.normalize("NFC", text).encode("utf-8")


def interactive() -> bool:
    """True when standard input is a terminal, so a hidden prompt can be shown."""
    return sys.stdin is not None and sys.stdin.isatty()


def read_passphrase(passphrase_file: Path | None, *, purpose: str, confirm: bool = False) -> bytes:
    """Return the passphrase from ``--passphrase-file``, ``OCOP_PASSPHRASE`` or a hidden prompt, in that order.

    Args:
        passphrase_file: The file named by ``--passphrase-file`` (its first line is the passphrase), or None.
        purpose: What the prompt asks for (``"key coop"``).
        confirm: Ask twice (when creating a key).

    Raises:
        CliError: No source is available (stdin is not a terminal), the file is unreadable, or the passphrase is
            empty (exit 3, ``E_PASSPHRASE``).
    """
    if passphrase_file is not None:
        try:
            with passphrase_file.open("rb") as f:
                raw = f.read(MAX_PASSPHRASE_FILE + 1)
        except OSError as e:
            raise CliError(
                t(
                    "cannot read the passphrase file {passphrase_file}: {reason}",
                    passphrase_file=passphrase_file,
                    reason=e.strerror,
                ),
                code="E_PASSPHRASE",
            ) from e
        if len(raw) > MAX_PASSPHRASE_FILE:
            raise CliError(t("the passphrase file is too large"), code="E_PASSPHRASE")
        line = raw.split(b"\n", 1)[0].removesuffix(b"\r")
        try:
            secret = _normalise(line.decode("utf-8"))
        except UnicodeDecodeError:
            secret = line  # not UTF-8: use the bytes exactly as written
    elif PASSPHRASE_ENV in os.environ:
        secret = _normalise(os.environ[PASSPHRASE_ENV])
    elif interactive():
        text = click.prompt(
            t("Passphrase for {purpose}", purpose=purpose),
            hide_input=True,
            confirmation_prompt=t("Repeat the passphrase") if confirm else False,
            err=True,
        )
        secret = _normalise(text)
    else:
        raise CliError(
            t(
                "a passphrase is needed for {purpose}: set OCOP_PASSPHRASE, use --passphrase-file, "
                "or run in a terminal to be asked",
                purpose=purpose,
            ),
            code="E_PASSPHRASE",
        )
    if not secret:
        raise CliError(t("the passphrase must not be empty"), code="E_PASSPHRASE")
    return secret


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyEntry:
    """A key in the key directory."""

    name: str
    path: Path
    public: op.PublicKey | None
    encrypted: bool


def _paths(ctx: Context, name: str) -> tuple[Path, Path]:
    validate_name(name)
    return ctx.keys_dir / f"{name}.key", ctx.keys_dir / f"{name}.pub"


def create_key(
    ctx: Context,
    name: str,
    passphrase: bytes | None,
    *,
    kdf_cost: int = DEFAULT_KDF_COST,
) -> op.PublicKey:
    """Generate a key and store it as ``NAME.key`` (0600) and ``NAME.pub``.

    Args:
        ctx: The CLI context.
        name: A valid key name.
        passphrase: Seal the key with it; None writes an unencrypted PKCS#8 file (the caller has the user's
            explicit consent).
        kdf_cost: scrypt cost (log2 N).

    Raises:
        CliError: A key of that name exists (exit 3, ``E_KEY_EXISTS``).
        OSError: The files cannot be written.
    """
    key_path, pub_path = _paths(ctx, name)
    ctx.keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if key_path.exists() or pub_path.exists():
        raise CliError(
            t("a key named {name} already exists in {keys_dir}", name=name, keys_dir=ctx.keys_dir), code="E_KEY_EXISTS"
        )
    key = op.PrivateKey.generate()
    try:
        op.write_private_key(key_path, key, passphrase, insecure_plaintext=passphrase is None, kdf_log2_n=kdf_cost)
    except FileExistsError as e:
        raise CliError(
            t("a key named {name} already exists in {keys_dir}", name=name, keys_dir=ctx.keys_dir), code="E_KEY_EXISTS"
        ) from e
    try:
        write_file(pub_path, key.public_key.to_pem())
    except OSError:
        key_path.unlink(missing_ok=True)
        raise
    return key.public_key


def public_key(ctx: Context, name: str) -> op.PublicKey:
    """Return the public key of key ``name`` (from ``NAME.pub``; no passphrase needed).

    Raises:
        CliError: No such key (exit 3, ``E_NO_KEY``).
        KeyFormatError: ``NAME.pub`` is not a valid Ed25519 public key.
    """
    key_path, pub_path = _paths(ctx, name)
    try:
        data = pub_path.read_bytes()
    except FileNotFoundError as e:
        hint = "" if key_path.exists() else t(" (create it with: ocop key new {name})", name=name)
        raise CliError(
            t("no public key named {name} in {keys_dir}{hint}", name=name, keys_dir=ctx.keys_dir, hint=hint),
            code="E_NO_KEY",
        ) from e
    return op.PublicKey.from_pem(data)


def load_signer(ctx: Context, name: str, passphrase_file: Path | None) -> op.PrivateKey:
    """Open private key ``name``, asking for the passphrase only if the key is sealed.

    Raises:
        CliError: No such key (``E_NO_KEY``), no passphrase available, or the key does not match ``NAME.pub``.
        KeyFormatError: Wrong passphrase (``E_PASSPHRASE``), key file readable by others (``E_KEY_PERMS``), or a
            malformed file.
    """
    key_path, _ = _paths(ctx, name)
    if not key_path.exists():
        raise CliError(
            t(
                "no key named {name} in {keys_dir} (create it with: ocop key new {name})",
                name=name,
                keys_dir=ctx.keys_dir,
            ),
            code="E_NO_KEY",
        )
    try:
        key = op.read_private_key(key_path, None)
    except op.KeyFormatError as e:
        if e.code != "E_PASSPHRASE":
            raise
        key = op.read_private_key(key_path, read_passphrase(passphrase_file, purpose=t("key {name}", name=name)))
    expected = public_key(ctx, name)
    if expected != key.public_key:
        raise CliError(
            t("{name}.key and {name}.pub hold different keys: the key directory was changed by hand", name=name),
            code="E_KEY_MISMATCH",
            exit_code=ExitCode.BAD_INPUT,
        )
    return key


def list_keys(ctx: Context) -> list[KeyEntry]:
    """Return every key in the key directory, sorted by name (malformed public halves show as None)."""
    if not ctx.keys_dir.is_dir():
        return []
    entries = []
    for path in sorted(ctx.keys_dir.glob("*.key")):
        name = path.stem
        if not NAME_RE.fullmatch(name):
            continue
        try:
            pub: op.PublicKey | None = public_key(ctx, name)
        except (CliError, op.KeyFormatError, OSError):
            pub = None
        try:
            with path.open("rb") as f:
                head = f.read(64)
        except OSError:
            head = b""
        entries.append(
            KeyEntry(name=name, path=path, public=pub, encrypted=not head.startswith(b"-----BEGIN PRIVATE KEY-----"))
        )
    return entries


def key_names(ctx: Context) -> dict[bytes, str]:
    """Map key id to local key name, for showing who signed what."""
    return {e.public.key_id: e.name for e in list_keys(ctx) if e.public is not None}
