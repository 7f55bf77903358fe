"""Versioning across processes and under failures: writers of one key from separate pools (as
separate processes are), readers of a version deleted by id, commits that die half-way."""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import pytest
from post3_postgres.backend import PostgresBackend

from post3 import errors
from post3.backend import ENABLED, NULL_VERSION, SUSPENDED, ListEntry, WriteCondition
from post3.testing import MiB, failing_payload, pattern, payload, read_stream
from post3.testing.helpers import attrs
from post3.versioning import new_version

pytestmark = pytest.mark.postgres


@pytest.fixture
async def two_processes(empty_postgres_database):
    """Two backends with pools of their own, standing for two post3 processes; a clean-up
    that collects every retired version at once."""
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


async def all_versions(backend: PostgresBackend, bucket: str) -> list[ListEntry]:
    return await backend.list_object_versions_page(bucket, limit=10_000)


async def read(backend: PostgresBackend, bucket: str, key: str,
               version_id: str | None = None) -> bytes:
    return await read_stream(await backend.open_object(bucket, key, version_id=version_id))


async def sql(dsn: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


async def unowned_live_versions(dsn: str) -> int:
    """Live versions that no version of a key and no multipart part points at: leaked."""
    [row] = await sql(
        dsn,
        "SELECT count(*) AS n FROM versions v WHERE v.state = 'live'"
        " AND NOT EXISTS (SELECT 1 FROM object_versions h WHERE h.version_id = v.id)"
        " AND NOT EXISTS (SELECT 1 FROM multipart_parts p WHERE p.version_id = v.id)")
    return int(row["n"])


async def test_concurrent_versioned_writes_of_one_key_are_each_kept_once(
    two_processes, empty_postgres_database
) -> None:
    first, second = two_processes
    await first.create_bucket("race")
    await first.put_bucket_versioning("race", ENABLED)
    # small bodies and staged ones, through every write path that adds a version
    bodies = [pattern(500 + i if i % 3 else MiB + 10 * i, seed=i) for i in range(24)]

    async def write(i: int) -> str:
        backend = two_processes[i % 2]
        if i % 4 == 3:
            marker = await backend.delete_object("race", "key", marker=new_version())
            assert marker is not None
            return marker.version_id
        info = await backend.put_object("race", "key", payload(bodies[i], pause=True),
                                        attributes=attrs(), version=new_version())
        return info.version_id

    ids = await asyncio.gather(*(write(i) for i in range(len(bodies))))
    assert len(set(ids)) == len(ids) and NULL_VERSION not in ids

    versions = await all_versions(second, "race")
    assert sorted(v.version_id for v in versions) == sorted(ids)
    assert [v.is_latest for v in versions] == [True] + [False] * (len(ids) - 1)
    assert [v.sequence for v in versions] == sorted(v.sequence for v in versions)
    latest = versions[0]
    listed = await first.list_objects_page("race")
    if latest.delete_marker:
        assert listed == []
    else:
        assert [(e.key, e.version_id) for e in listed] == [("key", latest.version_id)]
        data = await read(first, "race", "key")
        assert hashlib.md5(data).hexdigest() == latest.etag
    for i, version_id in enumerate(ids):
        if i % 4 != 3:
            assert await read(second, "race", "key", version_id) == bodies[i]

    # nothing was retired: the clean-up (grace 0) leaves every version readable
    await first.remove_stale_versions()
    assert await unowned_live_versions(empty_postgres_database) == 0
    [row] = await sql(empty_postgres_database, "SELECT count(*) AS n FROM versions")
    assert row["n"] == sum(1 for i in range(len(ids)) if i % 4 != 3)


async def test_concurrent_unversioned_and_suspended_writes_keep_one_null_version(
    two_processes, empty_postgres_database
) -> None:
    """Writers of one key while the status moves from unset to Enabled to Suspended: the
    one-statement commit, the locked one and the status change race, and the key ends with
    one null version at most, every version owned, and the listing row on the latest."""
    first, second = two_processes
    await first.create_bucket("race")

    async def write(i: int) -> None:
        backend = two_processes[i % 2]
        condition = WriteCondition(if_none_match=True) if i % 5 == 4 else None
        try:
            await backend.put_object("race", "key", payload(pattern(300 + i, seed=i)),
                                     attributes=attrs(), condition=condition,
                                     version=new_version())
        except errors.PreconditionFailed:
            pass

    async def switch() -> None:
        await asyncio.sleep(0.05)
        await second.put_bucket_versioning("race", ENABLED)
        await asyncio.sleep(0.05)
        await second.put_bucket_versioning("race", SUSPENDED)

    await asyncio.gather(*(write(i) for i in range(60)), switch())
    await asyncio.gather(*(write(i) for i in range(60, 80)))

    versions = await all_versions(first, "race")
    assert [v.version_id for v in versions].count(NULL_VERSION) == 1
    assert versions[0].version_id == NULL_VERSION  # the last writes were Suspended
    assert [v.is_latest for v in versions] == [True] + [False] * (len(versions) - 1)
    [entry] = await first.list_objects_page("race")
    assert (entry.version_id, entry.etag) == (NULL_VERSION, versions[0].etag)
    await first.remove_stale_versions()
    assert await unowned_live_versions(empty_postgres_database) == 0
    [row] = await sql(empty_postgres_database, "SELECT count(*) AS n FROM versions")
    assert row["n"] == len(versions)


async def test_concurrent_creates_behind_a_delete_marker_let_exactly_one_win(
    two_processes,
) -> None:
    first, second = two_processes
    await first.create_bucket("race")
    await first.put_bucket_versioning("race", ENABLED)
    await first.put_object("race", "key", payload(b"old"), attributes=attrs(),
                           version=new_version())
    await first.delete_object("race", "key", marker=new_version())

    async def create(i: int) -> str | None:
        try:
            info = await two_processes[i % 2].put_object(
                "race", "key", payload(pattern(100 + i, seed=i)), attributes=attrs(),
                condition=WriteCondition(if_none_match=True), version=new_version())
        except errors.PreconditionFailed:
            return None
        return info.version_id

    results = await asyncio.gather(*(create(i) for i in range(16)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    versions = await all_versions(second, "race")
    assert [(v.version_id, v.is_latest) for v in versions][0] == (winners[0], True)
    assert [v.delete_marker for v in versions] == [False, True, False]


async def test_a_reader_of_a_version_deleted_by_id_finishes(empty_postgres_database) -> None:
    """The reader and the deleter are separate processes; the clean-up runs in between. The
    deleted version is retired (not removed) while the reader renews it, and the clean-up
    never touches the noncurrent versions beside it."""
    reader = PostgresBackend(empty_postgres_database, max_pool_size=2, retired_grace=30)
    deleter = PostgresBackend(empty_postgres_database, max_pool_size=2, retired_grace=30)
    await reader.open()
    await deleter.open()
    try:
        await reader.create_bucket("pinned")
        await reader.put_bucket_versioning("pinned", ENABLED)
        data = pattern(9 * MiB + 5)
        infos = [await deleter.put_object("pinned", "k", payload(body), attributes=attrs(),
                                          version=new_version())
                 for body in (b"oldest", data, b"newest")]
        stream = await reader.open_object("pinned", "k", version_id=infos[1].version_id)
        iterator = aiter(stream)
        received = [await anext(iterator)]
        removed = await deleter.delete_object_version("pinned", "k", infos[1].version_id)
        assert removed is not None and removed.etag == infos[1].etag
        await deleter.remove_stale_versions()
        received += [block async for block in iterator]
        await stream.aclose()
        assert b"".join(received) == data
        with pytest.raises(errors.NoSuchVersion):
            await reader.head_object("pinned", "k", infos[1].version_id)
        assert await read(reader, "pinned", "k", infos[0].version_id) == b"oldest"
        assert [v.version_id for v in await all_versions(reader, "pinned")] == [
            infos[2].version_id, infos[0].version_id]
        states = await sql(empty_postgres_database,
                           "SELECT state, count(*) AS n FROM versions GROUP BY state")
        assert {row["state"]: row["n"] for row in states} == {"live": 2, "retired": 1}
    finally:
        await reader.close()
        await deleter.close()


async def history(dsn: str) -> list[tuple[object, ...]]:
    """Everything a commit may change: the versions of every key, the listing rows, and the
    states of the versions' rows."""
    rows = await sql(dsn, "SELECT key, sequence, s3_version_id, delete_marker, version_id"
                          " FROM object_versions ORDER BY key, sequence")
    listed = await sql(dsn, "SELECT key, version_id, s3_version_id FROM objects ORDER BY key")
    states = await sql(dsn, "SELECT id, state FROM versions WHERE state <> 'writing'"
                            " ORDER BY id")
    return [tuple(r) for r in rows] + [tuple(r) for r in listed] + [tuple(r) for r in states]


async def kill_waiting_connections(dsn: str) -> None:
    """pg_terminate_backend on the sessions waiting for a lock: a process dying mid-commit."""
    for _ in range(200):
        rows = await sql(dsn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                              " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                              " AND pid <> pg_backend_pid()")
        if rows:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no session waited for the lock")


@pytest.fixture
async def versioned_key(postgres_backend, empty_postgres_database):
    """A versioned key with two versions, and a connection that can hold its rows' locks."""
    await postgres_backend.create_bucket("faults")
    await postgres_backend.put_bucket_versioning("faults", ENABLED)
    old = await postgres_backend.put_object("faults", "k", payload(b"old"), attributes=attrs(),
                                            version=new_version())
    new = await postgres_backend.put_object("faults", "k", payload(pattern(2 * MiB + 3)),
                                            attributes=attrs(), version=new_version())
    holder = await asyncpg.connect(empty_postgres_database)
    yield postgres_backend, old, new, holder
    await holder.close()


async def test_a_versioned_overwrite_that_fails_leaves_the_previous_state(
    versioned_key, empty_postgres_database
) -> None:
    backend, old, new, holder = versioned_key
    before = await history(empty_postgres_database)
    # A body that fails its final check: nothing is committed.
    with pytest.raises(errors.BadDigest):
        await backend.put_object("faults", "k", failing_payload(pattern(3 * MiB)),
                                 attributes=attrs(), version=new_version())
    # A commit whose connection dies after it made its version live and took the key's
    # lock: it waits for the key's row, held here, when its process is killed.
    async with holder.transaction():
        await holder.execute("SELECT 1 FROM objects WHERE key = 'k' FOR UPDATE")
        write = asyncio.ensure_future(backend.put_object(
            "faults", "k", payload(pattern(MiB + 9)), attributes=attrs(),
            version=new_version()))
        await kill_waiting_connections(empty_postgres_database)
        with pytest.raises(errors.ServiceUnavailable):
            await write
    assert await history(empty_postgres_database) == before
    assert await read(backend, "faults", "k") == pattern(2 * MiB + 3)
    assert await read(backend, "faults", "k", old.version_id) == b"old"
    await backend.remove_stale_versions()
    assert await unowned_live_versions(empty_postgres_database) == 0


async def test_a_delete_by_id_that_fails_leaves_the_previous_state(
    versioned_key, empty_postgres_database
) -> None:
    backend, old, new, holder = versioned_key
    before = await history(empty_postgres_database)
    # The delete has locked the key and read the version; it waits to remove the version's
    # row, held here, when its process is killed.
    async with holder.transaction():
        await holder.execute(
            "SELECT 1 FROM object_versions WHERE s3_version_id = $1 FOR UPDATE", new.version_id)
        delete = asyncio.ensure_future(
            backend.delete_object_version("faults", "k", new.version_id))
        await kill_waiting_connections(empty_postgres_database)
        with pytest.raises(errors.ServiceUnavailable):
            await delete
    assert await history(empty_postgres_database) == before
    assert (await backend.head_object("faults", "k")).version_id == new.version_id
    [entry] = await backend.list_objects_page("faults")
    assert entry.version_id == new.version_id
    # and once it can, it does
    assert (await backend.delete_object_version("faults", "k", new.version_id)) is not None
    assert await read(backend, "faults", "k") == b"old"
