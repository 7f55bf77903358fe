"""A latest version's record is read on the event loop when the page cache holds it, and in
the thread pool when a read would wait on the disk: the same answer either way."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import pytest
from post3_filesystem import records
from post3_filesystem.versions import KeyPaths

from post3.testing import put_bytes, read_object

pytestmark = pytest.mark.skipif(records.RWF_NOWAIT is None, reason="no RWF_NOWAIT here")


def uncached(fd: int) -> bool:
    """Drop the file's clean pages from the page cache, as memory pressure would, and say
    whether a cached-only read is then refused. The kernel may keep pages it has just used
    (per-CPU batches not yet on its lists), so it is asked again for up to 2 s."""
    os.fdatasync(fd)
    for _ in range(200):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        try:
            records.pread(fd, 4096, 0, cached_only=True)
        except records.NotCached:
            return True
        time.sleep(0.01)
    return False


@contextlib.contextmanager
def pool_hops(backend) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """The names of the functions the backend hands its thread pool meanwhile."""
    hops: list[str] = []
    run = backend._run

    async def counted(function, *args):  # type: ignore[no-untyped-def]
        hops.append(function.__name__)
        return await run(function, *args)

    backend._run = counted
    try:
        yield hops
    finally:
        backend._run = run


def latest(backend, bucket: str, key: str) -> KeyPaths:  # type: ignore[no-untyped-def]
    return KeyPaths.of(backend._bucket_dir(bucket), key)


def test_a_read_the_cache_cannot_serve_is_refused_not_waited_for(tmp_path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 65536)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert uncached(fd), "the page cache kept the file's pages"
        assert records.pread(fd, 4096, 0) == b"x" * 4096  # read, so now cached
        assert records.pread(fd, 4096, 0, cached_only=True) == b"x" * 4096
    finally:
        os.close(fd)


async def test_a_cached_record_is_read_without_the_thread_pool(backend, bucket) -> None:
    await put_bytes(backend, bucket, "k", b"hello", tags={"a": "1"})
    with pool_hops(backend) as hops:
        info = await backend.head_object(bucket, "k")
        assert (info.size, info.tags) == (5, {"a": "1"})
        assert hops == []
        # the bytes still come through the pool (or sendfile): only the record is read inline
        assert await read_object(backend, bucket, "k") == b"hello"
        assert "_open_record" not in hops


async def test_a_record_or_tag_file_not_cached_is_read_in_the_pool(
        backend, bucket, monkeypatch) -> None:
    """A read the page cache cannot serve (made so here for one file: which pages the kernel
    keeps is not the test's to decide) sends the whole lookup to the pool."""
    await put_bytes(backend, bucket, "k", b"hello", tags={"a": "1"})
    await backend.put_object_tags(bucket, "k", {"b": "2"})  # tags changed: a side file
    cached = await backend.head_object(bucket, "k")
    assert cached.tags == {"b": "2"}
    paths = latest(backend, bucket, "k")
    pread = records.pread
    for missing in (paths.latest, paths.latest_tags):
        def pread_missing(fd, length, offset, cached_only=False):  # type: ignore[no-untyped-def]
            if cached_only and os.readlink(f"/proc/self/fd/{fd}") == missing:  # noqa: B023
                raise records.NotCached
            return pread(fd, length, offset, cached_only)

        monkeypatch.setattr(records, "pread", pread_missing)
        with pool_hops(backend) as hops:
            assert await backend.head_object(bucket, "k") == cached
        assert hops == ["_open_record"], missing
    assert await read_object(backend, bucket, "k") == b"hello"


async def test_a_missing_key_or_bucket_is_answered_the_same(backend, bucket) -> None:
    with pytest.raises(Exception, match="NoSuchKey|does not exist"):
        await backend.head_object(bucket, "absent")
    with pytest.raises(Exception, match="NoSuchBucket|bucket"):
        await backend.open_object("no-such-bucket", "k")
