"""PayloadStream: bodies from iterables and from real HTTP requests, checked on the fly.

The request tests run a real aiohttp server with a handler that iterates the stream the way a
backend does, and answer with the digest or the S3 error, plus how many bytes the loop saw
before the error (errors must come from the final read, after all the data)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import zlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from post3 import checksums, errors
from post3.payload import UNCOUNTED_BODY, PayloadStream, stored_content_encoding

MAX_SIZE = 1 << 20
DATA = b"123456789"
CRC32 = "y/Q5Jg=="
MD5 = base64.b64encode(hashlib.md5(DATA).digest()).decode()
SHA256 = hashlib.sha256(DATA).hexdigest()

WIRE_SIGNED = (
    b"40;chunk-signature=8125d7c27dbdd90d9cfa7f142092fa0184667f914b4cde7df4170d0a63e7d261\r\n"
    b"0123456789012345678901234567890123456789012345678901234567890123\r\n"
    b"6;chunk-signature=9368298acf48f869e5abcef12e166672502188a02faae53e395e847b52e23022\r\n"
    b"456789\r\n"
    b"0;chunk-signature=e93b52c578604a3f10c0f3a29770cf1e7a94bb560e40abd2f026fd0447836609\r\n"
    b"x-amz-checksum-crc32:blQo4Q==\r\n"
    b"x-amz-trailer-signature:4a7b8bcc8d2881e6c1284c22552954f3d1dbd964e5d7eee7c3b69886e8a08862\r\n"
    b"\r\n"
)
WIRE_HEADERS = {
    "x-amz-date": "20130524T000000Z",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "content-encoding": "aws-chunked",
    "x-amz-decoded-content-length": "70",
    "x-amz-trailer": "x-amz-checksum-crc32",
    "x-amz-sdk-checksum-algorithm": "CRC32",
}
WIRE_DATA = b"0123456789" * 7
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def aws_chunked(data: bytes, trailer: str | None, chunk: int = 8192) -> bytes:
    frames = [
        f"{len(data[i: i + chunk]):x}\r\n".encode() + data[i: i + chunk] + b"\r\n"
        for i in range(0, len(data), chunk)
    ]
    end = b"0\r\n" + (f"{trailer}\r\n".encode() if trailer else b"") + b"\r\n"
    return b"".join(frames) + end


def trailer_headers(data: bytes, name: str = "x-amz-checksum-crc32") -> dict[str, str]:
    return {
        "x-amz-content-sha256": UNSIGNED_TRAILER,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": name,
    }


async def pieces(body: bytes, size: int) -> AsyncIterator[bytes]:
    """A body sent with Transfer-Encoding: chunked, one HTTP chunk per ``size`` bytes."""
    for i in range(0, len(body), size):
        yield body[i: i + size]


async def iterate(stream: PayloadStream) -> tuple[bytes, int]:
    received = bytearray()
    async for chunk in stream:
        received += chunk
    return bytes(received), len(received)


# ------------------------------------------------------------------ the test server


@pytest.fixture
def outcomes() -> list[dict]:
    return []


def make_app(outcomes: list[dict]) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        received = bytearray()
        try:
            stream = PayloadStream.from_request(request, max_size=MAX_SIZE)
            async for chunk in stream:
                received += chunk
        except errors.S3Error as exc:
            outcome = {
                "error": exc.code,
                "status": exc.status,
                "message": exc.message,
                "fields": exc.fields,
                "received": len(received),
            }
        else:
            digest = stream.digest
            outcome = {
                "size": digest.size,
                "md5": digest.md5_hex,
                "checksums": digest.checksums,
                "data_sha256": hashlib.sha256(received).hexdigest(),
            }
        outcomes.append(outcome)
        return web.json_response(outcome, status=outcome.get("status", 200))

    app = web.Application()
    app.router.add_route("PUT", "/{key:.*}", handler)
    return app


@pytest.fixture
async def client(aiohttp_client, outcomes):
    # S3 stores a gzip body as sent: aiohttp must not inflate it. TestServer ignores
    # constructor options, so the runner option goes to start_server.
    server = TestServer(make_app(outcomes))
    await server.start_server(auto_decompress=False)
    return await aiohttp_client(server)


@pytest.fixture
async def port(outcomes) -> AsyncIterator[int]:
    """A server set up like production: aiohttp's test server cancels handlers whose client
    went away, an AppRunner by default lets them run on and see the lost connection."""
    runner = web.AppRunner(make_app(outcomes), auto_decompress=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def put(client, body: bytes | AsyncIterator[bytes] = DATA, **headers: str) -> dict:
    path = headers.pop("path", "/key")
    response = await client.put(path, data=body, headers=headers)
    return await response.json()


def md5_of(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def ok(data: bytes, **checksum_values: str) -> dict:
    return {
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
        "checksums": checksum_values,
        "data_sha256": hashlib.sha256(data).hexdigest(),
    }


# ------------------------------------------------------------------ plain bodies


async def test_plain_body(client) -> None:
    assert await put(client) == ok(DATA)


async def test_plain_body_in_http_chunks(client) -> None:
    data = bytes(range(256)) * 1000
    assert await put(client, pieces(data, 7777)) == ok(data)


async def test_gzip_body_is_kept_as_sent(client) -> None:
    data = gzip.compress(b"hello " * 1000)
    outcome = await put(client, data, **{"Content-Encoding": "gzip", "Content-MD5": md5_of(data)})
    assert outcome == ok(data)


async def test_empty_body(client) -> None:
    assert await put(client, b"") == ok(b"")


#: a body read in one piece (up to UNCOUNTED_BODY) and bodies read piece by piece
ONE_PIECE_EDGE = [4096, UNCOUNTED_BODY, UNCOUNTED_BODY + 1, 3 * UNCOUNTED_BODY + 5]


def body_of(size: int) -> bytes:
    return bytes(range(251)) * (size // 251) + b"t" * (size % 251)


@pytest.mark.parametrize("size", ONE_PIECE_EDGE)
async def test_small_and_large_bodies_agree_when_they_match(client, size: int) -> None:
    data = body_of(size)
    crc32 = checksums.compute("crc32", data)
    outcome = await put(client, data, **{
        "Content-MD5": md5_of(data), "x-amz-content-sha256": hashlib.sha256(data).hexdigest(),
        "x-amz-checksum-crc32": crc32, "x-amz-sdk-checksum-algorithm": "CRC32"})
    assert outcome == ok(data, crc32=crc32)


@pytest.mark.parametrize("size", ONE_PIECE_EDGE)
@pytest.mark.parametrize(("header", "code"), [
    ("Content-MD5", "BadDigest"),
    ("x-amz-content-sha256", "XAmzContentSHA256Mismatch"),
    ("x-amz-checksum-crc32", "BadDigest"),
])
async def test_small_and_large_bodies_agree_when_they_differ(
        client, size: int, header: str, code: str) -> None:
    other = b"not the body"
    value = {"Content-MD5": md5_of(other),
             "x-amz-content-sha256": hashlib.sha256(other).hexdigest(),
             "x-amz-checksum-crc32": checksums.compute("crc32", other)}[header]
    outcome = await put(client, body_of(size), **{header: value})
    # every byte handed over before the error: it came from the final read
    assert (outcome["error"], outcome["received"]) == (code, size)


@pytest.mark.parametrize("value", [SHA256, SHA256.upper()])
async def test_content_sha256_matches(client, value: str) -> None:
    assert await put(client, **{"x-amz-content-sha256": value}) == ok(DATA)


async def test_content_sha256_mismatch(client) -> None:
    other = hashlib.sha256(b"987654321").hexdigest()
    outcome = await put(client, **{"x-amz-content-sha256": other})
    assert outcome["error"] == "XAmzContentSHA256Mismatch"
    assert outcome["fields"] == {
        "ClientComputedContentSHA256": other,
        "S3ComputedContentSHA256": SHA256,
    }
    assert outcome["received"] == len(DATA)  # raised from the final read


async def test_unsigned_payload_is_not_verified(client) -> None:
    assert await put(client, **{"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}) == ok(DATA)


async def test_malformed_content_sha256(client) -> None:
    outcome = await put(client, **{"x-amz-content-sha256": "abc"})
    assert (outcome["error"], outcome["received"]) == ("InvalidArgument", 0)


# ------------------------------------------------------------------ Content-MD5


async def test_content_md5_matches(client) -> None:
    assert await put(client, **{"Content-MD5": MD5}) == ok(DATA)


async def test_content_md5_mismatch(client) -> None:
    wrong = base64.b64encode(hashlib.md5(b"").digest()).decode()
    outcome = await put(client, **{"Content-MD5": wrong})
    assert (outcome["error"], outcome["status"], outcome["received"]) == ("BadDigest", 400, 9)
    assert outcome["fields"] == {"ExpectedDigest": wrong, "CalculatedDigest": MD5}


@pytest.mark.parametrize(
    "value", ["not base64!", "YWJyYWNhZGFicmE=", hashlib.md5(DATA).hexdigest(), ""]
)
async def test_content_md5_malformed(client, value: str) -> None:
    outcome = await put(client, **{"Content-MD5": value})
    assert (outcome["error"], outcome["received"]) == ("InvalidDigest", 0)
    assert outcome["fields"] == {"Content-MD5": value}


# ------------------------------------------------------------------ x-amz-checksum-*


@pytest.mark.parametrize("name", checksums.ALGORITHMS)
async def test_checksum_header_matches(client, name: str) -> None:
    value = checksums.compute(name, DATA)
    outcome = await put(client, **{f"x-amz-checksum-{name}": value})
    assert outcome == ok(DATA, **{name: value})


@pytest.mark.parametrize("name", checksums.ALGORITHMS)
async def test_checksum_header_mismatch(client, name: str) -> None:
    value = checksums.compute(name, b"other")
    outcome = await put(client, **{f"x-amz-checksum-{name}": value})
    assert outcome["error"] == "BadDigest"
    assert outcome["message"] == (
        f"The {name.upper()} you specified did not match the calculated checksum."
    )
    assert outcome["received"] == len(DATA)


@pytest.mark.parametrize("value", ["cbf43926", "y/Q5Jg", "", "rosUhgp5mIg="])
async def test_checksum_header_malformed(client, value: str) -> None:
    outcome = await put(client, **{"x-amz-checksum-crc32": value})
    assert (outcome["error"], outcome["received"]) == ("InvalidRequest", 0)
    assert outcome["message"] == "Value for x-amz-checksum-crc32 header is invalid."


async def test_two_checksum_headers(client) -> None:
    headers = {"x-amz-checksum-crc32": CRC32, "x-amz-checksum-crc32c": "4waSgw=="}
    outcome = await put(client, **headers)
    assert outcome["error"] == "InvalidRequest"
    assert outcome["message"].startswith("Expecting a single x-amz-checksum- header.")


async def test_checksum_mode_header_is_not_a_checksum(client) -> None:
    headers = {"x-amz-checksum-crc32": CRC32, "x-amz-checksum-mode": "ENABLED"}
    assert await put(client, **headers) == ok(DATA, crc32=CRC32)


async def test_sdk_algorithm_with_its_checksum(client) -> None:
    headers = {"x-amz-checksum-crc32": CRC32, "x-amz-sdk-checksum-algorithm": "CRC32"}
    assert await put(client, **headers) == ok(DATA, crc32=CRC32)


async def test_sdk_algorithm_alone_is_computed(client) -> None:
    outcome = await put(client, **{"x-amz-sdk-checksum-algorithm": "CRC64NVME"})
    assert outcome == ok(DATA, crc64nvme=checksums.compute("crc64nvme", DATA))


async def test_sdk_algorithm_naming_another_checksum(client) -> None:
    headers = {"x-amz-checksum-crc32": CRC32, "x-amz-sdk-checksum-algorithm": "SHA256"}
    outcome = await put(client, **headers)
    assert outcome["error"] == "InvalidRequest"
    assert outcome["message"] == "Value for x-amz-sdk-checksum-algorithm header is invalid."


async def test_sdk_algorithm_unsupported(client) -> None:
    outcome = await put(client, **{"x-amz-sdk-checksum-algorithm": "MD4"})
    assert outcome["error"] == "InvalidRequest"
    assert "unsupported" in outcome["message"]


async def test_unknown_checksum_header(client) -> None:
    outcome = await put(client, **{"x-amz-checksum-md5": MD5})
    assert outcome["error"] == "InvalidRequest"


async def test_query_string_checksums_are_not_validated(client) -> None:
    # JS v3 presigned PUT: the CRC of an empty body, baked into the URL.
    path = "/key?x-amz-sdk-checksum-algorithm=CRC32&x-amz-checksum-crc32=AAAAAA%3D%3D"
    assert await put(client, path=path) == ok(DATA)


# ------------------------------------------------------------------ sizes


async def test_declared_size_above_the_limit(client) -> None:
    data = b"x" * (MAX_SIZE + 1)
    outcome = await put(client, data)
    assert (outcome["error"], outcome["received"]) == ("EntityTooLarge", 0)
    assert outcome["fields"] == {"ProposedSize": str(MAX_SIZE + 1), "MaxSizeAllowed": str(MAX_SIZE)}


async def test_undeclared_size_above_the_limit(client) -> None:
    outcome = await put(client, pieces(b"x" * (MAX_SIZE + 10), 65536))
    assert outcome["error"] == "EntityTooLarge"
    assert outcome["received"] <= MAX_SIZE


async def test_decoded_size_above_the_limit(client) -> None:
    headers = trailer_headers(b"x")
    headers["x-amz-decoded-content-length"] = str(MAX_SIZE + 1)
    outcome = await put(client, aws_chunked(b"x", None), **headers)
    assert (outcome["error"], outcome["received"]) == ("EntityTooLarge", 0)


async def raw_request(port: int, head: bytes, body: bytes) -> None:
    """Send a request head and part of a body, then hang up, as a client that dies does."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + body)
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.close()
    await writer.wait_closed()


