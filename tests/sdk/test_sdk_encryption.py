"""Encryption at rest from boto3 (default configuration) against a live ``post3 run`` on every
backend, with a key file made by ``post3 kms``: SSE-C, SSE-S3, SSE-KMS, multipart, copies
between every pair of modes, ranges around segment boundaries, bucket default encryption,
rotation; what the storage holds (no plaintext), and what happens when it is altered.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from post3.encryption.segments import SEGMENT, STORED_SEGMENT
from tests.conftest import (
    SERVER_BACKENDS,
    RunningServer,
    _backend_options,
    post3_command,
    start_server,
)

MiB = 1 << 20
PART = 5 * MiB


def kms(*args: str, key_file: Path) -> str:
    result = subprocess.run([*post3_command(), "kms", *args, "--key-file", str(key_file)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module", params=SERVER_BACKENDS)
def sse_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[RunningServer]:
    """A server with post3's key service: the keys ``default`` and ``other`` in a key file."""
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"sse-{backend}")
    key_file = workdir / "keys.json"
    kms("create", key_file=key_file)
    kms("create", "other", key_file=key_file)
    options = _backend_options(request, backend, workdir)
    server = start_server(backend, options, workdir=workdir,
                          env={"POST3_KEY_FILE": str(key_file)})
    server.options = {**options, "key_file": str(key_file)}
    yield server
    status = server.stop()
    assert status in (0, -15), server.stderr()


