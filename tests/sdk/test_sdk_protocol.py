"""boto3 against a live ``post3 run``: protocol details a client notices (issue 11, "Protocol")."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def bucket(s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    return bucket_name


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_misspelt_canned_acl_is_invalid_argument(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-ready")
    assert error_of(excinfo) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key="k")
    assert error_of(excinfo) == ("404", 404)


def test_single_part_object_checksum_type_is_full_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"123456789", ChecksumAlgorithm="CRC32")
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32"], head["ChecksumType"]) == ("y/Q5Jg==", "FULL_OBJECT")
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"123456789"
    assert (got["ChecksumCRC32"], got["ChecksumType"]) == ("y/Q5Jg==", "FULL_OBJECT")


def test_list_buckets_pages(s3, bucket_name):
    names = [f"{bucket_name}-{i}" for i in range(5)]
    for name in names:
        s3.create_bucket(Bucket=name)
    pages = list(s3.get_paginator("list_buckets").paginate(
        Prefix=bucket_name, PaginationConfig={"PageSize": 2}))
    assert [len(page["Buckets"]) for page in pages] == [2, 2, 1]
    assert [b["Name"] for page in pages for b in page["Buckets"]] == names
    assert all(page["Prefix"] == bucket_name for page in pages)
    assert "ContinuationToken" in pages[0] and "ContinuationToken" not in pages[-1]
    elsewhere = s3.list_buckets(Prefix=bucket_name, BucketRegion="ap-south-1")
    assert elsewhere["Buckets"] == []