async def wait_for_outcome(outcomes: list[dict]) -> dict:
    for _ in range(200):
        if outcomes:
            return outcomes[0]
        await asyncio.sleep(0.01)
    raise AssertionError("the handler never finished")


async def test_client_hangs_up_mid_body(port, outcomes) -> None:
    head = b"PUT /key HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
    await raw_request(port, head, b"x" * 1000)
    outcome = await wait_for_outcome(outcomes)
    assert (outcome["error"], outcome["received"]) == ("IncompleteBody", 1000)


async def test_client_hangs_up_mid_small_body(port, outcomes) -> None:
    # a body within UNCOUNTED_BODY is read in one piece: cut short, it fails the same way
    head = b"PUT /key HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n"
    await raw_request(port, head, b"x" * 1000)
    outcome = await wait_for_outcome(outcomes)
    assert (outcome["error"], outcome["received"]) == ("IncompleteBody", 1000)


async def test_client_hangs_up_mid_http_chunk(port, outcomes) -> None:
    head = b"PUT /key HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    await raw_request(port, head, b"10\r\n0123456789abcdef\r\n400\r\nxyz")
    outcome = await wait_for_outcome(outcomes)
    assert outcome["error"] == "IncompleteBody"


async def test_client_hangs_up_inside_aws_chunked(port, outcomes) -> None:
    lines = [f"{k}: {v}" for k, v in trailer_headers(WIRE_DATA).items()]
    head = ("PUT /key HTTP/1.1\r\nHost: x\r\nContent-Length: 117\r\n" + "\r\n".join(lines))
    await raw_request(port, head.encode() + b"\r\n\r\n", b"40\r\n0123")
    outcome = await wait_for_outcome(outcomes)
    assert (outcome["error"], outcome["received"]) == ("IncompleteBody", 4)


