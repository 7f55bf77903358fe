"""Large files through real clients with their default transfer settings, against a live
``post3 run`` on every backend: boto3's transfer manager, ``aws s3 cp``/``sync``, and s3fs.

Above 8 MiB boto3 and the AWS CLI switch to multipart uploads (8 MiB parts, 10 threads, parts
sent out of order), to ranged parallel downloads, and to UploadPartCopy for server-side
copies; s3fs goes multipart above its block size. Files are compared by MD5, never held twice
in memory. The 1 GiB and 5 GiB cases live in ``benchmarks/rss_multipart.py``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import s3fs

MiB = 1024 * 1024
#: s3transfer's and the AWS CLI's default multipart_threshold and multipart_chunksize.
DEFAULT_PART_SIZE = 8 * MiB


# --------------------------------------------------------------------------- files and digests


def generated_blocks(size: int, seed: str) -> Iterator[bytes]:
    """1 MiB blocks, each stamped with its index so that no two parts are alike."""
    pattern = hashlib.shake_256(seed.encode()).digest(MiB)
    index = 0
    while size > 0:
        stamp = index.to_bytes(8, "big")
        block = (stamp + pattern[len(stamp):])[:size]
        yield block
        size -= len(block)
        index += 1


def write_file(path: Path, size: int, seed: str = "post3") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        for block in generated_blocks(size, seed):
            handle.write(block)
    return path


def md5_of_file(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(MiB):
            digest.update(block)
    return digest.hexdigest()


def multipart_etag(path: Path, part_size: int) -> str:
    """The ETag S3 gives an object uploaded from ``path`` in parts of ``part_size``."""
    part_digests = []
    with open(path, "rb") as handle:
        while part := handle.read(part_size):
            part_digests.append(hashlib.md5(part).digest())
    return f'"{hashlib.md5(b"".join(part_digests)).hexdigest()}-{len(part_digests)}"'


def parts_in(size: int, part_size: int = DEFAULT_PART_SIZE) -> int:
    return -(-size // part_size)


# --------------------------------------------------------------------------- clients


@pytest.fixture
def files(tmp_path):
    """A scratch directory whose hundreds of MiB do not outlive the test."""
    directory = tmp_path / "files"
    directory.mkdir()
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def make_bucket(s3, bucket_name):
    """Creates buckets named after ``bucket_name``; empties and deletes them afterwards, so that
    the session's server (the memory backend in particular) does not keep hundreds of MiB."""
    made = []

    def make(suffix: str = "") -> str:
        made.append(bucket_name + suffix)
        s3.create_bucket(Bucket=made[-1])
        return made[-1]

    yield make
    for name in made:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=item["Key"])
        s3.delete_bucket(Bucket=name)


@pytest.fixture
def bucket(make_bucket):
    return make_bucket()


