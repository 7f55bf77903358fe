"""``null_server.py --postgres DSN``: the least a PostgreSQL-backed S3 server does per object.

The ceiling of the PostgreSQL backend's PUT, GET, HEAD and DELETE cells (``null-postgres`` in
the matrix), as ``null-disk`` is the filesystem's. One table holds every object as 1 MiB rows
``(bucket, key, n, size, data)``, the total size on row 0. A PUT of a body within one row is a
single statement, committed on its own (one round trip, one WAL flush, as durable as
PostgreSQL's default ``synchronous_commit`` makes it); a larger body is written in one
transaction, a row per 1 MiB as it arrives, hashed (its ETag) in a thread meanwhile. A GET
reads up to four rows a query and writes each as read, so a small one is one round trip; HEAD
and DELETE are one statement each. A pool of at most 10 connections, as post3's default.
Still no signature, no metadata, no versions, no lock.
"""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
from aiohttp import web

MIB = 1 << 20
ROWS_PER_QUERY = 4
SCHEMA = """
CREATE TABLE IF NOT EXISTS null_blocks (
    bucket text NOT NULL, key text NOT NULL, n integer NOT NULL, size bigint,
    data bytea NOT NULL, PRIMARY KEY (bucket, key, n))
"""
# One statement for a small PUT: the rows of a larger object it replaces go with it.
PUT_ONE_ROW = """
WITH gone AS (DELETE FROM null_blocks WHERE bucket = $1 AND key = $2 AND n > 0)
INSERT INTO null_blocks VALUES ($1, $2, 0, $3, $4)
ON CONFLICT (bucket, key, n) DO UPDATE SET size = excluded.size, data = excluded.data
"""
READ_ROWS = """
SELECT n, size, data FROM null_blocks
WHERE bucket = $1 AND key = $2 AND n >= $3 AND n < $3 + $4 ORDER BY n
"""

pool: asyncpg.Pool | None = None


async def connect(dsn: str) -> None:
    global pool
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10)
    await pool.execute(SCHEMA)


async def close() -> None:
    if pool is not None:
        await pool.close()


async def handle(request: web.Request, method: str, bucket: str, key: str
                 ) -> web.StreamResponse:
    assert pool is not None
    if method == "PUT":
        return await put(request, bucket, key)
    if method == "DELETE":
        await pool.execute("DELETE FROM null_blocks WHERE bucket = $1 AND key = $2",
                           bucket, key)
        return web.Response(status=204)
    if method == "HEAD":
        size = await pool.fetchval(
            "SELECT size FROM null_blocks WHERE bucket = $1 AND key = $2 AND n = 0", bucket, key)
        if size is None:
            return web.Response(status=404)
        return web.Response(status=200, headers={"Content-Length": str(size), "ETag": '"0"'})
    return await get(request, bucket, key)


async def put(request: web.Request, bucket: str, key: str) -> web.Response:
    assert pool is not None
    md5 = hashlib.md5()
    row, more = await receive_row(request)
    if not more:  # the whole body: one statement
        md5.update(row)
        await pool.execute(PUT_ONE_ROW, bucket, key, len(row), row)
        return web.Response(status=200, headers={"ETag": f'"{md5.hexdigest()}"'})
    loop = asyncio.get_running_loop()
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("DELETE FROM null_blocks WHERE bucket = $1 AND key = $2",
                                 bucket, key)
        insert = await connection.prepare("INSERT INTO null_blocks VALUES ($1, $2, $3, $4, $5)")
        n = size = 0
        while row:
            # the row's hash in a thread, overlapping its insert
            await asyncio.gather(loop.run_in_executor(None, md5.update, row),
                                 insert.fetch(bucket, key, n, None, row))
            n += 1
            size += len(row)
            row, more = await receive_row(request) if more else (b"", False)
        await connection.execute(
            "UPDATE null_blocks SET size = $3 WHERE bucket = $1 AND key = $2 AND n = 0",
            bucket, key, size)
    return web.Response(status=200, headers={"ETag": f'"{md5.hexdigest()}"'})


async def receive_row(request: web.Request) -> tuple[bytes, bool]:
    """At least 1 MiB of the body, or the rest of it; and whether more may follow."""
    batch: list[bytes] = []
    held = 0
    while held < MIB:
        chunk = await request.content.readany()
        if not chunk:
            return b"".join(batch), False
        batch.append(chunk)
        held += len(chunk)
    return b"".join(batch), True


async def get(request: web.Request, bucket: str, key: str) -> web.StreamResponse:
    assert pool is not None
    rows = await pool.fetch(READ_ROWS, bucket, key, 0, ROWS_PER_QUERY)
    if not rows:
        return web.Response(status=404)
    size = rows[0]["size"]
    if len(rows) < ROWS_PER_QUERY and len(rows[0]["data"]) == size:  # one row: one write
        return web.Response(status=200, body=rows[0]["data"], headers={"ETag": '"0"'})
    response = web.StreamResponse(status=200, headers={"ETag": '"0"'})
    response.content_length = size
    await response.prepare(request)
    n = 0
    while rows:
        for row in rows:
            await response.write(row["data"])
        n += len(rows)
        if len(rows) < ROWS_PER_QUERY:
            break
        rows = await pool.fetch(READ_ROWS, bucket, key, n, ROWS_PER_QUERY)
    return response
