"""Writers and readers racing on one key, across separate pools (as separate processes are)."""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import pytest
from post3_postgres.backend import PostgresBackend

from post3 import errors
from post3.backend import WriteCondition
from post3.testing import (
    MiB,
    failing_payload,
    multipart_object_info,
    pattern,
    payload,
    put_bytes,
    read_object,
)
from post3.testing.helpers import attrs

pytestmark = pytest.mark.postgres


async def version_states(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT state, count(*) AS n FROM versions GROUP BY state")
        blocks = await connection.fetchval("SELECT count(*) FROM blocks")
    finally:
        await connection.close()
    return {**{row["state"]: row["n"] for row in rows}, "blocks": blocks}


@pytest.fixture
async def two_processes(empty_postgres_database):
    """Two backends with pools of their own, standing for two post3 processes."""
    backends = [
        PostgresBackend(empty_postgres_database, max_pool_size=4, retired_grace=0,
                        abandoned_after=0)
        for _ in range(2)
    ]
    for backend in backends:
        await backend.open()
    yield backends
    for backend in backends:
        await backend.close()


async def test_many_writers_on_one_key_last_writer_wins_whole(
    two_processes, empty_postgres_database
) -> None:
    first, second = two_processes
    await first.create_bucket("race")
    # every body three blocks long, whichever write wins (the first was exactly two)
    bodies = [pattern(2 * MiB + 1000 * (i + 1), seed=i) for i in range(8)]

    async def write(i: int) -> None:
        backend = two_processes[i % 2]
        await backend.put_object(
            "race", "key", payload(bodies[i], chunk_size=256 * 1024, pause=True), attributes=attrs()
        )

    await asyncio.gather(*(write(i) for i in range(len(bodies))))

    head = await second.head_object("race", "key")
    data = await read_object(first, "race", "key")
    assert data in bodies
    assert head.etag == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert head.size == len(data)

    await first.remove_stale_versions()
    states = await version_states(empty_postgres_database)
    assert states == {"live": 1, "blocks": 3}


async def test_concurrent_create_if_absent_lets_exactly_one_win(two_processes) -> None:
    first, _ = two_processes
    await first.create_bucket("race")
    condition = WriteCondition(if_none_match=True)

    async def create(i: int) -> int | None:
        try:
            await two_processes[i % 2].put_object(
                "race", "once", payload(str(i).encode(), pause=True), attributes=attrs(),
                condition=condition,
            )
        except errors.PreconditionFailed:
            return None
        return i

    winners = [i for i in await asyncio.gather(*(create(i) for i in range(12))) if i is not None]
    assert len(winners) == 1
    assert await read_object(first, "race", "once") == str(winners[0]).encode()


async def test_reader_is_not_torn_by_overwrite_or_delete(
    postgres_backend, empty_postgres_database
) -> None:
    await postgres_backend.create_bucket("read")
    old = pattern(10 * MiB + 123, seed=1)
    await put_bytes(postgres_backend, "read", "k", old)

    stream = await postgres_backend.open_object("read", "k")
    received = []
    try:
        async for block in stream:
            received.append(block)
            if len(received) == 1:
                await put_bytes(postgres_backend, "read", "k", pattern(10 * MiB, seed=2))
            elif len(received) == 5:
                await postgres_backend.delete_object("read", "k")
                # The clean-up runs meanwhile; the reader's lease keeps its version.
                await postgres_backend.remove_stale_versions()
    finally:
        await stream.aclose()
    assert b"".join(received) == old
    with pytest.raises(errors.NoSuchKey):
        await postgres_backend.head_object("read", "k")


async def test_retired_versions_go_after_their_grace(two_processes, empty_postgres_database):
    backend, _ = two_processes
    await backend.create_bucket("gc")
    await put_bytes(backend, "gc", "k", pattern(3 * MiB))
    await put_bytes(backend, "gc", "k", b"small")
    await put_bytes(backend, "gc", "gone", pattern(2 * MiB))
    await backend.delete_object("gc", "gone")
    assert (await version_states(empty_postgres_database))["retired"] == 2

    assert await backend.remove_stale_versions() == 2
    assert await version_states(empty_postgres_database) == {"live": 1, "blocks": 1}


async def test_failed_upload_leaves_no_rows(postgres_backend, empty_postgres_database) -> None:
    await postgres_backend.create_bucket("fail")
    with pytest.raises(errors.BadDigest):
        await postgres_backend.put_object(
            "fail", "k", failing_payload(pattern(3 * MiB)), attributes=attrs()
        )
    with pytest.raises(errors.NoSuchKey):
        await postgres_backend.head_object("fail", "k")
    assert await version_states(empty_postgres_database) == {"blocks": 0}


async def test_cancelled_upload_leaves_no_rows(postgres_backend, empty_postgres_database):
    await postgres_backend.create_bucket("cancel")
    started = asyncio.Event()

    async def slow_body():
        yield b"x" * MiB
        yield b"y" * MiB
        started.set()
        await asyncio.sleep(3600)
        yield b"never"

    from post3.payload import PayloadStream

    task = asyncio.create_task(postgres_backend.put_object(
        "cancel", "k", PayloadStream.from_iterable(slow_body()), attributes=attrs()
    ))
    await started.wait()
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await version_states(empty_postgres_database) == {"blocks": 0}


@pytest.fixture
async def short_grace(empty_postgres_database):
    backend = PostgresBackend(empty_postgres_database, max_pool_size=4, retired_grace=2)
    await backend.open()
    yield backend
    await backend.close()


async def test_slow_reader_keeps_a_replaced_version_past_its_grace(short_grace) -> None:
    await short_grace.create_bucket("slow")
    old = pattern(11 * MiB, seed=3)
    await put_bytes(short_grace, "slow", "k", old)
    stream = await short_grace.open_object("slow", "k")
    received = []
    started = asyncio.get_running_loop().time()
    try:
        async for block in stream:
            received.append(block)
            if len(received) == 1:
                await short_grace.delete_object("slow", "k")
            await asyncio.sleep(0.25)
            await short_grace.remove_stale_versions()
    finally:
        await stream.aclose()
    assert asyncio.get_running_loop().time() - started > 2.5
    assert b"".join(received) == old


async def test_reader_paused_longer_than_the_grace_keeps_its_version(short_grace) -> None:
    """A client that stops reading for longer than the grace (a slow link, a full socket
    buffer) keeps the replaced version: its process renews the lease on a timer, not only
    when the next batch is fetched. (A process that stops renewing: test_pg_crash.py.)"""
    await short_grace.create_bucket("paused")
    old = pattern(9 * MiB, seed=4)
    await put_bytes(short_grace, "paused", "k", old)
    stream = await short_grace.open_object("paused", "k")
    try:
        iterator = aiter(stream)
        received = [await anext(iterator)]
        await short_grace.delete_object("paused", "k")
        await asyncio.sleep(3)
        assert await short_grace.remove_stale_versions() == 0
        received += [block async for block in iterator]
    finally:
        await stream.aclose()
    assert b"".join(received) == old
    # Once the reader is done, the version goes after the grace.
    await asyncio.sleep(2.5)
    assert await short_grace.remove_stale_versions() == 1


async def test_small_writers_racing_leave_no_orphaned_live_version(
    two_processes, empty_postgres_database
) -> None:
    """Bodies under one block take the one-statement commit; racing it on one key (and on new
    keys) must still end with one whole object per key and every live version owned."""
    first, _ = two_processes
    await first.create_bucket("small")
    bodies = [pattern(1000 + i, seed=i) for i in range(24)]

    async def write(i: int) -> None:
        key = "shared" if i % 2 else f"own-{i % 6}"
        await two_processes[i % 2].put_object("small", key, payload(bodies[i]), attributes=attrs())

    await asyncio.gather(*(write(i) for i in range(len(bodies))))

    for key in ["shared", *(f"own-{n}" for n in range(0, 6, 2))]:
        data = await read_object(first, "small", key)
        assert data in bodies, key
        assert (await first.head_object("small", key)).etag == hashlib.md5(data).hexdigest()
    connection = await asyncpg.connect(empty_postgres_database)
    try:
        orphans = await connection.fetchval(
            "SELECT count(*) FROM versions v WHERE v.state = 'live'"
            " AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.version_id = v.id)"
            " AND NOT EXISTS (SELECT 1 FROM multipart_parts p WHERE p.version_id = v.id)"
        )
    finally:
        await connection.close()
    assert orphans == 0
    assert (await version_states(empty_postgres_database)).get("live") == 4


#: Seconds of racing: long enough to hit the narrow window between a commit and a delete's
#: snapshot many times over (it leaked about five versions a second before it was closed).
RACE_SECONDS = 20


async def orphaned_versions(dsn: str) -> int:
    """Live versions that no object and no multipart part points at: leaked for good."""
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM versions v WHERE v.state = 'live'"
            " AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.version_id = v.id)"
            " AND NOT EXISTS (SELECT 1 FROM multipart_parts p WHERE p.version_id = v.id)"
        )
    finally:
        await connection.close()


