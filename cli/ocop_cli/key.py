"""``ocop key``: make, list and export signing keys."""

from __future__ import annotations

from pathlib import Path

import click

from . import keystore
from .context import Context, OcopGroup, pass_context
from .params import json_option, passphrase_file_option
from .render import Output
from .render.keys import KeyCreated, KeyList, KeyPublic
from .render.words import t


@click.group("key", cls=OcopGroup)
def group() -> None:
    """Make, list and export signing keys (kept in $OCOP_HOME/keys)."""


@group.command("new")
@click.argument("name")
@passphrase_file_option
@click.option(
    "--insecure-unencrypted-key",
    is_flag=True,
    help="Store the private key WITHOUT a passphrase (anyone who can read the file can sign).",
)
@click.option(
    "--kdf-cost",
    type=click.IntRange(14, 17),
    default=keystore.DEFAULT_KDF_COST,
    hidden=True,
    envvar="OCOP_TEST_KDF_COST",
)
@json_option
@pass_context
def new(ctx: Context, name: str, passphrase_file: Path | None, insecure_unencrypted_key: bool, kdf_cost: int) -> None:
    """Create the signing key NAME and print its key id.

    The private key is sealed with your passphrase (scrypt) in NAME.key, readable only by you;
    NAME.pub holds the public key.
    """
    keystore.validate_name(name)
    passphrase = (
        None
        if insecure_unencrypted_key
        else keystore.read_passphrase(passphrase_file, purpose=t("the new key {name}", name=name), confirm=True)
    )
    public = keystore.create_key(ctx, name, passphrase, kdf_cost=kdf_cost)
    path = ctx.keys_dir / f"{name}.key"
    Output(ctx).emit(KeyCreated(name=name, key=public, path=path, encrypted=passphrase is not None))


@group.command("list")
@json_option
@pass_context
def list_(ctx: Context) -> None:
    """List the keys: name and key id."""
    Output(ctx).emit(KeyList(keys_dir=ctx.keys_dir, entries=keystore.list_keys(ctx)))


@group.command("export")
@click.argument("name")
@json_option
@pass_context
def export(ctx: Context, name: str) -> None:
    """Print the public key NAME as PEM (SubjectPublicKeyInfo), to give to auditors."""
    Output(ctx).emit(KeyPublic(name=name, key=keystore.public_key(ctx, name)))
