"""Writes on disk: nothing left behind, readers pinned, sendfile, tags without rewriting."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest
from post3_filesystem import FilesystemBackend
from post3_filesystem.store import WRITE_BLOCK

from post3 import errors
from post3.payload import PayloadStream
from post3.testing import (
    MiB,
    Range,
    failing_payload,
    pattern,
    payload,
    put_bytes,
    read_object,
    read_stream,
)
from post3.testing.helpers import attrs


def tmp_entries(backend: FilesystemBackend) -> list[str]:
    return os.listdir(os.path.join(backend.root, ".post3", "tmp"))


def object_entries(backend: FilesystemBackend, bucket: str) -> list[str]:
    objects = os.path.join(backend.root, bucket, "objects")
    return os.listdir(objects) if os.path.exists(objects) else []


def held_body(first: bytes, release: asyncio.Event, rest: bytes = b"") -> PayloadStream:
    """A body that sends ``first``, then waits for ``release`` before sending ``rest``."""

    async def source():
        yield first
        await release.wait()
        if rest:
            yield rest

    return PayloadStream.from_iterable(source())


def largest_tmp_file(backend: FilesystemBackend) -> int:
    tmp = os.path.join(backend.root, ".post3", "tmp")
    return max([os.path.getsize(os.path.join(tmp, n)) for n in os.listdir(tmp)], default=-1)


async def wait_for_tmp_bytes(backend: FilesystemBackend, at_least: int) -> None:
    for _ in range(500):
        if largest_tmp_file(backend) >= at_least:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the upload never reached its temporary file")


async def test_cancelled_upload_leaves_no_temporary_file(backend, bucket):
    await put_bytes(backend, bucket, "k", b"old")
    release = asyncio.Event()
    task = asyncio.create_task(
        backend.put_object(bucket, "k", held_body(pattern(2 * MiB), release), attributes=attrs())
    )
    await wait_for_tmp_bytes(backend, MiB)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tmp_entries(backend) == []
    assert await read_object(backend, bucket, "k") == b"old"


async def test_corrupt_upload_leaves_nothing(backend, bucket):
    with pytest.raises(errors.BadDigest):
        await backend.put_object(bucket, "k", failing_payload(pattern(3 * MiB)), attributes=attrs())
    assert tmp_entries(backend) == []
    assert object_entries(backend, bucket) == []
    with pytest.raises(errors.IncompleteBody):
        await backend.upload_part(
            bucket, "k",
            (await backend.create_multipart_upload(bucket, "k", attributes=attrs(),
                                                   tags={})).upload_id,
            1, payload(b"short", size=10),
        )
    assert tmp_entries(backend) == []


@pytest.fixture
def thread_hops(backend, monkeypatch):
    """Every call handed to the backend's thread pool, by name."""
    hops: list[str] = []
    real = backend.executor.submit

    def counting(fn, *args, **kwargs):
        hops.append(getattr(fn, "__name__", repr(fn)))
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(backend.executor, "submit", counting)
    return hops


async def test_a_small_put_takes_one_thread_hop(backend, bucket, thread_hops):
    body = pattern(4096)
    info = await backend.put_object(bucket, "small", payload(body), attributes=attrs())
    assert thread_hops == ["_put_whole"]  # write, seal, fsync and commit together
    assert info.size == 4096
    assert await read_object(backend, bucket, "small") == body
    assert tmp_entries(backend) == []


