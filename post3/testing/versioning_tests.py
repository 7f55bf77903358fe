"""Versioning (``Capabilities(versioning=True)``): versions, delete markers, the null version,
version listings. The rules are in :mod:`post3.backend` ("Versions"); S3's behaviour is the
reference. A backend that does not declare the capability skips this group (the capability
tests check that its version methods are Unsupported)."""

from __future__ import annotations

import re

import pytest

from post3 import errors
from post3.backend import (
    ENABLED,
    NULL_VERSION,
    SUSPENDED,
    Backend,
    ObjectAttributes,
    ObjectInfo,
    VersionCursor,
    WriteCondition,
)
from post3.testing.base import ConformanceBase
from post3.testing.helpers import (
    MiB,
    Range,
    multipart_object_info,
    pattern,
    payload,
    put_bytes,
    read_stream,
)
from post3.versioning import new_version


def _require_versioning(backend: Backend) -> None:
    if not backend.capabilities.versioning:
        pytest.skip("versioning is not declared by this backend")


async def _versioned(backend: Backend, bucket: str, status: str = ENABLED) -> str:
    _require_versioning(backend)
    await backend.put_bucket_versioning(bucket, status)
    return bucket


async def _put(backend: Backend, bucket: str, key: str, data: bytes,
               condition: WriteCondition | None = None) -> ObjectInfo:
    return await backend.put_object(bucket, key, payload(data), attributes=ObjectAttributes(),
                                    condition=condition, version=new_version())


async def _read(backend: Backend, bucket: str, key: str, version_id: str | None = None,
                byte_range: Range | None = None) -> bytes:
    return await read_stream(await backend.open_object(bucket, key, byte_range,
                                                       version_id=version_id))


async def _versions(backend: Backend, bucket: str, prefix: str = "",
                    after: VersionCursor | None = None, limit: int = 1000
                    ) -> list[tuple[str, str, bool, bool]]:
    """``(key, version_id, is_latest, delete_marker)`` of every version, paging by ``limit``."""
    found = []
    while True:
        page = await backend.list_object_versions_page(bucket, prefix=prefix, after=after,
                                                       limit=limit)
        found += [(e.key, e.version_id, e.is_latest, e.delete_marker) for e in page]
        if len(page) < limit:
            return found
        after = VersionCursor(page[-1].key, page[-1].sequence)


async def _listed(backend: Backend, bucket: str) -> list[str]:
    return [e.key for e in await backend.list_objects_page(bucket)]


