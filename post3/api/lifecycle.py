"""Put/Get/DeleteBucketLifecycleConfiguration, and ``x-amz-expiration`` on PUT, GET and HEAD.

The rules are validated as S3 validates them (:mod:`post3.lifecycle.rules`) and kept as the
bucket's ``lifecycle`` configuration document. The header tells when the object's current
version will expire and by which rule. Requests read the rules through a
:class:`~post3.api.bucket_documents.DocumentCache` of :data:`CACHE_SECONDS`; the job that
expires objects reads them afresh on every pass.
"""

from __future__ import annotations

import urllib.parse

from aiohttp import web

from post3 import errors
from post3.api.body import read_xml_body
from post3.api.bucket_documents import DocumentCache
from post3.api.object_headers import http_date
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.backend import Backend, ObjectInfo
from post3.lifecycle import rules

#: How long a process trusts the rules it read, for the ``x-amz-expiration`` header only.
CACHE_SECONDS = 10.0
#: 1,000 rules with long prefixes and tags stay far below this.
MAX_LIFECYCLE_BODY = 1024 * 1024

_rules = DocumentCache(rules.CONFIG, rules.parse, CACHE_SECONDS)


async def bucket_rules(backend: Backend, bucket: str) -> rules.Configuration | None:
    """The bucket's rules as this process last read them (at most CACHE_SECONDS ago)."""
    return await _rules.get(backend, bucket)


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
    _rules.forget(s3.backend, s3.bucket)
    return web.Response(status=200)


async def handle_get_bucket_lifecycle(s3: S3Request) -> web.StreamResponse:
    document = await s3.backend.get_bucket_config(s3.bucket, rules.CONFIG)
    if document is None:
        raise errors.NoSuchLifecycleConfiguration(BucketName=s3.bucket)
    return xml_response(document.encode())


async def handle_delete_bucket_lifecycle(s3: S3Request) -> web.StreamResponse:
    await s3.backend.put_bucket_config(s3.bucket, rules.CONFIG, None)
    _rules.forget(s3.backend, s3.bucket)
    return web.Response(status=204)


HANDLERS = {
    "PutBucketLifecycleConfiguration": handle_put_bucket_lifecycle,
    "GetBucketLifecycleConfiguration": handle_get_bucket_lifecycle,
    "DeleteBucketLifecycle": handle_delete_bucket_lifecycle,
}