@pytest.fixture
def s3(sse_server: RunningServer):
    client = boto3.client(
        "s3", endpoint_url=sse_server.endpoint, aws_access_key_id="testing",
        aws_secret_access_key="testing", region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
    yield client
    client.close()


@pytest.fixture
def bucket(s3) -> str:
    name = f"sse-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def data_of(size: int, seed: str = "sse") -> bytes:
    """Bytes that differ at every offset, so a shifted range cannot pass for another."""
    block = b"".join(hashlib.sha256(f"{seed}-{i}".encode()).digest() for i in range(4096))
    return (block * (size // len(block) + 1))[:size]


def customer(key: bytes) -> dict[str, object]:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def source_customer(key: bytes) -> dict[str, object]:
    return {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": key}


def key_md5(key: bytes) -> str:
    return base64.b64encode(hashlib.md5(key).digest()).decode()


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# --------------------------------------------------------------------------- SSE-C


def test_sse_c_round_trip_and_headers(s3, bucket):
    key = os.urandom(32)
    data = data_of(3 * MiB + 123)
    put = s3.put_object(Bucket=bucket, Key="c", Body=data, **customer(key))
    assert put["SSECustomerAlgorithm"] == "AES256"
    assert put["SSECustomerKeyMD5"] == key_md5(key)
    # S3 does not show an SSE-C object's MD5 as its ETag.
    assert put["ETag"].strip('"') != hashlib.md5(data).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="c", **customer(key))
    assert got["Body"].read() == data
    assert got["SSECustomerKeyMD5"] == key_md5(key)
    assert got["ETag"] == put["ETag"]
    head = s3.head_object(Bucket=bucket, Key="c", **customer(key))
    assert head["ContentLength"] == len(data)
    assert head["SSECustomerAlgorithm"] == "AES256"
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [("c", len(data), put["ETag"])]


def test_sse_c_refused_without_the_key_and_with_a_wrong_one(s3, bucket):
    key = os.urandom(32)
    s3.put_object(Bucket=bucket, Key="c", Body=b"secret", **customer(key))
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=bucket, Key="c")
    assert error_code(missing) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as wrong:
        s3.get_object(Bucket=bucket, Key="c", **customer(os.urandom(32)))
    assert error_code(wrong) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as head_missing:
        s3.head_object(Bucket=bucket, Key="c")
    assert head_missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as head_wrong:
        s3.head_object(Bucket=bucket, Key="c", **customer(os.urandom(32)))
    assert head_wrong.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # A key given for an object that is not SSE-C is refused too.
    s3.put_object(Bucket=bucket, Key="plain", Body=b"plain")
    with pytest.raises(ClientError) as not_applicable:
        s3.get_object(Bucket=bucket, Key="plain", **customer(key))
    assert error_code(not_applicable) == ("InvalidRequest", 400)


def test_sse_c_headers_checked_as_s3_checks_them(s3, bucket):
    key = os.urandom(32)
    cases = [
        ({"x-amz-server-side-encryption-customer-algorithm": "AES256",
          "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
          "x-amz-server-side-encryption-customer-key-MD5": key_md5(os.urandom(32))},
         "InvalidArgument"),
        ({"x-amz-server-side-encryption-customer-algorithm": "AES256",
          "x-amz-server-side-encryption-customer-key": base64.b64encode(key[:16]).decode(),
          "x-amz-server-side-encryption-customer-key-MD5": key_md5(key[:16])},
         "InvalidArgument"),
        ({"x-amz-server-side-encryption-customer-algorithm": "AES128",
          "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
          "x-amz-server-side-encryption-customer-key-MD5": key_md5(key)},
         "InvalidEncryptionAlgorithmError"),
        ({"x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode()},
         "InvalidArgument"),
        ({"x-amz-server-side-encryption": "AES512"}, "InvalidArgument"),
    ]
    for headers, code in cases:
        def add_headers(request, headers=headers, **_):
            for name, value in headers.items():
                request.headers[name] = value

        s3.meta.events.register_first("before-sign.s3.PutObject", add_headers)
        try:
            with pytest.raises(ClientError) as refused:
                s3.put_object(Bucket=bucket, Key="bad", Body=b"x")
            assert error_code(refused) == (code, 400), headers
        finally:
            s3.meta.events.unregister("before-sign.s3.PutObject", add_headers)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


def test_sse_c_multipart_every_part_with_the_key(s3, bucket):
    key = os.urandom(32)
    first, second = data_of(PART, "one"), data_of(MiB + 17, "two")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", **customer(key))
    assert upload["SSECustomerKeyMD5"] == key_md5(key)
    upload_id = upload["UploadId"]
    with pytest.raises(ClientError) as without:
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=first)
    assert error_code(without) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as wrong:
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=first,
                       **customer(os.urandom(32)))
    assert error_code(wrong) == ("AccessDenied", 403)
    # Part 3 uploaded twice: the second replaces the first (same data key, fresh nonces).
    s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=3,
                   Body=data_of(PART, "replaced"), **customer(key))
    p3 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=3, Body=first,
                        **customer(key))
    p8 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=8, Body=second,
                        **customer(key))
    assert p3["SSECustomerKeyMD5"] == key_md5(key)
    parts = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)["Parts"]
    assert [p["Size"] for p in parts] == [len(first), len(second)]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 3, "ETag": p3["ETag"]},
                                   {"PartNumber": 8, "ETag": p8["ETag"]}]})
    assert done["ETag"].endswith('-2"')
    whole = first + second
    assert s3.get_object(Bucket=bucket, Key="mp", **customer(key))["Body"].read() == whole
    boundary = len(first)
    got = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={boundary - 5}-{boundary + 5}",
                        **customer(key))
    assert got["Body"].read() == whole[boundary - 5:boundary + 6]
    part2 = s3.get_object(Bucket=bucket, Key="mp", PartNumber=2, **customer(key))
    assert part2["Body"].read() == second
    assert s3.head_object(Bucket=bucket, Key="mp", **customer(key))["ContentLength"] == len(whole)


