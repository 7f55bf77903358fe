"""How bytes sit in blocks: ranges read only what they need; multipart completion copies none;
block inserts skip the WAL flush the object's commit waits for; reads fetch ahead; a small
object is read with its row."""

from __future__ import annotations

import json

import asyncpg
import pytest
from post3_postgres.backend import PostgresBackend
from post3_postgres.objects import INLINE_READ
from post3_postgres.queries import load_queries
from post3_postgres.reads import BATCH_SIZE

from post3.testing import (
    MiB,
    Range,
    multipart_object_info,
    pattern,
    payload,
    put_bytes,
    read_object,
    read_stream,
)
from post3.testing.helpers import attrs

pytestmark = pytest.mark.postgres


@pytest.fixture
async def sql(empty_postgres_database):
    connection = await asyncpg.connect(empty_postgres_database)
    yield connection
    await connection.close()


async def test_blocks_are_one_mebibyte_stored_uncompressed(postgres_backend, sql) -> None:
    await postgres_backend.create_bucket("b")
    data = b"\0" * (2 * MiB + 5)  # would compress to almost nothing
    await put_bytes(postgres_backend, "b", "zeros", data)
    rows = await sql.fetch(
        "SELECT position, length(data) AS n, pg_column_size(data) AS stored FROM blocks "
        "ORDER BY position"
    )
    assert [(r["position"], r["n"]) for r in rows] == [(0, MiB), (MiB, MiB), (2 * MiB, 5)]
    assert rows[0]["stored"] >= MiB
    storage = await sql.fetchval(
        "SELECT attstorage FROM pg_attribute WHERE attrelid = 'blocks'::regclass "
        "AND attname = 'data'"
    )
    assert storage == b"e"  # EXTERNAL: out of line, never compressed


async def test_a_range_fetches_only_the_overlapping_slices(postgres_backend, sql) -> None:
    await postgres_backend.create_bucket("b")
    data = pattern(5 * MiB + 17)
    await put_bytes(postgres_backend, "b", "k", data)
    version_id = await sql.fetchval("SELECT version_id FROM objects")

    start, stop = 2 * MiB - 10, 3 * MiB + 20
    rows = await sql.fetch(load_queries()["read_blocks"], version_id, start, stop)
    assert [(r["position"], len(r["data"])) for r in rows] == [
        (MiB, 10), (2 * MiB, MiB), (3 * MiB, 20)
    ]
    assert b"".join(r["data"] for r in rows) == data[start:stop]

    inside = await sql.fetch(load_queries()["read_blocks"], version_id, MiB + 5, MiB + 9)
    assert [(r["position"], r["data"]) for r in inside] == [(MiB, data[MiB + 5: MiB + 9])]


async def test_ranges_across_uneven_multipart_blocks(postgres_backend, sql) -> None:
    await postgres_backend.create_bucket("b")
    sizes = [5 * MiB + 3, 2 * MiB + 7, 10]
    bodies = [pattern(size, seed=i) for i, size in enumerate(sizes)]
    whole = b"".join(bodies)
    upload = await postgres_backend.create_multipart_upload("b", "mp", attributes=attrs(), tags={})
    parts = [
        await postgres_backend.upload_part("b", "mp", upload.upload_id, i + 1, payload(body))
        for i, body in enumerate(bodies)
    ]
    toast_before = await sql.fetchval(
        "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'blocks'"
    )
    info = multipart_object_info(upload, parts)
    await postgres_backend.complete_multipart_upload("b", "mp", upload.upload_id, parts, info)

    # The parts' bytes were adopted, not copied: the out-of-line storage did not grow.
    toast_after = await sql.fetchval(
        "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'blocks'"
    )
    assert toast_after == toast_before
    assert await sql.fetchval("SELECT count(*) FROM versions") == 1

    head = await postgres_backend.head_object("b", "mp")
    assert head.part_sizes == tuple(sizes)
    assert await read_object(postgres_backend, "b", "mp") == whole
    boundary = sizes[0]
    for start, stop in [
        (boundary - 1, boundary + 1),
        (MiB - 1, 6 * MiB),
        (len(whole) - 12, None),
        (0, 1),
        (5 * MiB, 5 * MiB + 4),
    ]:
        expected = whole[start:stop]
        assert await read_object(postgres_backend, "b", "mp", Range(start, stop)) == expected
    assert await read_object(postgres_backend, "b", "mp", Range(suffix=9)) == whole[-9:]


async def test_a_block_insert_skips_the_flush_wait_in_its_own_transaction_only(
    postgres_backend, sql
) -> None:
    """``write_block`` turns synchronous_commit off for its own transaction: the object's
    commit, which makes the blocks visible, still waits for the WAL flush as the server is
    configured (and with it for every block written before), and the connection goes back to
    the pool with the server's setting."""
    await postgres_backend.create_bucket("b")
    queries = load_queries()
    configured = await sql.fetchval("SHOW synchronous_commit")
    version_id = await sql.fetchval(queries["begin_version"], "b")
    async with sql.transaction():
        assert await sql.fetchval(queries["write_block"], version_id, 0, b"x") == 0
        assert await sql.fetchval("SHOW synchronous_commit") == "off"
    assert await sql.fetchval("SHOW synchronous_commit") == configured
    assert await sql.fetchval(queries["write_block"], version_id, 1, b"y") == 1
    assert await sql.fetchval("SHOW synchronous_commit") == configured


