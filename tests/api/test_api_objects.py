"""Object operations through HTTP, on the memory backend."""

import base64
import hashlib

import pytest
from defusedxml import ElementTree as ET

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"

SPECIAL_KEYS = [
    "a b+c=d&e~f!g'h(i)*j,k;l:m@n$o[p]%41#?é ü<x>.txt",
    "a", "a/", "a/b", "a//b", "/lead", "..", "../x", "%", "+", "😀/日本",
]


def encode(key):
    import urllib.parse

    return urllib.parse.quote(key, safe="/~")


def raw(client, path):
    """The URL exactly as written: SDKs send ``..`` segments as they are, while the test
    client would resolve them as relative steps."""
    from yarl import URL

    return URL(str(client.make_url("")).rstrip("/") + path, encoded=True)


async def test_put_get_head_delete(client, bucket):
    data = b"hello, post3"
    response = await client.put(f"/{bucket}/greeting.txt", data=data, headers={
        "Content-Type": "text/plain", "x-amz-meta-Colour": "blue",
        "Cache-Control": "no-cache", "Content-Disposition": "inline",
        "Content-Language": "en", "Expires": "Thu, 01 Dec 2094 16:00:00 GMT"})
    assert response.status == 200
    etag = f'"{hashlib.md5(data).hexdigest()}"'
    assert response.headers["ETag"] == etag

    response = await client.get(f"/{bucket}/greeting.txt")
    assert response.status == 200
    assert await response.read() == data
    headers = response.headers
    assert headers["ETag"] == etag
    assert headers["Content-Type"] == "text/plain"
    assert headers["x-amz-meta-colour"] == "blue"
    assert headers["Cache-Control"] == "no-cache"
    assert headers["Content-Disposition"] == "inline"
    assert headers["Content-Language"] == "en"
    assert headers["Expires"] == "Thu, 01 Dec 2094 16:00:00 GMT"
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Last-Modified"].endswith("GMT")
    assert "x-amz-version-id" not in headers

    response = await client.head(f"/{bucket}/greeting.txt")
    assert response.status == 200
    assert response.headers["Content-Length"] == str(len(data))
    assert await response.read() == b""

    assert (await client.delete(f"/{bucket}/greeting.txt")).status == 204
    assert (await client.delete(f"/{bucket}/greeting.txt")).status == 204  # idempotent
    assert (await client.get(f"/{bucket}/greeting.txt")).status == 404


async def test_default_content_type(client, bucket):
    await client.put(f"/{bucket}/k", data=b"x", skip_auto_headers=["Content-Type"])
    response = await client.get(f"/{bucket}/k")
    assert response.headers["Content-Type"] == "binary/octet-stream"


async def test_no_such_key(client, bucket, error_code):
    response = await client.get(f"/{bucket}/missing")
    assert response.status == 404
    assert await error_code(response) == "NoSuchKey"


@pytest.mark.parametrize("key", SPECIAL_KEYS)
async def test_special_keys_round_trip(client, bucket, key):
    response = await client.session.put(raw(client, f"/{bucket}/{encode(key)}"), data=key.encode())
    assert response.status == 200
    response = await client.session.get(raw(client, f"/{bucket}/{encode(key)}"))
    assert response.status == 200
    assert await response.read() == key.encode()
    response = await client.get(f"/{bucket}?list-type=2&encoding-type=url")
    root = ET.fromstring(await response.read())
    import urllib.parse

    keys = [urllib.parse.unquote(k.text) for k in root.iter(f"{NS}Key")]
    assert key in keys


async def test_key_too_long(client, bucket, error_code):
    response = await client.put(f"/{bucket}/{'k' * 1025}", data=b"x")
    assert response.status == 400
    assert await error_code(response) == "KeyTooLongError"


async def test_ranges(client, bucket, error_code):
    data = bytes(range(100))
    await client.put(f"/{bucket}/r", data=data)
    for header, start, stop in [("bytes=0-9", 0, 10), ("bytes=95-", 95, 100),
                                ("bytes=-3", 97, 100), ("bytes=-500", 0, 100)]:
        response = await client.get(f"/{bucket}/r", headers={"Range": header})
        assert response.status == 206, header
        assert await response.read() == data[start:stop]
        assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/100"
        assert "x-amz-checksum-crc32" not in response.headers
    response = await client.get(f"/{bucket}/r", headers={"Range": "bytes=100-"})
    assert response.status == 416
    assert await error_code(response) == "InvalidRange"
    response = await client.get(f"/{bucket}/r", headers={"Range": "bytes=5-1"})
    assert response.status == 200  # ignored, as S3 does
    assert await response.read() == data


async def test_response_overrides(client, bucket):
    await client.put(f"/{bucket}/o", data=b"x", headers={"Content-Type": "text/plain"})
    response = await client.get(
        f"/{bucket}/o?response-content-type=application/json"
        "&response-content-disposition=attachment%3B%20filename%3D%22o.json%22")
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="o.json"'


async def test_content_md5(client, bucket, error_code):
    data = b"some bytes"
    good = base64.b64encode(hashlib.md5(data).digest()).decode()
    response = await client.put(f"/{bucket}/m", data=data, headers={"Content-MD5": good})
    assert response.status == 200
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    response = await client.put(f"/{bucket}/m2", data=data, headers={"Content-MD5": bad})
    assert response.status == 400
    assert await error_code(response) == "BadDigest"
    assert (await client.get(f"/{bucket}/m2")).status == 404


