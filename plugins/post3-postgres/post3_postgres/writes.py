"""Streaming a request body into blocks, outside any long transaction.

A body that fits in one block is held (at most 1 MiB) and written by the commit itself: one
transaction, few round trips, which is what small objects need. A larger body gets a fresh
version in state ``writing``; each block is inserted by its own short statement, so a slow
uploader borrows a pooled connection for one insert at a time instead of pinning one for the
whole upload (a single long transaction per PUT would be simpler, but N slow clients would
then hold N connections and exhaust the pool). While one block is being inserted the next one
is read from the client, so the network and the database work in parallel; memory stays at two
blocks whatever the object size. A block insert does not wait for the WAL flush (see
``write_block`` in queries.sql): the object's commit waits for it, for every block at once.

The version is invisible until the commit points a key (or a multipart part) at it. If the
upload fails, the version is deleted at once; if the process dies, its heartbeat stops and the
clean-up (``PostgresBackend.remove_stale_versions``) deletes it after ``abandoned_after``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from post3 import errors
from post3.payload import PayloadStream
from post3_postgres.database import Database

BLOCK_SIZE = 1 << 20
#: Block inserts running at once, each on its own pooled connection. One is enough to keep
#: PostgreSQL busy while the next block is read and hashed; two measured slower on two cores.
WRITES_IN_FLIGHT = 1


@dataclass(frozen=True, slots=True)
class StagedBody:
    """A fully read body: a ``writing`` version, or (``version_id`` None) one small block."""

    version_id: int | None = None
    small: bytes | None = None


async def stage_body(database: Database, bucket: str, body: PayloadStream) -> StagedBody:
    """Read ``body`` to the end (which verifies it); store it if it is larger than a block."""
    blocks = _blocks(body)
    async with contextlib.aclosing(blocks):
        first = await anext(blocks, None)
        second = await anext(blocks, None) if first is not None else None
        if second is None:
            return StagedBody(small=first)
        version_id = await database.fetchval("begin_version", bucket)
        if version_id is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        pending: collections.deque[asyncio.Future[None]] = collections.deque()
        try:
            position = 0
            held = [first, second]
            while (block := held.pop(0) if held else await anext(blocks, None)) is not None:
                if len(pending) == WRITES_IN_FLIGHT:
                    await pending.popleft()
                pending.append(asyncio.ensure_future(
                    _write_block(database, bucket, version_id, position, block)
                ))
                position += len(block)
                # Let the insert reach the socket before the next block is read and hashed:
                # when the body is already buffered, reading it never yields to the loop, and
                # the insert would only start once that block was complete.
                await asyncio.sleep(0)
            while pending:
                await pending.popleft()
        except BaseException:
            for write in pending:
                write.cancel()
            for write in pending:
                with contextlib.suppress(BaseException):
                    await write
            await discard(database, version_id)
            raise
        return StagedBody(version_id=version_id)


async def _blocks(body: PayloadStream) -> AsyncGenerator[bytes, None]:
    """The body cut into blocks of exactly ``BLOCK_SIZE`` bytes (the last may be shorter).

    Each block is assembled with one copy (``bytes.join`` over views of the pieces), and a
    piece that is a whole block already is passed on without any.
    """
    pieces: list[bytes | memoryview] = []
    held = 0
    async for chunk in body:
        data = chunk if isinstance(chunk, bytes) else bytes(chunk)
        start, end = 0, len(data)
        while held + end - start >= BLOCK_SIZE:
            stop = start + BLOCK_SIZE - held
            if not pieces and start == 0 and stop == end:
                yield data  # the piece is exactly one block: no copy at all
            else:
                pieces.append(memoryview(data)[start:stop])
                yield b"".join(pieces)
                pieces.clear()
            start, held = stop, 0
        if start < end:
            pieces.append(memoryview(data)[start:] if start else data)
            held += end - start
    if held:
        yield b"".join(pieces)


async def _write_block(
    database: Database, bucket: str, version_id: int, position: int, data: bytes
) -> None:
    if await database.fetchval("write_block", version_id, position, data) is None:
        if await database.fetchrow("get_bucket", bucket) is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        raise errors.InternalError("The upload was abandoned by the storage clean-up.")


async def discard(database: Database, version_id: int | None) -> None:
    """Best effort: the clean-up removes what this cannot (database gone, task cancelled)."""
    if version_id is None:
        return
    with contextlib.suppress(Exception):
        await database.execute("discard_version", version_id)
