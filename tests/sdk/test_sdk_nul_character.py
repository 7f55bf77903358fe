"""U+0000 in a key or a key-like parameter: 400 InvalidArgument on every backend, as one rule.

S3's XML cannot carry U+0000 (not even as a character reference), so such a key could never
be listed; PostgreSQL's ``text`` cannot hold it either. post3 refuses it wherever a key, a
prefix, a marker or a copy source enters, before any backend sees it.
"""

from __future__ import annotations

import base64

import pytest
from botocore.exceptions import ClientError

NUL = "a\x00b"


@pytest.fixture
def s3(s3_single_attempt):
    # One attempt: a 500 would be retried with back-off and hide nothing but time.
    return s3_single_attempt


@pytest.fixture
def bucket(s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_object(Bucket=bucket_name, Key="a", Body=b"x")
    return bucket_name


def _upload(s3, bucket):
    return s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]


CALLS = {
    "PutObject key": lambda s3, b: s3.put_object(Bucket=b, Key=NUL, Body=b"x"),
    "GetObject key": lambda s3, b: s3.get_object(Bucket=b, Key=NUL),
    "DeleteObject key": lambda s3, b: s3.delete_object(Bucket=b, Key=NUL),
    "CreateMultipartUpload key": lambda s3, b: s3.create_multipart_upload(Bucket=b, Key=NUL),
    "PutObjectTagging key": lambda s3, b: s3.put_object_tagging(
        Bucket=b, Key=NUL, Tagging={"TagSet": []}),
    "ListObjectsV2 prefix": lambda s3, b: s3.list_objects_v2(Bucket=b, Prefix=NUL),
    "ListObjectsV2 start-after": lambda s3, b: s3.list_objects_v2(Bucket=b, StartAfter=NUL),
    "ListObjectsV2 delimiter": lambda s3, b: s3.list_objects_v2(Bucket=b, Delimiter="\x00"),
    "ListObjectsV2 continuation-token": lambda s3, b: s3.list_objects_v2(
        Bucket=b, ContinuationToken=base64.urlsafe_b64encode(NUL.encode()).decode()),
    "ListObjects marker": lambda s3, b: s3.list_objects(Bucket=b, Marker=NUL),
    "ListObjects prefix": lambda s3, b: s3.list_objects(Bucket=b, Prefix=NUL),
    "ListObjectVersions key-marker": lambda s3, b: s3.list_object_versions(
        Bucket=b, KeyMarker=NUL),
    "ListMultipartUploads prefix": lambda s3, b: s3.list_multipart_uploads(
        Bucket=b, Prefix=NUL),
    "ListMultipartUploads key-marker": lambda s3, b: s3.list_multipart_uploads(
        Bucket=b, KeyMarker=NUL),
    "CopyObject source": lambda s3, b: s3.copy_object(
        Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": NUL}),
    "UploadPartCopy source": lambda s3, b: s3.upload_part_copy(
        Bucket=b, Key="mp", UploadId=_upload(s3, b), PartNumber=1,
        CopySource={"Bucket": b, "Key": NUL}),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_nul_is_refused_with_invalid_argument(s3, bucket, call) -> None:
    with pytest.raises(ClientError) as excinfo:
        call(s3, bucket)
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    assert response["Error"]["Code"] == "InvalidArgument", response
    # Nothing was stored under a key with U+0000, or under one a backend made of it.
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["a"]


def test_head_object_with_nul_is_400(s3, bucket) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key=NUL)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_delete_objects_with_nul_in_the_document_is_refused(s3, bucket) -> None:
    # The request document cannot carry U+0000 at all: it is not XML.
    with pytest.raises(ClientError) as excinfo:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": NUL}, {"Key": "a"}]})
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert s3.head_object(Bucket=bucket, Key="a")["ContentLength"] == 1


def test_a_tag_with_nul_is_invalid_tag(s3, bucket) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="tagged", Body=b"x", Tagging="note=a%00b")
    response = excinfo.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InvalidTag", 400)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="tagged")
