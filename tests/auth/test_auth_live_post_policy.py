"""Browser-form uploads (``POST /bucket``, multipart/form-data) prepared by boto3's
``generate_presigned_post``, SigV2 and SigV4: a form within its policy is stored; a form that
breaks a condition, has expired, or was altered is refused and stores nothing."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid

import pytest

V4 = {"signature_version": "s3v4"}
SIGNATURES = pytest.mark.parametrize(
    ("config", "signature_field"), [({}, "signature"), (V4, "x-amz-signature")],
    ids=["sigv2", "sigv4"])


def form_data(fields: dict[str, str], content: bytes, filename: str = "upload.bin"
              ) -> tuple[str, bytes]:
    """A multipart/form-data body as a browser sends it: the fields, then ``file`` last."""
    boundary = f"----post3form{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def post_form(api, presigned: dict, content: bytes, **field_changes: str):  # type: ignore[no-untyped-def]
    fields = {**presigned["fields"], **field_changes}
    content_type, body = form_data(fields, content)
    return api.send("POST", presigned["url"], headers={"Content-Type": content_type}, body=body)


@SIGNATURES
def test_a_presigned_post_uploads(api, bucket, config, signature_field):
    presigned = api.client(**config).generate_presigned_post(
        bucket, "form/${filename}", ExpiresIn=300)
    assert signature_field in presigned["fields"]
    content = b"from a browser form \x00\x01" * 100
    reply = post_form(api, presigned, content)
    assert reply.status == 204, reply.body
    assert api.stored(bucket, "form/upload.bin") == content
    assert reply.headers["ETag"].strip('"') == \
        api.root.head_object(Bucket=bucket, Key="form/upload.bin")["ETag"].strip('"')


def test_a_presigned_post_with_201_answers_a_post_response(api, bucket):
    presigned = api.client(**V4).generate_presigned_post(
        bucket, "form/created", Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}], ExpiresIn=300)
    reply = post_form(api, presigned, b"created")
    assert reply.status == 201, reply.body
    assert re.search(rb"<Key>form/created</Key>", reply.body)
    assert api.stored(bucket, "form/created") == b"created"


@SIGNATURES
def test_a_file_larger_than_the_policy_allows_is_refused(api, bucket, config, signature_field):
    presigned = api.client(**config).generate_presigned_post(
        bucket, "big", Conditions=[["content-length-range", 1, 10]], ExpiresIn=300)
    reply = post_form(api, presigned, b"x" * 100)
    # S3 answers a size outside content-length-range with EntityTooLarge/EntityTooSmall (400).
    assert (reply.status, reply.code) == (400, "EntityTooLarge")
    assert api.stored(bucket, "big") is None
    reply = post_form(api, presigned, b"")
    assert (reply.status, reply.code) == (400, "EntityTooSmall")
    assert api.stored(bucket, "big") is None
    assert post_form(api, presigned, b"x" * 10).status == 204


@SIGNATURES
def test_a_key_outside_the_policy_prefix_is_refused(api, bucket, config, signature_field):
    presigned = api.client(**config).generate_presigned_post(
        bucket, "uploads/${filename}", Conditions=[["starts-with", "$key", "uploads/"]],
        ExpiresIn=300)
    reply = post_form(api, presigned, b"escaped", key="elsewhere/escaped")
    assert (reply.status, reply.code) == (403, "AccessDenied")
    assert api.stored(bucket, "elsewhere/escaped") is None
    reply = post_form(api, presigned, b"inside", key="uploads/inside")
    assert reply.status == 204, reply.body
    assert api.stored(bucket, "uploads/inside") == b"inside"


def test_an_exact_key_condition_is_enforced(api, bucket):
    """boto3 puts ``{"key": KEY}`` in the policy: another key is refused."""
    presigned = api.client().generate_presigned_post(bucket, "exact", ExpiresIn=300)
    reply = post_form(api, presigned, b"x", key="not-exact")
    assert (reply.status, reply.code) == (403, "AccessDenied")
    assert api.stored(bucket, "not-exact") is None


def test_a_field_the_policy_does_not_name_is_refused(api, bucket):
    presigned = api.client(**V4).generate_presigned_post(bucket, "extra", ExpiresIn=300)
    reply = post_form(api, presigned, b"x", **{"x-amz-meta-sneaky": "1"})
    assert (reply.status, reply.code) == (403, "AccessDenied")
    assert api.stored(bucket, "extra") is None


def test_a_form_for_another_bucket_is_refused(api, bucket):
    presigned = api.client(**V4).generate_presigned_post(bucket, "moved", ExpiresIn=300)
    other = f"auth-other-{uuid.uuid4().hex[:12]}"
    api.root.create_bucket(Bucket=other)
    try:
        moved = {**presigned, "url": presigned["url"].replace(f"/{bucket}", f"/{other}")}
        reply = post_form(api, moved, b"x")
        assert (reply.status, reply.code) == (403, "AccessDenied")
        assert api.stored(other, "moved") is None
    finally:
        api.root.delete_bucket(Bucket=other)


@SIGNATURES
def test_an_altered_policy_is_refused(api, bucket, config, signature_field):
    presigned = api.client(**config).generate_presigned_post(
        bucket, "small", Conditions=[["content-length-range", 1, 10]], ExpiresIn=300)
    policy = json.loads(base64.b64decode(presigned["fields"]["policy"]))
    policy["conditions"] = [c for c in policy["conditions"]
                            if not (isinstance(c, list) and c[0] == "content-length-range")]
    altered = base64.b64encode(json.dumps(policy).encode()).decode()
    reply = post_form(api, presigned, b"x" * 100, policy=altered)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "small") is None


@SIGNATURES
def test_a_wrong_secret_is_refused(api, bucket, config, signature_field):
    presigned = api.client("testing", "wrong", **config).generate_presigned_post(
        bucket, "wrong", ExpiresIn=300)
    reply = post_form(api, presigned, b"x")
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "wrong") is None


def test_an_unsigned_form_is_refused(api, bucket):
    content_type, body = form_data({"key": "anonymous"}, b"x")
    reply = api.send("POST", f"/{bucket}", headers={"Content-Type": content_type}, body=body)
    assert (reply.status, reply.code) == (403, "AccessDenied")
    assert api.stored(bucket, "anonymous") is None


def test_an_expired_policy_is_refused(api, bucket):
    forms = [api.client(**config).generate_presigned_post(bucket, "late", ExpiresIn=1)
             for config in ({}, V4)]
    time.sleep(2.2)
    for presigned in forms:
        reply = post_form(api, presigned, b"too late")
        assert (reply.status, reply.code) == (403, "AccessDenied")
    assert api.stored(bucket, "late") is None


def test_a_form_signed_by_a_read_only_key_is_refused(api, bucket):
    created = api.keys("create", "--allow", f"{bucket}:read")
    assert created.returncode == 0, created.stderr
    key_id = re.search(r"^Access key ID:\s+(\S+)$", created.stdout, re.M).group(1)
    secret = re.search(r"^Secret access key:\s+(\S+)$", created.stdout, re.M).group(1)
    for config in ({}, V4):
        presigned = api.client(key_id, secret, **config).generate_presigned_post(
            bucket, "by-reader", ExpiresIn=300)
        reply = post_form(api, presigned, b"x")
        assert (reply.status, reply.code) == (403, "AccessDenied")
    assert api.stored(bucket, "by-reader") is None
