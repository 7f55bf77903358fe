"""Object lock on the wire: Put/GetObjectLockConfiguration, Put/GetObjectRetention,
Put/GetObjectLegalHold, and the lock every write is stored with (:func:`write_lock`).

The rules themselves are in :mod:`post3.object_lock`. A bucket has object lock once it has an
``object-lock`` configuration document: CreateBucket with
``x-amz-bucket-object-lock-enabled: true`` writes one (after enabling versioning), and
PutObjectLockConfiguration on a bucket whose versioning is Enabled. There is no way back, and
versioning can no longer be suspended.

Writes read the configuration through a :class:`DocumentCache` of :data:`CACHE_SECONDS`: a
default retention set through another worker or host applies to new versions within that time
(at once through this one). A write that asks for a lock is never refused on a stale read: a
bucket without a configuration in the cache is read again before the answer.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from post3 import errors, grants, object_lock
from post3.api.body import read_xml_body
from post3.api.bucket_documents import DocumentCache
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.api.versioning import head_version, requested_version
from post3.backend import ENABLED, ObjectAttributes, ObjectInfo, ObjectLock, utcnow
from post3.checksums import HEADER_PREFIX

CACHE_SECONDS = 1.0

_configs = DocumentCache(object_lock.CONFIG, object_lock.parse_configuration, CACHE_SECONDS)

MISSING = "Bucket is missing Object Lock Configuration"


async def bucket_lock(s3: S3Request, *, fresh: bool = False
                      ) -> object_lock.Configuration | None:
    """The bucket's object lock configuration, None when it has no object lock."""
    backend = s3.backend
    if not (backend.capabilities.versioning and backend.capabilities.bucket_config):
        return None
    return await _configs.get(backend, s3.bucket, fresh=fresh)


def bypass_governance(s3: S3Request) -> bool:
    """``x-amz-bypass-governance-retention: true``, from a key allowed to send it."""
    asked = s3.headers.get(object_lock.BYPASS_HEADER, "").strip().lower() == "true"
    return asked and not s3.anonymous and grants.may_bypass_governance(s3.identity, s3.bucket)


def _has_checksum(s3: S3Request) -> bool:
    return "Content-MD5" in s3.headers or any(
        name.lower().startswith((HEADER_PREFIX, "x-amz-sdk-checksum-algorithm"))
        or (name.lower() == "x-amz-trailer" and value.lower().startswith(HEADER_PREFIX))
        for name, value in s3.headers.items())


def _require_checksum(s3: S3Request, what: str) -> None:
    if not _has_checksum(s3):
        raise errors.InvalidRequest(
            f"Content-MD5 OR x-amz-checksum- HTTP header is required for {what}")


async def write_lock(s3: S3Request, asked: ObjectLock | None, *,
                     require_checksum: bool = False) -> ObjectLock:
    """The lock a new version is stored with: what the write ``asked`` for
    (:func:`post3.object_lock.lock_from_headers`), else the bucket's default retention.
    ``require_checksum``: a PutObject that sets a retention must carry Content-MD5 or a
    checksum, as S3 requires."""
    config = await bucket_lock(s3)
    if asked is None:
        return ObjectLock() if config is None else config.default_lock(utcnow())
    if config is None:
        config = await bucket_lock(s3, fresh=True)
        if config is None:
            raise errors.InvalidRequest(MISSING)
    if asked.mode is None:
        return replace(config.default_lock(utcnow()), legal_hold=asked.legal_hold)
    if require_checksum:
        _require_checksum(s3, "Put Object requests with Object Lock parameters")
    return asked


def completed_lock(config: object_lock.Configuration | None, asked: ObjectLock,
                   created: ObjectInfo) -> ObjectLock:
    """A completed multipart upload's lock: what CreateMultipartUpload asked for, with the
    default retention counted from the completion when it asked for none."""
    if config is None or asked.mode is not None:
        return asked
    return replace(config.default_lock(created.last_modified), legal_hold=asked.legal_hold)


