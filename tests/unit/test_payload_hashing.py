"""PayloadStream hashes large bodies in a worker thread: the same digests, the same errors from
the final read, and nothing left hashing once a request is cancelled or abandoned."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
import time
import zlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from post3 import checksums, errors, payload
from post3.payload import HASH_BATCH, PayloadStream

SIZE = 5 * HASH_BATCH + 12345  # several batches and a tail hashed inline
DATA = bytes(range(251)) * (SIZE // 251) + b"t" * (SIZE % 251)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]
        await asyncio.sleep(0)


@pytest.mark.parametrize("piece", [1000, 65536, HASH_BATCH, 3 * HASH_BATCH])
async def test_digests_of_a_body_hashed_in_batches(piece: int) -> None:
    stream = PayloadStream.from_iterable(pieces(DATA, piece), size=SIZE,
                                         checksum_algorithms=["crc32", "sha256"])
    received = b"".join([chunk async for chunk in stream])
    assert received == DATA
    assert stream.digest.md5_hex == hashlib.md5(DATA).hexdigest()
    assert stream.digest.checksums == {
        "crc32": b64(zlib.crc32(DATA).to_bytes(4, "big")),
        "sha256": b64(hashlib.sha256(DATA).digest()),
    }


async def test_a_source_reusing_its_buffer_is_hashed_as_it_was() -> None:
    async def reused() -> AsyncIterator[bytes]:
        buffer = bytearray(65536)
        for start in range(0, SIZE, len(buffer)):
            piece = DATA[start:start + len(buffer)]
            buffer[:len(piece)] = piece
            yield memoryview(buffer)[:len(piece)]  # type: ignore[misc]
            buffer[:] = b"\0" * len(buffer)  # overwritten as soon as it was consumed

    stream = PayloadStream.from_iterable(reused(), size=SIZE)
    async for _ in stream:
        pass
    assert stream.digest.md5_hex == hashlib.md5(DATA).hexdigest()


@pytest.fixture
async def client(aiohttp_client) -> TestClient:
    async def handler(request: web.Request) -> web.Response:
        received = 0
        try:
            stream = PayloadStream.from_request(request, max_size=None)
            async for chunk in stream:
                received += len(chunk)
        except errors.S3Error as exc:
            return web.json_response({"error": exc.code, "received": received}, status=400)
        return web.json_response({"md5": stream.digest.md5_hex, "received": received,
                                  "checksums": stream.digest.checksums})

    app = web.Application()
    app.router.add_put("/{key:.*}", handler)
    return await aiohttp_client(TestServer(app))


async def test_large_body_matches_its_headers(client: TestClient) -> None:
    response = await client.put("/k", data=DATA, headers={
        "Content-MD5": b64(hashlib.md5(DATA).digest()),
        "x-amz-content-sha256": hashlib.sha256(DATA).hexdigest(),
        "x-amz-checksum-crc32c": checksums.compute("crc32c", DATA)})
    assert response.status == 200
    assert (await response.json())["md5"] == hashlib.md5(DATA).hexdigest()


@pytest.mark.parametrize(("header", "value", "code"), [
    ("Content-MD5", b64(hashlib.md5(b"other").digest()), "BadDigest"),
    ("x-amz-content-sha256", hashlib.sha256(b"other").hexdigest(), "XAmzContentSHA256Mismatch"),
    ("x-amz-checksum-sha1", checksums.compute("sha1", b"other"), "BadDigest"),
])
async def test_large_body_differing_from_its_headers_fails_the_final_read(
        client: TestClient, header: str, value: str, code: str) -> None:
    response = await client.put("/k", data=DATA, headers={header: value})
    assert response.status == 400
    # every byte was handed over before the error: it came from the final read
    assert await response.json() == {"error": code, "received": SIZE}


async def _stalled_after(data: bytes, gate: asyncio.Event) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 1 << 20):
        yield data[start:start + (1 << 20)]
    gate.set()
    await asyncio.Event().wait()  # the client stops sending


@pytest.fixture
def big_batches(monkeypatch: pytest.MonkeyPatch) -> bytes:
    """One batch of 96 MiB: hashing it takes long enough to be caught running."""
    monkeypatch.setattr(payload, "HASH_BATCH", 96 << 20)
    return bytes(96 << 20)


async def test_cancellation_waits_for_the_batch_being_hashed(big_batches: bytes) -> None:
    gate = asyncio.Event()
    stream = PayloadStream.from_iterable(_stalled_after(big_batches, gate))

    async def consume() -> None:
        async for _ in stream:
            pass

    task = asyncio.create_task(consume())
    await gate.wait()  # the batch was just handed to a thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _assert_settled(stream, big_batches)


async def _assert_settled(stream: PayloadStream, batch: bytes) -> None:
    """The batch's hashing was either cancelled before it started or finished before the
    cancellation did: never half done, and no thread updates the MD5 afterwards."""
    state = stream._md5.hexdigest()
    assert state in {hashlib.md5(b"").hexdigest(), hashlib.md5(batch).hexdigest()}
    await asyncio.sleep(0.05)
    assert stream._md5.hexdigest() == state


async def test_an_abandoned_stream_waits_for_the_batch_being_hashed(big_batches: bytes) -> None:
    stream = PayloadStream.from_iterable(_stalled_after(big_batches, asyncio.Event()))
    iterator = stream.__aiter__()
    received = 0
    async for chunk in iterator:
        received += len(chunk)
        if received == len(big_batches):  # the last piece of the batch: it is being hashed
            break
    await iterator.aclose()  # as when a backend stops reading (a failed write)
    await _assert_settled(stream, big_batches)


async def test_a_batch_is_read_on_while_the_one_before_hashes_and_hashes_stay_in_order(
        monkeypatch) -> None:
    """HASH_AHEAD batches are handed on before the body's reading waits: with the first
    batch's hash held back, the second is still received (and handed to another thread, which
    must hash it after the first for the digest to come out right)."""
    assert payload.HASH_AHEAD == 2
    first_done = threading.Event()
    real = payload._hash_batch

    def slow_first(updates, batch, after=None):
        if after is None:  # the first batch: none before it
            time.sleep(0.2)
            real(updates, batch, after)
            first_done.set()
        else:
            real(updates, batch, after)

    monkeypatch.setattr(payload, "_hash_batch", slow_first)
    stream = PayloadStream.from_iterable(pieces(DATA, 65536), size=SIZE)
    received_before_first_hash = 0
    async for chunk in stream:
        if not first_done.is_set():
            received_before_first_hash += len(chunk)
    # the first batch, the second, and what filled the third before the wait
    assert received_before_first_hash >= 2 * HASH_BATCH
    assert stream.digest.md5_hex == hashlib.md5(DATA).hexdigest()
