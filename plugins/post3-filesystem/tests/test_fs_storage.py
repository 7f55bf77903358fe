"""Opening a data root, and how keys land on disk."""

from __future__ import annotations

import fcntl
import os

import pytest
from post3_filesystem import FilesystemBackend

from post3.backend import BackendError
from post3.plugins import backend_registry, get_plugin_manager
from post3.testing import put_bytes, read_object
from post3.testing.helpers import attrs


def walk_tree(path):
    """(directory, subdirectory names, file names) for every directory below ``path``;
    iterative, since keys nest deeper than Python's recursion limit."""
    stack = [str(path)]
    while stack:
        directory = stack.pop()
        entries = list(os.scandir(directory))
        dirs = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
        yield directory, dirs, [e.name for e in entries if e.name not in dirs]
        stack.extend(os.path.join(directory, d) for d in dirs)


def files_under(path) -> set[str]:
    found = set()
    for directory, _, names in walk_tree(path):
        for name in names:
            found.add(os.path.relpath(os.path.join(directory, name), path))
    return found


def test_registered_through_entry_point():
    registry = backend_registry(get_plugin_manager())
    assert registry.get("filesystem") is FilesystemBackend


def test_options_parse_from_strings(tmp_path):
    backend = FilesystemBackend.from_options({"root": str(tmp_path), "fsync": "false"})
    assert (backend.root, backend.fsync) == (str(tmp_path), False)
    with pytest.raises(BackendError, match="fsync"):
        FilesystemBackend.from_options({"fsync": "sometimes"})


async def test_open_creates_missing_root(tmp_path):
    backend = FilesystemBackend(root=str(tmp_path / "a" / "b"))
    await backend.open()
    try:
        assert (tmp_path / "a" / "b").is_dir()
        await backend.create_bucket("first")
        assert [b.name for b in await backend.list_buckets()] == ["first"]
    finally:
        await backend.close()


async def test_root_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(BackendError, match="not a writable directory") as raised:
        await FilesystemBackend(root=str(tmp_path / "file")).open()
    assert "\n" not in str(raised.value)
    with pytest.raises(BackendError, match="not a writable directory"):
        await FilesystemBackend(root=str(tmp_path / "file" / "below")).open()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
async def test_read_only_root_is_refused(tmp_path):
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o555)
    try:
        with pytest.raises(BackendError, match="not a writable directory"):
            await FilesystemBackend(root=str(root)).open()
    finally:
        root.chmod(0o755)


async def test_open_removes_crash_leftovers_but_not_live_writes(tmp_path):
    root = tmp_path / "data"
    first = FilesystemBackend(root=str(root))
    await first.open()
    await first.close()
    tmp = root / ".post3" / "tmp"
    (tmp / "put-deadbeef").write_bytes(b"half an upload")
    (tmp / "trash-cafe").mkdir()
    (tmp / "trash-cafe" / "part-00001").write_bytes(b"x")
    live = tmp / "put-alive"
    live.write_bytes(b"someone is writing this")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a writer in another process holds its file like this
    try:
        second = FilesystemBackend(root=str(root))
        await second.open()
        await second.close()
        assert sorted(os.listdir(tmp)) == ["put-alive"]
    finally:
        os.close(fd)


async def test_root_on_disk_is_what_readme_describes(backend, bucket):
    await put_bytes(backend, bucket, "dir/file.txt", b"x")
    upload = await backend.create_multipart_upload(bucket, "big", attributes=attrs(), tags={})
    on_disk = files_under(backend.root)
    assert f"{bucket}/objects/ddir/ofile.txt" in on_disk
    assert f"{bucket}/uploads/{upload.upload_id}/upload.json" in on_disk
    assert f"{bucket}/bucket.json" in on_disk
    assert ".post3/format" in on_disk
    await backend.put_bucket_versioning(bucket, "Enabled")
    await put_bytes(backend, bucket, "dir/file.txt", b"y")
    on_disk = files_under(backend.root)
    assert f"{bucket}/versioning" in on_disk
    [noncurrent] = [p for p in on_disk if p.startswith(f"{bucket}/versions/ddir/vfile.txt/")]
    assert noncurrent.endswith(".null")  # the version written before versioning was enabled


HOSTILE_KEYS = [
    "../escape", "../../../../etc/passwd", "a/../../b", ".", "..", "./.", "/leading",
    "//", "/", "a//b", "trailing/", "%2e%2e/%2F", "+ plus and spaces +", "nul\x00byte",
    "new\nline", "\x7f", "e\u0301 vs \u00e9", "\U0001f600/\uff61", "a" * 1024,
    "\u00e9" * 512, "\U0001f600" * 256, "%" * 1024, "/" * 1024, ("x/" * 511) + "yz",
    ("s" * 200 + "/") * 4 + "end", ".post3/tmp/x", "objects/../uploads",
]


async def test_hostile_keys_stay_inside_the_bucket(backend, bucket, tmp_path):
    outside_before = files_under(tmp_path)
    for i, key in enumerate(HOSTILE_KEYS):
        assert len(key.encode()) <= 1024
        await put_bytes(backend, bucket, key, f"value {i}".encode())
    for i, key in enumerate(HOSTILE_KEYS):
        assert await read_object(backend, bucket, key) == f"value {i}".encode()
    listed = [o.key for o in await backend.list_objects_page(bucket, limit=1000)]
    assert listed == sorted(HOSTILE_KEYS)
    added = files_under(tmp_path) - outside_before
    in_objects = {p for p in added if p.startswith(f"data/{bucket}/objects/")}
    assert len(in_objects) == len(HOSTILE_KEYS)
    assert all(p.startswith("data/.post3/locks/") for p in added - in_objects)
    for key in HOSTILE_KEYS:
        await backend.delete_object(bucket, key)
    assert os.listdir(f"{backend.root}/{bucket}/objects") == []
    await backend.delete_bucket(bucket)


async def test_file_names_fit_the_name_limit(backend, bucket):
    for key in ["a" * 1024, "\U0001f600" * 256, "%" * 1024, "\u00e9" * 512]:
        await put_bytes(backend, bucket, key, b"x")
    for _directory, dirs, names in walk_tree(backend.root):
        for name in dirs + names:
            assert len(name.encode()) <= 241, name
