"""create_app: the aiohttp application that speaks S3.

Dependencies come in as arguments (a backend instance, a plugin manager) so tests inject
them; the backend is opened and closed through ``cleanup_ctx``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pluggy
from aiohttp import hdrs, web

from post3 import errors, keys
from post3.api import cors, dispatch
from post3.api.middleware import REQUEST_ID, error_middleware, error_response
from post3.backend import Backend
from post3.config import Settings
from post3.credentials import key_store_for
from post3.encryption.keyring import KeyRing
from post3.lifecycle import job
from post3.names import RESERVED_PREFIX
from post3.ops.health import METRICS
from post3.plugins import backend_registry, get_plugin_manager

log = logging.getLogger("post3")

#: Options for the aiohttp server that runs the app (``web.AppRunner(app, **RUNNER_OPTIONS)``).
#: Bodies must reach the handlers exactly as sent: S3 stores a ``Content-Encoding: gzip`` body
#: as it is, so aiohttp must not decompress it. After a refusal (an oversized upload answered
#: instead of ``100 Continue``) the unread body is not drained for long: one second lets a
#: client that already sent some bytes read the answer, then the connection closes.
RUNNER_OPTIONS = {"auto_decompress": False, "lingering_time": 1.0}


def create_app(
    settings: Settings | None = None,
    *,
    backend: Backend | None = None,
    pm: pluggy.PluginManager | None = None,
) -> web.Application:
    """The S3 application. Without ``backend``, one is built from ``settings.backend`` and
    ``settings.backend_options`` through the plugin manager."""
    settings = settings or Settings()
    pm = pm or get_plugin_manager(disabled=settings.disabled_plugins)
    if backend is None:
        backend_cls = backend_registry(pm).get(settings.backend)
        backend = backend_cls.from_options(settings.backend_options)

    # Request bodies are streamed by handlers; the limit only guards request.read() misuse.
    app = web.Application(middlewares=[error_middleware, dispatch.bucket_hosts_middleware],
                          client_max_size=1024**2)
    app[keys.SETTINGS] = settings
    app[keys.BACKEND] = backend
    app[keys.PLUGIN_MANAGER] = pm
    app[keys.KEYRING] = KeyRing.load(settings.key_file, settings.master_key)
    app[keys.UPLOAD_SLOTS] = asyncio.Semaphore(settings.upload_slots)
    app[keys.CREDENTIALS] = pm.hook.post3_credentials_provider(
        settings=settings, backend=backend, key_store=key_store_for(backend, pm))
    app.cleanup_ctx.append(_backend_lifecycle)
    app.cleanup_ctx.append(_lifecycle_job)
    app.on_response_prepare.append(_add_request_id)
    app.on_response_prepare.append(cors.add_cors_headers)

    pm.hook.post3_configure_app(app=app, settings=settings)
    check_reserved_routes(app)
    # The S3 namespace takes every path, so it is added last: routes that plugins added
    # above win over it, which is why they must stay under the reserved prefix.
    app.router.add_route(
        hdrs.METH_ANY, "/{path:.*}", dispatch.handle_s3_request, expect_handler=expect_continue
    )
    return app


class RouteOutsideReservedPrefix(RuntimeError):
    """A plugin added a route that could shadow a bucket: post3 refuses to start."""


def check_reserved_routes(app: web.Application) -> None:
    """Every route added before the S3 namespace must live under ``/_post3/``.

    Such routes are matched before S3's, so one at ``/health`` would answer instead of the
    bucket ``health``. No valid bucket name starts with an underscore, so nothing under
    ``/_post3/`` can shadow one.
    """
    for resource in app.router.resources():
        path = resource.canonical
        if not path.startswith(RESERVED_PREFIX):
            handler = next((route.handler for route in resource), None)
            where = getattr(handler, "__module__", None) or "a plugin"
            raise RouteOutsideReservedPrefix(
                f"the route {path or repr(resource)} (from {where}) is outside "
                f"{RESERVED_PREFIX}: a plugin may add routes only under {RESERVED_PREFIX}, "
                f"where they cannot shadow a bucket"
            )


async def _backend_lifecycle(app: web.Application) -> AsyncIterator[None]:
    backend = app[keys.BACKEND]
    await backend.open()
    try:
        yield
    finally:
        await backend.close()


async def _lifecycle_job(app: web.Application) -> AsyncIterator[None]:
    """Lifecycle passes in the background, where the backend can keep them one at a time
    across processes (every worker runs the loop; the job lock lets one pass run)."""
    settings, backend = app[keys.SETTINGS], app[keys.BACKEND]
    capable = backend.capabilities.job_lock and backend.capabilities.bucket_config
    if settings.lifecycle_interval <= 0 or not capable:
        if settings.lifecycle_interval > 0:
            log.info("lifecycle rules are not applied: the %s backend has no job lock",
                     backend.name)
        yield
        return

    def record(report: job.PassReport) -> None:
        metrics = app.get(METRICS)
        if metrics is not None:
            metrics.observe_lifecycle(report.by_kind(), report.bytes_freed, report.duration)

    task = asyncio.create_task(job.run_forever(
        backend, interval=settings.lifecycle_interval,
        day_seconds=settings.lifecycle_day_seconds,
        max_versions=settings.lifecycle_max_versions, on_pass=record))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    request_id = request.get(REQUEST_ID)
    if request_id and "x-amz-request-id" not in response.headers:
        response.headers["x-amz-request-id"] = request_id
        response.headers["x-amz-id-2"] = request_id
    response.headers["Server"] = "post3"


async def expect_continue(request: web.Request) -> web.StreamResponse | None:
    """Answer ``Expect: 100-continue``, or refuse an upload that is too large before its body
    is sent (botocore then never sends it)."""
    if request.headers.get(hdrs.EXPECT, "").lower() != "100-continue":
        return None  # S3 ignores other expectations; so does post3
    problem = await dispatch.refuse_before_body(request)
    if problem is not None:
        response = error_response(request, problem)
        response.force_close()  # the unsent body must not be read as the next request
        return response
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    request.writer.output_size = 0
    return None


__all__ = ["create_app", "errors"]