class VersioningTests(ConformanceBase):
    # the bucket's status -------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_status_starts_unset_and_moves_between_enabled_and_suspended(
        self, backend: Backend, bucket: str
    ) -> None:
        _require_versioning(backend)
        assert await backend.get_bucket_versioning(bucket) is None
        await backend.put_bucket_versioning(bucket, ENABLED)
        assert await backend.get_bucket_versioning(bucket) == ENABLED
        await backend.put_bucket_versioning(bucket, SUSPENDED)
        assert await backend.get_bucket_versioning(bucket) == SUSPENDED
        await backend.put_bucket_versioning(bucket, ENABLED)
        assert await backend.get_bucket_versioning(bucket) == ENABLED
        with pytest.raises(errors.NoSuchBucket):
            await backend.get_bucket_versioning("no-such-bucket")
        with pytest.raises(errors.NoSuchBucket):
            await backend.put_bucket_versioning("no-such-bucket", ENABLED)

    @pytest.mark.asyncio
    async def test_a_recreated_bucket_starts_unversioned(self, backend: Backend,
                                                         bucket: str) -> None:
        await _versioned(backend, bucket)
        await backend.delete_bucket(bucket)
        await backend.create_bucket(bucket)
        assert await backend.get_bucket_versioning(bucket) is None

    # unversioned buckets -------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_unversioned_writes_are_the_null_version(self, backend: Backend,
                                                           bucket: str) -> None:
        _require_versioning(backend)
        first = await _put(backend, bucket, "k", b"one")
        second = await _put(backend, bucket, "k", b"two")
        assert first.version_id == second.version_id == NULL_VERSION
        assert (await backend.head_object(bucket, "k", NULL_VERSION)).etag == second.etag
        assert await _read(backend, bucket, "k", NULL_VERSION) == b"two"
        assert await _versions(backend, bucket) == [("k", NULL_VERSION, True, False)]
        assert await backend.delete_object(bucket, "k", marker=new_version()) is None
        assert await _versions(backend, bucket) == []
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "k")

    # enabled -------------------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_each_write_is_a_new_version_and_old_ones_stay_readable(
        self, backend: Backend, bucket: str
    ) -> None:
        await _versioned(backend, bucket)
        infos = [await _put(backend, bucket, "k", data) for data in (b"one", b"two", b"three")]
        ids = [info.version_id for info in infos]
        assert len(set(ids)) == 3 and NULL_VERSION not in ids
        for version_id in ids:
            assert re.fullmatch(r"[0-9A-Za-z._-]{1,1024}", version_id), "not URL-safe"
        assert ids == sorted(ids, reverse=True), "newer versions sort first"
        assert (await backend.head_object(bucket, "k")).version_id == ids[2]
        assert await _read(backend, bucket, "k") == b"three"
        for info, data in zip(infos, (b"one", b"two", b"three"), strict=True):
            head = await backend.head_object(bucket, "k", info.version_id)
            assert (head.version_id, head.etag, head.size) == (info.version_id, info.etag,
                                                               len(data))
            assert await _read(backend, bucket, "k", info.version_id) == data
        assert await _read(backend, bucket, "k", ids[0], Range(1, 3)) == b"ne"
        assert await _versions(backend, bucket) == [
            ("k", ids[2], True, False), ("k", ids[1], False, False),
            ("k", ids[0], False, False)]
        assert await _listed(backend, bucket) == ["k"]
        [entry] = await backend.list_objects_page(bucket)
        assert (entry.version_id, entry.size) == (ids[2], 5)

    @pytest.mark.asyncio
    async def test_missing_versions_and_keys(self, backend: Backend, bucket: str) -> None:
        await _versioned(backend, bucket)
        info = await _put(backend, bucket, "k", b"x")
        other = new_version().version_id
        with pytest.raises(errors.NoSuchVersion):
            await backend.head_object(bucket, "k", other)
        with pytest.raises(errors.NoSuchVersion):
            await backend.open_object(bucket, "k", version_id=other)
        with pytest.raises(errors.NoSuchVersion):
            await backend.head_object(bucket, "k", NULL_VERSION)
        with pytest.raises(errors.NoSuchVersion):
            await backend.head_object(bucket, "nothing", info.version_id)
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "nothing")
        assert await backend.delete_object_version(bucket, "k", other) is None
        assert await backend.delete_object_version(bucket, "nothing", NULL_VERSION) is None
        with pytest.raises(errors.NoSuchBucket):
            await backend.delete_object_version("no-such-bucket", "k", other)
        with pytest.raises(errors.NoSuchBucket):
            await backend.list_object_versions_page("no-such-bucket")

    @pytest.mark.asyncio
    async def test_delete_adds_a_marker_and_deleting_the_marker_undeletes(
        self, backend: Backend, bucket: str
    ) -> None:
        await _versioned(backend, bucket)
        kept = await _put(backend, bucket, "k", b"kept")
        marker = await backend.delete_object(bucket, "k", marker=new_version())
        assert marker is not None and marker.delete_marker
        assert marker.version_id not in (NULL_VERSION, kept.version_id)
        latest = await backend.head_object(bucket, "k")
        assert latest.delete_marker and latest.version_id == marker.version_id
        stream = await backend.open_object(bucket, "k", Range(5, 9))  # range not resolved
        assert stream.info.delete_marker and await read_stream(stream) == b""
        assert (await backend.head_object(bucket, "k", marker.version_id)).delete_marker
        assert await _listed(backend, bucket) == []
        assert await _versions(backend, bucket) == [
            ("k", marker.version_id, True, True), ("k", kept.version_id, False, False)]
        assert await _read(backend, bucket, "k", kept.version_id) == b"kept"
        removed = await backend.delete_object_version(bucket, "k", marker.version_id)
        assert removed is not None and removed.delete_marker
        assert await _read(backend, bucket, "k") == b"kept"
        assert await _listed(backend, bucket) == ["k"]

    @pytest.mark.asyncio
    async def test_a_marker_is_added_for_a_key_that_has_no_version(
        self, backend: Backend, bucket: str
    ) -> None:
        await _versioned(backend, bucket)
        marker = await backend.delete_object(bucket, "never", marker=new_version())
        assert marker is not None and marker.delete_marker
        assert await _versions(backend, bucket) == [("never", marker.version_id, True, True)]
        assert await _listed(backend, bucket) == []

    @pytest.mark.asyncio
    async def test_deleting_the_latest_version_makes_the_previous_one_latest(
        self, backend: Backend, bucket: str
    ) -> None:
        await _versioned(backend, bucket)
        old = await _put(backend, bucket, "k", b"old")
        new = await _put(backend, bucket, "k", b"newer")
        removed = await backend.delete_object_version(bucket, "k", new.version_id)
        assert removed is not None and removed.version_id == new.version_id
        assert not removed.delete_marker
        head = await backend.head_object(bucket, "k")
        assert (head.version_id, head.size) == (old.version_id, 3)
        assert await _read(backend, bucket, "k") == b"old"
        [entry] = await backend.list_objects_page(bucket)
        assert (entry.version_id, entry.size, entry.etag) == (old.version_id, 3, old.etag)
        await backend.delete_object_version(bucket, "k", old.version_id)
        assert await _versions(backend, bucket) == []
        assert await _listed(backend, bucket) == []
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "k")

    @pytest.mark.asyncio
    async def test_deleting_a_noncurrent_version_keeps_the_latest(
        self, backend: Backend, bucket: str
    ) -> None:
        await _versioned(backend, bucket)
        old = await _put(backend, bucket, "k", b"old")
        new = await _put(backend, bucket, "k", b"new")
        await backend.delete_object_version(bucket, "k", old.version_id)
        assert (await backend.head_object(bucket, "k")).version_id == new.version_id
        assert await _versions(backend, bucket) == [("k", new.version_id, True, False)]

    @pytest.mark.asyncio
    async def test_a_reader_keeps_the_version_it_opened_when_it_is_deleted(
        self, backend: Backend, bucket: str
    ) -> None:
        await _versioned(backend, bucket)
        data = pattern(2 * MiB + 77)
        info = await _put(backend, bucket, "k", data)
        await _put(backend, bucket, "k", b"newer")
        stream = await backend.open_object(bucket, "k", version_id=info.version_id)
        await backend.delete_object_version(bucket, "k", info.version_id)
        assert await read_stream(stream) == data

    # the null version ----------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_a_null_version_written_before_enabling_stays(self, backend: Backend,
                                                                bucket: str) -> None:
        _require_versioning(backend)
        await _put(backend, bucket, "k", b"before")
        await backend.put_bucket_versioning(bucket, ENABLED)
        after = await _put(backend, bucket, "k", b"after")
        assert await _versions(backend, bucket) == [
            ("k", after.version_id, True, False), ("k", NULL_VERSION, False, False)]
        assert await _read(backend, bucket, "k", NULL_VERSION) == b"before"
        assert await _read(backend, bucket, "k") == b"after"

    @pytest.mark.asyncio
    async def test_suspended_writes_replace_only_the_null_version(
        self, backend: Backend, bucket: str
    ) -> None:
        await _versioned(backend, bucket)
        kept = await _put(backend, bucket, "k", b"enabled")
        await backend.put_bucket_versioning(bucket, SUSPENDED)
        first = await _put(backend, bucket, "k", b"null-2")
        assert first.version_id == NULL_VERSION
        second = await _put(backend, bucket, "k", b"null-three")
        assert second.version_id == NULL_VERSION
        assert await _versions(backend, bucket) == [
            ("k", NULL_VERSION, True, False), ("k", kept.version_id, False, False)]
        assert await _read(backend, bucket, "k") == b"null-three"
        assert await _read(backend, bucket, "k", kept.version_id) == b"enabled"

    @pytest.mark.asyncio
    async def test_a_suspended_write_moves_an_old_null_version_to_the_top(
        self, backend: Backend, bucket: str
    ) -> None:
        _require_versioning(backend)
        await _put(backend, bucket, "k", b"old null")
        await backend.put_bucket_versioning(bucket, ENABLED)
        middle = await _put(backend, bucket, "k", b"middle")
        await backend.put_bucket_versioning(bucket, SUSPENDED)
        await _put(backend, bucket, "k", b"new null")
        assert await _versions(backend, bucket) == [
            ("k", NULL_VERSION, True, False), ("k", middle.version_id, False, False)]
        assert await _read(backend, bucket, "k", NULL_VERSION) == b"new null"

    @pytest.mark.asyncio
    async def test_a_suspended_delete_is_a_null_marker(self, backend: Backend,
                                                       bucket: str) -> None:
        await _versioned(backend, bucket)
        kept = await _put(backend, bucket, "k", b"kept")
        await backend.put_bucket_versioning(bucket, SUSPENDED)
        await _put(backend, bucket, "k", b"null")
        marker = await backend.delete_object(bucket, "k", marker=new_version())
        assert marker is not None and marker.delete_marker
        assert marker.version_id == NULL_VERSION
        assert await _versions(backend, bucket) == [
            ("k", NULL_VERSION, True, True), ("k", kept.version_id, False, False)]
        # deleting the null marker by id brings back the version before it
        await backend.delete_object_version(bucket, "k", NULL_VERSION)
        assert await _read(backend, bucket, "k") == b"kept"

    # conditions, tags, copies, multipart ---------------------------------------------------

    @pytest.mark.asyncio
    async def test_write_conditions_see_the_latest_version(self, backend: Backend,
                                                           bucket: str) -> None:
        await _versioned(backend, bucket)
        info = await _put(backend, bucket, "k", b"x")
        with pytest.raises(errors.PreconditionFailed):
            await _put(backend, bucket, "k", b"y", WriteCondition(if_none_match=True))
        await backend.delete_object(bucket, "k", marker=new_version())
        # behind a delete marker there is no object: create-if-absent succeeds ...
        created = await _put(backend, bucket, "k", b"z", WriteCondition(if_none_match=True))
        await backend.delete_object(bucket, "k", marker=new_version())
        # ... and If-Match finds nothing to match
        with pytest.raises(errors.NoSuchKey):
            await _put(backend, bucket, "k", b"w", WriteCondition(if_match=info.etag))
        versions = await _versions(backend, bucket)
        assert [(v[1], v[3]) for v in versions][1::2] == [
            (created.version_id, False), (info.version_id, False)]
        assert [v[3] for v in versions][::2] == [True, True]

    @pytest.mark.asyncio
    async def test_tags_belong_to_a_version(self, backend: Backend, bucket: str) -> None:
        await _versioned(backend, bucket)
        if not backend.capabilities.tagging:
            pytest.skip("tagging is not declared by this backend")
        old = await put_bytes(backend, bucket, "k", b"old", tags={"v": "old"})
        await _put(backend, bucket, "k", b"new")
        await backend.put_object_tags(bucket, "k", {"latest": "yes"})
        await backend.put_object_tags(bucket, "k", {"v": "old-2"}, old.version_id)
        assert dict((await backend.head_object(bucket, "k")).tags) == {"latest": "yes"}
        assert dict((await backend.head_object(bucket, "k", old.version_id)).tags) == {
            "v": "old-2"}
        with pytest.raises(errors.NoSuchVersion):
            await backend.put_object_tags(bucket, "k", {}, new_version().version_id)

    @pytest.mark.asyncio
    async def test_copying_an_old_version_makes_it_the_latest(self, backend: Backend,
                                                             bucket: str) -> None:
        await _versioned(backend, bucket)
        old = await _put(backend, bucket, "k", b"old")
        await _put(backend, bucket, "k", b"new")
        copy = await backend.copy_object(bucket, "k", bucket, "k", attributes=None, tags=None,
                                         source_version_id=old.version_id,
                                         version=new_version())
        assert copy.version_id not in (NULL_VERSION, old.version_id)
        assert await _read(backend, bucket, "k") == b"old"
        assert len(await _versions(backend, bucket)) == 3

    @pytest.mark.asyncio
    async def test_completing_an_upload_adds_a_version(self, backend: Backend,
                                                       bucket: str) -> None:
        await _versioned(backend, bucket)
        if not backend.capabilities.multipart:
            pytest.skip("multipart is not declared by this backend")
        old = await _put(backend, bucket, "k", b"old")
        upload = await backend.create_multipart_upload(bucket, "k",
                                                       attributes=ObjectAttributes(), tags={})
        part = await backend.upload_part(bucket, "k", upload.upload_id, 1, payload(b"parted"))
        info = await backend.complete_multipart_upload(
            bucket, "k", upload.upload_id, [part], multipart_object_info(upload, [part]),
            version=new_version())
        assert info.version_id not in (NULL_VERSION, old.version_id)
        assert (await backend.head_object(bucket, "k")).version_id == info.version_id
        assert await _read(backend, bucket, "k") == b"parted"
        assert await _read(backend, bucket, "k", old.version_id) == b"old"

    # listing versions ----------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_version_listing_order_prefix_and_paging(self, backend: Backend,
                                                          bucket: str) -> None:
        await _versioned(backend, bucket)
        written: dict[str, list[tuple[str, bool]]] = {}
        for key in ("b", "a/2", "a/1", "c"):
            for n in (1, 2, 3):
                info = await _put(backend, bucket, key, key.encode() * n)
                written.setdefault(key, []).append((info.version_id, False))
        marker = await backend.delete_object(bucket, "b", marker=new_version())
        assert marker is not None
        written["b"].append((marker.version_id, True))
        # keys ascending; within a key, newest first, and only the newest is the latest
        expected = [(key, version_id, i == 0, is_marker)
                    for key in sorted(written)
                    for i, (version_id, is_marker) in enumerate(reversed(written[key]))]
        assert await _versions(backend, bucket) == expected
        for limit in (1, 2, 5):
            assert await _versions(backend, bucket, limit=limit) == expected
        assert await _versions(backend, bucket, prefix="a/") == expected[:6]
        # after every version of a key / before the first version of a key
        assert await _versions(backend, bucket, after=VersionCursor("a/2")) == expected[6:]
        assert await _versions(backend, bucket, after=VersionCursor("a/2", "")) == expected[3:]
        third = await backend.list_object_versions_page(bucket, limit=3)
        assert await _versions(backend, bucket, after=VersionCursor(
            third[1].key, third[1].sequence)) == expected[2:]
        assert await _listed(backend, bucket) == ["a/1", "a/2", "c"]

    @pytest.mark.asyncio
    async def test_listing_shows_each_key_once_whatever_its_history(
        self, backend: Backend, bucket: str
    ) -> None:
        await _versioned(backend, bucket)
        for n in range(5):
            await _put(backend, bucket, "many", b"v" * (n + 1))
        await _put(backend, bucket, "one", b"1")
        for _ in range(3):
            await backend.delete_object(bucket, "gone", marker=new_version())
        page = await backend.list_objects_page(bucket)
        assert [(e.key, e.size) for e in page] == [("many", 5), ("one", 1)]
        assert [e.key for e in await backend.list_objects_page(bucket, limit=1)] == ["many"]
        assert [e.key for e in await backend.list_objects_page(
            bucket, start_after="many")] == ["one"]

    # the bucket ----------------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_a_bucket_with_only_markers_or_old_versions_is_not_empty(
        self, backend: Backend, bucket: str
    ) -> None:
        await _versioned(backend, bucket)
        info = await _put(backend, bucket, "k", b"x")
        marker = await backend.delete_object(bucket, "k", marker=new_version())
        assert marker is not None
        with pytest.raises(errors.BucketNotEmpty):
            await backend.delete_bucket(bucket)
        await backend.delete_object_version(bucket, "k", marker.version_id)
        await backend.delete_object_version(bucket, "k", info.version_id)
        await backend.delete_bucket(bucket)
        with pytest.raises(errors.NoSuchBucket):
            await backend.head_bucket(bucket)
