"""The job lock across processes: another process holding it keeps us out; its death (even
``kill -9``) lets us in at once, because PostgreSQL ends its session and the lock with it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap

from post3_postgres.backend import PostgresBackend

HOLDER = textwrap.dedent("""
    import asyncio, sys
    from post3_postgres.backend import PostgresBackend

    async def main():
        backend = PostgresBackend.from_options({"dsn": sys.argv[1]})
        await backend.open()
        async with backend.job_lock("lifecycle") as held:
            print("held" if held else "refused", flush=True)
            await asyncio.sleep(3600)

    asyncio.run(main())
""")


async def test_a_lock_held_by_another_process_is_refused_until_it_dies(empty_postgres_database):
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, empty_postgres_database, stdout=asyncio.subprocess.PIPE)
    backend = PostgresBackend.from_options({"dsn": empty_postgres_database})
    await backend.open()
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"held"
        async with backend.job_lock("lifecycle") as held:
            assert not held
        async with backend.job_lock("another-job") as held:
            assert held
        os.kill(holder.pid, signal.SIGKILL)
        await holder.wait()
        for _ in range(50):  # the server notices the dead session within moments
            async with backend.job_lock("lifecycle") as held:
                if held:
                    break
            await asyncio.sleep(0.1)
        assert held
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await backend.close()
