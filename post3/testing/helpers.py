"""Small tools for testing a backend directly, without HTTP.

They build what the core would hand a backend (a :class:`PayloadStream`, a :class:`ByteRange`,
the ``ObjectInfo`` of a completed multipart upload) and read back what it returns.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

from post3 import errors
from post3.backend import (
    Backend,
    ByteRange,
    ObjectAttributes,
    ObjectInfo,
    ObjectStream,
    PartInfo,
    UploadInfo,
    WriteCondition,
    attributes_from_pairs,
    attributes_to_pairs,
    md5_of_etags,
    utcnow,
)
from post3.payload import PayloadStream

MiB = 1 << 20


async def chunks_of(
    data: bytes, chunk_size: int = 64 * 1024, *, pause: bool = False
) -> AsyncIterator[bytes]:
    """``data`` in chunks; with ``pause``, give control to the event loop between chunks,
    as a slow client would."""
    for i in range(0, len(data), chunk_size):
        if pause:
            await asyncio.sleep(0)
        yield data[i: i + chunk_size]


def payload(
    data: bytes, *, chunk_size: int = 64 * 1024, size: int | None = -1, pause: bool = False
) -> PayloadStream:
    """A request body carrying ``data``. ``size`` is the declared length (by default
    ``len(data)``; None for an unknown length); declare a different one to get IncompleteBody."""
    declared = len(data) if size == -1 else size
    return PayloadStream.from_iterable(
        chunks_of(data, chunk_size, pause=pause), size=declared
    )


def failing_payload(
    data: bytes, error: Exception | None = None, *, chunk_size: int = 64 * 1024
) -> PayloadStream:
    """A body that yields ``data`` and then raises ``error`` (BadDigest by default), the way
    a PayloadStream reports a checksum mismatch from its final read."""

    async def source() -> AsyncIterator[bytes]:
        async for chunk in chunks_of(data, chunk_size, pause=True):
            yield chunk
        raise error if error is not None else errors.BadDigest()

    return PayloadStream.from_iterable(source(), size=None)


async def read_stream(stream: ObjectStream) -> bytes:
    """Everything an ObjectStream yields; closes it."""
    try:
        return b"".join([block async for block in stream])
    finally:
        await stream.aclose()


async def read_object(
    backend: Backend, bucket: str, key: str, byte_range: ByteRange | None = None
) -> bytes:
    """The bytes of an object (or of a range of it)."""
    return await read_stream(await backend.open_object(bucket, key, byte_range))


async def put_bytes(
    backend: Backend,
    bucket: str,
    key: str,
    data: bytes,
    *,
    attributes: ObjectAttributes | None = None,
    tags: Mapping[str, str] | None = None,
    condition: WriteCondition | None = None,
) -> ObjectInfo:
    """``put_object`` with a body made of ``data``."""
    return await backend.put_object(
        bucket, key, payload(data), attributes=attributes or ObjectAttributes(),
        tags=tags or {}, condition=condition,
    )


def attrs(pairs: Mapping[str, str] | None = None) -> ObjectAttributes:
    """Attributes written the short way, as the pairs they are stored as
    (``{"content-type": "a/b", "x-amz-meta-k": "v", "x-amz-storage-class": "GLACIER"}``)."""
    return attributes_from_pairs(pairs or {})


def stored_pairs(info: ObjectInfo | UploadInfo) -> dict[str, str]:
    """What :func:`attrs` would take to make ``info``'s attributes (an upload's checksum
    algorithm included), to compare them in one assertion."""
    if isinstance(info, UploadInfo):
        return info.to_pairs()
    return attributes_to_pairs(info.attributes)


@dataclass(frozen=True, slots=True)
class Range(ByteRange):
    """A byte range as the core resolves one from a ``Range`` header.

    ``Range(start, stop)`` is bytes ``start`` to ``stop - 1`` (``stop`` None: to the end; a
    ``stop`` past the end is clamped); ``Range(suffix=n)`` is the last ``n`` bytes.
    """

    start: int = 0
    stop: int | None = None
    suffix: int | None = None

    def resolve(self, info: ObjectInfo) -> tuple[int, int]:
        if self.suffix is not None:
            if self.suffix == 0 or info.size == 0:
                raise errors.InvalidRange(ActualObjectSize=info.size)
            return max(0, info.size - self.suffix), info.size
        if self.start >= info.size:
            raise errors.InvalidRange(ActualObjectSize=info.size)
        stop = info.size if self.stop is None else min(self.stop, info.size)
        return self.start, stop


def multipart_object_info(
    upload: UploadInfo, parts: Sequence[PartInfo], last_modified: dt.datetime | None = None
) -> ObjectInfo:
    """The ObjectInfo the core passes to ``complete_multipart_upload`` for ``parts``."""
    return ObjectInfo(
        key=upload.key,
        size=sum(part.size for part in parts),
        etag=f"{md5_of_etags(part.etag for part in parts)}-{len(parts)}",
        last_modified=last_modified or utcnow(),
        attributes=upload.attributes,
        tags=dict(upload.tags),
        part_sizes=tuple(part.size for part in parts),
    )


def pattern(size: int, seed: int = 0) -> bytes:
    """``size`` bytes in which every 4 KiB stretch differs, so a misplaced block shows."""
    unit = bytes((seed + i * 7) % 251 for i in range(4093))
    whole = unit * (size // len(unit) + 1)
    return whole[:size]
