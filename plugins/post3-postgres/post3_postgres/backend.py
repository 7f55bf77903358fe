"""PostgresBackend: buckets, objects and listing in PostgreSQL; multipart in ``multipart.py``.

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
  one block up to ``INLINE_READ`` bytes is read whole by the statement that finds its version,
  so it needs no lease.
* **Clean-up.** At start and every ``cleanup_interval`` seconds, versions whose upload stopped
  (no block for ``abandoned_after`` seconds) and retired versions no reader renewed for
  ``retired_grace`` seconds are deleted, in batches bounded in rows and in bytes. Under steady
  churn the database holds, beyond the live data, what is written in about
  ``retired_grace + cleanup_interval`` seconds, plus what autovacuum has not yet made reusable.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg

from post3 import errors
from post3.backend import (
    NULL_VERSION,
    Backend,
    BackendError,
    BucketInfo,
    ByteRange,
    BytesObjectStream,
    Capabilities,
    ListEntry,
    NewVersion,
    ObjectAttributes,
    ObjectInfo,
    ObjectStream,
    Option,
    VersionCursor,
    WriteCondition,
    attributes_from_pairs,
    attributes_to_pairs,
    check_config_name,
    check_removable,
    stored_version,
    utcnow,
)
from post3.payload import PayloadStream
from post3.versioning import new_version
from post3_postgres import access_keys
from post3_postgres.commits import commit_version, lock_key
from post3_postgres.database import Connection, Database
from post3_postgres.jobs import JobLocks
from post3_postgres.memory import trim_periodically
from post3_postgres.migrations import ensure_schema
from post3_postgres.multipart import MultipartMixin
from post3_postgres.reads import READ_BUDGET, Leases, PostgresObjectStream, ReadBudget
from post3_postgres.writes import StagedBody, discard, stage_body

log = logging.getLogger(__name__)

#: Versions the clean-up retires or deletes per statement.
CLEANUP_BATCH = 500
#: Blocks (1 MiB at most each) the clean-up deletes per statement.
CLEANUP_BLOCKS = 256
#: An object of one block up to this size is read with its row, in the same statement: one
#: round trip per small GET instead of two. Larger ones are streamed (reads.py), so a ranged
#: or conditional GET of a larger object does not fetch bytes it does not send. The core
#: holds a body this small whole anyway (post3.api.get.SMALL_BODY).
INLINE_READ = 64 << 10


def pairs(mapping: Mapping[str, str]) -> tuple[list[str], list[str]]:
    names = sorted(mapping)
    return names, [mapping[name] for name in names]


def mapping(names: list[str], values: list[str]) -> dict[str, str]:
    return dict(zip(names, values, strict=True))


def prefix_successor(prefix: str) -> str | None:
    """The first string after every string that starts with ``prefix`` (None: no such bound).

    Code point order is UTF-8 byte order, which is how the keys (``COLLATE "C"``) compare.
    """
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    last = ord(stripped[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # surrogates cannot be stored; skip past them
        last = 0xE000
    return stripped[:-1] + chr(last)


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


class PostgresBackend(JobLocks, MultipartMixin, Backend):
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

    # objects ------------------------------------------------------------------------------

    async def _head(
        self, bucket: str, key: str, version_id: str | None,
        db: Database | Connection | None = None, *, inline: int = -1,
    ) -> tuple[int | None, ObjectInfo, bytes | None]:
        """The version, its ``versions`` row (None for a delete marker) and, when the object
        is one block of at most ``inline`` bytes, its bytes (else None)."""
        if version_id is None:
            row = await (db or self._db).fetchrow("head_object", bucket, key, inline)
        else:
            row = await (db or self._db).fetchrow(
                "head_object_version", bucket, key, inline, version_id)
        if row is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        # By position, in the statement's order (queries.sql): cheaper than by name.
        (stored, s3_version_id, sequence, delete_marker, size, etag, last_modified, part_sizes,
         metadata_names, metadata_values, tag_names, tag_values, data) = row
        if sequence is None:
            if version_id is None:
                raise errors.NoSuchKey(Key=key)
            raise errors.NoSuchVersion(Key=key, VersionId=version_id)
        info = ObjectInfo(
            key=key,
            size=size,
            etag=etag,
            last_modified=last_modified,
            attributes=attributes_from_pairs(mapping(metadata_names, metadata_values)),
            tags=mapping(tag_names, tag_values),
            part_sizes=tuple(part_sizes),
            version_id=s3_version_id,
            delete_marker=delete_marker,
            sequence=sequence,
        )
        return stored, info, data

    async def head_object(self, bucket: str, key: str, version_id: str | None = None
                          ) -> ObjectInfo:
        return (await self._head(bucket, key, version_id))[1]

    async def open_object(
        self, bucket: str, key: str, byte_range: ByteRange | None = None,
        version_id: str | None = None,
    ) -> ObjectStream:
        stored, info, data = await self._head(bucket, key, version_id, inline=INLINE_READ)
        if stored is None:  # a delete marker: no bytes, and no range to resolve
            return BytesObjectStream(info, (), 0, 0)
        start, stop = (0, info.size) if byte_range is None else byte_range.resolve(info)
        if data is not None or info.size == 0:
            # The bytes came with the row, in its snapshot: no further query, no lease.
            return BytesObjectStream(info, (data or b"",), start, stop)
        assert self._leases is not None  # set with the database, by open()
        return PostgresObjectStream(self._db, self._leases, self._read_budget, stored, info,
                                    start, stop)

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: PayloadStream,
        *,
        attributes: ObjectAttributes,
        tags: Mapping[str, str] = {},  # noqa: B006 - never mutated
        condition: WriteCondition | None = None,
        version: NewVersion | None = None,
    ) -> ObjectInfo:
        staged = await stage_body(self._db, bucket, body)
        version = version or new_version()
        try:
            if condition is None:
                # Stored as an unversioned bucket stores it; the statement checks it is one.
                info = ObjectInfo.from_upload(key, body.digest, attributes, tags,
                                              version=version.in_bucket(None))
                if await self._put_at_once(bucket, key, staged, info):
                    return info
            async with self._db.transaction() as tx:
                bucket_id, status = await lock_key(tx, bucket, key)
                info = ObjectInfo.from_upload(key, body.digest, attributes, tags,
                                              version=stored_version(version, status))
                version_id = await self._store_body(
                    tx, bucket, staged.version_id, staged.small, info)
                await commit_version(tx, bucket_id, key, info, version_id, condition)
            return info
        except BaseException:
            await discard(self._db, staged.version_id)
            raise

    async def _put_at_once(
        self, bucket: str, key: str, staged: StagedBody, info: ObjectInfo
    ) -> bool:
        """Commit an unconditional write to an unversioned bucket in one statement (one round
        trip, which is what small objects need); False when the bucket is versioned, or a
        concurrent writer created the key meanwhile, and the caller must commit in a
        transaction instead (this statement then left nothing)."""
        try:
            row = await self._db.fetchrow(
                "put_object_at_once", bucket, key, *self._attributes(info),
                staged.small, staged.version_id, info.sequence,
            )
        except asyncpg.UniqueViolationError:
            return False
        assert row is not None  # the statement always answers one row
        if row["bucket_id"] is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        if row["versioning"] is not None:
            return False
        if row["id"] is None:
            raise errors.InternalError("The upload was abandoned by the storage clean-up.")
        return True

    @staticmethod
    def _attributes(info: ObjectInfo) -> tuple[Any, ...]:
        return (
            info.size, info.etag, info.last_modified, list(info.part_sizes),
            *pairs(attributes_to_pairs(info.attributes)), *pairs(info.tags),
        )

    async def _store_body(
        self,
        tx: Connection,
        bucket: str,
        staged_version: int | None,
        small: bytes | None,
        info: ObjectInfo,
    ) -> int:
        """Make a version live with ``info``: the staged one, or a new one holding ``small``."""
        attributes = self._attributes(info)
        if staged_version is None:
            row = await tx.fetchrow("create_version", bucket, *attributes, small)
            if row is None:
                raise errors.NoSuchBucket(BucketName=bucket)
            version_id: int = row["id"]
            return version_id
        if await tx.fetchval("finish_version", staged_version, *attributes) is None:
            raise errors.InternalError("The upload was abandoned by the storage clean-up.")
        return staged_version

    async def delete_object(self, bucket: str, key: str, *, marker: NewVersion | None = None
                            ) -> ObjectInfo | None:
        row = await self._db.fetchrow("delete_object", bucket, key)
        assert row is not None  # the statement always answers one row
        if row["bucket_id"] is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        if row["versioning"] is None and (row["deleted"] or not row["seen"]):
            return None
        # A versioned bucket, or a writer replaced the key under the statement's snapshot (it
        # changed nothing then): under the key's lock, every statement sees every commit.
        async with self._db.transaction() as tx:
            bucket_id, status = await lock_key(tx, bucket, key)
            if status is None:
                await tx.execute("remove_version", bucket_id, key, NULL_VERSION)
                await tx.execute("refresh_listing", bucket_id, key)
                return None
            info = ObjectInfo.marker(key, (marker or new_version()).in_bucket(status))
            await commit_version(tx, bucket_id, key, info, None, None)
        return info

    async def delete_object_version(self, bucket: str, key: str, version_id: str, *,
                                    bypass_governance: bool = False) -> ObjectInfo | None:
        async with self._db.transaction() as tx:
            bucket_id, _ = await lock_key(tx, bucket, key)
            try:
                _, info, _ = await self._head(bucket, key, version_id, tx)
            except errors.NoSuchVersion:
                return None
            check_removable(info, bypass_governance)
            await tx.execute("remove_version", bucket_id, key, version_id)
            await tx.execute("refresh_listing", bucket_id, key)
        return info

    async def list_objects_page(
        self, bucket: str, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> list[ListEntry]:
        bucket_id = await self._bucket_id(bucket)
        successor = prefix_successor(prefix)
        if successor is None:
            rows = await self._db.fetch(
                "list_objects", bucket_id, start_after, prefix, limit
            )
        else:
            rows = await self._db.fetch(
                "list_objects_prefix", bucket_id, start_after, prefix, successor, limit
            )
        # A row's columns are ListEntry's fields in order (queries.sql): positional arguments
        # cost a third of keyword ones taken from the row by name, on a 1,000-row page. The
        # storage class is the value of the STORAGE_CLASS_PAIR metadata row, STANDARD without.
        return [ListEntry(*row) for row in rows]

    async def list_object_versions_page(
        self, bucket: str, *, prefix: str = "", after: VersionCursor | None = None,
        limit: int = 1000,
    ) -> list[ListEntry]:
        bucket_id = await self._bucket_id(bucket)
        cursor = after or VersionCursor("", "")
        successor = prefix_successor(prefix)
        if successor is None:
            rows = await self._db.fetch(
                "list_versions", bucket_id, prefix, cursor.key, cursor.sequence, limit)
        else:
            rows = await self._db.fetch(
                "list_versions_prefix", bucket_id, prefix, cursor.key, cursor.sequence, limit,
                successor)
        return [ListEntry(*row) for row in rows]  # as list_objects_page

    async def put_object_attributes(
        self, bucket: str, key: str, change: Callable[[ObjectInfo], ObjectAttributes],
        version_id: str | None = None,
    ) -> ObjectInfo:
        async with self._db.transaction() as tx:
            # Under the key's lock, as put_object_tags: change() sees what it replaces.
            await lock_key(tx, bucket, key)
            stored, info, _ = await self._head(bucket, key, version_id, tx)
            if stored is None:  # a delete marker has no attributes (the core never asks)
                raise errors.NoSuchKey(Key=key)
            attributes = change(info)
            await tx.execute("replace_object_metadata", stored,
                             *pairs(attributes_to_pairs(attributes)))
        return dataclasses.replace(info, attributes=attributes)

    async def put_object_tags(self, bucket: str, key: str, tags: Mapping[str, str],
                              version_id: str | None = None) -> None:
        async with self._db.transaction() as tx:
            # Under the key's lock: the version is not replaced or removed meanwhile.
            await lock_key(tx, bucket, key)
            stored, _, _ = await self._head(bucket, key, version_id, tx)
            if stored is None:  # a delete marker has no tags (the core never asks)
                raise errors.NoSuchKey(Key=key)
            await tx.execute("replace_object_tags", stored, *pairs(tags))
