"""The hook specifications: few, synchronous, called once at start-up.

pluggy has no async hooks (and an async ``firstresult`` hook would always "win"), so hooks
return plain values or register objects whose methods are async. Nothing on the request path
goes through ``pm.hook``. Built-in backends register through these same hooks.

A plugin is a module (or object) with functions marked ``@post3.hookimpl``, registered as an
entry point in the ``post3`` group::

    [project.entry-points.post3]
    mybackend = "post3_mybackend"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click
    from aiohttp import web

    from post3.backend import Backend
    from post3.config import Settings
    from post3.credentials import CredentialsProvider, KeyStore
    from post3.registry import BackendRegistry

hookspec = pluggy.HookspecMarker("post3")


@hookspec
def post3_register_backends(registry: BackendRegistry) -> None:
    """Add storage backends: ``registry.add(MyBackend)``.

    Called when the plugin manager is built. ``MyBackend`` subclasses ``post3.backend.Backend``
    and sets ``name`` (what ``post3 run --backend NAME`` selects) and ``options``. Registering a
    name twice is an error naming both plugins.
    """


@hookspec
def post3_register_commands(cli: click.Group) -> None:
    """Add commands to the ``post3`` command line: ``cli.add_command(my_group)``.

    Called once when the CLI starts, before arguments are parsed (the postgres plugin adds
    ``post3 postgres migrate|status`` this way).
    """


@hookspec
def post3_configure_app(app: web.Application, settings: Settings) -> None:
    """Adjust the aiohttp application before it serves: add routes, middlewares,
    ``cleanup_ctx`` entries, signals.

    Routes must live under ``/_post3/`` (``post3.names.RESERVED_PREFIX``), e.g.
    ``/_post3/myplugin/status``. Every other path belongs to S3: a route at ``/status`` would
    shadow the bucket ``status``. An underscore is never valid in a bucket name, so nothing
    under ``/_post3/`` can shadow one; ``create_app`` refuses to start (it raises
    ``post3.app.RouteOutsideReservedPrefix``) if a plugin added a route anywhere else.
    post3's own endpoints follow the same rule (``/_post3/health/live``,
    ``/_post3/health/ready``, ``/_post3/metrics``; the web console at
    ``/_post3/console/``).

    Called once by ``create_app`` after post3's middlewares are in place, before the S3
    catch-all route is added.
    """


@hookspec(firstresult=True)
def post3_key_store(backend: Backend) -> KeyStore | None:
    """The :class:`post3.credentials.KeyStore` that keeps access keys beside ``backend``'s
    data, or None when ``backend`` is not yours (check its class, never its name).

    Access keys are not part of the storage contract: a storage plugin that can keep them
    answers here for its own backend (the memory, filesystem and PostgreSQL backends do), and
    ``post3 keys``, the first-start admin key and post3's own credentials provider use it.
    Return the same store for the same backend instance each time. Called by ``create_app``
    and by ``post3 keys``, never per request.
    """


@hookspec(firstresult=True)
def post3_credentials_provider(
    settings: Settings, backend: Backend, key_store: KeyStore | None
) -> CredentialsProvider | None:
    """Choose where access keys come from: return an object with
    ``async def lookup(access_key_id) -> post3.credentials.AccessKey | None``, or None to
    leave the choice to other plugins. ``key_store`` is what ``post3_key_store`` answered.

    The first non-None answer wins; post3's own provider (the root key from
    ``POST3_ACCESS_KEY`` / ``POST3_SECRET_KEY``, then the keys of ``key_store``) answers last,
    so a plugin that brings its own key store (LDAP, Vault, a file) takes precedence simply by
    being installed. Called once by ``create_app``.
    """
