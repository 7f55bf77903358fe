"""``post3 postgres migrate``, ``post3 postgres status`` and ``post3 postgres check``.

All take the backend's options like ``post3 run`` does (``-o dsn=...``, ``POST3_POSTGRES_*``,
``DATABASE_URL``). ``status`` exits 0 when the schema is current, 1 when migrations are
pending, 2 when post3 would refuse the database. ``check`` exits 0 when storage holds nothing
unreachable and no listing is stale (or ``--repair`` fixed all of it), 1 when it found some, 2
when it cannot check.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Mapping

import asyncpg
import click

from post3.backend import BackendError
from post3.config import Settings, parse_option_pairs
from post3_postgres import check
from post3_postgres.backend import PostgresBackend, redact
from post3_postgres.migrations import MigrationStatus, ensure_schema, migrate, read_status

option_flag = click.option(
    "-o", "--option", "pairs", multiple=True, metavar="KEY=VALUE",
    help="A backend option (repeatable), as for 'post3 run'.",
)


def _backend(pairs: tuple[str, ...], environ: Mapping[str, str]) -> PostgresBackend:
    try:
        given = parse_option_pairs(pairs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="-o") from None
    option_env = {o.name: o.env for o in PostgresBackend.options if o.env}
    settings = Settings.build(environ, backend="postgres", options=given, option_env=option_env)
    options = dict(settings.backend_options)
    try:
        return PostgresBackend.from_options(options)
    except BackendError as exc:
        raise click.ClickException(str(exc)) from None


async def _connect(backend: PostgresBackend) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(
            backend.dsn, timeout=backend._pool_options["timeout"],
            statement_cache_size=backend._pool_options["statement_cache_size"],
        )
    except Exception as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise click.ClickException(
            f"cannot connect to PostgreSQL at {redact(backend.dsn)}: {reason}"
        ) from None


@click.group()
def postgres() -> None:
    """Manage the PostgreSQL backend's database schema."""


@postgres.command("migrate")
@option_flag
def migrate_command(pairs: tuple[str, ...]) -> None:
    """Apply pending schema migrations (safe to run from several processes at once)."""
    backend = _backend(pairs, os.environ)

    async def run() -> list[str]:
        connection = await _connect(backend)
        try:
            return [m.label for m in await migrate(connection)]
        finally:
            await connection.close()

    try:
        applied = asyncio.run(run())
    except BackendError as exc:
        raise click.ClickException(str(exc)) from None
    for label in applied:
        click.echo(f"applied {label}")
    if not applied:
        click.echo("schema is up to date")


@postgres.command("status")
@option_flag
def status_command(pairs: tuple[str, ...]) -> None:
    """Show applied and pending migrations."""
    backend = _backend(pairs, os.environ)

    async def run() -> MigrationStatus:
        connection = await _connect(backend)
        try:
            return await read_status(connection)
        finally:
            await connection.close()

    status = asyncio.run(run())
    applied = {record.version: record for record in status.applied}
    for migration in status.known:
        record = applied.get(migration.version)
        state = "pending" if record is None else f"applied {_when(record.applied_at)}"
        click.echo(f"{migration.label}  {state}")
    for problem in status.problems:
        click.echo(f"error: {problem}", err=True)
    if status.problems:
        raise SystemExit(2)
    if status.pending:
        click.echo(f"{len(status.pending)} migration(s) pending: run 'post3 postgres migrate'")
        raise SystemExit(1)
    click.echo("schema is up to date")


@postgres.command("check")
@option_flag
@click.option("--repair", is_flag=True,
              help="Remove the orphaned versions and unreferenced blocks found, and rebuild "
                   "the stale listings.")
def check_command(pairs: tuple[str, ...], repair: bool) -> None:
    """Report storage no request can reach (orphaned versions, unreferenced blocks) and
    listings out of step with the versions they index."""
    backend = _backend(pairs, os.environ)

    async def run() -> tuple[check.Findings, tuple[int, int, int] | None,
                             check.Findings | None]:
        connection = await _connect(backend)
        try:
            await ensure_schema(connection, auto_migrate=False)
            found = await check.find(connection)
            if not repair or found.clean:
                return found, None, None
            return found, await check.repair(connection), await check.find(connection)
        finally:
            await connection.close()

    try:
        found, removed, after = asyncio.run(run())
    except BackendError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    for line in found.lines():
        click.echo(line)
    if found.clean:
        click.echo("storage is consistent")
        return
    if removed is None:
        click.echo("run 'post3 postgres check --repair' to remove them", err=True)
        raise SystemExit(1)
    click.echo(f"removed {removed[0]} orphaned version(s) and {removed[1]} unreferenced "
               f"block(s), rebuilt {removed[2]} stale listing(s)")
    if after is not None and not after.clean:
        for line in after.lines():
            click.echo(f"still: {line}", err=True)
        raise SystemExit(1)


def _when(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="seconds")
