"""A post3 without ``--domain`` serves path style only: real clients' virtual-hosted requests
are refused with ``InvalidRequest``, never misread as path style (which stored ``PUT /dir1/x``
meant for bucket ``b`` as bucket ``dir1`` key ``x``, answered a bucket listing with the list of
buckets and HeadBucket with 200 for any name), and ordinary path-style requests to any host
name keep working."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.vhost.conftest import port_of, run_with_hosts
from tests.vhost.test_vhost_clients import DUCKDB_SCRIPT

pytestmark = pytest.mark.usefixtures("loopback_names")


def client(endpoint: str, style: str):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing", region_name="us-east-1",
                        config=Config(s3={"addressing_style": style},
                                      retries={"max_attempts": 1}))


@pytest.fixture
def buckets(path_server):  # type: ignore[no-untyped-def]
    """Two buckets, ``b`` and ``dir1``-like, made in path style."""
    path = client(path_server.endpoint, "path")
    names = [f"vh-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    for name in names:
        path.create_bucket(Bucket=name)
    return names


def error_code(call) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as refused:
        call()
    response = refused.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_virtual_requests_on_localhost_are_refused_not_misrouted(path_server, buckets):
    target, other = buckets
    path = client(path_server.endpoint, "path")
    virtual = client(f"http://localhost:{port_of(path_server)}", "virtual")
    # Misread as path style this would store key "x" in the bucket named by the path.
    assert error_code(lambda: virtual.put_object(Bucket=target, Key=f"{other}/x",
                                                 Body=b"misrouted")) == (400, "InvalidRequest")
    assert error_code(lambda: virtual.list_objects_v2(Bucket=target)) == (400, "InvalidRequest")
    assert error_code(lambda: virtual.head_bucket(Bucket="no-such-bucket"))[0] == 400
    assert error_code(lambda: virtual.get_object(Bucket=target, Key="x")) == (400,
                                                                             "InvalidRequest")
    assert path.list_objects_v2(Bucket=target)["KeyCount"] == 0
    assert path.list_objects_v2(Bucket=other)["KeyCount"] == 0


def test_virtual_bucket_requests_on_another_host_are_refused(path_server, buckets):
    """On a name post3 does not know is a base domain, a bucket-only request on ``/``."""
    virtual = client(f"http://s3.example.test:{port_of(path_server)}", "virtual")
    assert error_code(lambda: virtual.list_objects_v2(Bucket=buckets[0])) == (400,
                                                                             "InvalidRequest")
    assert error_code(lambda: virtual.list_objects(Bucket=buckets[0], Delimiter="/")) == (
        400, "InvalidRequest")
    assert error_code(lambda: virtual.head_bucket(Bucket="no-such-bucket"))[0] == 400
    assert error_code(lambda: virtual.get_bucket_versioning(Bucket=buckets[0])) == (
        400, "InvalidRequest")


def test_path_style_keeps_working_on_any_host_name(path_server, buckets):
    for host in ("localhost", "s3.example.test", "files.s3.example.test", "127.0.0.1"):
        path = client(f"http://{host}:{port_of(path_server)}", "path")
        path.put_object(Bucket=buckets[0], Key=f"dir1/{host}", Body=host.encode())
        assert path.get_object(Bucket=buckets[0], Key=f"dir1/{host}")["Body"].read() == \
            host.encode()
        assert buckets[0] in [b["Name"] for b in path.list_buckets()["Buckets"]]
        listed = path.list_objects_v2(Bucket=buckets[0], Prefix=f"dir1/{host}")
        assert [o["Key"] for o in listed["Contents"]] == [f"dir1/{host}"]


def test_duckdb_vhost_is_refused(path_server, buckets, tmp_path, aws_env):
    env = {**aws_env, "CASE": json.dumps({"endpoint": f"localhost:{port_of(path_server)}",
                                          "bucket": buckets[0]})}
    done = run_with_hosts(tmp_path, [f"{buckets[0]}.localhost"], DUCKDB_SCRIPT, env)
    assert done.returncode != 0
    assert "400" in done.stderr or "InvalidRequest" in done.stderr, done.stderr
    path = client(path_server.endpoint, "path")
    assert path.list_objects_v2(Bucket=buckets[0])["KeyCount"] == 0
    assert "dir1" not in [b["Name"] for b in path.list_buckets()["Buckets"]]
