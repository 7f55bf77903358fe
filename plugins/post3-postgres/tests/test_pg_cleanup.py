"""The clean-up frees space in bounded batches, and an upload it judged abandoned cannot come
back to life; autovacuum is set for the churning table, and its absence is reported."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest
from post3_postgres import backend as backend_module
from post3_postgres.backend import PostgresBackend

from post3 import errors
from post3.payload import PayloadStream
from post3.testing import MiB, pattern, put_bytes, read_object
from post3.testing.helpers import attrs

pytestmark = pytest.mark.postgres


async def fetchval(dsn: str, statement: str) -> object:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(statement)
    finally:
        await connection.close()


@pytest.fixture
async def no_grace(empty_postgres_database):
    backend = PostgresBackend(empty_postgres_database, max_pool_size=4, retired_grace=0,
                              abandoned_after=0, cleanup_interval=3600)
    await backend.open()
    yield backend
    await backend.close()


async def test_a_large_version_is_freed_a_bounded_batch_at_a_time(
    no_grace, empty_postgres_database, monkeypatch
) -> None:
    await no_grace.create_bucket("big")
    await put_bytes(no_grace, "big", "k", pattern(7 * MiB))
    await put_bytes(no_grace, "big", "k", b"small")  # the 7 blocks are retired

    # One statement deletes at most its batch of blocks, and leaves the version row (and so
    # its metadata) until every block is gone.
    status = await no_grace._db.execute("remove_expired_blocks", 0.0, 2)
    assert status == "DELETE 2"
    assert await no_grace._db.execute("remove_expired_versions", 0.0, 10) == "DELETE 0"
    assert await fetchval(empty_postgres_database, "SELECT count(*) FROM blocks") == 5 + 1

    # A pass goes on, batch after batch, until nothing is left to free.
    monkeypatch.setattr(backend_module, "CLEANUP_BLOCKS", 2)
    assert await no_grace.remove_stale_versions() == 1
    assert await fetchval(empty_postgres_database, "SELECT count(*) FROM blocks") == 1
    assert await fetchval(empty_postgres_database, "SELECT count(*) FROM versions") == 1
    assert await read_object(no_grace, "big", "k") == b"small"


async def test_an_upload_judged_abandoned_cannot_finish(no_grace, empty_postgres_database):
    """Its blocks may already be partly freed: the writer, back after the clean-up retired
    its version, fails instead of committing an object with holes."""
    await no_grace.create_bucket("late")
    sent, resume = asyncio.Event(), asyncio.Event()

    async def body():
        yield pattern(MiB, seed=1)
        yield pattern(MiB, seed=2)
        sent.set()
        await resume.wait()
        yield pattern(MiB, seed=3)

    upload = asyncio.create_task(no_grace.put_object(
        "late", "k", PayloadStream.from_iterable(body()), attributes=attrs()))
    await sent.wait()
    for _ in range(50):  # the second block's insert is on its way
        if await fetchval(empty_postgres_database, "SELECT count(*) FROM blocks") == 2:
            break
        await asyncio.sleep(0.05)
    assert await no_grace.remove_stale_versions() == 1
    resume.set()
    with pytest.raises(errors.InternalError, match="abandoned"):
        await upload
    with pytest.raises(errors.NoSuchKey):
        await no_grace.head_object("late", "k")
    assert await fetchval(empty_postgres_database, "SELECT count(*) FROM versions") == 0


async def test_blocks_are_vacuumed_early_and_fast(postgres_backend, empty_postgres_database):
    options = await fetchval(empty_postgres_database, """
        SELECT array[array_to_string(c.reloptions, ','), array_to_string(t.reloptions, ',')]
        FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
        WHERE c.oid = 'blocks'::regclass""")
    assert options == [
        "autovacuum_vacuum_scale_factor=0.02,autovacuum_vacuum_cost_delay=0"] * 2


async def test_autovacuum_off_is_reported_at_start(empty_postgres_database, caplog) -> None:
    """Without autovacuum, the space the clean-up frees is never reused (until a manual
    VACUUM): the database grows with every byte written. The test runs on whatever server it
    has, and checks the warning matches that server's setting."""
    setting = await fetchval(empty_postgres_database, "SHOW autovacuum")
    backend = PostgresBackend(empty_postgres_database, max_pool_size=1)
    with caplog.at_level(logging.WARNING, logger="post3_postgres.backend"):
        await backend.open()
    await backend.close()
    warned = [r for r in caplog.records if "autovacuum is off" in r.getMessage()]
    assert len(warned) == (1 if setting == "off" else 0)
