"""``post3 keys``: create, list, show, allow, deny and delete access keys.

The keys live beside the backend's data (in the key store its plugin provides), so these
commands take the same backend options as ``post3 run`` and work while a server runs (it sees
changes within seconds). A secret is printed once, by ``create``, and never again.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

import post3
from post3.backend import Backend, BackendError
from post3.credentials import AccessKey, KeyStore, key_store_for, new_access_key, parse_grant
from post3.principals import check_user_name

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _grant(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]):  # type: ignore[no-untyped-def]
    try:
        return [parse_grant(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def backend_options(function: F) -> F:
    """``--backend`` and ``--option``, as ``post3 run`` takes them."""
    function = click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
                            help="A backend option, as for `post3 run`.")(function)
    return click.option("--backend", "-b", default=None,
                        help="Storage backend [env POST3_BACKEND].")(function)


def with_backend(ctx: click.Context, backend: str | None, options: tuple[str, ...],
                 work: Callable[[Backend], Awaitable[T]]) -> T:
    from post3.cli import build_settings, plugin_manager

    async def run(instance: Backend) -> T:
        await instance.open()
        try:
            return await work(instance)
        finally:
            await instance.close()

    try:
        settings, backend_cls = build_settings(os.environ, plugin_manager(ctx), backend=backend,
                                               options=options)
        return asyncio.run(run(backend_cls.from_options(settings.backend_options)))
    except BackendError as exc:
        raise click.ClickException(str(exc)) from None


def with_key_store(ctx: click.Context, backend: str | None, options: tuple[str, ...],
                   work: Callable[[KeyStore], Awaitable[T]]) -> T:
    """Run ``work`` with the key store the plugins provide for the opened backend
    (``post3_key_store``); a backend without one is a usage error."""
    from post3.cli import plugin_manager

    pm = plugin_manager(ctx)

    async def on_store(instance: Backend) -> T:
        store = key_store_for(instance, pm)
        if store is None:
            raise click.ClickException(f"the {instance.name} backend does not store access keys")
        return await work(store)

    return with_backend(ctx, backend, options, on_store)


def describe(key: AccessKey) -> str:
    if key.admin:
        access = "admin"
    else:
        access = ", ".join(f"{b}:{p}" for b, p in sorted(key.grants.items())) or "no grants"
    name = f" ({key.name})" if key.name else ""
    return (f"{key.access_key_id}{name}  user {key.principal.user}  {access}  "
            f"created {key.created:%Y-%m-%d %H:%M:%S}Z")


async def _get(store: KeyStore, key_id: str) -> AccessKey:
    key = await store.get_access_key(key_id)
    if key is None:
        raise click.ClickException(f"no access key {key_id!r}")
    return key


@click.group("keys")
def keys_group() -> None:
    """Manage access keys (stored by the backend)."""


@keys_group.command("create")
@click.option("--name", default="", help="A label for people.")
@click.option("--user", default="", metavar="NAME",
              help="The user the key belongs to: keys of one user share its canonical id and "
                   "own what it owns (default: a user of its own, named after the key).")
@click.option("--admin", is_flag=True, help="May do everything, on every bucket.")
@click.option("--allow", "grants", multiple=True, callback=_grant, metavar="BUCKET:PERM",
              help="Grant read, write or owner on a bucket (repeatable).")
@backend_options
@click.pass_context
def create(ctx: click.Context, name: str, user: str, admin: bool,
           grants: list[tuple[str, str]], backend: str | None, options: tuple[str, ...]) -> None:
    """Create a key and print its secret (shown this once only)."""
    if user:
        try:
            check_user_name(user)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--user") from None
    key = new_access_key(name, admin, dict(grants), user)

    async def work(store: KeyStore) -> None:
        await store.put_access_key(key)

    with_key_store(ctx, backend, options, work)
    click.echo(f"Access key ID:     {key.access_key_id}")
    click.echo(f"Secret access key: {key.secret_access_key}")
    click.echo(describe(key))
    click.echo("The secret is shown only now; store it safely.", err=True)


@keys_group.command("list")
@backend_options
@click.pass_context
def list_keys(ctx: click.Context, backend: str | None, options: tuple[str, ...]) -> None:
    """List keys (never their secrets)."""
    for key in with_key_store(ctx, backend, options, lambda b: b.list_access_keys()):
        click.echo(describe(key))


@keys_group.command("show")
@click.argument("key_id")
@backend_options
@click.pass_context
def show(ctx: click.Context, key_id: str, backend: str | None, options: tuple[str, ...]) -> None:
    """Show one key (never its secret)."""
    click.echo(describe(with_key_store(ctx, backend, options, lambda b: _get(b, key_id))))


def _change_grant(ctx: click.Context, key_id: str, grant: str, allow: bool,
                  backend: str | None, options: tuple[str, ...]) -> None:
    try:
        bucket, permission = parse_grant(grant)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="BUCKET:PERM") from None

    async def work(store: KeyStore) -> AccessKey:
        key = await _get(store, key_id)
        if allow:
            key = key.with_grant(bucket, permission)
        elif key.grants.get(bucket) == permission:
            key = key.with_grant(bucket, None)
        await store.put_access_key(key)
        return key

    click.echo(describe(with_key_store(ctx, backend, options, work)))


@keys_group.command("allow")
@click.argument("key_id")
@click.argument("grant", metavar="BUCKET:PERM")
@backend_options
@click.pass_context
def allow(ctx: click.Context, key_id: str, grant: str, backend: str | None,
          options: tuple[str, ...]) -> None:
    """Grant read, write or owner on a bucket (replacing the key's grant on it)."""
    _change_grant(ctx, key_id, grant, True, backend, options)


@keys_group.command("deny")
@click.argument("key_id")
@click.argument("grant", metavar="BUCKET:PERM")
@backend_options
@click.pass_context
def deny(ctx: click.Context, key_id: str, grant: str, backend: str | None,
         options: tuple[str, ...]) -> None:
    """Remove a grant."""
    _change_grant(ctx, key_id, grant, False, backend, options)


@keys_group.command("delete")
@click.argument("key_id")
@backend_options
@click.pass_context
def delete(ctx: click.Context, key_id: str, backend: str | None, options: tuple[str, ...]) -> None:
    """Delete a key: requests signed with it are refused from then on."""
    if not with_key_store(ctx, backend, options, lambda b: b.delete_access_key(key_id)):
        raise click.ClickException(f"no access key {key_id!r}")
    click.echo(f"deleted {key_id}")


@post3.hookimpl
def post3_register_commands(cli: click.Group) -> None:
    cli.add_command(keys_group)
