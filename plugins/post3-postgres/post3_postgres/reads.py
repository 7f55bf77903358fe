"""Reading an object: block batches fetched with short queries, one batch read ahead.

The stream knows only the version id it opened. Versions are immutable, so a concurrent
overwrite or delete cannot tear it; a replaced version is kept ("retired") until the clean-up
removes it, and every batch fetched renews that lease. Each batch borrows a pooled connection
for one query only, so a slow client never pins a connection; memory per download is bounded
by two batches.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from post3 import errors
from post3.backend import ObjectInfo, ObjectStream
from post3_postgres.database import Database

BLOCK_SIZE = 1 << 20
#: Bytes per query: four blocks.
BATCH_SIZE = 4 * BLOCK_SIZE


class PostgresObjectStream(ObjectStream):
    def __init__(
        self, database: Database, version_id: int, info: ObjectInfo, start: int, stop: int
    ) -> None:
        self.info, self.start, self.stop = info, start, stop
        self._database = database
        self._version_id = version_id
        self._ahead: asyncio.Task[list[bytes]] | None = None

    async def _batch(self, start: int, stop: int) -> list[bytes]:
        rows = await self._database.fetch("read_blocks", self._version_id, start, stop)
        expected = start
        for row in rows:
            if row["position"] > expected:
                break
            expected = max(expected, row["position"]) + len(row["data"])
        if expected != stop:
            # The clean-up removed a version nobody renewed for its whole grace period.
            raise errors.InternalError("The object's data is no longer available.")
        return [row["data"] for row in rows]

    def _batch_end(self, start: int) -> int:
        # Batches end on multiples of BATCH_SIZE, so after a ranged start they stay aligned.
        return min((start // BATCH_SIZE + 1) * BATCH_SIZE, self.stop)

    def _fetch(self, start: int) -> asyncio.Task[list[bytes]]:
        return asyncio.ensure_future(self._batch(start, self._batch_end(start)))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        position = self.start
        if position >= self.stop:
            return
        ahead: asyncio.Task[list[bytes]] | None = self._fetch(position)
        self._ahead = ahead
        while ahead is not None and position < self.stop:
            blocks = await ahead
            position = self._batch_end(position)
            ahead = self._ahead = self._fetch(position) if position < self.stop else None
            for block in blocks:
                yield block

    async def aclose(self) -> None:
        if self._ahead is not None:
            self._ahead.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._ahead
            self._ahead = None
