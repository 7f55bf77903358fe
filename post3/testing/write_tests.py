"""Writes: atomic or nothing, conditional, pinned readers, copies and batch deletes."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest

from post3 import errors
from post3.backend import Backend, ObjectInfo, WriteCondition
from post3.payload import PayloadStream
from post3.testing.base import OTHER_BUCKET, ConformanceBase
from post3.testing.helpers import (
    MiB,
    attrs,
    failing_payload,
    pattern,
    payload,
    put_bytes,
    read_object,
    stored_pairs,
)

#: Long enough for any backend's reader to hand out more than one block.
READER_SIZE = 2 * MiB + 12345

#: What a second writer may get when a conditional write loses a race: AWS answers either.
LOST_RACE = (errors.PreconditionFailed, errors.ConditionalRequestConflict)


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


async def assert_unchanged(backend: Backend, bucket: str, key: str, before: ObjectInfo,
                           data: bytes) -> None:
    head = await backend.head_object(bucket, key)
    assert (head.size, head.etag, head.last_modified) == (before.size, before.etag,
                                                          before.last_modified)
    assert stored_pairs(head) == stored_pairs(before)
    assert await read_object(backend, bucket, key) == data


class AtomicityTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_failed_body_leaves_no_object(self, backend: Backend, bucket: str) -> None:
        # Longer than a block, so a backend that writes block by block has written some.
        with pytest.raises(errors.BadDigest):
            await backend.put_object(
                bucket, "bad", failing_payload(pattern(MiB + 300_000), chunk_size=256 * 1024),
                attributes=attrs(),
            )
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "bad")
        assert await backend.list_objects_page(bucket) == []
        await backend.delete_bucket(bucket)  # nothing left behind keeps the bucket alive

    @pytest.mark.asyncio
    async def test_failed_body_keeps_existing_object(
        self, backend: Backend, bucket: str
    ) -> None:
        before = await put_bytes(backend, bucket, "k", b"the good version",
                                 attributes=attrs({"x-amz-meta-v": "1"}))
        with pytest.raises(errors.BadDigest):
            await backend.put_object(bucket, "k", failing_payload(pattern(300_000)),
                                     attributes=attrs({"x-amz-meta-v": "2"}))
        await assert_unchanged(backend, bucket, "k", before, b"the good version")

    @pytest.mark.asyncio
    async def test_multi_block_failed_body_keeps_existing_object(
        self, backend: Backend, bucket: str
    ) -> None:
        old = pattern(MiB + 1, seed=3)
        before = await put_bytes(backend, bucket, "k", old)
        with pytest.raises(errors.BadDigest):
            await backend.put_object(bucket, "k", failing_payload(pattern(2 * MiB + 7, seed=4),
                                                                  chunk_size=256 * 1024),
                                     attributes=attrs())
        await assert_unchanged(backend, bucket, "k", before, old)

    @pytest.mark.asyncio
    async def test_short_body_is_incomplete_and_leaves_nothing(
        self, backend: Backend, bucket: str
    ) -> None:
        before = await put_bytes(backend, bucket, "existing", b"old")
        with pytest.raises(errors.IncompleteBody):
            await backend.put_object(bucket, "new", payload(b"12345", size=10), attributes=attrs())
        with pytest.raises(errors.IncompleteBody):
            await backend.put_object(bucket, "existing", payload(b"12345", size=10),
                                     attributes=attrs())
        with pytest.raises(errors.IncompleteBody):
            await backend.put_object(bucket, "new", payload(b"12345", size=3), attributes=attrs())
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "new")
        await assert_unchanged(backend, bucket, "existing", before, b"old")
        assert [o.key for o in await backend.list_objects_page(bucket)] == ["existing"]

    @pytest.mark.asyncio
    async def test_cancelled_put_leaves_nothing(self, backend: Backend, bucket: str) -> None:
        before = await put_bytes(backend, bucket, "existing", b"old")
        sent_some = asyncio.Event()

        async def stalled() -> AsyncIterator[bytes]:
            yield b"partial " * 1000
            sent_some.set()
            await asyncio.Event().wait()  # the client stops sending
            yield b"never"

        for key in ("new", "existing"):
            sent_some.clear()
            body = PayloadStream.from_iterable(stalled(), size=None)
            task = asyncio.create_task(backend.put_object(bucket, key, body, attributes=attrs()))
            async with asyncio.timeout(10):
                await sent_some.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "new")
        await assert_unchanged(backend, bucket, "existing", before, b"old")

    @pytest.mark.asyncio
    async def test_reader_keeps_old_bytes_when_key_is_overwritten(
        self, backend: Backend, bucket: str
    ) -> None:
        old, new = pattern(READER_SIZE, seed=5), pattern(READER_SIZE, seed=6)
        await put_bytes(backend, bucket, "k", old)
        stream = await backend.open_object(bucket, "k")
        try:
            blocks = aiter(stream)
            async with asyncio.timeout(10):
                received = [await anext(blocks)]
                await put_bytes(backend, bucket, "k", new)
                received += [block async for block in blocks]
        finally:
            await stream.aclose()
        assert stream.info.etag == md5(old)
        assert b"".join(received) == old
        assert await read_object(backend, bucket, "k") == new

    @pytest.mark.asyncio
    async def test_reader_keeps_old_bytes_when_key_is_deleted(
        self, backend: Backend, bucket: str
    ) -> None:
        old = pattern(READER_SIZE, seed=7)
        await put_bytes(backend, bucket, "k", old)
        stream = await backend.open_object(bucket, "k")
        try:
            blocks = aiter(stream)
            async with asyncio.timeout(10):
                received = [await anext(blocks)]
                await backend.delete_object(bucket, "k")
                received += [block async for block in blocks]
        finally:
            await stream.aclose()
        assert b"".join(received) == old
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "k")

    @pytest.mark.asyncio
    async def test_concurrent_writers_of_one_key_never_mix(
        self, backend: Backend, bucket: str
    ) -> None:
        bodies = [pattern(200_000, seed=s) for s in (10, 11, 12)]
        async with asyncio.timeout(10):
            await asyncio.gather(*[
                backend.put_object(bucket, "k", payload(b, chunk_size=20_000, pause=True),
                                   attributes=attrs())
                for b in bodies
            ])
        stored = await read_object(backend, bucket, "k")
        assert stored in bodies
        assert (await backend.head_object(bucket, "k")).etag == md5(stored)


class ConditionTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_if_none_match_creates_absent_key(self, backend: Backend, bucket: str) -> None:
        await put_bytes(backend, bucket, "k", b"new",
                        condition=WriteCondition(if_none_match=True))
        assert await read_object(backend, bucket, "k") == b"new"

    @pytest.mark.asyncio
    async def test_if_none_match_on_existing_key_fails(
        self, backend: Backend, bucket: str
    ) -> None:
        before = await put_bytes(backend, bucket, "k", b"original")
        with pytest.raises(errors.PreconditionFailed):
            await put_bytes(backend, bucket, "k", b"intruder",
                            condition=WriteCondition(if_none_match=True))
        await assert_unchanged(backend, bucket, "k", before, b"original")

    @pytest.mark.asyncio
    async def test_concurrent_create_if_absent_has_one_winner(
        self, backend: Backend, bucket: str
    ) -> None:
        bodies = [f"writer {i} ".encode() * 5000 for i in range(2)]
        async with asyncio.timeout(10):
            results = await asyncio.gather(
                *[
                    backend.put_object(
                        bucket, "lock", payload(b, chunk_size=5000, pause=True), attributes=attrs(),
                        condition=WriteCondition(if_none_match=True),
                    )
                    for b in bodies
                ],
                return_exceptions=True,
            )
        winners = [r for r in results if isinstance(r, ObjectInfo)]
        losers = [r for r in results if isinstance(r, LOST_RACE)]
        assert (len(winners), len(losers)) == (1, 1), results
        assert await read_object(backend, bucket, "lock") == bodies[results.index(winners[0])]

    @pytest.mark.asyncio
    async def test_if_match(self, backend: Backend, bucket: str) -> None:
        first = await put_bytes(backend, bucket, "k", b"one")
        with pytest.raises(errors.PreconditionFailed):
            await put_bytes(backend, bucket, "k", b"two",
                            condition=WriteCondition(if_match=md5(b"something else")))
        await assert_unchanged(backend, bucket, "k", first, b"one")

        second = await put_bytes(backend, bucket, "k", b"two",
                                 condition=WriteCondition(if_match=first.etag))
        assert second.etag == md5(b"two")
        assert await read_object(backend, bucket, "k") == b"two"

        # The first etag is stale now.
        with pytest.raises(errors.PreconditionFailed):
            await put_bytes(backend, bucket, "k", b"three",
                            condition=WriteCondition(if_match=first.etag))
        assert await read_object(backend, bucket, "k") == b"two"

    @pytest.mark.asyncio
    async def test_if_match_on_absent_key_is_no_such_key(
        self, backend: Backend, bucket: str
    ) -> None:
        with pytest.raises(errors.NoSuchKey):
            await put_bytes(backend, bucket, "absent", b"x",
                            condition=WriteCondition(if_match=md5(b"x")))
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "absent")


class CopyTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_copy_in_same_bucket_keeps_metadata_and_tags(
        self, backend: Backend, bucket: str
    ) -> None:
        data = pattern(100_000)
        source = await put_bytes(
            backend, bucket, "src", data,
            attributes=attrs({"content-type": "image/png", "x-amz-meta-a": "1"}),
                                 tags={"t": "v"})
        copy = await backend.copy_object(bucket, "src", bucket, "dst", attributes=None, tags=None)

        assert (copy.key, copy.size, copy.etag) == ("dst", source.size, source.etag)
        head = await backend.head_object(bucket, "dst")
        assert stored_pairs(head) == {"content-type": "image/png", "x-amz-meta-a": "1"}
        assert dict(head.tags) == {"t": "v"}
        assert await read_object(backend, bucket, "dst") == data
        assert await read_object(backend, bucket, "src") == data

    @pytest.mark.asyncio
    async def test_copy_across_buckets_replacing_metadata_and_tags(
        self, backend: Backend, bucket: str
    ) -> None:
        await backend.create_bucket(OTHER_BUCKET)
        await put_bytes(backend, bucket, "src", b"payload",
                        attributes=attrs({"x-amz-meta-old": "yes"}), tags={"old": "1"})
        await backend.copy_object(bucket, "src", OTHER_BUCKET, "dir/dst",
                                  attributes=attrs({"x-amz-meta-new": "yes"}), tags={"new": "2"})

        head = await backend.head_object(OTHER_BUCKET, "dir/dst")
        assert stored_pairs(head) == {"x-amz-meta-new": "yes"}
        assert dict(head.tags) == {"new": "2"}
        assert await read_object(backend, OTHER_BUCKET, "dir/dst") == b"payload"
        assert [o.key for o in await backend.list_objects_page(bucket)] == ["src"]

    @pytest.mark.asyncio
    async def test_copy_onto_itself_replaces_metadata(
        self, backend: Backend, bucket: str
    ) -> None:
        data = pattern(MiB + 100, seed=8)
        source = await put_bytes(backend, bucket, "self", data,
                                 attributes=attrs({"x-amz-meta-v": "1"}))
        copy = await backend.copy_object(bucket, "self", bucket, "self",
                                         attributes=attrs({"x-amz-meta-v": "2"}), tags={})
        assert copy.etag == source.etag
        head = await backend.head_object(bucket, "self")
        assert stored_pairs(head) == {"x-amz-meta-v": "2"}
        assert await read_object(backend, bucket, "self") == data

    @pytest.mark.asyncio
    async def test_copy_of_missing_source_is_no_such_key(
        self, backend: Backend, bucket: str
    ) -> None:
        with pytest.raises(errors.NoSuchKey):
            await backend.copy_object(bucket, "absent", bucket, "dst", attributes=None, tags=None)
        assert await backend.list_objects_page(bucket) == []

    @pytest.mark.asyncio
    async def test_copy_checks_source_and_destination_conditions(
        self, backend: Backend, bucket: str
    ) -> None:
        await put_bytes(backend, bucket, "src", b"source")
        before = await put_bytes(backend, bucket, "dst", b"destination")

        with pytest.raises(errors.PreconditionFailed):
            await backend.copy_object(bucket, "src", bucket, "dst", attributes=None, tags=None,
                                      condition=WriteCondition(if_none_match=True))
        await assert_unchanged(backend, bucket, "dst", before, b"destination")

        def refuse(info: ObjectInfo) -> None:
            assert info.etag == md5(b"source")
            raise errors.PreconditionFailed(Condition="x-amz-copy-source-if-match")

        with pytest.raises(errors.PreconditionFailed):
            await backend.copy_object(bucket, "src", bucket, "new", attributes=None, tags=None,
                                      source_check=refuse)
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "new")
