"""UploadPart and ListParts racing AbortMultipartUpload: each answers as S3 would (the part
stored, or NoSuchUpload), never an internal error, and an aborted upload leaves nothing."""

from __future__ import annotations

import asyncio
import os
import random

from post3_filesystem import FilesystemBackend

from post3 import errors
from post3.payload import PayloadStream
from post3.testing.helpers import attrs

#: Seconds of racing; before the fix a second was enough to make a part or a listing fail.
RACE_SECONDS = 5


async def _body():  # type: ignore[no-untyped-def]
    yield b"x" * 1000


async def test_parts_and_listings_racing_an_abort_answer_as_s3_does(
        backend: FilesystemBackend, bucket: str) -> None:
    assert backend.fsync  # the directory sync after a part is part of the race
    unexpected: list[str] = []

    async def outcome(call):  # type: ignore[no-untyped-def]
        try:
            await call
        except errors.NoSuchUpload:
            pass  # the abort came first: what S3 answers too
        except Exception as exc:  # anything else is the bug under test
            unexpected.append(f"{type(exc).__name__}: {exc}")

    loop = asyncio.get_running_loop()
    deadline = loop.time() + RACE_SECONDS
    while loop.time() < deadline:
        upload = await backend.create_multipart_upload(bucket, "k", attributes=attrs(), tags={})
        uid = upload.upload_id

        async def abort(uid: str) -> None:
            await asyncio.sleep(random.random() * 0.003)
            await backend.abort_multipart_upload(bucket, "k", uid)

        await asyncio.gather(
            *(outcome(backend.upload_part(bucket, "k", uid, n,
                                          PayloadStream.from_iterable(_body())))
              for n in range(1, 6)),
            outcome(backend.list_parts(bucket, "k", uid)),
            outcome(backend.list_parts(bucket, "k", uid)),
            abort(uid),
        )
    assert not unexpected, unexpected[:5]
    assert await backend.list_multipart_uploads_page(bucket) == []
    assert not os.listdir(os.path.join(backend.root, bucket, "uploads"))
