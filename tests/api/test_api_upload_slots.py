"""Upload slots: a process streams at most ``upload_slots`` large bodies into storage at once,
so its memory does not grow with the number of concurrent uploads. The others wait their turn
(their bytes held back by TCP); small bodies never wait; a turn is given back when an upload
ends in any way, a client gone mid-body included."""

from __future__ import annotations

import asyncio
import os

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from post3.app import RUNNER_OPTIONS, create_app
from post3.backends.memory import MemoryBackend
from post3.config import Settings

BUCKET = "slots"
LARGE = 300 * 1024


@pytest.fixture
async def server():
    backend = MemoryBackend()
    await backend.create_bucket(BUCKET)
    app = create_app(Settings(backend="memory", auth=False, upload_slots=2), backend=backend)
    server = TestServer(app)
    await server.start_server(**RUNNER_OPTIONS)
    server.backend = backend
    yield server
    await server.close()


def held_body(release: asyncio.Event, first: bytes, rest: bytes):
    """A body that sends ``first``, then waits for ``release`` before the rest."""
    async def body():
        yield first
        await release.wait()
        yield rest
    return body()


async def put(http: aiohttp.ClientSession, server: TestServer, key: str, data, size: int) -> int:
    async with http.put(server.make_url(f"/{BUCKET}/{key}"), data=data,
                        headers={"Content-Length": str(size)}) as response:
        await response.read()
        return response.status


async def test_large_bodies_take_turns_and_small_ones_never_wait(server) -> None:
    release = asyncio.Event()
    part = b"a" * (LARGE // 2)
    async with aiohttp.ClientSession() as http:
        holders = [asyncio.ensure_future(put(http, server, f"held{n}",
                                             held_body(release, part, part), LARGE))
                   for n in range(2)]
        await asyncio.sleep(0.3)  # both hold a turn now, each part-way through its body
        waiting = asyncio.ensure_future(put(http, server, "waiting", b"w" * LARGE, LARGE))
        await asyncio.sleep(0.5)
        assert not waiting.done(), "a third large body was streamed beside two"
        assert await put(http, server, "small", b"s" * 4096, 4096) == 200
        release.set()
        assert await asyncio.gather(*holders, waiting) == [200, 200, 200]
    for key, size in (("held0", LARGE), ("held1", LARGE), ("waiting", LARGE), ("small", 4096)):
        assert (await server.backend.head_object(BUCKET, key)).size == size


async def test_a_client_gone_mid_body_gives_its_turn_back(server) -> None:
    release = asyncio.Event()
    part = b"a" * (LARGE // 2)
    async with aiohttp.ClientSession() as http, aiohttp.ClientSession() as gone:
        holder = asyncio.ensure_future(put(http, server, "held", held_body(release, part, part),
                                           LARGE))
        quitter = asyncio.ensure_future(put(gone, server, "quit",
                                            held_body(asyncio.Event(), part, part), LARGE))
        await asyncio.sleep(0.3)
        quitter.cancel()
        await gone.close()  # the connection drops with half a body sent
        # the turn it held lets this one through while "held" still holds the other
        assert await asyncio.wait_for(put(http, server, "next", b"n" * LARGE, LARGE), 5) == 200
        release.set()
        assert await holder == 200
    assert (await server.backend.head_object(BUCKET, "next")).size == LARGE
    with pytest.raises(Exception, match="NoSuchKey|does not exist"):
        await server.backend.head_object(BUCKET, "quit")


def test_slots_come_from_the_environment_with_a_default_per_cpu() -> None:
    assert Settings.build({"POST3_UPLOAD_SLOTS": "3"}).upload_slots == 3
    assert Settings.build({}).upload_slots == max(4, 2 * (os.cpu_count() or 1))


@pytest.fixture
async def recorded():
    """A server with one upload slot whose requests are kept, to look at what each read."""
    backend = MemoryBackend()
    await backend.create_bucket(BUCKET)
    app = create_app(Settings(backend="memory", auth=False, upload_slots=1), backend=backend)
    seen: list = []

    @web.middleware
    async def keep(request, handler):
        seen.append(request)
        return await handler(request)

    app.middlewares.append(keep)
    server = TestServer(app)
    await server.start_server(**RUNNER_OPTIONS)
    server.backend, server.seen = backend, seen
    yield server
    await server.close()


async def test_an_upload_waiting_its_turn_is_not_read_from_its_connection(recorded) -> None:
    """With Expect: 100-continue (boto3's default) its body is invited, but no byte of it is
    read until its turn: aiohttp would otherwise buffer up to ~384 KiB of each waiting upload."""
    release = asyncio.Event()
    part = b"a" * (LARGE // 2)
    size = 4 * 1024 * 1024
    async with aiohttp.ClientSession() as http:
        holder = asyncio.ensure_future(put(http, recorded, "held",
                                           held_body(release, part, part), LARGE))
        await asyncio.sleep(0.3)
        async with aiohttp.ClientSession() as other:
            waiting = asyncio.ensure_future(other.put(
                recorded.make_url(f"/{BUCKET}/waiting"), data=b"w" * size, expect100=True,
                headers={"Content-Length": str(size)}))
            await asyncio.sleep(0.5)
            assert not waiting.done()
            held = [r for r in recorded.seen if r.path.endswith("/waiting")]
            assert len(held) == 1
            assert held[0].content.total_bytes == 0, "a waiting upload's body was read"
            release.set()
            assert await holder == 200
            async with await asyncio.wait_for(waiting, 10) as response:
                assert response.status == 200
    assert (await recorded.backend.head_object(BUCKET, "waiting")).size == size


async def test_a_held_back_upload_refused_without_its_body_is_read_again(recorded) -> None:
    """An upload held back, whose handler refuses it before reading its body (a malformed
    Content-MD5), gets its error, and its connection is read again, so aiohttp can drain the
    unsent body or see the client go instead of waiting on a connection nobody reads."""
    release = asyncio.Event()
    part = b"a" * (LARGE // 2)
    async with aiohttp.ClientSession() as http:
        holder = asyncio.ensure_future(put(http, recorded, "held",
                                           held_body(release, part, part), LARGE))
        await asyncio.sleep(0.3)
        async with aiohttp.ClientSession() as other:
            async with other.put(recorded.make_url(f"/{BUCKET}/refused"), data=b"r" * LARGE,
                                 expect100=True,
                                 headers={"Content-Length": str(LARGE),
                                          "Content-MD5": "not-base64!"}) as response:
                assert response.status == 400
                assert b"InvalidDigest" in await response.read()
            refused = [r for r in recorded.seen if r.path.endswith("/refused")]
            assert len(refused) == 1
            transport = refused[0].transport
            assert transport is None or transport.is_reading(), "left unread after its error"
        release.set()
        assert await holder == 200
