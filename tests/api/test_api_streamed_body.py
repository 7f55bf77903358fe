"""GetObject's body from a backend's blocks (``send_body``): a block already sent is not held
while the next one is awaited. A backend may make that wait long (PostgreSQL's read budget
queues downloads for their turn), and a block held by each waiting download is memory beyond
any budget: 64 ranged GETs waiting held 64 MiB."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator

from aiohttp import web

from post3.api import get
from post3.backend import ObjectStream

BLOCK = 64 * 1024
BLOCKS = 5


class WatchedStream(ObjectStream):
    """Yields blocks it keeps no reference to, and checks at each step that the block before
    is gone (memoryviews, unlike bytes, take weak references)."""

    def __init__(self) -> None:
        self.start, self.stop = 0, BLOCK * BLOCKS
        self.held_while_waiting: list[int] = []

    async def __aiter__(self) -> AsyncIterator[bytes]:
        previous: weakref.ref[memoryview] | None = None
        for number in range(BLOCKS):
            if previous is not None and previous() is not None:
                self.held_while_waiting.append(number - 1)
            block = memoryview(bytes([number]) * BLOCK)
            previous = weakref.ref(block)
            yield block  # type: ignore[misc]  # the core sends any buffer
            del block


async def test_a_sent_block_is_not_held_while_the_next_is_awaited(aiohttp_client) -> None:
    stream = WatchedStream()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = stream.length
        await response.prepare(request)
        await get.send_body(request, response, stream)
        return response

    app = web.Application()
    app.router.add_get("/", handler)
    client = await aiohttp_client(app)
    response = await client.get("/")
    assert await response.read() == b"".join(bytes([n]) * BLOCK for n in range(BLOCKS))
    assert stream.held_while_waiting == []
