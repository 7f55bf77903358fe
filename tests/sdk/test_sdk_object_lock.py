"""Object lock as backup tools use it: boto3 against a live ``post3 run --workers 2`` on the
filesystem and on PostgreSQL, with the lifecycle job running on a shortened day.

What S3 documents (the user guide's "Locking objects with Object Lock", PutObjectRetention,
PutObjectLegalHold, DeleteObject): a version under COMPLIANCE retention cannot be deleted by
anyone until its date, and its retention can only be extended; GOVERNANCE gives way to a
request with ``x-amz-bypass-governance-retention: true`` from a principal allowed to bypass it
(in post3: the bucket's owners and admins); a legal hold keeps a version until it is turned
off; a DELETE without a version id still adds a delete marker; lifecycle never removes a locked
version. Nothing else in post3 (``post3 gc``) does either.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import subprocess
import time
import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, SECRET_KEY, RunningServer, post3_command, start_server

DAY = 2.0  # seconds: POST3_LIFECYCLE_DAY_SECONDS


def client(endpoint: str, key: str = ACCESS_KEY, secret: str = SECRET_KEY):  # noqa: ANN201
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key,
                        aws_secret_access_key=secret, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"total_max_attempts": 1}))


def code_of(call) -> str:  # noqa: ANN001
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response["Error"]["Code"]


def soon(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


class Server:
    def __init__(self, running: RunningServer, backend: str, options: dict[str, str]) -> None:
        self.running, self.backend, self.options = running, backend, options
        self.s3 = client(running.endpoint)

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``post3 ARGS`` against the server's storage, while it serves."""
        options = [arg for name, value in self.options.items() for arg in ("-o", f"{name}={value}")]
        return subprocess.run([*post3_command(), *args, "--backend", self.backend, *options],
                              capture_output=True, text=True, timeout=120)

    def key(self, *grants: str):  # noqa: ANN201
        """A client for a new key with ``--allow`` grants."""
        result = self.command("keys", "create", *(a for g in grants for a in ("--allow", g)))
        assert result.returncode == 0, result.stderr
        key_id = re.search(r"^Access key ID:\s+(\S+)$", result.stdout, re.M)
        secret = re.search(r"^Secret access key:\s+(\S+)$", result.stdout, re.M)
        assert key_id and secret, result.stdout
        return client(self.running.endpoint, key_id.group(1), secret.group(1))


@pytest.fixture(scope="module", params=["filesystem",
                                        pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request, tmp_path_factory) -> Iterator[Server]:  # noqa: ANN001
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"lock-{backend}")
    options = {"root": str(workdir / "data"), "fsync": "false"}
    cleanup = None
    if backend == "postgres":
        from post3_postgres import testing

        admin = testing.server_dsn()
        name, dsn = asyncio.run(testing.create_database(admin, migrated=False))
        options = {"dsn": dsn, "auto_migrate": "true"}

        def cleanup() -> None:
            asyncio.run(testing.drop_database(admin, name))
    running = start_server(backend, options, workdir=workdir, args=("--workers", "2"),
                           env={"POST3_LIFECYCLE_DAY_SECONDS": str(DAY),
                                "POST3_LIFECYCLE_INTERVAL": "0.5"})
    try:
        yield Server(running, backend, options)
    finally:
        running.stop()
        if cleanup is not None:
            cleanup()


@pytest.fixture
def bucket(server: Server) -> str:
    name = f"lock-{uuid.uuid4().hex[:16]}"
    server.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def versions(s3, bucket: str) -> list[tuple[str, str]]:  # noqa: ANN001
    reply = s3.list_object_versions(Bucket=bucket)
    return sorted([(v["Key"], v["VersionId"]) for v in reply.get("Versions", [])])


