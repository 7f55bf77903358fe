"""Object lock (part of ``Capabilities(versioning=True)``): a version's lock travels in its
attributes, :meth:`Backend.put_object_attributes` changes it in place, and
:meth:`Backend.delete_object_version` never removes a locked version (the rules are in
:mod:`post3.object_lock`; the backend applies ``check_removable`` atomically with the removal).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from post3 import errors
from post3.backend import (
    COMPLIANCE,
    ENABLED,
    GOVERNANCE,
    Backend,
    ObjectAttributes,
    ObjectInfo,
    ObjectLock,
)
from post3.testing.base import ConformanceBase
from post3.testing.helpers import payload, read_stream
from post3.versioning import new_version

FUTURE = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
PAST = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)


async def _locked_bucket(backend: Backend, bucket: str) -> str:
    if not backend.capabilities.versioning:
        pytest.skip("versioning is not declared by this backend")
    await backend.put_bucket_versioning(bucket, ENABLED)
    return bucket


async def _put(backend: Backend, bucket: str, key: str, data: bytes,
               lock: ObjectLock = ObjectLock()) -> ObjectInfo:  # noqa: B008 - frozen
    return await backend.put_object(bucket, key, payload(data),
                                    attributes=ObjectAttributes(lock=lock),
                                    tags={"t": "1"}, version=new_version())


def _with_lock(lock: ObjectLock):  # type: ignore[no-untyped-def]
    def change(info: ObjectInfo) -> ObjectAttributes:
        return replace(info.attributes, lock=lock)
    return change


class ObjectLockTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_a_lock_written_with_a_version_reads_back(self, backend: Backend,
                                                            bucket: str) -> None:
        await _locked_bucket(backend, bucket)
        lock = ObjectLock(COMPLIANCE, FUTURE, True)
        info = await _put(backend, bucket, "k", b"data", lock)
        assert info.attributes.lock == lock
        assert (await backend.head_object(bucket, "k")).attributes.lock == lock
        stream = await backend.open_object(bucket, "k", version_id=info.version_id)
        assert stream.info.attributes.lock == lock
        assert await read_stream(stream) == b"data"

    @pytest.mark.asyncio
    async def test_attributes_change_in_place_on_latest_and_noncurrent_versions(
        self, backend: Backend, bucket: str
    ) -> None:
        await _locked_bucket(backend, bucket)
        old = await _put(backend, bucket, "k", b"old")
        new = await _put(backend, bucket, "k", b"new")
        hold = ObjectLock(legal_hold=True)
        changed = await backend.put_object_attributes(bucket, "k", _with_lock(hold),
                                                      old.version_id)
        assert changed.attributes.lock == hold and changed.version_id == old.version_id
        latest = await backend.put_object_attributes(
            bucket, "k", _with_lock(ObjectLock(GOVERNANCE, FUTURE)))
        assert latest.version_id == new.version_id
        old_now = await backend.head_object(bucket, "k", old.version_id)
        assert old_now.attributes.lock == hold
        assert old_now.tags == {"t": "1"} and old_now.etag == old.etag
        assert await read_stream(await backend.open_object(
            bucket, "k", version_id=old.version_id)) == b"old"
        assert (await backend.head_object(bucket, "k")).attributes.lock == \
            ObjectLock(GOVERNANCE, FUTURE)
        # tags and attributes are changed independently: neither undoes the other
        await backend.put_object_tags(bucket, "k", {"u": "2"}, old.version_id)
        old_now = await backend.head_object(bucket, "k", old.version_id)
        assert old_now.attributes.lock == hold and old_now.tags == {"u": "2"}

    @pytest.mark.asyncio
    async def test_a_change_that_raises_changes_nothing(self, backend: Backend,
                                                        bucket: str) -> None:
        await _locked_bucket(backend, bucket)
        lock = ObjectLock(COMPLIANCE, FUTURE)
        info = await _put(backend, bucket, "k", b"x", lock)

        def refuse(current: ObjectInfo) -> ObjectAttributes:
            assert current.attributes.lock == lock  # the change sees the stored version
            raise errors.AccessDenied()

        with pytest.raises(errors.AccessDenied):
            await backend.put_object_attributes(bucket, "k", refuse, info.version_id)
        assert (await backend.head_object(bucket, "k")).attributes.lock == lock

    @pytest.mark.asyncio
    async def test_changing_a_missing_version(self, backend: Backend, bucket: str) -> None:
        await _locked_bucket(backend, bucket)
        keep = _with_lock(ObjectLock(legal_hold=True))
        with pytest.raises(errors.NoSuchKey):
            await backend.put_object_attributes(bucket, "absent", keep)
        await _put(backend, bucket, "k", b"x")
        with pytest.raises(errors.NoSuchVersion):
            await backend.put_object_attributes(bucket, "k", keep, new_version().version_id)

    @pytest.mark.asyncio
    @pytest.mark.parametrize("lock, bypass, removable", [
        (ObjectLock(legal_hold=True), False, False),
        (ObjectLock(legal_hold=True), True, False),
        (ObjectLock(COMPLIANCE, FUTURE), False, False),
        (ObjectLock(COMPLIANCE, FUTURE), True, False),
        (ObjectLock(GOVERNANCE, FUTURE), False, False),
        (ObjectLock(GOVERNANCE, FUTURE), True, True),
        (ObjectLock(GOVERNANCE, FUTURE, True), True, False),
        (ObjectLock(COMPLIANCE, PAST), False, True),
        (ObjectLock(legal_hold=False), False, True),
    ])
    async def test_a_locked_version_is_never_removed(
        self, backend: Backend, bucket: str, lock: ObjectLock, bypass: bool, removable: bool
    ) -> None:
        await _locked_bucket(backend, bucket)
        noncurrent = await _put(backend, bucket, "k", b"old", lock)
        latest = await _put(backend, bucket, "k", b"new", lock)
        for info in (noncurrent, latest):
            if removable:
                removed = await backend.delete_object_version(
                    bucket, "k", info.version_id, bypass_governance=bypass)
                assert removed is not None and removed.version_id == info.version_id
            else:
                with pytest.raises(errors.AccessDenied):
                    await backend.delete_object_version(bucket, "k", info.version_id,
                                                        bypass_governance=bypass)
                assert (await backend.head_object(bucket, "k", info.version_id)).etag == \
                    info.etag
        if not removable:
            assert await read_stream(await backend.open_object(bucket, "k")) == b"new"

    @pytest.mark.asyncio
    async def test_a_lock_set_later_protects_the_version_as_it_moves(
        self, backend: Backend, bucket: str
    ) -> None:
        """A hold put on the latest version stays with it when it becomes noncurrent, and on
        a noncurrent one when it becomes the latest again."""
        await _locked_bucket(backend, bucket)
        first = await _put(backend, bucket, "k", b"1")
        await backend.put_object_attributes(bucket, "k", _with_lock(ObjectLock(legal_hold=True)))
        second = await _put(backend, bucket, "k", b"2")
        with pytest.raises(errors.AccessDenied):
            await backend.delete_object_version(bucket, "k", first.version_id)
        await backend.delete_object_version(bucket, "k", second.version_id)
        promoted = await backend.head_object(bucket, "k")
        assert promoted.version_id == first.version_id
        assert promoted.attributes.lock.legal_hold is True
        with pytest.raises(errors.AccessDenied):
            await backend.delete_object_version(bucket, "k", first.version_id)
        await backend.put_object_attributes(bucket, "k", _with_lock(ObjectLock(legal_hold=False)))
        assert await backend.delete_object_version(bucket, "k", first.version_id) is not None

    @pytest.mark.asyncio
    async def test_a_delete_marker_goes_on_top_of_a_locked_version(
        self, backend: Backend, bucket: str
    ) -> None:
        await _locked_bucket(backend, bucket)
        info = await _put(backend, bucket, "k", b"x", ObjectLock(COMPLIANCE, FUTURE))
        marker = await backend.delete_object(bucket, "k", marker=new_version())
        assert marker is not None and marker.delete_marker
        assert (await backend.head_object(bucket, "k", info.version_id)).size == 1
        # the marker itself holds nothing: it may go
        assert await backend.delete_object_version(bucket, "k", marker.version_id) is not None

    @pytest.mark.asyncio
    async def test_a_copy_is_locked_as_asked_never_as_its_source(
        self, backend: Backend, bucket: str
    ) -> None:
        await _locked_bucket(backend, bucket)
        await _put(backend, bucket, "src", b"x", ObjectLock(COMPLIANCE, FUTURE, True))
        plain = await backend.copy_object(bucket, "src", bucket, "plain", attributes=None,
                                          tags=None, version=new_version())
        assert plain.attributes.lock == ObjectLock()
        asked = ObjectLock(GOVERNANCE, FUTURE)
        held = await backend.copy_object(bucket, "src", bucket, "held", attributes=None,
                                         tags=None, version=new_version(), lock=asked)
        assert (await backend.head_object(bucket, "held")).attributes.lock == asked
        assert held.attributes.lock == asked
