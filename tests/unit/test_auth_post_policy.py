"""Browser POST policies as boto3's generate_presigned_post writes them (SigV2 and SigV4)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from post3 import errors
from post3.auth import parse_post_form
from post3.auth.post_policy import check_policy
from post3.errors import InvalidPolicyDocument

ACCESS_KEY = "POST3TESTKEY"
SECRET = "post3/test+secret"


def presigned_post(version, key="uploads/${filename}", fields=None, conditions=None):
    config = {"signature_version": "s3v4"} if version == "sigv4" else {}
    s3 = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9000",
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}, **config),
    )
    return s3.generate_presigned_post(
        "bkt", key, Fields=fields, Conditions=conditions, ExpiresIn=600
    )["fields"]


def verify(form, bucket="bkt", now=None, secret=SECRET):
    signed = parse_post_form(form, bucket, now or datetime.now(UTC))
    return signed, signed.verify(secret)


VERSIONS = ["sigv2", "sigv4"]


@pytest.mark.parametrize("version", VERSIONS)
def test_boto3_presigned_post_verifies(version):
    form = presigned_post(version, key="photos/cat.png")
    signed, policy = verify(form)
    assert signed.access_key_id == ACCESS_KEY
    assert signed.scheme == version
    assert policy.max_size is None


@pytest.mark.parametrize("version", VERSIONS)
def test_field_names_are_case_insensitive(version):
    form = {name.upper(): value for name, value in presigned_post(version, "k").items()}
    assert verify(form)[0].access_key_id == ACCESS_KEY


@pytest.mark.parametrize("version", VERSIONS)
def test_wrong_secret_or_altered_policy_is_refused(version):
    form = presigned_post(version, "k")
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(form, secret="wrong")
    document = json.loads(base64.b64decode(form["policy"]))
    document["expiration"] = "2099-01-01T00:00:00Z"
    form["policy"] = base64.b64encode(json.dumps(document).encode()).decode()
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(form)


@pytest.mark.parametrize("version", VERSIONS)
def test_conditions_are_enforced(version):
    form = presigned_post(
        version,
        key="photos/${filename}",
        fields={"Content-Type": "image/png", "success_action_status": "201"},
        conditions=[
            ["content-length-range", 10, 1000],
            ["starts-with", "$Content-Type", "image/"],
            {"success_action_status": "201"},
        ],
    )
    # boto3 turns a ${filename} key into a starts-with condition; the form carries the key.
    form["key"] = "photos/cat.png"
    _, policy = verify(form)
    assert (policy.min_size, policy.max_size) == (10, 1000)
    policy.check_size(10)
    with pytest.raises(errors.EntityTooLarge) as raised:
        policy.check_size(1001)
    assert raised.value.fields == {"ProposedSize": "1001", "MaxSizeAllowed": "1000"}
    with pytest.raises(errors.EntityTooSmall):
        policy.check_size(9)

    for name, value, message in [
        ("key", "other/cat.png", '["starts-with", "$key", "photos/"]'),
        ("Content-Type", "text/html", '["starts-with", "$Content-Type", "image/"]'),
        ("success_action_status", "200", '["eq", "$success_action_status", "201"]'),
        ("x-amz-meta-extra", "1", "Extra input fields: x-amz-meta-extra"),
    ]:
        with pytest.raises(errors.AccessDenied) as raised:
            verify({**form, name: value})
        assert message in raised.value.message
    with pytest.raises(errors.AccessDenied, match="Policy Condition failed"):
        verify(form, bucket="other-bucket")
    assert verify({**form, "x-ignore-tracking": "1"})


@pytest.mark.parametrize("version", VERSIONS)
def test_expired_policy_is_refused(version):
    form = presigned_post(version, "k")
    later = datetime.now(UTC) + timedelta(seconds=700)
    with pytest.raises(errors.AccessDenied, match="Policy expired"):
        verify(form, now=later)


def test_form_without_policy_is_anonymous():
    with pytest.raises(errors.AccessDenied):
        parse_post_form({"key": "k"}, "bkt", datetime.now(UTC))


def test_missing_signature_field_is_named():
    form = presigned_post("sigv4", "k")
    del form["x-amz-signature"]
    with pytest.raises(errors.InvalidArgument, match="x-amz-signature"):
        parse_post_form(form, "bkt", datetime.now(UTC))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"conditions": []}, "missing expiration"),
        ({"expiration": "soon", "conditions": []}, "Invalid 'expiration'"),
        (
            {"expiration": "2099-01-01T00:00:00.000Z", "conditions": [["in", "$key", "a"]]},
            "Invalid Condition",
        ),
        (
            {
                "expiration": "2099-01-01T00:00:00.000Z",
                "conditions": [["content-length-range", 5, 1]],
            },
            "Invalid Condition",
        ),
    ],
)
def test_invalid_policy_documents(document, message):
    with pytest.raises(InvalidPolicyDocument, match=message) as raised:
        check_policy(document, {}, "bkt", datetime.now(UTC))
    assert raised.value.status == 400
