"""The router: a pure function from a request's shape to the S3 operation it asks for.

``resolve(method, bucket, key, query)`` returns the operation's AWS name. It never looks at
the body and never touches storage, so it is tested as a table. Sub-resources post3 does not
implement still resolve to their own operation name; the dispatcher answers ``NotImplemented``
for those explicitly, so no request falls through to the wrong handler.
"""

from __future__ import annotations

from collections.abc import Container

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


def _first(query: Container[str], table: tuple[tuple[str, str], ...]) -> str | None:
    for name, operation in table:
        if name in query:
            return operation
    return None


def resolve(method: str, bucket: str, key: str, query: Container[str],
            copy_source: bool = False) -> str:
    """The S3 operation name. ``query`` holds the query parameter names present (unknown
    ones, like ``x-id``, are ignored); ``copy_source`` is whether ``x-amz-copy-source`` was sent.
    Raises MethodNotAllowed for a method S3 does not accept on that resource."""
    method = method.upper()
    if not bucket:
        if method in ("GET", "HEAD"):
            return "ListBuckets"
        raise errors.MethodNotAllowed(Method=method, ResourceType="SERVICE")
    if not key:
        return _resolve_bucket(method, query)
    return _resolve_object(method, query, copy_source)


def _resolve_bucket(method: str, query: Container[str]) -> str:
    if method == "GET":
        found = _first(query, _BUCKET_GET)
        if found:
            return found
        return "ListObjectsV2" if "list-type" in query else "ListObjects"
    if method == "HEAD":
        return "HeadBucket"
    if method == "PUT":
        return _first(query, _BUCKET_PUT) or "CreateBucket"
    if method == "DELETE":
        return _first(query, _BUCKET_DELETE) or "DeleteBucket"
    if method == "POST":
        if "delete" in query:
            return "DeleteObjects"
        return "PostObject"
    raise errors.MethodNotAllowed(Method=method, ResourceType="BUCKET")


def _resolve_object(method: str, query: Container[str], copy_source: bool) -> str:
    if method == "GET":
        return _first(query, _OBJECT_GET) or "GetObject"
    if method == "HEAD":
        return "HeadObject"
    if method == "PUT":
        if "partNumber" in query and "uploadId" in query:
            return "UploadPartCopy" if copy_source else "UploadPart"
        found = _first(query, _OBJECT_PUT)
        if found:
            return found
        return "CopyObject" if copy_source else "PutObject"
    if method == "DELETE":
        if "uploadId" in query:
            return "AbortMultipartUpload"
        if "tagging" in query:
            return "DeleteObjectTagging"
        return "DeleteObject"
    if method == "POST":
        found = _first(query, _OBJECT_POST)
        if found:
            return found
    raise errors.MethodNotAllowed(Method=method, ResourceType="OBJECT")
