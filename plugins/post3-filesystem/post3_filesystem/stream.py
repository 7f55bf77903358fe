"""FileObjectStream: an opened record, sent with sendfile or read in 1 MiB blocks."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from typing import BinaryIO

import aiofiles.threadpool

from post3 import errors
from post3.backend import ObjectInfo, ObjectStream

BLOCK_SIZE = 1 << 20


class FileObjectStream(ObjectStream):
    """Holds the open file, so the version it opened stays readable whatever happens to the
    name (``os.replace`` or unlink only drop the directory entry, not the inode)."""

    def __init__(
        self, info: ObjectInfo, file: io.FileIO, start: int, stop: int, executor: Executor
    ) -> None:
        self.info, self.start, self.stop = info, start, stop
        self._file = file
        self._executor = executor

    def sendfile(self) -> tuple[BinaryIO, int, int]:
        # The data sits at offset 0 of the record, so object offsets are file offsets.
        return self._file, self.start, self.length

    async def __aiter__(self) -> AsyncIterator[bytes]:
        reader = aiofiles.threadpool.wrap(self._file, executor=self._executor)
        await reader.seek(self.start)
        remaining = self.length
        while remaining:
            block = await reader.read(min(BLOCK_SIZE, remaining))
            if not block:
                raise errors.InternalError("A stored object is shorter than its header says")
            remaining -= len(block)
            yield block

    async def aclose(self) -> None:
        self._file.close()
