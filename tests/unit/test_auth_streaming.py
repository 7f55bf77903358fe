"""Streaming chunk and trailer signatures: AWS's chunked-upload example and the
chunked-with-trailer fixture of S3-WIRE.md §2, driven through the aws-chunked decoder."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from post3 import errors
from post3.auth import RequestView, parse_request, verify_request
from post3.aws_chunked import AwsChunkedDecoder

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOW = datetime(2013, 5, 24, tzinfo=UTC)
CREDENTIAL = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"

# "Signature Calculations for the Authorization Header: Transferring Payload in Multiple Chunks"
# (sigv4-streaming): 65 KiB of "a" in 64 KiB chunks.
AWS_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
AWS_CHUNKS = [
    (b"a" * 65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
    (b"a" * 1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
    (b"", "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
]


def aws_example_view(seed=AWS_SEED) -> RequestView:
    headers = [
        ("Host", "s3.amazonaws.com"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        ("Content-Length", "66824"),
        (
            "Authorization",
            f"AWS4-HMAC-SHA256 Credential={CREDENTIAL},SignedHeaders=content-encoding;"
            "content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
            f"x-amz-storage-class,Signature={seed}",
        ),
    ]
    return RequestView("PUT", "/examplebucket/chunkObject.txt", "", headers, NOW)


def encode(chunks) -> bytes:
    body = b""
    for data, signature in chunks:
        body += f"{len(data):x};chunk-signature={signature}\r\n".encode() + data
        body += b"\r\n" if data else b""
    return body + b"\r\n"


def decode(verifier, body: bytes, piece: int = 7000) -> bytes:
    decoder = AwsChunkedDecoder(verifier)
    out = b""
    for start in range(0, len(body), piece):
        out += b"".join(decoder.feed(body[start : start + piece]))
    decoder.finish()
    return out


def test_aws_example_seed_verifies_and_its_chunks_chain():
    result = verify_request(parse_request(aws_example_view()), SECRET)
    assert result.is_signed_stream
    body = encode(AWS_CHUNKS)
    assert len(body) == 66824  # the documented encoded length
    assert decode(result.chunk_verifier(), body) == b"a" * 66560


def test_altered_chunk_is_refused():
    verifier = verify_request(parse_request(aws_example_view()), SECRET).chunk_verifier()
    tampered = [(b"b" + AWS_CHUNKS[0][0][1:], AWS_CHUNKS[0][1]), *AWS_CHUNKS[1:]]
    with pytest.raises(errors.SignatureDoesNotMatch) as raised:
        decode(verifier, encode(tampered))
    assert raised.value.fields["StringToSign"].startswith("AWS4-HMAC-SHA256-PAYLOAD\n")


@pytest.mark.parametrize(
    "chunks",
    [
        [AWS_CHUNKS[1], AWS_CHUNKS[0], AWS_CHUNKS[2]],  # reordered
        [AWS_CHUNKS[0], AWS_CHUNKS[0], AWS_CHUNKS[1], AWS_CHUNKS[2]],  # replayed
        [AWS_CHUNKS[0], AWS_CHUNKS[2]],  # dropped
        [AWS_CHUNKS[0], AWS_CHUNKS[1], (b"", None)],  # final chunk unsigned
    ],
    ids=["reordered", "replayed", "dropped", "unsigned-final"],
)
def test_chain_breaks_on_reorder_replay_drop(chunks):
    verifier = verify_request(parse_request(aws_example_view()), SECRET).chunk_verifier()
    body = b""
    for data, signature in chunks:
        ext = f";chunk-signature={signature}" if signature else ""
        body += f"{len(data):x}{ext}\r\n".encode() + data + (b"\r\n" if data else b"")
    with pytest.raises(errors.SignatureDoesNotMatch):
        decode(verifier, body + b"\r\n")


def test_wrong_seed_fails_before_any_chunk():
    with pytest.raises(errors.SignatureDoesNotMatch):
        verify_request(parse_request(aws_example_view("0" * 64)), SECRET)


def test_trailer_signature_is_refused_when_none_was_announced():
    verifier = verify_request(parse_request(aws_example_view()), SECRET).chunk_verifier()
    body = encode(AWS_CHUNKS)[:-2] + b"x-amz-trailer-signature:" + b"0" * 64 + b"\r\n\r\n"
    with pytest.raises(errors.SignatureDoesNotMatch):
        decode(verifier, body)


# S3-WIRE.md §2, "Complete printable fixture" (signed, with a CRC32 trailer).
TRAILER_HEADERS = [
    ("host", "127.0.0.1:9000"),
    ("x-amz-date", "20130524T000000Z"),
    ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"),
    ("content-encoding", "aws-chunked"),
    ("x-amz-decoded-content-length", "70"),
    ("x-amz-trailer", "x-amz-checksum-crc32"),
    ("x-amz-sdk-checksum-algorithm", "CRC32"),
    ("content-length", "450"),
    (
        "authorization",
        f"AWS4-HMAC-SHA256 Credential={CREDENTIAL}, SignedHeaders=content-encoding;content-length;"
        "host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
        "x-amz-sdk-checksum-algorithm;x-amz-trailer, "
        "Signature=aa8e92286b62ae64837d4c64a1be28c99aabf454b6a7db0209f558f91f6ce549",
    ),
]
TRAILER_BODY = (
    b"40;chunk-signature=8125d7c27dbdd90d9cfa7f142092fa0184667f914b4cde7df4170d0a63e7d261\r\n"
    b"0123456789012345678901234567890123456789012345678901234567890123\r\n"
    b"6;chunk-signature=9368298acf48f869e5abcef12e166672502188a02faae53e395e847b52e23022\r\n"
    b"456789\r\n"
    b"0;chunk-signature=e93b52c578604a3f10c0f3a29770cf1e7a94bb560e40abd2f026fd0447836609\r\n"
    b"x-amz-checksum-crc32:blQo4Q==\r\n"
    b"x-amz-trailer-signature:4a7b8bcc8d2881e6c1284c22552954f3d1dbd964e5d7eee7c3b69886e8a08862"
    b"\r\n\r\n"
)


def trailer_verifier():
    view = RequestView("PUT", "/examplebucket/chunkObject.txt", "", TRAILER_HEADERS, NOW)
    return verify_request(parse_request(view), SECRET).chunk_verifier()


@pytest.mark.parametrize("piece", [1, 13, 450])
def test_signed_trailer_fixture_verifies(piece):
    assert len(TRAILER_BODY) == 450
    assert decode(trailer_verifier(), TRAILER_BODY, piece) == b"0123456789" * 7


@pytest.mark.parametrize(
    "tamper",
    [
        (b"crc32:blQo4Q==", b"crc32:AAAAAA=="),  # altered trailer value
        (b"x-amz-trailer-signature:4a", b"x-amz-trailer-signature:5a"),  # altered signature
        (
            b"x-amz-trailer-signature:4a7b8bcc8d2881e6c1284c22552954f3d1dbd964e5d7eee7c3b69886e8a08862"
            b"\r\n",
            b"",
        ),  # trailer signature removed
        (b"456789", b"456780"),  # altered last data chunk
    ],
    ids=["trailer-value", "trailer-signature", "no-trailer-signature", "data"],
)
def test_signed_trailer_fixture_tampered(tamper):
    old, new = tamper
    with pytest.raises(errors.SignatureDoesNotMatch):
        decode(trailer_verifier(), TRAILER_BODY.replace(old, new))


def test_unsigned_trailer_variant_verifies_without_a_chunk_verifier():
    headers = [
        ("content-length", "117")
        if k == "content-length"
        else ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        if k == "x-amz-content-sha256"
        else (k, v)
        for k, v in TRAILER_HEADERS[:-1]
    ]
    headers.append(
        (
            "authorization",
            TRAILER_HEADERS[-1][1].replace(
                "aa8e92286b62ae64837d4c64a1be28c99aabf454b6a7db0209f558f91f6ce549",
                "b8bc75543b39f43ac8da65f3fbbaab89c2991fad418b18406cc1b0ca34f6b67e",
            ),
        )
    )
    view = RequestView("PUT", "/examplebucket/chunkObject.txt", "", headers, NOW)
    result = verify_request(parse_request(view), SECRET)
    assert result.content_sha256 == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert result.chunk_verifier() is None
