"""Objects: put, head, open (whole and ranged), overwrite, delete."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from post3 import errors
from post3.backend import Backend
from post3.testing.base import ConformanceBase, optional
from post3.testing.helpers import (
    MiB,
    Range,
    attrs,
    pattern,
    payload,
    put_bytes,
    read_object,
    stored_pairs,
)

METADATA = {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-cache",
    "x-amz-meta-colour": "blue",
    "x-amz-meta-empty": "",
    "x-amz-meta-unicode": "café 😀",
}


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class ObjectTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_put_then_head_and_open(self, backend: Backend, bucket: str) -> None:
        data = b"hello, world\n"
        before = dt.datetime.now(dt.UTC).replace(microsecond=0)
        put = await backend.put_object(
            bucket, "greeting.txt", payload(data), attributes=attrs(METADATA), tags={"kind": "text"}
        )
        after = dt.datetime.now(dt.UTC)

        assert put.key == "greeting.txt"
        assert put.size == len(data)
        assert put.etag == md5(data)
        assert put.last_modified.utcoffset() == dt.timedelta(0)
        assert put.last_modified.microsecond == 0
        assert before <= put.last_modified <= after
        assert stored_pairs(put) == METADATA
        assert dict(put.tags) == {"kind": "text"}
        assert put.part_sizes == ()

        head = await backend.head_object(bucket, "greeting.txt")
        assert head.key == put.key
        assert (head.size, head.etag, head.last_modified) == (put.size, put.etag, put.last_modified)
        assert stored_pairs(head) == METADATA
        assert dict(head.tags) == {"kind": "text"}
        assert head.part_sizes == ()

        stream = await backend.open_object(bucket, "greeting.txt")
        try:
            assert (stream.start, stream.stop, stream.length) == (0, len(data), len(data))
            assert stream.info.etag == put.etag
            assert b"".join([block async for block in stream]) == data
        finally:
            await stream.aclose()

    @pytest.mark.asyncio
    async def test_overwrite_replaces_bytes_metadata_and_tags(
        self, backend: Backend, bucket: str
    ) -> None:
        await put_bytes(backend, bucket, "k", b"first version", attributes=attrs(METADATA),
                        tags={"v": "1"})
        second = await put_bytes(backend, bucket, "k", b"second",
                                 attributes=attrs({"content-type": "application/json"}))

        head = await backend.head_object(bucket, "k")
        assert (head.size, head.etag) == (6, md5(b"second")) == (second.size, second.etag)
        assert stored_pairs(head) == {"content-type": "application/json"}
        assert dict(head.tags) == {}
        assert await read_object(backend, bucket, "k") == b"second"
        assert [o.key for o in await backend.list_objects_page(bucket)] == ["k"]

    @pytest.mark.asyncio
    async def test_empty_object(self, backend: Backend, bucket: str) -> None:
        put = await put_bytes(backend, bucket, "empty", b"")
        assert (put.size, put.etag) == (0, md5(b""))
        head = await backend.head_object(bucket, "empty")
        assert (head.size, head.etag) == (0, "d41d8cd98f00b204e9800998ecf8427e")
        assert await read_object(backend, bucket, "empty") == b""
        assert [(o.key, o.size) for o in await backend.list_objects_page(bucket)] == [
            ("empty", 0)
        ]

    @pytest.mark.asyncio
    async def test_multi_mebibyte_object(self, backend: Backend, bucket: str) -> None:
        data = pattern(3 * MiB + MiB // 2, seed=1)
        put = await backend.put_object(
            bucket, "big.bin", payload(data, chunk_size=300_000), attributes=attrs()
        )
        assert (put.size, put.etag) == (len(data), md5(data))

        stream = await backend.open_object(bucket, "big.bin")
        blocks = []
        try:
            async for block in stream:
                # Downloads go out in blocks: no block may be the whole object.
                assert len(block) <= 2 * MiB
                blocks.append(block)
        finally:
            await stream.aclose()
        assert b"".join(blocks) == data

        middle = await read_object(backend, bucket, "big.bin", Range(MiB - 10, 2 * MiB + 10))
        assert middle == data[MiB - 10: 2 * MiB + 10]

    @pytest.mark.asyncio
    async def test_ranges(self, backend: Backend, bucket: str) -> None:
        data = bytes(range(100))
        await put_bytes(backend, bucket, "r", data)
        cases = [
            (Range(0, 1), data[:1]),
            (Range(10, 20), data[10:20]),
            (Range(90), data[90:]),  # bytes=90-
            (Range(99, 100), data[99:]),
            (Range(95, 1000), data[95:]),  # a stop past the end is clamped
            (Range(0, 100), data),
            (Range(suffix=7), data[-7:]),  # bytes=-7
            (Range(suffix=500), data),  # a suffix longer than the object is all of it
        ]
        for byte_range, expected in cases:
            stream = await backend.open_object(bucket, "r", byte_range)
            start, stop = byte_range.resolve(stream.info)
            assert (stream.start, stream.stop, stream.length) == (start, stop, stop - start)
            assert stream.info.size == 100
            got = b"".join([block async for block in stream])
            await stream.aclose()
            assert got == expected, byte_range

    @pytest.mark.asyncio
    async def test_unsatisfiable_range_raises_from_open_object(
        self, backend: Backend, bucket: str
    ) -> None:
        await put_bytes(backend, bucket, "r", b"0123456789")
        await put_bytes(backend, bucket, "empty", b"")
        for key, byte_range in [("r", Range(10)), ("r", Range(50, 60)), ("empty", Range(0)),
                                ("empty", Range(suffix=1))]:
            with pytest.raises(errors.InvalidRange):
                await backend.open_object(bucket, key, byte_range)

    @pytest.mark.asyncio
    async def test_missing_key_is_no_such_key(self, backend: Backend, bucket: str) -> None:
        await put_bytes(backend, bucket, "present", b"x")
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "absent")
        with pytest.raises(errors.NoSuchKey):
            await backend.open_object(bucket, "absent")
        with pytest.raises(errors.NoSuchKey):
            await backend.open_object(bucket, "absent", Range(0, 1))
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "presen")
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "present/")

    @pytest.mark.asyncio
    async def test_delete_object(self, backend: Backend, bucket: str) -> None:
        await put_bytes(backend, bucket, "gone", b"x")
        await put_bytes(backend, bucket, "stays", b"y")
        await backend.delete_object(bucket, "gone")

        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "gone")
        with pytest.raises(errors.NoSuchKey):
            await backend.open_object(bucket, "gone")
        assert [o.key for o in await backend.list_objects_page(bucket)] == ["stays"]

    @pytest.mark.asyncio
    async def test_delete_is_idempotent(self, backend: Backend, bucket: str) -> None:
        await backend.delete_object(bucket, "never-existed")
        await put_bytes(backend, bucket, "k", b"x")
        await backend.delete_object(bucket, "k")
        await backend.delete_object(bucket, "k")
        assert await backend.list_objects_page(bucket) == []

    @pytest.mark.asyncio
    async def test_put_after_delete(self, backend: Backend, bucket: str) -> None:
        await put_bytes(backend, bucket, "k", b"one")
        await backend.delete_object(bucket, "k")
        await put_bytes(backend, bucket, "k", b"two")
        assert await read_object(backend, bucket, "k") == b"two"

    @pytest.mark.asyncio
    async def test_put_object_tags_replaces_tags_only(
        self, backend: Backend, bucket: str
    ) -> None:
        put = await put_bytes(backend, bucket, "t", b"tagged bytes", attributes=attrs(METADATA),
                              tags={"a": "1", "b": "2"})
        with optional("object tagging"):
            await backend.put_object_tags(bucket, "t", {"c": "3"})

        head = await backend.head_object(bucket, "t")
        assert dict(head.tags) == {"c": "3"}
        assert (head.size, head.etag, head.last_modified) == (put.size, put.etag,
                                                              put.last_modified)
        assert stored_pairs(head) == METADATA
        assert await read_object(backend, bucket, "t") == b"tagged bytes"

        await backend.put_object_tags(bucket, "t", {})
        assert dict((await backend.head_object(bucket, "t")).tags) == {}
        with pytest.raises(errors.NoSuchKey):
            await backend.put_object_tags(bucket, "absent", {"a": "1"})

