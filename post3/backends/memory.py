"""The memory backend: the reference implementation, and an ephemeral S3 for test suites.

Everything lives in dictionaries of one process and vanishes with it. The code favours being
obviously correct over being fast:

* an object is an immutable record (its :class:`ObjectInfo` and a tuple of 1 MiB blocks);
  writes replace the record, so a reader that opened the old one keeps reading it;
* a write collects its blocks first and commits only after the body is exhausted; between the
  last ``await`` and the commit there is none, so the write condition is checked atomically
  with the commit without any lock;
* each bucket keeps its keys in sorted lists (every key with a version, and the keys whose
  latest version is an object), so a listing page costs a bisection, not a sort of the whole
  bucket. Python orders ``str`` by code point, which is UTF-8 byte order;
* a key's versions are a list, newest (lowest sequence) first.

Upload ids sort in creation order (a counter, then randomness), as the contract asks.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import itertools
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import post3
from post3 import errors
from post3.backend import (
    NULL_VERSION,
    Backend,
    BucketInfo,
    ByteRange,
    BytesObjectStream,
    Capabilities,
    ListEntry,
    NewVersion,
    ObjectAttributes,
    ObjectInfo,
    ObjectStream,
    PartInfo,
    UploadCursor,
    UploadInfo,
    VersionCursor,
    WriteCondition,
    check_config_name,
    check_removable,
    sorted_tags,
    stored_version,
    utcnow,
)
from post3.credentials import AccessKey, KeyStore

if TYPE_CHECKING:
    from post3.payload import PayloadStream
    from post3.registry import BackendRegistry

BLOCK_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class _StoredObject:
    info: ObjectInfo
    blocks: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class _StoredPart:
    info: PartInfo
    blocks: tuple[bytes, ...]


@dataclass(slots=True)
class _Upload:
    info: UploadInfo
    parts: dict[int, _StoredPart] = field(default_factory=dict)


@dataclass(slots=True)
class _Bucket:
    info: BucketInfo
    #: each key's versions, newest first; a key is here while it has any
    versions: dict[str, list[_StoredObject]] = field(default_factory=dict)
    #: the keys of ``versions``, sorted (version listings)
    keys: list[str] = field(default_factory=list)
    #: the keys whose latest version is an object, not a delete marker, sorted (listings)
    live: list[str] = field(default_factory=list)
    versioning: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    configs: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, _Upload] = field(default_factory=dict)

    def latest(self, key: str) -> _StoredObject | None:
        versions = self.versions.get(key)
        return versions[0] if versions else None

    def find(self, key: str, version_id: str | None) -> _StoredObject:
        versions = self.versions.get(key)
        if not versions:
            if version_id is None:
                raise errors.NoSuchKey(Key=key)
            raise errors.NoSuchVersion(Key=key, VersionId=version_id)
        if version_id is None:
            return versions[0]
        for stored in versions:
            if stored.info.version_id == version_id:
                return stored
        raise errors.NoSuchVersion(Key=key, VersionId=version_id)

    def store(self, stored: _StoredObject) -> None:
        """Add a new latest version, replacing the version with its id (the null one)."""
        key = stored.info.key
        versions = self.versions.get(key)
        if versions is None:
            versions = self.versions[key] = []
            bisect.insort(self.keys, key)
        self._drop(versions, stored.info.version_id)
        versions.append(stored)
        versions.sort(key=lambda v: v.info.sequence)
        self._index(key)

    def replace(self, stored: _StoredObject) -> None:
        """Put ``stored`` where the version with its id is (a tag change)."""
        versions = self.versions[stored.info.key]
        for i, existing in enumerate(versions):
            if existing.info.version_id == stored.info.version_id:
                versions[i] = stored

    def remove(self, key: str, version_id: str) -> _StoredObject | None:
        versions = self.versions.get(key)
        if versions is None:
            return None
        removed = self._drop(versions, version_id)
        if not versions:
            del self.versions[key]
            del self.keys[bisect.bisect_left(self.keys, key)]
        self._index(key)
        return removed

    @staticmethod
    def _drop(versions: list[_StoredObject], version_id: str) -> _StoredObject | None:
        for i, existing in enumerate(versions):
            if existing.info.version_id == version_id:
                return versions.pop(i)
        return None

    def _index(self, key: str) -> None:
        """Keep ``live`` in step with the key's latest version."""
        latest = self.latest(key)
        position = bisect.bisect_left(self.live, key)
        listed = position < len(self.live) and self.live[position] == key
        if latest is not None and not latest.info.delete_marker:
            if not listed:
                self.live.insert(position, key)
        elif listed:
            del self.live[position]


