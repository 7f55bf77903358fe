"""``post3 lifecycle run [--dry-run]``: one lifecycle pass by hand, beside a running server or
without one (the job lock keeps it from running at the same time as a server's pass)."""

from __future__ import annotations

import asyncio
import os

import click

import post3
from post3.backend import Backend, BackendError, Unsupported
from post3.lifecycle import job


@click.group("lifecycle")
def lifecycle_group() -> None:
    """Apply buckets' lifecycle rules."""


@lifecycle_group.command("run")
@click.option("--dry-run", is_flag=True, help="List what the pass would do; change nothing.")
@click.option("--backend", "-b", default=None, help="Storage backend [env POST3_BACKEND].")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
              help="A backend option, as for `post3 run`.")
@click.pass_context
def run_command(ctx: click.Context, dry_run: bool, backend: str | None,
                options: tuple[str, ...]) -> None:
    """Run one lifecycle pass over every bucket with rules."""
    from post3.cli import build_settings, plugin_manager

    try:
        settings, backend_cls = build_settings(os.environ, plugin_manager(ctx), backend=backend,
                                               options=options)
        instance = backend_cls.from_options(settings.backend_options)
        report = asyncio.run(_run(instance, settings.lifecycle_day_seconds,
                                  settings.lifecycle_max_versions, dry_run))
    except BackendError as exc:
        raise click.ClickException(str(exc)) from None
    except Unsupported as exc:
        raise click.ClickException(f"the backend cannot run lifecycle passes: {exc}") from None
    if report is None:
        raise click.ClickException("another lifecycle pass is running; try again later")
    for action in report.actions:
        click.echo(("would " if dry_run else "") + action)
    verb = "would remove" if dry_run else "removed"
    counts = report.by_kind()
    click.echo(f"{verb} {counts['current']} current version(s), {counts['noncurrent']} "
               f"noncurrent version(s), {counts['delete_marker']} delete marker(s), "
               f"{counts['upload']} upload(s); {report.bytes_freed} bytes freed in "
               f"{report.duration:.2f} s")
    if report.unfinished:
        click.echo("unfinished (the next pass goes on): " + ", ".join(report.unfinished))


async def _run(backend: Backend, day_seconds: float, max_versions: int,
               dry_run: bool) -> job.PassReport | None:
    await backend.open()
    try:
        return await job.run_pass(backend, day_seconds=day_seconds, max_versions=max_versions,
                                  dry_run=dry_run)
    finally:
        await backend.close()


@post3.hookimpl
def post3_register_commands(cli: click.Group) -> None:
    cli.add_command(lifecycle_group)
