"""An upload's ``Expect: 100-continue`` and the bucket it names: the backend is asked once,
then the answer is remembered for a few seconds (post3.api.known_buckets). Whatever was
remembered, an upload to a bucket that is gone is refused, and nothing is stored."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestServer

from post3 import keys
from post3.app import RUNNER_OPTIONS, create_app
from post3.backends.memory import MemoryBackend

from .test_api_integrity import open_raw, put_head, read_response

DATA = b"0123456789"


class CountingBackend(MemoryBackend):
    """The memory backend, counting the head_bucket calls the server makes."""

    head_buckets = 0

    async def head_bucket(self, bucket):  # type: ignore[no-untyped-def]
        self.head_buckets += 1
        return await super().head_bucket(bucket)


@pytest.fixture
async def client(aiohttp_client, settings):
    server = TestServer(create_app(settings, backend=CountingBackend()))
    await server.start_server(**RUNNER_OPTIONS)
    return await aiohttp_client(server)


async def put_with_expect(client, path: str) -> tuple[bytes, bytes]:
    """An upload that waits for ``100 Continue``: the final status line and body, and whether
    the body was invited (``b"sent"``) or refused before it (``b"refused"``)."""
    reader, writer = await open_raw(client)
    try:
        writer.write(put_head(path, len(DATA), expect=True))
        await writer.drain()
        status, _, body = await read_response(reader)
        if not status.startswith(b"HTTP/1.1 100 "):
            return status, b"refused"
        writer.write(DATA)
        await writer.drain()
        status, _, body = await read_response(reader)
        return status + b" " + body, b"sent"
    finally:
        writer.close()


async def test_the_bucket_is_asked_once_for_many_uploads(client, bucket):
    backend = client.server.app[keys.BACKEND]
    before = backend.head_buckets
    for n in range(5):
        status, how = await put_with_expect(client, f"/{bucket}/k{n}")
        assert (status[:13], how) == (b"HTTP/1.1 200 ", b"sent")
    assert backend.head_buckets - before <= 1
    assert await (await client.get(f"/{bucket}/k4")).read() == DATA


async def test_a_bucket_deleted_here_is_refused_before_the_body(client, bucket):
    assert (await put_with_expect(client, f"/{bucket}/k"))[1] == b"sent"
    assert (await client.delete(f"/{bucket}/k")).status == 204
    assert (await client.delete(f"/{bucket}")).status == 204
    status, how = await put_with_expect(client, f"/{bucket}/k")
    assert (status[:13], how) == (b"HTTP/1.1 404 ", b"refused")


async def test_a_bucket_deleted_elsewhere_is_refused_after_the_body(client, bucket):
    # Another worker or host deleted it: this process still remembers it, so the body is
    # invited, and the write itself answers NoSuchBucket and stores nothing.
    assert (await put_with_expect(client, f"/{bucket}/k"))[1] == b"sent"
    backend = client.server.app[keys.BACKEND]
    await backend.delete_object(bucket, "k")
    await backend.delete_bucket(bucket)
    status, how = await put_with_expect(client, f"/{bucket}/k")
    assert how == b"sent"
    assert status.startswith(b"HTTP/1.1 404 ") and b"<Code>NoSuchBucket</Code>" in status
    await asyncio.sleep(0)
    assert (await client.get(f"/{bucket}/k")).status == 404
