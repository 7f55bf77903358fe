"""Object and bucket tagging, really stored by the backend."""

from __future__ import annotations

from aiohttp import web

from post3 import errors, xml
from post3.api.body import read_xml_body
from post3.api.object_headers import check_tags
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.api.versioning import head_version, requested_version, version_headers

#: S3 allows more tags on a bucket than on an object.
MAX_BUCKET_TAGS = 50


async def handle_get_object_tagging(s3: S3Request) -> web.StreamResponse:
    version_id = requested_version(s3)
    info = await head_version(s3, s3.bucket, s3.key, version_id)
    response = xml_response(xml.render_tagging(info.tags))
    response.headers.update(version_headers(info))
    return response


async def _replace_tags(s3: S3Request, tags: dict[str, str], status: int
                        ) -> web.StreamResponse:
    version_id = requested_version(s3)
    # S3 refuses to tag a delete marker: a latest one is NoSuchKey, one named by id 405.
    info = await head_version(s3, s3.bucket, s3.key, version_id)
    await s3.backend.put_object_tags(s3.bucket, s3.key, tags, info.version_id
                                     if s3.backend.capabilities.versioning else None)
    return web.Response(status=status,
                        headers=version_headers(info))


async def handle_put_object_tagging(s3: S3Request) -> web.StreamResponse:
    tags = xml.parse_tagging(await read_xml_body(s3))
    check_tags(tags)
    return await _replace_tags(s3, tags, 200)


async def handle_delete_object_tagging(s3: S3Request) -> web.StreamResponse:
    return await _replace_tags(s3, {}, 204)


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
