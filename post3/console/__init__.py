"""The web console at ``/_post3/console/``: buckets, objects and access keys in a browser.

A built-in plugin (``post3.plugins.DEFAULT_PLUGINS``), added through ``post3_configure_app``
like ``post3.ops``; on by default, off with ``post3 run --no-console`` or
``POST3_CONSOLE=false``. It needs authentication: a server run with ``--no-auth`` has no
keys to log in with, so it serves no console.

How it is safe: the pages are server-rendered (Jinja2, autoescaped), and every action is a
real S3 request signed with the session's key and sent to this server's own S3 endpoint
(:mod:`post3.console.s3`), so the console can do nothing the key could not do with the AWS
CLI. Sessions are stateless signed cookies (:mod:`post3.console.session`). Key management,
which has no S3 operation, is in :mod:`post3.console.keystore`, for admin keys only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import jinja2
from aiohttp import web

import post3
from post3.config import Settings
from post3.console import views
from post3.console.views import HTTP, PREFIX, TEMPLATES

STATIC_DIR = __path__[0] + "/static"


@post3.hookimpl
def post3_configure_app(app: web.Application, settings: Settings) -> None:
    if not settings.console or not settings.auth:
        return
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.PackageLoader("post3.console", "templates"),
        autoescape=jinja2.select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    app.cleanup_ctx.append(_http_client)
    views.add_routes(app.router)
    app.router.add_static(PREFIX + "static/", STATIC_DIR, name="ConsoleStatic")


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    # Loopback requests only: no proxy from the environment, no cookies of its own.
    async with aiohttp.ClientSession(trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
                                     auto_decompress=False) as http:
        app[HTTP] = http
        yield
