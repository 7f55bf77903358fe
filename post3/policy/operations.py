"""The policy action each S3 operation is authorized as (S3 user guide, "Required permissions
for Amazon S3 API operations"): ``ListObjectsV2`` is ``s3:ListBucket`` on the bucket,
``UploadPart`` is ``s3:PutObject`` on the object, a ``versionId`` makes ``GetObject``
``s3:GetObjectVersion``.

What this table does not say, the caller must: a copy (CopyObject, UploadPartCopy) also needs
``required_action("GetObject", versioned=...)`` on its source object, DeleteObjects needs
``s3:DeleteObject`` on each key, ListBuckets names no bucket, so no bucket policy applies to it.
"""

from __future__ import annotations

_BY_OPERATION = {
    # bucket
    "ListObjects": "ListBucket", "ListObjectsV2": "ListBucket", "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "CreateBucket": "CreateBucket", "DeleteBucket": "DeleteBucket",
    "GetBucketLocation": "GetBucketLocation",
    "GetBucketAcl": "GetBucketAcl", "PutBucketAcl": "PutBucketAcl",
    "GetBucketTagging": "GetBucketTagging", "PutBucketTagging": "PutBucketTagging",
    "DeleteBucketTagging": "PutBucketTagging",
    "GetBucketVersioning": "GetBucketVersioning", "PutBucketVersioning": "PutBucketVersioning",
    "GetBucketPolicy": "GetBucketPolicy", "PutBucketPolicy": "PutBucketPolicy",
    "DeleteBucketPolicy": "DeleteBucketPolicy", "GetBucketPolicyStatus": "GetBucketPolicyStatus",
    "GetBucketCors": "GetBucketCORS", "PutBucketCors": "PutBucketCORS",
    "DeleteBucketCors": "PutBucketCORS",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
    "GetBucketWebsite": "GetBucketWebsite", "PutBucketWebsite": "PutBucketWebsite",
    "DeleteBucketWebsite": "DeleteBucketWebsite",
    "GetBucketLogging": "GetBucketLogging", "PutBucketLogging": "PutBucketLogging",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketReplication": "GetReplicationConfiguration",
    "PutBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketReplication": "PutReplicationConfiguration",
    "GetBucketOwnershipControls": "GetBucketOwnershipControls",
    "PutBucketOwnershipControls": "PutBucketOwnershipControls",
    "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetBucketRequestPayment": "GetBucketRequestPayment",
    "PutBucketRequestPayment": "PutBucketRequestPayment",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
    "GetBucketAnalyticsConfiguration": "GetAnalyticsConfiguration",
    "PutBucketAnalyticsConfiguration": "PutAnalyticsConfiguration",
    "DeleteBucketAnalyticsConfiguration": "PutAnalyticsConfiguration",
    "GetBucketInventoryConfiguration": "GetInventoryConfiguration",
    "PutBucketInventoryConfiguration": "PutInventoryConfiguration",
    "DeleteBucketInventoryConfiguration": "PutInventoryConfiguration",
    "GetBucketMetricsConfiguration": "GetMetricsConfiguration",
    "PutBucketMetricsConfiguration": "PutMetricsConfiguration",
    "DeleteBucketMetricsConfiguration": "PutMetricsConfiguration",
    "GetBucketIntelligentTieringConfiguration": "GetIntelligentTieringConfiguration",
    "PutBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
    "DeleteBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
    "GetBucketMetadataTableConfiguration": "GetBucketMetadataTableConfiguration",
    # objects
    "GetObject": "GetObject", "HeadObject": "GetObject", "SelectObjectContent": "GetObject",
    "PutObject": "PutObject", "PostObject": "PutObject", "CopyObject": "PutObject",
    "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject",
    "UploadPartCopy": "PutObject", "CompleteMultipartUpload": "PutObject",
    "AbortMultipartUpload": "AbortMultipartUpload", "ListParts": "ListMultipartUploadParts",
    "DeleteObject": "DeleteObject", "DeleteObjects": "DeleteObject",
    "GetObjectAcl": "GetObjectAcl", "PutObjectAcl": "PutObjectAcl",
    "GetObjectTagging": "GetObjectTagging", "PutObjectTagging": "PutObjectTagging",
    "DeleteObjectTagging": "DeleteObjectTagging",
    "GetObjectAttributes": "GetObjectAttributes", "GetObjectTorrent": "GetObjectTorrent",
    "GetObjectRetention": "GetObjectRetention", "PutObjectRetention": "PutObjectRetention",
    "GetObjectLegalHold": "GetObjectLegalHold", "PutObjectLegalHold": "PutObjectLegalHold",
    "RestoreObject": "RestoreObject",
    # the account
    "ListBuckets": "ListAllMyBuckets",
}

# With a versionId, these act on one version and S3 checks the version's own action.
_VERSIONED = {
    "GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion",
    "GetObjectAcl": "GetObjectVersionAcl", "PutObjectAcl": "PutObjectVersionAcl",
    "GetObjectTagging": "GetObjectVersionTagging", "PutObjectTagging": "PutObjectVersionTagging",
    "DeleteObjectTagging": "DeleteObjectVersionTagging",
    "GetObjectAttributes": "GetObjectVersionAttributes",
    "GetObjectTorrent": "GetObjectVersionTorrent",
}


def required_action(operation: str, *, versioned: bool = False) -> str:
    """The action ``operation`` needs (``versioned``: the request names a versionId).
    KeyError for an operation that needs none (a CORS preflight) or that this table does not
    know: a caller must not read a missing entry as "nothing to check"."""
    action = _BY_OPERATION[operation]
    if versioned:
        action = _VERSIONED.get(action, action)
    return f"s3:{action}"
