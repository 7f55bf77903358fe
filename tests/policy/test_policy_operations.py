"""The action each S3 operation is authorized as."""

from __future__ import annotations

import pytest

from post3.api.router import ROUTES
from post3.policy import actions
from post3.policy.operations import required_action


@pytest.mark.parametrize(("operation", "versioned", "action"), [
    ("ListObjectsV2", False, "s3:ListBucket"),
    ("HeadBucket", False, "s3:ListBucket"),
    ("ListObjectVersions", False, "s3:ListBucketVersions"),
    ("HeadObject", False, "s3:GetObject"),
    ("HeadObject", True, "s3:GetObjectVersion"),
    ("GetObject", True, "s3:GetObjectVersion"),
    ("DeleteObject", True, "s3:DeleteObjectVersion"),
    ("PutObjectTagging", True, "s3:PutObjectVersionTagging"),
    ("GetObjectRetention", True, "s3:GetObjectRetention"),  # no versioned form
    ("UploadPart", False, "s3:PutObject"),
    ("CompleteMultipartUpload", False, "s3:PutObject"),
    ("ListParts", False, "s3:ListMultipartUploadParts"),
    ("DeletePublicAccessBlock", False, "s3:PutBucketPublicAccessBlock"),
    ("DeleteBucketCors", False, "s3:PutBucketCORS"),
    ("DeleteBucketLifecycle", False, "s3:PutLifecycleConfiguration"),
    ("GetObjectLockConfiguration", False, "s3:GetBucketObjectLockConfiguration"),
    ("ListBuckets", False, "s3:ListAllMyBuckets"),
])
def test_required_action(operation, versioned, action):
    assert required_action(operation, versioned=versioned) == action


def test_every_routed_operation_has_an_action_on_the_right_resource():
    for route in ROUTES:
        if route.operation == "OptionsObject":
            with pytest.raises(KeyError):  # a preflight is not authorized by policy
                required_action(route.operation)
            continue
        expected = {"service": "account", "bucket": "bucket", "object": "object"}[route.target]
        if route.operation in ("DeleteObjects", "PostObject"):
            expected = "object"  # addressed to the bucket, authorized per object key
        for versioned in (False, True):
            action = required_action(route.operation, versioned=versioned)
            assert actions.kind(action) == expected, (route, action)
