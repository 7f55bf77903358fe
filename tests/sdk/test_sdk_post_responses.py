"""What a browser POST upload answers, as S3 does: ``success_action_redirect`` (303 to that
URL with ``bucket``, ``key`` and ``etag`` added; a URL S3 cannot interpret is ignored; no
redirect after a failure) and ``success_action_status`` (200 and 204: empty; 201: a
``PostResponse`` document; anything else: 204)."""

from __future__ import annotations

import hashlib
import urllib.parse

import pytest
import urllib3
from defusedxml import ElementTree as ET

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def upload(s3, bucket: str, key: str, fields: dict[str, str], content: bytes = b"form body",
           conditions: list | None = None) -> urllib3.BaseHTTPResponse:
    """A signed form with ``fields`` allowed by its policy, posted like a browser does."""
    presigned = s3.generate_presigned_post(
        bucket, key, Fields=fields,
        Conditions=[*({name: value} for name, value in fields.items()), *(conditions or [])])
    return urllib3.request("POST", presigned["url"], redirect=False, fields={
        **presigned["fields"], "file": ("photo.jpg", content, "image/jpeg")})


def etag_of(content: bytes) -> str:
    return f'"{hashlib.md5(content).hexdigest()}"'


@pytest.mark.parametrize("field", ["success_action_redirect", "redirect"])
def test_redirect_after_success(s3, bucket, field):
    target = "https://app.example.com/uploaded?from=form"
    reply = upload(s3, bucket, "in/a b.jpg", {field: target, "success_action_status": "201"})
    assert reply.status == 303, reply.data
    location = urllib.parse.urlsplit(reply.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "app.example.com",
                                                                 "/uploaded")
    assert urllib.parse.parse_qs(location.query) == {
        "from": ["form"], "bucket": [bucket], "key": ["in/a b.jpg"],
        "etag": [etag_of(b"form body")]}
    assert reply.headers["ETag"] == etag_of(b"form body")
    assert s3.get_object(Bucket=bucket, Key="in/a b.jpg")["Body"].read() == b"form body"


@pytest.mark.parametrize("target", ["not a url", "/relative/path", "javascript:alert(1)",
                                    "https://"])
def test_a_redirect_s3_cannot_interpret_is_ignored(s3, bucket, target):
    reply = upload(s3, bucket, "ignored", {"success_action_redirect": target})
    assert reply.status == 204, reply.data
    reply = upload(s3, bucket, "ignored", {"success_action_redirect": target,
                                           "success_action_status": "201"})
    assert reply.status == 201, reply.data


def test_no_redirect_after_a_failure(s3, bucket):
    reply = upload(s3, bucket, "too-big", {"success_action_redirect": "https://app.example.com/"},
                   content=b"x" * 100, conditions=[["content-length-range", 1, 10]])
    assert reply.status == 400
    assert "Location" not in reply.headers
    assert ET.fromstring(reply.data).findtext("Code") == "EntityTooLarge"


@pytest.mark.parametrize(("status", "expected"), [
    (None, 204), ("204", 204), ("200", 200), ("201", 201), ("404", 204), ("abc", 204),
    ("303", 204),
])
def test_success_action_status(s3, endpoint_url, bucket, status, expected):
    fields = {} if status is None else {"success_action_status": status}
    reply = upload(s3, bucket, "dir/file.jpg", fields)
    assert reply.status == expected, reply.data
    assert reply.headers["ETag"] == etag_of(b"form body")
    if expected != 201:
        assert reply.data == b""
        return
    document = ET.fromstring(reply.data)
    assert document.tag == f"{NS}PostResponse"
    assert document.findtext(f"{NS}Bucket") == bucket
    assert document.findtext(f"{NS}Key") == "dir/file.jpg"
    assert document.findtext(f"{NS}ETag") == etag_of(b"form body")
    assert document.findtext(f"{NS}Location") == f"{endpoint_url}/{bucket}/dir/file.jpg"
