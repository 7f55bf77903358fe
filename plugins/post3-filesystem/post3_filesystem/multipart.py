"""Multipart uploads: parts as records under ``<bucket>/uploads/<id>/``.

``upload.json`` holds the key, initiation time, metadata and tags; ``part-NNNNN`` files are
records like objects (bytes, then a header with size, ETag and checksums), written through a
temporary file and renamed, so re-uploading a part replaces it atomically. Completing copies the
chosen parts into one temporary file with ``copy_file_range`` (in the kernel, sharing extents
where the filesystem can) and commits it like a PUT; aborting renames the upload directory
into the tmp area and removes it there. The core validates part lists and computes ETags.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from post3 import errors
from post3.backend import (
    NewVersion,
    ObjectAttributes,
    ObjectInfo,
    PartInfo,
    UploadCursor,
    UploadInfo,
    WriteCondition,
    sorted_tags,
    utcnow,
)
from post3_filesystem import files, layout, records
from post3_filesystem.store import PART_FILE, UPLOAD_ID, FilesystemStore

if TYPE_CHECKING:
    from post3.payload import PayloadStream


def new_upload_id() -> str:
    """32 hex digits (what ``store.UPLOAD_ID`` accepts): the nanosecond clock first, so ids sort
    in creation order across processes, then randomness. (Uploads created by earlier builds
    have random ids; they still work, and sort among their key's uploads by that id.)"""
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


class MultipartUploads(FilesystemStore):
    """The multipart half of the backend; see the module docstring."""

    def _upload_dir(self, bucket: str, upload_id: str) -> str:
        if not UPLOAD_ID.match(upload_id):
            raise errors.NoSuchUpload(UploadId=upload_id)
        return os.path.join(self._uploads_dir(bucket), upload_id)

    def _upload(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        path = self._upload_dir(bucket, upload_id)
        try:
            with open(os.path.join(path, "upload.json"), "rb") as f:
                upload = records.upload_info(f.read())
        except (FileNotFoundError, NotADirectoryError):
            self._require_bucket(bucket)
            raise errors.NoSuchUpload(UploadId=upload_id) from None
        if upload.key != key:
            raise errors.NoSuchUpload(UploadId=upload_id)
        return upload

    async def create_multipart_upload(
        self, bucket: str, key: str, *, attributes: ObjectAttributes,
        tags: Mapping[str, str], checksum_algorithm: str | None = None,
    ) -> UploadInfo:
        layout.key_location(key)

        def run() -> UploadInfo:
            upload = UploadInfo(key, new_upload_id(), utcnow(), attributes, dict(tags),
                                checksum_algorithm)
            tmp = files.TempFile.create(self._tmp, "upload")
            try:
                files.write_all(tmp.fd, records.upload_json(upload))
                if self.fsync:
                    os.fsync(tmp.fd)
                with self._commit_lock(bucket, None):
                    base = self._bucket_dir(bucket)
                    files.replace_into(
                        tmp.live_path, base, ["uploads", upload.upload_id], "upload.json",
                        self.fsync,
                    )
                    tmp.replaced()
            finally:
                tmp.discard()
            return upload

        return await self._run(run)

    async def get_multipart_upload(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        return await self._run(self._upload, bucket, key, upload_id)

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, body: PayloadStream
    ) -> PartInfo:
        tmp = await self._receive(body, "part",
                                  functools.partial(self._upload, bucket, key, upload_id))
        try:
            digest = body.digest
        except BaseException:
            tmp.discard()
            raise
        part = PartInfo(part_number, digest.size, digest.md5_hex, utcnow(), dict(digest.checksums))

        def commit() -> PartInfo:
            try:
                self._seal(tmp, records.part_header(part))
                with self._commit_lock(bucket, None):
                    path = self._upload_dir(bucket, upload_id)
                    if not os.path.exists(os.path.join(path, "upload.json")):
                        raise errors.NoSuchUpload(UploadId=upload_id)
                    try:
                        os.replace(tmp.live_path, os.path.join(path, f"part-{part_number:05d}"))
                        tmp.replaced()
                        if self.fsync:
                            files.fsync_dir(path)
                    except FileNotFoundError:
                        # Aborted meanwhile (an abort holds the bucket lock shared, as we do):
                        # the part went with the upload.
                        raise errors.NoSuchUpload(UploadId=upload_id) from None
                return part
            finally:
                tmp.discard()

        return await self._run(commit)

    def _parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        self._upload(bucket, key, upload_id)
        path = self._upload_dir(bucket, upload_id)
        parts = []
        try:
            entries = list(os.scandir(path))
        except FileNotFoundError:  # aborted since the check above
            raise errors.NoSuchUpload(UploadId=upload_id) from None
        for entry in entries:
            if PART_FILE.match(entry.name):
                try:
                    fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue
                try:
                    parts.append(records.part_info(records.read(fd)[0]))
                finally:
                    os.close(fd)
        return sorted(parts, key=lambda p: p.part_number)

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        return await self._run(self._parts, bucket, key, upload_id)

    async def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        info: ObjectInfo,
        condition: WriteCondition | None = None,
        version: NewVersion | None = None,
    ) -> ObjectInfo:
        def assemble() -> tuple[files.TempFile, int]:
            self._upload(bucket, key, upload_id)
            path = self._upload_dir(bucket, upload_id)
            tmp = files.TempFile.create(self._tmp, "complete")
            try:
                total = 0
                for part in parts:
                    try:
                        fd = os.open(
                            os.path.join(path, f"part-{part.part_number:05d}"), os.O_RDONLY
                        )
                    except FileNotFoundError:
                        raise errors.InvalidPart() from None
                    try:
                        _, size = records.read(fd)
                        _copy_range(fd, tmp.fd, size)
                    finally:
                        os.close(fd)
                    total += size
                return tmp, total
            except BaseException:
                tmp.discard()
                raise

        def forget() -> None:
            with self._commit_lock(bucket, None):
                files.trash(self._upload_dir(bucket, upload_id), self._tmp)

        def run() -> ObjectInfo:
            tmp, _ = assemble()
            # The size is the core's (the parts' sizes): the data may be longer (encrypted).
            final = dataclasses.replace(info, key=key, tags=sorted_tags(info.tags))
            return self._commit_object(tmp, bucket, final, condition, version, after=forget)

        return await self._run(run)

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        def run() -> None:
            with self._commit_lock(bucket, None):
                self._upload(bucket, key, upload_id)
                if not files.trash(self._upload_dir(bucket, upload_id), self._tmp):
                    raise errors.NoSuchUpload(UploadId=upload_id)

        await self._run(run)

    async def list_multipart_uploads_page(
        self, bucket: str, *, prefix: str = "", after: UploadCursor | None = None,
        limit: int = 1000,
    ) -> list[UploadInfo]:
        def run() -> list[UploadInfo]:
            uploads_dir = os.path.join(self._require_bucket(bucket), "uploads")
            found = []
            try:
                entries = list(os.scandir(uploads_dir))
            except FileNotFoundError:
                return []
            for entry in entries:
                if not UPLOAD_ID.match(entry.name):
                    continue
                try:
                    with open(os.path.join(entry.path, "upload.json"), "rb") as f:
                        upload = records.upload_info(f.read())
                except FileNotFoundError:
                    continue  # being created or aborted
                if upload.key.startswith(prefix) and (
                        after is None or after.admits(upload.key, upload.upload_id)):
                    found.append(upload)
            found.sort(key=lambda u: (u.key, u.upload_id))
            return found[:limit]

        return await self._run(run)


def _copy_range(src: int, dst: int, count: int) -> None:
    """Copy ``count`` bytes from offset 0 of ``src`` to the end of ``dst``, in the kernel
    when it can (``copy_file_range`` shares extents on filesystems with reflinks)."""
    offset = 0
    while offset < count:
        try:
            copied = os.copy_file_range(src, dst, count - offset, offset)
        except OSError:
            copied = 0
        if copied == 0:
            break
        offset += copied
    while offset < count:
        block = os.pread(src, min(1 << 20, count - offset), offset)
        if not block:
            raise records.CorruptRecord("A stored part is shorter than its header says")
        files.write_all(dst, block)
        offset += len(block)
