"""The two streams between the core and the backend: plaintext in, segments out on writes;
segments in, plaintext out on reads. Memory stays at a few segments whatever the size."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable

from post3 import errors
from post3.backend import ByteRange, ObjectInfo, ObjectStream
from post3.encryption.segments import (
    SEGMENT,
    Segment,
    SegmentCipher,
    StoredRange,
    runs,
    stored_range,
    stored_size,
)
from post3.payload import PayloadDigest, PayloadStream

#: Segments a reader opens ahead of what it has sent.
READ_AHEAD = 2


class EncryptingPayload(PayloadStream):
    """A body that yields the sealed segments of ``plain`` (run ``part``), and whose
    :attr:`digest` is the plaintext's: its size, its checksums, and the ETag S3 shows
    (``etag`` turns the plaintext MD5 into it). A backend stores every byte it yields and
    ``digest.size`` as the object's size. The plaintext's own checks (length, Content-MD5,
    checksums) raise from the last read, before the last segment is yielded."""

    def __init__(self, plain: PayloadStream, cipher: SegmentCipher, part: int,
                 etag: Callable[[str], str]) -> None:
        super().__init__(plain, size=None if plain.size is None else stored_size(plain.size))
        self._plain = plain
        self._cipher = cipher
        self._part = part
        self._etag = etag

    @property
    def digest(self) -> PayloadDigest:
        digest = self._plain.digest
        return PayloadDigest(digest.size, self._etag(digest.md5_hex), dict(digest.checksums))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._started:
            raise RuntimeError("a PayloadStream can be iterated once")
        self._started = True
        pending: list[bytes | memoryview] = []
        held = 0
        index = 0
        async for chunk in self._plain:
            # A buffer its source may reuse once consumed (aws-chunked) is copied.
            pending.append(chunk if isinstance(chunk, bytes) else bytes(chunk))
            held += len(chunk)
            # A full segment is sealed only once a byte beyond it arrived: the last segment
            # must be marked final.
            if held > SEGMENT:
                data = memoryview(b"".join(pending))
                count = (len(data) - 1) // SEGMENT
                for number in range(count):
                    yield self._cipher.seal(self._part, index + number, False,
                                            data[number * SEGMENT:(number + 1) * SEGMENT])
                index += count
                pending, held = [data[count * SEGMENT:]], len(data) - count * SEGMENT
        data = memoryview(b"".join(pending))
        count = max(1, -(-len(data) // SEGMENT))
        for number in range(count):
            yield self._cipher.seal(self._part, index + number, number == count - 1,
                                    data[number * SEGMENT:(number + 1) * SEGMENT])


class SegmentRange(ByteRange):
    """The range the core opens an object with: the requested plaintext range (``wanted``;
    None: the whole object), turned into whole stored segments when the object turns out to
    be encrypted. The backend serves what :meth:`resolve` returns, past ``info.size`` too."""

    def __init__(self, wanted: ByteRange | None) -> None:
        self.wanted = wanted
        self.plan: StoredRange | None = None

    def resolve(self, info: ObjectInfo) -> tuple[int, int]:
        start, stop = (0, info.size) if self.wanted is None else self.wanted.resolve(info)
        encryption = info.attributes.encryption
        if encryption is None:
            return start, stop
        layout = runs(info.size, info.part_sizes, encryption.part_numbers)
        self.plan = stored_range(layout, start, stop)
        return self.plan.start, self.plan.stop


class _Cutter:
    """Cuts the stored blocks a backend yields (of any size) into pieces of the lengths asked
    for, copying only a piece that spans two blocks."""

    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self._source = source
        self._block: memoryview = memoryview(b"")

    async def take(self, length: int) -> bytes | memoryview:
        if len(self._block) >= length:
            piece, self._block = self._block[:length], self._block[length:]
            return piece
        parts = [self._block]
        held = len(self._block)
        while held < length:
            block = await anext(self._source, None)
            if block is None:
                raise errors.InternalError("A stored object is shorter than its segments")
            view = memoryview(block)
            need = length - held
            parts.append(view[:need])
            self._block = view[need:]
            held += min(need, len(view))
        return b"".join(parts)


class DecryptingStream(ObjectStream):
    """The plaintext ``[plan.plain_start, plan.plain_stop)`` of an opened encrypted object.
    A segment that fails authentication raises :class:`TamperedObject`; its bytes are never
    yielded.

    A task reads and opens segments ahead of what is sent (at most ``READ_AHEAD``), so
    reading the storage overlaps decrypting and sending. When the backend hands out a file
    (:meth:`ObjectStream.sendfile`), a worker thread reads each segment with one positional
    read into a buffer the stream reuses and opens it in the same trip: through the
    backend's own reads a segment cost a trip to a thread and then a second pass on the event
    loop (measured: 0.45 ms of server CPU per MB against 0.7-0.85). Otherwise segments are
    cut from the blocks the backend yields and opened on the event loop. (AES-GCM holds the
    GIL, so a thread gains nothing by decrypting; it saves the hand-off of a read.)"""

    def __init__(self, stored: ObjectStream, plan: StoredRange, cipher: SegmentCipher) -> None:
        self.info = stored.info
        self.start, self.stop = plan.plain_start, plan.plain_stop
        self._stored = stored
        self._plan = plan
        self._cipher = cipher
        self._primed: tuple[bytes | None, AsyncIterator[bytes]] | None = None
        self._producer: asyncio.Task[None] | None = None
        self._buffer: bytearray | None = None

    async def prime(self) -> None:
        """Open the first segment now, before the response is sent: a small object whose
        bytes were altered then fails with a clean error rather than a cut connection."""
        iterator = self._iterate()
        first = await anext(iterator, None)
        self._primed = (first, iterator)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        primed = self._primed
        if primed is None:
            async for block in self._iterate():
                yield block
            return
        first, iterator = primed
        if first is not None:
            yield first
        async for block in iterator:
            yield block

    async def _iterate(self) -> AsyncIterator[bytes]:
        if not self._plan.segments:
            return
        queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(READ_AHEAD)
        self._producer = asyncio.ensure_future(self._produce(queue))
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            await self._stop_producer()

    async def _produce(self, queue: asyncio.Queue[bytes | BaseException | None]
                       ) -> None:
        try:
            file = self._stored.sendfile()
            if file is not None:
                await self._produce_from_file(queue, file[0].fileno(), file[1])
            else:
                cutter = _Cutter(aiter(self._stored))
                for segment in self._plan.segments:
                    piece = await cutter.take(segment.stored_length)
                    await queue.put(self._open(segment, piece))
            await queue.put(None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # handed to the reader, which raises it
            await queue.put(exc)

    async def _produce_from_file(self, queue: asyncio.Queue[bytes | BaseException | None],
                                 fd: int, offset: int) -> None:
        """The segments read from ``fd``, whose stored bytes start at ``offset``."""
        loop = asyncio.get_running_loop()
        for segment in self._plan.segments:
            reading = loop.run_in_executor(None, self._read_and_open, fd, offset, segment)
            try:
                opened = await asyncio.shield(reading)
            except asyncio.CancelledError:
                # The thread reads the file and fills the stream's buffer: let it finish
                # before the stream closes the file.
                with contextlib.suppress(BaseException):
                    await reading
                raise
            await queue.put(opened)
            offset += segment.stored_length

    def _read_and_open(self, fd: int, offset: int, segment: Segment) -> bytes:
        # One buffer for all the stream's segments: each is opened before the next is read.
        length = segment.stored_length
        if self._buffer is None or len(self._buffer) < length:
            self._buffer = bytearray(length)
        view = memoryview(self._buffer)[:length]
        held = 0
        while held < length:
            read = os.preadv(fd, [view[held:]], offset + held)
            if not read:
                raise errors.InternalError("A stored object is shorter than its segments")
            held += read
        return self._open(segment, view)

    async def _stop_producer(self) -> None:
        task, self._producer = self._producer, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _open(self, segment: Segment, piece: bytes | memoryview) -> bytes:
        return self._trim(segment, self._cipher.open(segment.part, segment.index,
                                                     segment.final, piece))

    def _trim(self, segment: Segment, plaintext: bytes) -> bytes:
        low = max(0, self.start - segment.plain_start)
        high = min(len(plaintext), self.stop - segment.plain_start)
        return plaintext if (low, high) == (0, len(plaintext)) else plaintext[low:high]

    async def aclose(self) -> None:
        await self._stop_producer()
        await self._stored.aclose()


__all__ = ["DecryptingStream", "EncryptingPayload", "SegmentRange"]
