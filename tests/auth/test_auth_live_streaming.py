"""Signed aws-chunked uploads (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` and ``-TRAILER``) against
a live server: an intact body is stored; an altered, replayed or dropped chunk, or a wrong
trailer signature, is refused with SignatureDoesNotMatch and nothing is stored.

The encoder below is independent of post3's own code (hmac and hashlib only). A tampered body
keeps its lengths consistent (the header signature covers the lengths actually sent), so the
chunk-signature chain is the only thing that can catch it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import zlib
from dataclasses import dataclass

import pytest

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CHUNK = 64 * 1024
DATA = bytes((i * 7 + 3) % 251 for i in range(2 * CHUNK + 5000))


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@dataclass
class Frame:
    """One aws-chunk as it goes on the wire: its data and the index of the (honest) chunk
    signature it carries; the last index is the final, empty chunk's."""

    data: bytes
    signature_of: int


class Encoder:
    def __init__(self, host: str, path: str, variant: str, secret: str = "testing") -> None:
        self.host, self.path, self.variant = host, path, variant
        now = dt.datetime.now(dt.UTC)
        self.amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        self.scope = f"{now:%Y%m%d}/us-east-1/s3/aws4_request"
        key = _hmac(f"AWS4{secret}".encode(), f"{now:%Y%m%d}")
        for part in ("us-east-1", "s3", "aws4_request"):
            key = _hmac(key, part)
        self.key = key

    def _sign(self, kind: str, previous: str, payload_hash: str) -> str:
        text = "\n".join([kind, self.amz_date, self.scope, previous, payload_hash])
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def request(self, chunks: list[bytes], frames: list[Frame] | None = None,
                trailer_signature: str | None = None) -> tuple[dict[str, str], bytes]:
        """Headers and body for ``chunks``, sent as ``frames`` (default: as they are, then
        the final chunk). Chunk signatures are always those of the honest ``chunks``."""
        if frames is None:
            frames = [Frame(c, i) for i, c in enumerate(chunks)] + [Frame(b"", len(chunks))]
        data = b"".join(frame.data for frame in frames)
        trailer = f"x-amz-checksum-crc32:{crc32_b64(b''.join(chunks))}"

        def frame_bytes(frame: Frame, signature: str) -> bytes:
            return (f"{len(frame.data):x};chunk-signature={signature}\r\n".encode()
                    + frame.data + (b"\r\n" if frame.data else b""))

        def body_with(signatures: list[str], trailer_sig: str) -> bytes:
            parts = [frame_bytes(f, signatures[f.signature_of]) for f in frames]
            if self.variant == SIGNED_TRAILER:
                parts.append(f"{trailer}\r\nx-amz-trailer-signature:{trailer_sig}\r\n".encode())
            parts.append(b"\r\n")
            return b"".join(parts)

        # Signatures are all 64 hex digits, so the length is known before they are.
        content_length = len(body_with(["0" * 64] * (len(chunks) + 1), "0" * 64))
        headers = {
            "host": self.host,
            "x-amz-date": self.amz_date,
            "x-amz-content-sha256": self.variant,
            "content-encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(len(data)),
            "content-length": str(content_length),
        }
        if self.variant == SIGNED_TRAILER:
            headers["x-amz-trailer"] = "x-amz-checksum-crc32"
            headers["x-amz-sdk-checksum-algorithm"] = "CRC32"
        names = sorted(headers)
        canonical = "\n".join([
            "PUT", self.path, "",
            *(f"{name}:{headers[name]}" for name in names), "",
            ";".join(names), self.variant,
        ])
        seed = hmac.new(self.key, "\n".join(
            ["AWS4-HMAC-SHA256", self.amz_date, self.scope, _sha256(canonical)]
        ).encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential=testing/{self.scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={seed}"
        )
        signatures, previous = [], seed
        for chunk in [*chunks, b""]:
            previous = self._sign("AWS4-HMAC-SHA256-PAYLOAD", previous,
                                  f"{EMPTY_SHA256}\n{_sha256(chunk)}")
            signatures.append(previous)
        if trailer_signature is None:
            trailer_signature = self._sign("AWS4-HMAC-SHA256-TRAILER", signatures[-1],
                                           _sha256(f"{trailer}\n"))
        body = body_with(signatures, trailer_signature)
        assert len(body) == content_length
        return headers, body


def split(data: bytes) -> list[bytes]:
    return [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]


VARIANTS = pytest.mark.parametrize("variant", [SIGNED, SIGNED_TRAILER],
                                   ids=["payload", "payload-trailer"])


def put(api, bucket: str, key: str, variant: str, **request_options):  # type: ignore[no-untyped-def]
    encoder = Encoder(api.host, f"/{bucket}/{key}", variant)
    headers, body = encoder.request(split(DATA), **request_options)
    return api.send("PUT", f"/{bucket}/{key}", headers=headers, body=body)


@VARIANTS
def test_an_intact_signed_stream_is_stored(api, bucket, variant):
    reply = put(api, bucket, "intact", variant)
    assert reply.status == 200, reply.body
    assert api.stored(bucket, "intact") == DATA
    head = api.root.head_object(Bucket=bucket, Key="intact")
    assert head["ContentLength"] == len(DATA)
    assert "aws-chunked" not in head.get("ContentEncoding", "")


@VARIANTS
def test_a_wrong_seed_secret_is_refused(api, bucket, variant):
    encoder = Encoder(api.host, f"/{bucket}/wrong-secret", variant, secret="not-the-secret")
    headers, body = encoder.request(split(DATA))
    reply = api.send("PUT", f"/{bucket}/wrong-secret", headers=headers, body=body)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "wrong-secret") is None


