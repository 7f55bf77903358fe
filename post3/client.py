"""post3's async client: aiobotocore with post3's defaults, a few helpers, post3's errors.

Install with ``pip install 'post3[client]'``::

    import post3.client

    async with post3.client.connect("http://127.0.0.1:9000", "post3", "post3") as s3:
        await s3.ensure_bucket("photos")
        await s3.upload_file("photos", "cat.jpg", "./cat.jpg", progress=print)
        async for entry in s3.iter_objects("photos"):
            print(entry["Key"], entry["Size"])
        try:
            await s3.get_object(Bucket="photos", Key="dog.jpg")
        except post3.errors.NoSuchKey:
            ...

``s3`` *is* the aiobotocore S3 client, with every operation it has (``put_object``,
``get_paginator``, ``generate_presigned_url``...), configured for post3: path-style addressing,
region ``us-east-1``, SigV4. The helpers are added to its class through botocore's own
``creating-client-class`` event, the way boto3 adds ``upload_file`` to its clients.

Errors: a service error raised by any call is an instance of the :mod:`post3.errors` class
the server raised (``post3.errors.NoSuchKey``, ``post3.errors.NoSuchBucket``...), so the same
``except`` works on both sides. It is *also* a ``botocore.exceptions.ClientError`` carrying
``.response``, so code written for plain aiobotocore (and aiobotocore's waiters) keeps working,
and the ClientError botocore raised is its ``__cause__``.

Endpoint and credentials come from the arguments, else ``POST3_ENDPOINT_URL``,
``POST3_ACCESS_KEY`` and ``POST3_SECRET_KEY``, else botocore's own chain (``AWS_*``
variables, ``~/.aws``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypedDict, cast

try:
    from aiobotocore.client import AioBaseClient
    from aiobotocore.config import AioConfig
    from aiobotocore.session import AioSession, get_session
    from botocore.exceptions import ClientError
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "post3.client needs aiobotocore: pip install 'post3[client]'"
    ) from exc

from post3 import errors

DEFAULT_ENDPOINT_URL = "http://127.0.0.1:9000"
DEFAULT_REGION = "us-east-1"

MiB = 1024**2
#: Objects up to this size go up in one PutObject; larger ones as a multipart upload.
MULTIPART_THRESHOLD = 16 * MiB
#: Size of each uploaded part, and of each ranged GET of a download.
PART_SIZE = 8 * MiB
#: S3's smallest part (all but the last) and largest part count.
MIN_PART_SIZE = 5 * MiB
MAX_PARTS = 10_000
#: Parts uploaded at the same time; memory use is about ``concurrency * part_size``.
CONCURRENCY = 4
#: Reads of a download's body.
READ_SIZE = 256 * 1024

#: Called with (bytes transferred so far, total bytes or None when unknown).
ProgressCallback = Callable[[int, int | None], object]

Source = AsyncIterable[bytes] | IO[bytes]


class ListedObject(TypedDict, total=False):
    """One entry of a listing, as ListObjectsV2 returns it."""

    Key: str
    Size: int
    ETag: str
    LastModified: datetime
    StorageClass: str


# --------------------------------------------------------------------------- errors


def to_s3_error(exc: ClientError) -> errors.S3Error:
    """The :mod:`post3.errors` instance for a botocore ClientError (also a ClientError)."""
    response = exc.response
    details = response.get("Error", {})
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500
    code = str(details.get("Code") or status)
    base = _error_base(code, int(status), exc.operation_name)
    cls = _dual_class(base)  # type: ignore[arg-type]  # a class is hashable
    error = cls.__new__(cls)
    ClientError.__init__(error, response, exc.operation_name)
    # Without a body (HEAD), botocore's message is the HTTP reason: S3's message says more.
    error.message = (not code.isdigit() and details.get("Message")) or base.default_message
    error.fields = {k: str(v) for k, v in details.items() if k not in ("Code", "Message")}
    return error


# A HEAD response has no body, so botocore only knows the status: name the error S3 would have.
_HEAD_ERRORS: dict[int, type[errors.S3Error]] = {
    400: errors.BadRequest,
    403: errors.AccessDenied,
    405: errors.MethodNotAllowed,
    412: errors.PreconditionFailed,
    416: errors.InvalidRange,
    500: errors.InternalError,
    503: errors.ServiceUnavailable,
}


def _error_base(code: str, status: int, operation: str) -> type[errors.S3Error]:
    if code.isdigit() or code in ("NotFound", "Forbidden", "BadRequest"):
        if status == 404:
            return errors.NoSuchBucket if operation == "HeadBucket" else errors.NoSuchKey
        if status in _HEAD_ERRORS:
            return _HEAD_ERRORS[status]
        code = {304: "NotModified"}.get(status, code)
    known = getattr(errors, code, None)
    if isinstance(known, type) and issubclass(known, errors.S3Error):
        return known
    return _unknown_error(code, status)


@functools.cache
def _unknown_error(code: str, status: int) -> type[errors.S3Error]:
    attributes = {"status": status, "default_message": code, "__module__": errors.__name__}
    return type(code, (errors.S3Error,), attributes)


@functools.cache
def _dual_class(base: type[errors.S3Error]) -> type[errors.S3Error]:
    # Built once per error code: an S3Error for post3 users, a ClientError for botocore code.
    return type(base.__name__, (base, ClientError), {"__module__": __name__})


# --------------------------------------------------------------------------- the client


class Post3Client:
    """Helpers mixed into the aiobotocore S3 client that :func:`connect` yields.

    Every other attribute is aiobotocore's (``await s3.put_object(...)``); the type of the
    yielded client is an aiobotocore client class with this one first among its bases.
    """

    async def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
        try:
            return await super()._make_api_call(operation_name, api_params)  # type: ignore[misc]
        except ClientError as exc:
            if isinstance(exc, errors.S3Error):
                raise
            raise to_s3_error(exc) from exc

    @property
    def _s3(self) -> Any:
        return self  # the aiobotocore client, whose operations are untyped

    async def ensure_bucket(self, bucket: str) -> bool:
        """Create ``bucket`` unless it exists; True when this call created it.

        It asks first: in us-east-1, S3 (and post3) answer 200 to creating a bucket you
        already own, so the answer to CreateBucket alone cannot tell."""
        try:
            await self._s3.head_bucket(Bucket=bucket)
        except errors.NoSuchBucket:
            pass
        else:
            return False
        try:
            await self._s3.create_bucket(Bucket=bucket)
        except errors.BucketAlreadyOwnedByYou:
            return False  # created meanwhile, outside us-east-1
        return True

    async def upload_stream(
        self,
        bucket: str,
        key: str,
        source: Source,
        *,
        size: int | None = None,
        part_size: int = PART_SIZE,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        concurrency: int = CONCURRENCY,
        progress: ProgressCallback | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Store what ``source`` yields (an async iterable of bytes, or a binary file opened
        for reading) as ``bucket/key``; return the PutObject or CompleteMultipartUpload
        response.

        Up to ``multipart_threshold`` bytes go in one PutObject; more go as a multipart upload
        of ``part_size`` parts, ``concurrency`` at a time, aborted if anything fails. ``size``,
        when known, only feeds ``progress`` and raises the part size for objects that would
        need more than 10,000 parts. ``extra`` goes to PutObject / CreateMultipartUpload
        (``Metadata``, ``ContentType``...).
        """
        if size is not None and size > part_size * MAX_PARTS:
            part_size = -(-size // MAX_PARTS)
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        raw = _read(source)
        head = bytearray()
        async for chunk in raw:
            head += chunk
            if len(head) > multipart_threshold:
                break
        if len(head) <= multipart_threshold:  # the whole source fitted
            response = await self._s3.put_object(Bucket=bucket, Key=key, Body=bytes(head),
                                                  **extra)
            if progress is not None:
                progress(len(head), len(head))
            return cast(dict[str, Any], response)
        parts = _rechunk(_prepend([bytes(head)], raw), part_size)
        del head
        return await self._multipart_upload(
            bucket, key, parts, size=size, concurrency=concurrency, progress=progress,
            extra=extra,
        )

    async def _multipart_upload(
        self, bucket: str, key: str, parts: AsyncIterator[bytes], *, size: int | None,
        concurrency: int, progress: ProgressCallback | None, extra: dict[str, Any],
    ) -> dict[str, Any]:
        created = await self._s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)
        upload_id = created["UploadId"]
        completed: dict[int, dict[str, Any]] = {}
        done = 0
        slots = asyncio.Semaphore(max(1, concurrency))

        async def send(number: int, data: bytes) -> None:
            nonlocal done
            try:
                answer = await self._s3.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
                )
            finally:
                slots.release()
            # A checksum the client sent with the part must be repeated when completing.
            completed[number] = {
                "PartNumber": number,
                "ETag": answer["ETag"],
                **{k: v for k, v in answer.items() if k.startswith("Checksum")},
            }
            done += len(data)
            if progress is not None:
                progress(done, size)

        try:
            async with asyncio.TaskGroup() as group:
                number = 0
                async for data in parts:
                    number += 1
                    await slots.acquire()
                    group.create_task(send(number, data))
            return cast(dict[str, Any], await self._s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": [completed[n] for n in sorted(completed)]},
            ))
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await self._s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            if isinstance(exc, BaseExceptionGroup):
                raise exc.exceptions[0] from None  # the part that failed first
            raise

    async def upload_file(
        self, bucket: str, key: str, path: str | os.PathLike[str], **options: Any
    ) -> dict[str, Any]:
        """Upload a local file; ``options`` as for :meth:`upload_stream`."""
        size = (await asyncio.to_thread(os.stat, path)).st_size
        with await asyncio.to_thread(open, path, "rb") as file:
            return await self.upload_stream(bucket, key, file, size=size, **options)

    async def download_stream(
        self,
        bucket: str,
        key: str,
        *,
        part_size: int = PART_SIZE,
        progress: ProgressCallback | None = None,
        **extra: Any,
    ) -> AsyncIterator[bytes]:
        """Yield the bytes of ``bucket/key``, fetched in ``part_size`` ranged GETs.

        Every GET names the ETag the first one saw (``If-Match``), so an object replaced
        during the download raises ``post3.errors.PreconditionFailed`` instead of yielding a
        mix of two versions. ``extra`` goes to HeadObject and GetObject (``VersionId``...).
        """
        head = await self._s3.head_object(Bucket=bucket, Key=key, **extra)
        total, etag = head["ContentLength"], head["ETag"]
        done = 0
        if progress is not None:
            progress(0, total)
        while done < total or (total == 0 and done == 0):
            ranged = {"Range": f"bytes={done}-{done + part_size - 1}"} if total else {}
            answer = await self._s3.get_object(
                Bucket=bucket, Key=key, IfMatch=etag, **ranged, **extra
            )
            async with answer["Body"] as body:
                while chunk := await body.read(READ_SIZE):
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
                    yield chunk
            if total == 0:
                break

    async def download_file(
        self, bucket: str, key: str, path: str | os.PathLike[str], **options: Any
    ) -> int:
        """Write ``bucket/key`` to ``path`` (whole or not at all); return its size.
        ``options`` as for :meth:`download_stream`."""
        target = Path(path)
        partial = target.with_name(f".{target.name}.post3-partial")
        size = 0
        try:
            with await asyncio.to_thread(open, partial, "wb") as file:
                async for chunk in self.download_stream(bucket, key, **options):
                    await asyncio.to_thread(file.write, chunk)
                    size += len(chunk)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return size

    async def iter_objects(
        self, bucket: str, prefix: str = "", *, start_after: str = "", page_size: int = 1000
    ) -> AsyncIterator[ListedObject]:
        """Every object under ``prefix``, in key order, a page of ``page_size`` at a time."""
        paginator = self._s3.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=bucket, Prefix=prefix, StartAfter=start_after,
            PaginationConfig={"PageSize": page_size},
        )
        async for page in pages:
            for entry in page.get("Contents", ()):
                yield entry