@pytest.fixture
def aws(endpoint_url, aws_env, files):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "awscli", *args, "--endpoint-url", endpoint_url]
        result = subprocess.run(
            command, env=aws_env, cwd=files, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0:
            pytest.fail(
                f"aws {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    return run


# --------------------------------------------------------------------------- boto3


@pytest.mark.parametrize(
    "size", [DEFAULT_PART_SIZE + 1, 100 * MiB], ids=["8MiB+1", "100MiB"]
)
def test_upload_file_and_download_file_go_through_parts(s3, bucket, files, size):
    source = write_file(files / "up.bin", size)
    target = files / "down.bin"

    s3.upload_file(str(source), bucket, "big/file.bin")
    head = s3.head_object(Bucket=bucket, Key="big/file.bin")
    first_part = s3.head_object(Bucket=bucket, Key="big/file.bin", PartNumber=1)
    s3.download_file(bucket, "big/file.bin", str(target))

    assert head["ContentLength"] == size
    assert head["ETag"] == multipart_etag(source, DEFAULT_PART_SIZE)
    assert head["ETag"].endswith(f'-{parts_in(size)}"')
    assert first_part["PartsCount"] == parts_in(size)
    assert first_part["ContentLength"] == DEFAULT_PART_SIZE
    assert md5_of_file(target) == md5_of_file(source)


# --------------------------------------------------------------------------- AWS CLI


def test_cli_cp_up_and_down_in_parts(aws, s3, bucket, files):
    source = write_file(files / "up.bin", 100 * MiB, "cli-cp")
    target = files / "down.bin"

    aws("s3", "cp", str(source), f"s3://{bucket}/dir/large file.bin")
    aws("s3", "cp", f"s3://{bucket}/dir/large file.bin", str(target))

    head = s3.head_object(Bucket=bucket, Key="dir/large file.bin")
    assert head["ETag"] == multipart_etag(source, DEFAULT_PART_SIZE)
    assert md5_of_file(target) == md5_of_file(source)


def transferred(output: str, verb: str) -> set[str]:
    """The destinations an ``aws s3 sync`` reported for each ``upload:`` or ``download:``."""
    # Progress lines end in "\r" and the final lines are padded with spaces over them.
    lines = [line.split("\r")[-1].strip() for line in output.splitlines()]
    return {line.rsplit(" to ", 1)[1] for line in lines if line.startswith(f"{verb}: ")}


def test_cli_sync_uploads_once_and_downloads_back(aws, s3, bucket, files):
    tree = files / "tree"
    sizes = {
        "small.txt": 11,
        "sub/one-mib.bin": MiB,
        "sub/large.bin": DEFAULT_PART_SIZE + 3 * MiB + 7,
        "sub/with space+plus.bin": 4096,
    }
    for name, size in sizes.items():
        write_file(tree / name, size, name)
    # LastModified has 1 s resolution (S3-WIRE.md §1.9.4): files written in the same second as
    # the upload would look newer than their copies. An hour-old mtime makes sync deterministic.
    an_hour_ago = time.time() - 3600
    for name in sizes:
        os.utime(tree / name, (an_hour_ago, an_hour_ago))

    first = aws("s3", "sync", str(tree), f"s3://{bucket}/synced")
    again = aws("s3", "sync", str(tree), f"s3://{bucket}/synced")
    down = files / "down"
    back = aws("s3", "sync", f"s3://{bucket}/synced", str(down))
    back_again = aws("s3", "sync", f"s3://{bucket}/synced", str(down))

    assert transferred(first.stdout, "upload") == {f"s3://{bucket}/synced/{n}" for n in sizes}
    assert again.stdout.strip() == ""
    large = s3.head_object(Bucket=bucket, Key="synced/sub/large.bin")
    assert large["ETag"] == multipart_etag(tree / "sub/large.bin", DEFAULT_PART_SIZE)
    assert len(transferred(back.stdout, "download")) == len(sizes)
    assert back_again.stdout.strip() == ""
    for name in sizes:
        assert md5_of_file(down / name) == md5_of_file(tree / name), name


def test_cli_cp_between_buckets_copies_in_parts(aws, s3, bucket, make_bucket, files):
    target_bucket = make_bucket("-to")
    source = write_file(files / "source.bin", 2 * DEFAULT_PART_SIZE + 5 * MiB, "cli-copy")
    # One PutObject: a plain MD5 ETag, so a "-N" ETag on the copy can only come from
    # UploadPartCopy.
    with open(source, "rb") as body:
        put = s3.put_object(Bucket=bucket, Key="orig.bin", Body=body)
    assert "-" not in put["ETag"]

    aws("s3", "cp", f"s3://{bucket}/orig.bin", f"s3://{target_bucket}/copy.bin")
    copy = s3.head_object(Bucket=target_bucket, Key="copy.bin")
    s3.download_file(target_bucket, "copy.bin", str(files / "copy.bin"))

    assert copy["ETag"] == multipart_etag(source, DEFAULT_PART_SIZE)
    assert copy["ETag"].endswith('-3"')
    assert md5_of_file(files / "copy.bin") == md5_of_file(source)


# --------------------------------------------------------------------------- s3fs


def test_s3fs_writes_beyond_its_block_size_in_parts(endpoint_url, bucket, files):
    fs = s3fs.S3FileSystem(
        key="testing",
        secret="testing",
        endpoint_url=endpoint_url,
        skip_instance_cache=True,
        config_kwargs={"s3": {"addressing_style": "path"}},
    )
    # s3fs uploads one part per full block (50 MiB by default) and the rest on close.
    size = fs.default_block_size + 10 * MiB
    source = write_file(files / "source.bin", size, "s3fs")
    with open(source, "rb") as local, fs.open(f"{bucket}/s3fs/file.bin", "wb") as remote:
        while block := local.read(MiB):
            remote.write(block)

    info = fs.info(f"{bucket}/s3fs/file.bin")
    read_back = hashlib.md5()
    with fs.open(f"{bucket}/s3fs/file.bin", "rb") as remote:
        while block := remote.read(4 * MiB):
            read_back.update(block)

    assert info["size"] == size
    assert info["ETag"] == multipart_etag(source, fs.default_block_size)
    assert info["ETag"].endswith('-2"')
    assert read_back.hexdigest() == md5_of_file(source)
