"""FilesystemBackend: buckets as directories, one file per object, atomic renames.

The layout, the record format and the locking are described in :mod:`.store`,
:mod:`.records` and :mod:`.layout`; multipart uploads live in :mod:`.multipart`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from post3 import errors
from post3.backend import (
    BucketInfo,
    ByteRange,
    Capabilities,
    ListEntry,
    ObjectAttributes,
    ObjectInfo,
    ObjectStream,
    Option,
    WriteCondition,
    check_config_name,
    sorted_tags,
    utcnow,
)
from post3_filesystem import files, layout, records
from post3_filesystem.jobs import JobLocks
from post3_filesystem.keys import FilesystemKeyStore, KeyFile
from post3_filesystem.multipart import MultipartUploads
from post3_filesystem.store import BUCKET_NAME
from post3_filesystem.stream import FileObjectStream

if TYPE_CHECKING:
    from post3.payload import PayloadStream


class FilesystemBackend(JobLocks, MultipartUploads):
    """Buckets and objects; the default backend of ``post3 run``."""

    name = "filesystem"
    capabilities = Capabilities(multipart=True, tagging=True, bucket_config=True,
                                job_lock=True)
    options = (
        Option("root", "Directory that holds the buckets (created if missing)", "./post3-data"),
        Option.boolean(
            "fsync", "fsync files and directories before acknowledging a write", True
        ),
    )

    # access keys: not part of the storage contract; kept beside the data, and handed to
    # post3 through the post3_key_store hook (post3_filesystem/__init__.py).

    @functools.cached_property
    def key_store(self) -> FilesystemKeyStore:
        key_file = KeyFile(os.path.join(self.root, ".post3"), self._tmp, self._locks, self.fsync)
        return FilesystemKeyStore(key_file, self._run)

    # buckets ---------------------------------------------------------------------------------

    def _bucket_info(self, bucket: str) -> BucketInfo:
        path = self._require_bucket(bucket)
        try:
            with open(os.path.join(path, "bucket.json"), "rb") as f:
                created = records.parse_time(json.load(f)["created"])
        except FileNotFoundError:
            # created a moment ago, its bucket.json not yet in place
            created = dt.datetime.fromtimestamp(int(os.stat(path).st_mtime), dt.UTC)
        return BucketInfo(bucket, created)

    def _read_bucket_json(self, path: str) -> dict[str, Any]:
        try:
            with open(os.path.join(path, "bucket.json"), "rb") as f:
                data: dict[str, Any] = json.load(f)
                return data
        except FileNotFoundError:
            return {"created": utcnow().isoformat(), "tags": {}}

    def _write_bucket_json(self, path: str, data: dict[str, Any]) -> None:
        tmp = files.TempFile.create(self._tmp, "bucket")
        try:
            files.write_all(tmp.fd, json.dumps(data, ensure_ascii=False).encode())
            if self.fsync:
                os.fsync(tmp.fd)
            os.replace(tmp.live_path, os.path.join(path, "bucket.json"))
            tmp.replaced()
            if self.fsync:
                files.fsync_dir(path)
        finally:
            tmp.discard()

    async def list_buckets(self) -> list[BucketInfo]:
        def run() -> list[BucketInfo]:
            found = []
            for entry in os.scandir(self.root):
                if BUCKET_NAME.match(entry.name) and entry.is_dir(follow_symlinks=True):
                    with contextlib.suppress(errors.NoSuchBucket):
                        found.append(self._bucket_info(entry.name))
            return sorted(found, key=lambda b: b.name)

        return await self._run(run)

    async def create_bucket(self, bucket: str) -> BucketInfo:
        def run() -> BucketInfo:
            path = self._bucket_dir(bucket)
            try:
                os.mkdir(path)  # atomic create-if-absent, across processes too
            except FileExistsError:
                raise errors.BucketAlreadyOwnedByYou(BucketName=bucket) from None
            info = BucketInfo(bucket, utcnow())
            self._write_bucket_json(path, {"created": info.created.isoformat(), "tags": {}})
            if self.fsync:
                files.fsync_dir(self.root)
            return info

        return await self._run(run)

    async def head_bucket(self, bucket: str) -> BucketInfo:
        return await self._run(self._bucket_info, bucket)

    async def delete_bucket(self, bucket: str) -> None:
        def run() -> None:
            lock = os.path.join(self._locks, f"bucket-{bucket}")
            with files.flocked(lock, fcntl.LOCK_EX):
                path = self._require_bucket(bucket)
                if next(layout.walk(os.path.join(path, "objects"), "", ""), None) is not None:
                    raise errors.BucketNotEmpty(BucketName=bucket)
                # pending uploads go with it
                files.trash(path, self._tmp)
                if self.fsync:
                    files.fsync_dir(self.root)

        await self._run(run)

    async def get_bucket_tags(self, bucket: str) -> dict[str, str]:
        def run() -> dict[str, str]:
            return sorted_tags(self._read_bucket_json(self._require_bucket(bucket)).get("tags", {}))

        return await self._run(run)

    async def put_bucket_tags(self, bucket: str, tags: Mapping[str, str]) -> None:
        def run() -> None:
            with self._commit_lock(bucket, None):
                path = self._bucket_dir(bucket)
                data = self._read_bucket_json(path)
                data["tags"] = dict(tags)
                self._write_bucket_json(path, data)

        await self._run(run)

    # bucket configuration documents: <bucket>/config-<name>, written atomically -------------

    def _config_path(self, bucket: str, name: str) -> str:
        return os.path.join(self._bucket_dir(bucket), f"config-{check_config_name(name)}")

    async def get_bucket_config(self, bucket: str, name: str) -> str | None:
        def run() -> str | None:
            path = self._config_path(bucket, name)
            try:
                with open(path, "rb") as f:
                    return f.read().decode("utf-8")
            except FileNotFoundError:
                self._require_bucket(bucket)
                return None

        return await self._run(run)

    async def put_bucket_config(self, bucket: str, name: str, document: str | None) -> None:
        def run() -> None:
            path = self._config_path(bucket, name)
            # Shared bucket lock: DeleteBucket, which removes the documents, waits for us.
            with self._commit_lock(bucket, None):
                if document is None:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)
                else:
                    tmp = files.TempFile.create(self._tmp, "config")
                    try:
                        files.write_all(tmp.fd, document.encode("utf-8"))
                        if self.fsync:
                            os.fsync(tmp.fd)
                        os.replace(tmp.live_path, path)
                        tmp.replaced()
                    finally:
                        tmp.discard()
                if self.fsync:
                    files.fsync_dir(os.path.dirname(path))

        await self._run(run)

    # objects --------------------------------------------------------------------------------

    async def head_object(self, bucket: str, key: str) -> ObjectInfo:
        info = await self._run(self._head, bucket, key)
        if info is None:
            raise errors.NoSuchKey(Key=key)
        return info

    async def open_object(
        self, bucket: str, key: str, byte_range: ByteRange | None = None
    ) -> ObjectStream:
        opened = await self._run(self._open_record, bucket, key)
        if opened is None:
            raise errors.NoSuchKey(Key=key)
        file, info = opened
        try:
            start, stop = (0, info.size) if byte_range is None else byte_range.resolve(info)
        except BaseException:
            file.close()
            raise
        return FileObjectStream(info, file, start, stop, self.executor)

    async def list_objects_page(
        self, bucket: str, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> list[ListEntry]:
        def run() -> list[ListEntry]:
            path = self._require_bucket(bucket)
            found: list[ListEntry] = []
            if limit <= 0:
                return found
            for _key, file_path in layout.walk(
                os.path.join(path, "objects"), prefix, start_after
            ):
                try:
                    fd = os.open(file_path, os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue  # deleted while we walked
                try:
                    header, _ = records.read(fd)
                finally:
                    os.close(fd)
                found.append(records.object_info(header, {}).entry())
                if len(found) >= limit:
                    break
            return found

        return await self._run(run)

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: PayloadStream,
        *,
        attributes: ObjectAttributes,
        tags: Mapping[str, str] = {},  # noqa: B006 - never mutated
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        layout.key_location(key)  # rejects an unmappable key before reading the body
        await self._run(self._require_bucket, bucket)
        tmp = await self._receive(body, "put")
        try:
            info = ObjectInfo.from_upload(key, body.digest, attributes, tags)
        except BaseException:
            tmp.discard()
            raise
        return await self._run(self._commit_object, tmp, bucket, info, condition)

    async def delete_object(self, bucket: str, key: str) -> None:
        def run() -> None:
            base, dirs, fragment = self._object_paths(bucket, key)
            directory = os.path.join(base, *dirs)
            with self._commit_lock(bucket, key):
                try:
                    os.unlink(os.path.join(directory, layout.OBJECT + fragment))
                except (FileNotFoundError, NotADirectoryError):
                    return
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(directory, layout.TAGS + fragment))
                if self.fsync:
                    files.fsync_existing_dir(directory, base)
            files.prune_dirs(base, dirs)

        await self._run(run)

    async def put_object_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        def run() -> None:
            base, dirs, fragment = self._object_paths(bucket, key)
            directory = os.path.join(base, *dirs)
            with self._commit_lock(bucket, key):
                try:
                    fd = os.open(os.path.join(directory, layout.OBJECT + fragment), os.O_RDONLY)
                except (FileNotFoundError, NotADirectoryError):
                    raise errors.NoSuchKey(Key=key) from None
                try:
                    header, _ = records.read(fd)
                finally:
                    os.close(fd)
                side = {"version": header["version"], "tags": dict(tags)}
                tmp = files.TempFile.create(self._tmp, "tags")
                try:
                    files.write_all(tmp.fd, json.dumps(side, ensure_ascii=False).encode())
                    if self.fsync:
                        os.fsync(tmp.fd)
                    os.replace(tmp.live_path, os.path.join(directory, layout.TAGS + fragment))
                    tmp.replaced()
                    if self.fsync:
                        files.fsync_dir(directory)
                finally:
                    tmp.discard()

        await self._run(run)
