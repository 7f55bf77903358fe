"""Integrity of uploads through HTTP, on the memory backend: flexible checksums (headers and
aws-chunked trailers), ``x-amz-content-sha256``, Content-MD5, ``x-amz-decoded-content-length``,
and the limits S3 enforces on a body (EntityTooLarge before the body, IncompleteBody,
MetadataTooLarge). Every refused upload must leave nothing behind."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import zlib

import pytest

from post3.config import Settings

#: A small PutObject limit, so EntityTooLarge can be provoked cheaply.
MAX_PUT = 64 * 1024

DATA = b"123456789"
#: Check values of DATA: CRC32 from zlib, the others from S3-WIRE.md §1.5.3 / hashlib.
CHECKSUMS = {
    "crc32": base64.b64encode(zlib.crc32(DATA).to_bytes(4, "big")).decode(),
    "crc32c": "4waSgw==",
    "crc64nvme": "rosUhgp5mIg=",
    "sha1": base64.b64encode(hashlib.sha1(DATA).digest()).decode(),
    "sha256": base64.b64encode(hashlib.sha256(DATA).digest()).decode(),
}
#: A well-formed value of the right size that is not DATA's checksum.
WRONG = {
    "crc32": "AAAAAA==", "crc32c": "AAAAAA==", "crc64nvme": "AAAAAAAAAAA=",
    "sha1": base64.b64encode(hashlib.sha1(b"x").digest()).decode(),
    "sha256": base64.b64encode(hashlib.sha256(b"x").digest()).decode(),
}
ALGORITHMS = list(CHECKSUMS)


@pytest.fixture
def settings():
    return Settings(backend="memory", max_put_size=MAX_PUT, auth=False)


async def assert_absent(client, bucket, key="k"):
    assert (await client.get(f"/{bucket}/{key}")).status == 404


def aws_chunked(data: bytes, trailer: tuple[str, str] | None = None, chunk: int = 4) -> bytes:
    """An unsigned aws-chunked body (S3-WIRE.md §2 (b)), cut into ``chunk``-byte chunks."""
    out = bytearray()
    for start in range(0, len(data), chunk):
        piece = data[start:start + chunk]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    out += b"0\r\n"
    if trailer is not None:
        out += f"{trailer[0]}:{trailer[1]}\r\n".encode()
    return bytes(out + b"\r\n")


def trailer_headers(algorithm: str, decoded_length: int) -> dict[str, str]:
    return {
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "Content-Encoding": "aws-chunked",
        "x-amz-trailer": f"x-amz-checksum-{algorithm}",
        "x-amz-decoded-content-length": str(decoded_length),
        "x-amz-sdk-checksum-algorithm": algorithm.upper(),
    }


# --------------------------------------------------------------------------- checksum headers


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_checksum_header_is_verified_stored_and_returned(client, bucket, algorithm):
    header = f"x-amz-checksum-{algorithm}"
    response = await client.put(f"/{bucket}/k", data=DATA, headers={header: CHECKSUMS[algorithm]})
    assert response.status == 200, await response.text()
    assert response.headers[header] == CHECKSUMS[algorithm]
    for mode in ("ENABLED", "enabled"):
        for method in ("GET", "HEAD"):
            response = await client.request(method, f"/{bucket}/k",
                                            headers={"x-amz-checksum-mode": mode})
            assert response.status == 200
            assert response.headers[header] == CHECKSUMS[algorithm], (method, mode)
    # Only when asked for.
    response = await client.get(f"/{bucket}/k")
    assert header not in response.headers
    assert await response.read() == DATA


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_wrong_checksum_header_is_bad_digest(client, bucket, error_code, algorithm):
    response = await client.put(f"/{bucket}/k", data=DATA,
                                headers={f"x-amz-checksum-{algorithm}": WRONG[algorithm]})
    assert response.status == 400
    assert await error_code(response) == "BadDigest"
    await assert_absent(client, bucket)


@pytest.mark.parametrize("value", ["not base64!", "AAAA", "AAAAAAAAAAA="],
                         ids=["not-base64", "too-short", "too-long"])
async def test_malformed_checksum_header_is_invalid_request(client, bucket, error_code, value):
    response = await client.put(f"/{bucket}/k", data=DATA,
                                headers={"x-amz-checksum-crc32": value})
    assert response.status == 400
    assert await error_code(response) == "InvalidRequest"
    await assert_absent(client, bucket)


async def test_two_checksum_headers_are_refused(client, bucket, error_code):
    response = await client.put(f"/{bucket}/k", data=DATA, headers={
        "x-amz-checksum-crc32": CHECKSUMS["crc32"], "x-amz-checksum-sha256": CHECKSUMS["sha256"]})
    assert response.status == 400
    assert await error_code(response) == "InvalidRequest"
    await assert_absent(client, bucket)


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
async def test_sdk_checksum_algorithm_alone_is_computed_and_stored(client, bucket, algorithm):
    response = await client.put(f"/{bucket}/k", data=DATA,
                                headers={"x-amz-sdk-checksum-algorithm": algorithm})
    assert response.status == 200
    header = f"x-amz-checksum-{algorithm.lower()}"
    response = await client.head(f"/{bucket}/k", headers={"x-amz-checksum-mode": "ENABLED"})
    assert response.headers[header] == CHECKSUMS[algorithm.lower()]


async def test_checksum_never_on_partial_content(client, bucket):
    await client.put(f"/{bucket}/k", data=DATA,
                     headers={"x-amz-checksum-crc32": CHECKSUMS["crc32"]})
    enabled = {"x-amz-checksum-mode": "ENABLED"}
    for query, headers in [("", {"Range": "bytes=0-3"}), ("", {"Range": "bytes=0-"}),
                           ("?partNumber=1", {})]:
        for method in ("GET", "HEAD"):
            response = await client.request(method, f"/{bucket}/k{query}",
                                            headers={**enabled, **headers})
            assert response.status == 206, (method, query, headers)
            assert not [h for h in response.headers if h.lower().startswith("x-amz-checksum-")]


async def test_query_string_checksums_are_not_validated(client, bucket):
    # JS v3 presigned PUT URLs carry the CRC32 of an empty body, computed at signing time.
    response = await client.put(
        f"/{bucket}/k?x-amz-sdk-checksum-algorithm=CRC32&x-amz-checksum-crc32=AAAAAA%3D%3D",
        data=DATA)
    assert response.status == 200
    assert await (await client.get(f"/{bucket}/k")).read() == DATA


# --------------------------------------------------------------------------- trailers


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_trailer_checksum_is_verified_and_stored(client, bucket, algorithm):
    body = aws_chunked(DATA, (f"x-amz-checksum-{algorithm}", CHECKSUMS[algorithm]))
    response = await client.put(f"/{bucket}/k", data=body,
                                headers=trailer_headers(algorithm, len(DATA)))
    assert response.status == 200, await response.text()
    response = await client.get(f"/{bucket}/k", headers={"x-amz-checksum-mode": "ENABLED"})
    assert await response.read() == DATA
    assert response.headers[f"x-amz-checksum-{algorithm}"] == CHECKSUMS[algorithm]
    assert "Content-Encoding" not in response.headers  # aws-chunked is framing, not content


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_wrong_trailer_checksum_is_bad_digest(client, bucket, error_code, algorithm):
    body = aws_chunked(DATA, (f"x-amz-checksum-{algorithm}", WRONG[algorithm]))
    response = await client.put(f"/{bucket}/k", data=body,
                                headers=trailer_headers(algorithm, len(DATA)))
    assert response.status == 400
    assert await error_code(response) == "BadDigest"
    await assert_absent(client, bucket)


async def test_trailer_in_http_chunking(client, bucket):
    body = aws_chunked(DATA * 1000, ("x-amz-checksum-crc32",
                                     base64.b64encode(zlib.crc32(DATA * 1000).to_bytes(4, "big"))
                                     .decode()), chunk=1000)

    async def http_chunks():
        # HTTP chunk boundaries that do not line up with the aws-chunks.
        for start in range(0, len(body), 777):
            yield body[start:start + 777]

    response = await client.put(f"/{bucket}/k", data=http_chunks(),
                                headers=trailer_headers("crc32", len(DATA) * 1000))
    assert response.status == 200, await response.text()
    assert await (await client.get(f"/{bucket}/k")).read() == DATA * 1000


async def test_announced_trailer_missing(client, bucket, error_code):
    response = await client.put(f"/{bucket}/k", data=aws_chunked(DATA),
                                headers=trailer_headers("crc32", len(DATA)))
    assert response.status == 400
    assert await error_code(response) == "MalformedTrailerError"
    await assert_absent(client, bucket)


async def test_unannounced_trailer(client, bucket, error_code):
    headers = trailer_headers("crc32", len(DATA))
    body = aws_chunked(DATA, ("x-amz-checksum-sha256", CHECKSUMS["sha256"]))
    response = await client.put(f"/{bucket}/k", data=body, headers=headers)
    assert response.status == 400
    assert await error_code(response) == "MalformedTrailerError"
    await assert_absent(client, bucket)


# --------------------------------------------------------------------------- decoded length


@pytest.mark.parametrize("declared", [len(DATA) - 1, len(DATA) + 1], ids=["shorter", "longer"])
async def test_decoded_content_length_is_checked(client, bucket, error_code, declared):
    headers = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
               "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(declared)}
    response = await client.put(f"/{bucket}/k", data=aws_chunked(DATA), headers=headers)
    assert response.status == 400
    assert await error_code(response) == "IncompleteBody"
    await assert_absent(client, bucket)


async def test_streaming_without_decoded_content_length(client, bucket, error_code):
    headers = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
               "Content-Encoding": "aws-chunked"}
    response = await client.put(f"/{bucket}/k", data=aws_chunked(DATA), headers=headers)
    assert response.status == 411
    assert await error_code(response) == "MissingContentLength"
    await assert_absent(client, bucket)


async def test_aws_chunked_gzip_keeps_gzip(client, bucket):
    import gzip

    packed = gzip.compress(DATA)
    headers = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
               "Content-Encoding": "aws-chunked,gzip",
               "x-amz-decoded-content-length": str(len(packed))}
    response = await client.put(f"/{bucket}/k", data=aws_chunked(packed), headers=headers)
    assert response.status == 200, await response.text()
    response = await client.get(f"/{bucket}/k", headers={"Accept-Encoding": "identity"})
    assert response.headers["Content-Encoding"] == "gzip"


# --------------------------------------------------------------------------- x-amz-content-sha256


async def test_content_sha256_hex_is_verified(client, bucket, error_code):
    good = hashlib.sha256(DATA).hexdigest()
    response = await client.put(f"/{bucket}/k", data=DATA, headers={"x-amz-content-sha256": good})
    assert response.status == 200
    response = await client.put(f"/{bucket}/k2", data=DATA,
                                headers={"x-amz-content-sha256": hashlib.sha256(b"x").hexdigest()})
    assert response.status == 400
    assert await error_code(response) == "XAmzContentSHA256Mismatch"
    await assert_absent(client, bucket, "k2")


async def test_content_sha256_unsigned_payload(client, bucket):
    response = await client.put(f"/{bucket}/k", data=DATA,
                                headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert response.status == 200
    assert await (await client.get(f"/{bucket}/k")).read() == DATA


async def test_content_sha256_garbage(client, bucket, error_code):
    response = await client.put(f"/{bucket}/k", data=DATA,
                                headers={"x-amz-content-sha256": "whatever"})
    assert response.status == 400
    assert await error_code(response) == "InvalidArgument"
    await assert_absent(client, bucket)


# --------------------------------------------------------------------------- Content-MD5


@pytest.mark.parametrize("value", ["not base64", base64.b64encode(b"short").decode(), ""],
                         ids=["not-base64", "wrong-size", "empty"])
async def test_malformed_content_md5_is_invalid_digest(client, bucket, error_code, value):
    response = await client.put(f"/{bucket}/k", data=DATA, headers={"Content-MD5": value})
    assert response.status == 400
    assert await error_code(response) == "InvalidDigest"
    await assert_absent(client, bucket)


DELETE_BODY = b"<Delete><Object><Key>k</Key></Object><Quiet>true</Quiet></Delete>"


@pytest.mark.parametrize("header, value", [
    ("Content-MD5", base64.b64encode(hashlib.md5(DELETE_BODY).digest()).decode()),
    ("x-amz-checksum-crc32",
     base64.b64encode(zlib.crc32(DELETE_BODY).to_bytes(4, "big")).decode()),
    ("x-amz-checksum-sha256", base64.b64encode(hashlib.sha256(DELETE_BODY).digest()).decode()),
], ids=["content-md5", "crc32", "sha256"])
async def test_delete_objects_accepts_any_integrity_header(client, bucket, header, value):
    await client.put(f"/{bucket}/k", data=DATA)
    response = await client.post(f"/{bucket}?delete", data=DELETE_BODY, headers={header: value})
    assert response.status == 200, await response.text()
    await assert_absent(client, bucket)


@pytest.mark.parametrize("header, value", [
    ("Content-MD5", base64.b64encode(hashlib.md5(b"other").digest()).decode()),
    ("x-amz-checksum-crc32", "AAAAAA=="),
], ids=["content-md5", "crc32"])
async def test_delete_objects_with_wrong_digest_deletes_nothing(client, bucket, error_code,
                                                                 header, value):
    await client.put(f"/{bucket}/k", data=DATA)
    response = await client.post(f"/{bucket}?delete", data=DELETE_BODY, headers={header: value})
    assert response.status == 400
    assert await error_code(response) == "BadDigest"
    assert (await client.get(f"/{bucket}/k")).status == 200


async def test_complete_multipart_upload_content_md5(client, bucket, error_code):
    # minio-py sends Content-MD5 on CompleteMultipartUpload.
    from defusedxml import ElementTree as ET

    response = await client.post(f"/{bucket}/mp?uploads")
    upload_id = ET.fromstring(await response.read()).findtext(
        "{http://s3.amazonaws.com/doc/2006-03-01/}UploadId")
    etag = (await client.put(f"/{bucket}/mp?partNumber=1&uploadId={upload_id}",
                             data=DATA)).headers["ETag"]
    body = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag>"
            "</Part></CompleteMultipartUpload>").encode()
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    response = await client.post(f"/{bucket}/mp?uploadId={upload_id}", data=body,
                                 headers={"Content-MD5": wrong})
    assert response.status == 400
    assert await error_code(response) == "BadDigest"
    await assert_absent(client, bucket, "mp")
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    response = await client.post(f"/{bucket}/mp?uploadId={upload_id}", data=body,
                                 headers={"Content-MD5": good})
    assert response.status == 200


# --------------------------------------------------------------------------- limits


async def open_raw(client) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(client.server.host, client.server.port)


def put_head(path: str, length: int, *, expect: bool) -> bytes:
    lines = [f"PUT {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    if expect:
        lines.append("Expect: 100-continue")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str], bytes]:
    """One response: status line, headers (lower-case names) and its Content-Length body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await asyncio.wait_for(reader.readexactly(length), timeout=5) if length else b""
    return status.encode(), headers, body


