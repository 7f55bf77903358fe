"""Objects of the PostgreSQL backend: reading (one statement for a small object's row and
bytes), writing (staged, then committed by one statement or one transaction), deleting,
listing, and changing a version's metadata or tags. ``PostgresBackend`` (``backend.py``) is
these operations with the buckets and the lifecycle; multipart uploads are ``multipart.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg

from post3 import errors
from post3.backend import (
    NULL_VERSION,
    ByteRange,
    BytesObjectStream,
    ListEntry,
    NewVersion,
    ObjectAttributes,
    ObjectInfo,
    ObjectStream,
    VersionCursor,
    WriteCondition,
    attributes_from_pairs,
    attributes_to_pairs,
    check_removable,
    stored_version,
)
from post3.payload import PayloadStream
from post3.versioning import new_version
from post3_postgres.commits import commit_version, lock_key
from post3_postgres.database import BackendPart, Connection, Database
from post3_postgres.reads import Leases, PostgresObjectStream, ReadBudget
from post3_postgres.writes import StagedBody, discard, stage_body

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


class ObjectsMixin(BackendPart):
    """The object operations of :class:`post3_postgres.backend.PostgresBackend`."""

    _leases: Leases | None
    _read_budget: ReadBudget

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
