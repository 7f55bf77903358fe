"""Presigned URLs, made by the clients people use and fetched with curl: SigV2 (the default of
boto3, aiobotocore, ``aws s3 presign`` and s3fs) and SigV4. Expired or altered URLs are
refused, and an altered upload URL stores nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from aiobotocore.session import get_session

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed")
pytestmark = needs_curl

V4 = {"signature_version": "s3v4"}


def curl(*args: str) -> tuple[int, bytes]:
    """Run curl; returns the HTTP status and the response body. The URL goes out as given:
    no dot-segment clean-up, no globbing (S3 keys may hold both)."""
    result = subprocess.run(
        [CURL, "--silent", "--show-error", "--globoff", "--path-as-is",
         "--write-out", "\n%{http_code}", *args],
        capture_output=True, timeout=60, check=True,
    )
    body, _, status = result.stdout.rpartition(b"\n")
    return int(status), body


def curl_get(url: str) -> tuple[int, bytes]:
    return curl(url)


def curl_put(url: str, data: bytes, tmp_path: Path) -> tuple[int, bytes]:
    upload = tmp_path / f"upload-{time.monotonic_ns()}"
    upload.write_bytes(data)
    return curl("--upload-file", str(upload), url)


def error_code(body: bytes) -> str | None:
    import xml.etree.ElementTree as ET

    node = ET.fromstring(body).find("Code") if body.lstrip().startswith(b"<") else None
    return None if node is None else node.text


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


DATA = bytes(range(256)) * 40 + b"tail \x00\xff"


# --------------------------------------------------------------------------- boto3


@pytest.mark.parametrize(("config", "marker"), [({}, "AWSAccessKeyId="),
                                                (V4, "X-Amz-Signature=")], ids=["sigv2", "sigv4"])
def test_boto3_presigned_get_and_put_work_with_curl(api, bucket, tmp_path, config, marker):
    client = api.client(**config)
    put_url = client.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "dir/up load.bin"}, ExpiresIn=300)
    assert marker in put_url
    status, body = curl_put(put_url, DATA, tmp_path)
    assert status == 200, body
    assert api.stored(bucket, "dir/up load.bin") == DATA

    get_url = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "dir/up load.bin"}, ExpiresIn=300)
    assert marker in get_url
    assert curl_get(get_url) == (200, DATA)


@pytest.mark.parametrize("config", [{}, V4], ids=["sigv2", "sigv4"])
def test_presigned_urls_for_awkward_keys(api, bucket, tmp_path, config):
    """The signature covers the path as sent, percent-encoding and all."""
    client = api.client(**config)
    for key in ("a b+c=d&e~f.txt", "unicodé/ключ/鍵", "semi;colon,comma:at@(paren)!*'",
                "dir//double/./dot/../x"):
        put_url = client.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
        status, body = curl_put(put_url, key.encode(), tmp_path)
        assert status == 200, (key, body)
        assert api.stored(bucket, key) == key.encode()
        get_url = client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
        assert curl_get(get_url) == (200, key.encode()), key


@pytest.mark.parametrize("config", [{}, V4], ids=["sigv2", "sigv4"])
def test_signed_response_overrides_are_applied(api, bucket, config):
    api.root.put_object(Bucket=bucket, Key="report.csv", Body=b"a,b\n")
    url = api.client(**config).generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "report.csv", "ResponseContentType": "text/csv",
        "ResponseContentDisposition": 'attachment; filename="q 1.csv"'}, ExpiresIn=300)
    reply = api.send("GET", url)
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"] == "text/csv"
    assert reply.headers["Content-Disposition"] == 'attachment; filename="q 1.csv"'
    # The overrides are signed: changing one is a different request.
    status, body = curl_get(with_query(url, **{"response-content-type": "text/html"}))
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")


def test_a_sigv4_url_valid_longer_than_seven_days_is_refused(api, bucket):
    api.root.put_object(Bucket=bucket, Key="k", Body=b"v")
    url = api.client(**V4).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=604801)
    status, body = curl_get(url)
    assert (status, error_code(body)) == (400, "AuthorizationQueryParametersError")
    week = api.client(**V4).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=604800)
    assert curl_get(week) == (200, b"v")


def test_a_sigv4_url_sent_to_another_host_name_is_refused(api, bucket):
    """``host`` is a signed header of every SigV4 presigned URL."""
    api.root.put_object(Bucket=bucket, Key="k", Body=b"v")
    url = api.client(**V4).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300)
    port = urlsplit(api.endpoint).port
    reply = api.send("GET", url, headers={"Host": f"localhost:{port}"})
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")


def test_boto3_default_presign_is_sigv2(api, bucket):
    """The claim the SigV2 support rests on: with no configuration, boto3 presigns SigV2."""
    url = api.client().generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"})
    query = dict(parse_qsl(urlsplit(url).query))
    assert set(query) == {"AWSAccessKeyId", "Signature", "Expires"}


@pytest.mark.parametrize("config", [{}, V4], ids=["sigv2", "sigv4"])
def test_an_expired_url_is_refused(api, bucket, config):
    api.root.put_object(Bucket=bucket, Key="k", Body=b"soon gone")
    client = api.client(**config)
    get_url = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=1)
    put_url = client.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "late"}, ExpiresIn=1)
    time.sleep(2.2)
    status, body = curl_get(get_url)
    assert (status, error_code(body)) == (403, "AccessDenied")
    status, body = curl("--upload-file", "/dev/null", put_url)
    assert (status, error_code(body)) == (403, "AccessDenied")
    assert api.stored(bucket, "late") is None


@pytest.mark.parametrize("config", [{}, V4], ids=["sigv2", "sigv4"])
def test_a_tampered_get_url_is_refused(api, bucket, config):
    for key in ("mine", "yours"):
        api.root.put_object(Bucket=bucket, Key=key, Body=key.encode())
    url = api.client(**config).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "mine"}, ExpiresIn=300)
    assert curl_get(url) == (200, b"mine")
    expiry = "Expires" if "AWSAccessKeyId=" in url else "X-Amz-Expires"
    tampered = [
        with_path(url, f"/{bucket}/yours"),
        with_query(url, **{expiry: str(int(dict(parse_qsl(urlsplit(url).query))[expiry]) + 1)}),
        with_query(url, **{"response-content-type": "text/html"}),
    ]
    for bad in tampered:
        status, body = curl_get(bad)
        assert (status, error_code(body)) == (403, "SignatureDoesNotMatch"), bad


@pytest.mark.parametrize("config", [{}, V4], ids=["sigv2", "sigv4"])
def test_a_tampered_put_url_stores_nothing(api, bucket, tmp_path, config):
    url = api.client(**config).generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "granted"}, ExpiresIn=300)
    status, body = curl_put(with_path(url, f"/{bucket}/elsewhere"), DATA, tmp_path)
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")
    status, body = curl_put(with_query(url, **{"x-amz-acl": "public-read"}), DATA, tmp_path)
    assert status == 403, body
    assert api.stored(bucket, "elsewhere") is None
    assert api.stored(bucket, "granted") is None
    # The same URL, untouched, is not spent by the refused attempts.
    assert curl_put(url, DATA, tmp_path)[0] == 200
    assert api.stored(bucket, "granted") == DATA


def test_a_sigv2_put_url_with_an_added_amz_header_is_refused(api, bucket):
    """SigV2 signs every x-amz-* header sent."""
    url = api.client().generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "added"}, ExpiresIn=300)
    reply = api.send("PUT", url, headers={"x-amz-meta-added": "1"}, body=b"x")
    assert reply.status == 403
    assert api.stored(bucket, "added") is None


def test_a_sigv4_put_url_with_an_added_amz_header_is_refused(api, bucket):
    url = api.client(**V4).generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "added"}, ExpiresIn=300)
    reply = api.send("PUT", url, headers={"x-amz-meta-added": "1"}, body=b"x")
    assert (reply.status, reply.code) == (403, "AccessDenied")
    assert api.stored(bucket, "added") is None


def test_a_presigned_url_of_a_wrong_secret_is_refused(api, bucket):
    api.root.put_object(Bucket=bucket, Key="k", Body=b"v")
    for config in ({}, V4):
        url = api.client("testing", "wrong", **config).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "k"})
        status, body = curl_get(url)
        assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")


# --------------------------------------------------------------------------- other clients


async def test_aiobotocore_presigned_urls_work_with_curl(api, bucket, tmp_path):
    session = get_session()
    async with session.create_client(
        "s3", endpoint_url=api.endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ) as client:
        put_url = await client.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "aio.bin"}, ExpiresIn=300)
        get_url = await client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "aio.bin"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in put_url and "AWSAccessKeyId=" in get_url
    assert curl_put(put_url, DATA, tmp_path)[0] == 200
    assert curl_get(get_url) == (200, DATA)


def test_aws_cli_presign_works_with_curl(api, bucket, aws_env):
    api.root.put_object(Bucket=bucket, Key="cli/object.bin", Body=DATA)
    result = subprocess.run(
        [sys.executable, "-m", "awscli", "s3", "presign", f"s3://{bucket}/cli/object.bin",
         "--expires-in", "300", "--endpoint-url", api.endpoint],
        capture_output=True, text=True, env=aws_env, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith(api.endpoint)
    assert curl_get(url) == (200, DATA)


def test_s3fs_sign_works_with_curl(api, bucket):
    import s3fs

    api.root.put_object(Bucket=bucket, Key="fs/object.bin", Body=DATA)
    fs = s3fs.S3FileSystem(key="testing", secret="testing", skip_instance_cache=True,
                           client_kwargs={"endpoint_url": api.endpoint,
                                          "region_name": "us-east-1"})
    url = fs.sign(f"{bucket}/fs/object.bin", expiration=300)
    assert curl_get(url) == (200, DATA)
