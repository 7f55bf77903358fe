"""aiobotocore, configured as a user would (endpoint, credentials, region, path style), against a
live ``post3 run``. Over plain http it sends a hex SHA-256 payload hash plus a CRC32 checksum
header on every PutObject; one test forces the aws-chunked trailer framing it uses over https.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import zlib

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError


@pytest.fixture
async def s3(endpoint_url):
    session = get_session()
    async with session.create_client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
        config=AioConfig(s3={"addressing_style": "path"}),
    ) as client:
        yield client


@pytest.fixture
async def bucket(s3, bucket_name):
    await s3.create_bucket(Bucket=bucket_name)
    return bucket_name


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def as_text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def quoted_md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


async def read_object(s3, bucket: str, key: str, **kwargs) -> tuple[dict, bytes]:
    response = await s3.get_object(Bucket=bucket, Key=key, **kwargs)
    async with response["Body"] as stream:
        return response, await stream.read()


async def all_keys(s3, bucket: str, **kwargs) -> list[str]:
    keys = []
    async for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, **kwargs):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return keys


# --------------------------------------------------------------------------- buckets


async def test_bucket_lifecycle(s3, bucket_name):
    await s3.create_bucket(Bucket=bucket_name)
    assert bucket_name in [b["Name"] for b in (await s3.list_buckets())["Buckets"]]
    await s3.head_bucket(Bucket=bucket_name)
    assert (await s3.get_bucket_location(Bucket=bucket_name)).get("LocationConstraint") is None

    await s3.put_object(Bucket=bucket_name, Key="k", Body=b"x")
    # us-east-1: creating a bucket you own again succeeds and keeps its objects
    await s3.create_bucket(Bucket=bucket_name)
    assert (await s3.head_object(Bucket=bucket_name, Key="k"))["ContentLength"] == 1
    with pytest.raises(ClientError) as excinfo:
        await s3.delete_bucket(Bucket=bucket_name)
    assert error_of(excinfo) == ("BucketNotEmpty", 409)

    await s3.delete_object(Bucket=bucket_name, Key="k")
    await s3.delete_bucket(Bucket=bucket_name)
    with pytest.raises(ClientError) as excinfo:
        await s3.head_bucket(Bucket=bucket_name)
    assert error_of(excinfo) == ("404", 404)
    with pytest.raises(ClientError) as excinfo:
        await s3.delete_bucket(Bucket=bucket_name)
    assert error_of(excinfo) == ("NoSuchBucket", 404)


async def test_invalid_bucket_name_is_rejected(s3):
    with pytest.raises(ClientError) as excinfo:
        await s3.create_bucket(Bucket="Not_Valid")
    assert error_of(excinfo) == ("InvalidBucketName", 400)


# --------------------------------------------------------------------------- objects


async def test_put_get_head_round_trip(s3, bucket, make_bytes):
    data = make_bytes(1_500_000)

    put = await s3.put_object(Bucket=bucket, Key="obj", Body=data)
    got, body = await read_object(s3, bucket, "obj")
    head = await s3.head_object(Bucket=bucket, Key="obj")

    assert body == data
    assert put["ETag"] == got["ETag"] == head["ETag"] == quoted_md5(data)
    assert head["ContentLength"] == len(data)


async def test_special_key_round_trips(s3, bucket, special_key):
    data = special_key.encode()

    await s3.put_object(Bucket=bucket, Key=special_key, Body=data)

    assert (await read_object(s3, bucket, special_key))[1] == data
    assert (await s3.head_object(Bucket=bucket, Key=special_key))["ContentLength"] == len(data)
    assert await all_keys(s3, bucket) == [special_key]
    listed_v1 = await s3.list_objects(Bucket=bucket)
    assert [o["Key"] for o in listed_v1["Contents"]] == [special_key]
    await s3.copy_object(
        Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": special_key}
    )
    assert (await read_object(s3, bucket, "copy"))[1] == data
    await s3.delete_object(Bucket=bucket, Key=special_key)
    assert await all_keys(s3, bucket) == ["copy"]


async def test_metadata_and_content_headers_round_trip(s3, bucket):
    await s3.put_object(
        Bucket=bucket,
        Key="k",
        Body=b"{}",
        Metadata={"owner": "me", "note": "with space"},
        ContentType="application/json",
        ContentDisposition="inline",
        ContentLanguage="en",
        CacheControl="no-store",
        Expires=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )

    head = await s3.head_object(Bucket=bucket, Key="k")

    assert head["Metadata"] == {"owner": "me", "note": "with space"}
    assert head["ContentType"] == "application/json"
    assert head["ContentDisposition"] == "inline"
    assert head["ContentLanguage"] == "en"
    assert head["CacheControl"] == "no-store"
    assert head["ExpiresString"] == "Tue, 01 Jan 2030 00:00:00 GMT"


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [("bytes=0-9", 0, 10), ("bytes=5-", 5, 100), ("bytes=-3", 97, 100)],
)
async def test_ranges(s3, bucket, make_bytes, header, start, stop):
    data = make_bytes(100)
    await s3.put_object(Bucket=bucket, Key="r", Body=data)

    got, body = await read_object(s3, bucket, "r", Range=header)

    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes {start}-{stop - 1}/100"
    assert body == data[start:stop]


async def test_unsatisfiable_range_is_invalid_range(s3, bucket):
    await s3.put_object(Bucket=bucket, Key="r", Body=b"short")
    with pytest.raises(ClientError) as excinfo:
        await s3.get_object(Bucket=bucket, Key="r", Range="bytes=5-")
    assert error_of(excinfo) == ("InvalidRange", 416)


async def test_response_overrides(s3, bucket):
    await s3.put_object(Bucket=bucket, Key="k", Body=b"x", ContentType="text/plain")

    got, _ = await read_object(
        s3,
        bucket,
        "k",
        ResponseContentType="text/csv",
        ResponseContentDisposition="attachment",
        ResponseCacheControl="private",
    )

    assert got["ContentType"] == "text/csv"
    assert got["ContentDisposition"] == "attachment"
    assert got["CacheControl"] == "private"


async def test_missing_object_and_bucket_errors(s3, bucket, bucket_name):
    with pytest.raises(ClientError) as excinfo:
        await s3.get_object(Bucket=bucket, Key="missing")
    assert error_of(excinfo) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as excinfo:
        await s3.head_object(Bucket=bucket, Key="missing")
    assert error_of(excinfo) == ("404", 404)
    with pytest.raises(ClientError) as excinfo:
        await s3.get_object(Bucket=bucket_name + "-none", Key="k")
    assert error_of(excinfo) == ("NoSuchBucket", 404)


async def test_delete_object_is_idempotent(s3, bucket):
    await s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for _ in range(2):
        response = await s3.delete_object(Bucket=bucket, Key="k")
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert await all_keys(s3, bucket) == []


async def test_delete_objects(s3, bucket):
    for key in ("a", "b b", "c+c", "keep"):
        await s3.put_object(Bucket=bucket, Key=key, Body=b"x")

    loud = await s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b b"}, {"Key": "gone"}]}
    )
    quiet = await s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "c+c"}], "Quiet": True}
    )

    assert sorted(d["Key"] for d in loud["Deleted"]) == ["a", "b b", "gone"]
    assert quiet.get("Deleted", []) == []
    assert await all_keys(s3, bucket) == ["keep"]


async def test_listing_v2_and_v1(s3, bucket):
    keys = ["p/1", "p/2", "p/q/3", "r", "s t"]
    for key in keys:
        await s3.put_object(Bucket=bucket, Key=key, Body=b"x")

    v2 = await s3.list_objects_v2(Bucket=bucket, Delimiter="/", Prefix="p/")
    page1 = await s3.list_objects_v2(Bucket=bucket, MaxKeys=2)
    page2 = await s3.list_objects_v2(
        Bucket=bucket, MaxKeys=2, ContinuationToken=page1["NextContinuationToken"]
    )
    after = await s3.list_objects_v2(Bucket=bucket, StartAfter="p/q/3")
    v1 = await s3.list_objects(Bucket=bucket, Marker="p/2", MaxKeys=2)

    assert [o["Key"] for o in v2["Contents"]] == ["p/1", "p/2"]
    assert [c["Prefix"] for c in v2["CommonPrefixes"]] == ["p/q/"]
    assert [o["Key"] for o in page1["Contents"] + page2["Contents"]] == keys[:4]
    assert page1["IsTruncated"] is True
    assert [o["Key"] for o in after["Contents"]] == ["r", "s t"]
    assert [o["Key"] for o in v1["Contents"]] == ["p/q/3", "r"]
    assert v1["IsTruncated"] is True
    assert await all_keys(s3, bucket) == keys


async def test_copy_object_directives(s3, bucket):
    await s3.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"a": "1"})

    await s3.copy_object(Bucket=bucket, Key="kept", CopySource=f"{bucket}/src")
    await s3.copy_object(
        Bucket=bucket,
        Key="replaced",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
    )

    kept, kept_body = await read_object(s3, bucket, "kept")
    replaced, replaced_body = await read_object(s3, bucket, "replaced")
    assert kept["Metadata"] == {"a": "1"}
    assert replaced["Metadata"] == {"b": "2"}
    assert kept_body == replaced_body == b"payload"


async def test_header_checksum_put_is_what_aiobotocore_sends_over_http(s3, bucket, make_bytes):
    sent = {}

    def record(request, **_):
        sent.update({k.lower(): as_text(v) for k, v in request.headers.items()})

    s3.meta.events.register("before-send.s3.PutObject", record)
    data = make_bytes(200_000)

    await s3.put_object(Bucket=bucket, Key="k", Body=data)

    assert sent["x-amz-content-sha256"] == hashlib.sha256(data).hexdigest()
    assert sent["x-amz-checksum-crc32"] == base64.b64encode(
        zlib.crc32(data).to_bytes(4, "big")
    ).decode()
    head = await s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == sent["x-amz-checksum-crc32"]


class AsyncChunks:
    """A body that can only be read forward, asynchronously: no seek, no tell, no length."""

    def __init__(self, data: bytes, piece: int = 100_000):
        self._data = data
        self._offset = 0
        self._piece = piece

    async def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._data) - self._offset
        chunk = self._data[self._offset : self._offset + min(size, self._piece)]
        self._offset += len(chunk)
        return chunk


async def test_aws_chunked_trailer_upload_of_a_non_seekable_body(s3, bucket, make_bytes):
    """Over http botocore puts the checksum in a header, which needs a seekable body. Moving it
    to the trailer (what botocore does over https) sends ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``:
    aws-chunked with a CRC32 trailer, inside HTTP chunked transfer encoding."""
    sent = {}

    def checksum_in_trailer(params, **_):
        params["context"]["checksum"]["request_algorithm"]["in"] = "trailer"

    def record(request, **_):
        sent.update({k.lower(): as_text(v) for k, v in request.headers.items()})

    s3.meta.events.register("before-call.s3.PutObject", checksum_in_trailer)
    s3.meta.events.register("before-send.s3.PutObject", record)
    data = make_bytes(2 * 1024 * 1024 + 1)

    await s3.put_object(
        Bucket=bucket, Key="streamed", Body=AsyncChunks(data), ContentLength=len(data)
    )

    assert sent["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert sent["x-amz-trailer"] == "x-amz-checksum-crc32"
    got, body = await read_object(s3, bucket, "streamed")
    assert body == data
    assert got["ContentLength"] == len(data)
    assert got["ETag"] == quoted_md5(data)
    assert "aws-chunked" not in got.get("ContentEncoding", "")
