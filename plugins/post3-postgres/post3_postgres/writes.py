"""Streaming a request body into blocks, outside any long transaction.

A body that fits in one block is held (at most 1 MiB) and written by the commit itself: one
transaction, few round trips, which is what small objects need. A larger body gets a fresh
version in state ``writing``; each block is inserted by its own short statement, so a slow
uploader borrows a pooled connection for one insert at a time instead of pinning one for the
whole upload (a single long transaction per PUT would be simpler, but N slow clients would
then hold N connections and exhaust the pool). While one block is being inserted the next one
is read from the client, so the network and the database work in parallel; memory stays at two
blocks whatever the object size.

The version is invisible until the commit points a key (or a multipart part) at it. If the
upload fails, the version is deleted at once; if the process dies, its heartbeat stops and the
clean-up (``PostgresBackend.remove_stale_versions``) deletes it after ``abandoned_after``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from post3 import errors
from post3.payload import PayloadStream
from post3_postgres.database import Database

BLOCK_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class StagedBody:
    """A fully read body: a ``writing`` version, or (``version_id`` None) one small block."""

    version_id: int | None = None
    small: bytes | None = None


async def stage_body(database: Database, bucket: str, body: PayloadStream) -> StagedBody:
    """Read ``body`` to the end (which verifies it); store it if it is larger than a block."""
    blocks = body.blocks(BLOCK_SIZE)
    async with contextlib.aclosing(blocks):
        first = await anext(blocks, None)
        second = await anext(blocks, None) if first is not None else None
        if second is None:
            return StagedBody(small=first)
        version_id = await database.fetchval("begin_version", bucket)
        if version_id is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        pending: asyncio.Future[None] | None = None
        try:
            position = 0
            held = [first, second]
            while (block := held.pop(0) if held else await anext(blocks, None)) is not None:
                if pending is not None:
                    await pending
                pending = asyncio.ensure_future(
                    _write_block(database, bucket, version_id, position, block)
                )
                position += len(block)
            await pending
        except BaseException:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            await discard(database, version_id)
            raise
        return StagedBody(version_id=version_id)


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
