"""A null S3 server: the ceiling of a Python aiohttp server on this machine.

It does the least an S3 server can do and still answer the benchmark matrix's requests: PUT
bodies are read and dropped (only their size is remembered, per key), GET serves that many
bytes from one fixed buffer, HEAD and DELETE answer at once, multipart uploads drain their
parts, and LIST answers a pre-rendered page of keys. It checks no signature and stores nothing,
so whatever a real server spends beyond it is the cost of being a real server.

    python benchmarks/null_server.py --port 0     # prints "null serving http://HOST:PORT"
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket

from aiohttp import web

BUFFER = memoryview(bytes(1024 * 1024))  # served, in slices (never copied), for every GET
LIST_TEMPLATE = (
    "<Contents><Key>{key}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
    '<ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag><Size>0</Size>'
    "<StorageClass>STANDARD</StorageClass></Contents>"
)

# bucket -> key -> size; the listing of a bucket is "as many keys as were put in it"
sizes: dict[str, dict[str, int]] = {}


def split(request: web.Request) -> tuple[str, str]:
    bucket, _, key = request.match_info["path"].partition("/")
    return bucket, key


async def handle(request: web.Request) -> web.StreamResponse:
    bucket, key = split(request)
    query = request.query
    method = request.method
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


async def serve(host: str, port: int) -> None:
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
    print(f"null serving http://{host}:{sock.getsockname()[1]}", flush=True)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
