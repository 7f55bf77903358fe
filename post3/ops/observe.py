"""The observing middleware: times every request, counts it, and writes its access line.

It is the outermost middleware, so it sees the response the error middleware made of a failure,
and it sets the request id first, so the access line, the ``x-amz-request-id`` header and any
``<Error>`` body carry the same one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from post3.api import dispatch
from post3.api.middleware import BODY_SENT, OPERATION, REQUEST_ID, TARGET
from post3.api.request import new_request_id, split_path
from post3.ops.logs import log_access
from post3.ops.metrics import Metrics

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The status logged for a request whose client went away before the answer (nginx's 499).
CLIENT_CLOSED = 499


def is_s3(request: web.Request) -> bool:
    return request.match_info.handler is dispatch.handle_s3_request


def s3_operation(request: web.Request) -> str | None:
    """The AWS name of the S3 operation the dispatcher resolved; None for requests outside the
    S3 namespace, ``-`` when the request named none (the dispatcher refused it)."""
    if not is_s3(request):
        return None
    operation: str = request.get(OPERATION, "-")
    return operation


def make_middleware(metrics: Metrics) -> Middleware:
    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = request.get(REQUEST_ID) or new_request_id()
        request[REQUEST_ID] = request_id
        s3 = is_s3(request)
        status = 500
        response: web.StreamResponse | None = None
        metrics.in_flight += s3
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:  # redirects, which the error middleware lets through
            status = exc.status
            raise
        except (asyncio.CancelledError, ConnectionResetError):
            status = CLIENT_CLOSED
            raise
        finally:
            metrics.in_flight -= s3
            operation = s3_operation(request)
            seconds = time.perf_counter() - started
            received = getattr(request.content, "total_bytes", 0)
            sent = _sent_bytes(request, response)
            if operation is not None:
                metrics.observe(operation, status, seconds, received, sent)
            # What the dispatcher found (a virtual-hosted bucket is in Host), else the path.
            bucket, key = ("", "")
            if operation:
                bucket, key = request.get(TARGET) or split_path(request.raw_path)
            log_access({
                "request_id": request_id,
                "remote": request.remote,
                "method": request.method,
                "operation": operation or (request.match_info.route.name or request.path),
                "bucket": bucket,
                "key": key,
                "status": status,
                "bytes_in": received,
                "bytes_out": sent,
                "duration_ms": round(seconds * 1000, 3),
            })

    return observe


def _sent_bytes(request: web.Request, response: web.StreamResponse | None) -> int:
    if response is None:
        return 0
    if BODY_SENT in request:  # a body the handler streamed itself, maybe with sendfile
        return request[BODY_SENT]
    if response.prepared:  # a streamed body, already written
        return response.body_length
    if request.method == "HEAD":
        return 0
    body = getattr(response, "body", None)
    if isinstance(body, bytes | bytearray):
        return len(body)
    return response.content_length or 0
