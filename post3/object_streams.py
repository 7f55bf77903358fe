"""What :meth:`post3.backend.Backend.open_object` returns: an :class:`ObjectStream`, pinned to
the version it opened, and :class:`BytesObjectStream` for blocks a backend already holds.
:mod:`post3.backend` re-exports both: plugins import them from there.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from post3.objects import ObjectInfo


class ObjectStream(abc.ABC):
    """An opened object (or the part of it a range selected), ready to send.

    ``open_object`` has already raised NoSuchKey / InvalidRange before this exists, and the
    stream is pinned to the version it opened: a concurrent overwrite or delete does not tear it.
    The core always calls :meth:`aclose`.
    """

    info: ObjectInfo
    start: int
    stop: int

    @property
    def length(self) -> int:
        return self.stop - self.start

    def sendfile(self) -> tuple[BinaryIO, int, int] | None:
        """``(file, offset, count)`` when the bytes can go to the socket with sendfile. The
        core may also read the file itself, with positional reads only (``os.preadv``), so
        its offset never moves; an encrypted object is read that way."""
        return None

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[bytes]:
        """The bytes from ``start`` to ``stop``, in blocks of a bounded size."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release what the stream holds (file, connection)."""


class BytesObjectStream(ObjectStream):
    """An ObjectStream over blocks the backend already holds (memory backend, tests)."""

    def __init__(self, info: ObjectInfo, blocks: Sequence[bytes], start: int, stop: int,
                 block_size: int = 1 << 20) -> None:
        self.info, self.start, self.stop = info, start, stop
        self._blocks = blocks
        self._block_size = block_size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        position = 0
        for block in self._blocks:
            end = position + len(block)
            if end > self.start and position < self.stop:
                piece = block[max(0, self.start - position): self.stop - position]
                for i in range(0, len(piece), self._block_size):
                    yield piece[i: i + self._block_size]
            position = end
            if position >= self.stop:
                break
