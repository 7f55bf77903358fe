"""Schema migrations: applied once, under a lock, and refused when the schema is unknown."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from click.testing import CliRunner
from post3_postgres.backend import PostgresBackend
from post3_postgres.commands import postgres
from post3_postgres.migrations import load_migrations, migrate, read_status

from post3.backend import BackendError

pytestmark = pytest.mark.postgres


async def ledger(dsn: str) -> list[tuple[int, str]]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT version, checksum FROM schema_migrations")
        return [(row["version"], row["checksum"]) for row in rows]
    finally:
        await connection.close()


async def run_sql(dsn: str, statement: str, *args: object) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement, *args)
    finally:
        await connection.close()


async def test_fresh_database_is_refused_until_migrated(new_postgres_database) -> None:
    dsn = await new_postgres_database()
    backend = PostgresBackend(dsn)
    pending = (r"needs 5 migration\(s\) \(0001_initial, 0002_api_keys, 0003_bucket_configs, "
               r"0004_object_versions, 0005_key_users\).*migrate")
    with pytest.raises(BackendError, match=pending):
        await backend.open()

    migrated = PostgresBackend(dsn, auto_migrate=True)
    await migrated.open()
    try:
        await migrated.create_bucket("after-migration")
        assert [b.name for b in await migrated.list_buckets()] == ["after-migration"]
    finally:
        await migrated.close()
    assert await ledger(dsn) == [(m.version, m.checksum) for m in load_migrations()]


async def test_migrating_twice_is_a_no_op(new_postgres_database) -> None:
    dsn = await new_postgres_database()
    connection = await asyncpg.connect(dsn)
    try:
        first = await migrate(connection)
        second = await migrate(connection)
        status = await read_status(connection)
    finally:
        await connection.close()
    assert [m.label for m in first] == [m.label for m in load_migrations()]
    assert second == []
    assert status.up_to_date
    assert len(await ledger(dsn)) == len(load_migrations())


async def test_concurrent_migrators_apply_each_migration_once(new_postgres_database) -> None:
    dsn = await new_postgres_database()
    connections = [await asyncpg.connect(dsn) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in connections))
    finally:
        for connection in connections:
            await connection.close()
    applied = sorted(len(result) for result in results)
    assert applied == [0, 0, 0, len(load_migrations())]
    assert len(await ledger(dsn)) == len(load_migrations())


async def test_concurrent_auto_migrating_starts_all_succeed(new_postgres_database) -> None:
    dsn = await new_postgres_database()
    backends = [PostgresBackend(dsn, auto_migrate=True) for _ in range(3)]
    await asyncio.gather(*(b.open() for b in backends))
    try:
        await backends[0].create_bucket("shared")
        assert [b.name for b in await backends[2].list_buckets()] == ["shared"]
    finally:
        for backend in backends:
            await backend.close()


async def test_edited_migration_is_refused(new_postgres_database) -> None:
    dsn = await new_postgres_database(migrated=True)
    await run_sql(dsn, "UPDATE schema_migrations SET checksum = 'f00d' WHERE version = 1")
    with pytest.raises(BackendError, match="0001_initial was edited after it was applied"):
        await PostgresBackend(dsn, auto_migrate=True).open()


async def test_database_newer_than_the_code_is_refused(new_postgres_database) -> None:
    dsn = await new_postgres_database(migrated=True)
    await run_sql(
        dsn,
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')",
    )
    with pytest.raises(BackendError, match="written by a newer post3-postgres.*9999_future"
                                           ".*upgrade post3-postgres"):
        await PostgresBackend(dsn).open()
    with pytest.raises(BackendError, match="written by a newer post3-postgres"):
        await PostgresBackend(dsn, auto_migrate=True).open()
    result = await asyncio.to_thread(CliRunner().invoke, postgres, ["status", "-o", f"dsn={dsn}"])
    assert result.exit_code == 2
    assert "written by a newer post3-postgres" in result.output
    result = await asyncio.to_thread(CliRunner().invoke, postgres, ["migrate", "-o", f"dsn={dsn}"])
    assert result.exit_code == 1
    assert "written by a newer post3-postgres" in result.output


async def test_unreachable_server_is_one_clear_line() -> None:
    backend = PostgresBackend(
        "postgresql://post3:secret@127.0.0.1:1/nowhere", connect_timeout=2
    )
    with pytest.raises(BackendError) as raised:
        await backend.open()
    message = str(raised.value)
    assert message.startswith("cannot connect to PostgreSQL at postgresql://post3@127.0.0.1:1")
    assert "secret" not in message
    assert "\n" not in message


def test_missing_dsn_names_the_ways_to_give_one() -> None:
    with pytest.raises(BackendError, match="DATABASE_URL"):
        PostgresBackend.from_options({})


def test_migrate_and_status_commands(postgres_server: str) -> None:
    dsn = asyncio.run(_new_database(postgres_server))
    try:
        runner = CliRunner()
        before = runner.invoke(postgres, ["status"], env={"DATABASE_URL": dsn})
        assert before.exit_code == 1, before.output
        assert "0001_initial  pending" in before.output

        applied = runner.invoke(postgres, ["migrate", "-o", f"dsn={dsn}"])
        assert applied.exit_code == 0, applied.output
        assert "applied 0001_initial" in applied.output

        again = runner.invoke(postgres, ["migrate"], env={"POST3_POSTGRES_DSN": dsn})
        assert again.exit_code == 0, again.output
        assert "schema is up to date" in again.output

        after = runner.invoke(postgres, ["status", "-o", f"dsn={dsn}"])
        assert after.exit_code == 0, after.output
        assert "0001_initial  applied" in after.output
    finally:
        asyncio.run(_drop_database(postgres_server, dsn))


async def _new_database(server: str) -> str:
    from post3_postgres.testing import create_database

    return (await create_database(server, migrated=False))[1]


async def _drop_database(server: str, dsn: str) -> None:
    from post3_postgres.testing import drop_database

    await drop_database(server, dsn.rpartition("/")[2])


async def test_0004_makes_every_object_of_a_0003_database_its_null_version(
    new_postgres_database,
) -> None:
    from post3.versioning import new_version

    dsn = await new_postgres_database()
    connection = await asyncpg.connect(dsn)
    try:
        assert [m.label for m in await migrate(connection, until=3)][-1] == "0003_bucket_configs"
        await connection.execute("""
            INSERT INTO buckets (name, created) VALUES ('a', now()), ('b', now());
            INSERT INTO versions (bucket_id, state, size, etag, last_modified)
            SELECT id, 'live', 1, 'e', now() FROM buckets, generate_series(1, 2);
            INSERT INTO versions (bucket_id, state, size, etag, last_modified)
            SELECT id, 'retired', 1, 'e', now() FROM buckets WHERE name = 'a';
            INSERT INTO objects (bucket_id, key, version_id, size, etag, last_modified)
            SELECT bucket_id, 'key-' || id, id, 1, 'e', now() FROM versions
            WHERE state = 'live';
        """)
        assert [m.label for m in await migrate(connection, until=4)] == ["0004_object_versions"]
        rows = await connection.fetch(
            "SELECT h.*, o.s3_version_id AS listed_id FROM object_versions h"
            " JOIN objects o USING (bucket_id, key) ORDER BY key")
        statuses = await connection.fetch("SELECT versioning FROM buckets")
    finally:
        await connection.close()
    assert len(rows) == 4  # the retired version is nobody's version
    newest_possible = new_version().sequence
    for row in rows:
        assert (row["s3_version_id"], row["listed_id"], row["delete_marker"]) == (
            "null", "null", False)
        assert row["version_id"] == int(row["key"].removeprefix("key-"))
        # older than any write to come
        assert len(row["sequence"]) == 32 and row["sequence"] > newest_possible
    assert [row["versioning"] for row in statuses] == [None, None]


async def test_0005_gives_keys_of_a_0004_database_a_user_of_their_own(
    new_postgres_database,
) -> None:
    from post3.credentials import key_store_for, new_access_key

    dsn = await new_postgres_database()
    connection = await asyncpg.connect(dsn)
    try:
        await migrate(connection, until=4)
        await connection.execute(
            "INSERT INTO api_keys (access_key_id, secret, name, admin, grants, created) "
            "VALUES ('P3OLDKEY', $1, 'old', false, '{\"photos\": \"read\"}', now())", "s" * 40)
        assert [m.label for m in await migrate(connection)][0] == "0005_key_users"
    finally:
        await connection.close()
    backend = PostgresBackend(dsn)
    await backend.open()
    try:
        keys = key_store_for(backend)
        assert keys is not None
        old = await keys.get_access_key("P3OLDKEY")
        assert old is not None and old.user == "" and old.principal.user == "P3OLDKEY"
        assert old.grants == {"photos": "read"}
        alice = new_access_key("ci", user="alice")
        await keys.put_access_key(alice)
        assert await keys.get_access_key(alice.access_key_id) == alice
    finally:
        await backend.close()