# ------------------------------------------------------------------ aws-chunked


async def test_wire_fixture_end_to_end(client) -> None:
    outcome = await put(client, WIRE_SIGNED, **WIRE_HEADERS)
    assert outcome == ok(WIRE_DATA, crc32="blQo4Q==")


@pytest.mark.parametrize("http_chunk", [1, 7, 64, 100, 449])
async def test_wire_fixture_inside_http_chunking(client, http_chunk: int) -> None:
    outcome = await put(client, pieces(WIRE_SIGNED, http_chunk), **WIRE_HEADERS)
    assert outcome == ok(WIRE_DATA, crc32="blQo4Q==")


async def test_botocore_style_upload(client) -> None:
    # 1 MiB aws-chunks inside 128 KiB HTTP chunks, CRC32 trailer, as botocore sends over https.
    data = bytes(range(251)) * 4000
    crc = checksums.compute("crc32", data)
    body = aws_chunked(data, f"x-amz-checksum-crc32:{crc}", chunk=1 << 20)
    headers = {**trailer_headers(data), "x-amz-sdk-checksum-algorithm": "CRC32"}
    assert await put(client, pieces(body, 128 * 1024), **headers) == ok(data, crc32=crc)


async def test_aws_chunked_without_content_encoding(client) -> None:
    # minio-go v6: the payload hash alone says the body is aws-chunked.
    headers = {
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-decoded-content-length": "9",
    }
    assert await put(client, aws_chunked(DATA, None, chunk=4), **headers) == ok(DATA)


