"""aws-chunked decoding: published fixtures, arbitrary piece boundaries, malformed framing,
bounded memory, and the per-chunk signature hook."""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Sequence

import pytest

from post3 import errors
from post3.aws_chunked import MAX_LINE, AwsChunkedDecoder
from post3.errors import MalformedTrailerError

# S3-WIRE.md §2: 70 bytes in 64-byte chunks, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.
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
WIRE_SEED = "aa8e92286b62ae64837d4c64a1be28c99aabf454b6a7db0209f558f91f6ce549"
WIRE_UNSIGNED = (
    b"40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n"
    b"6\r\n456789\r\n0\r\nx-amz-checksum-crc32:blQo4Q==\r\n\r\n"
)
WIRE_DATA = b"0123456789" * 7

# AWS's published example (sigv4-streaming): 66,560 bytes of "a" in 64 KiB chunks.
AWS_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
AWS_SIGNATURES = (
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)
AWS_BODY = (
    f"10000;chunk-signature={AWS_SIGNATURES[0]}\r\n".encode() + b"a" * 65536 + b"\r\n"
    + f"400;chunk-signature={AWS_SIGNATURES[1]}\r\n".encode() + b"a" * 1024 + b"\r\n"
    + f"0;chunk-signature={AWS_SIGNATURES[2]}\r\n\r\n".encode()
)
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AMZ_DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def decode(pieces: Sequence[bytes], verifier: object = None) -> tuple[bytes, dict[str, str]]:
    decoder = AwsChunkedDecoder(verifier)  # type: ignore[arg-type]
    data = b"".join(b"".join(decoder.feed(piece)) for piece in pieces)
    decoder.finish()
    assert decoder.done
    return data, decoder.trailers