def test_upload_part_copy_with_source_and_target_keys(s3, bucket):
    source_key, target_key = os.urandom(32), os.urandom(32)
    source = data_of(PART + 1000, "source")
    s3.put_object(Bucket=bucket, Key="src", Body=source, **customer(source_key))
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst",
                                           **customer(target_key))["UploadId"]
    p1 = s3.upload_part_copy(
        Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=f"bytes=0-{PART - 1}",
        **customer(target_key), **source_customer(source_key))
    p2 = s3.upload_part_copy(
        Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=2,
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceRange=f"bytes={PART}-{PART + 999}",
        **customer(target_key), **source_customer(source_key))
    with pytest.raises(ClientError) as no_source_key:
        s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=3,
                            CopySource={"Bucket": bucket, "Key": "src"}, **customer(target_key))
    assert error_code(no_source_key) == ("InvalidRequest", 400)
    s3.complete_multipart_upload(
        Bucket=bucket, Key="dst", UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]},
                                   {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="dst", **customer(target_key))["Body"].read() \
        == source


# --------------------------------------------------------------------------- SSE-S3 and KMS


def test_sse_s3_round_trip_etag_is_the_md5(s3, bucket):
    data = data_of(2 * MiB + 5)
    put = s3.put_object(Bucket=bucket, Key="s", Body=data, ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="s")
    assert got["ServerSideEncryption"] == "AES256"
    assert got["Body"].read() == data
    assert s3.head_object(Bucket=bucket, Key="s")["ServerSideEncryption"] == "AES256"


def test_sse_kms_with_a_key_id_and_the_default_key(s3, bucket):
    data = data_of(100_000)
    put = s3.put_object(Bucket=bucket, Key="k", Body=data, ServerSideEncryption="aws:kms",
                        SSEKMSKeyId="other")
    assert put["ServerSideEncryption"] == "aws:kms"
    assert put["SSEKMSKeyId"] == "other"
    assert put["ETag"] != f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="k")
    assert (got["ServerSideEncryption"], got["SSEKMSKeyId"]) == ("aws:kms", "other")
    assert got["Body"].read() == data
    arn = s3.put_object(Bucket=bucket, Key="arn", Body=b"x", ServerSideEncryption="aws:kms",
                        SSEKMSKeyId="arn:aws:kms:us-east-1:111122223333:key/other")
    assert arn["SSEKMSKeyId"] == "other"
    plain_kms = s3.put_object(Bucket=bucket, Key="d", Body=data, ServerSideEncryption="aws:kms",
                              BucketKeyEnabled=True)
    assert plain_kms["SSEKMSKeyId"] == "default"
    assert plain_kms["BucketKeyEnabled"] is True
    assert s3.get_object(Bucket=bucket, Key="d")["Body"].read() == data
    with pytest.raises(ClientError) as unknown:
        s3.put_object(Bucket=bucket, Key="u", Body=b"x", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId="no-such-key")
    assert error_code(unknown) == ("KMS.NotFoundException", 400)


