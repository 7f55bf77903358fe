"""``post3 postgres check [--repair]`` against a database holding unreachable storage on purpose."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import asyncpg
import pytest
from post3_postgres.backend import PostgresBackend

from post3.testing import MiB, pattern, put_bytes, read_object
from post3.testing.helpers import attrs

pytestmark = pytest.mark.postgres


def post3(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, with the command the plugin adds through its hook."""
    return subprocess.run(
        [sys.executable, "-m", "post3", *args], capture_output=True, text=True, timeout=60,
    )


async def make_unreachable_storage(dsn: str) -> None:
    """A live version nothing points at (what the delete race leaked), with two blocks, and
    a block whose version row is gone (only a bypassed foreign key can do that)."""
    connection = await asyncpg.connect(dsn)
    try:
        bucket_id = await connection.fetchval("SELECT id FROM buckets WHERE name = 'checked'")
        version = await connection.fetchval(
            "INSERT INTO versions (bucket_id, state, size, etag, last_modified)"
            " VALUES ($1, 'live', 15, 'etag', now()) RETURNING id", bucket_id)
        await connection.execute(
            "INSERT INTO blocks (version_id, position, data) VALUES ($1, 0, $2), ($1, 10, $3)",
            version, b"0123456789", b"abcde")
        await connection.execute(
            "INSERT INTO object_metadata (version_id, name, value) VALUES ($1, 'a', 'b')",
            version)
        async with connection.transaction():
            await connection.execute("SET LOCAL session_replication_role = replica")
            await connection.execute(
                "INSERT INTO blocks (version_id, position, data) VALUES ($1, 0, $2)",
                version + 1000, b"stray")
    finally:
        await connection.close()


async def test_check_reports_and_repair_removes_only_unreachable_storage(
    new_postgres_database,
) -> None:
    dsn = await new_postgres_database(migrated=True)
    backend = PostgresBackend(dsn, retired_grace=3600)
    await backend.open()
    try:
        await backend.create_bucket("checked")
        kept = pattern(2 * MiB + 7)
        await put_bytes(backend, "checked", "kept", kept)
        await put_bytes(backend, "checked", "replaced", b"old")
        await put_bytes(backend, "checked", "replaced", b"new")  # a retired version: not a leak
        upload = await backend.create_multipart_upload("checked", "mp", attributes=attrs(), tags={})
        from post3.testing import payload

        await backend.upload_part("checked", "mp", upload.upload_id, 1, payload(b"part"))

        healthy = await asyncio.to_thread(post3, "postgres", "check", "-o", f"dsn={dsn}")
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        assert "orphaned versions: 0 (0 blocks, 0 bytes)" in healthy.stdout
        assert "storage is consistent" in healthy.stdout

        await make_unreachable_storage(dsn)
        found = await asyncio.to_thread(post3, "postgres", "check", "-o", f"dsn={dsn}")
        assert found.returncode == 1, found.stdout + found.stderr
        assert "orphaned versions: 1 (2 blocks, 15 bytes)" in found.stdout
        assert "unreferenced blocks: 1 (5 bytes)" in found.stdout
        assert "--repair" in found.stderr

        repaired = await asyncio.to_thread(
            post3, "postgres", "check", "--repair", "-o", f"dsn={dsn}")
        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
        assert "removed 1 orphaned version(s) and 1 unreferenced block(s)" in repaired.stdout

        again = await asyncio.to_thread(post3, "postgres", "check", "-o", f"dsn={dsn}")
        assert again.returncode == 0, again.stdout + again.stderr
        # Everything reachable survived the repair.
        assert await read_object(backend, "checked", "kept") == kept
        assert await read_object(backend, "checked", "replaced") == b"new"
        assert [p.part_number for p in await backend.list_parts(
            "checked", "mp", upload.upload_id)] == [1]
        connection = await asyncpg.connect(dsn)
        try:
            states = dict(await connection.fetch(
                "SELECT state, count(*) FROM versions GROUP BY state"))
        finally:
            await connection.close()
        assert states == {"live": 3, "retired": 1}
    finally:
        await backend.close()


async def test_check_refuses_an_unmigrated_database(new_postgres_database) -> None:
    dsn = await new_postgres_database(migrated=False)
    result = await asyncio.to_thread(post3, "postgres", "check", "-o", f"dsn={dsn}")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "migrat" in result.stderr


async def test_check_knows_versioned_buckets_and_rebuilds_stale_listings(
    new_postgres_database,
) -> None:
    from post3.backend import ENABLED, SUSPENDED
    from post3.testing import payload
    from post3.versioning import new_version

    dsn = await new_postgres_database(migrated=True)
    backend = PostgresBackend(dsn, retired_grace=3600)
    await backend.open()
    try:
        await backend.create_bucket("versioned")
        await put_bytes(backend, "versioned", "k", b"null before")
        await backend.put_bucket_versioning("versioned", ENABLED)
        for body in (b"one", b"two"):
            await backend.put_object("versioned", "k", payload(body), attributes=attrs(),
                                     version=new_version())
        await backend.delete_object("versioned", "gone", marker=new_version())
        await put_bytes(backend, "versioned", "hidden", b"x")
        await backend.delete_object("versioned", "hidden", marker=new_version())
        await backend.put_bucket_versioning("versioned", SUSPENDED)
        await put_bytes(backend, "versioned", "s", b"suspended null")

        # noncurrent versions and delete markers are neither orphans nor stale
        healthy = await asyncio.to_thread(post3, "postgres", "check", "-o", f"dsn={dsn}")
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        assert "stale listings: 0 key(s)" in healthy.stdout

        # a listing row lost, one left behind a delete marker, one naming an old version
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute("DELETE FROM objects WHERE key = 's'")
            old = await connection.fetchrow(
                "SELECT version_id, s3_version_id FROM object_versions WHERE key = 'k'"
                " ORDER BY sequence DESC LIMIT 1")
            await connection.execute(
                "UPDATE objects SET version_id = $1, s3_version_id = $2 WHERE key = 'k'",
                old["version_id"], old["s3_version_id"])
            await connection.execute(
                "INSERT INTO objects (bucket_id, key, version_id, s3_version_id, size, etag,"
                " last_modified) SELECT bucket_id, key, version_id, s3_version_id, size, etag,"
                " last_modified FROM object_versions WHERE key = 'hidden' AND NOT delete_marker")
        finally:
            await connection.close()
        assert sorted(e.key for e in await backend.list_objects_page("versioned")) == [
            "hidden", "k"]
        found = await asyncio.to_thread(post3, "postgres", "check", "-o", f"dsn={dsn}")
        assert found.returncode == 1, found.stdout + found.stderr
        assert "stale listings: 3 key(s)" in found.stdout
        assert "orphaned versions: 0" in found.stdout

        repaired = await asyncio.to_thread(
            post3, "postgres", "check", "--repair", "-o", f"dsn={dsn}")
        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
        assert "rebuilt 3 stale listing(s)" in repaired.stdout
        listed = {e.key: e.version_id for e in await backend.list_objects_page("versioned")}
        versions = {(v.key, v.is_latest): v.version_id
                    for v in await backend.list_object_versions_page("versioned")}
        assert listed == {"k": versions["k", True], "s": "null"}
        assert await read_object(backend, "versioned", "k") == b"two"
        again = await asyncio.to_thread(post3, "postgres", "check", "-o", f"dsn={dsn}")
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        await backend.close()