async def test_empty_aws_chunked_body(client) -> None:
    body = b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    outcome = await put(client, pieces(body, 1000), **trailer_headers(b""))
    assert outcome == ok(b"", crc32="AAAAAA==")


async def test_trailer_checksum_mismatch(client) -> None:
    body = aws_chunked(DATA, "x-amz-checksum-crc32:AAAAAA==")
    outcome = await put(client, body, **trailer_headers(DATA))
    assert (outcome["error"], outcome["received"]) == ("BadDigest", 9)


async def test_trailer_value_malformed(client) -> None:
    outcome = await put(client, aws_chunked(DATA, "x-amz-checksum-crc32:y/Q5Jg"),
                        **trailer_headers(DATA))
    assert outcome["error"] == "InvalidRequest"
    assert outcome["message"] == "Value for x-amz-checksum-crc32 trailing header is invalid."


@pytest.mark.parametrize(
    "trailer",
    [None, "x-amz-checksum-crc32c:4waSgw==", f"x-amz-checksum-crc32:{CRC32}\r\nx-other:1"],
)
async def test_trailer_not_the_announced_one(client, trailer: str | None) -> None:
    outcome = await put(client, aws_chunked(DATA, trailer), **trailer_headers(DATA))
    assert (outcome["error"], outcome["status"]) == ("MalformedTrailerError", 400)


