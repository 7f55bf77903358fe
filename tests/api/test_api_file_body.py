"""GetObject's body from a file (``send_file``): a lone large body in pieces, read on the event
loop when the page cache holds them and in a worker thread when it does not; ``loop.sendfile``
for a smaller body or beside another download; a file shorter than its record aborts the
transfer."""

from __future__ import annotations

import os
import threading

import aiohttp
import pytest
from aiohttp import web

from post3.api import get
from post3.api.middleware import BODY_SENT

SIZE = get.LONE_PIECES_MIN + 12345
OFFSET, COUNT = 100, get.LONE_PIECES_MIN + 1000
PIECES = 5


@pytest.fixture
def data_file(tmp_path):
    data = os.urandom(SIZE)
    path = tmp_path / "object"
    path.write_bytes(data)  # just written: the page cache holds it
    return path, data


@pytest.fixture
def reads(monkeypatch):
    """Each ``os.preadv`` call: (on the event loop thread?, with flags?)."""
    seen: list[tuple[bool, bool]] = []
    real = os.preadv

    def spy(fd, buffers, offset, *flags):
        seen.append((threading.current_thread() is threading.main_thread(), bool(flags)))
        return real(fd, buffers, offset, *flags)

    monkeypatch.setattr(os, "preadv", spy)
    return seen


async def serve(aiohttp_client, path, count=COUNT):
    sent: list[int] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = count
        await response.prepare(request)
        request[BODY_SENT] = 0
        assert request.transport is not None
        try:
            with open(path, "rb") as file:  # noqa: ASYNC230
                await get.send_file(request, response, request.transport, file, OFFSET, count)
        except get.errors.InternalError:
            request.transport.abort()  # as send_body does
            raise
        finally:
            sent.append(request[BODY_SENT])
        return response

    app = web.Application()
    app.router.add_get("/", handler)
    return await aiohttp_client(app), sent


async def test_cached_pieces_are_read_on_the_event_loop(aiohttp_client, data_file, reads):
    if get.NOWAIT is None:
        pytest.skip("no RWF_NOWAIT on this platform: every piece goes to a thread")
    path, data = data_file
    client, sent = await serve(aiohttp_client, path)
    response = await client.get("/")
    assert await response.read() == data[OFFSET:OFFSET + COUNT]
    assert sent == [COUNT]
    assert len(reads) == PIECES and all(on_loop and flags for on_loop, flags in reads)
    assert get._file_sends == 0


async def test_a_piece_not_cached_is_read_in_a_thread(aiohttp_client, data_file, monkeypatch):
    path, data = data_file
    seen: list[bool] = []
    real = os.preadv

    def miss(fd, buffers, offset, *flags):
        if flags:
            raise BlockingIOError(11, "would block")  # what RWF_NOWAIT says of a miss
        seen.append(threading.current_thread() is threading.main_thread())
        return real(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", miss)
    client, sent = await serve(aiohttp_client, path)
    response = await client.get("/")
    assert await response.read() == data[OFFSET:OFFSET + COUNT]
    assert seen == [False] * PIECES
    assert sent == [COUNT]


async def test_beside_another_download_sendfile_sends_it(aiohttp_client, data_file, reads,
                                                         monkeypatch):
    path, data = data_file
    monkeypatch.setattr(get, "_file_sends", 1)  # another body being sent from a file
    client, sent = await serve(aiohttp_client, path)
    response = await client.get("/")
    assert await response.read() == data[OFFSET:OFFSET + COUNT]
    assert reads == []  # no piece: the kernel read the file
    assert sent == [COUNT]
    assert get._file_sends == 1


async def test_a_smaller_body_goes_by_sendfile(aiohttp_client, data_file, reads):
    path, data = data_file
    count = get.LONE_PIECES_MIN - 1
    client, sent = await serve(aiohttp_client, path, count=count)
    response = await client.get("/")
    assert await response.read() == data[OFFSET:OFFSET + count]
    assert reads == []
    assert sent == [count]


async def test_a_file_shorter_than_its_record_aborts_the_transfer(aiohttp_client, data_file):
    path, data = data_file
    client, sent = await serve(aiohttp_client, path, count=SIZE)  # from OFFSET: 100 short
    response = await client.get("/")
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()
    assert sent == [SIZE - OFFSET]
    assert get._file_sends == 0
    # the server is still up
    again, _ = await serve(aiohttp_client, path)
    assert await (await again.get("/")).read() == data[OFFSET:OFFSET + COUNT]
