"""A database written by post3 0.1.0.dev0, before attributes were typed, reads back with
every attribute (fixtures/data-0.1.0.dev0.sql: its rows, dumped with ``pg_dump --data-only``
after tests/fixtures/write_release_data.py ran with that release)."""

import pathlib

import asyncpg
from post3_postgres.backend import PostgresBackend

from post3.testing.release_data import check_release_data

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "data-0.1.0.dev0.sql"
PENDING_UPLOAD = "18ed3af86c364bc5cbb97b8b3ca056ea192e760d"


async def test_data_written_by_the_release_reads_back(new_postgres_database):
    dsn = await new_postgres_database(migrated=True)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(FIXTURE.read_text())
    finally:
        await connection.close()
    backend = PostgresBackend(dsn, min_pool_size=1, max_pool_size=2)
    await backend.open()
    try:
        await check_release_data(backend, PENDING_UPLOAD)
    finally:
        await backend.close()
