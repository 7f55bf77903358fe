"""The router: a pure function from a request's shape to the S3 operation it asks for.

``resolve(method, bucket, key, query)`` returns the operation's AWS name. It never looks at
the body and never touches storage, so it is tested as a table. Sub-resources post3 does not
implement still resolve to their own operation name; the dispatcher answers ``NotImplemented``
for those explicitly, so no request falls through to the wrong handler.

:data:`ROUTES` is the whole table, in the order ``resolve`` tries it. Tests walk it to send
every operation the router knows (the authentication test over every operation does), so a
route added here is covered by them without being named.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from functools import lru_cache

from post3 import errors

# Sub-resources in the order they are tested: the first one present in the query wins.
# name in query -> operation, per method.
_BUCKET_GET = (
    ("location", "GetBucketLocation"),
    ("acl", "GetBucketAcl"),
    ("tagging", "GetBucketTagging"),
    ("versioning", "GetBucketVersioning"),
    ("versions", "ListObjectVersions"),
    ("uploads", "ListMultipartUploads"),
    ("policy", "GetBucketPolicy"),
    ("policyStatus", "GetBucketPolicyStatus"),
    ("cors", "GetBucketCors"),
    ("lifecycle", "GetBucketLifecycleConfiguration"),
    ("encryption", "GetBucketEncryption"),
    ("object-lock", "GetObjectLockConfiguration"),
    ("website", "GetBucketWebsite"),
    ("logging", "GetBucketLogging"),
    ("notification", "GetBucketNotificationConfiguration"),
    ("replication", "GetBucketReplication"),
    ("ownershipControls", "GetBucketOwnershipControls"),
    ("publicAccessBlock", "GetPublicAccessBlock"),
    ("requestPayment", "GetBucketRequestPayment"),
    ("accelerate", "GetBucketAccelerateConfiguration"),
    ("analytics", "GetBucketAnalyticsConfiguration"),
    ("inventory", "GetBucketInventoryConfiguration"),
    ("metrics", "GetBucketMetricsConfiguration"),
    ("intelligent-tiering", "GetBucketIntelligentTieringConfiguration"),
    ("metadataTable", "GetBucketMetadataTableConfiguration"),
)
_BUCKET_PUT = (
    ("acl", "PutBucketAcl"),
    ("tagging", "PutBucketTagging"),
    ("versioning", "PutBucketVersioning"),
    ("policy", "PutBucketPolicy"),
    ("cors", "PutBucketCors"),
    ("lifecycle", "PutBucketLifecycleConfiguration"),
    ("encryption", "PutBucketEncryption"),
    ("object-lock", "PutObjectLockConfiguration"),
    ("website", "PutBucketWebsite"),
    ("logging", "PutBucketLogging"),
    ("notification", "PutBucketNotificationConfiguration"),
    ("replication", "PutBucketReplication"),
    ("ownershipControls", "PutBucketOwnershipControls"),
    ("publicAccessBlock", "PutPublicAccessBlock"),
    ("requestPayment", "PutBucketRequestPayment"),
    ("accelerate", "PutBucketAccelerateConfiguration"),
    ("analytics", "PutBucketAnalyticsConfiguration"),
    ("inventory", "PutBucketInventoryConfiguration"),
    ("metrics", "PutBucketMetricsConfiguration"),
    ("intelligent-tiering", "PutBucketIntelligentTieringConfiguration"),
)
_BUCKET_DELETE = (
    ("tagging", "DeleteBucketTagging"),
    ("policy", "DeleteBucketPolicy"),
    ("cors", "DeleteBucketCors"),
    ("lifecycle", "DeleteBucketLifecycle"),
    ("encryption", "DeleteBucketEncryption"),
    ("website", "DeleteBucketWebsite"),
    ("replication", "DeleteBucketReplication"),
    ("ownershipControls", "DeleteBucketOwnershipControls"),
    ("publicAccessBlock", "DeletePublicAccessBlock"),
    ("analytics", "DeleteBucketAnalyticsConfiguration"),
    ("inventory", "DeleteBucketInventoryConfiguration"),
    ("metrics", "DeleteBucketMetricsConfiguration"),
    ("intelligent-tiering", "DeleteBucketIntelligentTieringConfiguration"),
)
_OBJECT_GET = (
    ("acl", "GetObjectAcl"),
    ("tagging", "GetObjectTagging"),
    ("uploadId", "ListParts"),
    ("attributes", "GetObjectAttributes"),
    ("retention", "GetObjectRetention"),
    ("legal-hold", "GetObjectLegalHold"),
    ("torrent", "GetObjectTorrent"),
)
_OBJECT_PUT = (
    ("acl", "PutObjectAcl"),
    ("tagging", "PutObjectTagging"),
    ("retention", "PutObjectRetention"),
    ("legal-hold", "PutObjectLegalHold"),
)
_OBJECT_POST = (
    ("uploads", "CreateMultipartUpload"),
    ("uploadId", "CompleteMultipartUpload"),
    ("restore", "RestoreObject"),
    ("select", "SelectObjectContent"),
)


@dataclass(frozen=True, slots=True)
class Route:
    """``method`` on a ``target`` (``service``, ``bucket`` or ``object``) with every query
    parameter in ``query`` present, and ``x-amz-copy-source`` sent or not (``copy_source``;
    None: either), is ``operation``."""

    method: str
    target: str
    operation: str
    query: tuple[str, ...] = ()
    copy_source: bool | None = None

    def matches(self, query: Container[str], copy_source: bool) -> bool:
        return all(name in query for name in self.query) and (
            self.copy_source is None or self.copy_source == copy_source)


def _routes(method: str, target: str, table: tuple[tuple[str, str], ...]) -> list[Route]:
    return [Route(method, target, operation, (name,)) for name, operation in table]


ROUTES: tuple[Route, ...] = (
    Route("GET", "service", "ListBuckets"),
    Route("HEAD", "service", "ListBuckets"),
    *_routes("GET", "bucket", _BUCKET_GET),
    Route("GET", "bucket", "ListObjectsV2", ("list-type",)),
    Route("GET", "bucket", "ListObjects"),
    Route("HEAD", "bucket", "HeadBucket"),
    *_routes("PUT", "bucket", _BUCKET_PUT),
    Route("PUT", "bucket", "CreateBucket"),
    *_routes("DELETE", "bucket", _BUCKET_DELETE),
    Route("DELETE", "bucket", "DeleteBucket"),
    Route("POST", "bucket", "DeleteObjects", ("delete",)),
    Route("POST", "bucket", "PostObject"),
    *_routes("GET", "object", _OBJECT_GET),
    Route("GET", "object", "GetObject"),
    Route("HEAD", "object", "HeadObject"),
    Route("PUT", "object", "UploadPartCopy", ("partNumber", "uploadId"), copy_source=True),
    Route("PUT", "object", "UploadPart", ("partNumber", "uploadId"), copy_source=False),
    *_routes("PUT", "object", _OBJECT_PUT),
    Route("PUT", "object", "CopyObject", copy_source=True),
    Route("PUT", "object", "PutObject", copy_source=False),
    Route("DELETE", "object", "AbortMultipartUpload", ("uploadId",)),
    Route("DELETE", "object", "DeleteObjectTagging", ("tagging",)),
    Route("DELETE", "object", "DeleteObject"),
    *_routes("POST", "object", _OBJECT_POST),
    # A browser's CORS preflight, answered from the bucket's rules without authentication.
    Route("OPTIONS", "bucket", "OptionsObject"),
    Route("OPTIONS", "object", "OptionsObject"),
)

_BY_METHOD_AND_TARGET: dict[tuple[str, str], list[Route]] = {}
for _route in ROUTES:
    _BY_METHOD_AND_TARGET.setdefault((_route.method, _route.target), []).append(_route)

_RESOURCE_TYPE = {"service": "SERVICE", "bucket": "BUCKET", "object": "OBJECT"}


#: Every query parameter name some route tests: the only names an answer depends on.
_ROUTED_NAMES = frozenset(name for route in ROUTES for name in route.query)


def resolve(method: str, bucket: str, key: str, query: Iterable[str],
            copy_source: bool = False) -> str:
    """The S3 operation name. ``query`` holds the query parameter names present (unknown
    ones, like ``x-id``, are ignored); ``copy_source`` is whether ``x-amz-copy-source`` was sent.
    Raises MethodNotAllowed for a method S3 does not accept on that resource."""
    target = "object" if key else "bucket" if bucket else "service"
    operation = _resolve(method.upper(), target, _ROUTED_NAMES.intersection(query), copy_source)
    if operation is None:
        raise errors.MethodNotAllowed(Method=method.upper(), ResourceType=_RESOURCE_TYPE[target])
    return operation


@lru_cache(maxsize=1024)
def _resolve(method: str, target: str, names: frozenset[str], copy_source: bool) -> str | None:
    """The first route that matches, remembered: every request asks, and the answer depends on
    nothing but these four (a handful of shapes in practice; the cache bounds the rest)."""
    for route in _BY_METHOD_AND_TARGET.get((method, target), ()):
        if route.matches(names, copy_source):
            return route.operation
    return None
