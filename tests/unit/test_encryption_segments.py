"""The segment format: what a sealed object is, and which changes to it are caught."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import tempfile
import time

import pytest

from post3 import errors
from post3.backend import (
    BytesObjectStream,
    Encryption,
    ObjectAttributes,
    ObjectInfo,
    ObjectStream,
    utcnow,
)
from post3.encryption import headers as sse_headers
from post3.encryption.keyring import KeyRing, MasterKey, key_id_of
from post3.encryption.segments import (
    OVERHEAD,
    SEGMENT,
    SegmentCipher,
    TamperedObject,
    runs,
    segment_count,
    stored_range,
    stored_size,
)
from post3.encryption.streams import DecryptingStream, EncryptingPayload, SegmentRange
from post3.payload import PayloadStream
from post3.ranges import HttpRange


async def _chunks(data: bytes, size: int = 100_000):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def seal(data: bytes, cipher: SegmentCipher, part: int = 0) -> tuple[bytes, int]:
    async def run() -> tuple[bytes, int]:
        body = EncryptingPayload(PayloadStream.from_iterable(_chunks(data), size=len(data)),
                                 cipher, part, lambda md5: md5)
        sealed = b"".join([chunk async for chunk in body])
        assert body.digest.md5_hex == hashlib.md5(data).hexdigest()
        return sealed, body.digest.size
    return asyncio.run(run())


def info_of(size: int, object_id: bytes, part_sizes: tuple[int, ...] = (),
            part_numbers: tuple[int, ...] = ()) -> ObjectInfo:
    encryption = Encryption("AES256", object_id.hex(), "k:1:x", part_numbers=part_numbers)
    return ObjectInfo("k", size, "e", utcnow(), ObjectAttributes(encryption=encryption),
                      part_sizes=part_sizes)


class FileStream(ObjectStream):
    """Stored bytes in a real file, handed out as the filesystem backend does
    (:meth:`sendfile`): the core then reads the file itself, never iterating the stream."""

    def __init__(self, info: ObjectInfo, stored: bytes, start: int, stop: int) -> None:
        self.info, self.start, self.stop = info, start, stop
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by aclose)
        self._file.write(stored)
        self._file.flush()

    def sendfile(self):
        return self._file, self.start, self.length

    def __aiter__(self):
        raise AssertionError("a stream that hands out a file is read through the file")

    async def aclose(self) -> None:
        self._file.close()


def _read(stream: ObjectStream) -> bytes | type[BaseException]:
    async def run() -> bytes:
        try:
            return b"".join([block async for block in stream])
        finally:
            await stream.aclose()
    try:
        return asyncio.run(run())
    except Exception as exc:
        return type(exc)


def open_range(stored: bytes, info: ObjectInfo, cipher: SegmentCipher,
               wanted: HttpRange | None = None) -> bytes:
    """The plaintext read through both ways of reading stored bytes, blocks and a file,
    which must agree (the same bytes, or the same error, which is raised)."""
    results = []
    for kind in (BytesObjectStream, FileStream):
        segment_range = SegmentRange(wanted)
        start, stop = segment_range.resolve(info)
        assert segment_range.plan is not None
        stored_stream = BytesObjectStream(info, [stored], start, stop) \
            if kind is BytesObjectStream else FileStream(info, stored, start, stop)
        results.append(_read(DecryptingStream(stored_stream, segment_range.plan, cipher)))
    blocks, file = results
    assert blocks == file
    if isinstance(blocks, type):
        raise blocks()
    return blocks


def test_file_read_stopped_midway_lets_its_thread_finish(monkeypatch):
    """A reader that stops (the client went away) while a batch is being read: the file is
    closed only after the thread is done with it, and nothing is left running. The disk is
    made slow so that a batch is in flight when the reader stops."""
    data = os.urandom(8 * SEGMENT)
    object_id = os.urandom(16)
    cipher = SegmentCipher(os.urandom(32), object_id)
    sealed, _ = seal(data, cipher)
    info = info_of(len(data), object_id)
    in_flight = []
    preadv = os.preadv

    def slow_preadv(fd, buffers, offset):
        in_flight.append(offset)
        try:
            time.sleep(0.05)
            return preadv(fd, buffers, offset)
        finally:
            in_flight.remove(offset)

    monkeypatch.setattr(os, "preadv", slow_preadv)

    class Watched(FileStream):
        async def aclose(self) -> None:
            assert not in_flight, "the file was closed under a read"
            await super().aclose()

    async def run() -> None:
        segment_range = SegmentRange(None)
        start, stop = segment_range.resolve(info)
        assert segment_range.plan is not None
        stored = Watched(info, sealed, start, stop)
        stream = DecryptingStream(stored, segment_range.plan, cipher)
        await stream.prime()
        reader = aiter(stream)
        assert await anext(reader) == data[:SEGMENT]
        await asyncio.sleep(0.01)  # the next batch's read has started
        assert in_flight
        await reader.aclose()
        await stream.aclose()
        assert stored._file.closed
        assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    asyncio.run(run())


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 7])
def test_sizes_and_round_trip(size):
    data = os.urandom(size)
    object_id = os.urandom(16)
    cipher = SegmentCipher(os.urandom(32), object_id)
    sealed, reported = seal(data, cipher)
    assert reported == size
    assert len(sealed) == stored_size(size) == size + OVERHEAD * segment_count(size)
    assert open_range(sealed, info_of(size, object_id), cipher) == data


def test_every_range_of_a_few_segments():
    size = 2 * SEGMENT + 3
    data = os.urandom(size)
    object_id = os.urandom(16)
    cipher = SegmentCipher(os.urandom(32), object_id)
    sealed, _ = seal(data, cipher)
    info = info_of(size, object_id)
    points = [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT - 1, 2 * SEGMENT, size - 1]
    for first in points:
        for last in points:
            if last >= first:
                got = open_range(sealed, info, cipher, HttpRange(first, last))
                assert got == data[first:last + 1], (first, last)


def test_range_maps_to_whole_segments_only():
    layout = runs(3 * SEGMENT, (), ())
    plan = stored_range(layout, SEGMENT + 5, SEGMENT + 6)
    assert (plan.start, plan.stop) == (SEGMENT + OVERHEAD, 2 * (SEGMENT + OVERHEAD))
    assert [s.index for s in plan.segments] == [1]


def test_multipart_layout_binds_part_numbers():
    object_id = os.urandom(16)
    cipher = SegmentCipher(os.urandom(32), object_id)
    first, second = os.urandom(SEGMENT + 10), os.urandom(20)
    sealed = seal(first, cipher, part=4)[0] + seal(second, cipher, part=9)[0]
    sizes = (len(first), len(second))
    info = info_of(sum(sizes), object_id, sizes, (4, 9))
    assert open_range(sealed, info, cipher) == first + second
    assert open_range(sealed, info, cipher, HttpRange(SEGMENT + 5, SEGMENT + 14)) \
        == (first + second)[SEGMENT + 5:SEGMENT + 15]
    # The same bytes read as if they were parts 1 and 2 do not authenticate.
    with pytest.raises(TamperedObject):
        open_range(sealed, info_of(sum(sizes), object_id, sizes, (1, 2)), cipher)


def test_altered_reordered_swapped_or_cut_segments_fail():
    object_id, data_key = os.urandom(16), os.urandom(32)
    cipher = SegmentCipher(data_key, object_id)
    data = os.urandom(3 * SEGMENT)
    sealed = seal(data, cipher)[0]
    info = info_of(len(data), object_id)
    unit = SEGMENT + OVERHEAD
    altered = bytearray(sealed)
    altered[unit + 100] ^= 1
    reordered = sealed[unit:2 * unit] + sealed[:unit] + sealed[2 * unit:]
    for stored in (bytes(altered), reordered):
        with pytest.raises(TamperedObject):
            open_range(stored, info, cipher)
    # Another object's segment in its place, even one sealed under the same data key.
    swapped = seal(data[:SEGMENT] + b"more", SegmentCipher(data_key, os.urandom(16)))[0]
    with pytest.raises(TamperedObject):
        open_range(swapped[:unit] + sealed[unit:], info, cipher)
    # Truncation: the first two segments alone, presented as a whole object of two.
    cut = info_of(2 * SEGMENT, object_id)
    with pytest.raises(TamperedObject):
        open_range(sealed[:2 * unit], cut, cipher)
    # A read that stops early is refused, never padded.
    with pytest.raises(errors.InternalError):
        open_range(sealed[:unit + 10], info, cipher)


def test_same_key_other_object_id_fails():
    data_key = os.urandom(32)
    first_id, second_id = os.urandom(16), os.urandom(16)
    sealed, _ = seal(b"hello", SegmentCipher(data_key, first_id))
    with pytest.raises(TamperedObject):
        open_range(sealed, info_of(5, second_id), SegmentCipher(data_key, second_id))


def test_keyring_wraps_under_the_latest_version_and_opens_every_version():
    ring = KeyRing({"default": MasterKey("default", "", [os.urandom(32)])})
    data_key = os.urandom(32)
    first = ring.wrap("default", data_key, b"object")
    assert first.startswith("default:1:")
    ring._keys["default"].versions.append(os.urandom(32))
    second = ring.wrap("default", data_key, b"object")
    assert second.startswith("default:2:")
    assert ring.unwrap(first, b"object") == ring.unwrap(second, b"object") == data_key
    with pytest.raises(errors.InternalError):
        ring.unwrap(first, b"another object")


def test_rewrap_moves_a_data_key_to_the_latest_version():
    ring = KeyRing({"default": MasterKey("default", "", [os.urandom(32)])})
    data_key = os.urandom(32)
    first = ring.wrap("default", data_key, b"object")
    assert ring.rewrap(first, b"object") is None
    ring._keys["default"].versions.append(os.urandom(32))
    again = ring.rewrap(first, b"object")
    assert again is not None and again.startswith("default:2:")
    assert ring.unwrap(again, b"object") == data_key
    assert ring.rewrap(again, b"object") is None


def test_key_ids_as_clients_send_them():
    assert key_id_of("arn:aws:kms:us-east-1:111122223333:key/abc-1") == "abc-1"
    assert key_id_of("alias/mine") == "mine"
    assert key_id_of("plain") == "plain"


def test_customer_key_is_never_in_its_repr():
    key = os.urandom(32)
    md5 = base64.b64encode(hashlib.md5(key).digest()).decode()
    parsed = sse_headers.customer_key({
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
        "x-amz-server-side-encryption-customer-key-md5": md5,
    })
    assert parsed is not None and parsed.key == key
    assert base64.b64encode(key).decode() not in repr(parsed)
