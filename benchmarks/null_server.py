"""A null S3 server: the ceiling of a Python aiohttp server on this machine.

It does the least an S3 server can do and still answer the benchmark matrix's requests: PUT
bodies are read and dropped (only their size is remembered, per key), GET serves that many
bytes from one fixed buffer, HEAD and DELETE answer at once, multipart uploads drain their
parts, and LIST answers a pre-rendered page of keys. It checks no signature and stores nothing,
so whatever a real server spends beyond it is the cost of being a real server.

With ``--disk DIR`` it stores objects durably, doing the least a filesystem store must do and
nothing else (``null-disk`` in the matrix, the ceiling of the filesystem backend's PUT and
GET cells). A PUT's body is hashed with MD5 (its ETag) in one thread and written to a
temporary file in another, in 1 MiB batches while the next are received, its pages started
for the disk as they are written; then the file is fsynced, renamed into place and the
directory fsynced, so it survives ``kill -9`` and power loss. A body within one batch takes a
single thread trip. GET opens the file on the event loop and answers a body of at most 64 KiB
in one write, a larger one in 1 MiB reads written as read; HEAD is a ``stat``, DELETE an
unlink and a directory fsync. Still no signature, no metadata, no lock: multipart uploads and
LIST stay as above.

With ``--postgres DSN`` it stores objects in PostgreSQL instead, as little as that takes
(``null-postgres``, the ceiling of the PostgreSQL backend's small cells; see
``null_postgres.py``).

    python benchmarks/null_server.py --port 0     # prints "null serving http://HOST:PORT"
    python benchmarks/null_server.py --disk DIR   # prints "null-disk serving http://HOST:PORT"
    python benchmarks/null_server.py --postgres DSN   # "null-postgres serving http://HOST:PORT"
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import hashlib
import os
import signal
import socket
import uuid
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

# Run as a script, this directory is on sys.path: the module beside it.
import null_postgres  # isort: skip

BUFFER = memoryview(bytes(1024 * 1024))  # served, in slices (never copied), for every GET
LIST_TEMPLATE = (
    "<Contents><Key>{key}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
    '<ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag><Size>0</Size>'
    "<StorageClass>STANDARD</StorageClass></Contents>"
)

# bucket -> key -> size; the listing of a bucket is "as many keys as were put in it"
sizes: dict[str, dict[str, int]] = {}

MIB = 1 << 20
SMALL_BODY = 64 * 1024  # answered in one write with the head, as post3 does
#: ``--disk``: where objects are stored, one directory per bucket, one file per key.
disk: Path | None = None
#: Batches a PUT may have handed to the threads beyond those both have finished: with one,
#: the hashing thread waited for each batch to arrive (0.84x).
AHEAD = 2
SYNC_FILE_RANGE_WRITE = 2
SYNC_FILE_RANGE = getattr(ctypes.CDLL(ctypes.util.find_library("c")), "sync_file_range", None)


def split(request: web.Request) -> tuple[str, str]:
    bucket, _, key = request.match_info["path"].partition("/")
    return bucket, key


async def handle(request: web.Request) -> web.StreamResponse:
    bucket, key = split(request)
    query = request.query
    method = request.method
    postgres = null_postgres.pool is not None  # --postgres
    if (disk is not None or postgres) and key and "uploadId" not in query \
            and "uploads" not in query:
        if postgres:
            response = await null_postgres.handle(request, method, bucket, key)
        else:
            assert disk is not None
            response = await handle_on_disk(request, method, disk / bucket, key)
        if method == "PUT":  # the listing stays the null one: as many keys as were put
            sizes.setdefault(bucket, {})[key] = 0
        elif method == "DELETE":
            sizes.get(bucket, {}).pop(key, None)
        return response
    if disk is not None and method == "PUT" and not key:
        (disk / bucket).mkdir(exist_ok=True)
    if method == "PUT":
        received = 0
        async for chunk in request.content.iter_any():
            received += len(chunk)
        if not key:
            sizes.setdefault(bucket, {})
            return web.Response(status=200)
        sizes.setdefault(bucket, {})[key] = received
        return web.Response(status=200, headers={"ETag": '"0"'})
    if method == "GET" and not key:
        return list_page(bucket, query)
    if method in ("GET", "HEAD"):
        size = sizes.get(bucket, {}).get(key, 4096)
        if method == "HEAD":
            return web.Response(status=200, headers={"Content-Length": str(size), "ETag": '"0"'})
        response = web.StreamResponse(status=200, headers={"ETag": '"0"'})
        response.content_length = size
        await response.prepare(request)
        sent = 0
        while sent < size:
            block = BUFFER[: min(len(BUFFER), size - sent)]
            await response.write(block)
            sent += len(block)
        return response
    if method == "DELETE":
        sizes.get(bucket, {}).pop(key, None)
        return web.Response(status=204)
    if method == "POST" and "uploads" in query:
        body = (f"<InitiateMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key>"
                "<UploadId>null</UploadId></InitiateMultipartUploadResult>")
        return web.Response(text=body, content_type="application/xml")
    if method == "POST" and "uploadId" in query:
        await request.read()
        body = (f"<CompleteMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key>"
                '<ETag>"0-1"</ETag></CompleteMultipartUploadResult>')
        return web.Response(text=body, content_type="application/xml")
    return web.Response(status=400)


async def handle_on_disk(request: web.Request, method: str, directory: Path, key: str
                         ) -> web.StreamResponse:
    path = directory / quote(key, safe="")
    loop = asyncio.get_running_loop()
    if method == "PUT":
        return await put_durably(request, directory, path)
    if method == "DELETE":
        await loop.run_in_executor(None, delete_durably, directory, path)
        return web.Response(status=204)
    try:  # on the event loop, as post3 opens a cached record: no thread trip
        file = open(path, "rb")  # noqa: ASYNC230
    except FileNotFoundError:
        return web.Response(status=404)
    with file:
        size = os.fstat(file.fileno()).st_size
        if method == "HEAD":
            return web.Response(status=200, headers={"Content-Length": str(size), "ETag": '"0"'})
        if size <= SMALL_BODY:
            return web.Response(status=200, body=os.pread(file.fileno(), size, 0),
                                headers={"ETag": '"0"'})
        response = web.StreamResponse(status=200, headers={"ETag": '"0"'})
        response.content_length = size
        await response.prepare(request)
        # 1 MiB positional reads, each written as read: 1.2-1.3x what loop.sendfile reached
        # here for a 64 MiB object in the page cache (the client spent 0.75 of a core
        # receiving from sendfile, 0.55 from these writes).
        for offset in range(0, size, MIB):
            await response.write(os.pread(file.fileno(), MIB, offset))
        return response


async def put_durably(request: web.Request, directory: Path, path: Path) -> web.Response:
    """Receive, hash and write at once: each 1 MiB batch goes to the upload's hashing thread
    and to its writing thread (one each, so batches keep their order), up to two batches
    ahead of what both have finished."""
    loop = asyncio.get_running_loop()
    md5 = hashlib.md5()
    temporary = directory / f".{uuid.uuid4().hex}"
    fd: int | None = None
    threads: list[concurrent.futures.ThreadPoolExecutor] = []
    pending: collections.deque[asyncio.Future[list[None]]] = collections.deque()
    batch: list[bytes] = []
    held = 0
    try:
        async for chunk in request.content.iter_any():
            batch.append(chunk)
            held += len(chunk)
            if held >= MIB:
                if fd is None:
                    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                    threads = [concurrent.futures.ThreadPoolExecutor(1) for _ in range(2)]
                if len(pending) == AHEAD:
                    await pending.popleft()
                data = b"".join(batch)
                hasher, writer = threads
                pending.append(asyncio.gather(loop.run_in_executor(hasher, md5.update, data),
                                              loop.run_in_executor(writer, write, fd, data)))
                batch, held = [], 0
        while pending:
            await pending.popleft()
        etag = await loop.run_in_executor(None, commit, md5, fd, b"".join(batch), temporary,
                                          path, directory)
    except BaseException:
        await asyncio.gather(*pending, return_exceptions=True)
        if fd is not None:
            with contextlib.suppress(OSError):  # commit closes it first
                os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    finally:
        for pool in threads:
            pool.shutdown(wait=False)
    return web.Response(status=200, headers={"ETag": f'"{etag}"'})


def write(fd: int, data: bytes, writeback: bool = True) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    if writeback:  # not for a body's last batch: the fsync follows
        start_writeback(fd)


def start_writeback(fd: int) -> None:
    """Start writing the file's dirty pages to the disk, not waiting for them (Linux's
    ``sync_file_range``, which Python's ``os`` lacks), so the final fsync has little left:
    1.13x the 64 MiB PUT here."""
    if SYNC_FILE_RANGE is not None:
        SYNC_FILE_RANGE(fd, ctypes.c_int64(0), ctypes.c_int64(0), SYNC_FILE_RANGE_WRITE)


def commit(md5: hashlib._Hash, fd: int | None, data: bytes, temporary: Path, path: Path,
           directory: Path) -> str:
    if fd is None:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        md5.update(data)
        write(fd, data, writeback=False)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    fsync_directory(directory)
    return md5.hexdigest()


def delete_durably(directory: Path, path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    fsync_directory(directory)


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def list_page(bucket: str, query) -> web.Response:
    """ListObjectsV2 over "as many keys as were put": the token is an offset."""
    count = len(sizes.get(bucket, {}))
    limit = int(query.get("max-keys", "1000"))
    start = int(query.get("continuation-token", "0"))
    end = min(count, start + limit)
    parts = ["<ListBucketResult><Name>", bucket, "</Name>"]
    parts += [LIST_TEMPLATE.format(key=f"k{index:07d}") for index in range(start, end)]
    parts.append(f"<KeyCount>{end - start}</KeyCount><MaxKeys>{limit}</MaxKeys>")
    if end < count:
        parts.append(f"<IsTruncated>true</IsTruncated><NextContinuationToken>{end}"
                     "</NextContinuationToken>")
    else:
        parts.append("<IsTruncated>false</IsTruncated>")
    parts.append("</ListBucketResult>")
    return web.Response(text="".join(parts), content_type="application/xml")


async def serve(host: str, port: int, dsn: str | None) -> None:
    if dsn is not None:
        await null_postgres.connect(dsn)
    app = web.Application(client_max_size=1 << 40)
    app.router.add_route("*", "/{path:.*}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.create_server((host, port), backlog=1024)
    site = web.SockSite(runner, sock)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    name = "null-postgres" if dsn else "null" if disk is None else "null-disk"
    print(f"{name} serving http://{host}:{sock.getsockname()[1]}", flush=True)
    await stop.wait()
    await runner.cleanup()
    await null_postgres.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--disk", type=Path, default=None,
                        help="store objects durably in this directory (null-disk)")
    parser.add_argument("--postgres", metavar="DSN", default=None,
                        help="store objects in this PostgreSQL database (null-postgres)")
    args = parser.parse_args()
    if args.disk is not None:
        global disk
        args.disk.mkdir(parents=True, exist_ok=True)
        disk = args.disk
    asyncio.run(serve(args.host, args.port, args.postgres))


if __name__ == "__main__":
    main()
