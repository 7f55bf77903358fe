"""PayloadStream: a request body as decoded chunks, hashed and checked on the fly.

Backends iterate it and commit only after the loop ends: every verification (length, Content-MD5,
checksums, ``x-amz-content-sha256``, aws-chunked framing and trailers) raises from the final
read, so bad data is never committed. Headers that are malformed in themselves (a Content-MD5
that is not base64, two checksum headers, a declared size above the limit) are refused by
:meth:`PayloadStream.from_request` before a byte of the body is read, as S3 does.

What S3 answers, per check:

* body shorter than Content-Length / ``x-amz-decoded-content-length``, client gone mid-body,
  aws-chunked framing cut short: ``IncompleteBody``;
* ``x-amz-content-sha256`` (hex) differs: ``XAmzContentSHA256Mismatch``;
* Content-MD5 not base64 of 16 bytes: ``InvalidDigest``; differs: ``BadDigest``;
* ``x-amz-checksum-<alg>`` (header or aws-chunked trailer) not base64 of the digest size:
  ``InvalidRequest``; differs: ``BadDigest``; more than one: ``InvalidRequest``;
* a trailer named by ``x-amz-trailer`` that never came, or one that was not announced:
  ``MalformedTrailerError``;
* declared size above ``max_size``: ``EntityTooLarge``.

Checksums in a presigned URL's query string are never validated: JS v3 bakes the CRC of an
empty body into presigned PUT URLs.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import concurrent.futures
import hashlib
import os
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp.http_exceptions import PayloadEncodingError

from post3 import checksums, errors, upload_turns
from post3.aws_chunked import (
    TERMINATED_MESSAGE,
    AwsChunkedDecoder,
    ChunkVerifier,
)

if TYPE_CHECKING:
    from aiohttp import web
    from aiohttp.streams import StreamReader

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PREFIX = "STREAMING-"
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_CONTENT_SHA256_MESSAGE = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
    "or a valid sha256 value."
)
_SINGLE_CHECKSUM_MESSAGE = (
    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
)

#: A body is hashed in batches of this many bytes in a worker thread, each while the next is
#: received: MD5 runs at ~800 MB/s on a core, and on the event loop thread it bound every
#: upload to one thread with the receiving and the backend's work. hashlib and zlib release
#: the GIL while they hash, so the loop goes on meanwhile. Bodies below one batch (most
#: requests) are hashed inline, where a thread hop would cost more than it saves. At most
#: 2.5 MiB per upload is held for hashing (a batch filling, :data:`HASH_AHEAD` handed on and
#: their joined copies); smaller batches would cost more thread hops per MiB.
HASH_BATCH = 512 * 1024

#: Bodies up to this size are not counted against the upload slots: aiohttp reads up to 64 KiB
#: at a time, so such a body is held whole anyway, and small PUTs never wait behind large ones.
UNCOUNTED_BODY = 64 * 1024


def counted(size: int | None) -> bool:
    """Whether a body of ``size`` bytes (None: unknown) takes one of the upload slots."""
    return size is None or size > UNCOUNTED_BODY


_hash_pool: concurrent.futures.ThreadPoolExecutor | None = None


#: Batches of one upload handed to the hashing threads and not yet hashed. With one, the
#: upload waited for each batch's hash before reading on, and the backend's writes with it.
HASH_AHEAD = 2


def _hash_executor() -> concurrent.futures.ThreadPoolExecutor:
    global _hash_pool
    if _hash_pool is None:  # created on first use: after --workers has forked
        # A batch waits in its thread for the one before it (see _hash_batch), so up to one
        # thread in HASH_AHEAD waits: as many more threads keep every core hashing.
        _hash_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=HASH_AHEAD * (os.cpu_count() or 2), thread_name_prefix="post3-hash")
    return _hash_pool


Update = Callable[[bytes], object]


def _hash_batch(updates: list[Update], batch: list[bytes],
                after: concurrent.futures.Future[None] | None = None) -> None:
    # One buffer, so each hasher releases and retakes the GIL once per batch rather than once
    # per piece: every retake waits for the event loop thread to let go of it.
    data = batch[0] if len(batch) == 1 else b"".join(batch)
    batch.clear()
    if after is not None:
        # The upload's batch before this one, submitted (so taken by a thread) first: hashes
        # stay in order, and this never waits on a batch no thread has taken.
        after.result()
    for update in updates:
        update(data)

@dataclass(frozen=True, slots=True)
class PayloadDigest:
    """What a fully read body turned out to be."""

    size: int
    md5_hex: str
    #: algorithm (``crc32``, ``crc32c``, ``crc64nvme``, ``sha1``, ``sha256``) -> base64 value
    checksums: dict[str, str] = field(default_factory=dict)

    def checksum_metadata(self) -> dict[str, str]:
        """The checksums as stored object metadata: ``{"x-amz-checksum-crc32": "..."}``."""
        return {f"x-amz-checksum-{name}": value for name, value in self.checksums.items()}

    @property
    def md5_base64(self) -> str:
        return base64.b64encode(bytes.fromhex(self.md5_hex)).decode()


@dataclass(frozen=True, slots=True)
class _Expected:
    """What the request's headers promise about its body."""

    content_md5: str | None = None
    content_sha256: str | None = None  # lower-case hex
    #: (algorithm, base64 value) from an ``x-amz-checksum-<alg>`` header
    checksum: tuple[str, str] | None = None
    #: algorithm of the checksum named by ``x-amz-trailer``
    trailer: str | None = None
    max_size: int | None = None


