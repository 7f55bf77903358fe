"""The PostgreSQL backend against the post3 conformance suite, built the way post3 builds it."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from post3.backend import Backend
from post3.plugins import backend_registry, get_plugin_manager
from post3.testing import BackendConformance

pytestmark = pytest.mark.postgres


class TestPostgresBackend(BackendConformance):
    @pytest_asyncio.fixture
    async def backend(self, empty_postgres_database: str) -> AsyncIterator[Backend]:
        registry = backend_registry(get_plugin_manager())
        backend = registry.get("postgres").from_options(
            {"dsn": empty_postgres_database, "max_pool_size": "4"}
        )
        await backend.open()
        yield backend
        await backend.close()
