"""Listing walks the directory tree in S3 key order and reads only what one page needs."""

from __future__ import annotations

import os
import random
import time

import pytest
from post3_filesystem import FilesystemBackend
from post3_filesystem.files import remove_tree
from post3_filesystem.layout import SortedDirs

from post3.testing import put_bytes

ALPHABET = ["a", "b", "-", "/", "0", ".", "%", " ", "\u00e9", "\U0001f600", "\uff61", "A"]


def random_key(rng: random.Random) -> str:
    key = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6)))
    if rng.random() < 0.1:  # now and then a segment longer than one file name holds
        key += "/" + "z" * rng.randint(59, 125) + rng.choice(ALPHABET)
    return key


async def test_pages_match_sorted_keys_for_any_prefix_and_start(backend, bucket):
    rng = random.Random(7)
    keys = sorted({random_key(rng) for _ in range(300)} | {"a-c", "a/b", "a0", "a", "a/"})
    for key in keys:
        await put_bytes(backend, bucket, key, b"")
    assert [o.key for o in await backend.list_objects_page(bucket, limit=1000)] == keys
    probes = keys[::7] + ["", "a/", "a", "\U0001f600", "zzz", "%", "a-"]
    for prefix in probes[:25]:
        for start_after in probes[::3]:
            expected = [k for k in keys if k.startswith(prefix) and k > start_after][:17]
            page = await backend.list_objects_page(
                bucket, prefix=prefix, start_after=start_after, limit=17
            )
            assert [o.key for o in page] == expected, (prefix, start_after)


async def test_paging_through_the_bucket_returns_every_key_once(backend, bucket):
    keys = sorted(f"p{i % 7}/{'s/' * (i % 3)}{i:04d}" for i in range(150))
    for key in keys:
        await put_bytes(backend, bucket, key, str(len(key)).encode())
    seen, start = [], ""
    while page := await backend.list_objects_page(bucket, start_after=start, limit=11):
        seen += [o.key for o in page]
        assert all(o.size == len(str(len(o.key))) for o in page)
        start = page[-1].key
    assert seen == keys


@pytest.fixture
def scandir_calls(monkeypatch):
    calls = []
    real = os.scandir

    def counting(path="."):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(os, "scandir", counting)
    return calls


async def fill(root, dirs: int, per_dir: int) -> FilesystemBackend:
    backend = FilesystemBackend(root=str(root), fsync=False)
    await backend.open()
    await backend.create_bucket("big")
    for d in range(dirs):
        for i in range(per_dir):
            await put_bytes(backend, "big", f"dir{d:03d}/sub{i % 5}/obj{i:03d}", b"x")
    return backend


@pytest.mark.slow
async def test_a_page_of_a_large_bucket_reads_few_directories(tmp_path, scandir_calls):
    backend = await fill(tmp_path / "data", dirs=60, per_dir=50)  # 3000 objects, 360 dirs
    try:
        scandir_calls.clear()
        page = await backend.list_objects_page("big", limit=10)
        assert [o.key for o in page][:2] == ["dir000/sub0/obj000", "dir000/sub0/obj005"]
        assert len(scandir_calls) <= 3  # objects/, ddir000/, dsub0/

        scandir_calls.clear()
        page = await backend.list_objects_page("big", start_after="dir041/sub3/obj038", limit=5)
        assert [o.key for o in page] == [
            "dir041/sub3/obj043", "dir041/sub3/obj048", "dir041/sub4/obj004",
            "dir041/sub4/obj009", "dir041/sub4/obj014",
        ]
        assert len(scandir_calls) <= 4

        scandir_calls.clear()
        page = await backend.list_objects_page("big", prefix="dir059/sub4/", limit=1000)
        assert len(page) == 10
        assert len(scandir_calls) <= 3
    finally:
        await backend.close()
        remove_tree(backend.root)


def settle() -> None:
    """Let every directory written so far age past the point where its listing is kept."""
    time.sleep(SortedDirs.SETTLED_NS / 1e9 + 0.1)


