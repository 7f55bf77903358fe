"""The ``minio`` Python SDK against a live ``post3 run``, configured with only the endpoint and
credentials (it picks path-style addressing itself for a non-AWS host)."""

from __future__ import annotations

import hashlib
import io
import urllib.parse

import pytest
from minio import Minio
from minio.commonconfig import ComposeSource, CopySource
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

MiB = 1024 * 1024


@pytest.fixture
def mc(endpoint_url):
    url = urllib.parse.urlsplit(endpoint_url)
    return Minio(url.netloc, access_key="testing", secret_key="testing", secure=False)


@pytest.fixture
def bucket(mc, bucket_name):
    mc.make_bucket(bucket_name)
    return bucket_name


def read(mc, bucket: str, key: str, **kwargs) -> bytes:
    response = mc.get_object(bucket, key, **kwargs)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def put(mc, bucket: str, key: str, data: bytes, **kwargs):
    return mc.put_object(bucket, key, io.BytesIO(data), len(data), **kwargs)


def test_scenario(mc, bucket, special_keys, make_bytes):
    assert mc.bucket_exists(bucket)
    assert bucket in [b.name for b in mc.list_buckets()]
    small = make_bytes(3000, "minio")
    result = put(mc, bucket, "dir/small.bin", small, content_type="application/x-test",
                 metadata={"x-amz-meta-colour": "blue"})
    assert result.etag == hashlib.md5(small).hexdigest()
    put(mc, bucket, "dir/sub/deeper.txt", b"deeper")
    for key in special_keys:
        put(mc, bucket, key, key.encode())

    # get, whole and ranged
    assert read(mc, bucket, "dir/small.bin") == small
    assert read(mc, bucket, "dir/small.bin", offset=1000, length=10) == small[1000:1010]
    assert read(mc, bucket, "dir/small.bin", offset=2990) == small[2990:]
    for key in special_keys:
        assert read(mc, bucket, key) == key.encode()

    # head
    stat = mc.stat_object(bucket, "dir/small.bin")
    assert stat.size == len(small)
    assert stat.etag == hashlib.md5(small).hexdigest()
    assert stat.content_type == "application/x-test"
    assert stat.metadata["x-amz-meta-colour"] == "blue"
    with pytest.raises(S3Error) as excinfo:
        mc.stat_object(bucket, "absent")
    assert excinfo.value.code == "NoSuchKey"

    # list with a delimiter, with a prefix, and everything
    top = {o.object_name for o in mc.list_objects(bucket)}
    assert top == {"dir/", "日本語/", *(k for k in special_keys if "/" not in k)}
    level = {(o.object_name, o.is_dir) for o in mc.list_objects(bucket, prefix="dir/")}
    assert level == {("dir/small.bin", False), ("dir/sub/", True)}
    everything = [o.object_name for o in mc.list_objects(bucket, recursive=True)]
    assert everything == sorted(["dir/small.bin", "dir/sub/deeper.txt", *special_keys])
    v1 = [o.object_name for o in mc.list_objects(bucket, recursive=True, use_api_v1=True)]
    assert v1 == everything

    # copy
    mc.copy_object(bucket, "copied.bin", CopySource(bucket, "dir/small.bin"))
    assert read(mc, bucket, "copied.bin") == small
    mc.copy_object(bucket, "copy of special", CopySource(bucket, special_keys[0]))
    assert read(mc, bucket, "copy of special") == special_keys[0].encode()

    # delete one, then several at once (DeleteObjects, with Content-MD5)
    mc.remove_object(bucket, special_keys[0])
    with pytest.raises(S3Error):
        mc.stat_object(bucket, special_keys[0])
    doomed = ["copied.bin", "copy of special", *special_keys[1:], "never-existed"]
    errors = list(mc.remove_objects(bucket, [DeleteObject(k) for k in doomed]))
    assert errors == []
    remaining = [o.object_name for o in mc.list_objects(bucket, recursive=True)]
    assert remaining == ["dir/small.bin", "dir/sub/deeper.txt"]
    for key in remaining:
        mc.remove_object(bucket, key)
    mc.remove_bucket(bucket)
    assert not mc.bucket_exists(bucket)


def test_multipart_put_and_compose(mc, bucket, make_bytes):
    data = make_bytes(11 * MiB, "minio-multipart")
    # part_size 5 MiB: three parts; minio puts PartNumber before ETag and sends Content-MD5.
    result = put(mc, bucket, "big.bin", data, part_size=5 * MiB)
    assert result.etag.endswith("-3")
    stat = mc.stat_object(bucket, "big.bin")
    assert stat.size == len(data)
    assert read(mc, bucket, "big.bin") == data
    boundary = 5 * MiB
    assert read(mc, bucket, "big.bin", offset=boundary - 10, length=20) == \
        data[boundary - 10:boundary + 10]

    # Stream of unknown length: minio buffers part_size blocks.
    put_stream = mc.put_object(bucket, "stream.bin", io.BytesIO(data[:6 * MiB]), -1,
                               part_size=5 * MiB)
    assert put_stream.etag.endswith("-2")
    assert read(mc, bucket, "stream.bin") == data[:6 * MiB]

    # compose_object: UploadPartCopy with x-amz-copy-source-range.
    put(mc, bucket, "tail.bin", b"tail")
    mc.compose_object(bucket, "composed.bin", [
        ComposeSource(bucket, "big.bin", offset=0, length=5 * MiB),
        ComposeSource(bucket, "tail.bin"),
    ])
    assert read(mc, bucket, "composed.bin") == data[:5 * MiB] + b"tail"