def test_a_bucket_made_with_object_lock_is_versioned_for_good(server: Server,
                                                               bucket: str) -> None:
    s3 = server.s3
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    config = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert config == {"ObjectLockEnabled": "Enabled"}
    assert code_of(lambda: s3.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})) == "InvalidBucketState"
    plain = f"plain-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=plain)
    assert code_of(lambda: s3.get_object_lock_configuration(Bucket=plain)) == \
        "ObjectLockConfigurationNotFoundError"
    assert code_of(lambda: s3.put_object(
        Bucket=plain, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=soon(60))) == "InvalidRequest"
    # an existing bucket gets object lock once its versioning is Enabled
    lock = {"ObjectLockEnabled": "Enabled"}
    assert code_of(lambda: s3.put_object_lock_configuration(
        Bucket=plain, ObjectLockConfiguration=lock)) == "InvalidBucketState"
    s3.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=plain, ObjectLockConfiguration=lock)
    assert s3.get_object_lock_configuration(Bucket=plain)["ObjectLockConfiguration"] == lock


def test_a_compliance_version_survives_every_removal(server: Server, bucket: str) -> None:
    """Delete by id, an overwrite of the key, a lifecycle rule that expires noncurrent
    versions after a day, and ``post3 gc``: the version and its bytes are all still there."""
    s3 = server.s3
    until = soon(8 * DAY)
    kept = s3.put_object(Bucket=bucket, Key="backup/db", Body=b"precious",
                         ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)["VersionId"]
    head = s3.head_object(Bucket=bucket, Key="backup/db")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    # boto3 sends whole seconds
    assert abs((head["ObjectLockRetainUntilDate"] - until).total_seconds()) < 1
    retention = s3.get_object_retention(Bucket=bucket, Key="backup/db")["Retention"]
    assert retention["Mode"] == "COMPLIANCE"

    for bypass in (False, True):  # bypassing governance does nothing to compliance
        assert code_of(lambda b=bypass: s3.delete_object(
            Bucket=bucket, Key="backup/db", VersionId=kept,
            BypassGovernanceRetention=b)) == "AccessDenied"
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "backup/db", "VersionId": kept}]})
    assert [e["Code"] for e in result["Errors"]] == ["AccessDenied"]
    # retention can be extended, never shortened nor removed
    assert code_of(lambda: s3.put_object_retention(
        Bucket=bucket, Key="backup/db", VersionId=kept,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": soon(DAY)})) == "AccessDenied"
    assert code_of(lambda: s3.put_object_retention(
        Bucket=bucket, Key="backup/db", VersionId=kept,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon(9 * DAY)},
        BypassGovernanceRetention=True)) == "AccessDenied"
    s3.put_object_retention(Bucket=bucket, Key="backup/db", VersionId=kept,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until
                                       + dt.timedelta(seconds=1)})

    # overwriting the key makes a new version; a delete without an id adds a marker on top
    s3.put_object(Bucket=bucket, Key="backup/db", Body=b"ransom")
    marker = s3.delete_object(Bucket=bucket, Key="backup/db")
    assert marker["DeleteMarker"] is True
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "all", "Filter": {"Prefix": ""}, "Status": "Enabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]})
    assert server.command("gc", "--older-than", "0s").returncode == 0
    # the unlocked noncurrent version goes after a day; the locked one stays
    deadline = time.monotonic() + 6 * DAY
    while time.monotonic() < deadline and len(versions(s3, bucket)) > 1:
        time.sleep(0.5)
    assert versions(s3, bucket) == [("backup/db", kept)]
    body = s3.get_object(Bucket=bucket, Key="backup/db", VersionId=kept)["Body"].read()
    assert body == b"precious"
    s3.delete_bucket_lifecycle(Bucket=bucket)


