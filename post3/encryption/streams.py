"""The two streams between the core and the backend: plaintext in, segments out on writes;
segments in, plaintext out on reads. Memory stays at a few segments whatever the size."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from post3 import errors
from post3.backend import ByteRange, ObjectInfo, ObjectStream
from post3.encryption.segments import (
    OVERHEAD,
    SEGMENT,
    Segment,
    SegmentCipher,
    StoredRange,
    runs,
    stored_range,
    stored_size,
)
from post3.payload import PayloadDigest, PayloadStream

#: Segments are sealed and opened in a worker thread when a batch is this large: AES-GCM
#: runs at a few GB/s and releases the GIL, so the loop receives the next bytes meanwhile.
THREAD_BATCH = 2


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
        pending: list[bytes] = []
        held = 0
        index = 0
        async for chunk in self._plain:
            pending.append(bytes(chunk))
            held += len(chunk)
            # A full segment is sealed only once a byte beyond it arrived: the last segment
            # must be marked final.
            if held > SEGMENT * THREAD_BATCH:
                data = b"".join(pending)
                count = (len(data) - 1) // SEGMENT
                pieces = [data[i * SEGMENT:(i + 1) * SEGMENT] for i in range(count)]
                sealed = await asyncio.to_thread(self._seal_all, index, pieces)
                index += count
                pending, held = [data[count * SEGMENT:]], len(data) - count * SEGMENT
                for segment in sealed:
                    yield segment
        data = b"".join(pending)
        count = max(1, -(-len(data) // SEGMENT))
        pieces = [data[i * SEGMENT:(i + 1) * SEGMENT] for i in range(count)]
        for number, piece in enumerate(pieces):
            yield self._cipher.seal(self._part, index + number, number == count - 1, piece)

    def _seal_all(self, index: int, pieces: list[bytes]) -> list[bytes]:
        return [self._cipher.seal(self._part, index + n, False, piece)
                for n, piece in enumerate(pieces)]


class SegmentRange(ByteRange):
    """The range the core opens an object with: the requested plaintext range (``wanted``;
    None: the whole object), turned into whole stored segments when the object turns out to
    be encrypted. The backend serves what :meth:`resolve` returns, past ``info.size`` too."""

    def __init__(self, wanted: ByteRange | None) -> None:
        self.wanted = wanted
        self.plan: StoredRange | None = None
        self.plain: tuple[int, int] = (0, 0)

    def resolve(self, info: ObjectInfo) -> tuple[int, int]:
        start, stop = (0, info.size) if self.wanted is None else self.wanted.resolve(info)
        self.plain = (start, stop)
        encryption = info.attributes.encryption
        if encryption is None:
            return start, stop
        layout = runs(info.size, info.part_sizes, encryption.part_numbers)
        self.plan = stored_range(layout, start, stop)
        return self.plan.start, self.plan.stop


class DecryptingStream(ObjectStream):
    """The plaintext ``[plan.plain_start, plan.plain_stop)`` of an opened encrypted object.
    A segment that fails authentication raises :class:`TamperedObject`; its bytes are never
    yielded."""

    def __init__(self, stored: ObjectStream, plan: StoredRange, cipher: SegmentCipher) -> None:
        self.info = stored.info
        self.start, self.stop = plan.plain_start, plan.plain_stop
        self._stored = stored
        self._plan = plan
        self._cipher = cipher
        self._primed: tuple[bytes | None, AsyncIterator[bytes]] | None = None

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
        segments = list(self._plan.segments)
        if not segments:
            return
        buffer = bytearray()
        position = 0
        source = aiter(self._stored)
        batch: list[tuple[int, bytes]] = []
        first = True
        while position < len(segments):
            needed = segments[position].stored_length
            while len(buffer) < needed:
                block = await anext(source, None)
                if block is None:
                    raise errors.InternalError("A stored object is shorter than its segments")
                buffer += block
            batch.append((position, bytes(buffer[:needed])))
            del buffer[:needed]
            position += 1
            if first or len(batch) >= THREAD_BATCH or position == len(segments):
                first = False
                if len(batch) > 1:
                    opened = await asyncio.to_thread(self._open_all, segments, batch)
                else:
                    opened = self._open_all(segments, batch)
                for number, plaintext in opened:
                    yield self._trim(segments[number], plaintext)
                batch = []

    def _open_all(self, segments: list[Segment], batch: list[tuple[int, bytes]]
                  ) -> list[tuple[int, bytes]]:
        return [(number, self._cipher.open(segments[number].part, segments[number].index,
                                           segments[number].final, data))
                for number, data in batch]

    def _trim(self, segment: Segment, plaintext: bytes) -> bytes:
        low = max(0, self.start - segment.plain_start)
        high = min(len(plaintext), self.stop - segment.plain_start)
        return plaintext if (low, high) == (0, len(plaintext)) else plaintext[low:high]

    async def aclose(self) -> None:
        await self._stored.aclose()


__all__ = ["OVERHEAD", "DecryptingStream", "EncryptingPayload", "SegmentRange"]
