"""What every backend must report the same way, though storing it differently is easy: the
storage class in listings, and the order of tags."""

from __future__ import annotations

import pytest

from post3.backend import Backend
from post3.testing.base import ConformanceBase, optional
from post3.testing.helpers import attrs, multipart_object_info, payload, put_bytes, read_stream

STORAGE_CLASS = "x-amz-storage-class"
#: Inserted in this order, which is not key order (S3 returns tags sorted by key).
UNSORTED_TAGS = {"zeta": "1", "alpha": "2", "Mid": "3", "é": "4", "b": "5", "a-b": "6"}
SORTED_KEYS = sorted(UNSORTED_TAGS)


class UniformityTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_listing_reports_the_storage_class_an_object_was_stored_with(
        self, backend: Backend, bucket: str
    ) -> None:
        """A listing entry carries the storage class (listings show it), and it must be the one
        HeadObject shows."""
        await put_bytes(
            backend, bucket, "reduced", b"x",
            attributes=attrs({STORAGE_CLASS: "REDUCED_REDUNDANCY", "content-type": "a/b"}))
        await put_bytes(backend, bucket, "standard", b"x",
                        attributes=attrs({"content-type": "a/b"}))
        with optional("multipart upload"):
            upload = await backend.create_multipart_upload(
                bucket, "parts", attributes=attrs({STORAGE_CLASS: "STANDARD_IA"}), tags={})
            part = await backend.upload_part(bucket, "parts", upload.upload_id, 1,
                                             payload(b"part"))
            await backend.complete_multipart_upload(
                bucket, "parts", upload.upload_id, [part], multipart_object_info(upload, [part]))
        await backend.copy_object(bucket, "reduced", bucket, "reduced-copy",
                                  attributes=None, tags=None)

        listed = {entry.key: entry.storage_class
                  for entry in await backend.list_objects_page(bucket)}
        for key, storage_class in listed.items():
            head = await backend.head_object(bucket, key)
            assert storage_class == head.storage_class, key
        assert listed["reduced"] == listed["reduced-copy"] == "REDUCED_REDUNDANCY"
        assert listed["standard"] == "STANDARD"
        if "parts" in listed:
            assert listed["parts"] == "STANDARD_IA"

    @pytest.mark.asyncio
    async def test_object_tags_come_back_sorted_by_key(
        self, backend: Backend, bucket: str
    ) -> None:
        await put_bytes(backend, bucket, "t", b"x", tags=UNSORTED_TAGS)
        assert list((await backend.head_object(bucket, "t")).tags) == SORTED_KEYS
        stream = await backend.open_object(bucket, "t")
        assert list(stream.info.tags) == SORTED_KEYS
        await read_stream(stream)

        with optional("object tagging"):
            await backend.put_object_tags(bucket, "t", dict(reversed(UNSORTED_TAGS.items())))
            tags = (await backend.head_object(bucket, "t")).tags
            assert list(tags) == SORTED_KEYS
            assert dict(tags) == UNSORTED_TAGS

    @pytest.mark.asyncio
    async def test_tags_of_a_completed_upload_come_back_sorted_by_key(
        self, backend: Backend, bucket: str
    ) -> None:
        with optional("multipart upload"):
            upload = await backend.create_multipart_upload(
                bucket, "mp", attributes=attrs(), tags=UNSORTED_TAGS)
        assert list((await backend.get_multipart_upload(bucket, "mp", upload.upload_id)).tags) \
            == SORTED_KEYS
        part = await backend.upload_part(bucket, "mp", upload.upload_id, 1, payload(b"part"))
        await backend.complete_multipart_upload(
            bucket, "mp", upload.upload_id, [part], multipart_object_info(upload, [part]))
        assert list((await backend.head_object(bucket, "mp")).tags) == SORTED_KEYS

    @pytest.mark.asyncio
    async def test_bucket_tags_come_back_sorted_by_key(
        self, backend: Backend, bucket: str
    ) -> None:
        with optional("bucket tagging"):
            await backend.put_bucket_tags(bucket, UNSORTED_TAGS)
        assert list(await backend.get_bucket_tags(bucket)) == SORTED_KEYS

    @pytest.mark.asyncio
    async def test_replacing_tags_that_keep_some_keys(
        self, backend: Backend, bucket: str
    ) -> None:
        await put_bytes(backend, bucket, "t", b"x", tags={"a": "1", "b": "2"})
        with optional("object tagging"):
            await backend.put_object_tags(bucket, "t", {"b": "3", "c": "4"})
        assert dict((await backend.head_object(bucket, "t")).tags) == {"b": "3", "c": "4"}
        with optional("bucket tagging"):
            await backend.put_bucket_tags(bucket, {"a": "1", "b": "2"})
            await backend.put_bucket_tags(bucket, {"b": "3", "c": "4"})
            assert await backend.get_bucket_tags(bucket) == {"b": "3", "c": "4"}
