"""``post3 kms``: the master keys of post3's key service, in the key file (POST3_KEY_FILE).

The file holds key material: it is written readable by its owner only, and it must be backed
up apart from the storage, since losing it loses every object encrypted under its keys.
"""

from __future__ import annotations

import asyncio
import os

import click

from post3 import errors
from post3.backend import Backend, BackendError, Unsupported
from post3.encryption.keyring import (
    KeyFileError,
    KeyRing,
    create_key,
    read_key_file,
    rotate_key,
)
from post3.encryption.rewrap import RewrapReport, rewrap_pass


def _path(key_file: str | None) -> str:
    path = key_file or os.environ.get("POST3_KEY_FILE")
    if not path:
        raise click.UsageError("name the key file with --key-file or POST3_KEY_FILE")
    return path


_key_file = click.option("--key-file", default=None, metavar="PATH",
                         help="The key file [env POST3_KEY_FILE].")


@click.group()
def kms() -> None:
    """Manage the master keys of SSE-S3 and SSE-KMS (the key file)."""


@kms.command("create")
@click.argument("key_id", default="default")
@_key_file
def create(key_id: str, key_file: str | None) -> None:
    """Create a key (KEY_ID 'default' serves SSE-S3 and aws:kms without a key id)."""
    try:
        create_key(_path(key_file), key_id)
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {key_id}")


@kms.command("list")
@_key_file
def list_keys(key_file: str | None) -> None:
    """List the keys: id, versions, creation time."""
    try:
        keys = read_key_file(_path(key_file))
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from exc
    for key in sorted(keys.values(), key=lambda k: k.key_id):
        click.echo(f"{key.key_id}\tversions={len(key.versions)}\tcreated={key.created}")


@kms.command("rotate")
@click.argument("key_id", default="default")
@_key_file
def rotate(key_id: str, key_file: str | None) -> None:
    """Add a new version of a key: new objects use it; existing objects keep reading with
    the version they were written under (no object is rewritten)."""
    try:
        key = rotate_key(_path(key_file), key_id)
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"rotated {key_id}: version {len(key.versions)}")


@kms.command("rewrap")
@click.option("--backend", "-b", default=None, help="Storage backend [env POST3_BACKEND].")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
              help="A backend option, as for `post3 run`.")
@click.pass_context
def rewrap(ctx: click.Context, backend: str | None, options: tuple[str, ...]) -> None:
    """Re-wrap every SSE-S3 / SSE-KMS object's data key under its master key's latest version
    (after rotate), without rewriting any object's bytes. Uses POST3_KEY_FILE /
    POST3_MASTER_KEY like `post3 run`; safe beside a running server."""
    from post3.cli import build_settings, plugin_manager

    try:
        settings, backend_cls = build_settings(os.environ, plugin_manager(ctx),
                                               backend=backend, options=options)
        keyring = KeyRing.load(settings.key_file, settings.master_key)
        instance = backend_cls.from_options(settings.backend_options)
        report = asyncio.run(_rewrap(instance, keyring))
    except (BackendError, KeyFileError, errors.S3Error) as exc:
        raise click.ClickException(str(exc)) from None
    except Unsupported as exc:
        raise click.ClickException(f"the backend cannot replace attributes: {exc}") from None
    click.echo(f"re-wrapped {report.rewrapped} of {report.versions} version(s)")


async def _rewrap(backend: Backend, keyring: KeyRing) -> RewrapReport:
    await backend.open()
    try:
        return await rewrap_pass(backend, keyring)
    finally:
        await backend.close()
