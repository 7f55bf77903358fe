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
