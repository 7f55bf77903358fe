"""The operator SQL under sql/: schema.sql equals what the migrations build, and the
maintenance queries run against that schema."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import asyncpg
import pytest

pytestmark = pytest.mark.postgres

SQL_DIR = Path(__file__).resolve().parents[3] / "sql"


def schema_dump(dsn: str) -> str:
    """``pg_dump --schema-only`` without what differs between two equal databases."""
    output = subprocess.run(
        ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", dsn],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout
    lines = []
    for line in output.splitlines():
        if not line.strip() or line.startswith(("--", "SET ", "\\restrict", "\\unrestrict")):
            continue
        if re.match(r"SELECT pg_catalog\.set_config", line):
            continue
        lines.append(line)
    return "\n".join(lines)


async def apply_sql(dsn: str, text: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(text)
    finally:
        await connection.close()


async def test_schema_sql_equals_the_migrations(new_postgres_database) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    migrated = await new_postgres_database(migrated=True)
    from_snapshot = await new_postgres_database()
    await apply_sql(from_snapshot, (SQL_DIR / "schema.sql").read_text())

    expected, actual = await asyncio.gather(
        asyncio.to_thread(schema_dump, migrated), asyncio.to_thread(schema_dump, from_snapshot)
    )
    assert "CREATE TABLE public.blocks" in expected
    assert actual == expected, "sql/schema.sql differs from the migrations: regenerate it"


async def test_maintenance_queries_run(postgres_backend, postgres_database) -> None:
    from post3.testing import put_bytes

    await postgres_backend.create_bucket("sized")
    await put_bytes(postgres_backend, "sized", "a", b"x" * 3000)
    connection = await asyncpg.connect(postgres_database)
    try:
        text = re.sub(r"--.*", "", (SQL_DIR / "maintenance.sql").read_text())
        statements = [s for s in text.split(";") if s.strip()]
        results = [await connection.fetch(statement) for statement in statements]
    finally:
        await connection.close()
    per_bucket = {row["bucket"]: (row["objects"], row["bytes"]) for row in results[0]}
    assert per_bucket == {"sized": (1, "3000 bytes")}
    orphans, mismatched = results[3], results[4]
    assert orphans == [] and mismatched == []
