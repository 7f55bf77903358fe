"""The job lock across processes: another process holding it keeps us out; its death (even
``kill -9``) lets us in at once, because the kernel drops a dead process's flocks."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap

from post3_filesystem import FilesystemBackend

HOLDER = textwrap.dedent("""
    import asyncio, sys
    from post3_filesystem import FilesystemBackend

    async def main():
        backend = FilesystemBackend.from_options({"root": sys.argv[1]})
        await backend.open()
        async with backend.job_lock("lifecycle") as held:
            print("held" if held else "refused", flush=True)
            await asyncio.sleep(3600)

    asyncio.run(main())
""")


async def test_a_lock_held_by_another_process_is_refused_until_it_dies(tmp_path):
    root = str(tmp_path / "data")
    backend = FilesystemBackend.from_options({"root": root})
    await backend.open()
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, root, stdout=asyncio.subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"held"
        async with backend.job_lock("lifecycle") as held:
            assert not held
        async with backend.job_lock("another-job") as held:
            assert held
        os.kill(holder.pid, signal.SIGKILL)
        await holder.wait()
        async with backend.job_lock("lifecycle") as held:
            assert held
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await backend.close()
