"""FilesystemBackend: buckets as directories, one file per object, atomic renames.

The layout, the record format and the locking are described in :mod:`.store`,
:mod:`.records` and :mod:`.layout`; multipart uploads live in :mod:`.multipart`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import functools
import json
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from post3 import errors
from post3.backend import (
    VERSIONING_STATUSES,
    BucketInfo,
    ByteRange,
    BytesObjectStream,
    Capabilities,
    ListEntry,
    NewVersion,
    ObjectAttributes,
    ObjectInfo,
    ObjectStream,
    Option,
    VersionCursor,
    WriteCondition,
    attributes_to_pairs,
    check_config_name,
    check_removable,
    sorted_tags,
    utcnow,
)
from post3.versioning import new_version
from post3_filesystem import files, layout, records, versions
from post3_filesystem.jobs import JobLocks
from post3_filesystem.keys import FilesystemKeyStore, KeyFile
from post3_filesystem.multipart import MultipartUploads
from post3_filesystem.store import BUCKET_NAME, StatusChanged, body_chunks, first_block
from post3_filesystem.stream import FileObjectStream
from post3_filesystem.versions import KeyPaths

if TYPE_CHECKING:
    from post3.payload import PayloadStream


class FilesystemBackend(JobLocks, MultipartUploads):
    """Buckets and objects; the default backend of ``post3 run``."""

    name = "filesystem"
    capabilities = Capabilities(multipart=True, tagging=True, bucket_config=True,
                                 versioning=True, job_lock=True)
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
                # Noncurrent versions never outlive their key's latest version, so the first
                # key of objects/ answers; versions/ is looked at too, up to its first version.
                if next(layout.walk(os.path.join(path, "objects"), "", "", self._dirs),
                        None) is not None \
                        or versions.any_record(os.path.join(path, "versions")):
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

    # versioning status: <bucket>/versioning, read by every commit under its lock ------------

    async def get_bucket_versioning(self, bucket: str) -> str | None:
        def run() -> str | None:
            return self._versioning(self._require_bucket(bucket))

        return await self._run(run)

    async def put_bucket_versioning(self, bucket: str, status: str) -> None:
        if status not in VERSIONING_STATUSES:
            raise ValueError(f"not a versioning status: {status!r}")

        def run() -> None:
            # Shared bucket lock, as a commit holds it: a commit reads the status under it,
            # and DeleteBucket waits for us.
            with self._commit_lock(bucket, None):
                path = self._bucket_dir(bucket)
                tmp = files.TempFile.create(self._tmp, "versioning")
                try:
                    files.write_all(tmp.fd, status.encode())
                    if self.fsync:
                        os.fsync(tmp.fd)
                    os.replace(tmp.live_path, os.path.join(path, "versioning"))
                    tmp.replaced()
                    self._status_seen[bucket] = status
                    if self.fsync:
                        files.fsync_dir(path)
                finally:
                    tmp.discard()

        await self._run(run)

    # objects --------------------------------------------------------------------------------

    async def head_object(self, bucket: str, key: str, version_id: str | None = None
                          ) -> ObjectInfo:
        opened = await self._open_record_async(bucket, key, version_id)
        if opened is None:
            raise _missing(key, version_id)
        file, info = opened
        file.close()
        return info

    async def open_object(
        self, bucket: str, key: str, byte_range: ByteRange | None = None,
        version_id: str | None = None,
    ) -> ObjectStream:
        opened = await self._open_record_async(bucket, key, version_id)
        if opened is None:
            raise _missing(key, version_id)
        file, info = opened
        try:
            if info.delete_marker:
                file.close()
                return BytesObjectStream(info, (), 0, 0)
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
            with files.DirectoryAt() as at:
                for key, directory, name, memo in layout.walk(
                    os.path.join(path, "objects"), prefix, start_after, self._dirs
                ):
                    fields = None if memo is None else memo.get(key)
                    if fields is None:
                        dir_fd = at.fd(directory)
                        header = None if dir_fd is None else versions.read_header(name, dir_fd)
                        if header is None:
                            continue  # deleted while we walked
                        fields = records.list_fields(header)
                        if memo is not None:
                            self._dirs.remember(memo, key, fields)
                    entry = ListEntry(key, *fields)
                    if entry.delete_marker:
                        continue  # deleted behind a marker
                    found.append(entry)
                    if len(found) >= limit:
                        break
            return found

        return await self._run(run)

    async def list_object_versions_page(
        self, bucket: str, *, prefix: str = "", after: VersionCursor | None = None,
        limit: int = 1000,
    ) -> list[ListEntry]:
        def run() -> list[ListEntry]:
            path = self._require_bucket(bucket)
            page: list[ListEntry] = []

            def add(key: str) -> bool:
                """Add the key's versions after the cursor; False once the page is full."""
                for entry in self._history(path, key):
                    if after is None or after.admits(key, entry.sequence):
                        if len(page) >= limit:
                            return False
                        page.append(entry)
                return True

            if limit <= 0:
                return page
            start_after = ""
            if after is not None:
                start_after = after.key
                # the walk starts after the cursor's key: its later versions come first
                if after.sequence is not None and after.key.startswith(prefix) \
                        and not add(after.key):
                    return page
            # every key with a version has its latest at o<f>: walking objects/ finds them all
            for key, _, _, _ in layout.walk(os.path.join(path, "objects"), prefix,
                                         start_after, self._dirs):
                if not add(key):
                    break
            return page

        return await self._run(run)

    def _history(self, base: str, key: str) -> list[ListEntry]:
        """Every version of ``key``, newest first (lock-free: see :mod:`.versions`)."""
        paths = KeyPaths.of(base, key)
        latest = versions.read_header(paths.latest)
        if latest is None:
            return []
        entries = [records.list_entry(latest, is_latest=True)]
        for name in versions.noncurrent(paths, latest)[0]:
            header = versions.read_header(paths.noncurrent(name))
            if header is not None:
                entries.append(records.list_entry(header, is_latest=False))
        return sorted(entries, key=lambda entry: entry.sequence)

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: PayloadStream,
        *,
        attributes: ObjectAttributes,
        tags: Mapping[str, str] = {},  # noqa: B006 - never mutated
        condition: WriteCondition | None = None,
        version: NewVersion | None = None,
    ) -> ObjectInfo:
        layout.key_location(key)  # rejects an unmappable key before reading the body
        # The bucket is checked by the commit, under its lock; a body too long for one block
        # also has it checked in the hop that creates its temporary file, before the rest.
        chunks = body_chunks(body)
        async with contextlib.aclosing(chunks):
            head, whole = await first_block(chunks)
            if whole:
                # One thread hop writes, seals and commits: a small PUT's round trips through
                # the pool cost more than its system calls.
                info = ObjectInfo.from_upload(key, body.digest, attributes, tags)
                return await self._run(self._put_whole, head, bucket, info, condition, version)
            tmp = await self._receive_rest(chunks, head, "put",
                                           functools.partial(self._require_bucket, bucket))
        try:
            info = ObjectInfo.from_upload(key, body.digest, attributes, tags)
        except BaseException:
            tmp.discard()
            raise
        return await self._run(self._commit_object, tmp, bucket, info, condition, version)

    def _put_whole(self, data: bytearray, bucket: str, info: ObjectInfo,
                   condition: WriteCondition | None, version: NewVersion | None) -> ObjectInfo:
        tmp = files.TempFile.create(self._tmp, "put")
        return self._commit_object(tmp, bucket, info, condition, version, body=data)

    async def delete_object(self, bucket: str, key: str, *, marker: NewVersion | None = None
                            ) -> ObjectInfo | None:
        version = marker or new_version()

        def run() -> ObjectInfo | None:
            paths = self._key_paths(bucket, key)
            if self._status_seen.get(bucket) is not None:
                # a versioned bucket keeps the key's versions: the delete adds a marker
                tmp = files.TempFile.create(self._tmp, "marker")
                return self._commit_object(tmp, bucket, ObjectInfo.marker(key, version),
                                           None, version)
            with self._commit_lock(bucket, key):
                if self._read_status(bucket, paths.base) is not None:
                    raise StatusChanged
                try:
                    os.unlink(paths.latest)
                except (FileNotFoundError, NotADirectoryError):
                    return None
                files.unlink_quietly(paths.latest_tags)
                if self.fsync:
                    files.fsync_existing_dir(paths.directory, paths.base)
            files.prune_dirs(paths.base, paths.object_names)
            return None

        try:
            return await self._run(run)
        except StatusChanged:
            return await self._run(run)

    async def delete_object_version(self, bucket: str, key: str, version_id: str, *,
                                    bypass_governance: bool = False) -> ObjectInfo | None:
        def run() -> ObjectInfo | None:
            paths = self._key_paths(bucket, key)
            with self._commit_lock(bucket, key):
                latest = versions.read_header(paths.latest)
                if latest is None:
                    return None
                if records.identity(latest)[0] == version_id:
                    removed = records.object_info(latest, versions.latest_side(paths, latest))
                    check_removable(removed, bypass_governance)
                    gone = versions.delete_latest(paths, latest, self._tmp, self.fsync)
                else:
                    gone = False
                    name = versions.find_noncurrent(paths, version_id, latest)
                    header = None if name is None else versions.read_header(
                        paths.noncurrent(name))
                    if name is None or header is None:
                        return None
                    removed = records.object_info(
                        header, versions.side_for(paths.noncurrent_tags(name), header))
                    check_removable(removed, bypass_governance)
                    versions.remove(paths, [name])
            if gone:
                files.prune_dirs(paths.base, paths.object_names)
            return removed

        return await self._run(run)

    async def put_object_tags(self, bucket: str, key: str, tags: Mapping[str, str],
                              version_id: str | None = None) -> None:
        def run() -> None:
            with self._commit_lock(bucket, key):
                side_path, header, side = self._side(bucket, key, version_id)
                versions.write_side(side_path, header, tags, self._tmp, self.fsync,
                                    None if side is None else side.get("metadata"))

        await self._run(run)

    async def put_object_attributes(
        self, bucket: str, key: str, change: Callable[[ObjectInfo], ObjectAttributes],
        version_id: str | None = None,
    ) -> ObjectInfo:
        def run() -> ObjectInfo:
            with self._commit_lock(bucket, key):
                side_path, header, side = self._side(bucket, key, version_id)
                info = records.object_info(header, side)
                if info.delete_marker:  # a marker has no attributes (the core never asks)
                    raise errors.NoSuchKey(Key=key)
                attributes = change(info)
                versions.write_side(side_path, header, info.tags, self._tmp, self.fsync,
                                    attributes_to_pairs(attributes))
                return dataclasses.replace(info, attributes=attributes)

        return await self._run(run)

    def _side(self, bucket: str, key: str, version_id: str | None
              ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        """The side file path, record header and current side file of the latest version (or
        of ``version_id``), under the key's commit lock."""
        paths = self._key_paths(bucket, key)
        header = versions.read_header(paths.latest)
        if header is None:
            raise _missing(key, version_id)
        if version_id is None or records.identity(header)[0] == version_id:
            return paths.latest_tags, header, versions.latest_side(paths, header)
        name = versions.find_noncurrent(paths, version_id, header)
        header = None if name is None else versions.read_header(paths.noncurrent(name))
        if name is None or header is None:
            raise errors.NoSuchVersion(Key=key, VersionId=version_id)
        side_path = paths.noncurrent_tags(name)
        return side_path, header, versions.side_for(side_path, header)


def _missing(key: str, version_id: str | None) -> errors.S3Error:
    if version_id is None:
        return errors.NoSuchKey(Key=key)
    return errors.NoSuchVersion(Key=key, VersionId=version_id)