def tampered(name: str, chunks: list[bytes]) -> list[Frame]:
    final = Frame(b"", len(chunks))
    if name == "altered":
        changed = bytes([chunks[1][0] ^ 0xFF]) + chunks[1][1:]
        return [Frame(chunks[0], 0), Frame(changed, 1), Frame(chunks[2], 2), final]
    if name == "replayed":
        return [Frame(chunks[0], 0), Frame(chunks[0], 0), Frame(chunks[1], 1),
                Frame(chunks[2], 2), final]
    if name == "dropped":
        return [Frame(chunks[0], 0), Frame(chunks[2], 2), final]
    if name == "reordered":
        return [Frame(chunks[1], 1), Frame(chunks[0], 0), Frame(chunks[2], 2), final]
    if name == "truncated":
        # The final chunk's signature moved onto the last data chunk's place: the stream ends
        # early but every length agrees.
        return [Frame(chunks[0], 0), Frame(chunks[1], 1), final]
    raise AssertionError(name)


@VARIANTS
@pytest.mark.parametrize("tamper", ["altered", "replayed", "dropped", "reordered", "truncated"])
def test_a_tampered_chunk_stream_is_refused(api, bucket, variant, tamper):
    key = f"tampered-{tamper}"
    chunks = split(DATA)
    assert len(chunks) == 3
    reply = put(api, bucket, key, variant, frames=tampered(tamper, chunks))
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch"), reply.body
    assert api.stored(bucket, key) is None


def test_a_wrong_chunk_signature_is_refused(api, bucket):
    encoder = Encoder(api.host, f"/{bucket}/bad-sig", SIGNED)
    headers, body = encoder.request(split(DATA))
    first_line = body.index(b"\r\n")
    flipped = b"0" if body[first_line - 1:first_line] != b"0" else b"1"
    body = body[:first_line - 1] + flipped + body[first_line:]
    reply = api.send("PUT", f"/{bucket}/bad-sig", headers=headers, body=body)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "bad-sig") is None


def test_a_wrong_trailer_signature_is_refused(api, bucket):
    reply = put(api, bucket, "bad-trailer", SIGNED_TRAILER, trailer_signature="ab" * 32)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "bad-trailer") is None


def test_a_changed_trailer_checksum_is_refused(api, bucket):
    """The trailer signature covers the checksum line: a checksum changed in transit fails it
    (before the checksum itself is compared with the data)."""
    encoder = Encoder(api.host, f"/{bucket}/changed-trailer", SIGNED_TRAILER)
    headers, body = encoder.request(split(DATA))
    honest = f"x-amz-checksum-crc32:{crc32_b64(DATA)}".encode()
    assert body.count(honest) == 1 and crc32_b64(DATA) != "AAAAAA=="
    body = body.replace(honest, b"x-amz-checksum-crc32:AAAAAA==")
    reply = api.send("PUT", f"/{bucket}/changed-trailer", headers=headers, body=body)
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    assert api.stored(bucket, "changed-trailer") is None


@VARIANTS
def test_a_stream_without_its_final_chunk_stores_nothing(api, bucket, variant):
    """Every data chunk verifies, but the signed end of the stream never comes."""
    chunks = split(DATA)
    reply = put(api, bucket, "unfinished", variant,
                frames=[Frame(c, i) for i, c in enumerate(chunks)])
    assert 400 <= reply.status < 500, reply.body
    assert api.stored(bucket, "unfinished") is None


@VARIANTS
def test_an_empty_signed_stream_is_stored(api, bucket, variant):
    encoder = Encoder(api.host, f"/{bucket}/empty", variant)
    headers, body = encoder.request([])
    reply = api.send("PUT", f"/{bucket}/empty", headers=headers, body=body)
    assert reply.status == 200, reply.body
    assert api.stored(bucket, "empty") == b""
