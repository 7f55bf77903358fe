"""Multipart uploads: parts stored in any order, completed atomically into one object.

The core validates the part list and computes the final ETag, checksums and part sizes; the
tests build that ``ObjectInfo`` as the core does (:func:`multipart_object_info`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest

from post3 import checksums, errors, multipart
from post3.backend import (
    Backend,
    Checksums,
    ContentHeaders,
    ObjectAttributes,
    PartInfo,
    UploadCursor,
    UploadInfo,
    WriteCondition,
)
from post3.payload import PayloadStream
from post3.testing.base import ConformanceBase, optional
from post3.testing.helpers import (
    MiB,
    Range,
    attrs,
    chunks_of,
    failing_payload,
    multipart_object_info,
    pattern,
    payload,
    put_bytes,
    read_object,
    stored_pairs,
)


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


async def start(backend: Backend, bucket: str, key: str = "mp", **kwargs: object) -> UploadInfo:
    attributes = kwargs.pop("attributes", ObjectAttributes())
    tags = kwargs.pop("tags", {})
    algorithm = kwargs.pop("checksum_algorithm", None)
    assert isinstance(attributes, ObjectAttributes) and isinstance(tags, dict)
    assert algorithm is None or isinstance(algorithm, str)
    with optional("multipart upload"):
        return await backend.create_multipart_upload(
            bucket, key, attributes=attributes, tags=tags, checksum_algorithm=algorithm)


class MultipartTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_create_and_get_upload(self, backend: Backend, bucket: str) -> None:
        before = dt.datetime.now(dt.UTC).replace(microsecond=0)
        upload = await start(backend, bucket, "dir/file.bin",
                             attributes=attrs({"content-type": "video/mp4"}), tags={"t": "1"})
        after = dt.datetime.now(dt.UTC)

        assert upload.key == "dir/file.bin"
        assert upload.upload_id
        assert before <= upload.initiated <= after
        assert upload.initiated.utcoffset() == dt.timedelta(0)
        assert stored_pairs(upload) == {"content-type": "video/mp4"}
        assert dict(upload.tags) == {"t": "1"}
        again = await backend.get_multipart_upload(bucket, "dir/file.bin", upload.upload_id)
        assert (again.key, again.upload_id, again.initiated) == (
            upload.key, upload.upload_id, upload.initiated
        )
        assert stored_pairs(again) == {"content-type": "video/mp4"}
        assert dict(again.tags) == {"t": "1"}
        assert await backend.list_parts(bucket, "dir/file.bin", upload.upload_id) == []
        # A pending upload is not an object.
        assert await backend.list_objects_page(bucket) == []
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "dir/file.bin")

    @pytest.mark.asyncio
    async def test_two_uploads_of_one_key_are_distinct(
        self, backend: Backend, bucket: str
    ) -> None:
        first, second = await start(backend, bucket), await start(backend, bucket)
        assert first.upload_id != second.upload_id
        await backend.upload_part(bucket, "mp", first.upload_id, 1, payload(b"first"))
        assert await backend.list_parts(bucket, "mp", second.upload_id) == []

    @pytest.mark.asyncio
    async def test_parts_out_of_order_and_replaced(self, backend: Backend, bucket: str) -> None:
        upload = await start(backend, bucket)
        uid = upload.upload_id
        bodies = {3: b"three" * 100, 1: b"one" * 100, 2: b"two" * 100}
        for number, body in bodies.items():
            part = await backend.upload_part(bucket, "mp", uid, number, payload(body))
            assert (part.part_number, part.size, part.etag) == (number, len(body), md5(body))
            assert part.last_modified.utcoffset() == dt.timedelta(0)

        replacement = b"TWO, again, longer" * 50
        await backend.upload_part(bucket, "mp", uid, 2, payload(replacement))
        bodies[2] = replacement

        parts = await backend.list_parts(bucket, "mp", uid)
        assert [(p.part_number, p.size, p.etag) for p in parts] == [
            (n, len(bodies[n]), md5(bodies[n])) for n in (1, 2, 3)
        ]

    @pytest.mark.asyncio
    async def test_complete_concatenates_chosen_parts(
        self, backend: Backend, bucket: str
    ) -> None:
        upload = await start(backend, bucket, attributes=attrs({"x-amz-meta-kind": "joined"}),
                             tags={"origin": "multipart"})
        uid = upload.upload_id
        bodies = {n: pattern(1000 + n, seed=n) for n in (1, 2, 3, 4)}
        for number in (4, 2, 1, 3):
            await backend.upload_part(bucket, "mp", uid, number, payload(bodies[number]))
        chosen = [p for p in await backend.list_parts(bucket, "mp", uid)
                  if p.part_number in (1, 3, 4)]
        info = multipart_object_info(upload, chosen)

        done = await backend.complete_multipart_upload(bucket, "mp", uid, chosen, info)

        expected = bodies[1] + bodies[3] + bodies[4]
        assert done.etag == info.etag and done.etag.endswith("-3")
        assert done.size == info.size == len(expected)
        head = await backend.head_object(bucket, "mp")
        assert (head.key, head.size, head.etag, head.last_modified) == (
            "mp", info.size, info.etag, info.last_modified
        )
        assert head.part_sizes == (1001, 1003, 1004)
        assert stored_pairs(head) == {"x-amz-meta-kind": "joined"}
        assert dict(head.tags) == {"origin": "multipart"}
        assert await read_object(backend, bucket, "mp") == expected
        assert await read_object(backend, bucket, "mp", Range(995, 1010)) == expected[995:1010]
        listed = await backend.list_objects_page(bucket)
        assert [(o.key, o.size, o.etag) for o in listed] == [("mp", len(expected), info.etag)]

        # Completing forgets the upload.
        with pytest.raises(errors.NoSuchUpload):
            await backend.get_multipart_upload(bucket, "mp", uid)
        with pytest.raises(errors.NoSuchUpload):
            await backend.list_parts(bucket, "mp", uid)
        assert await backend.list_multipart_uploads_page(bucket) == []

    @pytest.mark.asyncio
    async def test_complete_keeps_what_the_core_records(
        self, backend: Backend, bucket: str
    ) -> None:
        # The core keeps each part's checksum and the upload id with the object
        # (?partNumber=N checksums, GetObjectAttributes, retried completions): a backend stores
        # them as it stores any other attribute, however long (10,000 parts of SHA-256).
        settings = multipart.checksum_settings({"x-amz-checksum-algorithm": "CRC32"})
        assert settings is not None
        upload = await start(
            backend, bucket,
            attributes=ObjectAttributes(ContentHeaders(content_type="text/plain"),
                                        checksums=Checksums({}, settings[1])),
            checksum_algorithm=settings[0])
        assert (upload.checksum_algorithm, upload.attributes.checksums.type) == settings
        again = await backend.get_multipart_upload(bucket, "mp", upload.upload_id)
        assert again == upload
        uid = upload.upload_id
        bodies = {n: pattern(100 * n, seed=n) for n in (1, 2)}
        for number, body in bodies.items():
            body_stream = PayloadStream.from_iterable(
                chunks_of(body, 64 * 1024), size=len(body), checksum_algorithms=("crc32",))
            await backend.upload_part(bucket, "mp", uid, number, body_stream)
        parts = await backend.list_parts(bucket, "mp", uid)
        assert [p.checksums.get("crc32") for p in parts] == [
            checksums.compute("crc32", bodies[n]) for n in (1, 2)]
        info = multipart.completed_info(upload, parts)
        assert multipart.part_checksums(info) == (
            "crc32", [checksums.compute("crc32", bodies[n]) for n in (1, 2)])
        long_value = checksums.compute("sha256", b"x") * 10_000
        origin = info.attributes.multipart
        assert origin is not None
        long_origin = dataclasses.replace(origin, part_checksums=(long_value, long_value))
        info = dataclasses.replace(
            info, attributes=dataclasses.replace(info.attributes, multipart=long_origin))

        await backend.complete_multipart_upload(bucket, "mp", uid, parts, info)

        head = await backend.head_object(bucket, "mp")
        assert head.attributes == info.attributes
        assert head.part_sizes == (100, 200)
        assert multipart.part_checksums(head) == multipart.part_checksums(info)
        assert multipart.completed_from(head, uid, [
            multipart.RequestedPart(p.part_number, p.etag, {}) for p in parts])

    @pytest.mark.asyncio
    async def test_complete_with_multi_block_parts(self, backend: Backend, bucket: str) -> None:
        upload = await start(backend, bucket)
        uid = upload.upload_id
        first, second = pattern(MiB + MiB // 4, seed=21), pattern(MiB // 3, seed=22)
        await backend.upload_part(bucket, "mp", uid, 2, payload(second, chunk_size=100_000))
        await backend.upload_part(bucket, "mp", uid, 1, payload(first, chunk_size=100_000))
        parts = await backend.list_parts(bucket, "mp", uid)
        info = multipart_object_info(upload, parts)
        await backend.complete_multipart_upload(bucket, "mp", uid, parts, info)

        assert await read_object(backend, bucket, "mp") == first + second
        boundary = len(first)
        assert await read_object(backend, bucket, "mp", Range(boundary - 5, boundary + 5)) == (
            (first + second)[boundary - 5: boundary + 5]
        )

    @pytest.mark.asyncio
    async def test_complete_replaces_existing_object(
        self, backend: Backend, bucket: str
    ) -> None:
        await put_bytes(backend, bucket, "mp", b"old single-part object", tags={"old": "1"})
        upload = await start(backend, bucket)
        await backend.upload_part(bucket, "mp", upload.upload_id, 1, payload(b"new"))
        parts = await backend.list_parts(bucket, "mp", upload.upload_id)
        await backend.complete_multipart_upload(bucket, "mp", upload.upload_id, parts,
                                                multipart_object_info(upload, parts))
        assert await read_object(backend, bucket, "mp") == b"new"
        assert dict((await backend.head_object(bucket, "mp")).tags) == {}

    @pytest.mark.asyncio
    async def test_complete_with_condition(self, backend: Backend, bucket: str) -> None:
        before = await put_bytes(backend, bucket, "mp", b"already here")
        upload = await start(backend, bucket)
        await backend.upload_part(bucket, "mp", upload.upload_id, 1, payload(b"late"))
        parts = await backend.list_parts(bucket, "mp", upload.upload_id)
        info = multipart_object_info(upload, parts)

        with pytest.raises(errors.PreconditionFailed):
            await backend.complete_multipart_upload(
                bucket, "mp", upload.upload_id, parts, info,
                condition=WriteCondition(if_none_match=True),
            )
        assert await read_object(backend, bucket, "mp") == b"already here"
        assert (await backend.head_object(bucket, "mp")).etag == before.etag

        await backend.complete_multipart_upload(
            bucket, "mp", upload.upload_id, parts, info,
            condition=WriteCondition(if_match=before.etag),
        )
        assert await read_object(backend, bucket, "mp") == b"late"

    @pytest.mark.asyncio
    async def test_complete_create_if_absent(self, backend: Backend, bucket: str) -> None:
        upload = await start(backend, bucket)
        await backend.upload_part(bucket, "mp", upload.upload_id, 1, payload(b"first"))
        parts = await backend.list_parts(bucket, "mp", upload.upload_id)
        await backend.complete_multipart_upload(
            bucket, "mp", upload.upload_id, parts, multipart_object_info(upload, parts),
            condition=WriteCondition(if_none_match=True),
        )
        assert await read_object(backend, bucket, "mp") == b"first"

    @pytest.mark.asyncio
    async def test_failed_part_body_leaves_no_part(self, backend: Backend, bucket: str) -> None:
        upload = await start(backend, bucket)
        uid = upload.upload_id
        good = await backend.upload_part(bucket, "mp", uid, 1, payload(b"good part"))
        with pytest.raises(errors.BadDigest):
            await backend.upload_part(bucket, "mp", uid, 1, failing_payload(pattern(50_000)))
        with pytest.raises(errors.BadDigest):
            await backend.upload_part(bucket, "mp", uid, 2, failing_payload(pattern(50_000)))
        with pytest.raises(errors.IncompleteBody):
            await backend.upload_part(bucket, "mp", uid, 3, payload(b"short", size=99))
        parts = await backend.list_parts(bucket, "mp", uid)
        assert [(p.part_number, p.etag) for p in parts] == [(1, good.etag)]

    @pytest.mark.asyncio
    async def test_abort(self, backend: Backend, bucket: str) -> None:
        upload = await start(backend, bucket)
        uid = upload.upload_id
        await backend.upload_part(bucket, "mp", uid, 1, payload(b"part"))
        parts = await backend.list_parts(bucket, "mp", uid)

        await backend.abort_multipart_upload(bucket, "mp", uid)

        assert await backend.list_multipart_uploads_page(bucket) == []
        assert await backend.list_objects_page(bucket) == []
        with pytest.raises(errors.NoSuchUpload):
            await backend.abort_multipart_upload(bucket, "mp", uid)
        with pytest.raises(errors.NoSuchUpload):
            await backend.upload_part(bucket, "mp", uid, 2, payload(b"late"))
        with pytest.raises(errors.NoSuchUpload):
            await backend.complete_multipart_upload(bucket, "mp", uid, parts,
                                                    multipart_object_info(upload, parts))
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(bucket, "mp")

    @pytest.mark.asyncio
    async def test_unknown_upload_or_wrong_key_is_no_such_upload(
        self, backend: Backend, bucket: str
    ) -> None:
        upload = await start(backend, bucket, "right")
        uid = upload.upload_id
        part = PartInfo(1, 1, md5(b"x"), upload.initiated)
        info = multipart_object_info(upload, [part])
        for key, upload_id in [("right", "no-such-upload-id"), ("wrong", uid), ("right/", uid)]:
            calls = {
                "get_multipart_upload": backend.get_multipart_upload,
                "upload_part": lambda b, k, u: backend.upload_part(b, k, u, 1, payload(b"x")),
                "list_parts": backend.list_parts,
                "complete_multipart_upload": lambda b, k, u: backend.complete_multipart_upload(
                    b, k, u, [part], info),
                "abort_multipart_upload": backend.abort_multipart_upload,
            }
            for name, call in calls.items():
                try:
                    await call(bucket, key, upload_id)
                except errors.NoSuchUpload:
                    continue
                except Exception as exc:
                    pytest.fail(f"{name}({key!r}, {upload_id!r}) raised {exc!r}, not NoSuchUpload")
                pytest.fail(f"{name}({key!r}, {upload_id!r}) did not raise NoSuchUpload")
        # The real upload is untouched by all of that.
        assert (await backend.get_multipart_upload(bucket, "right", uid)).upload_id == uid
        assert await backend.list_parts(bucket, "right", uid) == []

    @pytest.mark.asyncio
    async def test_list_multipart_uploads_order_prefix_and_markers(
        self, backend: Backend, bucket: str
    ) -> None:
        created = [(await start(backend, bucket, key)).upload_id
                   for key in ("b", "a", "c/d", "a", "a-b", "c/e", "b")]
        listed = await backend.list_multipart_uploads_page(bucket)
        assert [u.key for u in listed] == ["a", "a", "a-b", "b", "b", "c/d", "c/e"]
        # (key, upload_id) order, and upload ids sort in creation order within a key
        assert listed == sorted(listed, key=lambda u: (u.key, u.upload_id))
        assert [u.upload_id for u in listed if u.key == "b"] == [created[0], created[6]]
        assert [u.upload_id for u in listed if u.key == "a"] == [created[1], created[3]]
        assert len({u.upload_id for u in listed}) == 7

        assert [u.key for u in await backend.list_multipart_uploads_page(bucket, prefix="c/")] == [
            "c/d", "c/e"
        ]
        assert [u.key for u in await backend.list_multipart_uploads_page(bucket, prefix="a")] == [
            "a", "a", "a-b"
        ]
        # A cursor without an upload id stands after every upload of its key.
        assert [u.key for u in await backend.list_multipart_uploads_page(
            bucket, after=UploadCursor("a"))] == ["a-b", "b", "b", "c/d", "c/e"]
        assert [u.key for u in await backend.list_multipart_uploads_page(
            bucket, after=UploadCursor("b0"))] == ["c/d", "c/e"]
        # With one, after that upload: the second upload of "a" and what follows.
        assert await backend.list_multipart_uploads_page(
            bucket, after=UploadCursor.after(listed[0])) == listed[1:]
        assert await backend.list_multipart_uploads_page(
            bucket, prefix="c/", after=UploadCursor("b", listed[3].upload_id)) == listed[5:]
        assert await backend.list_multipart_uploads_page(bucket, limit=3) == listed[:3]

        # Paging with a cursor after the last upload of each page walks the whole list.
        for limit in (1, 2, 4):
            collected: list[UploadInfo] = []
            cursor: UploadCursor | None = None
            while page := await backend.list_multipart_uploads_page(
                bucket, after=cursor, limit=limit
            ):
                assert len(page) <= limit
                collected += page
                cursor = UploadCursor.after(page[-1])
            assert [u.upload_id for u in collected] == [u.upload_id for u in listed], limit
