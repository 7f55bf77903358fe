"""post3.client against a live ``post3 run``, on every installed backend."""

from __future__ import annotations

import io
import os
import urllib.parse
from collections.abc import AsyncIterator

import pytest
from botocore.exceptions import ClientError

import post3.client
from post3 import errors

ACCESS_KEY = SECRET_KEY = "testing"
MiB = 1024**2


@pytest.fixture
async def s3(endpoint_url: str) -> AsyncIterator[post3.client.S3Client]:
    async with post3.client.connect(endpoint_url, ACCESS_KEY, SECRET_KEY) as client:
        yield client


async def test_connect_reads_endpoint_and_credentials_from_environment(
    endpoint_url: str, bucket_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POST3_ENDPOINT_URL", endpoint_url)
    monkeypatch.setenv("POST3_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("POST3_SECRET_KEY", SECRET_KEY)
    # botocore's own variables lose to post3's (the server would refuse these)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "not-this-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-this-secret")
    async with post3.client.connect() as s3:
        assert await s3.ensure_bucket(bucket_name)
        url = await s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket_name, "Key": "k"}
        )
    parsed = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parsed.query)
    # path-style on the configured endpoint, signed for us-east-1 with the variables' key
    assert f"{parsed.scheme}://{parsed.netloc}" == endpoint_url
    assert parsed.path == f"/{bucket_name}/k"
    assert query["X-Amz-Credential"][0].startswith(f"{ACCESS_KEY}/")
    assert "/us-east-1/s3/" in query["X-Amz-Credential"][0]


async def test_ensure_bucket_creates_once(s3: post3.client.S3Client, bucket_name: str) -> None:
    assert await s3.ensure_bucket(bucket_name) is True
    assert await s3.ensure_bucket(bucket_name) is False
    names = [b["Name"] for b in (await s3.list_buckets())["Buckets"]]
    assert bucket_name in names


async def test_service_errors_are_post3_errors(s3: post3.client.S3Client,
                                                bucket_name: str) -> None:
    await s3.ensure_bucket(bucket_name)
    with pytest.raises(errors.NoSuchKey) as raised:
        await s3.get_object(Bucket=bucket_name, Key="missing")
    assert raised.value.status == 404
    assert raised.value.fields["Key"] == "missing"
    assert isinstance(raised.value.__cause__, ClientError)
    # Code written for plain aiobotocore still sees a ClientError.
    assert isinstance(raised.value, ClientError)
    assert raised.value.response["Error"]["Code"] == "NoSuchKey"

    with pytest.raises(errors.NoSuchKey):  # HEAD: no body, mapped from the status
        await s3.head_object(Bucket=bucket_name, Key="missing")
    with pytest.raises(errors.NoSuchBucket):
        await s3.head_bucket(Bucket=f"{bucket_name}-absent")
    with pytest.raises(errors.NoSuchBucket):
        await s3.list_objects_v2(Bucket=f"{bucket_name}-absent")
    await s3.put_object(Bucket=bucket_name, Key="k", Body=b"x")
    with pytest.raises(errors.BucketNotEmpty):
        await s3.delete_bucket(Bucket=bucket_name)


async def test_small_upload_is_one_put_with_metadata(
    s3: post3.client.S3Client, bucket_name: str, tmp_path
) -> None:
    await s3.ensure_bucket(bucket_name)
    seen: list[tuple[int, int | None]] = []
    answer = await s3.upload_stream(
        bucket_name, "note.txt", io.BytesIO(b"hello post3"), progress=lambda *a: seen.append(a),
        Metadata={"owner": "ada"}, ContentType="text/plain",
    )
    assert "-" not in answer["ETag"]  # not a multipart ETag
    assert seen == [(11, 11)]
    head = await s3.head_object(Bucket=bucket_name, Key="note.txt")
    assert head["Metadata"] == {"owner": "ada"}
    assert head["ContentType"] == "text/plain"
    target = tmp_path / "note.txt"
    assert await s3.download_file(bucket_name, "note.txt", target) == 11
    assert target.read_bytes() == b"hello post3"


async def test_empty_object_round_trip(s3: post3.client.S3Client, bucket_name: str,
                                       tmp_path) -> None:
    await s3.ensure_bucket(bucket_name)

    async def nothing() -> AsyncIterator[bytes]:
        return
        yield b""

    await s3.upload_stream(bucket_name, "empty", nothing())
    target = tmp_path / "empty"
    assert await s3.download_file(bucket_name, "empty", target) == 0
    assert target.read_bytes() == b""


async def test_large_file_goes_up_in_parts_and_comes_back(
    s3: post3.client.S3Client, bucket_name: str, tmp_path
) -> None:
    await s3.ensure_bucket(bucket_name)
    data = os.urandom(11 * MiB + 3)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    seen: list[tuple[int, int | None]] = []
    answer = await s3.upload_file(
        bucket_name, "big.bin", source, part_size=5 * MiB, multipart_threshold=5 * MiB,
        progress=lambda *a: seen.append(a),
    )
    assert answer["ETag"].endswith('-3"')  # three parts: 5 + 5 + 1 MiB
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (len(data), len(data))

    target = tmp_path / "back.bin"
    seen.clear()
    size = await s3.download_file(bucket_name, "big.bin", target, part_size=4 * MiB,
                                  progress=lambda *a: seen.append(a))
    assert size == len(data)
    assert target.read_bytes() == data
    assert seen[-1] == (len(data), len(data))
    listed = (await s3.list_multipart_uploads(Bucket=bucket_name)).get("Uploads", [])
    assert listed == []


async def test_failed_upload_is_aborted(s3: post3.client.S3Client, bucket_name: str) -> None:
    await s3.ensure_bucket(bucket_name)

    async def breaks_midway() -> AsyncIterator[bytes]:
        yield os.urandom(6 * MiB)
        yield os.urandom(6 * MiB)
        raise OSError("the source went away")

    with pytest.raises(OSError, match="went away"):
        await s3.upload_stream(bucket_name, "broken", breaks_midway(), part_size=5 * MiB,
                               multipart_threshold=5 * MiB)
    listed = (await s3.list_multipart_uploads(Bucket=bucket_name)).get("Uploads", [])
    assert listed == []
    with pytest.raises(errors.NoSuchKey):
        await s3.head_object(Bucket=bucket_name, Key="broken")


async def test_download_refuses_to_mix_two_versions(s3: post3.client.S3Client,
                                                    bucket_name: str) -> None:
    await s3.ensure_bucket(bucket_name)
    await s3.put_object(Bucket=bucket_name, Key="moving", Body=b"a" * (6 * MiB))
    chunks = s3.download_stream(bucket_name, "moving", part_size=5 * MiB)
    first = await anext(chunks)
    assert first.startswith(b"a")
    await s3.put_object(Bucket=bucket_name, Key="moving", Body=b"b" * (6 * MiB))
    with pytest.raises(errors.PreconditionFailed):
        async for _ in chunks:
            pass


async def test_iter_objects_walks_every_page_in_order(s3: post3.client.S3Client,
                                                      bucket_name: str) -> None:
    await s3.ensure_bucket(bucket_name)
    keys = [f"logs/{i:02d}" for i in range(7)]
    for key in [*keys, "other/x"]:
        await s3.put_object(Bucket=bucket_name, Key=key, Body=key.encode())
    listed = [entry async for entry in s3.iter_objects(bucket_name, "logs/", page_size=3)]
    assert [entry["Key"] for entry in listed] == keys
    assert all(entry["Size"] == 7 for entry in listed)