async def test_puts_racing_deletes_of_one_key_leak_no_version(
    two_processes, empty_postgres_database
) -> None:
    """PutObject (one-statement commits, and conditional ones in a transaction) and
    CompleteMultipartUpload racing DeleteObject of the same key, from two pools: every version
    replaced or deleted is retired, none stays live with nothing pointing at it."""
    first, _ = two_processes
    await first.create_bucket("race")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RACE_SECONDS
    counts = {"put": 0, "delete": 0, "complete": 0}

    async def put(worker: int) -> None:
        n = 0
        while loop.time() < deadline:
            n += 1
            condition = WriteCondition(if_match="*") if n % 5 == 0 else None
            try:
                await two_processes[worker % 2].put_object(
                    "race", "key", payload(pattern(100 + n % 900, seed=worker)),
                    attributes=attrs(), condition=condition,
                )
            except errors.NoSuchKey:
                pass  # If-Match: * on a key a delete just removed
            counts["put"] += 1

    async def delete(worker: int) -> None:
        while loop.time() < deadline:
            await two_processes[worker % 2].delete_object("race", "key")
            counts["delete"] += 1

    async def complete_upload(worker: int) -> None:
        backend = two_processes[worker % 2]
        while loop.time() < deadline:
            upload = await backend.create_multipart_upload("race", "key", attributes=attrs(),
                                                           tags={})
            part = await backend.upload_part("race", "key", upload.upload_id, 1, payload(b"p"))
            await backend.complete_multipart_upload(
                "race", "key", upload.upload_id, [part], multipart_object_info(upload, [part]))
            counts["complete"] += 1

    await asyncio.gather(*(put(i) for i in range(4)), *(delete(i) for i in range(4)),
                         complete_upload(0))

    assert counts["put"] > 500 and counts["delete"] > 500 and counts["complete"] > 50, counts
    assert await orphaned_versions(empty_postgres_database) == 0
    live = (await version_states(empty_postgres_database)).get("live", 0)
    assert live == len(await first.list_objects_page("race"))
