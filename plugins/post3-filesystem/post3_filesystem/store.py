"""FilesystemStore: the data root, its locks, and the write path every commit shares.

Layout under ``root``::

    .post3/tmp/                 temporary files of writes in progress (same filesystem)
    .post3/locks/               flock files: one per bucket, and 256 key stripes
    <bucket>/bucket.json        creation time and bucket tags
    <bucket>/objects/...        the keys, mapped by :mod:`post3_filesystem.layout`
    <bucket>/uploads/<id>/      upload.json and part-NNNNN records of a pending multipart upload

Why one file per object holding data *and* metadata (:mod:`post3_filesystem.records`): the
bytes and their header become visible with the same ``os.replace``, so they cannot disagree,
and a reader that opened the file keeps the version it opened. Tags are the one thing that
changes without new bytes; ``PutObjectTagging`` writes a tag file (``t<name>``, atomically
replaced) that names the record version it belongs to. A reader takes it only when the
version matches the record it opened, so tags of an older version are never shown for a
newer one, and the data is never rewritten for a tag change.

Concurrency (several processes may share the root): every commit (object, part, tags,
delete) takes the bucket's lock shared and the key's stripe lock exclusive, only around
check-and-rename, so ``If-None-Match``/``If-Match`` are decided atomically with the rename
across processes; ``DeleteBucket`` takes the bucket lock exclusive so no commit lands in a
bucket being removed. Uploads themselves run outside any lock; last rename wins.

Blocking system calls run in this backend's thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from post3 import errors
from post3.backend import (
    Backend,
    BackendError,
    ObjectInfo,
    WriteCondition,
)
from post3_filesystem import files, layout, records

if TYPE_CHECKING:
    from post3.payload import PayloadStream

T = TypeVar("T")

#: Writes are handed to a thread once this much body has arrived.
WRITE_BLOCK = 1 << 20
#: Key lock stripes: bounded lock files, rare false sharing between keys.
KEY_STRIPES = 256
#: Keys up to 1024 bytes can need about 3.1 KB of path below a bucket (escapes, type
#: letters); with this root length the whole path stays under Linux's PATH_MAX of 4096.
MAX_ROOT_PATH = 900

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
PART_FILE = re.compile(r"^part-(\d{5})$")


class FilesystemStore(Backend):
    """Plumbing shared by object and multipart operations; see the module docstring."""

    def __init__(self, root: str = "./post3-data", fsync: bool = True) -> None:
        self.root = os.path.abspath(root)
        self.fsync = fsync
        self._tmp = os.path.join(self.root, ".post3", "tmp")
        self._locks = os.path.join(self.root, ".post3", "locks")
        self._executor: ThreadPoolExecutor | None = None

    # plumbing ------------------------------------------------------------------------------

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=min(32, (os.cpu_count() or 1) + 4), thread_name_prefix="post3-fs"
            )
        return self._executor

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self.executor.submit(fn, *args))

    def _bucket_dir(self, bucket: str) -> str:
        # The core validates names; this guard keeps a path component from ever being odd.
        if not BUCKET_NAME.match(bucket) or ".." in bucket:
            raise errors.InvalidBucketName(BucketName=bucket)
        return os.path.join(self.root, bucket)

    def _uploads_dir(self, bucket: str) -> str:
        return os.path.join(self._bucket_dir(bucket), "uploads")

    def _require_bucket(self, bucket: str) -> str:
        path = self._bucket_dir(bucket)
        if not os.path.isdir(path):
            raise errors.NoSuchBucket(BucketName=bucket)
        return path

    @contextlib.contextmanager
    def _commit_lock(self, bucket: str, key: str | None) -> Iterator[None]:
        """Bucket lock shared (DeleteBucket waits), then the key's stripe exclusive."""
        with files.flocked(os.path.join(self._locks, f"bucket-{bucket}"), fcntl.LOCK_SH):
            self._require_bucket(bucket)
            if key is None:
                yield
                return
            digest = hashlib.blake2b(f"{bucket}/{key}".encode(), digest_size=4).digest()
            stripe = int.from_bytes(digest) % KEY_STRIPES
            with files.flocked(os.path.join(self._locks, f"key-{stripe:03d}"), fcntl.LOCK_EX):
                yield

    # lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        if len(self.root.encode()) > MAX_ROOT_PATH:
            raise BackendError(
                f"filesystem root {self.root!r} is too long: keep it under {MAX_ROOT_PATH} bytes"
            )
        try:
            os.makedirs(self.root, exist_ok=True)
            if not os.path.isdir(self.root):
                raise NotADirectoryError(20, "not a directory")
            os.makedirs(self._tmp, exist_ok=True)
            os.makedirs(self._locks, exist_ok=True)
            files.TempFile.create(self._tmp, "probe").discard()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise BackendError(
                f"filesystem root {self.root!r} is not a writable directory: {reason}"
            ) from None
        self._check_names_preserved()
        files.sweep_tmp(self._tmp)

    def _check_names_preserved(self) -> None:
        """S3 keys are case- and normalization-sensitive; refuse a filesystem that is not."""
        probe = files.TempFile.create(self._tmp, "probe", "-a\u00e9")
        try:
            assert probe.path is not None
            folded = probe.path[: -len("a\u00e9")] + unicodedata.normalize("NFD", "A\u00e9")
            if os.path.exists(folded):
                raise BackendError(
                    f"filesystem root {self.root!r} is on a case- or Unicode-insensitive "
                    "filesystem; S3 keys need one that preserves names exactly"
                )
        finally:
            probe.discard()

    async def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def ready(self) -> None:
        try:
            await self._run(os.stat, self._tmp)
        except OSError as exc:
            raise errors.ServiceUnavailable(
                f"filesystem root unavailable: {exc.strerror}"
            ) from None

    # objects: reading ------------------------------------------------------------------------

    def _object_paths(self, bucket: str, key: str) -> tuple[str, list[str], str]:
        """``(bucket dir, directory names from there, escaped fragment)``."""
        dirs, fragment = layout.key_location(key)
        return self._bucket_dir(bucket), ["objects", *dirs], fragment

    def _open_record(self, bucket: str, key: str) -> tuple[io.FileIO, ObjectInfo] | None:
        """The open record and its info (with current tags), or None when absent."""
        base, dirs, fragment = self._object_paths(bucket, key)
        directory = os.path.join(base, *dirs)
        try:
            file = io.FileIO(os.path.join(directory, layout.OBJECT + fragment), "r")
        except (FileNotFoundError, NotADirectoryError):
            self._require_bucket(bucket)
            return None
        try:
            header, _ = records.read(file.fileno())
            tags = self._current_tags(os.path.join(directory, layout.TAGS + fragment), header)
            return file, records.object_info(header, tags)
        except BaseException:
            file.close()
            raise

    @staticmethod
    def _current_tags(path: str, header: dict[str, Any]) -> dict[str, str] | None:
        try:
            with open(path, "rb") as f:
                side = json.load(f)
        except FileNotFoundError:
            return None
        return side["tags"] if side.get("version") == header["version"] else None

    def _head(self, bucket: str, key: str) -> ObjectInfo | None:
        opened = self._open_record(bucket, key)
        if opened is None:
            return None
        file, info = opened
        file.close()
        return info

    # objects: writing ------------------------------------------------------------------------

    async def _receive(self, body: PayloadStream, kind: str) -> files.TempFile:
        """Stream ``body`` into a fresh temporary file. On any failure or cancellation the
        file is gone before this returns."""
        created = self.executor.submit(files.TempFile.create, self._tmp, kind)
        try:
            tmp = await asyncio.wrap_future(created)
        except asyncio.CancelledError:
            created.add_done_callback(_discard_created)
            raise
        try:
            pending = bytearray()
            async for chunk in body:
                pending += chunk
                if len(pending) >= WRITE_BLOCK:
                    await self._write(tmp, pending)
                    pending = bytearray()
            if pending:
                await self._write(tmp, pending)
        except BaseException:
            tmp.discard()
            raise
        return tmp

    async def _write(self, tmp: files.TempFile, data: bytearray) -> None:
        tmp.pending = self.executor.submit(files.write_all, tmp.fd, data)
        await asyncio.wrap_future(tmp.pending)

    def _seal(self, tmp: files.TempFile, header: dict[str, Any]) -> None:
        """Append the record header and make the bytes durable (before any rename)."""
        os.lseek(tmp.fd, 0, os.SEEK_END)
        files.write_all(tmp.fd, records.encode(header))
        if self.fsync:
            os.fsync(tmp.fd)

    def _commit_object(
        self,
        tmp: files.TempFile,
        bucket: str,
        info: ObjectInfo,
        condition: WriteCondition | None,
        after: Callable[[], None] | None = None,
    ) -> ObjectInfo:
        """Runs in a thread that owns ``tmp`` from here on: it is renamed or removed even
        if the request that started it is cancelled meanwhile."""
        try:
            self._seal(tmp, records.object_header(info, secrets.token_hex(8)))
            base, dirs, fragment = self._object_paths(bucket, info.key)
            with self._commit_lock(bucket, info.key):
                if condition is not None:
                    condition.check(self._head(bucket, info.key))
                assert tmp.path is not None
                files.replace_into(tmp.path, base, dirs, layout.OBJECT + fragment, self.fsync)
                tmp.replaced()
                # tags written for the previous version would be ignored; drop them now
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(base, *dirs, layout.TAGS + fragment))
            if after is not None:
                after()
            return info
        finally:
            tmp.discard()


def _discard_created(future: concurrent.futures.Future[Any]) -> None:
    """A temporary file whose requester was cancelled while it was being created."""
    if future.exception() is None:
        future.result().discard()