async def test_reads_fetch_batches_ahead_and_a_closed_stream_drops_them(postgres_backend) -> None:
    await postgres_backend.create_bucket("b")
    data = pattern(3 * BATCH_SIZE + MiB + 3)  # four batches, the last one short
    await put_bytes(postgres_backend, "b", "k", data)
    assert await read_object(postgres_backend, "b", "k") == data
    for start, stop in [(BATCH_SIZE - 5, 3 * BATCH_SIZE + 7), (MiB + 1, len(data))]:
        assert await read_object(postgres_backend, "b", "k", Range(start, stop)) == data[start:stop]

    # A client gone after the first block: what was fetched ahead is dropped, the lease freed.
    stream = await postgres_backend.open_object("b", "k")
    blocks = aiter(stream)
    assert await anext(blocks) == data[:MiB]
    assert postgres_backend._leases._held
    await stream.aclose()
    assert not postgres_backend._leases._held
    assert not stream._ahead


@pytest.fixture
async def one_connection(empty_postgres_database):
    """A backend on a single pooled connection, and the statements it runs (from now on).
    The clean-up and the lease renewal are far off, so only the requests' statements show."""
    backend = PostgresBackend(empty_postgres_database, min_pool_size=1, max_pool_size=1,
                              retired_grace=3600, cleanup_interval=3600)
    await backend.open()
    statements: list[str] = []
    async with backend._db.pool.acquire() as connection:
        connection.add_query_logger(lambda record: statements.append(record.query))
    try:
        yield backend, statements
    finally:
        await backend.close()


async def test_a_small_object_is_read_with_its_row_in_one_statement(one_connection) -> None:
    backend, statements = one_connection
    await backend.create_bucket("b")
    data = pattern(INLINE_READ)
    await put_bytes(backend, "b", "k", data)
    statements.clear()
    assert await read_stream(await backend.open_object("b", "k")) == data
    assert statements == [load_queries()["head_object"]]
    assert not backend._leases._held  # its bytes are in hand: nothing to keep alive

    for byte_range, expected in [(Range(1, 10), data[1:10]), (Range(suffix=7), data[-7:]),
                                 (Range(5, None), data[5:])]:
        statements.clear()
        assert await read_object(backend, "b", "k", byte_range) == expected
        assert len(statements) == 1
    version = (await backend.head_object("b", "k")).version_id
    statements.clear()
    assert await read_object(backend, "b", "k") == data
    assert await read_stream(await backend.open_object("b", "k", version_id=version)) == data
    assert statements == [load_queries()["head_object"], load_queries()["head_object_version"]]


async def test_larger_or_many_block_objects_are_still_streamed(one_connection) -> None:
    backend, statements = one_connection
    await backend.create_bucket("b")
    data = pattern(INLINE_READ + 1)
    await put_bytes(backend, "b", "big", data)
    statements.clear()
    assert await read_object(backend, "b", "big") == data
    assert statements == [load_queries()["head_object"], load_queries()["read_blocks"]]

    # A small multipart object has a block per part: not one block, so it is streamed.
    bodies = [b"first part", b"second"]
    upload = await backend.create_multipart_upload("b", "mp", attributes=attrs(), tags={})
    parts = [await backend.upload_part("b", "mp", upload.upload_id, i + 1, payload(body))
             for i, body in enumerate(bodies)]
    await backend.complete_multipart_upload(
        "b", "mp", upload.upload_id, parts, multipart_object_info(upload, parts))
    statements.clear()
    assert await read_object(backend, "b", "mp") == b"".join(bodies)
    assert await read_object(backend, "b", "mp", Range(8, 12)) == b"rtse"
    assert len(statements) == 4

    # An empty object has no block and needs no second statement either.
    await put_bytes(backend, "b", "empty", b"")
    statements.clear()
    assert await read_object(backend, "b", "empty") == b""
    assert len(statements) == 1


async def test_a_head_looks_at_no_block(postgres_backend, sql) -> None:
    """HeadObject passes a negative size to inline: the block subquery never runs."""
    await postgres_backend.create_bucket("b")
    await put_bytes(postgres_backend, "b", "k", b"small")

    async def block_scans(inline: int) -> int:
        plan = json.loads(await sql.fetchval(
            "EXPLAIN (ANALYZE, FORMAT JSON)\n" + load_queries()["head_object"], "b", "k", inline))
        nodes, loops = [plan[0]["Plan"]], 0
        while nodes:
            node = nodes.pop()
            nodes += node.get("Plans", [])
            if node.get("Relation Name") == "blocks":
                loops += node["Actual Loops"]
        return loops

    assert await block_scans(-1) == 0
    assert await block_scans(INLINE_READ) == 1
