import pytest_asyncio
from post3_filesystem import FilesystemBackend
from post3_filesystem.files import remove_tree

BUCKET = "fs-bucket"


@pytest_asyncio.fixture
async def backend(tmp_path):
    backend = FilesystemBackend(root=str(tmp_path / "data"))
    await backend.open()
    yield backend
    await backend.close()
    # keys nest up to 1024 directories deep, deeper than pytest's recursive clean-up goes
    remove_tree(backend.root)


@pytest_asyncio.fixture
async def bucket(backend):
    await backend.create_bucket(BUCKET)
    return BUCKET