# --------------------------------------------------------------------------- the bucket


async def enable(s3: S3Request) -> None:
    """CreateBucket's ``x-amz-bucket-object-lock-enabled: true``, on the new bucket."""
    await s3.backend.put_bucket_versioning(s3.bucket, ENABLED)
    await s3.backend.put_bucket_config(
        s3.bucket, object_lock.CONFIG,
        object_lock.render_configuration(object_lock.Configuration()).decode())
    _configs.forget(s3.backend, s3.bucket)


async def handle_put_object_lock_configuration(s3: S3Request) -> web.StreamResponse:
    _require_checksum(s3, "PutObjectLockConfiguration")
    config = object_lock.parse_configuration(await read_xml_body(s3))
    if await s3.backend.get_bucket_versioning(s3.bucket) != ENABLED:
        raise errors.InvalidBucketState(
            "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
    await s3.backend.put_bucket_config(s3.bucket, object_lock.CONFIG,
                                       object_lock.render_configuration(config).decode())
    _configs.forget(s3.backend, s3.bucket)
    return web.Response(status=200)


async def handle_get_object_lock_configuration(s3: S3Request) -> web.StreamResponse:
    config = await bucket_lock(s3, fresh=True)
    if config is None:
        await s3.backend.head_bucket(s3.bucket)
        raise errors.ObjectLockConfigurationNotFoundError(BucketName=s3.bucket)
    return xml_response(object_lock.render_configuration(config))


# --------------------------------------------------------------------------- a version


async def _locked_version(s3: S3Request) -> tuple[str | None, ObjectInfo]:
    """The version a retention or legal-hold request names, in a bucket with object lock."""
    version_id = requested_version(s3)
    if await bucket_lock(s3, fresh=True) is None:
        await s3.backend.head_bucket(s3.bucket)
        raise errors.InvalidRequest(MISSING)
    return version_id, await head_version(s3, s3.bucket, s3.key, version_id)


async def handle_put_object_retention(s3: S3Request) -> web.StreamResponse:
    _require_checksum(s3, "PutObjectRetention")
    mode, until = object_lock.parse_retention(await read_xml_body(s3))
    version_id, _ = await _locked_version(s3)
    bypass = bypass_governance(s3)

    def change(info: ObjectInfo) -> ObjectAttributes:
        attributes = info.attributes
        lock = object_lock.changed_retention(attributes.lock, mode, until, bypass)
        return replace(attributes, lock=lock)

    await s3.backend.put_object_attributes(s3.bucket, s3.key, change, version_id)
    return web.Response(status=200)


async def handle_get_object_retention(s3: S3Request) -> web.StreamResponse:
    _, info = await _locked_version(s3)
    return xml_response(object_lock.render_retention(info.attributes.lock))


async def handle_put_object_legal_hold(s3: S3Request) -> web.StreamResponse:
    _require_checksum(s3, "PutObjectLegalHold")
    hold = object_lock.parse_legal_hold(await read_xml_body(s3))
    version_id, _ = await _locked_version(s3)

    def change(info: ObjectInfo) -> ObjectAttributes:
        return replace(info.attributes, lock=replace(info.attributes.lock, legal_hold=hold))

    await s3.backend.put_object_attributes(s3.bucket, s3.key, change, version_id)
    return web.Response(status=200)


async def handle_get_object_legal_hold(s3: S3Request) -> web.StreamResponse:
    _, info = await _locked_version(s3)
    return xml_response(object_lock.render_legal_hold(info.attributes.lock))


HANDLERS = {
    "PutObjectLockConfiguration": handle_put_object_lock_configuration,
    "GetObjectLockConfiguration": handle_get_object_lock_configuration,
    "PutObjectRetention": handle_put_object_retention,
    "GetObjectRetention": handle_get_object_retention,
    "PutObjectLegalHold": handle_put_object_legal_hold,
    "GetObjectLegalHold": handle_get_object_legal_hold,
}
