"""``GET /_post3/health/live``, ``GET /_post3/health/ready`` and ``GET /_post3/metrics``.

They sit outside the S3 namespace (under ``/_post3/``: an underscore is never valid in a bucket
name, so a bucket called ``health`` or ``metrics`` is never shadowed) and outside S3
authentication: load balancers, orchestrators
and Prometheus call them without credentials. Liveness only says the process answers;
readiness asks the backend (``Backend.ready``) and turns false while the server drains.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from post3 import keys
from post3.names import RESERVED_PREFIX
from post3.ops.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger("post3.ops")

HEALTH_LIVE = f"{RESERVED_PREFIX}health/live"
HEALTH_READY = f"{RESERVED_PREFIX}health/ready"
METRICS_PATH = f"{RESERVED_PREFIX}metrics"

METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)
#: Set when the server starts to shut down: readiness answers 503 from then on.
DRAINING: web.AppKey[asyncio.Event] = web.AppKey("draining", asyncio.Event)

#: How long the backend may take to answer a readiness probe, in seconds.
READY_TIMEOUT = 5.0


async def get_health_live(request: web.Request) -> web.Response:
    return web.Response(text="live\n")


async def get_health_ready(request: web.Request) -> web.Response:
    if request.app[DRAINING].is_set():
        return web.Response(status=503, text="not ready: shutting down\n")
    try:
        await asyncio.wait_for(request.app[keys.BACKEND].ready(), READY_TIMEOUT)
    except TimeoutError:
        return web.Response(status=503, text="not ready: the backend did not answer in time\n")
    except Exception as exc:  # any failure of the probe means "not ready", never a 500
        log.warning("readiness probe failed: %s", exc)
        return web.Response(status=503, text=f"not ready: {exc}\n")
    return web.Response(text="ready\n")


async def get_metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render().encode()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