async def test_trailer_without_announcement(client) -> None:
    headers = trailer_headers(DATA)
    del headers["x-amz-trailer"]
    outcome = await put(client, aws_chunked(DATA, f"x-amz-checksum-crc32:{CRC32}"), **headers)
    assert outcome["error"] == "MalformedTrailerError"


async def test_trailer_not_a_checksum(client) -> None:
    outcome = await put(client, aws_chunked(DATA, None), **trailer_headers(DATA, "x-amz-meta-a"))
    assert (outcome["error"], outcome["received"]) == ("InvalidRequest", 0)


async def test_checksum_header_and_trailer(client) -> None:
    headers = {**trailer_headers(DATA), "x-amz-checksum-crc32c": "4waSgw=="}
    outcome = await put(client, aws_chunked(DATA, f"x-amz-checksum-crc32:{CRC32}"), **headers)
    assert outcome["error"] == "InvalidRequest"
    assert outcome["message"].startswith("Expecting a single x-amz-checksum- header.")


@pytest.mark.parametrize("declared", [len(DATA) - 1, len(DATA) + 1])
async def test_decoded_length_differs(client, declared: int) -> None:
    headers = trailer_headers(DATA)
    headers["x-amz-decoded-content-length"] = str(declared)
    outcome = await put(client, aws_chunked(DATA, f"x-amz-checksum-crc32:{CRC32}"), **headers)
    assert outcome["error"] == "IncompleteBody"


async def test_decoded_length_missing(client) -> None:
    headers = trailer_headers(DATA)
    del headers["x-amz-decoded-content-length"]
    outcome = await put(client, aws_chunked(DATA, f"x-amz-checksum-crc32:{CRC32}"), **headers)
    assert (outcome["error"], outcome["status"]) == ("MissingContentLength", 411)


async def test_aws_chunked_body_cut_short(client) -> None:
    body = aws_chunked(DATA, f"x-amz-checksum-crc32:{CRC32}", chunk=4)
    outcome = await put(client, body[: body.index(b"0\r\n")], **trailer_headers(DATA))
    assert (outcome["error"], outcome["received"]) == ("IncompleteBody", 9)
    assert outcome["message"] == "The request body terminated unexpectedly"


