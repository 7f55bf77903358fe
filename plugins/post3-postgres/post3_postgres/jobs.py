"""The store-wide job lock (``Backend.job_lock``): a PostgreSQL session advisory lock.

The lock lives as long as the connection that took it: held for the whole ``async with`` on
one pooled connection, released by ``pg_advisory_unlock`` at the end, and by PostgreSQL itself
when the holder dies (its session ends), so a pass killed with ``kill -9`` never blocks the
next. Every process and host on the database contends for the same lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from post3_postgres.database import BackendPart, unavailable_on_disconnect

#: The first key of post3's advisory locks (the second is a hash of the job's name), so they
#: do not collide with another application's on a shared database: "p3" in ASCII.
LOCK_CLASS = 0x7033


class JobLocks(BackendPart):
    @contextlib.asynccontextmanager
    async def job_lock(self, name: str) -> AsyncIterator[bool]:
        with unavailable_on_disconnect():
            connection = await self._db.pool.acquire()
        try:
            with unavailable_on_disconnect():
                held = await connection.fetchval(
                    "SELECT pg_try_advisory_lock($1, hashtext($2))", LOCK_CLASS, name)
            try:
                yield bool(held)
            finally:
                if held:
                    with unavailable_on_disconnect():
                        await connection.fetchval(
                            "SELECT pg_advisory_unlock($1, hashtext($2))", LOCK_CLASS, name)
        finally:
            await self._db.pool.release(connection)
