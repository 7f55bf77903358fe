"""FilesystemStore: the data root, its locks, and the write path every commit shares.

Layout under ``root``::

    .post3/format               the data format of the root (JSON), see below
    .post3/tmp/                 temporary files of writes in progress (same filesystem)
    .post3/locks/               flock files: one per bucket, and 256 key stripes
    <bucket>/bucket.json        creation time and bucket tags
    <bucket>/versioning         the bucket's versioning status (``Enabled``/``Suspended``);
                                absent while versioning was never set
    <bucket>/objects/...        the keys' latest versions, mapped by :mod:`post3_filesystem.layout`
    <bucket>/versions/...       noncurrent versions (:mod:`post3_filesystem.versions`)
    <bucket>/uploads/<id>/      upload.json and part-NNNNN records of a pending multipart upload

Why one file per version holding data *and* metadata (:mod:`post3_filesystem.records`): the
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
bucket being removed. Uploads themselves run outside any lock; last rename wins. A commit
reads the bucket's versioning status under its lock, in the thread hop that renames, so the
version it stores is the one the status at commit asks for; a record is sealed (its header
written) before the lock as the status then said, and sealed again in the rare case the status
changed meanwhile.

Data format (``.post3/format``, ``{"format": 2, "release": ...}``): format 1, written before
versioning and unmarked, is format 2 without versions (records without version fields are
null versions), so opening it only writes the marker. A root marked with a newer format
than :data:`FORMAT` is refused: this release would misread it.

Blocking system calls run in this backend's thread pool, never on the event loop. A trip
through the pool costs the event loop more than a small write's system calls, so a PUT whose
body arrives whole within :data:`WRITE_BLOCK` takes one: temporary file, bytes, header,
fsync, then the commit under its locks, which is also where the bucket is checked (a PUT into
a missing bucket is answered once its body is read). A longer body takes one trip to create
its temporary file (checking the bucket first), one per block written and one to commit.
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
import unicodedata
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar, cast

import post3
from post3 import errors
from post3.backend import (
    Backend,
    BackendError,
    NewVersion,
    ObjectInfo,
    WriteCondition,
)
from post3.versioning import new_version
from post3_filesystem import files, layout, records, versions
from post3_filesystem.versions import KeyPaths

if TYPE_CHECKING:
    from post3.payload import PayloadStream

T = TypeVar("T")

#: Writes are handed to a thread once this much body has arrived.
WRITE_BLOCK = 1 << 20
#: Threads of the pool. More would let more small writes wait in ``fsync`` together (the
#: journal makes the fsyncs waiting at once durable in one commit: 2,800 create-fsync-rename-
#: fsync/s with 6 threads, 4,400 with 16 on this project's 2-core machine), but every request
#: handed to a sleeping thread wakes it and contends for the GIL with the event loop: with 32,
#: 4 KiB GETs at 16 clients fell to 0.78x while PUTs gained 1.08x (benchmarks/README.md).
#: A second pool of 16 threads for PUT commits alone (GETs untouched) did not pay either:
#: 1.6x the PUTs of the backend called in-process, but through the server 0.86x the PUTs at
#: 1.37x the server CPU per PUT, its threads waking from fsync contending with the loop.
THREADS = min(32, (os.cpu_count() or 1) + 4)
#: Key lock stripes: bounded lock files, rare false sharing between keys.
KEY_STRIPES = 256
#: Keys up to 1024 bytes can need about 3.1 KB of path below a bucket (escapes, type
#: letters); with this root length the whole path stays under Linux's PATH_MAX of 4096.
MAX_ROOT_PATH = 900
#: The data format this release writes, and the newest it reads.
FORMAT = 2

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
        #: sorted directory listings, shared by the listing threads of this process
        self._dirs = layout.SortedDirs()
        #: the versioning status this process last read for each bucket under a commit lock:
        #: a guess that lets a record be sealed before the lock, never the truth (every commit
        #: reads the status again under its lock, and reseals if the guess was wrong)
        self._status_seen: dict[str, str | None] = {}

    # plumbing ------------------------------------------------------------------------------

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=THREADS, thread_name_prefix="post3-fs"
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
        self._check_format()
        files.sweep_tmp(self._tmp)

    def _check_format(self) -> None:
        path = os.path.join(self.root, ".post3", "format")
        try:
            with open(path, "rb") as f:
                marker = json.load(f)
            found = int(marker["format"])
        except FileNotFoundError:
            # a new root, or one of the release before versioning: both are read as they are
            tmp = files.TempFile.create(self._tmp, "format")
            try:
                marker = {"format": FORMAT, "release": post3.__version__}
                files.write_all(tmp.fd, json.dumps(marker).encode())
                if self.fsync:
                    os.fsync(tmp.fd)
                os.replace(tmp.live_path, path)
                tmp.replaced()
            finally:
                tmp.discard()
            return
        except (ValueError, KeyError, TypeError):
            raise BackendError(f"filesystem root {self.root!r} has an unreadable "
                               f"{path!r}: restore it from a backup") from None
        if found > FORMAT:
            release = marker.get("release", "a newer release")
            raise BackendError(
                f"filesystem root {self.root!r} holds data format {found}, written by post3 "
                f"{release}; post3 {post3.__version__} reads formats up to {FORMAT}. Run post3 "
                f"{release} or newer on this root (downgrading would misread its data)"
            )

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

    def _key_paths(self, bucket: str, key: str) -> KeyPaths:
        return KeyPaths.of(self._bucket_dir(bucket), key)

    def _versioning(self, base: str) -> str | None:
        """The versioning status of the bucket at ``base`` (read inside commits)."""
        try:
            fd = os.open(os.path.join(base, "versioning"), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            return os.read(fd, 64).decode() or None
        finally:
            os.close(fd)

    def _read_status(self, bucket: str, base: str) -> str | None:
        """:meth:`_versioning`, remembered as the next guess (see ``_status_seen``)."""
        status = self._status_seen[bucket] = self._versioning(base)
        return status

    def _open_record(self, bucket: str, key: str, version_id: str | None = None,
                     cached_only: bool = False) -> tuple[io.FileIO, ObjectInfo] | None:
        """The open record of the latest version (or of ``version_id``) and its info, with
        current tags, or None when absent. Lock-free: see :mod:`.versions` for why the latest
        is looked at twice. ``cached_only`` (the latest version only): raise
        :class:`records.NotCached` rather than wait on the disk for a read."""
        if cached_only and version_id is not None:
            raise records.NotCached  # a version's lookup may walk its key's history
        paths = self._key_paths(bucket, key)
        def latest_side(header: dict[str, Any]) -> dict[str, Any] | None:
            return versions.latest_side(paths, header, cached_only)

        found = self._open_at(paths.latest, latest_side, version_id, cached_only)
        if found is None and version_id is not None:
            name = versions.find_noncurrent(paths, version_id,
                                            versions.read_header(paths.latest))
            if name is not None:
                tags_path = paths.noncurrent_tags(name)
                found = self._open_at(paths.noncurrent(name),
                                      lambda header: versions.side_for(tags_path, header),
                                      version_id)
            if found is None:
                found = self._open_at(paths.latest, latest_side, version_id)
        if found is None:
            self._require_bucket(bucket)
        return found

    @staticmethod
    def _open_at(path: str, side: Callable[[dict[str, Any]], dict[str, Any] | None],
                 version_id: str | None, cached_only: bool = False
                 ) -> tuple[io.FileIO, ObjectInfo] | None:
        """The record at ``path`` (if it is ``version_id``) with the side file ``side``
        finds."""
        try:
            file = io.FileIO(path, "r")
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            header, _ = records.read(file.fileno(), cached_only)
            if version_id is not None and records.identity(header)[0] != version_id:
                file.close()
                return None
            return file, records.object_info(header, side(header))
        except BaseException:
            file.close()
            raise

    async def _open_record_async(self, bucket: str, key: str, version_id: str | None
                                 ) -> tuple[io.FileIO, ObjectInfo] | None:
        """:meth:`_open_record`, on the event loop when the page cache holds every byte it
        reads, else in the thread pool. A trip to the pool and back costs a small GET more
        than its system calls: each call a worker makes gives up the GIL and waits to take it
        back from the loop (on the loop, 1.7× the 4 KiB GETs and HEADs a second at 16
        clients). Opening the files can still wait on a directory lookup the kernel has not
        cached: there is no open that refuses to wait."""
        if version_id is None and records.RWF_NOWAIT is not None:
            try:
                return self._open_record(bucket, key, None, cached_only=True)
            except records.NotCached:
                pass
        return await self._run(self._open_record, bucket, key, version_id)

    # objects: writing ------------------------------------------------------------------------

    async def _receive(self, body: PayloadStream, kind: str,
                       check: Callable[[], object] | None = None) -> files.TempFile:
        """Stream ``body`` into a fresh temporary file; ``check`` runs in the thread hop that
        creates it (a bucket or upload check that costs no hop of its own). On any failure or
        cancellation the file is gone before this returns."""
        chunks = body_chunks(body)
        async with contextlib.aclosing(chunks):
            head, _ = await first_block(chunks)
            return await self._receive_rest(chunks, head, kind, check)

    async def _receive_rest(self, chunks: AsyncIterator[bytes], head: bytearray, kind: str,
                            check: Callable[[], object] | None) -> files.TempFile:
        """:meth:`_receive` once ``head``, the first bytes, came from ``chunks``."""
        created = self.executor.submit(self._create_temp, kind, check)
        try:
            tmp = await asyncio.wrap_future(created)
        except asyncio.CancelledError:
            created.add_done_callback(_discard_created)
            raise
        try:
            pending = head
            if len(pending) >= WRITE_BLOCK:
                await self._write(tmp, pending)
                pending = bytearray()
            async for chunk in chunks:
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

    def _create_temp(self, kind: str, check: Callable[[], object] | None) -> files.TempFile:
        if check is not None:
            check()
        return files.TempFile.create(self._tmp, kind)

    async def _write(self, tmp: files.TempFile, data: bytearray) -> None:
        write = files.write_on if self.fsync else files.write_all
        tmp.pending = self.executor.submit(write, tmp.fd, data)
        await asyncio.wrap_future(tmp.pending)

    def _seal(self, tmp: files.TempFile, header: dict[str, Any], again: bool = False,
              body: bytearray | None = None) -> None:
        """Append the record header and make the bytes durable (before any rename);
        ``again`` replaces the header sealed before. ``body``: the object's bytes when they
        are not in the file yet (a small PUT), written with the header in one call."""
        if again:
            os.ftruncate(tmp.fd, records.read(tmp.fd)[1])
        if body is None:
            data_size = os.lseek(tmp.fd, 0, os.SEEK_END)
            files.write_all(tmp.fd, records.encode(records.with_data_size(header, data_size)))
        else:
            files.write_all(
                tmp.fd, body, records.encode(records.with_data_size(header, len(body))))
        if self.fsync:
            os.fsync(tmp.fd)

    def _commit_object(
        self,
        tmp: files.TempFile,
        bucket: str,
        info: ObjectInfo,
        condition: WriteCondition | None,
        version: NewVersion | None,
        after: Callable[[], None] | None = None,
        body: bytearray | None = None,
    ) -> ObjectInfo:
        """Store ``tmp`` (the bytes of ``info``, or a delete marker's empty record) as the
        key's new latest version ``version`` as the bucket's status says at commit; ``body``,
        the bytes when ``tmp`` is still empty. Runs in a thread that owns ``tmp`` from here on:
        it is renamed or removed even if the request that started it is cancelled meanwhile."""
        try:
            paths = self._key_paths(bucket, info.key)
            version = version or new_version()
            token = files.unique()
            guess = self._status_seen.get(bucket)
            stored = info.with_version(version.in_bucket(guess))
            self._seal(tmp, records.object_header(stored, token), body=body)
            with self._commit_lock(bucket, info.key):
                status = self._read_status(bucket, paths.base)
                if status is not None and not self._sorts_newest(paths, version):
                    # Another process committed a write of this key that was given a newer
                    # sequence while this body streamed: the latest must be the last
                    # committed *and* the first in sequence order, so this write takes a
                    # sequence made now, under the lock, newer than any committed one.
                    version = new_version()
                if status != guess or stored.sequence != version.sequence:
                    sealed, stored = stored, info.with_version(version.in_bucket(status))
                    if (stored.version_id, stored.sequence) != (sealed.version_id,
                                                                sealed.sequence):
                        self._seal(tmp, records.object_header(stored, token), again=True)
                self._place(paths, tmp, stored, status, condition)
            if after is not None:
                after()
            return stored
        finally:
            tmp.discard()

    @staticmethod
    def _sorts_newest(paths: KeyPaths, version: NewVersion) -> bool:
        """Whether ``version`` sorts before (is newer than) the key's latest version."""
        latest = versions.read_header(paths.latest)
        return latest is None or version.sequence < records.object_info(latest).sequence

    def _place(self, paths: KeyPaths, tmp: files.TempFile, stored: ObjectInfo,
               status: str | None, condition: WriteCondition | None) -> None:
        """Rename the sealed ``tmp`` over the key's latest version; under the commit lock."""
        latest = None
        if status is not None or condition is not None:
            latest = versions.read_header(paths.latest)
        if condition is not None:
            condition.check(None if latest is None else records.object_info(latest))

        def publish() -> None:
            files.replace_into(tmp.live_path, paths.base, paths.object_names,
                               layout.OBJECT + paths.fragment, self.fsync)
            tmp.replaced()

        if status is None and stored.delete_marker:
            raise StatusChanged  # the bucket was recreated since the guess: no marker there
        if status is None:
            # a bucket that never had versioning keeps only the null version: no history
            publish()
            # tags written for the previous version would be ignored; drop them now
            files.unlink_quietly(paths.latest_tags)
        else:
            versions.put_latest(paths, latest,
                                versions.file_name(stored.version_id, stored.sequence),
                                publish, self._tmp, self.fsync)


class StatusChanged(Exception):
    """The bucket's versioning status under the commit lock is not the one a delete was
    prepared for (guessed from ``_status_seen``): the delete starts again with the truth."""


def body_chunks(body: PayloadStream) -> AsyncGenerator[bytes, None]:
    """The body's chunks, as an iterator that can be left and resumed (by one ``async for``
    after another) and closed (``PayloadStream.__aiter__`` is an async generator)."""
    return cast("AsyncGenerator[bytes, None]", aiter(body))


async def first_block(chunks: AsyncIterator[bytes]) -> tuple[bytearray, bool]:
    """The body's first :data:`WRITE_BLOCK` bytes (or a little more), and whether they are
    the whole body: a small body is then written and committed in one thread hop. A body of
    exactly one block is whole too (the block is held only until the end of the body shows,
    one chunk later at most), so a 1 MiB PUT takes one hop rather than three."""
    head = bytearray()
    async for chunk in chunks:
        head += chunk
        if len(head) > WRITE_BLOCK:
            return head, False
    return head, True


def _discard_created(future: concurrent.futures.Future[Any]) -> None:
    """A temporary file whose requester was cancelled while it was being created."""
    if future.exception() is None:
        future.result().discard()
