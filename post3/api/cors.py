"""Put/Get/DeleteBucketCors, the preflight ``OPTIONS`` request, and the ``Access-Control-*``
headers of actual responses, all from the bucket's ``cors`` configuration document.

A preflight is answered without authentication, as S3 does: the browser sends no credentials
with it, and what it may learn (which origins, methods and headers the bucket allows) is what
the rules publish. Actual responses — errors included — of a bucket with CORS rules carry
``Vary`` and, when a rule matches the request's ``Origin`` and method, the rule's headers.
"""

from __future__ import annotations

import logging

from aiohttp import web

from post3 import cors, errors, keys
from post3.api.body import read_xml_body
from post3.api.middleware import OPERATION
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.backend import Unsupported

log = logging.getLogger("post3.api")

#: The bucket a request addressed, once its name was found valid (set by the dispatcher).
CORS_BUCKET: web.RequestKey[str] = web.RequestKey("cors_bucket", str)

#: A CORS document of 100 rules stays far below this.
MAX_CORS_BODY = 64 * 1024

PREFLIGHT = "OptionsObject"


async def bucket_rules(backend, bucket: str) -> list[cors.CORSRule]:  # type: ignore[no-untyped-def]
    document = await backend.get_bucket_config(bucket, cors.CONFIG_NAME)
    return [] if document is None else cors.parse(document.encode())


async def handle_put_bucket_cors(s3: S3Request) -> web.StreamResponse:
    rules = cors.parse(await read_xml_body(s3, MAX_CORS_BODY))
    await s3.backend.put_bucket_config(s3.bucket, cors.CONFIG_NAME, cors.render(rules).decode())
    return web.Response(status=200)


async def handle_get_bucket_cors(s3: S3Request) -> web.StreamResponse:
    document = await s3.backend.get_bucket_config(s3.bucket, cors.CONFIG_NAME)
    if document is None:
        raise errors.NoSuchCORSConfiguration(BucketName=s3.bucket)
    return xml_response(document.encode())


async def handle_delete_bucket_cors(s3: S3Request) -> web.StreamResponse:
    await s3.backend.put_bucket_config(s3.bucket, cors.CONFIG_NAME, None)
    return web.Response(status=204)


async def handle_preflight(s3: S3Request) -> web.StreamResponse:
    """``OPTIONS`` on a bucket or an object: 200 with the matching rule's headers, 403
    ``AccessForbidden`` when the bucket has no CORS rules or none matches (S3's answers)."""
    origin = s3.headers.get("Origin")
    if not origin:
        raise errors.BadRequest("Insufficient information. Origin request header needed.")
    method = s3.headers.get("Access-Control-Request-Method")
    if not method:
        raise errors.BadRequest(
            "Insufficient information. Access-Control-Request-Method header needed.")
    resource_type = "OBJECT" if s3.key else "BUCKET"
    rules = await bucket_rules(s3.backend, s3.bucket)
    if not rules:
        raise errors.AccessForbidden("CORSResponse: CORS is not enabled for this bucket.",
                                     Method=method, ResourceType=resource_type)
    wanted = cors.request_headers(s3.headers.get("Access-Control-Request-Headers"))
    rule = cors.match(rules, origin, method, wanted)
    if rule is None:
        raise errors.AccessForbidden(
            "CORSResponse: This CORS request is not allowed. This is usually because the "
            "evalution of Origin, request method / Access-Control-Request-Method or "
            "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
            Method=method, ResourceType=resource_type)
    headers = {**rule.response_headers(origin), "Vary": cors.VARY}
    if wanted:
        headers["Access-Control-Allow-Headers"] = ", ".join(wanted)
    return web.Response(status=200, headers=headers)


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the CORS headers of an actual response (errors included)."""
    origin = request.headers.get("Origin")
    bucket = request.get(CORS_BUCKET)
    if not origin or not bucket or request.get(OPERATION) == PREFLIGHT:
        return
    try:
        rules = await bucket_rules(request.app[keys.BACKEND], bucket)
    except (errors.NoSuchBucket, Unsupported):
        return
    except Exception:
        # The response is already decided; a failed lookup must not turn it into another.
        log.exception("CORS rules of bucket %s could not be read", bucket)
        return
    if not rules:
        return
    response.headers["Vary"] = cors.VARY
    rule = cors.match(rules, origin, request.method)
    if rule is not None:
        response.headers.update(rule.response_headers(origin))


HANDLERS = {
    "PutBucketCors": handle_put_bucket_cors,
    "GetBucketCors": handle_get_bucket_cors,
    "DeleteBucketCors": handle_delete_bucket_cors,
    PREFLIGHT: handle_preflight,
}
