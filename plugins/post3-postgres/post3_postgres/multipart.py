"""Multipart uploads: each part is a version of its own; completion adopts their blocks.

A part is staged like an object body (``writes.py``) and committed under a lock on its upload
row, replacing (and freeing) an earlier part with the same number. Completion runs in one
transaction: a new version takes over the listed parts' blocks, shifted to their offsets,
without copying a byte; the upload and its unlisted parts are deleted; the new version is
added to the key's history exactly as a PutObject's (same lock, same condition check).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import asyncpg

from post3 import errors
from post3.backend import (
    NewVersion,
    ObjectAttributes,
    ObjectInfo,
    PartInfo,
    UploadCursor,
    UploadInfo,
    WriteCondition,
    attributes_to_pairs,
    stored_version,
    utcnow,
)
from post3.payload import PayloadStream
from post3.versioning import new_version
from post3_postgres.commits import commit_version, lock_key
from post3_postgres.database import BackendPart
from post3_postgres.writes import discard, stage_body

if TYPE_CHECKING:
    from post3_postgres.database import Connection, Database


def new_upload_id() -> str:
    """Sorts in creation order across processes (nanosecond clock first), then is random."""
    return f"{time.time_ns():016x}{secrets.token_hex(12)}"


def _upload_info(row: asyncpg.Record) -> UploadInfo:
    return UploadInfo.from_pairs(
        row["key"], row["upload_id"], row["initiated"],
        dict(zip(row["metadata_names"], row["metadata_values"], strict=True)),
        dict(zip(row["tag_names"], row["tag_values"], strict=True)),
    )


def _pairs(mapping: Mapping[str, str]) -> tuple[list[str], list[str]]:
    names = sorted(mapping)
    return names, [mapping[name] for name in names]


class MultipartMixin(BackendPart):
    async def _upload_row(
        self, bucket: str, key: str, upload_id: str, db: Database | Connection | None = None
    ) -> asyncpg.Record:
        row = await (db or self._db).fetchrow("get_upload", bucket, upload_id, key)
        if row is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        if row["upload_id"] is None:
            raise errors.NoSuchUpload(UploadId=upload_id)
        return row

    async def create_multipart_upload(
        self, bucket: str, key: str, *, attributes: ObjectAttributes,
        tags: Mapping[str, str], checksum_algorithm: str | None = None,
    ) -> UploadInfo:
        upload = UploadInfo(key, new_upload_id(), utcnow(), attributes, dict(tags),
                            checksum_algorithm)
        created = await self._db.fetchval(
            "create_upload", bucket, upload.upload_id, key, upload.initiated,
            *_pairs(upload.to_pairs()), *_pairs(tags)
        )
        if created is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        return upload

    async def get_multipart_upload(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        return _upload_info(await self._upload_row(bucket, key, upload_id))

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, body: PayloadStream
    ) -> PartInfo:
        bucket_id = (await self._upload_row(bucket, key, upload_id))["bucket_id"]
        staged = await stage_body(self._db, bucket, body)
        digest = body.digest
        info = PartInfo(part_number, digest.size, digest.md5_hex, utcnow(), dict(digest.checksums))
        try:
            async with self._db.transaction() as tx:
                # The upload may have been completed or aborted while the body arrived.
                if await tx.fetchval("lock_upload_for_part", upload_id, bucket_id, key) is None:
                    raise errors.NoSuchUpload(UploadId=upload_id)
                version_id = staged.version_id
                attributes: tuple[Any, ...] = (
                    info.size, info.etag, info.last_modified, [], [], [], [], [])
                if version_id is None:
                    version_id = await tx.fetchval(
                        "create_version", bucket, *attributes, staged.small
                    )
                elif await tx.fetchval("finish_version", version_id, *attributes) is None:
                    raise errors.InternalError("The upload was abandoned by the storage clean-up.")
                replaced = await tx.fetchval("part_version", upload_id, part_number)
                await tx.execute(
                    "put_part", upload_id, part_number, version_id, info.size, info.etag,
                    info.last_modified, json.dumps(info.checksums),
                )
                if replaced is not None:
                    await tx.execute("delete_version", replaced)
        except BaseException:
            await discard(self._db, staged.version_id)
            raise
        return info

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        await self._upload_row(bucket, key, upload_id)
        rows = await self._db.fetch("list_parts", upload_id)
        return [
            PartInfo(row["part_number"], row["size"], row["etag"], row["last_modified"],
                     json.loads(row["checksums"]))
            for row in rows
        ]

    async def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        info: ObjectInfo,
        condition: WriteCondition | None = None,
        version: NewVersion | None = None,
    ) -> ObjectInfo:
        version = version or new_version()
        async with self._db.transaction() as tx:
            bucket_id = (await self._upload_row(bucket, key, upload_id, tx))["bucket_id"]
            if await tx.fetchval("lock_upload", upload_id, bucket_id, key) is None:
                raise errors.NoSuchUpload(UploadId=upload_id)
            stored = {row["part_number"]: row for row in await tx.fetch("list_parts", upload_id)}
            versions: list[int] = []
            for part in parts:
                row = stored.get(part.part_number)
                if row is None or row["etag"] != part.etag:
                    raise errors.InvalidPart(PartNumber=part.part_number, ETag=part.etag)
                versions.append(row["version_id"])
            # Offsets from the bytes each part stored, which are more than its size when the
            # core encrypted it (post3.backend's contract).
            lengths = {row["version_id"]: row["stored"]
                       for row in await tx.fetch("stored_lengths", versions)}
            offsets: list[int] = []
            position = 0
            for version_id in versions:
                offsets.append(position)
                position += lengths.get(version_id, 0)
            _, status = await lock_key(tx, bucket, key)
            info = info.with_version(stored_version(version, status))
            version_id = await tx.fetchval(
                "create_version", bucket, info.size, info.etag, info.last_modified,
                list(info.part_sizes), *_pairs(attributes_to_pairs(info.attributes)),
                *_pairs(info.tags), None,
            )
            await tx.execute("adopt_part_blocks", version_id, versions, offsets)
            await tx.execute("delete_upload", upload_id)
            await commit_version(tx, bucket_id, key, info, version_id, condition)
        return info

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        async with self._db.transaction() as tx:
            bucket_id = (await self._upload_row(bucket, key, upload_id, tx))["bucket_id"]
            if await tx.fetchval("lock_upload", upload_id, bucket_id, key) is None:
                raise errors.NoSuchUpload(UploadId=upload_id)
            await tx.execute("delete_upload", upload_id)

    async def list_multipart_uploads_page(
        self, bucket: str, *, prefix: str = "", after: UploadCursor | None = None,
        limit: int = 1000,
    ) -> list[UploadInfo]:
        bucket_id = await self._bucket_id(bucket)
        cursor = after or UploadCursor("")
        rows = await self._db.fetch(
            "list_uploads", bucket_id, prefix, cursor.key, cursor.upload_id, limit
        )
        return [_upload_info(row) for row in rows]