async def test_a_small_put_writes_its_bytes_and_header_in_one_call(backend, bucket,
                                                                  monkeypatch):
    calls: list[int] = []
    real = os.writev

    def short_writev(fd, buffers):  # the kernel may take fewer bytes than asked: 1,000 here
        calls.append(sum(memoryview(b).nbytes for b in buffers))
        joined = b"".join(bytes(b) for b in buffers)
        return real(fd, [joined[:1000]])

    monkeypatch.setattr(os, "writev", short_writev)
    body = pattern(4096)
    await backend.put_object(bucket, "small", payload(body), attributes=attrs())
    assert calls[0] > 4096 and len(calls) == -(-calls[0] // 1000)  # the rest, 1,000 at a time
    monkeypatch.setattr(os, "writev", real)
    assert await read_object(backend, bucket, "small") == body
    assert (await backend.head_object(bucket, "small")).size == 4096


def test_temporary_names_differ_in_a_forked_child(tmp_path):
    from post3_filesystem import files

    first = files.unique()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first name
        os.write(writer, files.unique().encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(pid, 0)
    with os.fdopen(reader) as pipe:
        child = pipe.read()
    parent = files.unique()
    assert len({first, child, parent}) == 3
    assert child[:12] != parent[:12]  # another prefix: the counters may meet, the names not


async def test_a_put_of_exactly_one_block_takes_one_thread_hop(backend, bucket, thread_hops):
    body = pattern(WRITE_BLOCK)
    info = await backend.put_object(bucket, "block", payload(body), attributes=attrs())
    assert thread_hops == ["_put_whole"]
    assert info.size == WRITE_BLOCK
    assert await read_object(backend, bucket, "block") == body
    thread_hops.clear()
    longer = pattern(WRITE_BLOCK + 1, seed=3)  # one byte more: streamed, block by block
    await backend.put_object(bucket, "longer", payload(longer), attributes=attrs())
    assert thread_hops[0] == "_create_temp" and thread_hops[-1] == "_commit_object"
    assert await read_object(backend, bucket, "longer") == longer
    assert tmp_entries(backend) == []


async def test_a_failed_write_fails_the_put_and_leaves_nothing(backend, bucket, monkeypatch):
    from post3_filesystem import files

    def full_disk(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "write_on", full_disk)
    blocks = [pattern(WRITE_BLOCK, seed=n) for n in range(3)]

    async def source():
        for block in blocks:
            yield block

    with pytest.raises(OSError):
        await backend.put_object(bucket, "large", PayloadStream.from_iterable(source()),
                                 attributes=attrs())
    assert tmp_entries(backend) == []
    assert object_entries(backend, bucket) == []


async def test_a_large_put_checks_the_bucket_before_its_rest(backend, thread_hops):
    with pytest.raises(errors.NoSuchBucket):
        await backend.put_object("no-such-bucket", "k", payload(pattern(3 * MiB)),
                                 attributes=attrs())
    assert thread_hops == ["_create_temp"]  # nothing written: the first hop refused it
    with pytest.raises(errors.NoSuchBucket):
        await backend.put_object("no-such-bucket", "k", payload(b"small"), attributes=attrs())
    assert tmp_entries(backend) == []


async def test_starting_worker_does_not_sweep_a_live_upload(backend, bucket):
    release = asyncio.Event()
    first, rest = pattern(MiB + 5, seed=1), pattern(700, seed=2)
    task = asyncio.create_task(
        backend.put_object(bucket, "k", held_body(first, release, rest), attributes=attrs())
    )
    await wait_for_tmp_bytes(backend, MiB)
    other = FilesystemBackend(root=backend.root)  # another worker starting on the same root
    await other.open()
    try:
        release.set()
        info = await task
        assert info.size == len(first + rest)
        assert await read_object(other, bucket, "k") == first + rest
    finally:
        await other.close()


async def test_reader_keeps_its_version_through_overwrite_and_delete(backend, bucket):
    old, new = pattern(3 * MiB, seed=1), pattern(MiB, seed=2)
    await put_bytes(backend, bucket, "k", old)
    whole = await backend.open_object(bucket, "k")
    ranged = await backend.open_object(bucket, "k", Range(MiB - 10, 2 * MiB + 10))
    await put_bytes(backend, bucket, "k", new)
    assert await read_object(backend, bucket, "k") == new
    await backend.delete_object(bucket, "k")
    assert await read_stream(whole) == old
    file, offset, count = ranged.sendfile()
    assert os.pread(file.fileno(), count, offset) == old[MiB - 10: 2 * MiB + 10]
    await ranged.aclose()


@pytest.mark.parametrize(
    ("byte_range", "start", "stop"),
    [(None, 0, 1000), (Range(0, 1), 0, 1), (Range(100, 1000), 100, 1000),
     (Range(suffix=10), 990, 1000), (Range(suffix=5000), 0, 1000)],
)
async def test_sendfile_sends_exactly_the_range(backend, bucket, byte_range, start, stop):
    data = pattern(1000)
    await put_bytes(backend, bucket, "k", data, attributes=attrs({"x-amz-meta-long": "m" * 500}))
    stream = await backend.open_object(bucket, "k", byte_range)
    left, right = socket.socketpair()
    try:
        file, offset, count = stream.sendfile()
        assert (offset, count) == (start, stop - start)
        left.setblocking(False)
        sent = await asyncio.get_running_loop().sock_sendfile(left, file, offset, count)
        assert sent == stop - start
        left.close()
        received = b""
        while chunk := right.recv(65536):
            received += chunk
        assert received == data[start:stop]
    finally:
        left.close()
        right.close()
        await stream.aclose()


async def test_tagging_replaces_tags_without_rewriting_data(backend, bucket):
    await put_bytes(backend, bucket, "dir/k", pattern(MiB), tags={"a": "1"})
    record = os.path.join(backend.root, bucket, "objects", "ddir", "ok")
    before = os.stat(record)
    await backend.put_object_tags(bucket, "dir/k", {"b": "2"})
    after = os.stat(record)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert dict((await backend.head_object(bucket, "dir/k")).tags) == {"b": "2"}
    stream = await backend.open_object(bucket, "dir/k")
    assert dict(stream.info.tags) == {"b": "2"}
    await stream.aclose()
    # a new version brings its own tags; the old tag file does not stick to it
    await put_bytes(backend, bucket, "dir/k", b"v2", tags={"c": "3"})
    assert dict((await backend.head_object(bucket, "dir/k")).tags) == {"c": "3"}
    await backend.put_object_tags(bucket, "dir/k", {})
    assert dict((await backend.head_object(bucket, "dir/k")).tags) == {}
    await backend.delete_object(bucket, "dir/k")
    assert object_entries(backend, bucket) == []


async def test_without_fsync_still_round_trips(tmp_path):
    backend = FilesystemBackend.from_options({"root": str(tmp_path), "fsync": "off"})
    await backend.open()
    try:
        await backend.create_bucket("b-1")
        await put_bytes(backend, "b-1", "k", b"quick")
        assert await read_object(backend, "b-1", "k") == b"quick"
    finally:
        await backend.close()


async def test_delete_bucket_removes_pending_uploads(backend, bucket):
    upload = await backend.create_multipart_upload(bucket, "k", attributes=attrs(), tags={})
    await backend.upload_part(bucket, "k", upload.upload_id, 1, payload(b"part"))
    await backend.delete_bucket(bucket)
    assert bucket not in os.listdir(backend.root)
    assert tmp_entries(backend) == []
