"""Versioning on disk: the status another process set is the one a commit stores by."""

from __future__ import annotations

import os

from post3_filesystem import FilesystemBackend

from post3.backend import ENABLED, NULL_VERSION, SUSPENDED
from post3.testing import put_bytes, read_object, read_stream
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


HOSTILE_KEYS = [
    "../escape", "a/../../b", ".", "..", "/leading", "//", "a//b", "trailing/", "%2e%2e/%2F",
    "nul\x00byte", "new\nline", "e\u0301 vs \u00e9", "a" * 1024, "\U0001f600" * 256,
    "%" * 1024, "/" * 1024, ("s" * 200 + "/") * 4 + "end", "null", "0" * 32, "x.tags",
]


async def test_hostile_keys_keep_their_versions_inside_the_bucket(backend, bucket):
    await backend.put_bucket_versioning(bucket, ENABLED)
    written = {}
    for i, key in enumerate(HOSTILE_KEYS):
        old = await put_bytes(backend, bucket, key, f"old {i}".encode())
        await put_bytes(backend, bucket, key, f"new {i}".encode())
        written[key] = old.version_id
    for i, key in enumerate(HOSTILE_KEYS):
        stream = await backend.open_object(bucket, key, version_id=written[key])
        assert stream.info.key == key
        assert await read_stream(stream) == f"old {i}".encode()
    page = await backend.list_object_versions_page(bucket, limit=10_000)
    assert [e.key for e in page] == sorted(HOSTILE_KEYS * 2)
    assert max(len(name.encode()) for name in names_under(backend.root)) <= 241
    for entry in page:
        await backend.delete_object_version(bucket, entry.key, entry.version_id)
    assert await backend.list_object_versions_page(bucket) == []
    assert names_under(os.path.join(backend.root, bucket, "objects")) == []
    assert names_under(os.path.join(backend.root, bucket, "versions")) == []
    await backend.delete_bucket(bucket)


def names_under(root: str) -> list[str]:
    """Every file and directory name below ``root`` (iterative: keys nest deep)."""
    names, stack = [], [root]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except FileNotFoundError:
            continue
        names += [entry.name for entry in entries]
        stack += [entry.path for entry in entries if entry.is_dir(follow_symlinks=False)]
    return names