async def test_pages_of_a_kept_listing_match_sorted_keys(backend, bucket):
    rng = random.Random(11)
    keys = sorted({random_key(rng) for _ in range(200)} | {"a-c", "a/b", "a0", "a", "a/"})
    for key in keys:
        await put_bytes(backend, bucket, key, b"")
    settle()
    probes = keys[::5] + ["", "a/", "a", "\U0001f600", "zzz", "%", "a-", "z" * 61]
    for _ in range(2):  # the first pass reads and keeps each directory, the second reuses it
        for prefix in probes[:20]:
            for start_after in probes[::4]:
                expected = [k for k in keys if k.startswith(prefix) and k > start_after][:13]
                page = await backend.list_objects_page(
                    bucket, prefix=prefix, start_after=start_after, limit=13
                )
                assert [o.key for o in page] == expected, (prefix, start_after)


@pytest.mark.slow
async def test_pages_of_a_flat_bucket_do_not_read_its_directory_again(tmp_path, scandir_calls,
                                                                    monkeypatch):
    backend = FilesystemBackend(root=str(tmp_path / "data"), fsync=False)
    await backend.open()
    try:
        await backend.create_bucket("flat")
        keys = [f"obj-{i:05d}" for i in range(3000)]
        for key in keys:
            await put_bytes(backend, "flat", key, b"x")
        settle()
        seen, start = [], ""
        while page := await backend.list_objects_page("flat", start_after=start, limit=1000):
            seen += [o.key for o in page]
            start = page[-1].key
        assert seen == keys
        scandir_calls.clear()
        opened = []
        real_open = os.open

        def counting_open(path, *args, **kwargs):
            opened.append(path)
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", counting_open)
        page = await backend.list_objects_page("flat", start_after="obj-01499", limit=2)
        monkeypatch.undo()
        assert [o.key for o in page] == ["obj-01500", "obj-01501"]
        assert [o.size for o in page] == [1, 1]
        assert scandir_calls == []  # the sorted names were kept: a stat, then a bisection
        assert opened == []  # and what the first walk read of each record
    finally:
        await backend.close()
        remove_tree(backend.root)


async def test_a_kept_listing_shows_every_change_at_once(tmp_path):
    """Writes right after a listing was kept, by this process and by another one sharing the
    root (a second backend: another worker), are in the very next page."""
    root = str(tmp_path / "data")
    here, other = FilesystemBackend(root=root), FilesystemBackend(root=root)
    await here.open()
    await other.open()
    try:
        await here.create_bucket("kept")
        for key in ("d/k1", "d/k3", "d/k5", "top"):
            await put_bytes(here, "kept", key, b"x")
        settle()

        async def keys() -> list[str]:
            return [o.key for o in await here.list_objects_page("kept", limit=100)]

        assert await keys() == ["d/k1", "d/k3", "d/k5", "top"]
        await put_bytes(other, "kept", "d/k2", b"x")
        assert await keys() == ["d/k1", "d/k2", "d/k3", "d/k5", "top"]
        await put_bytes(here, "kept", "d/k4", b"x")
        assert await keys() == ["d/k1", "d/k2", "d/k3", "d/k4", "d/k5", "top"]
        await other.delete_object("kept", "d/k1")
        await other.delete_object("kept", "top")
        assert await keys() == ["d/k2", "d/k3", "d/k4", "d/k5"]
        await put_bytes(other, "kept", "d/k4", b"longer")  # replaced: the same name, new bytes
        assert [o.size for o in await here.list_objects_page("kept", limit=100)] == [1, 1, 6, 1]
        for key in ("d/k2", "d/k3", "d/k4", "d/k5"):
            await other.delete_object("kept", key)
        assert await keys() == []
    finally:
        await here.close()
        await other.close()
        remove_tree(root)


def test_kept_listings_stay_under_their_bound(tmp_path):
    dirs = SortedDirs(max_bytes=10 * SortedDirs.NAME_BYTES)
    for d in range(4):
        path = tmp_path / f"d{d}"
        path.mkdir()
        for i in range(4):
            (path / f"ok{i}").touch()
    settle()
    for d in range(4):
        listing = dirs.listing(str(tmp_path / f"d{d}"))
        assert listing.names == [f"ok{i}" for i in range(4)]
        assert listing.memo is not None  # kept, evicting the oldest
        assert dirs.held <= dirs.max_bytes
    dirs.remember(listing.memo, "k", "v")  # a memo entry does not fit, and evicts nothing
    assert listing.memo == {}
    assert dirs.listing(str(tmp_path / "d3")) is listing