async def test_chunked_transfer_encoding(client, bucket):
    async def body():
        for _ in range(10):
            yield b"x" * 70000

    response = await client.put(f"/{bucket}/chunked", data=body())
    assert response.status == 200
    response = await client.get(f"/{bucket}/chunked")
    assert await response.read() == b"x" * 700000


async def test_put_without_length_or_body_is_empty(client, bucket):
    response = await client.put(f"/{bucket}/empty")
    assert response.status == 200
    response = await client.get(f"/{bucket}/empty")
    assert await response.read() == b""
    assert response.headers["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


async def test_x_id_and_version_id_null_are_accepted(client, bucket, error_code):
    await client.put(f"/{bucket}/v?x-id=PutObject", data=b"v")
    assert (await client.get(f"/{bucket}/v?x-id=GetObject&versionId=null")).status == 200
    assert (await client.head(f"/{bucket}/v?versionId=null")).status == 200
    response = await client.get(f"/{bucket}/v?versionId=abc")
    assert response.status == 400
    assert (await client.delete(f"/{bucket}/v?versionId=null&x-id=DeleteObject")).status == 204


async def test_conditional_get(client, bucket, error_code):
    response = await client.put(f"/{bucket}/c", data=b"cond")
    etag = response.headers["ETag"]
    response = await client.get(f"/{bucket}/c", headers={"If-None-Match": etag})
    assert response.status == 304
    response = await client.get(f"/{bucket}/c", headers={"If-Match": '"nope"'})
    assert response.status == 412
    assert await error_code(response) == "PreconditionFailed"
    response = await client.get(f"/{bucket}/c", headers={"If-Match": etag, "Range": "bytes=0-1"})
    assert response.status == 206
    response = await client.get(
        f"/{bucket}/c", headers={"If-Modified-Since": "Sun, 01 Jan 2090 00:00:00 GMT"})
    assert response.status == 304
    response = await client.get(
        f"/{bucket}/c", headers={"If-Unmodified-Since": "Sun, 01 Jan 2000 00:00:00 GMT"})
    assert response.status == 412


async def test_conditional_put(client, bucket, error_code):
    response = await client.put(f"/{bucket}/once", data=b"1", headers={"If-None-Match": "*"})
    assert response.status == 200
    response = await client.put(f"/{bucket}/once", data=b"2", headers={"If-None-Match": "*"})
    assert response.status == 412
    response = await client.get(f"/{bucket}/once")
    assert await response.read() == b"1"


async def test_copy_object(client, bucket, error_code):
    await client.put(f"/{bucket}/src key", data=b"copy me",
                     headers={"x-amz-meta-a": "1", "Content-Type": "text/x"})
    response = await client.put(f"/{bucket}/dst", headers={
        "x-amz-copy-source": f"{bucket}/src%20key"})
    assert response.status == 200
    root = ET.fromstring(await response.read())
    assert root.tag == f"{NS}CopyObjectResult"
    response = await client.get(f"/{bucket}/dst")
    assert await response.read() == b"copy me"
    assert response.headers["x-amz-meta-a"] == "1"
    assert response.headers["Content-Type"] == "text/x"

    response = await client.put(f"/{bucket}/dst2", headers={
        "x-amz-copy-source": f"/{bucket}/src%20key", "x-amz-metadata-directive": "REPLACE",
        "x-amz-meta-b": "2", "Content-Type": "text/y"})
    assert response.status == 200
    response = await client.head(f"/{bucket}/dst2")
    assert response.headers["x-amz-meta-b"] == "2"
    assert "x-amz-meta-a" not in response.headers

    response = await client.put(f"/{bucket}/dst", headers={"x-amz-copy-source": f"{bucket}/dst"})
    assert response.status == 400
    assert await error_code(response) == "InvalidRequest"
    response = await client.put(f"/{bucket}/dst", headers={
        "x-amz-copy-source": f"{bucket}/dst", "x-amz-metadata-directive": "REPLACE",
        "x-amz-meta-c": "3"})
    assert response.status == 200
    response = await client.put(f"/{bucket}/dst3", headers={
        "x-amz-copy-source": f"{bucket}/missing"})
    assert response.status == 404
    assert await error_code(response) == "NoSuchKey"


async def test_delete_objects(client, bucket):
    for key in ["d1", "d2", "d 3"]:
        await client.put(f"/{bucket}/{encode(key)}", data=b"x")
    body = (b"<Delete><Object><Key>d1</Key></Object><Object><Key>d 3</Key></Object>"
            b"<Object><Key>never</Key></Object></Delete>")
    # No Content-MD5: S3 requires *an* integrity header, post3 requires none.
    response = await client.post(f"/{bucket}?delete", data=body)
    assert response.status == 200
    root = ET.fromstring(await response.read())
    assert sorted(e.findtext(f"{NS}Key") for e in root.iter(f"{NS}Deleted")) == \
        ["d 3", "d1", "never"]
    quiet = body.replace(b"<Delete>", b"<Delete><Quiet>true</Quiet>")
    response = await client.post(f"/{bucket}?delete", data=quiet)
    root = ET.fromstring(await response.read())
    assert list(root) == []
    assert (await client.get(f"/{bucket}/d2")).status == 200


async def test_malformed_xml(client, bucket, error_code):
    response = await client.post(f"/{bucket}?delete", data=b"<Delete><Object>")
    assert response.status == 400
    assert await error_code(response) == "MalformedXML"
