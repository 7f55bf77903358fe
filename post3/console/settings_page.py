"""A bucket's settings that post3 keeps: its CORS rules and its tags.

CORS rules are edited as the XML document PutBucketCors takes (the format the S3 API
reference documents); tags as ``key=value`` lines. Each change is the S3 request itself
(Put/DeleteBucketCors, Put/DeleteBucketTagging), so it needs ``owner`` on the bucket.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aiohttp import web

from post3.console.s3 import S3Failure
from post3.console.views import (
    PREFIX,
    Context,
    console_page,
    human_size,
    redirect,
    render,
    tagging_document,
)

EXAMPLE_CORS = """<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>https://app.example.com</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>"""


#: The usage shown counts at most this many objects: a listing, so cheap only while bounded.
USAGE_LIMIT = 10000
PAGE = 1000


async def usage(ctx: Context, bucket: str) -> dict[str, object]:
    """Objects and bytes, from ListObjectsV2 pages, stopping after USAGE_LIMIT objects."""
    count = size = 0
    token = None
    while count < USAGE_LIMIT:
        query = [("list-type", "2"), ("max-keys", str(PAGE))]
        if token:
            query.append(("continuation-token", token))
        _, root = await ctx.s3.call("GET", bucket, query=query)
        for item in root.iter("Contents"):
            count += 1
            size += int(item.findtext("Size") or 0)
        token = root.findtext("NextContinuationToken")
        if root.findtext("IsTruncated") != "true" or not token:
            return {"count": count, "size": human_size(size), "complete": True}
    return {"count": count, "size": human_size(size), "complete": False}


async def _optional(ctx: Context, bucket: str, subresource: str, missing: str):  # type: ignore[no-untyped-def]
    try:
        _, root = await ctx.s3.call("GET", bucket, query=[(subresource, "")])
    except S3Failure as failure:
        if failure.code == missing:
            return None
        raise
    return root


@console_page
async def get_settings(ctx: Context) -> web.StreamResponse:
    bucket = ctx.request.match_info["bucket"]
    cors = await _optional(ctx, bucket, "cors", "NoSuchCORSConfiguration")
    tagging = await _optional(ctx, bucket, "tagging", "NoSuchTagSet")
    cors_text = ""
    if cors is not None:
        ET.indent(cors)
        cors_text = ET.tostring(cors, encoding="unicode")
    tags = [] if tagging is None else [(t.findtext("Key") or "", t.findtext("Value") or "")
                                       for t in tagging.iter("Tag")]
    return render(ctx.request, "settings.html", sess=ctx.session, bucket=bucket,
                  usage=await usage(ctx, bucket),
                  cors=cors_text, example=EXAMPLE_CORS, crumbs=[],
                  tags="\n".join(f"{k}={v}" for k, v in tags))


@console_page
async def post_cors(ctx: Context) -> web.StreamResponse:
    bucket = ctx.request.match_info["bucket"]
    document = str((await ctx.request.post()).get("cors", "")).strip()
    if document:
        await ctx.s3.call("PUT", bucket, query=[("cors", "")], body=document.encode())
    else:
        await ctx.s3.call("DELETE", bucket, query=[("cors", "")])
    return redirect(f"{PREFIX}b/{bucket}/settings?notice=settings-saved")


@console_page
async def post_tags(ctx: Context) -> web.StreamResponse:
    bucket = ctx.request.match_info["bucket"]
    document = tagging_document(str((await ctx.request.post()).get("tags", "")))
    if document is None:
        await ctx.s3.call("DELETE", bucket, query=[("tagging", "")])
    else:
        await ctx.s3.call("PUT", bucket, query=[("tagging", "")], body=document)
    return redirect(f"{PREFIX}b/{bucket}/settings?notice=settings-saved")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(PREFIX + "b/{bucket}/settings", get_settings)
    router.add_post(PREFIX + "b/{bucket}/settings/cors", post_cors)
    router.add_post(PREFIX + "b/{bucket}/settings/tags", post_tags)
