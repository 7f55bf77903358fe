"""The error middleware: every failure leaves as S3's ``<Error>`` XML.

An :class:`~post3.errors.S3Error` is rendered with its code and status; anything else becomes
``InternalError``, logged with the request id, so aiohttp's plain-text errors never reach a
client.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from post3 import errors
from post3.api.request import new_request_id
from post3.xml import render_error

log = logging.getLogger("post3.api")

#: Set by the dispatcher, so errors carry the same id and resource as the response.
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
RESOURCE: web.RequestKey[str] = web.RequestKey("resource", str)
#: The S3 operation's AWS name, once the dispatcher has resolved it (access log, metrics).
OPERATION: web.RequestKey[str] = web.RequestKey("operation", str)
#: Body bytes a handler sent itself after ``prepare()`` (GetObject's blocks or sendfile): the
#: response's own counters include the headers and never see bytes sent with sendfile.
BODY_SENT: web.RequestKey[int] = web.RequestKey("body_sent", int)
#: The bucket and key the request addressed, from its path or its Host (access log).
TARGET: web.RequestKey[tuple[str, str]] = web.RequestKey("target", tuple)

# aiohttp HTTP errors that can surface before a handler runs, as the S3 errors AWS would send.
_HTTP_TO_S3: dict[int, type[errors.S3Error]] = {
    400: errors.InvalidRequest,
    404: errors.NoSuchKey,
    405: errors.MethodNotAllowed,
    411: errors.MissingContentLength,
    413: errors.EntityTooLarge,
}


def error_response(request: web.Request, error: errors.S3Error) -> web.Response:
    request_id = request.get(REQUEST_ID) or new_request_id()
    headers = {**error.headers, "x-amz-request-id": request_id, "x-amz-id-2": request_id}
    if request.method == "HEAD":
        # HEAD responses carry no body; S3 puts the status alone on the wire.
        return web.Response(status=error.status, headers=headers)
    body = render_error(error, request_id, request.get(RESOURCE))
    return web.Response(
        status=error.status, body=body, content_type="application/xml", headers=headers
    )


@web.middleware
async def error_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except errors.S3Error as error:
        return error_response(request, error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        s3_error = _HTTP_TO_S3.get(exc.status, errors.InternalError)(exc.reason)
        return error_response(request, s3_error)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("internal error in request %s", request.get(REQUEST_ID))
        return error_response(request, errors.InternalError())
