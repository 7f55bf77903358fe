"""Commits that change a key's history, shared by PutObject, delete markers, CopyObject and
CompleteMultipartUpload.

A commit runs inside one transaction: :func:`lock_key` first (the bucket's versioning status,
held until the commit, and the key's advisory lock, which every commit of the key takes, the
one-statement writes of unversioned buckets too), then the new version's ``versions`` row is
made live, then :func:`commit_version` checks the write condition against the key's latest
version, adds the version to the history (replacing the null version when it is one) and
brings the key's ``objects`` row in step.
"""

from __future__ import annotations

from post3 import errors
from post3.backend import NULL_VERSION, ObjectInfo, WriteCondition
from post3_postgres.database import Connection


async def lock_key(tx: Connection, bucket: str, key: str) -> tuple[int, str | None]:
    """Take the key's lock inside ``tx``: ``(bucket_id, versioning status)``, the status
    held until the commit (see lock_key_for_write in queries.sql)."""
    row = await tx.fetchrow("lock_key_for_write", bucket, key)
    if row is None:
        raise errors.NoSuchBucket(BucketName=bucket)
    return row["id"], row["versioning"]


async def commit_version(
    tx: Connection, bucket_id: int, key: str, info: ObjectInfo, version_id: int | None,
    condition: WriteCondition | None,
) -> None:
    """Add ``info`` (a version whose bytes are the live ``versions`` row ``version_id``, or a
    delete marker when that is None) as a version of ``key``, after :func:`lock_key`,
    checking ``condition`` against the key's latest version."""
    state = await tx.fetchrow("key_state", bucket_id, key)
    assert state is not None  # the statement always answers one row
    if condition is not None:
        condition.check(None if state["latest_sequence"] is None else ObjectInfo(
            key, state["latest_size"], state["latest_etag"], state["latest_last_modified"],
            delete_marker=state["latest_marker"],
        ))
    replaced = state["null_version"] if info.version_id == NULL_VERSION else None
    await tx.execute(
        "store_version", bucket_id, key, info.sequence, info.version_id,
        info.delete_marker, version_id, info.size, info.etag, info.last_modified,
        list(info.part_sizes), replaced,
    )
    await tx.execute("refresh_listing", bucket_id, key)

