"""GetObject and HeadObject."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import BinaryIO

from aiohttp import web

from post3 import conditions, errors, multipart
from post3.api.lifecycle import expiration_headers
from post3.api.middleware import BODY_SENT
from post3.api.object_headers import checksum_headers, http_date, object_headers, quote_etag
from post3.api.request import S3Request
from post3.api.versioning import head_version, readable, requested_version, version_headers
from post3.backend import ByteRange, Checksums, ObjectInfo, ObjectStream
from post3.encryption import service as encryption
from post3.encryption.headers import response_headers as encryption_headers
from post3.ranges import PartRange, content_range, parse_range

#: A body up to this size is read before the answer starts and leaves in the same socket write
#: as the head: a small GET costs one system call instead of two (head, then body or
#: sendfile). It is a bound on what one request buffers, well below a backend's block.
SMALL_BODY = 64 << 10
#: A body in a file of at least this size, while no other is being sent, is read and written
#: in pieces of :data:`FILE_PIECE` (see :func:`send_file`); any other goes by ``sendfile``.
LONE_PIECES_MIN = 4 << 20
FILE_PIECE = 1 << 20
#: ``preadv`` flag: read only what the page cache holds, never wait on the disk (Linux).
NOWAIT = getattr(os, "RWF_NOWAIT", None)
#: Bodies of this process being sent from a file, by either way.
_file_sends = 0
#: The pieces' buffer when no transport holds it, for the next lone download: a fresh 1 MiB
#: buffer is a new mapping whose every page faults in.
_free_piece: bytearray | None = None


def requested_range(s3: S3Request) -> ByteRange | None:
    part = s3.query.get("partNumber")
    if part is not None:
        if not part.isdigit() or not 1 <= int(part) <= 10000:
            raise errors.InvalidArgument(
                "Part number must be an integer between 1 and 10000, inclusive",
                ArgumentName="partNumber", ArgumentValue=part,
            )
        if "Range" in s3.headers:
            raise errors.InvalidRequest(
                "Cannot specify both Range header and partNumber query parameter")
        return PartRange(int(part))
    return parse_range(s3.headers.get("Range"))


def not_modified(info: ObjectInfo) -> web.Response:
    return web.Response(status=304, headers={
        "ETag": quote_etag(info.etag), "Last-Modified": http_date(info.last_modified)})


def response_headers(s3: S3Request, info: ObjectInfo, start: int, stop: int,
                     byte_range: ByteRange | None) -> tuple[int, dict[str, str]]:
    checksum_mode = s3.headers.get("x-amz-checksum-mode", "").lower() == "enabled"
    headers = object_headers(info, s3.query, checksums=checksum_mode and byte_range is None)
    headers.update(version_headers(info))
    headers.update(encryption_headers(info.attributes.encryption))
    headers["Content-Length"] = str(stop - start)
    if byte_range is None:
        return 200, headers
    if isinstance(byte_range, PartRange):
        # A simple object is its own part 1 (S3 answers 206 with the whole object).
        headers["x-amz-mp-parts-count"] = str(len(info.part_sizes) or 1)
        stored = multipart.part_checksums(info) if checksum_mode else None
        if stored is not None:
            # The part's own checksum: it covers exactly the bytes sent, so clients verify it.
            algorithm, values = stored
            part = Checksums({algorithm: values[byte_range.part_number - 1]},
                             info.checksums.type)
            headers.update(checksum_headers(part))
    headers["Content-Range"] = content_range(start, stop, info.size)
    return 206, headers


async def handle_get_object(s3: S3Request) -> web.StreamResponse:
    version_id = requested_version(s3)
    byte_range = requested_range(s3)
    stream = await encryption.open_object(s3, s3.bucket, s3.key, byte_range, version_id)
    try:
        readable(stream.info, version_id)
        if not conditions.evaluate_read(stream.info, s3.headers):
            return not_modified(stream.info)
        status, headers = response_headers(s3, stream.info, stream.start, stream.stop, byte_range)
        if version_id is None:
            headers.update(await expiration_headers(s3, stream.info))
        if stream.length <= SMALL_BODY:
            return web.Response(status=status, headers=headers, body=await small_body(stream))
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = stream.length
        await response.prepare(s3.request)
        await send_body(s3.request, response, stream)
        return response
    finally:
        await stream.aclose()


async def small_body(stream: ObjectStream) -> bytes:
    """The whole of a stream of at most :data:`SMALL_BODY` bytes. Read before the status line
    is sent, so a failure is still an S3 error; a file is read with one ``pread`` on the event
    loop thread, as ``sendfile`` would have read it there."""
    sendfile = stream.sendfile() if stream.length else None
    if sendfile is not None:
        file, offset, count = sendfile
        body = os.pread(file.fileno(), count, offset)
    else:
        body = b"".join([block async for block in stream])
    if len(body) != stream.length:
        raise errors.InternalError()  # the stored object is not the size its record says
    return body


async def send_body(request: web.Request, response: web.StreamResponse,
                    stream: ObjectStream) -> None:
    """Send the stream's bytes after ``prepare()``. A failure now cannot become an S3 error
    (the status line is out), so the connection is aborted: the client sees a truncated
    transfer, never a clean end of a short body."""
    request[BODY_SENT] = 0
    try:
        sendfile = stream.sendfile() if stream.length else None
        transport = request.transport
        if sendfile is not None and transport is not None and not transport.is_closing():
            file, offset, count = sendfile
            await send_file(request, response, transport, file, offset, count)
        else:
            async for block in stream:
                await response.write(block)
                request[BODY_SENT] += len(block)
                # Not held while the next block is awaited: a backend may make it wait its turn
                # for a while (PostgreSQL's read budget), and the block is sent already.
                del block
        await response.write_eof()
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        if request.transport is not None:
            request.transport.abort()
        raise


async def send_file(request: web.Request, response: web.StreamResponse,
                    transport: asyncio.Transport, file: BinaryIO, offset: int, count: int
                    ) -> None:
    """Send ``count`` bytes of ``file`` from ``offset``.

    ``loop.sendfile`` costs the server least per byte, so it sends every body but one kind: a
    large body while no other file body is being sent is read and written in 1 MiB pieces.
    Over loopback this measured 1.2x the throughput of sendfile for a lone 64 MiB download,
    the server taking on more of the work with the core it had to spare; but 1 MiB GETs of 4
    clients at once, where the server's CPU is the limit, fell to 0.45x, each costing 2.5x
    the server CPU, which is why concurrent and smaller downloads do not use it
    (``benchmarks/README.md``). A piece the page cache holds is read on the event loop thread
    (``RWF_NOWAIT`` never waits on the disk), any other in a worker thread. The buffer is read
    into again only once the transport has sent everything, since a transport may keep what
    it has not sent yet without copying it.
    """
    global _file_sends, _free_piece
    loop = asyncio.get_running_loop()
    lone = _file_sends == 0 and count >= LONE_PIECES_MIN
    _file_sends += 1
    piece: bytearray | None = None
    try:
        if not lone:
            request[BODY_SENT] = await loop.sendfile(transport, file, offset, count)
            return
        piece, _free_piece = _free_piece, None
        fd, end = file.fileno(), offset + count
        while offset < end:
            if piece is None:
                piece = bytearray(FILE_PIECE)
            view = memoryview(piece)[:min(FILE_PIECE, end - offset)]
            read = 0
            if NOWAIT is not None:
                with contextlib.suppress(OSError):  # EAGAIN: not cached; or no such flag here
                    read = os.preadv(fd, [view], offset, NOWAIT)
            if not read:
                # Never kept while a thread may still read into it.
                reading, piece = piece, None
                read = await loop.run_in_executor(None, os.preadv, fd, [view], offset)
                piece = reading
            if not read:
                raise errors.InternalError()  # the file is shorter than its record says
            sending, piece = piece, None
            await response.write(view[:read])
            request[BODY_SENT] += read
            offset += read
            if not transport.get_write_buffer_size():
                piece = sending  # sent, all of it: no transport holds the buffer
    finally:
        _file_sends -= 1
        if piece is not None:
            _free_piece = piece


async def handle_head_object(s3: S3Request) -> web.StreamResponse:
    version_id = requested_version(s3)
    byte_range = requested_range(s3)
    info = await head_version(s3, s3.bucket, s3.key, version_id)
    encryption.check_read(s3, info)
    if not conditions.evaluate_read(info, s3.headers):
        return not_modified(info)
    start, stop = byte_range.resolve(info) if byte_range is not None else (0, info.size)
    status, headers = response_headers(s3, info, start, stop, byte_range)
    if version_id is None:
        headers.update(await expiration_headers(s3, info))
    return web.Response(status=status, headers=headers)


HANDLERS = {"GetObject": handle_get_object, "HeadObject": handle_head_object}
