"""Put/Get/DeleteBucketEncryption: a bucket's default encryption
(:mod:`post3.encryption.bucket_default`)."""

from __future__ import annotations

from aiohttp import web

from post3 import errors
from post3.api.body import read_xml_body
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.encryption import bucket_default
from post3.encryption.service import keyring_of

MAX_ENCRYPTION_BODY = 64 * 1024


async def handle_put_bucket_encryption(s3: S3Request) -> web.StreamResponse:
    config = bucket_default.parse(await read_xml_body(s3, MAX_ENCRYPTION_BODY), keyring_of(s3))
    await s3.backend.put_bucket_config(s3.bucket, bucket_default.CONFIG,
                                       bucket_default.render(config).decode())
    bucket_default.forget(s3.backend, s3.bucket)
    return web.Response(status=200)


async def handle_get_bucket_encryption(s3: S3Request) -> web.StreamResponse:
    document = None
    if s3.backend.capabilities.bucket_config:
        document = await s3.backend.get_bucket_config(s3.bucket, bucket_default.CONFIG)
    else:
        await s3.backend.head_bucket(s3.bucket)
    if document is None:
        raise errors.ServerSideEncryptionConfigurationNotFoundError(BucketName=s3.bucket)
    return xml_response(document.encode())


async def handle_delete_bucket_encryption(s3: S3Request) -> web.StreamResponse:
    if s3.backend.capabilities.bucket_config:
        await s3.backend.put_bucket_config(s3.bucket, bucket_default.CONFIG, None)
        bucket_default.forget(s3.backend, s3.bucket)
    else:
        await s3.backend.head_bucket(s3.bucket)
    return web.Response(status=204)


HANDLERS = {
    "PutBucketEncryption": handle_put_bucket_encryption,
    "GetBucketEncryption": handle_get_bucket_encryption,
    "DeleteBucketEncryption": handle_delete_bucket_encryption,
}