def stored_content_encoding(value: str | None) -> str | None:
    """The Content-Encoding to store for an upload: ``aws-chunked`` is framing, not content,
    so ``aws-chunked,gzip`` stores ``gzip`` and ``aws-chunked`` alone stores nothing."""
    if value is None:
        return None
    codings = [coding.strip() for coding in value.split(",")]
    kept = [coding for coding in codings if coding and coding.lower() != "aws-chunked"]
    if not kept:
        return None
    if len(kept) == len(codings):
        return value
    return ",".join(kept)


class PayloadStream:
    """Decoded body bytes. Iterate it once with ``async for``; then read :attr:`digest`."""

    def __init__(
        self,
        source: AsyncIterable[bytes],
        *,
        size: int | None = None,
        checksum_algorithms: Iterable[str] = (),
        decoder: AwsChunkedDecoder | None = None,
        expected: _Expected | None = None,
        slots: asyncio.Semaphore | None = None,
        request: web.BaseRequest | None = None,
    ) -> None:
        self._source = source
        #: taken while the body is read: a turn among the uploads the process streams at once
        self._slots = slots
        #: the request the body comes from, whose connection is not read while it waits a turn
        self._request = request
        #: the decoded size the body must have (None: unknown, as with HTTP chunking)
        self.size = size
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._algorithms = tuple(dict.fromkeys(checksums.normalize(a) for a in checksum_algorithms))
        self._decoder = decoder
        self._expected = expected or _Expected()
        self._digest: PayloadDigest | None = None
        self._started = False

    @classmethod
    def from_iterable(
        cls,
        chunks: AsyncIterable[bytes],
        *,
        size: int | None = None,
        checksum_algorithms: Iterable[str] = (),
        slots: asyncio.Semaphore | None = None,
    ) -> PayloadStream:
        """A body from bytes the server already has (copies, tests), or from a form field
        (``slots``: read in turn with the request bodies). ``size``, when given, is checked
        like a Content-Length."""
        return cls(chunks, size=size, checksum_algorithms=checksum_algorithms, slots=slots)

    @classmethod
    def from_request(
        cls,
        request: web.Request,
        *,
        max_size: int | None,
        verifier: ChunkVerifier | None = None,
        slots: asyncio.Semaphore | None = None,
    ) -> PayloadStream:
        """The body of ``request``, with every integrity header it carries armed.

        Raises at once for headers that are malformed in themselves; everything that depends
        on the body raises from the final read. ``verifier`` checks the chunk signatures of a
        signed aws-chunked body. A body larger than :data:`UNCOUNTED_BODY` (or of unknown
        size) is read only while it holds one of ``slots``.
        """
        headers = request.headers
        content_sha256 = headers.get("x-amz-content-sha256")
        streaming = False
        expected_sha256 = None
        if content_sha256 is not None and content_sha256 != UNSIGNED_PAYLOAD:
            if content_sha256.startswith(STREAMING_PREFIX):
                streaming = True
            elif _SHA256_HEX.fullmatch(content_sha256):
                expected_sha256 = content_sha256.lower()
            else:
                raise errors.InvalidArgument(_CONTENT_SHA256_MESSAGE)

        checksum = _checksum_header(headers)
        trailer = _trailer_algorithm(headers.get("x-amz-trailer"))
        if checksum is not None and trailer is not None:
            raise errors.InvalidRequest(_SINGLE_CHECKSUM_MESSAGE)
        algorithms: list[str] = []
        sdk_algorithm = headers.get("x-amz-sdk-checksum-algorithm")
        if sdk_algorithm is not None:
            sdk_algorithm = checksums.normalize(sdk_algorithm)
            named = checksum[0] if checksum is not None else trailer
            if named is None:
                # S3 itself refuses this; computing the named checksum serves such a client.
                algorithms.append(sdk_algorithm)
            elif named != sdk_algorithm:
                raise errors.InvalidRequest(
                    "Value for x-amz-sdk-checksum-algorithm header is invalid."
                )

        content_md5 = headers.get("Content-MD5")
        if content_md5 is not None:
            _check_content_md5(content_md5)

        if streaming:
            decoded = headers.get("x-amz-decoded-content-length")
            if decoded is None:
                raise errors.MissingContentLength()
            if not decoded.isdigit():
                raise errors.InvalidArgument(
                    "Value for x-amz-decoded-content-length header is invalid."
                )
            size: int | None = int(decoded)
        else:
            size = request.content_length
        if max_size is not None and size is not None and size > max_size:
            raise errors.EntityTooLarge(ProposedSize=size, MaxSizeAllowed=max_size)

        return cls(
            _read(request.content),
            size=size,
            checksum_algorithms=algorithms,
            decoder=AwsChunkedDecoder(verifier) if streaming else None,
            expected=_Expected(content_md5, expected_sha256, checksum, trailer, max_size),
            slots=slots if counted(size) else None,
            request=request,
        )

    @property
    def digest(self) -> PayloadDigest:
        if self._digest is None:
            raise RuntimeError("PayloadStream.digest is known only after the body is exhausted")
        return self._digest

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._started:
            raise RuntimeError("a PayloadStream can be iterated once")
        self._started = True
        expected = self._expected
        hashers = {name: checksums.new(name) for name in self._algorithms}
        for name in (expected.checksum[0] if expected.checksum else None, expected.trailer):
            if name is not None and name not in hashers:
                hashers[name] = checksums.new(name)
        sha256 = hashlib.sha256() if expected.content_sha256 is not None else None
        updates: list[Update] = [self._md5.update,
                                 *(hasher.update for hasher in hashers.values())]
        if sha256 is not None:
            updates.append(sha256.update)
        size = self.size
        limit = expected.max_size
        decoder = self._decoder
        received = 0
        batch: list[bytes] = []
        batched = 0
        hashing: collections.deque[concurrent.futures.Future[None]] = collections.deque()
        slots = self._slots
        if slots is not None:
            await upload_turns.take_turn(slots, self._request)
        try:
            async for piece in self._source:
                for data in decoder.feed(piece) if decoder is not None else (piece,):
                    if not data:
                        continue
                    received += len(data)
                    if size is not None and received > size:
                        raise errors.IncompleteBody("The body is longer than its declared length")
                    if limit is not None and received > limit:
                        raise errors.EntityTooLarge(MaxSizeAllowed=limit)
                    if not isinstance(data, bytes):
                        # A buffer its source may reuse once consumed: a copy is hashed later.
                        batch.append(bytes(data))
                    else:
                        batch.append(data)
                    batched += len(data)
                    if batched >= HASH_BATCH:
                        if len(hashing) == HASH_AHEAD:
                            await asyncio.wrap_future(hashing.popleft())
                        hashing.append(_hash_executor().submit(
                            _hash_batch, updates, batch, hashing[-1] if hashing else None))
                        batch, batched = [], 0
                    yield data
            while hashing:
                await asyncio.wrap_future(hashing.popleft())
        finally:
            # Cancelled or failed while batches hash: cancel those not started, the latest
            # first, and wait for the others (a millisecond or so each), so no thread keeps
            # working for a request that is gone.
            running = [future for future in reversed(hashing) if not future.cancel()]
            if running:
                concurrent.futures.wait(running)
            if slots is not None:
                slots.release()
        _hash_batch(updates, batch)
        if decoder is not None:
            decoder.finish()
        if size is not None and received != size:
            raise errors.IncompleteBody(TERMINATED_MESSAGE if decoder is not None else None)
        digest = PayloadDigest(received, self._md5.hexdigest(), {})
        computed = {name: checksums.b64(hasher.digest()) for name, hasher in hashers.items()}
        self._verify(digest, computed, sha256, decoder)
        digest.checksums.update(computed)
        self._digest = digest

    def _verify(
        self,
        digest: PayloadDigest,
        computed: dict[str, str],
        sha256: hashlib._Hash | None,
        decoder: AwsChunkedDecoder | None,
    ) -> None:
        expected = self._expected
        if sha256 is not None and expected.content_sha256 is not None \
                and sha256.hexdigest() != expected.content_sha256:
            raise errors.XAmzContentSHA256Mismatch(
                ClientComputedContentSHA256=expected.content_sha256,
                S3ComputedContentSHA256=sha256.hexdigest(),
            )
        if expected.content_md5 is not None and digest.md5_base64 != expected.content_md5:
            raise errors.BadDigest(
                "The Content-MD5 you specified did not match what we received.",
                ExpectedDigest=expected.content_md5,
                CalculatedDigest=digest.md5_base64,
            )
        if expected.checksum is not None:
            name, value = expected.checksum
            _compare(name, value, computed[name])
        trailers = decoder.trailers if decoder is not None else {}
        announced = f"{checksums.HEADER_PREFIX}{expected.trailer}" if expected.trailer else None
        if any(name != announced for name in trailers) or (announced and announced not in trailers):
            raise errors.MalformedTrailerError()
        if announced is not None and expected.trailer is not None:
            value = trailers[announced]
            checksums.decode_value(expected.trailer, value, what="trailing header")
            _compare(expected.trailer, value, computed[expected.trailer])

    async def blocks(self, block_size: int) -> AsyncIterator[bytes]:
        """The body re-cut into blocks of exactly ``block_size`` bytes (the last may be
        shorter; an empty body yields nothing)."""
        pending = bytearray()
        # A first chunk that fits one block is kept as it is: a small body (most uploads) is
        # then handed on without being copied into the buffer and out again.
        first: bytes | None = None
        async for chunk in self:
            if first is None and not pending and type(chunk) is bytes \
                    and len(chunk) <= block_size:
                first = chunk
                continue
            if first is not None:
                pending += first
                first = None
            pending += chunk
            while len(pending) >= block_size:
                yield bytes(pending[:block_size])
                del pending[:block_size]
        if first is not None:
            yield first
        elif pending:
            yield bytes(pending)

    async def read_small(self, limit: int) -> bytes:
        """The whole body, for small XML request bodies (CompleteMultipartUpload,
        DeleteObjects...). Longer than ``limit`` bytes: ``MaxMessageLengthExceeded``, as S3
        answers an oversized request document."""
        if self.size is not None and self.size > limit:
            raise errors.MaxMessageLengthExceeded()
        body = bytearray()
        async for chunk in self:
            body += chunk
            if len(body) > limit:
                raise errors.MaxMessageLengthExceeded()
        return bytes(body)


