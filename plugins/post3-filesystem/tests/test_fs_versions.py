"""Versioning on disk: the status another process set is the one a commit stores by."""

from __future__ import annotations

from post3_filesystem import FilesystemBackend

from post3.backend import ENABLED, NULL_VERSION, SUSPENDED
from post3.testing import put_bytes, read_object
from post3.versioning import new_version


async def test_a_commit_stores_by_the_status_another_process_set(backend, bucket):
    await put_bytes(backend, bucket, "k", b"null")   # this process has seen no status
    other = FilesystemBackend(root=backend.root)     # another worker on the same root
    await other.open()
    try:
        await other.put_bucket_versioning(bucket, ENABLED)
        written = await put_bytes(backend, bucket, "k", b"versioned")
        assert written.version_id != NULL_VERSION
        head = await other.head_object(bucket, "k", written.version_id)
        assert (head.version_id, head.sequence) == (written.version_id, written.sequence)
        marker = await backend.delete_object(bucket, "k", marker=new_version())
        assert marker is not None and marker.version_id not in (NULL_VERSION, "")

        await other.put_bucket_versioning(bucket, SUSPENDED)
        suspended = await put_bytes(backend, bucket, "k", b"null again")
        assert suspended.version_id == NULL_VERSION
        page = await other.list_object_versions_page(bucket)
        assert [(e.version_id, e.is_latest) for e in page] == [
            (NULL_VERSION, True), (marker.version_id, False), (written.version_id, False)]
        assert await read_object(other, bucket, "k") == b"null again"
    finally:
        await other.close()


async def test_an_unversioned_delete_after_another_process_enabled_adds_a_marker(
        backend, bucket):
    await put_bytes(backend, bucket, "k", b"x")
    other = FilesystemBackend(root=backend.root)
    await other.open()
    try:
        await other.put_bucket_versioning(bucket, ENABLED)
        marker = await backend.delete_object(bucket, "k", marker=new_version())
        assert marker is not None and marker.delete_marker
        assert await read_object(other, bucket, "k") == b""
        assert [e.delete_marker for e in await other.list_object_versions_page(bucket)] == [
            True, False]
    finally:
        await other.close()
