"""Every operation the router knows, sent by an admin with ``x-amz-bypass-governance-retention:
true`` at a version under COMPLIANCE retention and at one under a legal hold: whatever each
answers, both versions, their bytes and their locks are there afterwards.

The operations come from :data:`post3.api.router.ROUTES`, so one added later is tried here
without being named. Each is aimed at the locked version (``versionId`` in its query), and the
ones that could remove or unlock it if the rule were missing get the body that would: a
DeleteObjects list naming both versions, a shorter retention, a suspended versioning status.
Run on the memory, filesystem and PostgreSQL backends.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest

from post3.api.router import ROUTES
from tests.auth.test_auth_every_operation import (
    ACCESS_KEY,
    SECRET_KEY,
    Attempt,
    Victim,
    botocore_signed,
    plain_request,
    root_client,
    send,
)

KEYS = ("compliance.txt", "held.txt")


@dataclass
class Locked:
    bucket: str
    upload_id: str
    versions: dict[str, str]  # key -> version id
    until: dt.datetime


@pytest.fixture
def locked(post3_server) -> Iterator[Locked]:  # type: ignore[no-untyped-def]
    s3 = root_client(post3_server.endpoint)
    bucket = f"locked-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).replace(microsecond=0)
    versions = {
        KEYS[0]: s3.put_object(Bucket=bucket, Key=KEYS[0], Body=b"kept", ObjectLockMode=
                               "COMPLIANCE", ObjectLockRetainUntilDate=until)["VersionId"],
        KEYS[1]: s3.put_object(Bucket=bucket, Key=KEYS[1], Body=b"held", ObjectLockMode=
                               "GOVERNANCE", ObjectLockRetainUntilDate=until,
                               ObjectLockLegalHoldStatus="ON")["VersionId"],
    }
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=KEYS[0])["UploadId"]
    yield Locked(bucket, upload_id, versions, until)
    # the bucket cannot be emptied (that is the point); it stays with the test's storage


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def _destructive_body(operation: str, locked: Locked) -> bytes | None:
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if operation == "DeleteObjects":
        objects = "".join(f"<Object><Key>{k}</Key><VersionId>{v}</VersionId></Object>"
                          for k, v in locked.versions.items())
        return f"<Delete>{objects}</Delete>".encode()
    if operation == "PutObjectRetention":
        return (f"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>{soon}</RetainUntilDate>"
                "</Retention>").encode()
    if operation == "PutBucketVersioning":
        return b"<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>"
    if operation == "PutBucketLifecycleConfiguration":
        return (b"<LifecycleConfiguration><Rule><ID>all</ID><Filter><Prefix></Prefix></Filter>"
                b"<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"
                b"<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
                b"</NoncurrentVersionExpiration></Rule></LifecycleConfiguration>")
    return None


def _aimed(base: Attempt, key: str, version_id: str, locked: Locked, operation: str,
           target: str) -> Attempt:
    """``base`` aimed at ``key``'s locked version, with the bypass header and, for the
    operations that could do harm, the body that would."""
    path, _, query = base.target.partition("?")
    if target == "object":
        path = f"/{locked.bucket}/{quote(key)}"
        names = [part for part in query.split("&") if part and not part.startswith("versionId")]
        query = "&".join([*names, f"versionId={version_id}"])
    headers = {**base.headers, "x-amz-bypass-governance-retention": "true"}
    body = _destructive_body(operation, locked)
    if body is None:
        body = base.body
    if body:
        headers["Content-MD5"] = _md5(body)
    return Attempt(base.method, path + (f"?{query}" if query else ""), headers, body)


def test_no_operation_removes_or_unlocks_a_locked_version(post3_server, locked) -> None:
    endpoint = post3_server.endpoint
    s3 = root_client(endpoint)
    tried = set()
    for route in ROUTES:
        if route.operation in ("PostObject", "OptionsObject", "CreateBucket"):
            continue  # a browser form and a preflight name no version; a new bucket is another
        base = plain_request(route, Victim(locked.bucket, locked.upload_id))
        for key, version_id in locked.versions.items():
            attempt = _aimed(base, key, version_id, locked, route.operation, route.target)
            send(endpoint, botocore_signed(endpoint, attempt, ACCESS_KEY, SECRET_KEY))
        tried.add(route.operation)
    assert {"DeleteObject", "DeleteObjects", "PutObjectRetention", "PutObjectLegalHold",
            "DeleteBucket", "PutBucketVersioning", "CopyObject", "PutObject"} <= tried
    for key, version_id in locked.versions.items():
        body = s3.get_object(Bucket=locked.bucket, Key=key, VersionId=version_id)["Body"].read()
        assert body == {KEYS[0]: b"kept", KEYS[1]: b"held"}[key]
    kept = s3.head_object(Bucket=locked.bucket, Key=KEYS[0], VersionId=locked.versions[KEYS[0]])
    assert kept["ObjectLockMode"] == "COMPLIANCE"
    assert kept["ObjectLockRetainUntilDate"] == locked.until
    # an admin's bypass may shorten the GOVERNANCE retention (S3 allows it), never the hold
    held = s3.head_object(Bucket=locked.bucket, Key=KEYS[1], VersionId=locked.versions[KEYS[1]])
    # a legal hold is lifted by PutObjectLegalHold (S3 allows it to anyone with that
    # permission): the aimed request's body was not a valid LegalHold, so it stays ON
    assert held["ObjectLockLegalHoldStatus"] == "ON"
    assert s3.get_bucket_versioning(Bucket=locked.bucket)["Status"] == "Enabled"
