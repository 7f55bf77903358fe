"""Graceful shutdown: stop accepting, let the requests in flight finish, then close.

aiohttp's own ``AppRunner.cleanup()`` marks every connection closing at once, and from then on
a connection drops whatever bytes still arrive, so an upload whose body is still on its way
would never complete. Draining happens first instead: the listening sockets close (new
connections are refused), readiness turns false, answers carry ``Connection: close``, and only
once nothing is in flight (or the timeout passes) does aiohttp shut the rest down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class InFlight:
    """Counts the requests being handled, and wakes waiters when none are."""

    def __init__(self) -> None:
        self.count = 0
        self.draining = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.count += 1
        self._idle.clear()
        try:
            response = await handler(request)
            if self.draining.is_set():
                response.force_close()  # the client must not reuse a connection we will close
            return response
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def wait_idle(self, grace_period: float) -> bool:
        """True when nothing is in flight, False if ``grace_period`` seconds passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace_period)
        except TimeoutError:
            return False
        return True


IN_FLIGHT: web.AppKey[InFlight] = web.AppKey("in_flight", InFlight)


async def graceful_stop(runner: web.AppRunner, grace_period: float) -> None:
    """Refuse new connections, wait up to ``grace_period`` seconds for the requests in flight,
    then clean the runner up (closing idle connections, then the backend)."""
    for site in list(runner.sites):
        with contextlib.suppress(RuntimeError):  # a site that never started
            await site.stop()
    app = runner.app
    in_flight = app.get(IN_FLIGHT) if isinstance(app, web.Application) else None
    if in_flight is not None:
        in_flight.draining.set()
        await in_flight.wait_idle(grace_period)
    await runner.cleanup()
