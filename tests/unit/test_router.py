"""The router as a table: (method, bucket, key, query, copy-source) -> operation."""

import pytest

from post3 import errors
from post3.api.router import ROUTES, resolve

TABLE = [
    ("GET", "", "", {}, False, "ListBuckets"),
    ("HEAD", "", "", {}, False, "ListBuckets"),
    ("GET", "b", "", {}, False, "ListObjects"),
    ("GET", "b", "", {"list-type": "2"}, False, "ListObjectsV2"),
    ("GET", "b", "", {"list-type": "2", "x-id": "ListObjectsV2"}, False, "ListObjectsV2"),
    ("GET", "b", "", {"location": ""}, False, "GetBucketLocation"),
    ("GET", "b", "", {"acl": ""}, False, "GetBucketAcl"),
    ("GET", "b", "", {"tagging": ""}, False, "GetBucketTagging"),
    ("GET", "b", "", {"versioning": ""}, False, "GetBucketVersioning"),
    ("GET", "b", "", {"versions": ""}, False, "ListObjectVersions"),
    ("GET", "b", "", {"uploads": ""}, False, "ListMultipartUploads"),
    ("GET", "b", "", {"policy": ""}, False, "GetBucketPolicy"),
    ("GET", "b", "", {"cors": ""}, False, "GetBucketCors"),
    ("GET", "b", "", {"lifecycle": ""}, False, "GetBucketLifecycleConfiguration"),
    ("GET", "b", "", {"encryption": ""}, False, "GetBucketEncryption"),
    ("GET", "b", "", {"object-lock": ""}, False, "GetObjectLockConfiguration"),
    ("GET", "b", "", {"publicAccessBlock": ""}, False, "GetPublicAccessBlock"),
    ("HEAD", "b", "", {}, False, "HeadBucket"),
    ("PUT", "b", "", {}, False, "CreateBucket"),
    ("PUT", "b", "", {"tagging": ""}, False, "PutBucketTagging"),
    ("PUT", "b", "", {"acl": ""}, False, "PutBucketAcl"),
    ("PUT", "b", "", {"versioning": ""}, False, "PutBucketVersioning"),
    ("DELETE", "b", "", {}, False, "DeleteBucket"),
    ("DELETE", "b", "", {"tagging": ""}, False, "DeleteBucketTagging"),
    ("DELETE", "b", "", {"cors": ""}, False, "DeleteBucketCors"),
    ("POST", "b", "", {"delete": ""}, False, "DeleteObjects"),
    ("POST", "b", "", {}, False, "PostObject"),
    ("GET", "b", "k", {}, False, "GetObject"),
    ("GET", "b", "k", {"x-id": "GetObject"}, False, "GetObject"),
    ("GET", "b", "k", {"versionId": "null"}, False, "GetObject"),
    ("GET", "b", "k", {"partNumber": "2"}, False, "GetObject"),
    ("GET", "b", "k", {"response-content-type": "a/b"}, False, "GetObject"),
    ("GET", "b", "k", {"acl": ""}, False, "GetObjectAcl"),
    ("GET", "b", "k", {"tagging": ""}, False, "GetObjectTagging"),
    ("GET", "b", "k", {"uploadId": "u"}, False, "ListParts"),
    ("GET", "b", "k", {"attributes": ""}, False, "GetObjectAttributes"),
    ("HEAD", "b", "k", {}, False, "HeadObject"),
    ("PUT", "b", "k", {}, False, "PutObject"),
    ("PUT", "b", "k", {"x-id": "PutObject"}, False, "PutObject"),
    ("PUT", "b", "k", {}, True, "CopyObject"),
    ("PUT", "b", "k", {"partNumber": "1", "uploadId": "u"}, False, "UploadPart"),
    ("PUT", "b", "k", {"partNumber": "1", "uploadId": "u"}, True, "UploadPartCopy"),
    ("PUT", "b", "k", {"acl": ""}, False, "PutObjectAcl"),
    ("PUT", "b", "k", {"tagging": ""}, False, "PutObjectTagging"),
    ("DELETE", "b", "k", {}, False, "DeleteObject"),
    ("DELETE", "b", "k", {"uploadId": "u"}, False, "AbortMultipartUpload"),
    ("DELETE", "b", "k", {"tagging": ""}, False, "DeleteObjectTagging"),
    ("POST", "b", "k", {"uploads": ""}, False, "CreateMultipartUpload"),
    ("POST", "b", "k", {"uploadId": "u"}, False, "CompleteMultipartUpload"),
    ("POST", "b", "k", {"restore": ""}, False, "RestoreObject"),
    ("post", "b", "k", {"select": "", "select-type": "2"}, False, "SelectObjectContent"),
    ("OPTIONS", "b", "k", {}, False, "OptionsObject"),
    ("OPTIONS", "b", "", {}, False, "OptionsObject"),
    ("GET", "b", "", {"cors": ""}, False, "GetBucketCors"),
    ("PUT", "b", "", {"cors": ""}, False, "PutBucketCors"),
    ("DELETE", "b", "", {"cors": ""}, False, "DeleteBucketCors"),
]


@pytest.mark.parametrize(("method", "bucket", "key", "query", "copy", "expected"), TABLE)
def test_resolve(method, bucket, key, query, copy, expected):
    assert resolve(method, bucket, key, query, copy) == expected


@pytest.mark.parametrize(
    ("method", "bucket", "key"),
    [("PUT", "", ""), ("DELETE", "", ""), ("POST", "", ""), ("PATCH", "b", ""),
     ("PATCH", "b", "k"), ("POST", "b", "k"), ("OPTIONS", "", "")],
)
def test_methods_s3_does_not_accept(method, bucket, key):
    with pytest.raises(errors.MethodNotAllowed):
        resolve(method, bucket, key, {})


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method}-{r.target}-{r.operation}")
def test_every_route_is_reachable(route):
    # No route is shadowed by one tried before it: its own shape resolves to it.
    bucket = "" if route.target == "service" else "bkt"
    key = "k" if route.target == "object" else ""
    query = set(route.query)
    assert resolve(route.method, bucket, key, query, bool(route.copy_source)) == route.operation

