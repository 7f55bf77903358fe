"""The ``post3`` command line: run, backends, plugins, version, and commands plugins add."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping

import click
import pluggy
from aiohttp import web

from post3 import __version__
from post3.backend import Backend, BackendError
from post3.config import Settings, disabled_plugins, parse_option_pairs
from post3.plugins import backend_registry, get_plugin_manager


def build_settings(
    environ: Mapping[str, str], pm: pluggy.PluginManager, *, backend: str | None = None,
    host: str | None = None, port: int | None = None, options: tuple[str, ...] = (),
) -> tuple[Settings, type[Backend]]:
    """Settings for a command that works on a backend (``run``, and plugin commands)."""
    try:
        pairs = parse_option_pairs(options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    registry = backend_registry(pm)
    name = backend or environ.get("POST3_BACKEND") or Settings().backend
    backend_cls = registry.get(name)
    option_env = {o.name: o.env for o in backend_cls.options if o.env}
    settings = Settings.build(environ, backend=name, host=host, port=port, options=pairs,
                              option_env=option_env)
    return settings, backend_cls


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """post3: an S3-compatible object store whose storage backends are plugins."""
    ctx.ensure_object(dict)


def plugin_manager(ctx: click.Context) -> pluggy.PluginManager:
    pm = ctx.obj.get("pm") if ctx.obj else None
    if pm is None:
        pm = get_plugin_manager(disabled=disabled_plugins(os.environ))
    return pm


@cli.command()
@click.option("--backend", "-b", default=None,
              help="Storage backend [env POST3_BACKEND; default filesystem].")
@click.option("--host", default=None, help="Address to bind [env POST3_HOST; default 127.0.0.1].")
@click.option("--port", "-p", type=int, default=None,
              help="Port to bind, 0 for any free port [env POST3_PORT; default 9000].")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
              help="A backend option (repeatable) [env POST3_<BACKEND>_<KEY>].")
@click.pass_context
def run(ctx: click.Context, backend: str | None, host: str | None, port: int | None,
        options: tuple[str, ...]) -> None:
    """Serve S3 over HTTP."""
    pm = plugin_manager(ctx)
    try:
        settings, backend_cls = build_settings(os.environ, pm, backend=backend, host=host,
                                               port=port, options=options)
        instance = backend_cls.from_options(settings.backend_options)
        asyncio.run(serve(settings, instance, pm))
    except BackendError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        pass


async def serve(settings: Settings, backend: Backend, pm: pluggy.PluginManager) -> None:
    from post3.app import RUNNER_OPTIONS, create_app

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings, backend=backend, pm=pm)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, **RUNNER_OPTIONS)
    # Signal handlers go in before the "serving" line: whoever reads it may stop us at once.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            raise BackendError(
                f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
            ) from None
        port = runner.addresses[0][1]
        host = settings.host if ":" not in settings.host else f"[{settings.host}]"
        click.echo(f"post3 serving http://{host}:{port} (backend: {settings.backend})")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await runner.cleanup()


@cli.command()
@click.pass_context
def backends(ctx: click.Context) -> None:
    """List installed backends and the options each declares."""
    registry = backend_registry(plugin_manager(ctx))
    for name in registry.names():
        backend_cls = registry.get(name)
        click.echo(f"{name}  ({backend_cls.__module__})")
        for option in backend_cls.options:
            default = "" if option.default is None else f" [default: {option.default}]"
            env = f" [env POST3_{name.upper()}_{option.name.upper()}"
            env += f" or {option.env}]" if option.env else "]"
            click.echo(f"    -o {option.name}=...  {option.help}{default}{env}")


@cli.command()
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List loaded plugins and where they come from."""
    pm = plugin_manager(ctx)
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    for name, plugin in sorted(pm.list_name_plugin()):
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        origin = f"{dist.project_name} {dist.version}" if dist else "built-in"
        click.echo(f"{name}  ({origin})")


@cli.command()
def version() -> None:
    """Print post3's version."""
    click.echo(f"post3 {__version__}")


def main() -> None:
    pm = get_plugin_manager(disabled=disabled_plugins(os.environ))
    pm.hook.post3_register_commands(cli=cli)
    cli(obj={"pm": pm})


if __name__ == "__main__":
    main()
