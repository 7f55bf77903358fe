"""post3's own endpoints live under ``/_post3/`` and never shadow a bucket."""

from __future__ import annotations

import urllib.request

from tests.ops.conftest import boto3_client


def test_buckets_named_like_the_ops_endpoints_work(start_post3) -> None:
    server = start_post3("--backend", "memory")
    s3 = boto3_client(server.endpoint)
    for bucket in ("health", "metrics"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="health", Key="live", Body=b"the object, not the probe")
    s3.put_object(Bucket="health", Key="ready", Body=b"also an object")
    s3.put_object(Bucket="metrics", Key="a", Body=b"1")

    assert s3.get_object(Bucket="health", Key="live")["Body"].read() == \
        b"the object, not the probe"
    assert s3.get_object(Bucket="health", Key="ready")["Body"].read() == b"also an object"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="health")["Contents"]] == \
        ["live", "ready"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="metrics")["Contents"]] == ["a"]
    assert [o["Key"] for o in s3.list_objects(Bucket="metrics")["Contents"]] == ["a"]
    s3.head_bucket(Bucket="metrics")

    # ... while the endpoints answer at their own paths, without credentials
    for path, expected in (("health/live", b"live\n"), ("health/ready", b"ready\n")):
        with urllib.request.urlopen(f"{server.endpoint}/_post3/{path}", timeout=10) as answer:
            assert answer.read() == expected
    with urllib.request.urlopen(f"{server.endpoint}/_post3/metrics", timeout=10) as answer:
        assert b"post3_requests_total" in answer.read()
    s3.close()
