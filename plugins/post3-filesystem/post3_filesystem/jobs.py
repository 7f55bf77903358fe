"""The store-wide job lock (``Backend.job_lock``): ``flock`` on a file under ``.post3/locks``.

Taken without waiting (``LOCK_NB``) on a file descriptor opened for the lock alone, held for
the whole ``async with``, and released when it ends or when the holder dies (the kernel drops
a dead process's locks), so a pass killed with ``kill -9`` never blocks the next. Every
process on the root contends for it; on a network filesystem it is as good as that
filesystem's ``flock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
from collections.abc import AsyncIterator

JOB_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


class JobLocks:
    _locks: str

    @contextlib.asynccontextmanager
    async def job_lock(self, name: str) -> AsyncIterator[bool]:
        if not JOB_NAME.match(name):
            raise ValueError(f"invalid job name {name!r}")
        path = os.path.join(self._locks, f"job-{name}")
        # Rare calls: the default executor will do (the store's own pool serves requests).
        fd = await asyncio.to_thread(os.open, path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                                     0o600)
        try:
            try:
                await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing the descriptor releases the lock
