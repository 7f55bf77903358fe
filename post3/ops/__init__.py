"""Operating post3: health probes, Prometheus metrics and the access log.

The endpoints are ``/_post3/health/live``, ``/_post3/health/ready`` and ``/_post3/metrics``:
under the reserved prefix, where no bucket name can reach them.

A built-in plugin (listed in ``post3.plugins.DEFAULT_PLUGINS``): it adds its routes and its
middleware through ``post3_configure_app`` like any third-party plugin would, so
``POST3_DISABLE_PLUGINS=post3.ops`` removes all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

import post3
from post3.config import Settings
from post3.ops.draining import IN_FLIGHT, InFlight
from post3.ops.health import (
    DRAINING,
    HEALTH_LIVE,
    HEALTH_READY,
    METRICS,
    METRICS_PATH,
    get_health_live,
    get_health_ready,
    get_metrics,
)
from post3.ops.metrics import Metrics
from post3.ops.observe import make_middleware


@post3.hookimpl
def post3_configure_app(app: web.Application, settings: Settings) -> None:
    metrics = Metrics()
    app[METRICS] = metrics
    in_flight = app[IN_FLIGHT] = InFlight()
    app[DRAINING] = in_flight.draining
    app.on_shutdown.append(_start_draining)
    app.cleanup_ctx.append(_share_metrics)
    # Outermost, so it observes the response the error middleware made of a failure.
    app.middlewares.insert(0, make_middleware(metrics))
    app.middlewares.insert(1, in_flight.middleware)
    # Under the reserved prefix, where no bucket can be shadowed (post3.names.RESERVED_PREFIX).
    app.router.add_get(HEALTH_LIVE, get_health_live, name="GetHealthLive")
    app.router.add_get(HEALTH_READY, get_health_ready, name="GetHealthReady")
    app.router.add_get(METRICS_PATH, get_metrics, name="GetMetrics")


async def _share_metrics(app: web.Application) -> AsyncIterator[None]:
    metrics = app[METRICS]
    task = asyncio.create_task(metrics.publish_periodically()) if metrics.shared else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _start_draining(app: web.Application) -> None:
    app[DRAINING].set()
    app[METRICS].publish()


__all__ = ["DRAINING", "IN_FLIGHT", "METRICS", "InFlight", "Metrics"]
