"""Which S3 actions act on a bucket and which on an object, for the check S3 makes when a policy
is put: an action that no Resource of its statement can name is refused ("Action does not apply
to any resource(s) in statement"), such as ``s3:ListBucket`` on ``arn:aws:s3:::bucket/*``.

Actions not listed here are not checked: S3 accepts actions it does not know (its own docs
show a policy with ``s3:NotASupportedAction`` being judged public), so this table only has to
be right, not complete.
"""

from __future__ import annotations

_OBJECT = """
AbortMultipartUpload BypassGovernanceRetention DeleteObject DeleteObjectTagging
DeleteObjectVersion DeleteObjectVersionTagging GetObject GetObjectAcl GetObjectAttributes
GetObjectLegalHold GetObjectRetention GetObjectTagging GetObjectTorrent GetObjectVersion
GetObjectVersionAcl GetObjectVersionAttributes GetObjectVersionForReplication
GetObjectVersionTagging GetObjectVersionTorrent ListMultipartUploadParts PutObject
PutObjectAcl PutObjectLegalHold PutObjectRetention PutObjectTagging PutObjectVersionAcl
PutObjectVersionTagging ReplicateDelete ReplicateObject ReplicateTags RestoreObject
"""

_BUCKET = """
CreateBucket DeleteBucket DeleteBucketPolicy DeleteBucketWebsite GetAccelerateConfiguration
GetAnalyticsConfiguration GetBucketAcl GetBucketCORS GetBucketLocation GetBucketLogging
GetBucketMetadataTableConfiguration
GetBucketNotification GetBucketObjectLockConfiguration GetBucketOwnershipControls
GetBucketPolicy GetBucketPolicyStatus GetBucketPublicAccessBlock GetBucketRequestPayment
GetBucketTagging GetBucketVersioning GetBucketWebsite GetEncryptionConfiguration
GetIntelligentTieringConfiguration GetInventoryConfiguration GetLifecycleConfiguration
GetMetricsConfiguration GetReplicationConfiguration ListBucket ListBucketMultipartUploads
ListBucketVersions PutAccelerateConfiguration PutAnalyticsConfiguration PutBucketAcl
PutBucketCORS PutBucketLogging PutBucketNotification PutBucketObjectLockConfiguration
PutBucketOwnershipControls PutBucketPolicy PutBucketPublicAccessBlock PutBucketRequestPayment
PutBucketTagging PutBucketVersioning PutBucketWebsite PutEncryptionConfiguration
PutIntelligentTieringConfiguration PutInventoryConfiguration PutLifecycleConfiguration
PutMetricsConfiguration PutReplicationConfiguration
"""

# Account-wide actions name no bucket, so no bucket policy can grant them.
_ACCOUNT = """
ListAllMyBuckets GetAccountPublicAccessBlock PutAccountPublicAccessBlock
"""

KINDS: dict[str, str] = {
    f"s3:{name.lower()}": kind
    for kind, names in (("object", _OBJECT), ("bucket", _BUCKET), ("account", _ACCOUNT))
    for name in names.split()
}


def kind(action: str) -> str | None:
    """"object", "bucket", "account", or None for an action this table does not know."""
    return KINDS.get(action.lower())
