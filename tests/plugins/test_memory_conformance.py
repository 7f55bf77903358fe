"""The memory backend against the conformance suite, built the way post3 builds it."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from post3.backend import Backend, BackendError
from post3.backends.memory import MemoryBackend
from post3.plugins import backend_registry, get_plugin_manager
from post3.testing import BackendConformance, put_bytes, read_object


def memory_backend_class() -> type[Backend]:
    return backend_registry(get_plugin_manager(load_entry_points=False)).get("memory")


class TestMemoryBackend(BackendConformance):
    @pytest_asyncio.fixture
    async def backend(self) -> AsyncIterator[Backend]:
        backend = memory_backend_class().from_options({})
        await backend.open()
        yield backend
        await backend.close()


def test_memory_backend_is_registered_by_the_core() -> None:
    assert memory_backend_class() is MemoryBackend


def test_memory_backend_refuses_options() -> None:
    with pytest.raises(BackendError, match="unknown option 'root'"):
        MemoryBackend.from_options({"root": "/tmp"})


@pytest.mark.asyncio
async def test_each_memory_backend_has_its_own_storage() -> None:
    first, second = MemoryBackend(), MemoryBackend()
    await first.create_bucket("b")
    await put_bytes(first, "b", "k", b"only in the first")
    assert await second.list_buckets() == []
    assert await read_object(first, "b", "k") == b"only in the first"
