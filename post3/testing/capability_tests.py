"""Declared capabilities (:class:`post3.backend.Capabilities`) match what the backend does:
every method of a declared capability works, every method of an undeclared one raises
:class:`post3.backend.Unsupported` (which the core answers with 501), and nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from post3.backend import Backend, Capabilities, ObjectAttributes, Unsupported
from post3.testing.base import ConformanceBase
from post3.testing.helpers import put_bytes


async def _hold(backend: Backend) -> None:
    async with backend.job_lock("conformance") as held:
        assert held


def _calls(backend: Backend, bucket: str) -> dict[str, list[Callable[[], Awaitable[object]]]]:
    """One call of each method of each optional capability, valid if it is supported."""
    return {
        "multipart": [
            lambda: backend.create_multipart_upload(
                bucket, "k", attributes=ObjectAttributes(), tags={}),
            lambda: backend.list_multipart_uploads_page(bucket),
        ],
        "tagging": [
            lambda: backend.put_object_tags(bucket, "tagged", {"t": "1"}),
            lambda: backend.put_bucket_tags(bucket, {"t": "1"}),
            lambda: backend.get_bucket_tags(bucket),
        ],
        "job_lock": [lambda: _hold(backend)],
        "versioning": [
            lambda: backend.put_bucket_versioning(bucket, "Suspended"),
            lambda: backend.get_bucket_versioning(bucket),
            lambda: backend.list_object_versions_page(bucket),
            lambda: backend.delete_object_version(bucket, "k", "null"),
            lambda: backend.put_object_attributes(bucket, "tagged", lambda info: info.attributes),
        ],
        "bucket_config": [
            lambda: backend.put_bucket_config(bucket, "cors", "<CORSConfiguration/>"),
            lambda: backend.get_bucket_config(bucket, "cors"),
        ],
    }


class CapabilityTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_capabilities_are_declared_on_the_class(self, backend: Backend) -> None:
        assert isinstance(type(backend).capabilities, Capabilities)

    @pytest.mark.asyncio
    async def test_declared_capabilities_work_and_undeclared_ones_are_unsupported(
        self, backend: Backend, bucket: str
    ) -> None:
        await put_bytes(backend, bucket, "tagged", b"x")
        for capability, calls in _calls(backend, bucket).items():
            declared = getattr(backend.capabilities, capability)
            for call in calls:
                if declared:
                    await call()
                else:
                    with pytest.raises(Unsupported) as raised:
                        await call()
                    assert raised.value.capability == capability
