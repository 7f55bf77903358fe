"""A data directory written by post3 0.1.0.dev0, before attributes were typed, reads back
with every attribute (fixtures/data-0.1.0.dev0, made by tests/fixtures/write_release_data.py
run with that release)."""

import json
import pathlib
import shutil

import pytest
from post3_filesystem import FilesystemBackend
from post3_filesystem.files import remove_tree
from post3_filesystem.store import FORMAT

import post3
from post3.backend import ENABLED, NULL_VERSION, BackendError
from post3.testing import put_bytes, read_object, read_stream
from post3.testing.release_data import check_release_data
from post3.versioning import new_version

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


async def test_release_data_gains_versions_in_place(tmp_path):
    """Format 1 data is format 2 data without versions: each record is its key's null
    version, and versioning works on it without any rewrite."""
    root = tmp_path / "data"
    shutil.copytree(FIXTURE, root)
    backend = FilesystemBackend(root=str(root))
    await backend.open()
    try:
        marker = json.loads((root / ".post3" / "format").read_text())
        assert marker == {"format": FORMAT, "release": post3.__version__}
        old = await backend.head_object("release", "plain.txt")
        old_bytes = await read_object(backend, "release", "plain.txt")
        assert (old.version_id, old.delete_marker) == (NULL_VERSION, False)
        assert old.sequence == (await backend.head_object("release", "plain.txt")).sequence

        await backend.put_bucket_versioning("release", ENABLED)
        new = await put_bytes(backend, "release", "plain.txt", b"newer")
        assert new.version_id not in (NULL_VERSION, "")
        kept = await backend.head_object("release", "plain.txt", NULL_VERSION)
        assert (kept.attributes, dict(kept.tags), kept.sequence) == (
            old.attributes, {"a": "1", "b": "2"}, old.sequence)
        assert await read_stream(await backend.open_object(
            "release", "plain.txt", version_id=NULL_VERSION)) == old_bytes
        assert await versions_of(backend, "plain.txt") == [
            (new.version_id, True, False), (NULL_VERSION, False, False)]

        marker_info = await backend.delete_object("release", "plain.txt", marker=new_version())
        assert marker_info is not None and marker_info.delete_marker
        assert "plain.txt" not in [e.key for e in await backend.list_objects_page("release")]
        assert await versions_of(backend, "plain.txt") == [
            (marker_info.version_id, True, True), (new.version_id, False, False),
            (NULL_VERSION, False, False)]

        await backend.delete_object_version("release", "plain.txt", marker_info.version_id)
        assert await read_object(backend, "release", "plain.txt") == b"newer"
        await backend.delete_object_version("release", "plain.txt", new.version_id)
        assert await read_object(backend, "release", "plain.txt") == old_bytes
        assert dict((await backend.head_object("release", "plain.txt")).tags) == {
            "a": "1", "b": "2"}
        # the other keys were never touched
        assert await versions_of(backend, "bare") == [(NULL_VERSION, True, False)]
    finally:
        await backend.close()
        remove_tree(str(root))


async def test_a_root_of_a_newer_format_is_refused(tmp_path):
    root = tmp_path / "data"
    backend = FilesystemBackend(root=str(root))
    await backend.open()
    await backend.close()
    again = FilesystemBackend(root=str(root))  # its own marker is fine
    await again.open()
    await again.close()
    (root / ".post3" / "format").write_text(json.dumps({"format": FORMAT + 1,
                                                        "release": "9.1.0"}))
    with pytest.raises(BackendError) as refused:
        await FilesystemBackend(root=str(root)).open()
    message = str(refused.value)
    assert f"data format {FORMAT + 1}" in message and "post3 9.1.0" in message
    assert "Run post3 9.1.0 or newer" in message and "\n" not in message


async def versions_of(backend, key):
    page = await backend.list_object_versions_page("release", prefix=key)
    return [(e.version_id, e.is_latest, e.delete_marker) for e in page if e.key == key]