#: The type :func:`connect` yields, for annotations: ``async def f(s3: post3.client.S3Client)``.
S3Client = Post3Client


def _add_helpers(base_classes: list[type], **kwargs: Any) -> None:
    if Post3Client not in base_classes:
        base_classes.insert(0, Post3Client)


@contextlib.asynccontextmanager
async def connect(
    endpoint_url: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    *,
    region: str = DEFAULT_REGION,
    config: AioConfig | None = None,
    session: AioSession | None = None,
    **client_options: Any,
) -> AsyncIterator[S3Client]:
    """An S3 client for post3, closed when the block exits.

    ``config`` is merged over post3's defaults (path-style addressing, SigV4, standard retries);
    ``client_options`` go to aiobotocore's ``create_client`` (``verify``, ``aws_session_token``
    ...). A ``session`` given is reused; the helpers are registered on it for S3 clients.
    """
    env = os.environ
    endpoint_url = endpoint_url or env.get("POST3_ENDPOINT_URL") or DEFAULT_ENDPOINT_URL
    access_key = access_key or env.get("POST3_ACCESS_KEY") or None
    secret_key = secret_key or env.get("POST3_SECRET_KEY") or None
    defaults = AioConfig(
        region_name=region,
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"mode": "standard"},
    )
    session = session or get_session()
    session.register("creating-client-class.s3", _add_helpers, unique_id="post3-client-helpers")
    client = session.create_client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=defaults.merge(config) if config is not None else defaults,
        **client_options,
    )
    async with client as s3:
        yield s3


# --------------------------------------------------------------------------- byte plumbing


async def _read(source: Source) -> AsyncIterator[bytes]:
    if hasattr(source, "read"):
        while chunk := await asyncio.to_thread(source.read, READ_SIZE * 4):
            yield chunk
    else:
        async for chunk in source:
            if chunk:
                yield bytes(chunk)


async def _rechunk(chunks: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """Exactly ``size`` bytes per item, the last one shorter; nothing for an empty source."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


async def _prepend(first: list[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for item in first:
        yield item
    async for item in rest:
        yield item


__all__ = [
    "AioBaseClient",
    "AioConfig",
    "AioSession",
    "ListedObject",
    "Post3Client",
    "ProgressCallback",
    "S3Client",
    "connect",
    "to_s3_error",
]
