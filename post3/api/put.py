"""PutObject."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from post3 import errors
from post3.api.acl import write_access
from post3.api.lifecycle import expiration_headers
from post3.api.object_headers import (
    attributes_from_request,
    checksum_headers,
    quote_etag,
    tags_from_header,
    unquote_etag,
)
from post3.api.object_lock import write_lock
from post3.api.request import S3Request
from post3.api.versioning import version_headers
from post3.backend import WriteCondition
from post3.encryption import service as encryption
from post3.encryption.headers import response_headers as encryption_headers
from post3.object_lock import lock_from_headers
from post3.versioning import new_version


def write_condition(s3: S3Request) -> WriteCondition | None:
    """``If-None-Match: *`` and ``If-Match: <etag>`` on a write (S3 conditional writes)."""
    if_none_match = s3.headers.get("If-None-Match")
    if_match = s3.headers.get("If-Match")
    if if_none_match is None and if_match is None:
        return None
    if if_none_match is not None and if_none_match.strip() != "*":
        raise errors.NotImplemented("If-None-Match on writes accepts only '*'",
                                    Header="If-None-Match")
    return WriteCondition(
        if_match=unquote_etag(if_match) if if_match is not None else None,
        if_none_match=if_none_match is not None,
    )


async def handle_put_object(s3: S3Request) -> web.StreamResponse:
    attributes = attributes_from_request(s3.headers)
    tags = tags_from_header(s3.headers.get("x-amz-tagging"))
    condition = write_condition(s3)
    lock = await write_lock(s3, lock_from_headers(s3.headers), require_checksum=True)
    attributes = replace(attributes, lock=lock, access=await write_access(s3))
    sealer = await encryption.for_write(s3)
    body = s3.payload(max_size=s3.settings.max_put_size)
    if sealer is not None:
        body, attributes = sealer.seal(body), sealer.attach(attributes)
    info = await s3.backend.put_object(
        s3.bucket, s3.key, body, attributes=attributes, tags=tags, condition=condition,
        version=new_version(),
    )
    headers = {"ETag": quote_etag(info.etag), **checksum_headers(info.checksums),
               **version_headers(info), **await expiration_headers(s3, info),
               **encryption_headers(info.attributes.encryption)}
    return web.Response(status=200, headers=headers)


HANDLERS = {"PutObject": handle_put_object}
