"""Header-signed requests against a live server: the right key works; a wrong secret, an
unknown key, no signature at all, or a request altered after signing is refused, and a refused
write stores nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore.auth
import botocore.credentials
import pytest
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = excinfo.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_the_right_key_writes_and_reads(api, bucket):
    client = api.client()
    client.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello")
    assert client.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello"
    assert bucket in [b["Name"] for b in client.list_buckets()["Buckets"]]


def test_a_wrong_secret_is_refused_and_stores_nothing(api, bucket):
    client = api.client("testing", "not-the-secret")
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="wrong-secret", Body=b"nope")
    assert error_of(excinfo) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "wrong-secret") is None


def test_a_wrong_secret_cannot_read(api, bucket):
    api.root.put_object(Bucket=bucket, Key="secret.txt", Body=b"private")
    with pytest.raises(ClientError) as excinfo:
        api.client("testing", "not-the-secret").get_object(Bucket=bucket, Key="secret.txt")
    assert error_of(excinfo) == (403, "SignatureDoesNotMatch")


def test_signature_mismatch_reports_what_the_server_signed(api, bucket):
    """S3 sends StringToSign and CanonicalRequest so a client author can compare."""
    reply = api.send("GET", f"/{bucket}", headers=sign("GET", api, f"/{bucket}", secret="x"))
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert b"<StringToSign>" in reply.body and b"<CanonicalRequest>" in reply.body


def test_an_unknown_key_id_is_refused(api, bucket):
    client = api.client("AKIANOSUCHKEY0000000", "whatever")
    with pytest.raises(ClientError) as excinfo:
        client.put_object(Bucket=bucket, Key="unknown-key", Body=b"nope")
    assert error_of(excinfo) == (403, "InvalidAccessKeyId")
    assert api.stored(bucket, "unknown-key") is None


def test_an_anonymous_request_is_denied(api, bucket):
    api.root.put_object(Bucket=bucket, Key="public?", Body=b"no")
    for method, target, body in [
        ("GET", "/", None),
        ("GET", f"/{bucket}", None),
        ("GET", f"/{bucket}/{quote('public?')}", None),
        ("PUT", f"/{bucket}/anonymous", b"anonymous bytes"),
    ]:
        reply = api.send(method, target, body=body)
        assert (reply.status, reply.code) == (403, "AccessDenied"), (method, target)
    assert api.stored(bucket, "anonymous") is None


def test_an_anonymous_head_is_denied_without_a_body(api, bucket):
    api.root.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert api.send("HEAD", f"/{bucket}/k").status == 403


# --------------------------------------------------------------------------- tampering


def sign(method: str, api, path: str, *, query: str = "", headers: dict[str, str] | None = None,
         body: bytes = b"", secret: str = "testing") -> dict[str, str]:
    """Headers that sign this request with SigV4 (botocore's signer; the payload hash is the
    body's hex SHA-256)."""
    url = f"{api.endpoint}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    credentials = botocore.credentials.Credentials("testing", secret)
    botocore.auth.S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    return {name: value for name, value in request.headers.items()}


def test_an_unaltered_offline_signature_is_accepted(api, bucket):
    """The control for the tampering tests below: the same recipe, sent as signed."""
    body = b"as signed"
    headers = sign("PUT", api, f"/{bucket}/control", headers={"x-amz-meta-x": "1"}, body=body)
    reply = api.send("PUT", f"/{bucket}/control", headers=headers, body=body)
    assert reply.status == 200, reply.body
    assert api.stored(bucket, "control") == body
    meta = api.root.head_object(Bucket=bucket, Key="control")["Metadata"]
    assert meta == {"x": "1"}


def test_a_tampered_path_is_refused(api, bucket):
    body = b"payload"
    headers = sign("PUT", api, f"/{bucket}/signed-key", body=body)
    reply = api.send("PUT", f"/{bucket}/other-key", headers=headers, body=body)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "other-key") is None
    assert api.stored(bucket, "signed-key") is None


def test_a_tampered_query_parameter_is_refused(api, bucket):
    for key in ("a/1", "b/2"):
        api.root.put_object(Bucket=bucket, Key=key, Body=b"x")
    headers = sign("GET", api, f"/{bucket}", query="list-type=2&prefix=a%2F")
    reply = api.send("GET", f"/{bucket}?list-type=2&prefix=b%2F", headers=headers)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    # An added parameter is a change too.
    reply = api.send("GET", f"/{bucket}?list-type=2&prefix=a%2F&max-keys=1", headers=headers)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")


def test_a_tampered_query_parameter_on_a_write_stores_nothing(api, bucket):
    """A parameter added after signing a PutObject refuses the write."""
    body = b"payload"
    headers = sign("PUT", api, f"/{bucket}/q", body=body)
    reply = api.send("PUT", f"/{bucket}/q?versionId=null", headers=headers, body=body)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "q") is None


def test_a_tampered_signed_header_is_refused(api, bucket):
    body = b"payload"
    headers = sign("PUT", api, f"/{bucket}/meta", headers={"x-amz-meta-x": "signed"}, body=body)
    headers["x-amz-meta-x"] = "changed"
    reply = api.send("PUT", f"/{bucket}/meta", headers=headers, body=body)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "meta") is None


def test_a_dropped_signed_header_is_refused(api, bucket):
    body = b"payload"
    headers = sign("PUT", api, f"/{bucket}/dropped", headers={"x-amz-meta-x": "1"}, body=body)
    del headers["x-amz-meta-x"]
    reply = api.send("PUT", f"/{bucket}/dropped", headers=headers, body=body)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "dropped") is None