async def _read(content: StreamReader) -> AsyncIterator[bytes]:
    """The raw body as aiohttp hands it over (HTTP chunking already removed). A client that
    goes away mid-body makes aiohttp raise ConnectionResetError (or a payload error for broken
    HTTP chunking): S3 calls that an incomplete body.

    aiohttp marks the end of a body as it parses its last byte, so once the reader is at its
    end the read that would only find it is skipped: a small body is one read."""
    try:
        while piece := await content.readany():
            yield piece
            if content.at_eof():
                return
    except (ConnectionError, PayloadEncodingError) as exc:
        raise errors.IncompleteBody() from exc


def _compare(name: str, given: str, computed: str) -> None:
    if given != computed:
        raise errors.BadDigest(
            f"The {name.upper()} you specified did not match the calculated checksum."
        )


def _checksum_header(headers: Mapping[str, str]) -> tuple[str, str] | None:
    found: dict[str, str] = {}
    prefix = checksums.HEADER_PREFIX
    for header, value in headers.items():
        # the prefix first: most of a request's dozen headers are not checksums
        if header[:len(prefix)].lower() != prefix:
            continue
        name = checksums.algorithm_of_header(header)
        if name is not None:
            found[name] = value
    if len(found) > 1:
        raise errors.InvalidRequest(_SINGLE_CHECKSUM_MESSAGE)
    if not found:
        return None
    ((name, value),) = found.items()
    checksums.decode_value(name, value)
    return name, value


def _trailer_algorithm(value: str | None) -> str | None:
    if value is None:
        return None
    name = value.strip().lower()
    algorithm = name[len(checksums.HEADER_PREFIX):]
    if not name.startswith(checksums.HEADER_PREFIX) or algorithm not in checksums.DIGEST_SIZES:
        raise errors.InvalidRequest(
            "The value specified in the x-amz-trailer header is not supported"
        )
    return algorithm


def _check_content_md5(value: str) -> None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16 or base64.b64encode(raw).decode() != value:
        raise errors.InvalidDigest(
            "The Content-MD5 you specified was invalid.", **{"Content-MD5": value}
        )
