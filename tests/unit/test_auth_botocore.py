"""What botocore really signs — SigV2 and SigV4 presigned URLs, SigV4 headers, curl-style
unsent payload hashes — is accepted, and the same requests tampered with are refused.

Everything is signed offline; nothing is sent.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from post3 import errors
from post3.auth import RequestView, parse_request, verify_request

ACCESS_KEY = "POST3TESTKEY"
SECRET = "post3/test+secret"
ENDPOINT = "http://127.0.0.1:9000"
HOST = "127.0.0.1:9000"
KEYS = [
    "plain.txt",
    "dir/ü/x y.txt",
    "a b+c=d&e~f!g'h(i)*j,k;l:m@n$o[p]%41#?é ü<x>.txt",
]


def client(**config):
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}, **config),
    )


def url_view(method, url, headers=(), now=None) -> RequestView:
    split = urllib.parse.urlsplit(url)
    now = now or datetime.now(UTC)
    return RequestView(method, split.path, split.query, [("Host", split.netloc), *headers], now)


def verify(view, secret=SECRET):
    return verify_request(parse_request(view), secret)


def presign(s3, method, key, **params):
    operation = {"GET": "get_object", "PUT": "put_object"}[method]
    return s3.generate_presigned_url(
        operation, Params={"Bucket": "bkt", "Key": key, **params}, ExpiresIn=600
    )


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("method", ["GET", "PUT"])
@pytest.mark.parametrize("version", ["sigv2", "sigv4"])
def test_boto3_presigned_urls_verify(version, method, key):
    s3 = client(signature_version="s3v4") if version == "sigv4" else client()
    url = presign(s3, method, key)
    result = verify(url_view(method, url))
    assert result.access_key_id == ACCESS_KEY
    assert result.scheme == f"{version}-presigned"
    # The key arrives fully encoded and is signed that way.
    assert urllib.parse.quote(key, safe="/~").replace("%7E", "~") in url


@pytest.mark.parametrize("version", ["sigv2", "sigv4"])
def test_tampered_boto3_presigned_urls_are_refused(version):
    s3 = client(signature_version="s3v4") if version == "sigv4" else client()
    url = presign(s3, "GET", "dir/file.txt")
    for bad in (
        url.replace("/bkt/dir/file.txt", "/bkt/dir/file.txu"),
        url.replace("/bkt/", "/other/"),
        url + "&versionId=1",
    ):
        with pytest.raises(errors.SignatureDoesNotMatch):
            verify(url_view("GET", bad))
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(url_view("PUT", url))  # a GET URL does not allow a PUT
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(url_view("GET", url), "wrong")


@pytest.mark.parametrize("version", ["sigv2", "sigv4"])
def test_boto3_presigned_urls_expire(version):
    s3 = client(signature_version="s3v4") if version == "sigv4" else client()
    url = presign(s3, "GET", "k")
    later = datetime.now(UTC) + timedelta(seconds=700)
    with pytest.raises(errors.AccessDenied, match="Request has expired"):
        parse_request(url_view("GET", url, now=later))


def test_sigv2_expires_is_signed():
    url = presign(client(), "GET", "k")
    expires = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["Expires"][0]
    bad = url.replace(f"Expires={expires}", f"Expires={int(expires) + 3600}")
    with pytest.raises(errors.SignatureDoesNotMatch) as raised:
        verify(url_view("GET", bad))
    assert raised.value.fields["StringToSign"] == f"GET\n\n\n{int(expires) + 3600}\n/bkt/k"


def test_sigv2_presigned_put_with_content_type_and_subresources():
    s3 = client()
    url = s3.generate_presigned_url(
        "upload_part",
        Params={"Bucket": "bkt", "Key": "a b", "UploadId": "u/1", "PartNumber": 2},
    )
    assert verify(url_view("PUT", url))
    url = presign(s3, "PUT", "k", ContentType="text/plain", Metadata={"colour": "blue"})
    # botocore moves the signed Content-Type and x-amz-meta-* into the query string; a client
    # sending the same Content-Type header is fine.
    assert verify(url_view("PUT", url))
    assert verify(url_view("PUT", url, [("Content-Type", "text/plain")]))
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(url_view("PUT", url.replace("colour=blue", "colour=red")))
    url = presign(s3, "GET", "k", ResponseContentDisposition="attachment; filename=x y.txt")
    assert verify(url_view("GET", url))


def test_sigv2_header_auth():
    from botocore.auth import HmacV1Auth

    request = AWSRequest("PUT", f"{ENDPOINT}/bkt/some%20key", headers={"x-amz-acl": "private"})
    HmacV1Auth(Credentials(ACCESS_KEY, SECRET)).add_auth(request)
    view = url_view("PUT", request.url, list(request.headers.items()))
    assert verify(view).scheme == "sigv2"
    tampered = [(k, "public-read" if k == "x-amz-acl" else v) for k, v in request.headers.items()]
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(url_view("PUT", request.url, tampered))


def sign_headers(signer_class, method, path, body=b"", headers=None, query=""):
    url = f"{ENDPOINT}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method, url, headers=dict(headers or {}), data=body)
    signer_class(Credentials(ACCESS_KEY, SECRET), "s3", "us-east-1").add_auth(request)
    return request


@pytest.mark.parametrize("key", KEYS)
def test_botocore_header_auth_verifies(key):
    path = "/bkt/" + urllib.parse.quote(key, safe="/~")
    body = b"hello"
    request = sign_headers(
        S3SigV4Auth,
        "PUT",
        path,
        body,
        {"Content-Type": "text/plain", "x-amz-meta-note": "a  b", "Content-Length": "5"},
        query="tagging",
    )
    view = url_view("PUT", request.url, list(request.headers.items()))
    result = verify(view)
    assert result.scheme == "sigv4"
    assert result.expected_body_sha256 == hashlib.sha256(body).hexdigest()
    headers = [(k, "text/html" if k == "Content-Type" else v) for k, v in request.headers.items()]
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify(url_view("PUT", request.url, headers))


@pytest.mark.parametrize(("method", "path", "body", "query"), [
    ("POST", "/bkt", b"<Delete/>", "delete="),  # curl 7.88: signs sha256 of the body
    ("PUT", "/bkt/k", b"x" * 100, ""),  # curl -T: signs sha256('') although it sends a body
    ("GET", "/bkt/k", b"", ""),
])
def test_header_auth_without_payload_hash_header_is_refused_before_the_body(
        method, path, body, query):
    # S3 requires x-amz-content-sha256 on every header-signed SigV4 request. Without it the
    # signature could only be decided once the body had arrived, by whoever reads the body.
    request = sign_headers(SigV4Auth, method, path, body,
                           {"Content-Length": str(len(body))} if body else None, query)
    assert "X-Amz-Content-SHA256" not in request.headers
    with pytest.raises(errors.InvalidRequest, match="x-amz-content-sha256"):
        verify(url_view(method, request.url, list(request.headers.items())))
