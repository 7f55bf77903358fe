"""Which permission an S3 operation needs, and on which bucket.

``read`` covers every Get/Head/List; ``write`` the object writes; ``owner`` everything that
changes a bucket itself (creating, deleting, configuring it). Admin keys may do everything.
An operation this table does not know needs ``owner``: new operations are closed by default.
"""

from __future__ import annotations

from post3.credentials import AccessKey

_WRITE = frozenset({
    "PutObject", "CopyObject", "DeleteObject", "DeleteObjects", "PostObject",
    "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
    "AbortMultipartUpload", "PutObjectTagging", "DeleteObjectTagging", "PutObjectAcl",
    "RestoreObject", "PutObjectRetention", "PutObjectLegalHold",
})


def required_permission(operation: str) -> str | None:
    """The permission ``operation`` needs on its bucket; None for ListBuckets (any key may ask;
    the answer shows only the buckets it may read)."""
    if operation == "ListBuckets":
        return None
    if operation.startswith(("Get", "Head", "List", "SelectObjectContent")):
        return "read"
    if operation in _WRITE:
        return "write"
    return "owner"


def may_bypass_governance(key: AccessKey | None, bucket: str) -> bool:
    """Whether ``key`` may lift a GOVERNANCE retention on ``bucket`` (S3's
    ``s3:BypassGovernanceRetention``): the bucket's owners and admins may (None: a server run
    without authentication, where every request may do everything)."""
    return key is None or key.allows(bucket, "owner")