def split_at(body: bytes, *offsets: int) -> list[bytes]:
    bounds = [0, *sorted(offsets), len(body)]
    return [body[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def random_pieces(body: bytes, seed: int, largest: int) -> list[bytes]:
    rng = random.Random(seed)
    pieces, at = [], 0
    while at < len(body):
        size = rng.randint(1, largest)
        pieces.append(body[at: at + size])
        at += size
    return pieces


class SigV4ChunkVerifier:
    """The chunk and trailer signatures of S3-WIRE.md §2, computed from the secret key: proves
    the decoder hands a verifier everything it needs."""

    def __init__(self, seed: str, *, trailer: bool) -> None:
        key = ("AWS4" + SECRET).encode()
        for part in SCOPE.split("/"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self.key = key
        self.previous = seed
        self.trailer = trailer
        self.chunks = 0
        self.trailer_checked = False

    def _sign(self, *lines: str) -> str:
        return hmac.new(self.key, "\n".join(lines).encode(), hashlib.sha256).hexdigest()

    def verify_chunk(self, data_sha256: str, signature: str | None) -> None:
        expected = self._sign(
            "AWS4-HMAC-SHA256-PAYLOAD", AMZ_DATE, SCOPE, self.previous, EMPTY_SHA256, data_sha256
        )
        if signature != expected:
            raise errors.SignatureDoesNotMatch()
        self.previous = expected
        self.chunks += 1

    def verify_trailer(self, lines: Sequence[str], signature: str | None) -> None:
        if not self.trailer:
            if lines or signature:
                raise errors.SignatureDoesNotMatch()
            return
        trailer_hash = hashlib.sha256("".join(f"{line}\n" for line in lines).encode()).hexdigest()
        expected = self._sign(
            "AWS4-HMAC-SHA256-TRAILER", AMZ_DATE, SCOPE, self.previous, trailer_hash
        )
        if signature != expected:
            raise errors.SignatureDoesNotMatch()
        self.trailer_checked = True


# ------------------------------------------------------------------ fixtures decode


def test_wire_fixture_decodes() -> None:
    assert len(WIRE_SIGNED) == 450  # the fixture's Content-Length
    assert decode([WIRE_SIGNED]) == (WIRE_DATA, {"x-amz-checksum-crc32": "blQo4Q=="})


def test_wire_fixture_split_at_every_pair_of_offsets() -> None:
    for first in range(len(WIRE_SIGNED) + 1):
        for second in range(first, len(WIRE_SIGNED) + 1, 7):
            data, trailers = decode(split_at(WIRE_SIGNED, first, second))
            assert data == WIRE_DATA, (first, second)
            assert trailers == {"x-amz-checksum-crc32": "blQo4Q=="}


def test_wire_fixture_one_byte_at_a_time() -> None:
    pieces = [WIRE_SIGNED[i: i + 1] for i in range(len(WIRE_SIGNED))]
    assert decode(pieces)[0] == WIRE_DATA


def test_wire_unsigned_variant() -> None:
    assert len(WIRE_UNSIGNED) == 117
    for offset in range(len(WIRE_UNSIGNED) + 1):
        assert decode(split_at(WIRE_UNSIGNED, offset)) == (
            WIRE_DATA,
            {"x-amz-checksum-crc32": "blQo4Q=="},
        )


def test_wire_fixture_signatures_verify() -> None:
    verifier = SigV4ChunkVerifier(WIRE_SEED, trailer=True)
    assert decode(random_pieces(WIRE_SIGNED, 1, 50), verifier)[0] == WIRE_DATA
    assert verifier.chunks == 3  # two data chunks and the final empty one
    assert verifier.trailer_checked


def test_tampered_chunk_signature_is_refused() -> None:
    tampered = WIRE_SIGNED.replace(b"9368298acf", b"9368298acE")
    with pytest.raises(errors.SignatureDoesNotMatch):
        decode([tampered], SigV4ChunkVerifier(WIRE_SEED, trailer=True))


def test_tampered_trailer_is_refused_by_its_signature() -> None:
    tampered = WIRE_SIGNED.replace(b"blQo4Q==", b"AAAAAA==")
    with pytest.raises(errors.SignatureDoesNotMatch):
        decode([tampered], SigV4ChunkVerifier(WIRE_SEED, trailer=True))


def test_aws_published_example() -> None:
    assert len(AWS_BODY) == 66_824  # the documented encoded length
    for seed in range(5):
        data, trailers = decode(random_pieces(AWS_BODY, seed, 20_000))
        assert data == b"a" * 66_560
        assert trailers == {}


def test_aws_published_example_signatures_verify() -> None:
    verifier = SigV4ChunkVerifier(AWS_SEED, trailer=False)
    assert decode([AWS_BODY[:100], AWS_BODY[100:]], verifier)[0] == b"a" * 66_560
    assert verifier.chunks == 3


def test_verifier_sees_each_chunk_once_with_its_signature() -> None:
    seen: list[tuple[str, str | None]] = []

    class Recorder:
        def verify_chunk(self, data_sha256: str, signature: str | None) -> None:
            seen.append((data_sha256, signature))

        def verify_trailer(self, lines: Sequence[str], signature: str | None) -> None:
            seen.append(("trailer", signature))
            seen.append(("lines", ",".join(lines)))

    decode(random_pieces(AWS_BODY, 7, 3000), Recorder())
    assert seen == [
        (hashlib.sha256(b"a" * 65536).hexdigest(), AWS_SIGNATURES[0]),
        (hashlib.sha256(b"a" * 1024).hexdigest(), AWS_SIGNATURES[1]),
        (EMPTY_SHA256, AWS_SIGNATURES[2]),
        ("trailer", None),
        ("lines", ""),
    ]


# ------------------------------------------------------------------ framing variants


def test_empty_body_with_trailer() -> None:
    body = b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    for offset in range(len(body) + 1):
        assert decode(split_at(body, offset)) == (b"", {"x-amz-checksum-crc32": "AAAAAA=="})


def test_upper_and_lower_case_hex_sizes() -> None:
    data = bytes(range(256)) * 3  # 0x2AB + 0x55 bytes
    body = b"2Ab\r\n" + data[:0x2AB] + b"\r\n" + b"55\r\n" + data[0x2AB:] + b"\r\n0\r\n\r\n"
    assert decode([body])[0] == data
    assert decode([body.replace(b"2Ab", b"2ab")])[0] == data


def test_unknown_chunk_extensions_are_ignored() -> None:
    body = b"3;foo=bar\r\nabc\r\n0\r\n\r\n"
    assert decode([body])[0] == b"abc"


def test_data_containing_crlf_and_digits() -> None:
    data = b"\r\n0\r\n\r\n" * 100
    body = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n"
    for seed in range(20):
        assert decode(random_pieces(body, seed, 17))[0] == data


def test_large_body_in_random_pieces() -> None:
    rng = random.Random(0)
    chunks = [rng.randbytes(size) for size in (1 << 20, 1 << 20, 12_345)]
    body = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks)
    body += b"0\r\nx-amz-checksum-crc64nvme:AAAAAAAAAAA=\r\n\r\n"
    for seed in range(3):
        data, trailers = decode(random_pieces(body, seed, 200_000))
        assert data == b"".join(chunks)
        assert trailers == {"x-amz-checksum-crc64nvme": "AAAAAAAAAAA="}


def test_data_is_passed_through_as_it_arrives() -> None:
    decoder = AwsChunkedDecoder()
    assert decoder.feed(b"100000\r\n") == []
    piece = b"x" * 131_072
    returned = decoder.feed(piece)
    assert returned == [piece] and returned[0] is piece  # no copy inside a chunk
    assert decoder.feed(b"y" * 10) == [b"y" * 10]
    assert not decoder.done


# ------------------------------------------------------------------ malformed and truncated


@pytest.mark.parametrize("body", [WIRE_SIGNED, WIRE_UNSIGNED, AWS_BODY])
def test_every_truncation_is_incomplete_body(body: bytes) -> None:
    size = len(body)
    ends = range(size) if size < 1000 else [*range(200), *range(size - 200, size)]
    for end in ends:
        decoder = AwsChunkedDecoder()
        decoder.feed(body[:end])
        with pytest.raises(errors.IncompleteBody) as raised:
            decoder.finish()
        assert raised.value.message == "The request body terminated unexpectedly"


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nab\r\n0\r\n\r\n",  # not hexadecimal
        b"0x2\r\nab\r\n0\r\n\r\n",  # a prefix int() would accept
        b"+2\r\nab\r\n0\r\n\r\n",
        b"1_0\r\n",
        b" 2\r\nab\r\n0\r\n\r\n",
        b"\r\nab\r\n",  # no size at all
        b";chunk-signature=00\r\n",
        b"2\nab\r\n0\r\n\r\n",  # bare LF
        b"2\r\nabXY0\r\n\r\n",  # data not followed by CRLF
        b"2\r\nab\rX0\r\n\r\n",
        b"2\r\nab\r\n0\r\n\r\nextra",  # bytes after the end
        b"11111111111111111\r\n",  # more than 64 bits of size
    ],
)
def test_malformed_framing_is_invalid_request(body: bytes) -> None:
    for offset in range(len(body) + 1):
        decoder = AwsChunkedDecoder()
        with pytest.raises(errors.InvalidRequest, match="aws-chunked body is malformed"):
            for piece in split_at(body, offset):
                decoder.feed(piece)
            decoder.finish()


@pytest.mark.parametrize(
    "trailer",
    [b"no colon here\r\n", b":value\r\n", b"".join(b"x-h%d:v\r\n" % i for i in range(17))],
)
def test_malformed_trailer_section(trailer: bytes) -> None:
    decoder = AwsChunkedDecoder()
    with pytest.raises(MalformedTrailerError) as raised:
        decoder.feed(b"0\r\n" + trailer + b"\r\n")
    assert raised.value.code == "MalformedTrailerError"
    assert raised.value.status == 400


def test_a_line_never_grows_past_the_limit() -> None:
    decoder = AwsChunkedDecoder()
    decoder.feed(b"1" + b";" * (MAX_LINE - 10))
    with pytest.raises(errors.InvalidRequest, match="too long"):
        decoder.feed(b";" * 20)  # refused before any newline arrives


def test_trailer_lines_are_bounded_too() -> None:
    decoder = AwsChunkedDecoder()
    decoder.feed(b"0\r\n")
    with pytest.raises(errors.InvalidRequest, match="too long"):
        decoder.feed(b"x-amz-checksum-crc32:" + b"A" * MAX_LINE)
