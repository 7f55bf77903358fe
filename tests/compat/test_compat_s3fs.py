"""s3fs (and pandas through it) against a live ``post3 run``, configured with only the endpoint,
path-style addressing and credentials."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
import s3fs

MiB = 1024 * 1024
CREDENTIALS = {"key": "testing", "secret": "testing"}


def options(endpoint_url: str) -> dict:
    return {**CREDENTIALS, "endpoint_url": endpoint_url,
            "config_kwargs": {"s3": {"addressing_style": "path"}}}


@pytest.fixture
def fs(endpoint_url):
    return s3fs.S3FileSystem(skip_instance_cache=True, **options(endpoint_url))


@pytest.fixture
def bucket(fs, bucket_name):
    fs.mkdir(bucket_name)
    return bucket_name


def test_scenario(fs, bucket, special_keys, make_bytes):
    assert bucket in [p.rstrip("/") for p in fs.ls("", detail=False)]
    small = make_bytes(3000, "s3fs")
    fs.pipe_file(f"{bucket}/dir/small.bin", small)
    fs.pipe_file(f"{bucket}/dir/sub/deeper.txt", b"deeper")
    for key in special_keys:
        fs.pipe_file(f"{bucket}/{key}", key.encode())

    # get, whole and ranged
    assert fs.cat_file(f"{bucket}/dir/small.bin") == small
    assert fs.cat_file(f"{bucket}/dir/small.bin", start=1000, end=1010) == small[1000:1010]
    with fs.open(f"{bucket}/dir/small.bin", "rb") as f:
        f.seek(2990)
        assert f.read() == small[2990:]
    for key in special_keys:
        assert fs.cat_file(f"{bucket}/{key}") == key.encode()

    # head
    info = fs.info(f"{bucket}/dir/small.bin")
    assert info["size"] == len(small)
    assert info["type"] == "file"
    assert info["ETag"] == f'"{hashlib.md5(small).hexdigest()}"'
    assert fs.info(f"{bucket}/{special_keys[0]}")["size"] == len(special_keys[0].encode())

    # list with a delimiter, then with a prefix only
    fs.invalidate_cache()
    top = {p.removeprefix(f"{bucket}/") for p in fs.ls(bucket, detail=False)}
    assert top == {"dir", "日本語", *(k for k in special_keys if "/" not in k)}
    level = fs.ls(f"{bucket}/dir", detail=True)
    assert {(e["name"], e["type"]) for e in level} == {
        (f"{bucket}/dir/small.bin", "file"), (f"{bucket}/dir/sub", "directory")}
    assert fs.find(f"{bucket}/dir") == [f"{bucket}/dir/small.bin", f"{bucket}/dir/sub/deeper.txt"]
    assert fs.find(f"{bucket}/日本語") == [f"{bucket}/{special_keys[1]}"]

    # copy
    fs.copy(f"{bucket}/dir/small.bin", f"{bucket}/copied.bin")
    assert fs.cat_file(f"{bucket}/copied.bin") == small
    # cp_file: fs.copy would expand the key's *, ? and [p] as a glob.
    fs.cp_file(f"{bucket}/{special_keys[0]}", f"{bucket}/copy of special")
    assert fs.cat_file(f"{bucket}/copy of special") == special_keys[0].encode()

    # delete one, then several at once (DeleteObjects)
    fs.rm_file(f"{bucket}/{special_keys[0]}")
    assert not fs.exists(f"{bucket}/{special_keys[0]}")
    fs.rm([f"{bucket}/copied.bin", f"{bucket}/copy of special", f"{bucket}/a+b", f"{bucket}/%41"])
    fs.invalidate_cache()
    remaining = fs.find(bucket)
    assert sorted(remaining) == sorted([
        f"{bucket}/dir/small.bin", f"{bucket}/dir/sub/deeper.txt", f"{bucket}/{special_keys[1]}"])
    fs.rm(bucket, recursive=True)
    fs.invalidate_cache()
    assert not fs.exists(bucket)


def test_multipart_write(fs, bucket, make_bytes):
    data = make_bytes(11 * MiB, "s3fs-multipart")
    # A 5 MiB block size makes s3fs upload 5 + 5 + 1 MiB parts.
    with fs.open(f"{bucket}/big.bin", "wb", block_size=5 * MiB) as f:
        for start in range(0, len(data), MiB):
            f.write(data[start:start + MiB])
    info = fs.info(f"{bucket}/big.bin")
    assert info["size"] == len(data)
    assert info["ETag"].strip('"').endswith("-3")
    assert fs.cat_file(f"{bucket}/big.bin") == data
    boundary = 5 * MiB
    got = fs.cat_file(f"{bucket}/big.bin", start=boundary - 10, end=boundary + 10)
    assert got == data[boundary - 10:boundary + 10]
    assert fs.ls(f"{bucket}", detail=False) == [f"{bucket}/big.bin"]


def test_pandas_reads_and_writes_csv(fs, bucket, endpoint_url):
    csv = "city,population\nLisbon,545923\nPorto,231800\nSão Paulo,11451245\n"
    fs.pipe_file(f"{bucket}/cities.csv", csv.encode())
    frame = pd.read_csv(f"s3://{bucket}/cities.csv", storage_options=options(endpoint_url))
    assert list(frame.columns) == ["city", "population"]
    assert frame["city"].tolist() == ["Lisbon", "Porto", "São Paulo"]
    assert frame["population"].sum() == 545923 + 231800 + 11451245

    frame["large"] = frame["population"] > 1_000_000
    frame.to_csv(f"s3://{bucket}/out/cities.csv", index=False,
                 storage_options=options(endpoint_url))
    again = pd.read_csv(f"s3://{bucket}/out/cities.csv", storage_options=options(endpoint_url))
    assert again.equals(frame)