def test_sse_s3_multipart(s3, bucket):
    parts = [data_of(PART, "a"), data_of(3, "b")]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m", ServerSideEncryption="AES256")
    assert upload["ServerSideEncryption"] == "AES256"
    done = []
    for number, body in enumerate(parts, 1):
        part = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload["UploadId"],
                              PartNumber=number, Body=body)
        assert part["ServerSideEncryption"] == "AES256"
        assert part["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
        done.append({"PartNumber": number, "ETag": part["ETag"]})
    result = s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload["UploadId"],
                                          MultipartUpload={"Parts": done})
    assert result["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"".join(parts)


# --------------------------------------------------------------------------- ranges


SIZE = 3 * SEGMENT + 1000
RANGES = [
    (0, 0), (0, SEGMENT - 1), (1, SEGMENT - 2), (SEGMENT - 1, SEGMENT), (SEGMENT, SEGMENT),
    (SEGMENT - 10, 2 * SEGMENT + 10), (2 * SEGMENT + 5, SIZE - 1), (SIZE - 1, SIZE - 1),
    (100, SIZE - 100),
]


@pytest.mark.parametrize("mode", ["sse-c", "sse-s3"])
def test_ranges_inside_and_across_segment_boundaries(s3, bucket, mode):
    data = data_of(SIZE)
    extra = customer(os.urandom(32)) if mode == "sse-c" else {}
    sse = {} if extra else {"ServerSideEncryption": "AES256"}
    s3.put_object(Bucket=bucket, Key="r", Body=data, **extra, **sse)
    for first, last in RANGES:
        got = s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={first}-{last}", **extra)
        assert got["ContentRange"] == f"bytes {first}-{last}/{SIZE}"
        assert got["Body"].read() == data[first:last + 1], (first, last)
    suffix = s3.get_object(Bucket=bucket, Key="r", Range="bytes=-1500", **extra)
    assert suffix["Body"].read() == data[-1500:]
    with pytest.raises(ClientError) as past:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={SIZE}-", **extra)
    assert error_code(past) == ("InvalidRange", 416)


def test_empty_encrypted_objects(s3, bucket):
    key = os.urandom(32)
    s3.put_object(Bucket=bucket, Key="e1", Body=b"", **customer(key))
    s3.put_object(Bucket=bucket, Key="e2", Body=b"", ServerSideEncryption="AES256")
    assert s3.get_object(Bucket=bucket, Key="e1", **customer(key))["Body"].read() == b""
    assert s3.get_object(Bucket=bucket, Key="e2")["Body"].read() == b""
    assert s3.head_object(Bucket=bucket, Key="e2")["ContentLength"] == 0


# --------------------------------------------------------------------------- copies


MODES = ["none", "sse-c", "sse-s3", "kms"]


def _write_args(mode: str, key: bytes) -> dict[str, object]:
    return {"none": {}, "sse-c": customer(key), "sse-s3": {"ServerSideEncryption": "AES256"},
            "kms": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "other"}}[mode]


def _read_args(mode: str, key: bytes) -> dict[str, object]:
    return customer(key) if mode == "sse-c" else {}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(MODES, MODES)))
def test_copy_between_every_pair_of_modes(s3, bucket, source, target):
    source_key, target_key = os.urandom(32), os.urandom(32)
    data = data_of(SEGMENT + 999, f"{source}-{target}")
    s3.put_object(Bucket=bucket, Key="src", Body=data, Metadata={"m": "kept"},
                  **_write_args(source, source_key))
    copy_source = source_customer(source_key) if source == "sse-c" else {}
    result = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                            **copy_source, **_write_args(target, target_key))
    expected = {"none": None, "sse-c": None, "sse-s3": "AES256", "kms": "aws:kms"}[target]
    assert result.get("ServerSideEncryption") == expected
    if target == "sse-c":
        assert result["SSECustomerKeyMD5"] == key_md5(target_key)
    got = s3.get_object(Bucket=bucket, Key="dst", **_read_args(target, target_key))
    assert got["Body"].read() == data
    assert got["Metadata"] == {"m": "kept"}
    assert got.get("ServerSideEncryption") == expected
    if target != "sse-c":
        with pytest.raises(ClientError):
            s3.get_object(Bucket=bucket, Key="dst", **customer(target_key))
    if source == "sse-c":
        with pytest.raises(ClientError) as without:
            s3.copy_object(Bucket=bucket, Key="dst2", CopySource={"Bucket": bucket, "Key": "src"})
        assert error_code(without) == ("InvalidRequest", 400)


def test_copy_onto_itself_changing_only_the_encryption(s3, bucket):
    data = data_of(1000)
    s3.put_object(Bucket=bucket, Key="o", Body=data)
    s3.copy_object(Bucket=bucket, Key="o", CopySource={"Bucket": bucket, "Key": "o"},
                   ServerSideEncryption="AES256")
    got = s3.get_object(Bucket=bucket, Key="o")
    assert got["ServerSideEncryption"] == "AES256"
    assert got["Body"].read() == data


# --------------------------------------------------------------------------- bucket default


