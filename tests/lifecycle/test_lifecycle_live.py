"""Lifecycle on a running server, as users see it: boto3 sets the rules, the server's own
background job applies them, with two workers contending for each pass. A lifecycle "day"
is shortened to two seconds (``POST3_LIFECYCLE_DAY_SECONDS``) instead of waiting days."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from tests.conftest import ACCESS_KEY, SECRET_KEY, start_server

DAY = 2.0
BUCKET = "lifecycle-live"
RULES = {"Rules": [
    {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
     "Expiration": {"Days": 1}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
    {"ID": "markers", "Filter": {"Prefix": "m/"}, "Status": "Enabled",
     "Expiration": {"ExpiredObjectDeleteMarker": True},
     "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
    {"ID": "never", "Filter": {"Prefix": "keep/"}, "Status": "Disabled",
     "Expiration": {"Days": 1}},
]}


def client(endpoint: str):  # noqa: ANN201
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}))


def versions(s3, bucket: str) -> list[tuple[str, bool]]:  # noqa: ANN001
    reply = s3.list_object_versions(Bucket=bucket)
    found = [(v["Key"], False) for v in reply.get("Versions", [])]
    found += [(m["Key"], True) for m in reply.get("DeleteMarkers", [])]
    return sorted(found)


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of this test's own: its server's job reads every bucket it holds."""
    from post3_postgres import testing

    admin = testing.server_dsn()
    name, dsn = asyncio.run(testing.create_database(admin, migrated=False))
    yield dsn
    asyncio.run(testing.drop_database(admin, name))


@pytest.mark.parametrize("backend", ["filesystem", pytest.param("postgres",
                                                                marks=pytest.mark.postgres)])
def test_rules_are_applied_by_the_running_server(backend, tmp_path, request) -> None:
    options = {"root": str(tmp_path / "data"), "fsync": "false"}
    if backend == "postgres":
        options = {"dsn": request.getfixturevalue("own_database"), "auto_migrate": "true"}
    server = start_server(backend, options, workdir=tmp_path, args=("--workers", "2"),
                          env={"POST3_LIFECYCLE_DAY_SECONDS": str(DAY),
                               "POST3_LIFECYCLE_INTERVAL": "0.5"})
    try:
        s3 = client(server.endpoint)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration=RULES)
        assert [r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]] \
            == ["tmp", "markers", "never"]
        s3.put_object(Bucket=BUCKET, Key="tmp/a", Body=b"old")
        written = s3.put_object(Bucket=BUCKET, Key="tmp/a", Body=b"new")
        assert "expiry-date=" in written["Expiration"] and 'rule-id="tmp"' in written["Expiration"]
        s3.put_object(Bucket=BUCKET, Key="m/x", Body=b"x")
        s3.delete_object(Bucket=BUCKET, Key="m/x")
        s3.put_object(Bucket=BUCKET, Key="keep/y", Body=b"y")
        s3.create_multipart_upload(Bucket=BUCKET, Key="tmp/upload")
        # tmp/a: both versions go (the newer after a marker made it noncurrent), the marker
        # stays; m/x: its version goes, then its lone marker; the upload is aborted;
        # keep/y (a disabled rule) stays.
        wanted = [("keep/y", False), ("tmp/a", True)]
        deadline = time.monotonic() + 40 * DAY
        while time.monotonic() < deadline:
            if versions(s3, BUCKET) == wanted and not s3.list_multipart_uploads(
                    Bucket=BUCKET).get("Uploads"):
                break
            time.sleep(0.5)
        assert versions(s3, BUCKET) == wanted
        assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")
        with urllib.request.urlopen(server.endpoint + "/_post3/metrics") as reply:
            metrics = reply.read().decode()
        assert 'post3_lifecycle_expired_total{kind="noncurrent"}' in metrics
    finally:
        server.stop()
