"""The ``post3`` command line: run, backends, plugins, version, and commands plugins add."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Mapping

import click
import pluggy
from aiohttp import web

from post3 import __version__
from post3.backend import Backend, BackendError
from post3.config import (
    HEADER_TIMEOUT,
    IDLE_TIMEOUT,
    MAX_CONNECTIONS,
    Settings,
    disabled_plugins,
    parse_option_pairs,
)
from post3.credentials import bootstrap_admin_key, first_key_message, is_loopback
from post3.encryption.cli import kms
from post3.encryption.keyring import KeyFileError, KeyRing
from post3.ops import workers
from post3.ops.connections import (
    Limits,
    Post3Runner,
    connection_cap,
    quiet_accept_errors,
    raise_open_file_limit,
)
from post3.ops.draining import graceful_stop
from post3.ops.health import METRICS
from post3.ops.logs import LOG_FORMATS, configure_logging
from post3.plugins import backend_registry, get_plugin_manager

log = logging.getLogger("post3")


def build_settings(
    environ: Mapping[str, str], pm: pluggy.PluginManager, *, backend: str | None = None,
    host: str | None = None, port: int | None = None, options: tuple[str, ...] = (),
    domains: tuple[str, ...] = (),
    **limits: float | int | None,
) -> tuple[Settings, type[Backend]]:
    """Settings for a command that works on a backend (``run``, and plugin commands).
    ``limits``: ``header_timeout``, ``idle_timeout``, ``max_connections`` from ``run``'s flags."""
    try:
        pairs = parse_option_pairs(options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    registry = backend_registry(pm)
    name = backend or environ.get("POST3_BACKEND") or Settings().backend
    backend_cls = registry.get(name)
    option_env = {o.name: o.env for o in backend_cls.options if o.env}
    try:
        settings = Settings.build(environ, backend=name, host=host, port=port, options=pairs,
                                  option_env=option_env, domains=domains,
                                  **limits)  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
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
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, envvar="POST3_WORKERS",
              show_default=True, help="Processes serving the same port [env POST3_WORKERS].")
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default="text",
              envvar="POST3_LOG_FORMAT", show_default=True,
              help="Logs and access log as text (logfmt) or JSON lines [env POST3_LOG_FORMAT].")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", envvar="POST3_LOG_LEVEL", show_default=True,
              help="The least severe log records written; debug says why each request was "
                   "allowed or refused [env POST3_LOG_LEVEL].")
@click.option("--shutdown-timeout", type=click.FloatRange(min=0), default=60.0,
              envvar="POST3_SHUTDOWN_TIMEOUT", show_default=True,
              help="Seconds in-flight requests get to finish after SIGTERM "
                   "[env POST3_SHUTDOWN_TIMEOUT].")
@click.option("--domain", "domains", multiple=True, metavar="DOMAIN",
              help="Serve virtual-hosted-style requests: Host <bucket>.DOMAIN addresses the "
                   "bucket (repeatable; path style keeps working) [env POST3_DOMAINS=a,b].")
@click.option("--no-auth", is_flag=True, envvar="POST3_NO_AUTH",
              help="Serve unauthenticated requests (local tests only: loopback addresses only) "
                   "[env POST3_NO_AUTH].")
@click.option("--no-console", is_flag=True,
              help="Serve no web console at /_post3/console/ [env POST3_CONSOLE=false].")
@click.option("--header-timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS",
              help="Time a client has to send a request head, from its first byte to its end "
                   f"[env POST3_HEADER_TIMEOUT; default {HEADER_TIMEOUT:g}].")
@click.option("--idle-timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS",
              help="Close a connection that waits this long for a request (a new one, or "
                   "keep-alive between requests) "
                   f"[env POST3_IDLE_TIMEOUT; default {IDLE_TIMEOUT:g}].")
@click.option("--max-connections", type=click.IntRange(min=1), default=None, metavar="N",
              help="Concurrent connections per process, lowered to fit the open-file limit; "
                   "at the cap the oldest connection without a request in progress is closed "
                   f"[env POST3_MAX_CONNECTIONS; default {MAX_CONNECTIONS}].")
@click.pass_context
def run(ctx: click.Context, backend: str | None, host: str | None, port: int | None,
        options: tuple[str, ...], workers: int, log_format: str, log_level: str,
        shutdown_timeout: float, domains: tuple[str, ...], no_auth: bool, no_console: bool,
        header_timeout: float | None, idle_timeout: float | None,
        max_connections: int | None) -> None:
    """Serve S3 over HTTP.

    On SIGTERM or SIGINT post3 stops accepting connections, lets the requests in flight finish
    (up to --shutdown-timeout), closes the backend and exits 0.

    At start post3 raises its soft open-file limit to the hard limit (raise the hard limit,
    e.g. LimitNOFILE=, to serve more connections).
    """
    pm = plugin_manager(ctx)
    configure_logging(log_format, logging.getLevelNamesMapping()[log_level.upper()])
    try:
        settings, backend_cls = build_settings(
            os.environ, pm, backend=backend, host=host, port=port, options=options,
            domains=domains, header_timeout=header_timeout, idle_timeout=idle_timeout,
            max_connections=max_connections)
        check_master_keys(settings)
        raise_open_file_limit()  # before forking: workers inherit it
        if no_auth:
            if not is_loopback(settings.host):
                raise click.ClickException(
                    f"--no-auth lets anyone in, so it serves loopback addresses only, not "
                    f"{settings.host}")
            settings = settings.replace(auth=False)
        if no_console:
            settings = settings.replace(console=False)
        instance = backend_cls.from_options(settings.backend_options)
        if workers == 1:
            asyncio.run(serve(settings, instance, pm, shutdown_timeout=shutdown_timeout))
        else:
            sys.exit(serve_workers(settings, backend_cls, pm, workers, shutdown_timeout))
    except BackendError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        pass


