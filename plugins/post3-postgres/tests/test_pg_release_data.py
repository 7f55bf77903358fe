"""A database written by post3 0.1.0.dev0, before attributes were typed and before versioning,
reads back with every attribute after the migrations of this release
(fixtures/data-0.1.0.dev0.sql: its rows, dumped with ``pg_dump --data-only`` after
tests/fixtures/write_release_data.py ran with that release), and its objects are their keys'
null versions, which versioning then keeps as S3 does."""

import pathlib

import asyncpg
from post3_postgres.backend import PostgresBackend
from post3_postgres.migrations import migrate

from post3.backend import ENABLED, NULL_VERSION, ObjectAttributes
from post3.testing import payload, read_stream
from post3.testing.release_data import check_release_data
from post3.versioning import new_version

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "data-0.1.0.dev0.sql"
PENDING_UPLOAD = "18ed3af86c364bc5cbb97b8b3ca056ea192e760d"
#: The last migration of the release that wrote the fixture's rows (its schema).
RELEASE_SCHEMA = 3
KEYS = ["bare", "composite.bin", "full.bin", "plain.txt"]


async def read(backend: PostgresBackend, key: str, version_id: str | None = None) -> bytes:
    return await read_stream(await backend.open_object("release", key, version_id=version_id))


async def release_database(new_postgres_database) -> str:
    """A database as the release left it, then migrated to this release's schema."""
    dsn = await new_postgres_database()
    connection = await asyncpg.connect(dsn)
    try:
        await migrate(connection, until=RELEASE_SCHEMA)
        await connection.execute(FIXTURE.read_text())
        await migrate(connection)
    finally:
        await connection.close()
    return dsn


async def test_data_written_by_the_release_reads_back(new_postgres_database):
    backend = PostgresBackend(await release_database(new_postgres_database), max_pool_size=2)
    await backend.open()
    try:
        await check_release_data(backend, PENDING_UPLOAD)
    finally:
        await backend.close()


async def test_the_release_objects_are_null_versions_that_versioning_keeps(
    new_postgres_database,
):
    backend = PostgresBackend(await release_database(new_postgres_database), max_pool_size=2)
    await backend.open()
    try:
        assert await backend.get_bucket_versioning("release") is None
        versions = await backend.list_object_versions_page("release")
        assert [(v.key, v.version_id, v.is_latest, v.delete_marker) for v in versions] == [
            (key, NULL_VERSION, True, False) for key in KEYS]
        old = await read(backend, "plain.txt")
        assert await read(backend, "plain.txt", NULL_VERSION) == old

        await backend.put_bucket_versioning("release", ENABLED)
        new = await backend.put_object("release", "plain.txt", payload(b"overwritten"),
                                       attributes=ObjectAttributes(), version=new_version())
        assert new.version_id != NULL_VERSION
        # the new version sorts newer than the migrated null version
        assert [(v.version_id, v.is_latest) for v in await backend.list_object_versions_page(
            "release", prefix="plain.txt")] == [(new.version_id, True), (NULL_VERSION, False)]
        assert await read(backend, "plain.txt") == b"overwritten"
        assert await read(backend, "plain.txt", NULL_VERSION) == old
        # the null version keeps its attributes and tags
        kept = await backend.head_object("release", "plain.txt", NULL_VERSION)
        assert kept.attributes.user_metadata == {"colour": "blue"}
        assert dict(kept.tags) == {"a": "1", "b": "2"}

        marker = await backend.delete_object("release", "plain.txt", marker=new_version())
        assert marker is not None and marker.delete_marker
        listed = [e.key for e in await backend.list_objects_page("release")]
        assert listed == [key for key in KEYS if key != "plain.txt"]
        assert len(await backend.list_object_versions_page("release", prefix="plain.txt")) == 3

        await backend.delete_object_version("release", "plain.txt", marker.version_id)
        assert await read(backend, "plain.txt") == b"overwritten"
        assert [e.key for e in await backend.list_objects_page("release")] == KEYS
        await backend.delete_object_version("release", "plain.txt", new.version_id)
        assert await read(backend, "plain.txt") == old
        [entry] = await backend.list_objects_page("release", prefix="plain.txt")
        assert (entry.version_id, entry.storage_class) == (NULL_VERSION, "REDUCED_REDUNDANCY")
    finally:
        await backend.close()
