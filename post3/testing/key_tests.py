"""Keys and listing: any Unicode key is one opaque name, and listings follow UTF-8 byte order."""

from __future__ import annotations

from typing import Any

import pytest

from post3 import errors
from post3.backend import Backend
from post3.testing.base import OTHER_BUCKET, ConformanceBase
from post3.testing.helpers import put_bytes, read_object

#: Keys that look like paths, escapes or encodings to someone; to S3 each is just a name.
AWKWARD_KEYS = [
    "a",
    "A",
    "a/",
    "a/b",
    "a/b/",
    "a//b",
    "/lead",
    "//double-lead",
    "..",
    "../x",
    "a/../b",
    "a/./b",
    ".",
    "./x",
    "%41",
    "%2F",
    "A%2FB",
    "+",
    "a+b",
    "with space",
    " leading-space",
    "trailing-space ",
    "back\\slash",
    "quote\"'`",
    "<xml>&amp;",
    "colon:star*question?",
    "é",
    "e\u0301",  # the same glyph as é, decomposed: a different key
    "😀",
    "中文/键",
    "x" * 1024,  # one segment longer than any filesystem's file name
    "ab/" * 341 + "x",  # 1024 bytes of many segments
    "é" * 512,  # 1024 bytes, two per character
]

#: Keys whose UTF-8 byte order differs from path-segment order, collation order and UTF-16
#: order, in the order a listing must return them.
ORDERED_KEYS = [
    "B",  # upper case sorts before lower case
    "a",
    "a-c",  # "-" (0x2d) < "/" (0x2f) < "0" (0x30)
    "a/b",
    "a/b/c",
    "a0",
    "aB",
    "ab",
    "z",
    "é",  # U+00E9: two bytes, after every ASCII key
    "\uff61",  # the highest BMP character here: three bytes
    "😀",  # astral: four bytes, after the BMP (UTF-16 puts it before U+FF61)
]


class KeyTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_awkward_keys_coexist(self, backend: Backend, bucket: str) -> None:
        for key in AWKWARD_KEYS:
            assert len(key.encode()) <= 1024, key
            await put_bytes(backend, bucket, key, key.encode() + b"|body")

        for key in AWKWARD_KEYS:
            head = await backend.head_object(bucket, key)
            assert head.key == key
            assert await read_object(backend, bucket, key) == key.encode() + b"|body", key
        listed = await backend.list_objects_page(bucket)
        assert [o.key for o in listed] == sorted(AWKWARD_KEYS, key=str.encode)
        assert [o.size for o in listed] == [
            len(o.key.encode()) + 5 for o in listed
        ]

    @pytest.mark.asyncio
    async def test_awkward_keys_delete_one_by_one(self, backend: Backend, bucket: str) -> None:
        for key in AWKWARD_KEYS:
            await put_bytes(backend, bucket, key, b"x")
        remaining = sorted(AWKWARD_KEYS)
        for key in AWKWARD_KEYS:
            await backend.delete_object(bucket, key)
            remaining.remove(key)
            assert [o.key for o in await backend.list_objects_page(bucket)] == remaining, key
        await backend.delete_bucket(bucket)

    @pytest.mark.asyncio
    async def test_keys_do_not_escape_their_bucket(self, backend: Backend, bucket: str) -> None:
        await backend.create_bucket(OTHER_BUCKET)
        for key in (f"../{OTHER_BUCKET}/escaped", f"/../{OTHER_BUCKET}/escaped", "../escaped",
                    "../../escaped", f"..\\{OTHER_BUCKET}\\escaped", "escaped"):
            await put_bytes(backend, bucket, key, b"mine")

        assert await backend.list_objects_page(OTHER_BUCKET) == []
        with pytest.raises(errors.NoSuchKey):
            await backend.head_object(OTHER_BUCKET, "escaped")
        assert [b.name for b in await backend.list_buckets()] == sorted([bucket, OTHER_BUCKET])
        await backend.delete_bucket(OTHER_BUCKET)

    @pytest.mark.asyncio
    async def test_same_key_in_two_buckets(self, backend: Backend, bucket: str) -> None:
        await backend.create_bucket(OTHER_BUCKET)
        await put_bytes(backend, bucket, "shared/name", b"in the first")
        await put_bytes(backend, OTHER_BUCKET, "shared/name", b"in the second")
        await backend.delete_object(bucket, "shared/name")
        assert await read_object(backend, OTHER_BUCKET, "shared/name") == b"in the second"
        assert await backend.list_objects_page(bucket) == []


