"""boto3 against a live ``post3 run``: protocol details a client notices (issue 11, "Protocol")."""

from __future__ import annotations

import base64
import zlib

import pytest
from botocore.exceptions import ClientError

MiB = 1024 * 1024


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


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def crc32_upload(s3, bucket, key, make_bytes, **create):
    """Two CRC32 parts (5 MiB and 1 KiB) uploaded with botocore computing each checksum."""
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key=key, ChecksumAlgorithm="CRC32", **create)["UploadId"]
    parts = [make_bytes(5 * MiB, "one"), make_bytes(1024, "two")]
    listed = []
    for number, data in enumerate(parts, 1):
        answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                Body=data, ChecksumAlgorithm="CRC32")
        assert answer["ChecksumCRC32"] == crc32_b64(data)
        listed.append({"PartNumber": number, "ETag": answer["ETag"],
                       "ChecksumCRC32": answer["ChecksumCRC32"]})
    return upload_id, parts, listed


def test_complete_checks_the_expected_composite_checksum(s3_single_attempt, bucket, make_bytes):
    s3 = s3_single_attempt
    upload_id, parts, listed = crc32_upload(s3, bucket, "mp", make_bytes)
    raw = b"".join(zlib.crc32(p).to_bytes(4, "big") for p in parts)
    composite = base64.b64encode(zlib.crc32(raw).to_bytes(4, "big")).decode() + "-2"
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                     MultipartUpload={"Parts": listed},
                                     ChecksumCRC32=crc32_b64(b"wrong") + "-2")
    assert error_of(excinfo) == ("BadDigest", 400)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                        MultipartUpload={"Parts": listed},
                                        ChecksumCRC32=composite)
    assert done["ChecksumCRC32"] == composite
    # A retry of the same completion (its answer was lost) answers the same.
    again = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                         MultipartUpload={"Parts": listed})
    assert again["ETag"] == done["ETag"]


def test_complete_checks_the_expected_full_object_crc(s3_single_attempt, bucket, make_bytes):
    s3 = s3_single_attempt
    upload_id, parts, listed = crc32_upload(s3, bucket, "full", make_bytes,
                                            ChecksumType="FULL_OBJECT")
    whole = crc32_b64(b"".join(parts))
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(Bucket=bucket, Key="full", UploadId=upload_id,
                                     MultipartUpload={"Parts": listed},
                                     ChecksumCRC32=crc32_b64(b"wrong"), ChecksumType="FULL_OBJECT")
    assert error_of(excinfo) == ("BadDigest", 400)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="full", UploadId=upload_id,
                                        MultipartUpload={"Parts": listed},
                                        ChecksumCRC32=whole, ChecksumType="FULL_OBJECT")
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    got = s3.get_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"".join(parts)  # botocore verified the whole-object CRC
    assert got["ChecksumCRC32"] == whole


def test_part_reads_and_attributes_carry_part_checksums(s3, bucket, make_bytes):
    upload_id, parts, listed = crc32_upload(s3, bucket, "mp", make_bytes)
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                 MultipartUpload={"Parts": listed})
    for number, data in enumerate(parts, 1):
        got = s3.get_object(Bucket=bucket, Key="mp", PartNumber=number, ChecksumMode="ENABLED")
        # botocore checks the body against the checksum it was sent, as it reads it
        assert got["Body"].read() == data
        assert got["ChecksumCRC32"] == crc32_b64(data)
        head = s3.head_object(Bucket=bucket, Key="mp", PartNumber=number, ChecksumMode="ENABLED")
        assert head["ChecksumCRC32"] == crc32_b64(data)

    first = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"],
                                     MaxParts=1)["ObjectParts"]
    assert (first["TotalPartsCount"], first["IsTruncated"], first["MaxParts"],
            str(first["NextPartNumberMarker"])) == (2, True, 1, "1")
    assert first["Parts"] == [{"PartNumber": 1, "Size": 5 * MiB,
                               "ChecksumCRC32": crc32_b64(parts[0])}]
    rest = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"],
                                    MaxParts=1, PartNumberMarker=1)["ObjectParts"]
    assert rest["IsTruncated"] is False
    assert rest["Parts"] == [{"PartNumber": 2, "Size": 1024, "ChecksumCRC32": crc32_b64(parts[1])}]


def test_max_keys_zero_is_an_empty_untruncated_page(s3, bucket):
    for key in ("a", "b/c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    v2 = s3.list_objects_v2(Bucket=bucket, MaxKeys=0)
    assert (v2["KeyCount"], v2["IsTruncated"], v2.get("Contents")) == (0, False, None)
    v1 = s3.list_objects(Bucket=bucket, MaxKeys=0, Delimiter="/")
    assert (v1["IsTruncated"], v1.get("Contents"), v1.get("CommonPrefixes")) == (False, None, None)
