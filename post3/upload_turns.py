"""An upload waiting for its turn (``POST3_UPLOAD_SLOTS``) is not read from its socket.

aiohttp reads a request's body as it arrives, whether or not the handler reads it yet: up to
twice its 64 KiB buffer, plus what one receive (up to 256 KiB) brings beyond that, before it
stops reading the connection. With 64 uploads queued behind four slots, that was ~40 MB of
bodies the process held and nobody read. An upload that has to wait stops its connection being
read until its turn comes: its bytes wait in the kernel, and TCP's window holds the client
back. With ``Expect: 100-continue`` the connection is held back before the body is invited.

Only the process's flow control is touched (the protocol's ``pause_reading`` and
``resume_reading``, the calls aiohttp's own buffer limit makes), so aiohttp's limit goes on
working once reading resumes.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

#: Set on a request whose connection is held back; taken off when reading resumes.
HELD_BACK: web.RequestKey[bool] = web.RequestKey("held_back", bool)


def hold_back(request: web.BaseRequest) -> None:
    """Stop reading ``request``'s connection until :func:`let_through`."""
    if request.get(HELD_BACK) or request.transport is None:
        return  # already held, or the connection is gone (nothing left to read)
    request.protocol.pause_reading()
    request[HELD_BACK] = True


def let_through(request: web.BaseRequest) -> None:
    """Read ``request``'s connection again, if it was held back. Safe to call many times."""
    if request.pop(HELD_BACK, False) and request.transport is not None:
        request.protocol.resume_reading()


async def take_turn(slots: asyncio.Semaphore, request: web.BaseRequest | None) -> None:
    """Wait for one of ``slots``; ``request``'s connection is not read while it waits."""
    if request is not None and slots.locked():
        hold_back(request)
    try:
        await slots.acquire()
    finally:
        if request is not None:
            let_through(request)