def test_governance_gives_way_only_to_the_header_and_the_right_key(server: Server,
                                                                   bucket: str) -> None:
    s3 = server.s3
    writer = server.key(f"{bucket}:write")
    version = writer.put_object(Bucket=bucket, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                                ObjectLockRetainUntilDate=soon(3600))["VersionId"]
    assert code_of(lambda: s3.delete_object(Bucket=bucket, Key="k", VersionId=version)) == \
        "AccessDenied"
    assert code_of(lambda: writer.delete_object(
        Bucket=bucket, Key="k", VersionId=version, BypassGovernanceRetention=True)) == \
        "AccessDenied"
    # shortening needs the bypass too; extending does not
    assert code_of(lambda: writer.put_object_retention(
        Bucket=bucket, Key="k", VersionId=version, BypassGovernanceRetention=True,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon(60)})) == "AccessDenied"
    writer.put_object_retention(Bucket=bucket, Key="k", VersionId=version,
                                Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon(7200)})
    owner = server.key(f"{bucket}:owner")
    owner.delete_object(Bucket=bucket, Key="k", VersionId=version,
                        BypassGovernanceRetention=True)
    assert versions(s3, bucket) == []
    # the root key (an admin) may bypass too, and may remove a governance retention
    other = s3.put_object(Bucket=bucket, Key="g", Body=b"y", ObjectLockMode="GOVERNANCE",
                          ObjectLockRetainUntilDate=soon(3600))["VersionId"]
    s3.put_object_retention(Bucket=bucket, Key="g", VersionId=other, Retention={},
                            BypassGovernanceRetention=True)
    assert code_of(lambda: s3.get_object_retention(Bucket=bucket, Key="g")) == \
        "NoSuchObjectLockConfiguration"
    s3.delete_object(Bucket=bucket, Key="g", VersionId=other)


def test_a_legal_hold_keeps_a_version_until_it_is_turned_off(server: Server,
                                                             bucket: str) -> None:
    s3 = server.s3
    version = s3.put_object(Bucket=bucket, Key="evidence", Body=b"e",
                            ObjectLockLegalHoldStatus="ON")["VersionId"]
    assert s3.head_object(Bucket=bucket, Key="evidence")["ObjectLockLegalHoldStatus"] == "ON"
    for bypass in (False, True):
        assert code_of(lambda b=bypass: s3.delete_object(
            Bucket=bucket, Key="evidence", VersionId=version,
            BypassGovernanceRetention=b)) == "AccessDenied"
    s3.put_object_legal_hold(Bucket=bucket, Key="evidence", VersionId=version,
                             LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=bucket, Key="evidence")["LegalHold"] == \
        {"Status": "OFF"}
    s3.delete_object(Bucket=bucket, Key="evidence", VersionId=version)
    # set on an existing version, a hold protects it from then on
    later = s3.put_object(Bucket=bucket, Key="later", Body=b"l")["VersionId"]
    assert code_of(lambda: s3.get_object_legal_hold(Bucket=bucket, Key="later")) == \
        "NoSuchObjectLockConfiguration"
    s3.put_object_legal_hold(Bucket=bucket, Key="later", LegalHold={"Status": "ON"})
    assert code_of(lambda: s3.delete_object(Bucket=bucket, Key="later", VersionId=later)) == \
        "AccessDenied"
    s3.put_object_legal_hold(Bucket=bucket, Key="later", LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=bucket, Key="later", VersionId=later)


def test_default_retention_copies_and_multipart_uploads(server: Server, bucket: str) -> None:
    """A bucket's default retention locks every new version that asks for none: PutObject,
    CopyObject (which never takes the source's lock) and a completed multipart upload."""
    s3 = server.s3
    s3.put_object(Bucket=bucket, Key="before", Body=b"b")
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"]
    assert rule == {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    assert "ObjectLockMode" not in s3.head_object(Bucket=bucket, Key="before")
    s3.put_object(Bucket=bucket, Key="after", Body=b"a")
    head = s3.head_object(Bucket=bucket, Key="after")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert dt.timedelta(hours=23) < head["ObjectLockRetainUntilDate"] - dt.datetime.now(dt.UTC) \
        <= dt.timedelta(days=1)
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "after"},
                   ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=soon(60))
    assert s3.head_object(Bucket=bucket, Key="copy")["ObjectLockMode"] == "COMPLIANCE"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big",
                                        ObjectLockLegalHoldStatus="ON")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"p")
    s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    big = s3.head_object(Bucket=bucket, Key="big")
    assert big["ObjectLockMode"] == "GOVERNANCE" and big["ObjectLockLegalHoldStatus"] == "ON"
    s3.put_object_legal_hold(Bucket=bucket, Key="big", LegalHold={"Status": "OFF"})
