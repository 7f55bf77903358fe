"""Put/Get/DeleteBucketLifecycleConfiguration, and ``x-amz-expiration`` on PUT, GET and HEAD.

The rules are validated as S3 validates them (:mod:`post3.lifecycle.rules`) and kept as the
bucket's ``lifecycle`` configuration document. The header tells when the object's current
version will expire and by which rule. Reading the bucket's rules for every GET would cost
each request a storage round trip, so each process keeps what it read for
:data:`CACHE_SECONDS`: a change made through another worker or host shows in the header
within that time (at once through this one). The job that expires objects reads the rules
afresh on every pass.
"""

from __future__ import annotations

import time
import urllib.parse
import weakref

from aiohttp import web

from post3 import errors
from post3.api.body import read_xml_body
from post3.api.object_headers import http_date
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.backend import Backend, ObjectInfo, Unsupported
from post3.lifecycle import rules

#: How long a process trusts the rules it read, for the ``x-amz-expiration`` header only.
CACHE_SECONDS = 10.0
#: 1,000 rules with long prefixes and tags stay far below this.
MAX_LIFECYCLE_BODY = 1024 * 1024

_cache: weakref.WeakKeyDictionary[Backend, dict[str, tuple[float, rules.Configuration | None]]] \
    = weakref.WeakKeyDictionary()


def _forget(backend: Backend, bucket: str) -> None:
    _cache.get(backend, {}).pop(bucket, None)


async def bucket_rules(backend: Backend, bucket: str) -> rules.Configuration | None:
    """The bucket's rules as this process last read them (at most CACHE_SECONDS ago)."""
    entries = _cache.setdefault(backend, {})
    now = time.monotonic()
    cached = entries.get(bucket)
    if cached is not None and cached[0] > now:
        return cached[1]
    try:
        document = await backend.get_bucket_config(bucket, rules.CONFIG)
    except Unsupported:
        document = None
    config = None if document is None else rules.parse(document.encode())
    if len(entries) > 10_000:
        entries.clear()  # bounded: a scan over many buckets cannot grow it without end
    entries[bucket] = (now + CACHE_SECONDS, config)
    return config


async def expiration_headers(s3: S3Request, info: ObjectInfo) -> dict[str, str]:
    """``x-amz-expiration`` for ``info``, the current version of its key, if a rule expires
    it."""
    if not s3.backend.capabilities.bucket_config or info.delete_marker:
        return {}
    config = await bucket_rules(s3.backend, s3.bucket)
    if config is None:
        return {}
    found = rules.current_expiry(config, info.key, info.size, info.tags, info.last_modified,
                                 s3.settings.lifecycle_day_seconds)
    if found is None:
        return {}
    when, rule_id = found
    return {"x-amz-expiration":
            f'expiry-date="{http_date(when)}", rule-id="{urllib.parse.quote(rule_id)}"'}


async def handle_put_bucket_lifecycle(s3: S3Request) -> web.StreamResponse:
    config = rules.parse(await read_xml_body(s3, MAX_LIFECYCLE_BODY))
    await s3.backend.put_bucket_config(s3.bucket, rules.CONFIG, rules.render(config).decode())
    _forget(s3.backend, s3.bucket)
    return web.Response(status=200)


async def handle_get_bucket_lifecycle(s3: S3Request) -> web.StreamResponse:
    document = await s3.backend.get_bucket_config(s3.bucket, rules.CONFIG)
    if document is None:
        raise errors.NoSuchLifecycleConfiguration(BucketName=s3.bucket)
    return xml_response(document.encode())


async def handle_delete_bucket_lifecycle(s3: S3Request) -> web.StreamResponse:
    await s3.backend.put_bucket_config(s3.bucket, rules.CONFIG, None)
    _forget(s3.backend, s3.bucket)
    return web.Response(status=204)


HANDLERS = {
    "PutBucketLifecycleConfiguration": handle_put_bucket_lifecycle,
    "GetBucketLifecycleConfiguration": handle_get_bucket_lifecycle,
    "DeleteBucketLifecycle": handle_delete_bucket_lifecycle,
}
