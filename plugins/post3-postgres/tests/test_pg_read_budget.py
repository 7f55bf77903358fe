"""The read-ahead budget: the bytes downloads hold fetched and not yet handed on stay within one
limit per process whatever the number of downloads, a download alone still reads two batches
ahead, and a stream that ends, fails or is abandoned gives its share back."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from post3_postgres.backend import PostgresBackend
from post3_postgres.reads import BATCH_SIZE, BATCHES_AHEAD

from post3 import errors
from post3.options import BackendError
from post3.testing import MiB, Range, pattern, put_bytes

pytestmark = pytest.mark.postgres


@pytest.fixture
async def tight_backend(empty_postgres_database: str) -> AsyncIterator[PostgresBackend]:
    """Room for two batches in all: fewer than the streams below would fetch without it."""
    backend = PostgresBackend(empty_postgres_database, max_pool_size=8,
                              read_ahead_mib=2 * BATCH_SIZE // MiB)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()


async def test_many_concurrent_downloads_stay_within_the_budget(tight_backend) -> None:
    backend = tight_backend
    budget = backend._read_budget
    await backend.create_bucket("b")
    data = pattern(3 * BATCH_SIZE + 5)
    await put_bytes(backend, "b", "k", data)
    ranges = [None, Range(MiB - 1, len(data)), Range(BATCH_SIZE + 1, 3 * BATCH_SIZE)] * 4
    streams = [await backend.open_object("b", "k", r) for r in ranges]
    most = 0

    async def read(stream) -> bytes:
        nonlocal most
        received = []
        try:
            async for block in stream:
                # What the streams hold is counted (the budget also counts a turn granted to a
                # stream that has not resumed yet), and never more than the limit.
                assert sum(s._taken for s in streams) <= budget.taken <= budget.limit
                most = max(most, budget.taken)
                received.append(block)
                await asyncio.sleep(0.001)  # a client slower than the database
        finally:
            await stream.aclose()
        return b"".join(received)

    bodies = await asyncio.gather(*(read(stream) for stream in streams))
    for body, stream in zip(bodies, streams, strict=True):
        assert body == data[stream.start:stream.stop]
    assert most == budget.limit  # the streams did contend for it
    assert budget.taken == 0 and not budget._waiters
    assert not backend._leases._held


async def test_downloads_waiting_their_turn_hold_no_block(tight_backend) -> None:
    """The memory the downloads hold stays near the budget however many wait their turn: the
    last block a stream handed on is not kept while it waits for its next batch (it was, in
    the stream's loop variable: 1 MiB per waiting download beyond the budget)."""
    backend = tight_backend
    await backend.create_bucket("b")
    data = pattern(2 * BATCH_SIZE)
    await put_bytes(backend, "b", "k", data)
    streams = [await backend.open_object("b", "k") for _ in range(24)]

    async def read(stream) -> int:
        received = 0
        try:
            async for block in stream:
                received += len(block)
                del block  # as the core's send_body lets go of a block it sent
                await asyncio.sleep(0.001)
        finally:
            await stream.aclose()
        return received

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sizes = await asyncio.gather(*(read(stream) for stream in streams))
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert sizes == [len(data)] * len(streams)
    # The budget, and room for batches being received and decoded (10.4 MB measured, with
    # the budget at 8 MiB); 33 MB when each waiting download held a block.
    assert peak < backend._read_budget.limit + 2 * BATCH_SIZE, peak


async def test_a_download_alone_reads_two_batches_ahead(postgres_backend) -> None:
    await postgres_backend.create_bucket("b")
    data = pattern(5 * BATCH_SIZE)
    await put_bytes(postgres_backend, "b", "k", data)
    stream = await postgres_backend.open_object("b", "k")
    blocks = aiter(stream)
    assert await anext(blocks) == data[:MiB]
    assert len(stream._ahead) == BATCHES_AHEAD
    assert postgres_backend._read_budget.taken == (1 + BATCHES_AHEAD) * BATCH_SIZE
    rest = [block async for block in blocks]
    assert b"".join([data[:MiB], *rest]) == data
    assert postgres_backend._read_budget.taken == 0


async def test_a_stream_waits_its_turn_and_abandoned_streams_give_theirs_back(
    tight_backend,
) -> None:
    backend = tight_backend
    budget = backend._read_budget
    await backend.create_bucket("b")
    data = pattern(2 * BATCH_SIZE + 3)
    await put_bytes(backend, "b", "k", data)

    first = await backend.open_object("b", "k")
    first_blocks = aiter(first)
    assert await anext(first_blocks) == data[:MiB]
    assert budget.taken == budget.limit  # its batch and one ahead fill the budget

    second = await backend.open_object("b", "k")
    second_blocks = aiter(second)
    waiting = asyncio.ensure_future(anext(second_blocks))
    third = await backend.open_object("b", "k")
    cancelled = asyncio.ensure_future(anext(aiter(third)))
    await asyncio.sleep(0.2)
    assert not waiting.done() and not cancelled.done()
    assert len(budget._waiters) == 2

    cancelled.cancel()  # a client gone while waiting: its place in the queue goes
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await third.aclose()
    assert len(budget._waiters) == 1

    await first.aclose()  # a client gone mid-download: its batches go back
    assert await asyncio.wait_for(waiting, 10) == data[:MiB]
    rest = [block async for block in second_blocks]
    assert b"".join([data[:MiB], *rest]) == data
    await second.aclose()
    assert budget.taken == 0 and not budget._waiters


async def test_a_failed_fetch_gives_its_batches_back(tight_backend) -> None:
    backend = tight_backend
    await backend.create_bucket("b")
    data = pattern(2 * BATCH_SIZE)
    await put_bytes(backend, "b", "k", data)
    stream = await backend.open_object("b", "k")
    # The version's blocks vanish under the stream (as after a clean-up nobody held off).
    await backend._db.pool.execute("DELETE FROM blocks WHERE version_id = $1",
                                   stream._version_id)
    with pytest.raises(errors.InternalError):
        async for _ in stream:
            pass
    # Given back by the failed iteration itself, before any aclose().
    assert backend._read_budget.taken == 0
    assert not backend._leases._held
    await stream.aclose()
    assert backend._read_budget.taken == 0


def test_the_budget_must_hold_a_batch(empty_postgres_database) -> None:
    with pytest.raises(BackendError, match="read_ahead_mib"):
        PostgresBackend(empty_postgres_database, read_ahead_mib=BATCH_SIZE // MiB - 1)
