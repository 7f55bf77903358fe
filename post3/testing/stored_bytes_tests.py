"""Bodies longer than their size: what the core's encryption hands a backend.

The core encrypts in front of the backend (:mod:`post3.encryption`): the body yields the sealed
segments, more bytes than ``body.digest.size``, which is the size S3 shows. A backend stores
every byte, records ``digest.size`` as the size, and serves exactly the stored range a
``ByteRange`` resolves to, even when it reaches past ``info.size``. These tests write with the
core's own sealing stream and read back through its own range, so a backend that clamps, cuts
or recounts fails here rather than corrupting encrypted objects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import pytest

from post3 import errors
from post3.backend import Backend, ByteRange, Encryption, ObjectAttributes, ObjectInfo
from post3.encryption.segments import SEGMENT, SegmentCipher, stored_size
from post3.encryption.streams import DecryptingStream, EncryptingPayload, SegmentRange
from post3.multipart import MIN_PART_SIZE
from post3.testing.base import ConformanceBase, optional
from post3.testing.helpers import MiB, Range, multipart_object_info, pattern, payload, read_stream

SIZE = 2 * MiB + 4321


@dataclass(frozen=True, slots=True)
class StoredRange(ByteRange):
    """Exactly ``[start, stop)`` of the stored bytes, as the core's range asks for them."""

    start: int
    stop: int

    def resolve(self, info: ObjectInfo) -> tuple[int, int]:
        return self.start, self.stop


def _encryption() -> tuple[SegmentCipher, ObjectAttributes]:
    object_id = os.urandom(16)
    cipher = SegmentCipher(os.urandom(32), object_id)
    encryption = Encryption("AES256", object_id.hex(), "test:1:unused")
    return cipher, ObjectAttributes(encryption=encryption)


async def _read(backend: Backend, bucket: str, key: str, cipher: SegmentCipher,
                wanted: Range | None = None) -> bytes:
    segment_range = SegmentRange(wanted)
    stream = await backend.open_object(bucket, key, segment_range)
    assert segment_range.plan is not None, "the backend did not resolve the range it was given"
    return await read_stream(DecryptingStream(stream, segment_range.plan, cipher))


class StoredBytesTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_stores_every_byte_and_the_digest_size(self, backend: Backend,
                                                        bucket: str) -> None:
        data = pattern(SIZE)
        cipher, attributes = _encryption()
        info = await backend.put_object(
            bucket, "sealed", EncryptingPayload(payload(data), cipher, 0, lambda md5: md5),
            attributes=attributes)
        assert info.size == SIZE
        assert (await backend.head_object(bucket, "sealed")).size == SIZE
        (entry,) = await backend.list_objects_page(bucket)
        assert entry.size == SIZE
        # The whole stored run, which ends past info.size, then ranges inside and across
        # segment boundaries.
        raw = await read_stream(await backend.open_object(
            bucket, "sealed", StoredRange(0, stored_size(SIZE))))
        assert len(raw) == stored_size(SIZE), "the stored bytes were cut at info.size"
        assert data not in raw
        assert await _read(backend, bucket, "sealed", cipher) == data
        for start, stop in ((0, 1), (SEGMENT - 5, SEGMENT + 5), (SEGMENT, 2 * SEGMENT),
                            (2 * SEGMENT + 1, SIZE), (MiB - 5, MiB + 5), (17, SIZE - 17)):
            assert await _read(backend, bucket, "sealed", cipher,
                               Range(start, stop)) == data[start:stop]

    @pytest.mark.asyncio
    async def test_empty_sealed_object(self, backend: Backend, bucket: str) -> None:
        cipher, attributes = _encryption()
        info = await backend.put_object(
            bucket, "empty", EncryptingPayload(payload(b""), cipher, 0, lambda md5: md5),
            attributes=attributes)
        assert info.size == 0
        assert await _read(backend, bucket, "empty", cipher) == b""

    @pytest.mark.asyncio
    async def test_multipart_parts_longer_than_their_size(self, backend: Backend,
                                                         bucket: str) -> None:
        first, second = pattern(MIN_PART_SIZE, 1), pattern(MiB + 7, 2)
        cipher, attributes = _encryption()
        with optional("multipart"):
            upload = await backend.create_multipart_upload(
                bucket, "parts", attributes=attributes, tags={})
        parts = []
        for number, data in ((2, first), (7, second)):
            parts.append(await backend.upload_part(
                bucket, "parts", upload.upload_id, number,
                EncryptingPayload(payload(data), cipher, number, lambda md5: md5)))
        assert [part.size for part in parts] == [len(first), len(second)]
        assert [part.size for part in await backend.list_parts(
            bucket, "parts", upload.upload_id)] == [len(first), len(second)]
        info = multipart_object_info(upload, parts)
        assert info.attributes.encryption is not None
        info = replace(info, attributes=replace(info.attributes, encryption=replace(
            info.attributes.encryption, part_numbers=(2, 7))))
        done = await backend.complete_multipart_upload(bucket, "parts", upload.upload_id,
                                                       parts, info)
        assert done.size == len(first) + len(second)
        whole = first + second
        assert await _read(backend, bucket, "parts", cipher) == whole
        boundary = len(first)
        assert await _read(backend, bucket, "parts", cipher,
                           Range(boundary - 3, boundary + 3)) == whole[boundary - 3:boundary + 3]

    @pytest.mark.asyncio
    async def test_sealed_range_past_the_stored_bytes_is_refused(self, backend: Backend,
                                                                 bucket: str) -> None:
        cipher, attributes = _encryption()
        await backend.put_object(
            bucket, "small", EncryptingPayload(payload(b"abc"), cipher, 0, lambda md5: md5),
            attributes=attributes)
        with pytest.raises(errors.InvalidRange):
            await backend.open_object(bucket, "small", SegmentRange(Range(3, 4)))
