"""obstore (Rust's object_store) against a live ``post3 run``, configured with only the endpoint,
path-style addressing, credentials and plain http. obstore has no bucket operations, so boto3
makes and removes the bucket."""

from __future__ import annotations

import hashlib

import boto3
import obstore as obs
import pytest
from botocore.config import Config
from obstore.store import S3Store

MiB = 1024 * 1024


@pytest.fixture
def bucket(endpoint_url, bucket_name):
    s3 = boto3.client("s3", endpoint_url=endpoint_url, aws_access_key_id="testing",
                      aws_secret_access_key="testing",
                      config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket=bucket_name)
    yield bucket_name
    s3.close()


@pytest.fixture
def store(endpoint_url, bucket):
    return S3Store(
        bucket,
        endpoint=endpoint_url,
        access_key_id="testing",
        secret_access_key="testing",
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )


def paths(metas) -> list[str]:
    return sorted(meta["path"] for meta in metas)


def test_scenario(store, special_keys, make_bytes):
    small = make_bytes(3000, "obstore")
    result = obs.put(store, "dir/small.bin", small)
    assert result["e_tag"] == f'"{hashlib.md5(small).hexdigest()}"'
    obs.put(store, "dir/sub/deeper.txt", b"deeper")
    for key in special_keys:
        obs.put(store, key, key.encode())

    # get, whole and ranged
    assert obs.get(store, "dir/small.bin").bytes() == small
    assert obs.get_range(store, "dir/small.bin", start=1000, end=1010) == small[1000:1010]
    ranges = obs.get_ranges(store, "dir/small.bin", starts=[0, 2990], ends=[5, 3000])
    assert [bytes(r) for r in ranges] == [small[:5], small[2990:]]
    for key in special_keys:
        assert obs.get(store, key).bytes() == key.encode()

    # head
    meta = obs.head(store, "dir/small.bin")
    assert meta["size"] == len(small)
    assert meta["e_tag"] == f'"{hashlib.md5(small).hexdigest()}"'
    with pytest.raises(FileNotFoundError):
        obs.head(store, "absent")

    # list with a delimiter, with a prefix, and everything
    top = obs.list_with_delimiter(store)
    assert sorted(top["common_prefixes"]) == ["dir", "日本語"]
    assert paths(top["objects"]) == sorted(k for k in special_keys if "/" not in k)
    level = obs.list_with_delimiter(store, "dir")
    assert level["common_prefixes"] == ["dir/sub"]
    assert paths(level["objects"]) == ["dir/small.bin"]
    everything = paths(obs.list(store).collect())
    assert everything == sorted(["dir/small.bin", "dir/sub/deeper.txt", *special_keys])
    assert paths(obs.list(store, "dir").collect()) == ["dir/small.bin", "dir/sub/deeper.txt"]

    # copy (obstore sends CopyObject without a body or Content-Length)
    obs.copy(store, "dir/small.bin", "copied.bin")
    assert obs.get(store, "copied.bin").bytes() == small
    obs.copy(store, special_keys[0], "copy of special")
    assert obs.get(store, "copy of special").bytes() == special_keys[0].encode()

    # delete one, then several at once (DeleteObjects with Content-MD5 and SHA-256)
    obs.delete(store, special_keys[0])
    with pytest.raises(FileNotFoundError):
        obs.get(store, special_keys[0])
    obs.delete(store, ["copied.bin", "copy of special", *special_keys[1:]])
    assert paths(obs.list(store).collect()) == ["dir/small.bin", "dir/sub/deeper.txt"]


def test_conditional_create(store):
    obs.put(store, "once", b"first", mode="create")
    with pytest.raises(obs.exceptions.AlreadyExistsError):
        obs.put(store, "once", b"second", mode="create")
    assert obs.get(store, "once").bytes() == b"first"


def test_multipart_put(store, make_bytes):
    data = make_bytes(11 * MiB, "obstore-multipart")
    result = obs.put(store, "big.bin", data, chunk_size=5 * MiB, use_multipart=True)
    assert result["e_tag"].strip('"').endswith("-3")
    assert obs.head(store, "big.bin")["size"] == len(data)
    assert obs.get(store, "big.bin").bytes() == data
    boundary = 5 * MiB
    got = obs.get_range(store, "big.bin", start=boundary - 10, end=boundary + 10)
    assert got == data[boundary - 10:boundary + 10]

    # A stream of chunks is always uploaded in parts.
    chunks = (data[i:i + MiB] for i in range(0, 6 * MiB, MiB))
    obs.put(store, "streamed.bin", chunks, chunk_size=5 * MiB)
    assert obs.get(store, "streamed.bin").bytes() == data[:6 * MiB]
