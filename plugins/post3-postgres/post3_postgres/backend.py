"""PostgresBackend: buckets and the lifecycle in PostgreSQL; objects and listing in
``objects.py``, multipart in ``multipart.py``.

How the guarantees of :mod:`post3.backend` are kept (see also the package README):

* **Atomic writes.** The body is staged first (``writes.py``), then one short transaction
  makes the version live and adds it to the key's history (``object_versions``), keeping the
  key's ``objects`` row (what ListObjects reads) in step. Every commit of a key first reads
  the bucket's versioning status under a lock that a status change waits for, then takes an
  advisory lock of the key, which exists whatever the key's state (``lock_key_for_write``):
  writers of one key serialize there, and the ``WriteCondition`` is checked after it: last
  writer wins, whole, across connections and processes. In a bucket that never had
  versioning, without a write condition, the commit is a single statement
  (``put_object_at_once``), whose snapshot predates its wait for the lock: it swaps the key's
  row by compare-and-swap, and a writer that finds it stale, or finds the bucket versioned,
  commits through the transaction instead.
* **Versions.** A key's history is its ``object_versions`` rows, newest (lowest sequence)
  first; an object version points at an immutable ``versions`` row, which stays live while it
  is in the history, whatever is written after it. Removing a version (an unversioned
  overwrite or delete, a null version replaced, a delete by id) retires it.
* **Untorn reads.** A reader streams one immutable version (``reads.py``); the replaced
  version is retired, not deleted, and stays readable while the reader's process renews its
  lease (every quarter of ``retired_grace``, however slowly the client reads). An object of
  one block up to ``objects.INLINE_READ`` bytes is read whole by the statement that finds its
  version, so it needs no lease.
* **Clean-up.** At start and every ``cleanup_interval`` seconds, versions whose upload stopped
  (no block for ``abandoned_after`` seconds) and retired versions no reader renewed for
  ``retired_grace`` seconds are deleted, in batches bounded in rows and in bytes. Under steady
  churn the database holds, beyond the live data, what is written in about
  ``retired_grace + cleanup_interval`` seconds, plus what autovacuum has not yet made reusable.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import urllib.parse
from collections.abc import Mapping
from typing import Any

import asyncpg

from post3 import errors
from post3.backend import (
    Backend,
    BackendError,
    BucketInfo,
    Capabilities,
    Option,
    check_config_name,
    utcnow,
)
from post3_postgres import access_keys
from post3_postgres.database import Connection, Database
from post3_postgres.jobs import JobLocks
from post3_postgres.memory import trim_periodically
from post3_postgres.migrations import ensure_schema
from post3_postgres.multipart import MultipartMixin
from post3_postgres.objects import ObjectsMixin, pairs
from post3_postgres.reads import READ_BUDGET, Leases, ReadBudget

log = logging.getLogger(__name__)

#: Versions the clean-up retires or deletes per statement.
CLEANUP_BATCH = 500
#: Blocks (1 MiB at most each) the clean-up deletes per statement.
CLEANUP_BLOCKS = 256


async def _keep_session_state(connection: asyncpg.Connection) -> None:
    """Release a pooled connection without asyncpg's default reset query.

    That query (unlock advisory locks, close cursors, unlisten, reset settings) costs a round
    trip on every release: a fifth of the work of a small PutObject. The backend leaves no
    session state behind (no settings, listeners or cursors outside a transaction; the
    migration lock is released by the migration itself), and asyncpg still rolls back a
    transaction left open before it calls this.
    """


def redact(dsn: str) -> str:
    """The DSN without its password, for messages."""
    try:
        parts = urllib.parse.urlsplit(dsn)
    except ValueError:
        return "the configured server"
    if not parts.scheme:
        return "the configured server"
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


class PostgresBackend(JobLocks, ObjectsMixin, MultipartMixin, Backend):
    """Objects in PostgreSQL: metadata rows, bytes in 1 MiB ``bytea`` blocks."""

    name = "postgres"
    capabilities = Capabilities(multipart=True, tagging=True, bucket_config=True,
                                versioning=True, job_lock=True)
    options = (
        Option(
            "dsn",
            "PostgreSQL connection URL, e.g. postgresql://post3@db.example/post3",
            env="DATABASE_URL",
        ),
        Option.boolean(
            "auto_migrate", "apply pending schema migrations at start (development)", False
        ),
        Option.integer("min_pool_size", "connections the pool keeps open", 1),
        Option.integer("max_pool_size", "most connections the pool opens", 10),
        Option.integer(
            "read_ahead_mib",
            "MiB of object data the process's downloads hold fetched and not yet sent, shared "
            "(at least 4; one download alone reads up to 12)",
            READ_BUDGET >> 20,
        ),
        Option.number("command_timeout", "seconds before a statement is abandoned", 60.0),
        Option.number("connect_timeout", "seconds to wait for a new connection", 10.0),
        Option.integer(
            "statement_cache_size",
            "prepared statements cached per connection; 0 behind PgBouncer (transaction mode)",
            100,
        ),
        Option.number(
            "abandoned_after",
            "seconds without a new block after which an upload is judged abandoned and deleted",
            3600.0,
        ),
        Option.number(
            "retired_grace",
            "seconds a replaced or deleted object's bytes are kept after the last reader "
            "that opened them stopped renewing its lease (renewed every quarter of this)",
            30.0,
        ),
        Option.number("cleanup_interval", "seconds between clean-up runs", 10.0),
    )

    def __init__(
        self,
        dsn: str | None = None,
        *,
        auto_migrate: bool = False,
        min_pool_size: int = 1,
        max_pool_size: int = 10,
        read_ahead_mib: int = READ_BUDGET >> 20,
        command_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        statement_cache_size: int = 100,
        abandoned_after: float = 3600.0,
        retired_grace: float = 30.0,
        cleanup_interval: float = 10.0,
    ) -> None:
        if not dsn:
            raise BackendError(
                "backend 'postgres' needs a database: set DATABASE_URL or POST3_POSTGRES_DSN, "
                "or pass -o dsn=postgresql://..."
            )
        if not 0 < min_pool_size <= max_pool_size:
            raise BackendError(
                "backend 'postgres': need 0 < min_pool_size <= max_pool_size"
            )
        try:
            self._read_budget = ReadBudget(read_ahead_mib << 20)
        except ValueError as exc:
            raise BackendError(f"backend 'postgres': read_ahead_mib: {exc}") from None
        self.dsn = dsn
        self.auto_migrate = auto_migrate
        self._pool_options: dict[str, Any] = {
            "min_size": min_pool_size,
            "max_size": max_pool_size,
            "command_timeout": command_timeout,
            "timeout": connect_timeout,
            "statement_cache_size": statement_cache_size,
        }
        self.abandoned_after = abandoned_after
        self.retired_grace = retired_grace
        self.cleanup_interval = cleanup_interval
        self._database: Database | None = None
        self._leases: Leases | None = None
        self._background: list[asyncio.Task[None]] = []

    # lifecycle ----------------------------------------------------------------------------

    @property
    def _db(self) -> Database:
        if self._database is None:
            raise RuntimeError("PostgresBackend used before open()")
        return self._database

    async def open(self) -> None:
        try:
            pool = await asyncpg.create_pool(
                self.dsn, reset=_keep_session_state, **self._pool_options
            )
        except Exception as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise BackendError(
                f"cannot connect to PostgreSQL at {redact(self.dsn)}: {reason}"
            ) from None
        try:
            async with pool.acquire() as connection:
                await ensure_schema(connection, auto_migrate=self.auto_migrate)
        except BaseException:
            await pool.close()
            raise
        self._database = Database(pool)
        if await self._database.fetchval("autovacuum_setting") == "off":
            log.warning(
                "autovacuum is off on %s: the space of deleted and replaced objects is not "
                "reused until VACUUM runs, and the database grows with every byte written",
                redact(self.dsn))
        self._leases = Leases(self._database, self.retired_grace)
        await self.remove_stale_versions()
        self._background = [asyncio.create_task(self._clean_up_periodically()),
                            asyncio.create_task(self._leases.renew_periodically()),
                            asyncio.create_task(trim_periodically())]

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background = []
        self._leases = None
        if self._database is not None:
            await self._database.pool.close()
            self._database = None

    async def ready(self) -> None:
        await self._db.fetchval("ping")

    async def remove_stale_versions(self) -> int:
        """Delete abandoned uploads and expired retired versions; return how many versions.

        Every statement is a bounded batch in its own transaction (queries.sql); the pass goes
        on until a round finds less than a full batch everywhere.
        """
        removed = 0
        while True:
            retired = await self._db.execute(
                "retire_abandoned_versions", float(self.abandoned_after), CLEANUP_BATCH)
            blocks = await self._db.execute(
                "remove_expired_blocks", float(self.retired_grace), CLEANUP_BLOCKS)
            versions = await self._db.execute(
                "remove_expired_versions", float(self.retired_grace), CLEANUP_BATCH)
            count = int(versions.split()[-1])
            removed += count
            if (int(retired.split()[-1]) < CLEANUP_BATCH
                    and int(blocks.split()[-1]) < CLEANUP_BLOCKS and count < CLEANUP_BATCH):
                return removed

    async def _clean_up_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.cleanup_interval)
            try:
                await self.remove_stale_versions()
            except Exception:
                log.warning("storage clean-up failed; will retry", exc_info=True)

    # buckets ------------------------------------------------------------------------------

    async def list_buckets(self) -> list[BucketInfo]:
        rows = await self._db.fetch("list_buckets")
        return [BucketInfo(row["name"], row["created"]) for row in rows]

    async def create_bucket(self, bucket: str) -> BucketInfo:
        row = await self._db.fetchrow("create_bucket", bucket, utcnow())
        if row is None:
            raise errors.BucketAlreadyOwnedByYou(BucketName=bucket)
        return BucketInfo(row["name"], row["created"])

    async def head_bucket(self, bucket: str) -> BucketInfo:
        row = await self._db.fetchrow("get_bucket", bucket)
        if row is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        return BucketInfo(row["name"], row["created"])

    async def _bucket_id(self, bucket: str, db: Database | Connection | None = None) -> int:
        row = await (db or self._db).fetchrow("get_bucket", bucket)
        if row is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        bucket_id: int = row["id"]
        return bucket_id

    async def delete_bucket(self, bucket: str) -> None:
        async with self._db.transaction() as tx:
            bucket_id = await tx.fetchval("lock_bucket", bucket)
            if bucket_id is None:
                raise errors.NoSuchBucket(BucketName=bucket)
            # A fresh snapshot after the lock: commits that raced with it are visible now.
            if await tx.fetchval("bucket_has_objects", bucket_id):
                raise errors.BucketNotEmpty(BucketName=bucket)
            await tx.execute("delete_bucket", bucket_id)

    # access keys: not part of the storage contract; kept in the same database (api_keys), and
    # handed to post3 through the post3_key_store hook (post3_postgres/__init__.py).

    @functools.cached_property
    def key_store(self) -> access_keys.PostgresKeyStore:
        return access_keys.PostgresKeyStore(lambda: self._db)

    async def get_bucket_tags(self, bucket: str) -> dict[str, str]:
        bucket_id = await self._bucket_id(bucket)
        rows = await self._db.fetch("get_bucket_tags", bucket_id)
        return {row["name"]: row["value"] for row in rows}

    async def put_bucket_tags(self, bucket: str, tags: Mapping[str, str]) -> None:
        async with self._db.transaction() as tx:
            bucket_id = await tx.fetchval("lock_bucket_for_tags", bucket)
            if bucket_id is None:
                raise errors.NoSuchBucket(BucketName=bucket)
            await tx.execute("replace_bucket_tags", bucket_id, *pairs(tags))

    async def get_bucket_config(self, bucket: str, name: str) -> str | None:
        row = await self._db.fetchrow("get_bucket_config", bucket, check_config_name(name))
        if row is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        document: str | None = row["document"]
        return document

    async def put_bucket_config(self, bucket: str, name: str, document: str | None) -> None:
        check_config_name(name)
        async with self._db.transaction() as tx:
            # The bucket row locked as for tags: DeleteBucket waits; object commits do not.
            bucket_id = await tx.fetchval("lock_bucket_for_tags", bucket)
            if bucket_id is None:
                raise errors.NoSuchBucket(BucketName=bucket)
            if document is None:
                await tx.execute("delete_bucket_config", bucket_id, name)
            else:
                await tx.execute("put_bucket_config", bucket_id, name, document)

    async def get_bucket_versioning(self, bucket: str) -> str | None:
        row = await self._db.fetchrow("get_bucket_versioning", bucket)
        if row is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        status: str | None = row["versioning"]
        return status

    async def put_bucket_versioning(self, bucket: str, status: str) -> None:
        async with self._db.transaction() as tx:
            # FOR UPDATE waits for the commits in flight (they hold KEY SHARE on the row) and
            # holds back new ones, which then read the new status (lock_key_for_write).
            bucket_id = await tx.fetchval("lock_bucket", bucket)
            if bucket_id is None:
                raise errors.NoSuchBucket(BucketName=bucket)
            await tx.execute("set_bucket_versioning", bucket_id, status)