async def test_aws_chunked_framing_broken(client) -> None:
    body = aws_chunked(DATA, f"x-amz-checksum-crc32:{CRC32}").replace(b"9\r\n", b"g\r\n", 1)
    outcome = await put(client, body, **trailer_headers(DATA))
    assert outcome["error"] == "InvalidRequest"


# ------------------------------------------------------------------ from_iterable and helpers


async def test_from_iterable_computes_requested_checksums() -> None:
    stream = PayloadStream.from_iterable(pieces(DATA, 2), size=9, checksum_algorithms=["CRC32"])
    assert await iterate(stream) == (DATA, 9)
    assert stream.digest.checksums == {"crc32": CRC32}
    assert stream.digest.checksum_metadata() == {"x-amz-checksum-crc32": CRC32}
    assert stream.digest.md5_base64 == MD5


@pytest.mark.parametrize("size", [8, 10])
async def test_from_iterable_checks_the_size(size: int) -> None:
    stream = PayloadStream.from_iterable(pieces(DATA, 4), size=size)
    with pytest.raises(errors.IncompleteBody):
        await iterate(stream)
    with pytest.raises(RuntimeError):
        stream.digest  # noqa: B018


async def test_a_stream_is_read_once() -> None:
    stream = PayloadStream.from_iterable(pieces(DATA, 4))
    await iterate(stream)
    with pytest.raises(RuntimeError):
        await iterate(stream)


async def test_blocks() -> None:
    stream = PayloadStream.from_iterable(pieces(DATA, 2))
    assert [block async for block in stream.blocks(4)] == [b"1234", b"5678", b"9"]
    assert stream.digest.size == 9


async def reused_buffer(data: bytes, size: int) -> AsyncIterator[bytes]:
    buffer = bytearray(size)
    for start in range(0, len(data), size):
        piece = data[start:start + size]
        buffer[:len(piece)] = piece
        yield memoryview(buffer)[:len(piece)]  # type: ignore[misc]
        buffer[:] = b"\0" * size  # overwritten once consumed


@pytest.mark.parametrize(("piece", "block"), [(9, 9), (9, 16), (4, 9), (3, 4), (9, 4)])
async def test_blocks_whatever_the_pieces(piece: int, block: int) -> None:
    stream = PayloadStream.from_iterable(pieces(DATA, piece))
    blocks = [block async for block in stream.blocks(block)]
    assert b"".join(blocks) == DATA
    assert all(len(b) == block for b in blocks[:-1]) and 0 < len(blocks[-1]) <= block
    assert all(type(b) is bytes for b in blocks)


@pytest.mark.parametrize("piece", [3, 9])
async def test_blocks_of_a_reused_buffer_are_copies(piece: int) -> None:
    stream = PayloadStream.from_iterable(reused_buffer(DATA, piece))
    assert b"".join([bytes(b) async for b in stream.blocks(16)]) == DATA


async def test_read_small() -> None:
    assert await PayloadStream.from_iterable(pieces(DATA, 2)).read_small(9) == DATA


@pytest.mark.parametrize("size", [None, 9])
async def test_read_small_refuses_a_large_body(size: int | None) -> None:
    stream = PayloadStream.from_iterable(pieces(DATA, 2), size=size)
    with pytest.raises(errors.S3Error) as raised:
        await stream.read_small(8)
    assert (raised.value.code, raised.value.status) == ("MaxMessageLengthExceeded", 400)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (None, None),
        ("aws-chunked", None),
        ("aws-chunked,gzip", "gzip"),
        ("gzip, aws-chunked", "gzip"),
        ("AWS-Chunked, aws-chunked", None),
        ("deflate, gzip", "deflate, gzip"),
        ("aws-chunked,deflate,gzip", "deflate,gzip"),
    ],
)
def test_stored_content_encoding(sent: str | None, stored: str | None) -> None:
    assert stored_content_encoding(sent) == stored


def test_crc32_constant_is_the_check_value() -> None:
    assert base64.b64decode(CRC32) == zlib.crc32(DATA).to_bytes(4, "big")
