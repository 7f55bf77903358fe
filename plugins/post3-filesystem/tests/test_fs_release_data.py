"""A data directory written by post3 0.1.0.dev0, before attributes were typed, reads back
with every attribute (fixtures/data-0.1.0.dev0, made by tests/fixtures/write_release_data.py
run with that release)."""

import pathlib
import shutil

from post3_filesystem import FilesystemBackend
from post3_filesystem.files import remove_tree

from post3.testing.release_data import check_release_data

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "data-0.1.0.dev0"
PENDING_UPLOAD = "228c683453ebb3e475321fb0a822f20c"


async def test_data_written_by_the_release_reads_back(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(FIXTURE, root)
    backend = FilesystemBackend(root=str(root))
    await backend.open()
    try:
        await check_release_data(backend, PENDING_UPLOAD)
    finally:
        await backend.close()
        remove_tree(str(root))
