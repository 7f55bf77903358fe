"""Listing walks the index: a page costs the same whatever the bucket's size."""

from __future__ import annotations

import json

import asyncpg
import pytest
from post3_postgres.objects import prefix_successor
from post3_postgres.queries import load_queries

from post3.testing import put_bytes

pytestmark = pytest.mark.postgres

BIG = 50_000


async def fill(sql: asyncpg.Connection, bucket_id: int, count: int, prefix: str) -> None:
    """``count`` one-byte objects, inserted directly: the subject is listing, not writing."""
    await sql.execute(
        """
        WITH v AS (
            INSERT INTO versions (bucket_id, state, size, etag, last_modified)
            SELECT $1, 'live', 1, 'etag', now() FROM generate_series(1, $2)
            RETURNING id
        )
        INSERT INTO objects (bucket_id, key, version_id, s3_version_id, size, etag,
                             last_modified)
        SELECT $1, $3 || lpad(row_number() OVER (ORDER BY id)::text, 6, '0'), id, 'null', 1,
               'etag', now()
        FROM v
        """,
        bucket_id, count, prefix,
    )
    # A Content-Type for each, as real uploads store: a store full of metadata rows, hardly
    # any of them a storage class, is what once turned a page into a scan of them all.
    await sql.execute(
        """
        INSERT INTO object_metadata (version_id, name, value)
        SELECT version_id, 'content-type', 'application/octet-stream'
        FROM objects WHERE bucket_id = $1 AND starts_with(key, $2)
        """,
        bucket_id, prefix,
    )
    await sql.execute("ANALYZE objects; ANALYZE versions; ANALYZE object_metadata")


def rows_read(plan: dict) -> int:
    """Rows every scan node of the plan read (produced or filtered out), all loops counted."""
    total = 0
    if "Relation Name" in plan:
        total += (plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)) * plan[
            "Actual Loops"]
    for child in plan.get("Plans", []):
        total += rows_read(child)
    return total


async def explain(sql: asyncpg.Connection, name: str, *args: object) -> dict:
    text = await sql.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + load_queries()[name], *args)
    return json.loads(text)[0]["Plan"]


@pytest.mark.slow
async def test_a_page_reads_about_a_page_of_rows_in_a_big_bucket(
    postgres_backend, empty_postgres_database
) -> None:
    await postgres_backend.create_bucket("big")
    await postgres_backend.create_bucket("small")
    sql = await asyncpg.connect(empty_postgres_database)
    try:
        ids = {r["name"]: r["id"] for r in await sql.fetch("SELECT id, name FROM buckets")}
        await fill(sql, ids["big"], BIG, "a/")
        await fill(sql, ids["big"], 2_000, "m/")
        await fill(sql, ids["small"], 1_000, "a/")
        for bucket in ("big", "small"):
            # The same plan shape; only ~a page of rows read, with or without a cursor.
            for args in [
                ("list_objects", ids[bucket], "", "", 1000),
                ("list_objects", ids[bucket], "a/000500", "", 1000),
                ("list_objects_prefix", ids[bucket], "", "a/", prefix_successor("a/"), 1000),
            ]:
                plan = await explain(sql, *args)
                assert rows_read(plan) <= 2 * 1000 + 2, (bucket, args, plan)
        # A prefix after most of the bucket still starts at the prefix.
        plan = await explain(sql, "list_objects_prefix", ids["big"], "", "m/",
                             prefix_successor("m/"), 1000)
        assert rows_read(plan) <= 2 * 1000 + 2
    finally:
        await sql.close()

    page = await postgres_backend.list_objects_page("big", prefix="m/", limit=3)
    assert [o.key for o in page] == ["m/000001", "m/000002", "m/000003"]
    page = await postgres_backend.list_objects_page("big", start_after="a/049999", limit=2)
    assert [o.key for o in page] == ["a/050000", "m/000001"]


async def test_prefix_bounds_in_byte_order(postgres_backend) -> None:
    await postgres_backend.create_bucket("p")
    keys = ["a", "a/", "a/b", "a0", "a\U0010ffff", "a\U0010ffffz", "b", "\ud7ff", "\ue000",
            "%", "_", "a%", "a_"]
    for key in keys:
        await put_bytes(postgres_backend, "p", key, b"")
    for prefix in ["a", "a/", "a\U0010ffff", "\ud7ff", "%", "_", "a%", ""]:
        listed = [o.key for o in await postgres_backend.list_objects_page("p", prefix=prefix)]
        assert listed == sorted(k for k in keys if k.startswith(prefix)), prefix


def test_prefix_successor() -> None:
    assert prefix_successor("") is None
    assert prefix_successor("a/") == "a0"
    assert prefix_successor("a\U0010ffff") == "b"
    assert prefix_successor("\U0010ffff") is None
    assert prefix_successor("\ud7ff") == "\ue000"


@pytest.mark.slow
async def test_noncurrent_versions_do_not_cost_listings(
    postgres_backend, empty_postgres_database
) -> None:
    """ListObjects reads only the latest versions however many noncurrent versions the keys
    have; a ListObjectVersions page reads about a page."""
    await postgres_backend.create_bucket("history")
    sql = await asyncpg.connect(empty_postgres_database)
    try:
        bucket_id = await sql.fetchval("SELECT id FROM buckets WHERE name = 'history'")
        await fill(sql, bucket_id, 2_000, "k/")
        # each object its key's latest version, and 26 older delete markers per key
        await sql.execute(
            """
            INSERT INTO object_versions (bucket_id, key, sequence, s3_version_id,
                                         delete_marker, version_id, size, etag, last_modified)
            SELECT o.bucket_id, o.key, s.sequence, s.sequence, s.n > 0,
                   CASE WHEN s.n = 0 THEN o.version_id END, 0, '', now()
            FROM objects o, LATERAL (
                SELECT n, lpad(to_hex(n), 32, '0') AS sequence FROM generate_series(0, 26) n
            ) s
            WHERE o.bucket_id = $1
            """,
            bucket_id,
        )
        await sql.execute("ANALYZE objects; ANALYZE object_versions")
        for args in [("list_objects", bucket_id, "", "", 1000),
                     ("list_objects", bucket_id, "k/001500", "", 1000)]:
            plan = await explain(sql, *args)
            assert rows_read(plan) <= 2 * 1000 + 2, (args, plan)
        for args in [("list_versions", bucket_id, "", "", "", 1000),
                     ("list_versions", bucket_id, "", "k/000700", None, 1000),
                     ("list_versions_prefix", bucket_id, "k/", "", "", 1000,
                      prefix_successor("k/"))]:
            plan = await explain(sql, *args)
            # each listed version also probes its key's first version (is_latest)
            assert rows_read(plan) <= 3 * 1000 + 30, (args, plan)
    finally:
        await sql.close()
    page = await postgres_backend.list_object_versions_page("history", limit=27)
    assert [(e.key, e.delete_marker, e.is_latest) for e in page[:2]] == [
        ("k/000001", False, True), ("k/000001", True, False)]
    assert page[-1].key == "k/000001"
    assert [e.key for e in await postgres_backend.list_objects_page("history", limit=2)] == [
        "k/000001", "k/000002"]
