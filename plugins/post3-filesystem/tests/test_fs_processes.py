"""Several processes on one data root, as with ``post3 run --workers N``."""

from __future__ import annotations

import asyncio
import sys

import pytest

from post3.testing import read_object

WORKERS = 6

CONTENDER = r"""
import asyncio, os, sys, time
from post3 import errors
from post3.backend import WriteCondition
from post3.payload import PayloadStream
from post3_filesystem import FilesystemBackend
from post3.testing.helpers import attrs

root, key, ident, go = sys.argv[1:5]

async def body():
    for _ in range(20):  # slow enough that every upload overlaps every other
        await asyncio.sleep(0.005)
        yield ident.encode() * 1000

async def main():
    backend = FilesystemBackend(root=root)
    await backend.open()
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    try:
        await backend.put_object("shared", key, PayloadStream.from_iterable(body()),
                                 attributes=attrs(), condition=WriteCondition(if_none_match=True))
        print("won", flush=True)
    except (errors.PreconditionFailed, errors.ConditionalRequestConflict):
        print("lost", flush=True)
    finally:
        await backend.close()

asyncio.run(main())
"""


@pytest.mark.slow
async def test_if_none_match_across_processes_has_one_winner(tmp_path):
    from post3_filesystem import FilesystemBackend

    root = tmp_path / "data"
    backend = FilesystemBackend(root=str(root))
    await backend.open()
    await backend.create_bucket("shared")
    go = tmp_path / "go"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", CONTENDER, str(root), "contended", str(i), str(go),
            stdout=asyncio.subprocess.PIPE,
        )
        for i in range(WORKERS)
    ]
    try:
        for proc in procs:
            assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"ready\n"
        go.touch()
        outcomes = []
        for proc in procs:
            out, _ = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0
            outcomes.append(out.decode().strip())
        assert sorted(outcomes) == ["lost"] * (WORKERS - 1) + ["won"]
        winner = str(outcomes.index("won")).encode()
        assert await read_object(backend, "shared", "contended") == winner * 20_000
        assert await backend.list_objects_page("shared") != []
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await backend.close()


VERSION_WRITER = r"""
import asyncio, os, sys, time
from post3.payload import PayloadStream
from post3_filesystem import FilesystemBackend
from post3.testing.helpers import attrs
from post3.versioning import new_version

root, key, ident, go, count = sys.argv[1:6]

async def main():
    backend = FilesystemBackend(root=root)
    await backend.open()
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    try:
        for n in range(int(count)):
            body = PayloadStream.from_iterable(_blocks(f"{ident}-{n}".encode()))
            info = await backend.put_object("shared", key, body, attributes=attrs(),
                                            version=new_version())
            print(info.version_id, f"{ident}-{n}", flush=True)
            if n % 4 == 3:  # now and then a delete marker, which is a version too
                marker = await backend.delete_object("shared", key, marker=new_version())
                print(marker.version_id, "marker", flush=True)
    finally:
        await backend.close()

async def _blocks(data):
    yield data

asyncio.run(main())
"""


@pytest.mark.slow
async def test_versions_written_by_several_processes_are_each_listed_once(tmp_path):
    from post3_filesystem import FilesystemBackend

    from post3.backend import ENABLED

    root = tmp_path / "data"
    backend = FilesystemBackend(root=str(root))
    await backend.open()
    await backend.create_bucket("shared")
    await backend.put_bucket_versioning("shared", ENABLED)
    go = tmp_path / "go"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", VERSION_WRITER, str(root), "dir/contended", str(i), str(go),
            "12", stdout=asyncio.subprocess.PIPE,
        )
        for i in range(WORKERS)
    ]
    try:
        for proc in procs:
            assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"ready\n"
        go.touch()
        acknowledged: dict[str, str] = {}
        for proc in procs:
            out, _ = await asyncio.wait_for(proc.communicate(), 120)
            assert proc.returncode == 0
            for line in out.decode().split("\n"):
                if line:
                    version_id, what = line.split()
                    assert version_id not in acknowledged, "an id was given twice"
                    acknowledged[version_id] = what
        assert len(acknowledged) == WORKERS * 15
        listed = await backend.list_object_versions_page("shared", limit=10_000)
        assert sorted(e.version_id for e in listed) == sorted(acknowledged)
        assert [e.sequence for e in listed] == sorted(e.sequence for e in listed)
        assert [e.is_latest for e in listed] == [True] + [False] * (len(listed) - 1)
        for entry in listed:
            if acknowledged[entry.version_id] == "marker":
                assert entry.delete_marker
            else:
                assert await read_object_version(backend, entry.version_id) == \
                    acknowledged[entry.version_id].encode()
        latest = await backend.head_object("shared", "dir/contended")
        assert latest.version_id == listed[0].version_id
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await backend.close()


async def read_object_version(backend, version_id: str) -> bytes:
    from post3.testing import read_stream

    return await read_stream(await backend.open_object("shared", "dir/contended",
                                                       version_id=version_id))
