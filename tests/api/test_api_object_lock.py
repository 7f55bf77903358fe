"""Object lock's errors and edge cases as S3 answers them (PutObject, PutObjectRetention,
PutObjectLegalHold, PutObjectLockConfiguration in the S3 API Reference), on every backend."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid

import pytest
from botocore.exceptions import ClientError

from post3 import errors
from post3.backend import COMPLIANCE, GOVERNANCE, ObjectInfo, ObjectLock
from post3.object_lock import changed_retention, check_removable, parse_configuration
from tests.auth.test_auth_every_operation import (
    ACCESS_KEY,
    SECRET_KEY,
    Attempt,
    botocore_signed,
    root_client,
    send,
)

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)
LATEST = NOW + dt.timedelta(days=2)


def error(call) -> tuple[str, int]:  # noqa: ANN001
    with pytest.raises(ClientError) as excinfo:
        call()
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def soon(seconds: float = 3600) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


@pytest.fixture
def s3(post3_server):  # noqa: ANN001, ANN201
    return root_client(post3_server.endpoint)


@pytest.fixture
def bucket(s3) -> str:  # noqa: ANN001
    name = f"lock-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize("current, mode, until, bypass, allowed", [
    (ObjectLock(), GOVERNANCE, LATER, False, True),
    (ObjectLock(COMPLIANCE, LATER), COMPLIANCE, LATEST, False, True),
    (ObjectLock(COMPLIANCE, LATER), COMPLIANCE, LATER, False, True),
    (ObjectLock(COMPLIANCE, LATEST), COMPLIANCE, LATER, True, False),
    (ObjectLock(COMPLIANCE, LATER), GOVERNANCE, LATEST, True, False),
    (ObjectLock(COMPLIANCE, LATER), None, None, True, False),
    (ObjectLock(GOVERNANCE, LATER), GOVERNANCE, LATEST, False, True),
    (ObjectLock(GOVERNANCE, LATER), COMPLIANCE, LATEST, False, False),
    (ObjectLock(GOVERNANCE, LATER), COMPLIANCE, LATEST, True, True),
    (ObjectLock(GOVERNANCE, LATEST), GOVERNANCE, LATER, False, False),
    (ObjectLock(GOVERNANCE, LATEST), GOVERNANCE, LATER, True, True),
    (ObjectLock(GOVERNANCE, LATER), None, None, False, False),
    (ObjectLock(GOVERNANCE, LATER), None, None, True, True),
    (ObjectLock(COMPLIANCE, NOW - dt.timedelta(seconds=1)), None, None, False, True),
])
def test_how_a_retention_may_change(current, mode, until, bypass, allowed) -> None:  # noqa: ANN001
    if allowed:
        changed = changed_retention(current, mode, until, bypass, NOW)
        assert (changed.mode, changed.retain_until) == (mode, until)
    else:
        with pytest.raises(errors.AccessDenied):
            changed_retention(current, mode, until, bypass, NOW)


def test_removal_is_refused_while_locked() -> None:
    def info(lock: ObjectLock) -> ObjectInfo:
        from post3.backend import ObjectAttributes
        return ObjectInfo("k", 0, "", NOW, attributes=ObjectAttributes(lock=lock))

    check_removable(info(ObjectLock(COMPLIANCE, NOW)), at=NOW)  # the date itself has passed
    with pytest.raises(errors.AccessDenied):
        check_removable(info(ObjectLock(GOVERNANCE, LATER)), at=NOW)
    check_removable(info(ObjectLock(GOVERNANCE, LATER)), True, at=NOW)
    with pytest.raises(errors.AccessDenied):
        check_removable(info(ObjectLock(legal_hold=True)), True, at=NOW)


@pytest.mark.parametrize("body, code", [
    (b"<ObjectLockConfiguration/>", "MalformedXML"),
    (b"<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled>"
     b"</ObjectLockConfiguration>", "MalformedXML"),
    (b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
     b"<DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>"
     b"</DefaultRetention></Rule></ObjectLockConfiguration>", "MalformedXML"),
    (b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
     b"<DefaultRetention><Days>1</Days></DefaultRetention></Rule>"
     b"</ObjectLockConfiguration>", "MalformedXML"),
    (b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
     b"<DefaultRetention><Mode>GOVERNANCE</Mode><Days>0</Days></DefaultRetention></Rule>"
     b"</ObjectLockConfiguration>", "InvalidArgument"),
])
def test_invalid_configurations(body: bytes, code: str) -> None:
    with pytest.raises(errors.S3Error) as raised:
        parse_configuration(body)
    assert raised.value.code == code


# --------------------------------------------------------------------------- on the wire


def test_lock_headers_are_checked(s3, bucket: str) -> None:  # noqa: ANN001
    assert error(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x",
                                       ObjectLockMode="GOVERNANCE")) == ("InvalidArgument", 400)
    assert error(lambda: s3.put_object(
        Bucket=bucket, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=soon(-60))) == ("InvalidArgument", 400)
    assert error(lambda: s3.put_object(
        Bucket=bucket, Key="k", Body=b"x", ObjectLockMode="FOREVER",
        ObjectLockRetainUntilDate=soon())) == ("InvalidArgument", 400)
    assert error(lambda: s3.put_object(
        Bucket=bucket, Key="k", Body=b"x", ObjectLockLegalHoldStatus="MAYBE")) == \
        ("InvalidArgument", 400)
    assert error(lambda: s3.put_object_retention(
        Bucket=bucket, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon()})) \
        == ("NoSuchKey", 404)


def test_a_retention_on_put_needs_a_checksum(post3_server, bucket: str) -> None:  # noqa: ANN001
    """S3 refuses a PutObject that sets a retention without Content-MD5 or a checksum (boto3
    always sends one: this request is made by hand)."""
    endpoint = post3_server.endpoint
    until = soon().strftime("%Y-%m-%dT%H:%M:%SZ")
    attempt = Attempt("PUT", f"/{bucket}/k", {"x-amz-object-lock-mode": "GOVERNANCE",
                                               "x-amz-object-lock-retain-until-date": until},
                      b"x")
    answer = send(endpoint, botocore_signed(endpoint, attempt, ACCESS_KEY, SECRET_KEY))
    assert (answer.status, answer.code) == (400, "InvalidRequest")
    attempt.headers["Content-MD5"] = base64.b64encode(hashlib.md5(b"x").digest()).decode()
    answer = send(endpoint, botocore_signed(endpoint, attempt, ACCESS_KEY, SECRET_KEY))
    assert answer.status == 200, answer.body


def test_a_delete_marker_has_no_lock(s3, bucket: str) -> None:  # noqa: ANN001
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    assert error(lambda: s3.get_object_retention(Bucket=bucket, Key="k", VersionId=marker)) == \
        ("MethodNotAllowed", 405)
    assert error(lambda: s3.put_object_legal_hold(
        Bucket=bucket, Key="k", VersionId=marker, LegalHold={"Status": "ON"})) == \
        ("MethodNotAllowed", 405)


def test_a_bucket_without_object_lock(s3) -> None:  # noqa: ANN001
    name = f"plain-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    assert error(lambda: s3.get_object_retention(Bucket=name, Key="k")) == \
        ("InvalidRequest", 400)
    assert error(lambda: s3.put_object_legal_hold(Bucket=name, Key="k",
                                                  LegalHold={"Status": "ON"})) == \
        ("InvalidRequest", 400)
    # creating it again with object lock does not claim the existing bucket has it
    assert error(lambda: s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True))[1] \
        == 409
