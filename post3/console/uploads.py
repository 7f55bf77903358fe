"""Uploads: the browser sends the bytes straight to the S3 API, never through the console.

The console only prepares and finishes: for a small file it presigns one PutObject; for a
large one it starts a multipart upload and presigns one UploadPart URL per part. The page
PUTs the parts itself (same origin: no CORS needed), showing progress, and asks the console
to complete the upload, or to abort it when the user cancels. Each of these is an S3 request
signed with the session's key, and each part PUT is verified by S3 like any other.
"""

from __future__ import annotations

import math

from aiohttp import web

from post3 import xml
from post3.console.s3 import S3Failure
from post3.console.views import Context, console_page

#: Files up to this size go in one presigned PUT; larger ones in parts of at least this size.
PART_SIZE = 8 * 1024**2
MAX_PARTS = 10000
#: Part URLs must stay valid until the last part of a large upload starts.
PART_URL_EXPIRES = 12 * 3600


async def _fields(ctx: Context, *names: str) -> list[str]:
    try:
        body = await ctx.request.json()
        values = [body[name] for name in names]
    except (ValueError, KeyError, TypeError):
        raise S3Failure(400, "InvalidRequest", "a JSON object with " + ", ".join(names)) from None
    return values


@console_page
async def post_start(ctx: Context) -> web.StreamResponse:
    bucket, key, size, content_type = await _fields(ctx, "bucket", "key", "size", "type")
    if not isinstance(size, int) or size < 0 or not key:
        raise S3Failure(400, "InvalidRequest", "size must be a whole number of bytes")
    if size <= PART_SIZE:
        return web.json_response({"mode": "put", "url": ctx.s3.presigned_url(
            "PUT", bucket, key, expires=PART_URL_EXPIRES)})
    part_size = max(PART_SIZE, math.ceil(size / MAX_PARTS / 1024**2) * 1024**2)
    headers = {"content-type": content_type} if content_type else {}
    _, root = await ctx.s3.call("POST", bucket, key, [("uploads", "")], headers=headers)
    upload_id = root.findtext("UploadId") or ""
    urls = [ctx.s3.presigned_url("PUT", bucket, key, [("partNumber", str(number)),
                                                      ("uploadId", upload_id)],
                                 expires=PART_URL_EXPIRES)
            for number in range(1, math.ceil(size / part_size) + 1)]
    return web.json_response({"mode": "multipart", "upload_id": upload_id,
                              "part_size": part_size, "urls": urls})


@console_page
async def post_complete(ctx: Context) -> web.StreamResponse:
    bucket, key, upload_id, etags = await _fields(ctx, "bucket", "key", "upload_id", "etags")
    document = xml.render("CompleteMultipartUpload", [
        ("Part", [("PartNumber", number), ("ETag", etag)])
        for number, etag in enumerate(etags, start=1)])
    await ctx.s3.call("POST", bucket, key, [("uploadId", upload_id)], body=document)
    return web.json_response({"done": True})


@console_page
async def post_abort(ctx: Context) -> web.StreamResponse:
    bucket, key, upload_id = await _fields(ctx, "bucket", "key", "upload_id")
    await ctx.s3.call("DELETE", bucket, key, [("uploadId", upload_id)])
    return web.json_response({"aborted": True})


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    router.add_post(prefix + "uploads", post_start)
    router.add_post(prefix + "uploads/complete", post_complete)
    router.add_post(prefix + "uploads/abort", post_abort)