class MemoryBackend(Backend):
    """Objects in process memory; nothing survives a restart."""

    name = "memory"
    #: Everything, in this process only.
    capabilities = Capabilities(multipart=True, tagging=True, bucket_config=True,
                                 versioning=True, job_lock=True, single_process=True)

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._jobs: set[str] = set()
        self._upload_counter = itertools.count()
        #: the access keys of this backend's MemoryKeyStore (see post3_key_store)
        self.key_store = MemoryKeyStore()

    def _bucket(self, bucket: str) -> _Bucket:
        try:
            return self._buckets[bucket]
        except KeyError:
            raise errors.NoSuchBucket(BucketName=bucket) from None

    def _object(self, bucket: str, key: str, version_id: str | None = None) -> _StoredObject:
        return self._bucket(bucket).find(key, version_id)

    def _upload(self, bucket: str, key: str, upload_id: str) -> _Upload:
        upload = self._bucket(bucket).uploads.get(upload_id)
        if upload is None or upload.info.key != key:
            raise errors.NoSuchUpload(UploadId=upload_id)
        return upload

    @contextlib.asynccontextmanager
    async def job_lock(self, name: str) -> AsyncIterator[bool]:
        # One process holds the store, so a set of held names is the whole lock.
        if name in self._jobs:
            yield False
            return
        self._jobs.add(name)
        try:
            yield True
        finally:
            self._jobs.discard(name)

    # buckets -----------------------------------------------------------------------------

    async def list_buckets(self) -> list[BucketInfo]:
        return [self._buckets[name].info for name in sorted(self._buckets)]

    async def create_bucket(self, bucket: str) -> BucketInfo:
        if bucket in self._buckets:
            raise errors.BucketAlreadyOwnedByYou(BucketName=bucket)
        info = BucketInfo(bucket, utcnow())
        self._buckets[bucket] = _Bucket(info)
        return info

    async def head_bucket(self, bucket: str) -> BucketInfo:
        return self._bucket(bucket).info

    async def delete_bucket(self, bucket: str) -> None:
        if self._bucket(bucket).versions:
            raise errors.BucketNotEmpty(BucketName=bucket)
        del self._buckets[bucket]

    async def get_bucket_tags(self, bucket: str) -> dict[str, str]:
        return sorted_tags(self._bucket(bucket).tags)

    async def put_bucket_tags(self, bucket: str, tags: Mapping[str, str]) -> None:
        self._bucket(bucket).tags = dict(tags)

    async def get_bucket_config(self, bucket: str, name: str) -> str | None:
        return self._bucket(bucket).configs.get(check_config_name(name))

    async def put_bucket_config(self, bucket: str, name: str, document: str | None) -> None:
        configs = self._bucket(bucket).configs
        if document is None:
            configs.pop(check_config_name(name), None)
        else:
            configs[check_config_name(name)] = document

    async def get_bucket_versioning(self, bucket: str) -> str | None:
        return self._bucket(bucket).versioning

    async def put_bucket_versioning(self, bucket: str, status: str) -> None:
        self._bucket(bucket).versioning = status

    # objects -----------------------------------------------------------------------------

    async def head_object(self, bucket: str, key: str, version_id: str | None = None
                          ) -> ObjectInfo:
        return self._object(bucket, key, version_id).info

    async def open_object(
        self, bucket: str, key: str, byte_range: ByteRange | None = None,
        version_id: str | None = None,
    ) -> ObjectStream:
        stored = self._object(bucket, key, version_id)
        if stored.info.delete_marker:
            return BytesObjectStream(stored.info, (), 0, 0)
        start, stop = (0, stored.info.size) if byte_range is None else byte_range.resolve(
            stored.info
        )
        return BytesObjectStream(stored.info, stored.blocks, start, stop, BLOCK_SIZE)

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
        self._bucket(bucket)
        blocks = tuple([block async for block in body.blocks(BLOCK_SIZE)])
        # No await from here to the commit: the condition and the versioning status hold
        # when the object lands.
        target = self._bucket(bucket)
        self._check(target, key, condition)
        info = ObjectInfo.from_upload(key, body.digest, attributes, tags,
                                      version=stored_version(version, target.versioning))
        target.store(_StoredObject(info, blocks))
        return info

    @staticmethod
    def _check(bucket: _Bucket, key: str, condition: WriteCondition | None) -> None:
        if condition is not None:
            current = bucket.latest(key)
            condition.check(None if current is None else current.info)

    async def delete_object(self, bucket: str, key: str, *, marker: NewVersion | None = None
                            ) -> ObjectInfo | None:
        target = self._bucket(bucket)
        if target.versioning is None:
            target.remove(key, NULL_VERSION)
            return None
        info = ObjectInfo.marker(key, stored_version(marker, target.versioning))
        target.store(_StoredObject(info, ()))
        return info

    async def delete_object_version(self, bucket: str, key: str, version_id: str, *,
                                    bypass_governance: bool = False) -> ObjectInfo | None:
        target = self._bucket(bucket)
        try:
            existing = target.find(key, version_id)
        except (errors.NoSuchKey, errors.NoSuchVersion):
            return None
        check_removable(existing.info, bypass_governance)
        removed = target.remove(key, version_id)
        return None if removed is None else removed.info

    async def put_object_attributes(
        self, bucket: str, key: str, change: Callable[[ObjectInfo], ObjectAttributes],
        version_id: str | None = None,
    ) -> ObjectInfo:
        stored = self._object(bucket, key, version_id)
        info = dataclasses.replace(stored.info, attributes=change(stored.info))
        self._bucket(bucket).replace(_StoredObject(info, stored.blocks))
        return info

    async def list_objects_page(
        self, bucket: str, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> list[ListEntry]:
        stored = self._bucket(bucket)
        keys = stored.live
        position = max(bisect.bisect_right(keys, start_after), bisect.bisect_left(keys, prefix))
        page: list[ListEntry] = []
        for key in itertools.islice(keys, position, None):
            if len(page) >= limit or not key.startswith(prefix):
                break
            page.append(stored.versions[key][0].info.entry())
        return page

    async def list_object_versions_page(
        self, bucket: str, *, prefix: str = "", after: VersionCursor | None = None,
        limit: int = 1000,
    ) -> list[ListEntry]:
        stored = self._bucket(bucket)
        keys = stored.keys
        start = prefix if after is None else max(prefix, after.key)
        page: list[ListEntry] = []
        for key in itertools.islice(keys, bisect.bisect_left(keys, start), None):
            if not key.startswith(prefix):
                break
            for position, version in enumerate(stored.versions[key]):
                if after is None or after.admits(key, version.info.sequence):
                    if len(page) >= limit:
                        return page
                    page.append(version.info.entry(is_latest=position == 0))
        return page

    async def put_object_tags(self, bucket: str, key: str, tags: Mapping[str, str],
                              version_id: str | None = None) -> None:
        stored = self._object(bucket, key, version_id)
        info = dataclasses.replace(stored.info, tags=sorted_tags(tags))
        self._bucket(bucket).replace(_StoredObject(info, stored.blocks))

    # multipart ----------------------------------------------------------------------------

    async def create_multipart_upload(
        self, bucket: str, key: str, *, attributes: ObjectAttributes,
        tags: Mapping[str, str], checksum_algorithm: str | None = None,
    ) -> UploadInfo:
        target = self._bucket(bucket)
        upload_id = f"{next(self._upload_counter):012d}{secrets.token_hex(12)}"
        info = UploadInfo(key, upload_id, utcnow(), attributes, sorted_tags(tags),
                          checksum_algorithm)
        target.uploads[upload_id] = _Upload(info)
        return info

    async def get_multipart_upload(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        return self._upload(bucket, key, upload_id).info

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, body: PayloadStream
    ) -> PartInfo:
        self._upload(bucket, key, upload_id)
        blocks = tuple([block async for block in body.blocks(BLOCK_SIZE)])
        # The upload may have been completed or aborted while the body arrived.
        upload = self._upload(bucket, key, upload_id)
        digest = body.digest
        info = PartInfo(part_number, digest.size, digest.md5_hex, utcnow(), dict(digest.checksums))
        upload.parts[part_number] = _StoredPart(info, blocks)
        return info

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        upload = self._upload(bucket, key, upload_id)
        return [upload.parts[number].info for number in sorted(upload.parts)]

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
        target = self._bucket(bucket)
        upload = self._upload(bucket, key, upload_id)
        blocks: list[bytes] = []
        for part in parts:
            stored = upload.parts.get(part.part_number)
            if stored is None or stored.info.etag != part.etag:
                raise errors.InvalidPart(PartNumber=part.part_number, ETag=part.etag)
            blocks.extend(stored.blocks)
        self._check(target, key, condition)
        info = dataclasses.replace(info, tags=sorted_tags(info.tags)).with_version(
            stored_version(version, target.versioning))
        target.store(_StoredObject(info, tuple(blocks)))
        del target.uploads[upload_id]
        return info

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self._upload(bucket, key, upload_id)
        del self._bucket(bucket).uploads[upload_id]

    async def list_multipart_uploads_page(
        self, bucket: str, *, prefix: str = "", after: UploadCursor | None = None,
        limit: int = 1000,
    ) -> list[UploadInfo]:
        uploads = sorted(
            (upload.info for upload in self._bucket(bucket).uploads.values()
             if upload.info.key.startswith(prefix)
             and (after is None or after.admits(upload.info.key, upload.info.upload_id))),
            key=lambda u: (u.key, u.upload_id),
        )
        return uploads[:limit]


class MemoryKeyStore(KeyStore):
    """Access keys in a dictionary; the records are immutable, so storing them as they are is
    safe. They live and die with the backend they belong to."""

    def __init__(self) -> None:
        self._keys: dict[str, AccessKey] = {}

    async def get_access_key(self, access_key_id: str) -> AccessKey | None:
        return self._keys.get(access_key_id)

    async def put_access_key(self, key: AccessKey) -> None:
        self._keys[key.access_key_id] = key

    async def list_access_keys(self) -> list[AccessKey]:
        return [self._keys[k] for k in sorted(self._keys)]

    async def delete_access_key(self, access_key_id: str) -> bool:
        return self._keys.pop(access_key_id, None) is not None


@post3.hookimpl
def post3_register_backends(registry: BackendRegistry) -> None:
    registry.add(MemoryBackend)


@post3.hookimpl
def post3_key_store(backend: Backend) -> KeyStore | None:
    return backend.key_store if isinstance(backend, MemoryBackend) else None


__all__ = ["MemoryBackend", "MemoryKeyStore", "post3_key_store", "post3_register_backends"]