async def too_large_before_body(client, path: str) -> None:
    """The server answers the ``Expect: 100-continue`` of an oversized upload with the error,
    never with ``100 Continue``, and says it will not read the body (S3-WIRE.md §1.1.2)."""
    reader, writer = await open_raw(client)
    try:
        writer.write(put_head(path, MAX_PUT + 1, expect=True))
        await writer.drain()
        status, headers, body = await read_response(reader)
        assert status.startswith(b"HTTP/1.1 400 "), status
        assert b"<Code>EntityTooLarge</Code>" in body
        assert headers.get("connection", "").lower() == "close"
    finally:
        writer.close()


async def test_entity_too_large_answers_expect_before_the_body(client, bucket):
    await too_large_before_body(client, f"/{bucket}/big")
    await assert_absent(client, bucket, "big")


async def test_upload_part_too_large_answers_expect_before_the_body(client, bucket):
    from defusedxml import ElementTree as ET

    response = await client.post(f"/{bucket}/mp?uploads")
    upload_id = ET.fromstring(await response.read()).findtext(
        "{http://s3.amazonaws.com/doc/2006-03-01/}UploadId")
    await too_large_before_body(client, f"/{bucket}/mp?partNumber=1&uploadId={upload_id}")


async def test_upload_to_a_missing_bucket_answers_expect_before_the_body(client):
    reader, writer = await open_raw(client)
    try:
        writer.write(put_head("/no-such-bucket-here/k", MAX_PUT, expect=True))
        await writer.drain()
        status, headers, body = await read_response(reader)
        assert status.startswith(b"HTTP/1.1 404 "), (status, body)
        assert b"<Code>NoSuchBucket</Code>" in body
        assert headers.get("connection", "").lower() == "close"
    finally:
        writer.close()


