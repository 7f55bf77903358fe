"""Bucket configuration documents: ``get_bucket_config`` / ``put_bucket_config`` by name.

The core keeps CORS rules there (and later lifecycle, policy, encryption, object lock), so every
backend must store the text exactly, keep names apart, delete on None, and drop a bucket's
documents with the bucket.
"""

from __future__ import annotations

import asyncio

import pytest

from post3 import errors
from post3.backend import Backend
from post3.testing.base import BUCKET, OTHER_BUCKET, ConformanceBase, optional

MISSING = "no-such-bucket"
CORS = ('<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>'
        '<AllowedOrigin>https://é.example</AllowedOrigin></CORSRule></CORSConfiguration>')


class BucketConfigTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_bucket_config_round_trip(self, backend: Backend, bucket: str) -> None:
        with optional("bucket configuration"):
            assert await backend.get_bucket_config(bucket, "cors") is None
        await backend.put_bucket_config(bucket, "cors", CORS)
        assert await backend.get_bucket_config(bucket, "cors") == CORS
        await backend.put_bucket_config(bucket, "cors", "<replaced/> 😀\n")
        assert await backend.get_bucket_config(bucket, "cors") == "<replaced/> 😀\n"
        await backend.put_bucket_config(bucket, "cors", None)
        assert await backend.get_bucket_config(bucket, "cors") is None
        # Deleting what is not there succeeds.
        await backend.put_bucket_config(bucket, "cors", None)

    @pytest.mark.asyncio
    async def test_bucket_configs_are_kept_apart(self, backend: Backend, bucket: str) -> None:
        with optional("bucket configuration"):
            await backend.put_bucket_config(bucket, "cors", "cors document")
        await backend.create_bucket(OTHER_BUCKET)
        await backend.put_bucket_config(bucket, "lifecycle", "lifecycle document")
        await backend.put_bucket_config(OTHER_BUCKET, "cors", "other cors")
        assert await backend.get_bucket_config(bucket, "cors") == "cors document"
        assert await backend.get_bucket_config(bucket, "lifecycle") == "lifecycle document"
        assert await backend.get_bucket_config(OTHER_BUCKET, "cors") == "other cors"
        assert await backend.get_bucket_config(OTHER_BUCKET, "lifecycle") is None
        await backend.put_bucket_config(bucket, "cors", None)
        assert await backend.get_bucket_config(bucket, "lifecycle") == "lifecycle document"
        assert await backend.get_bucket_config(OTHER_BUCKET, "cors") == "other cors"

    @pytest.mark.asyncio
    async def test_a_large_document_is_stored_whole(self, backend: Backend, bucket: str) -> None:
        document = "".join(f"<Rule{i}>{'é' * 50}</Rule{i}>" for i in range(2000))
        with optional("bucket configuration"):
            await backend.put_bucket_config(bucket, "cors", document)
        assert await backend.get_bucket_config(bucket, "cors") == document

    @pytest.mark.asyncio
    async def test_deleting_a_bucket_deletes_its_documents(self, backend: Backend,
                                                           bucket: str) -> None:
        with optional("bucket configuration"):
            await backend.put_bucket_config(bucket, "cors", CORS)
        await backend.delete_bucket(bucket)
        with pytest.raises(errors.NoSuchBucket):
            await backend.get_bucket_config(bucket, "cors")
        await backend.create_bucket(BUCKET)
        assert await backend.get_bucket_config(BUCKET, "cors") is None

    @pytest.mark.asyncio
    async def test_bucket_config_of_missing_bucket(self, backend: Backend) -> None:
        with optional("bucket configuration"), pytest.raises(errors.NoSuchBucket):
            await backend.get_bucket_config(MISSING, "cors")
        with pytest.raises(errors.NoSuchBucket):
            await backend.put_bucket_config(MISSING, "cors", CORS)
        with pytest.raises(errors.NoSuchBucket):
            await backend.put_bucket_config(MISSING, "cors", None)

    @pytest.mark.asyncio
    async def test_concurrent_writers_leave_one_whole_document(self, backend: Backend,
                                                                bucket: str) -> None:
        documents = [f"<doc{i}>{str(i) * 5000}</doc{i}>" for i in range(8)]
        with optional("bucket configuration"):
            await backend.put_bucket_config(bucket, "cors", "first")
        await asyncio.gather(*(backend.put_bucket_config(bucket, "cors", d) for d in documents))
        assert await backend.get_bucket_config(bucket, "cors") in documents