def check_master_keys(settings: Settings) -> None:
    """A key file or master key that cannot be used stops the start with one line."""
    try:
        KeyRing.load(settings.key_file, settings.master_key)
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from None


def announce(settings: Settings, port: int) -> None:
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    click.echo(f"post3 serving http://{host}:{port} (backend: {settings.backend})")
    click.echo(styles_line(settings, port))
    sys.stdout.flush()


def styles_line(settings: Settings, port: int) -> str:
    """The second startup line: which addressing styles are served."""
    if not settings.domains:
        return ("addressing: path style only (http://HOST/BUCKET/KEY); start with --domain D "
                "for virtual-hosted style")
    hosts = ", ".join(f"http://BUCKET.{domain}:{port}/KEY" for domain in settings.domains)
    return f"addressing: path style, and virtual-hosted style at {hosts}"


async def serve(settings: Settings, backend: Backend, pm: pluggy.PluginManager, *,
                sock: socket.socket | None = None, ready: Callable[[], None] | None = None,
                shutdown_timeout: float = 60.0, metrics_dir: str | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight and return.

    ``sock``: an already listening socket (a worker of ``--workers N``), else bind
    ``settings.host:port``. ``ready`` is called once serving; by default it prints the
    "serving" line.
    """
    from post3.app import RUNNER_OPTIONS, create_app

    app = create_app(settings, backend=backend, pm=pm)
    if metrics_dir is not None and METRICS in app:
        app[METRICS].share(metrics_dir)
    loop = asyncio.get_running_loop()
    quiet_accept_errors(loop)
    cap = connection_cap(settings.max_connections, raise_open_file_limit())
    if cap < settings.max_connections:
        log.info("at most %d concurrent connections (not %d): the open-file limit is %d",
                 cap, settings.max_connections,
                 resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    limits = Limits(settings.header_timeout, settings.idle_timeout, cap)
    runner = Post3Runner(app, limits, access_log=None, handle_signals=False,
                         shutdown_timeout=shutdown_timeout, **RUNNER_OPTIONS)
    # Signal handlers go in before the "serving" line: whoever reads it may stop us at once.
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runner.setup()
    try:
        site: web.BaseSite
        if sock is not None:
            site = web.SockSite(runner, sock)
        else:
            site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            raise BackendError(
                f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
            ) from None
        first_key = None if sock is not None else await bootstrap_admin_key(settings, backend)
        if ready is not None:
            ready()
        else:
            announce(settings, runner.addresses[0][1])
        if first_key is not None:
            endpoint = f"http://{settings.host}:{runner.addresses[0][1]}"
            click.echo(first_key_message(first_key, endpoint))
        await stop.wait()
    finally:
        await graceful_stop(runner, shutdown_timeout)


def serve_workers(settings: Settings, backend_cls: type[Backend], pm: pluggy.PluginManager,
                  count: int, shutdown_timeout: float) -> int:
    """``--workers N``: N processes on one socket; returns the exit status."""
    if backend_cls.capabilities.single_process:
        # Each process would hold its own, different, store.
        raise click.UsageError(
            f"the {backend_cls.name} backend lives in one process: use --workers 1")
    try:
        sock = workers.bind(settings.host, settings.port)
    except OSError as exc:
        raise BackendError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
        ) from None
    port = sock.getsockname()[1]
    first_key = asyncio.run(_bootstrap_once(settings, backend_cls))

    def announce_all() -> None:
        announce(settings, port)
        if first_key is not None:
            click.echo(first_key_message(first_key, f"http://{settings.host}:{port}"))

    def worker(sock: socket.socket, ready: Callable[[], None]) -> None:
        try:
            backend = backend_cls.from_options(settings.backend_options)
            asyncio.run(serve(settings, backend, pm, sock=sock, ready=ready,
                              shutdown_timeout=shutdown_timeout, metrics_dir=metrics_dir))
        except BackendError as exc:
            click.echo(f"Error: {exc}", err=True)
            raise SystemExit(1) from None

    with tempfile.TemporaryDirectory(prefix="post3-metrics-") as metrics_dir:
        return workers.run_workers(count, sock, worker, announce_all)


async def _bootstrap_once(settings: Settings, backend_cls: type[Backend]):  # type: ignore[no-untyped-def]
    """``--workers N``: the parent creates the first admin key, so N workers cannot race."""
    backend = backend_cls.from_options(settings.backend_options)
    await backend.open()
    try:
        return await bootstrap_admin_key(settings, backend)
    finally:
        await backend.close()


@cli.command()
@click.pass_context
def backends(ctx: click.Context) -> None:
    """List installed backends and the options each declares."""
    registry = backend_registry(plugin_manager(ctx))
    for name in registry.names():
        backend_cls = registry.get(name)
        click.echo(f"{name}  ({backend_cls.__module__})")
        declared = backend_cls.capabilities.names()
        click.echo(f"    capabilities: {', '.join(declared) if declared else 'none'}")
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


cli.add_command(kms)


def main() -> None:
    pm = get_plugin_manager(disabled=disabled_plugins(os.environ))
    pm.hook.post3_register_commands(cli=cli)
    cli(obj={"pm": pm})


if __name__ == "__main__":
    main()
