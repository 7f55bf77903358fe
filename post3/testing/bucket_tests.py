"""Buckets: create, list, head, delete, tags; and NoSuchBucket wherever a bucket is missing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import pytest

from post3 import errors
from post3.backend import Backend, WriteCondition
from post3.testing.base import BUCKET, OTHER_BUCKET, ConformanceBase, optional
from post3.testing.helpers import attrs, payload, put_bytes, read_object

MISSING = "no-such-bucket"


class BucketTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_storage_starts_empty(self, backend: Backend) -> None:
        assert await backend.list_buckets() == []

    @pytest.mark.asyncio
    async def test_create_bucket_then_head_and_list(self, backend: Backend) -> None:
        before = dt.datetime.now(dt.UTC).replace(microsecond=0)
        created = await backend.create_bucket(BUCKET)
        after = dt.datetime.now(dt.UTC)

        assert created.name == BUCKET
        assert created.created.utcoffset() == dt.timedelta(0)
        assert before <= created.created <= after
        assert created.created.microsecond == 0
        head = await backend.head_bucket(BUCKET)
        assert (head.name, head.created) == (created.name, created.created)
        assert [b.name for b in await backend.list_buckets()] == [BUCKET]

    @pytest.mark.asyncio
    async def test_list_buckets_is_sorted_by_name(self, backend: Backend) -> None:
        for name in ("charlie", "alpha", "bravo-2", "bravo"):
            await backend.create_bucket(name)
        names = [b.name for b in await backend.list_buckets()]
        assert names == ["alpha", "bravo", "bravo-2", "charlie"]

    @pytest.mark.asyncio
    async def test_create_existing_bucket_is_bucket_already_owned_by_you(
        self, backend: Backend, bucket: str
    ) -> None:
        await put_bytes(backend, bucket, "kept", b"still here")
        with pytest.raises(errors.BucketAlreadyOwnedByYou):
            await backend.create_bucket(bucket)
        assert await read_object(backend, bucket, "kept") == b"still here"

    @pytest.mark.asyncio
    async def test_head_and_delete_missing_bucket(self, backend: Backend) -> None:
        with pytest.raises(errors.NoSuchBucket):
            await backend.head_bucket(MISSING)
        with pytest.raises(errors.NoSuchBucket):
            await backend.delete_bucket(MISSING)

    @pytest.mark.asyncio
    async def test_delete_empty_bucket(self, backend: Backend, bucket: str) -> None:
        await backend.delete_bucket(bucket)
        assert await backend.list_buckets() == []
        with pytest.raises(errors.NoSuchBucket):
            await backend.head_bucket(bucket)

    @pytest.mark.asyncio
    async def test_delete_bucket_with_objects_is_bucket_not_empty(
        self, backend: Backend, bucket: str
    ) -> None:
        await put_bytes(backend, bucket, "a/b", b"x")
        with pytest.raises(errors.BucketNotEmpty):
            await backend.delete_bucket(bucket)
        assert await read_object(backend, bucket, "a/b") == b"x"
        await backend.delete_object(bucket, "a/b")
        await backend.delete_bucket(bucket)
        assert await backend.list_buckets() == []

    @pytest.mark.asyncio
    async def test_recreated_bucket_is_empty(self, backend: Backend, bucket: str) -> None:
        await put_bytes(backend, bucket, "k", b"x")
        await backend.delete_object(bucket, "k")
        await backend.delete_bucket(bucket)
        await backend.create_bucket(bucket)
        assert await backend.list_objects_page(bucket) == []

    @pytest.mark.asyncio
    async def test_delete_bucket_with_only_pending_uploads_succeeds(
        self, backend: Backend, bucket: str
    ) -> None:
        with optional("multipart upload"):
            upload = await backend.create_multipart_upload(bucket, "big", attributes=attrs(),
                                                           tags={})
        await backend.upload_part(bucket, "big", upload.upload_id, 1, payload(b"part one"))

        await backend.delete_bucket(bucket)

        with pytest.raises(errors.NoSuchBucket):
            await backend.head_bucket(bucket)
        await backend.create_bucket(bucket)
        assert await backend.list_multipart_uploads_page(bucket) == []
        with pytest.raises(errors.NoSuchUpload):
            await backend.list_parts(bucket, "big", upload.upload_id)

    @pytest.mark.asyncio
    async def test_bucket_tags_round_trip(self, backend: Backend, bucket: str) -> None:
        with optional("bucket tagging"):
            assert await backend.get_bucket_tags(bucket) == {}
        tags = {"team": "storage", "cost-centre": "42", "note": "é 😀"}
        await backend.put_bucket_tags(bucket, tags)
        assert await backend.get_bucket_tags(bucket) == tags

        await backend.put_bucket_tags(bucket, {"only": "one"})
        assert await backend.get_bucket_tags(bucket) == {"only": "one"}

        await backend.put_bucket_tags(bucket, {})
        assert await backend.get_bucket_tags(bucket) == {}

    @pytest.mark.asyncio
    async def test_bucket_tags_of_missing_bucket(self, backend: Backend) -> None:
        with optional("bucket tagging"), pytest.raises(errors.NoSuchBucket):
            await backend.get_bucket_tags(MISSING)
        with pytest.raises(errors.NoSuchBucket):
            await backend.put_bucket_tags(MISSING, {"a": "b"})

    @pytest.mark.asyncio
    async def test_object_calls_on_missing_bucket_are_no_such_bucket(
        self, backend: Backend
    ) -> None:
        await backend.create_bucket(OTHER_BUCKET)
        await put_bytes(backend, OTHER_BUCKET, "k", b"data")
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "head_object": lambda: backend.head_object(MISSING, "k"),
            "open_object": lambda: backend.open_object(MISSING, "k"),
            "put_object": lambda: backend.put_object(MISSING, "k", payload(b"data"),
                                                     attributes=attrs()),
            "conditional put_object": lambda: backend.put_object(
                MISSING, "k", payload(b"data"), attributes=attrs(),
                condition=WriteCondition(if_none_match=True),
            ),
            "delete_object": lambda: backend.delete_object(MISSING, "k"),
            "list_objects_page": lambda: backend.list_objects_page(MISSING),
            "copy_object from it": lambda: backend.copy_object(
                MISSING, "k", OTHER_BUCKET, "copy", attributes=None, tags=None
            ),
            "copy_object into it": lambda: backend.copy_object(
                OTHER_BUCKET, "k", MISSING, "copy", attributes=None, tags=None
            ),
        }
        for name, call in calls.items():
            try:
                await call()
            except errors.NoSuchBucket:
                continue
            except Exception as exc:
                pytest.fail(f"{name} on a missing bucket raised {exc!r}, not NoSuchBucket")
            pytest.fail(f"{name} on a missing bucket did not raise NoSuchBucket")
        assert [b.name for b in await backend.list_buckets()] == [OTHER_BUCKET]

    @pytest.mark.asyncio
    async def test_optional_object_calls_on_missing_bucket_are_no_such_bucket(
        self, backend: Backend
    ) -> None:
        with optional("object tagging"), pytest.raises(errors.NoSuchBucket):
            await backend.put_object_tags(MISSING, "k", {"a": "b"})
        with optional("multipart upload"), pytest.raises(errors.NoSuchBucket):
            await backend.create_multipart_upload(MISSING, "k", attributes=attrs(), tags={})
        with pytest.raises(errors.NoSuchBucket):
            await backend.list_multipart_uploads_page(MISSING)