def test_an_added_unsigned_amz_header_is_refused(api, bucket):
    """Anyone on the path could otherwise add metadata or tags to a signed upload."""
    body = b"payload"
    headers = sign("PUT", api, f"/{bucket}/added", body=body)
    headers.update({"x-amz-meta-added": "1", "x-amz-tagging": "added=1"})
    reply = api.send("PUT", f"/{bucket}/added", headers=headers, body=body)
    assert (reply.status, reply.code) == (403, "AccessDenied")
    assert api.stored(bucket, "added") is None


def test_a_tampered_body_under_a_hex_payload_hash_is_refused(api, bucket):
    body = b"the body that was signed"
    headers = sign("PUT", api, f"/{bucket}/body", body=body)
    reply = api.send("PUT", f"/{bucket}/body", headers=headers, body=b"the body that was SENT!!")
    assert reply.status in (400, 403)
    assert reply.code in ("XAmzContentSHA256Mismatch", "SignatureDoesNotMatch")
    assert api.stored(bucket, "body") is None


def test_a_tampered_payload_hash_header_is_refused(api, bucket):
    sent = b"the body that was sent"
    headers = sign("PUT", api, f"/{bucket}/hash", body=b"signed body")
    headers["x-amz-content-sha256"] = hashlib.sha256(sent).hexdigest()
    reply = api.send("PUT", f"/{bucket}/hash", headers=headers, body=sent)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "hash") is None


def test_a_tampered_method_is_refused(api, bucket):
    api.root.put_object(Bucket=bucket, Key="keep", Body=b"keep me")
    headers = sign("GET", api, f"/{bucket}/keep")
    reply = api.send("DELETE", f"/{bucket}/keep", headers=headers)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "keep") == b"keep me"


def test_a_signature_from_another_day_is_too_skewed(api, bucket):
    body = b"old"
    long_ago = dt.datetime(2020, 1, 1)
    # The signer's clock is set back, not the server's.
    with mock.patch("botocore.auth.get_current_datetime", return_value=long_ago):
        headers = sign("PUT", api, f"/{bucket}/old", body=body)
    assert headers["X-Amz-Date"] == "20200101T000000Z"
    reply = api.send("PUT", f"/{bucket}/old", headers=headers, body=body)
    assert (reply.status, reply.code) == (403, "RequestTimeTooSkewed")
    assert api.stored(bucket, "old") is None


def test_a_refused_upload_is_refused_before_its_body(api, bucket):
    """With ``Expect: 100-continue`` a client waits before sending the body: a bad signature
    is answered at once, so a large upload is not sent in vain."""
    body = b"x" * (4 << 20)
    headers = sign("PUT", api, f"/{bucket}/big", body=body, secret="not-the-secret")
    headers.update({"Expect": "100-continue", "Content-Length": str(len(body))})
    parts = urlsplit(api.endpoint)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = f"PUT /{bucket}/big HTTP/1.1\r\nHost: {api.host}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
        sock.sendall(head.encode())
        answer = sock.recv(65536)
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 403"), answer[:300]
    assert b"SignatureDoesNotMatch" in answer
    assert api.stored(bucket, "big") is None


def test_the_date_header_may_stand_in_for_x_amz_date(api, bucket):
    body = b"dated"
    headers = sign("PUT", api, f"/{bucket}/dated", body=body,
                   headers={"Date": "Thu, 01 Jan 1970 00:00:00 GMT"})  # botocore sets it
    assert "Date" in headers and "X-Amz-Date" not in headers
    reply = api.send("PUT", f"/{bucket}/dated", headers=headers, body=body)
    assert reply.status == 200, reply.body
    assert api.stored(bucket, "dated") == body
    headers["Date"] = "Mon, 01 Jan 2024 00:00:00 GMT"
    reply = api.send("PUT", f"/{bucket}/dated-2", headers=headers, body=body)
    assert reply.status == 403
    assert reply.code in ("SignatureDoesNotMatch", "RequestTimeTooSkewed")
    assert api.stored(bucket, "dated-2") is None


def test_anonymous_bucket_posts_are_denied(api, bucket):
    """``POST /bucket?delete`` and a multipart start are signed-header operations too."""
    api.root.put_object(Bucket=bucket, Key="keep", Body=b"keep")
    delete = b"<Delete><Object><Key>keep</Key></Object></Delete>"
    reply = api.send("POST", f"/{bucket}?delete", body=delete,
                     headers={"Content-Type": "application/xml"})
    assert (reply.status, reply.code) == (403, "AccessDenied")
    assert api.stored(bucket, "keep") == b"keep"
    reply = api.send("POST", f"/{bucket}/new?uploads", body=b"")
    assert (reply.status, reply.code) == (403, "AccessDenied")
    assert api.root.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_sigv2_header_auth_works_on_bucket_operations(api, bucket):
    # botocore signs the canonical resource of a bare-bucket request as "/bucket/".
    v2 = api.client(signature_version="s3")
    v2.put_object(Bucket=bucket, Key="k", Body=b"v2")
    assert [o["Key"] for o in v2.list_objects(Bucket=bucket)["Contents"]] == ["k"]
    v2.head_bucket(Bucket=bucket)
    assert v2.get_bucket_location(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert v2.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"
    wrong = api.client(secret_key="wrong", signature_version="s3")
    with pytest.raises(ClientError) as raised:
        wrong.list_objects(Bucket=bucket)
    assert raised.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