def test_bucket_default_encryption(s3, bucket):
    with pytest.raises(ClientError) as none:
        s3.get_bucket_encryption(Bucket=bucket)
    assert error_code(none) == ("ServerSideEncryptionConfigurationNotFoundError", 404)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                               "KMSMasterKeyID": "other"},
        "BucketKeyEnabled": True}]})
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules == [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                             "KMSMasterKeyID": "other"},
                      "BucketKeyEnabled": True}]
    put = s3.put_object(Bucket=bucket, Key="d", Body=b"defaulted")
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"]) == ("aws:kms", "other")
    # A request's own encryption wins over the default.
    own = s3.put_object(Bucket=bucket, Key="own", Body=b"x", ServerSideEncryption="AES256")
    assert own["ServerSideEncryption"] == "AES256"
    mp = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    assert mp["ServerSideEncryption"] == "aws:kms"
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=mp["UploadId"])
    assert s3.get_object(Bucket=bucket, Key="d")["Body"].read() == b"defaulted"
    with pytest.raises(ClientError) as unknown_key:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                   "KMSMasterKeyID": "missing"}}]})
    assert error_code(unknown_key) == ("KMS.NotFoundException", 400)
    s3.delete_bucket_encryption(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_encryption(Bucket=bucket)
    assert "ServerSideEncryption" not in s3.put_object(Bucket=bucket, Key="p", Body=b"x")


# --------------------------------------------------------------------------- rotation


def test_rotation_keeps_old_objects_readable_and_uses_the_new_version(s3, bucket, sse_server):
    key_file = Path(sse_server.options["key_file"])
    before = data_of(SEGMENT + 1, "before")
    s3.put_object(Bucket=bucket, Key="before", Body=before, ServerSideEncryption="AES256")
    versions = len(json.loads(key_file.read_text())["keys"]["default"]["versions"])
    assert f"version {versions + 1}" in kms("rotate", "default", key_file=key_file)
    assert f"versions={versions + 1}" in kms("list", key_file=key_file)
    after = data_of(SEGMENT + 1, "after")
    deadline = 30
    # The server notices the changed key file within a second.
    for _ in range(deadline):
        s3.put_object(Bucket=bucket, Key="after", Body=after, ServerSideEncryption="AES256")
        if _wrapped_under(sse_server, bucket, "after").startswith(f"default:{versions + 1}:"):
            break
        time.sleep(0.2)
    else:
        pytest.fail("objects written after rotate are not wrapped under the new version")
    assert _wrapped_under(sse_server, bucket, "before").startswith(f"default:{versions}:")
    assert s3.get_object(Bucket=bucket, Key="before")["Body"].read() == before
    assert s3.get_object(Bucket=bucket, Key="after")["Body"].read() == after
    # The re-wrap pass, beside the running server: the older object's data key moves to the
    # new version; its bytes are not rewritten.
    stored_before = _stored_blobs(sse_server, bucket)
    options = [part for name in ("root", "dsn") if name in sse_server.options
               for part in ("-o", f"{name}={sse_server.options[name]}")]
    done = subprocess.run(
        [*post3_command(), "kms", "rewrap", "--backend", sse_server.backend, *options],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "POST3_KEY_FILE": str(key_file)})
    assert done.returncode == 0, done.stderr
    assert "re-wrapped" in done.stdout
    assert _wrapped_under(sse_server, bucket, "before").startswith(f"default:{versions + 1}:")
    if sse_server.backend == "postgres":
        assert sorted(_stored_blobs(sse_server, bucket)) == sorted(stored_before)
    assert s3.get_object(Bucket=bucket, Key="before")["Body"].read() == before


# --------------------------------------------------------------------------- the storage


def _files(sse_server: RunningServer, bucket: str) -> list[Path]:
    root = Path(sse_server.options["root"])
    return [path for path in root.rglob("*") if path.is_file() and bucket in str(path)]


async def _pg(dsn: str, query: str, *args: object) -> list:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