async def test_acceptable_size_gets_100_continue(client, bucket):
    reader, writer = await open_raw(client)
    try:
        writer.write(put_head(f"/{bucket}/ok", len(DATA), expect=True))
        await writer.drain()
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(DATA)
        await writer.drain()
        status, headers, _ = await read_response(reader)
        assert status.startswith(b"HTTP/1.1 200 "), status
    finally:
        writer.close()
    assert await (await client.get(f"/{bucket}/ok")).read() == DATA


async def test_short_body_is_not_stored(client, bucket):
    # A client that dies mid-body: half the declared bytes, then the connection is gone.
    reader, writer = await open_raw(client)
    writer.write(put_head(f"/{bucket}/short", 100, expect=False) + b"x" * 50)
    await writer.drain()
    await asyncio.sleep(0.1)  # the handler is now waiting for the other 50 bytes
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.2)
    await assert_absent(client, bucket, "short")


async def test_truncated_aws_chunked_body_is_incomplete(client, bucket, error_code):
    # The framing ends before the final chunk and trailers: the body is short.
    headers = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
               "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "9"}
    response = await client.put(f"/{bucket}/short", data=aws_chunked(DATA)[:-7], headers=headers)
    assert response.status == 400
    assert await error_code(response) == "IncompleteBody"
    await assert_absent(client, bucket, "short")


