"""Object and bucket tagging, really stored by the backend."""

from __future__ import annotations

from aiohttp import web

from post3 import errors, xml
from post3.api.body import read_xml_body
from post3.api.get import check_version_id
from post3.api.object_headers import check_tags
from post3.api.request import S3Request
from post3.api.responses import xml_response

#: S3 allows more tags on a bucket than on an object.
MAX_BUCKET_TAGS = 50


async def handle_get_object_tagging(s3: S3Request) -> web.StreamResponse:
    check_version_id(s3)
    info = await s3.backend.head_object(s3.bucket, s3.key)
    return xml_response(xml.render_tagging(info.tags))


async def handle_put_object_tagging(s3: S3Request) -> web.StreamResponse:
    check_version_id(s3)
    tags = xml.parse_tagging(await read_xml_body(s3))
    check_tags(tags)
    await s3.backend.head_object(s3.bucket, s3.key)
    await s3.backend.put_object_tags(s3.bucket, s3.key, tags)
    return web.Response(status=200)


async def handle_delete_object_tagging(s3: S3Request) -> web.StreamResponse:
    check_version_id(s3)
    await s3.backend.head_object(s3.bucket, s3.key)
    await s3.backend.put_object_tags(s3.bucket, s3.key, {})
    return web.Response(status=204)


async def handle_get_bucket_tagging(s3: S3Request) -> web.StreamResponse:
    tags = await s3.backend.get_bucket_tags(s3.bucket)
    if not tags:
        raise errors.NoSuchTagSet(BucketName=s3.bucket)
    return xml_response(xml.render_tagging(tags))


async def handle_put_bucket_tagging(s3: S3Request) -> web.StreamResponse:
    tags = xml.parse_tagging(await read_xml_body(s3))
    if len(tags) > MAX_BUCKET_TAGS:
        raise errors.InvalidTag("Bucket tag count cannot be greater than 50")
    for key, value in tags.items():
        check_tags({key: value})  # the per-tag key and value limits
    await s3.backend.put_bucket_tags(s3.bucket, tags)
    return web.Response(status=204)


async def handle_delete_bucket_tagging(s3: S3Request) -> web.StreamResponse:
    await s3.backend.put_bucket_tags(s3.bucket, {})
    return web.Response(status=204)


HANDLERS = {
    "GetObjectTagging": handle_get_object_tagging,
    "PutObjectTagging": handle_put_object_tagging,
    "DeleteObjectTagging": handle_delete_object_tagging,
    "GetBucketTagging": handle_get_bucket_tagging,
    "PutBucketTagging": handle_put_bucket_tagging,
    "DeleteBucketTagging": handle_delete_bucket_tagging,
}