_BLOCKS = ("SELECT b.version_id, b.position, b.data FROM blocks b JOIN versions v "
           "ON v.id = b.version_id JOIN buckets k ON k.id = v.bucket_id WHERE k.name = $1")


def _stored_blobs(sse_server: RunningServer, bucket: str) -> list[bytes]:
    if sse_server.backend == "filesystem":
        return [path.read_bytes() for path in _files(sse_server, bucket)]
    rows = asyncio.run(_pg(sse_server.options["dsn"], _BLOCKS, bucket))
    return [bytes(row["data"]) for row in rows]


def _wrapped_under(sse_server: RunningServer, bucket: str, key: str) -> str:
    """The wrapped data key stored with ``key``, read through the backend from this process
    (several processes share one store)."""
    if sse_server.backend == "memory":
        pytest.skip("the memory backend's storage is inside the server process")
    from post3.plugins import backend_registry, get_plugin_manager

    options = {name: sse_server.options[name] for name in ("root", "dsn")
               if name in sse_server.options}
    backend = backend_registry(get_plugin_manager()).get(sse_server.backend).from_options(
        options)

    async def read() -> str:
        await backend.open()
        try:
            encryption = (await backend.head_object(bucket, key)).attributes.encryption
        finally:
            await backend.close()
        assert encryption is not None
        return encryption.data_key

    return asyncio.run(read())


@pytest.mark.parametrize("mode", ["sse-c", "sse-s3", "kms"])
def test_stored_bytes_hold_no_plaintext(s3, bucket, sse_server, mode):
    if sse_server.backend == "memory":
        pytest.skip("the memory backend's storage is inside the server process")
    key = os.urandom(32)
    data = data_of(2 * SEGMENT + 77, f"plain-{mode}")
    s3.put_object(Bucket=bucket, Key="secret", Body=data, **_write_args(mode, key))
    upload = s3.create_multipart_upload(Bucket=bucket, Key="secret-mp", **_write_args(mode, key))
    part = s3.upload_part(Bucket=bucket, Key="secret-mp", UploadId=upload["UploadId"],
                          PartNumber=1, Body=data, **_read_args(mode, key))
    s3.complete_multipart_upload(Bucket=bucket, Key="secret-mp", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1,
                                                             "ETag": part["ETag"]}]},
                                 **_read_args(mode, key))
    blobs = _stored_blobs(sse_server, bucket)
    assert sum(len(blob) for blob in blobs) > 2 * len(data)
    probes = [data[i:i + 32] for i in range(0, len(data) - 32, 100_003)]
    for blob in blobs:
        for probe in probes:
            assert probe not in blob
        assert key not in blob and base64.b64encode(key) not in blob


def _tamper(sse_server: RunningServer, bucket: str, offset: int) -> None:
    """Flip one stored byte at ``offset`` of the bucket's only object."""
    if sse_server.backend == "filesystem":
        (path,) = [p for p in _files(sse_server, bucket) if "objects" in str(p)]
        with open(path, "r+b") as file:
            file.seek(offset)
            byte = file.read(1)
            file.seek(offset)
            file.write(bytes([byte[0] ^ 0x01]))
        return
    asyncio.run(_pg(
        sse_server.options["dsn"],
        "UPDATE blocks b SET data = overlay(data PLACING "
        "set_byte(substring(data FROM ($2 - position + 1)::int FOR 1), 0, "
        "get_byte(substring(data FROM ($2 - position + 1)::int FOR 1), 0) # 1) "
        "FROM ($2 - position + 1)::int FOR 1) "
        "FROM versions v JOIN buckets k ON k.id = v.bucket_id "
        "WHERE v.id = b.version_id AND k.name = $1 "
        "AND b.position <= $2 AND b.position + length(b.data) > $2 RETURNING b.version_id",
        bucket, offset))


