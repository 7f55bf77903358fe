"""Listing walks the directory tree in S3 key order and reads only what one page needs."""

from __future__ import annotations

import os
import random

import pytest
from post3_filesystem import FilesystemBackend
from post3_filesystem.files import remove_tree

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
