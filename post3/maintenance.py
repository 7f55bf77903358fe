"""``post3 gc``: abort multipart uploads abandoned for longer than a given age.

S3 keeps incomplete uploads (and bills their parts) until a lifecycle rule aborts them; post3
has no lifecycle rules, so an operator runs this from cron or a systemd timer instead.
It is a built-in plugin: it adds its command through ``post3_register_commands``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re

import click

import post3
from post3.backend import Backend, BackendError, UploadCursor, utcnow

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``30m``, ``12h``, ``7d``, ``2w``."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30m, 12h or 7d")
    return dt.timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


async def abort_stale_uploads(backend: Backend, older_than: dt.timedelta,
                              dry_run: bool = False) -> list[tuple[str, str, str]]:
    """Abort every pending upload initiated before now - ``older_than``; returns
    ``(bucket, key, upload_id)`` for each one aborted (or that would be, with ``dry_run``)."""
    cutoff = utcnow() - older_than
    stale: list[tuple[str, str, str]] = []
    for bucket in await backend.list_buckets():
        cursor: UploadCursor | None = None
        while True:
            page = await backend.list_multipart_uploads_page(bucket.name, after=cursor,
                                                             limit=1000)
            stale.extend((bucket.name, u.key, u.upload_id) for u in page if u.initiated < cutoff)
            if len(page) < 1000:
                break
            cursor = UploadCursor.after(page[-1])
    if not dry_run:
        for bucket_name, key, upload_id in stale:
            await backend.abort_multipart_upload(bucket_name, key, upload_id)
    return stale


@click.command("gc")
@click.option("--older-than", "older_than", required=True, metavar="DURATION",
              help="Abort uploads initiated longer ago than this (30m, 12h, 7d).")
@click.option("--dry-run", is_flag=True, help="List what would be aborted; change nothing.")
@click.option("--backend", "-b", default=None, help="Storage backend [env POST3_BACKEND].")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
              help="A backend option, as for `post3 run`.")
@click.pass_context
def gc_command(ctx: click.Context, older_than: str, dry_run: bool, backend: str | None,
               options: tuple[str, ...]) -> None:
    """Abort multipart uploads abandoned for longer than DURATION."""
    from post3.cli import build_settings, plugin_manager

    try:
        age = parse_duration(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    try:
        settings, backend_cls = build_settings(os.environ, plugin_manager(ctx), backend=backend,
                                               options=options)
        instance = backend_cls.from_options(settings.backend_options)
        stale = asyncio.run(_run(instance, age, dry_run))
    except BackendError as exc:
        raise click.ClickException(str(exc)) from None
    verb = "would abort" if dry_run else "aborted"
    for bucket, key, upload_id in stale:
        click.echo(f"{verb} {bucket}/{key} upload {upload_id}")
    click.echo(f"{verb} {len(stale)} upload(s) older than {older_than}")


async def _run(backend: Backend, age: dt.timedelta, dry_run: bool) -> list[tuple[str, str, str]]:
    await backend.open()
    try:
        return await abort_stale_uploads(backend, age, dry_run)
    finally:
        await backend.close()


@post3.hookimpl
def post3_register_commands(cli: click.Group) -> None:
    cli.add_command(gc_command)