class ListingTests(ConformanceBase):
    async def _keys(self, backend: Backend, bucket: str, **kwargs: Any) -> list[str]:
        return [o.key for o in await backend.list_objects_page(bucket, **kwargs)]

    @pytest.mark.asyncio
    async def test_listing_is_in_utf8_byte_order(self, backend: Backend, bucket: str) -> None:
        for key in reversed(ORDERED_KEYS):
            await put_bytes(backend, bucket, key, b"x")
        assert ORDERED_KEYS == sorted(ORDERED_KEYS, key=str.encode)
        assert await self._keys(backend, bucket) == ORDERED_KEYS

    @pytest.mark.asyncio
    async def test_listing_returns_object_infos(self, backend: Backend, bucket: str) -> None:
        puts = {key: await put_bytes(backend, bucket, key, key.encode() * 3)
                for key in ("one", "two/deep")}
        for listed in await backend.list_objects_page(bucket):
            put = puts[listed.key]
            assert (listed.size, listed.etag, listed.last_modified) == (
                put.size, put.etag, put.last_modified
            )

    @pytest.mark.asyncio
    async def test_prefix(self, backend: Backend, bucket: str) -> None:
        for key in ORDERED_KEYS:
            await put_bytes(backend, bucket, key, b"x")
        assert await self._keys(backend, bucket, prefix="a") == [
            "a", "a-c", "a/b", "a/b/c", "a0", "aB", "ab"
        ]
        assert await self._keys(backend, bucket, prefix="a/") == ["a/b", "a/b/c"]
        assert await self._keys(backend, bucket, prefix="a/b") == ["a/b", "a/b/c"]
        assert await self._keys(backend, bucket, prefix="a/b/c") == ["a/b/c"]
        assert await self._keys(backend, bucket, prefix="a/b/c/") == []
        assert await self._keys(backend, bucket, prefix="A") == []
        assert await self._keys(backend, bucket, prefix="é") == ["é"]
        assert await self._keys(backend, bucket, prefix="%") == []
        assert await self._keys(backend, bucket, prefix="_") == []

    @pytest.mark.asyncio
    async def test_prefix_is_not_a_pattern(self, backend: Backend, bucket: str) -> None:
        for key in ("a%b", "a_b", "axb", "a%", "a*", "a.b"):
            await put_bytes(backend, bucket, key, b"x")
        assert await self._keys(backend, bucket, prefix="a%") == ["a%", "a%b"]
        assert await self._keys(backend, bucket, prefix="a_") == ["a_b"]
        assert await self._keys(backend, bucket, prefix="a*") == ["a*"]
        assert await self._keys(backend, bucket, prefix="a.") == ["a.b"]

    @pytest.mark.asyncio
    async def test_start_after(self, backend: Backend, bucket: str) -> None:
        for key in ORDERED_KEYS:
            await put_bytes(backend, bucket, key, b"x")
        assert await self._keys(backend, bucket, start_after="a/b") == ORDERED_KEYS[4:]
        # Not a key itself: listing resumes at the next key in byte order.
        assert await self._keys(backend, bucket, start_after="a.") == ORDERED_KEYS[3:]
        assert await self._keys(backend, bucket, start_after="a/b/") == ORDERED_KEYS[4:]
        assert await self._keys(backend, bucket, start_after="\uffff") == ["😀"]
        assert await self._keys(backend, bucket, start_after="😀") == []
        assert await self._keys(backend, bucket, start_after="C") == ORDERED_KEYS[1:]
        assert await self._keys(backend, bucket, start_after="") == ORDERED_KEYS

    @pytest.mark.asyncio
    async def test_start_after_with_prefix(self, backend: Backend, bucket: str) -> None:
        for key in ORDERED_KEYS:
            await put_bytes(backend, bucket, key, b"x")
        assert await self._keys(backend, bucket, prefix="a", start_after="a/b") == [
            "a/b/c", "a0", "aB", "ab"
        ]
        # start_after before the prefix: the whole prefix; after it: nothing.
        assert await self._keys(backend, bucket, prefix="a/", start_after="B") == [
            "a/b", "a/b/c"
        ]
        assert await self._keys(backend, bucket, prefix="a/", start_after="b") == []

    @pytest.mark.asyncio
    async def test_limit_and_paging(self, backend: Backend, bucket: str) -> None:
        keys = ORDERED_KEYS + [f"page/{i:03d}" for i in range(25)]
        for key in keys:
            await put_bytes(backend, bucket, key, b"x")
        everything = sorted(keys, key=str.encode)
        assert await self._keys(backend, bucket) == everything
        assert await self._keys(backend, bucket, limit=3) == everything[:3]
        assert await self._keys(backend, bucket, limit=1) == everything[:1]

        for prefix, limit in [("", 1), ("", 4), ("", 1000), ("page/", 7), ("a", 2)]:
            expected = [k for k in everything if k.startswith(prefix)]
            collected: list[str] = []
            start_after = ""
            while True:
                page = await self._keys(
                    backend, bucket, prefix=prefix, start_after=start_after, limit=limit
                )
                assert len(page) <= limit
                if not page:
                    break
                collected += page
                start_after = page[-1]
            assert collected == expected, (prefix, limit)