def test_altered_ciphertext_is_detected_never_returned(s3, bucket, sse_server):
    if sse_server.backend == "memory":
        pytest.skip("the memory backend's storage is inside the server process")
    data = data_of(100, "small")
    s3.put_object(Bucket=bucket, Key="small", Body=data, ServerSideEncryption="AES256")
    _tamper(sse_server, bucket, 40)
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket=bucket, Key="small")
    assert error_code(refused) == ("InternalError", 500)
    assert sse_server.process.poll() is None


def test_altered_later_segment_cuts_the_transfer(s3, bucket, sse_server):
    if sse_server.backend == "memory":
        pytest.skip("the memory backend's storage is inside the server process")
    data = data_of(3 * SEGMENT, "large")
    s3.put_object(Bucket=bucket, Key="large", Body=data, ServerSideEncryption="AES256")
    _tamper(sse_server, bucket, 2 * STORED_SEGMENT + 500)
    received = b""
    with pytest.raises(Exception):  # noqa: B017 - the transfer is cut: any read error
        body = s3.get_object(Bucket=bucket, Key="large")["Body"]
        while chunk := body.read(256 * 1024):
            received += chunk
    # What came before the altered segment is the object's; nothing of that segment came.
    assert len(received) <= 2 * SEGMENT
    assert received == data[:len(received)]
    # A range that avoids the altered segment still reads.
    got = s3.get_object(Bucket=bucket, Key="large", Range=f"bytes=0-{SEGMENT - 1}")
    assert got["Body"].read() == data[:SEGMENT]
    assert sse_server.process.poll() is None


# --------------------------------------------------------------------------- the AWS CLI


@pytest.fixture
def aws(sse_server, aws_env, tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "awscli", *args, "--endpoint-url", sse_server.endpoint],
            env=aws_env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result
    return run


def test_aws_cli_sse_sse_c_and_kms(aws, s3, bucket, tmp_path):
    small, large = data_of(300_000, "cli"), data_of(9 * MiB + 3, "cli-large")
    (tmp_path / "small").write_bytes(small)
    (tmp_path / "large").write_bytes(large)  # above the CLI's 8 MiB multipart threshold
    key = os.urandom(32)
    (tmp_path / "key.bin").write_bytes(key)
    aws("s3", "cp", "small", f"s3://{bucket}/sse", "--sse", "AES256")
    aws("s3", "cp", "small", f"s3://{bucket}/kms", "--sse", "aws:kms", "--sse-kms-key-id", "other")
    for name in ("small", "large"):
        aws("s3", "cp", name, f"s3://{bucket}/c-{name}", "--sse-c", "AES256",
            "--sse-c-key", "fileb://key.bin")
    assert s3.head_object(Bucket=bucket, Key="sse")["ServerSideEncryption"] == "AES256"
    head = s3.head_object(Bucket=bucket, Key="kms")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", "other")
    assert s3.head_object(Bucket=bucket, Key="c-large", **customer(key))["ContentLength"] \
        == len(large)
    for name, data in (("sse", small), ("kms", small)):
        aws("s3", "cp", f"s3://{bucket}/{name}", f"{name}.out")
        assert (tmp_path / f"{name}.out").read_bytes() == data
    for name, data in (("small", small), ("large", large)):
        aws("s3", "cp", f"s3://{bucket}/c-{name}", f"c-{name}.out", "--sse-c", "AES256",
            "--sse-c-key", "fileb://key.bin")
        assert (tmp_path / f"c-{name}.out").read_bytes() == data
    # A server-side copy from an SSE-C source to SSE-S3.
    aws("s3", "cp", f"s3://{bucket}/c-small", f"s3://{bucket}/copied",
        "--sse-c-copy-source", "AES256", "--sse-c-copy-source-key", "fileb://key.bin",
        "--sse", "AES256")
    assert s3.get_object(Bucket=bucket, Key="copied")["Body"].read() == small
    listed = json.loads(aws("s3api", "list-objects-v2", "--bucket", bucket,
                            "--output", "json").stdout)["Contents"]
    assert {o["Key"]: o["Size"] for o in listed}["c-large"] == len(large)
