"""Deletes racing in one directory: each prunes the directories it emptied, while its siblings
are still syncing theirs."""

from __future__ import annotations

import asyncio
import os

from post3_filesystem import FilesystemBackend

from post3.testing.helpers import attrs

#: Seconds of racing; before the fix a few seconds were enough to make a delete fail.
RACE_SECONDS = 20
KEYS = 24


def leftover_dirs(backend: FilesystemBackend, bucket: str) -> list[str]:
    objects = os.path.join(backend.root, bucket, "objects")
    return [path for path, _, _ in os.walk(objects) if path != objects]


async def test_concurrent_deletes_in_one_directory_all_succeed(backend, bucket) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RACE_SECONDS
    rounds = 0
    while loop.time() < deadline:
        rounds += 1
        keys = [f"deep/er/{rounds % 3}/k{i}" for i in range(KEYS)]
        await asyncio.gather(*(
            backend.put_object(bucket, key, _body(key), attributes=attrs()) for key in keys
        ))
        # every key of the directory deleted at once
        results = await asyncio.gather(*(backend.delete_object(bucket, key) for key in keys))
        assert results == [None] * KEYS
        assert await backend.list_objects_page(bucket) == [], rounds
    assert rounds > 20
    assert leftover_dirs(backend, bucket) == []


def _body(key: str):
    from post3.testing import payload

    return payload(key.encode())
