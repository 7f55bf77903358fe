"""The core's conformance suite, run against a real directory."""

import pytest_asyncio
from post3_filesystem import FilesystemBackend

from post3.testing import BackendConformance


class TestFilesystemConformance(BackendConformance):
    @pytest_asyncio.fixture
    async def backend(self, tmp_path):
        backend = FilesystemBackend.from_options({"root": str(tmp_path / "data")})
        await backend.open()
        yield backend
        await backend.close()