async def test_entity_too_large_without_expect(client, bucket, error_code):
    response = await client.put(f"/{bucket}/big", data=b"x" * (MAX_PUT + 1))
    assert response.status == 400
    assert await error_code(response) == "EntityTooLarge"
    await assert_absent(client, bucket, "big")
    response = await client.put(f"/{bucket}/limit", data=b"x" * MAX_PUT)
    assert response.status == 200


async def test_entity_too_large_in_http_chunking(client, bucket, error_code):
    async def chunks():
        for _ in range(MAX_PUT // 1024 + 1):
            yield b"x" * 1024

    response = await client.put(f"/{bucket}/big", data=chunks())
    assert response.status == 400
    assert await error_code(response) == "EntityTooLarge"
    await assert_absent(client, bucket, "big")


async def test_metadata_too_large(client, bucket, error_code):
    # 2 KB of user metadata: names (without the x-amz-meta- prefix) plus values, in UTF-8.
    name = "m"
    at_limit = {f"x-amz-meta-{name}": "v" * (2048 - len(name))}
    response = await client.put(f"/{bucket}/k", data=DATA, headers=at_limit)
    assert response.status == 200
    over = {f"x-amz-meta-{name}": "v" * (2049 - len(name))}
    response = await client.put(f"/{bucket}/k2", data=DATA, headers=over)
    assert response.status == 400
    assert await error_code(response) == "MetadataTooLarge"
    await assert_absent(client, bucket, "k2")
    spread = {f"x-amz-meta-k{i}": "v" * 200 for i in range(11)}  # 2223 bytes in all
    response = await client.put(f"/{bucket}/k3", data=DATA, headers=spread)
    assert response.status == 400
    assert await error_code(response) == "MetadataTooLarge"
    response = await client.post(f"/{bucket}/k4?uploads", headers=over)
    assert response.status == 400
    assert await error_code(response) == "MetadataTooLarge"


async def test_single_part_checksum_is_full_object(client, bucket):
    await client.put(f"/{bucket}/k", data=DATA,
                     headers={"x-amz-checksum-crc32": CHECKSUMS["crc32"]})
    for method in ("GET", "HEAD"):
        response = await client.request(method, f"/{bucket}/k",
                                        headers={"x-amz-checksum-mode": "ENABLED"})
        assert response.headers["x-amz-checksum-crc32"] == CHECKSUMS["crc32"]
        assert response.headers["x-amz-checksum-type"] == "FULL_OBJECT", method
    # an object stored without a checksum gets no type either
    await client.put(f"/{bucket}/plain", data=DATA)
    response = await client.head(f"/{bucket}/plain", headers={"x-amz-checksum-mode": "ENABLED"})
    assert "x-amz-checksum-type" not in response.headers


async def test_every_answer_names_the_same_checksum_type(client, bucket):
    """PutObject, CopyObject, POST, GetObjectAttributes and GET all say what a whole object's
    checksum is: FULL_OBJECT (they used to disagree: PutObject said nothing)."""
    response = await client.put(f"/{bucket}/k", data=DATA,
                                headers={"x-amz-checksum-crc32": CHECKSUMS["crc32"]})
    assert response.headers["x-amz-checksum-crc32"] == CHECKSUMS["crc32"]
    assert response.headers["x-amz-checksum-type"] == "FULL_OBJECT"
    response = await client.put(f"/{bucket}/copy", headers={"x-amz-copy-source": f"{bucket}/k"})
    body = await response.text()
    assert f"<ChecksumCRC32>{CHECKSUMS['crc32']}</ChecksumCRC32>" in body
    assert "<ChecksumType>FULL_OBJECT</ChecksumType>" in body
    response = await client.get(f"/{bucket}/copy?attributes",
                                headers={"x-amz-object-attributes": "Checksum"})
    assert "<ChecksumType>FULL_OBJECT</ChecksumType>" in await response.text()
    response = await client.put(f"/{bucket}/none", data=DATA)
    assert "x-amz-checksum-type" not in response.headers
