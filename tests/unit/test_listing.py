"""Delimiters, common prefixes and pagination against a naive reference over sorted keys."""

import itertools

import pytest

from post3 import listing
from post3.backends.memory import MemoryBackend
from post3.testing import put_bytes

KEYS = [
    "a", "a/", "a/b", "a/b/c", "a/b/d", "a//x", "a-c", "a0", "a/c", "b", "b/1", "b/2/3",
    "c d/e", "c+d/f", "d%2F/g", "é/1", "é/2", "😀/x", "z", "zz/", "zz/y",
]


def reference(keys, prefix, delimiter, start_after):
    """The whole listing as S3 defines it, computed naively."""
    entries = []
    for key in sorted(keys, key=lambda k: k.encode()):
        if not key.startswith(prefix) or key <= start_after:
            continue
        group = listing.common_prefix(key, prefix, delimiter)
        if group is None:
            entries.append(("key", key))
        elif ("prefix", group) not in entries:
            entries.append(("prefix", group))
    return entries


@pytest.fixture
async def backend():
    backend = MemoryBackend()
    await backend.open()
    await backend.create_bucket("bkt")
    for key in KEYS:
        await put_bytes(backend, "bkt", key, key.encode())
    yield backend
    await backend.close()


async def list_all(backend, prefix, delimiter, max_keys):
    """Page through with the cursor the way the HTTP layer does; return entries in order."""
    entries, cursor, pages = [], listing.resume_point("", prefix, delimiter), 0
    while True:
        result = await listing.list_objects(backend, "bkt", prefix=prefix, delimiter=delimiter,
                                            start_after=cursor, max_keys=max_keys)
        pages += 1
        assert result.count <= max_keys
        merged = [("key", i.key) for i in result.contents] + \
                 [("prefix", p) for p in result.common_prefixes]
        entries.extend(sorted(merged, key=lambda e: e[1].encode()))
        if not result.is_truncated:
            return entries, pages
        cursor = listing.decode_token(listing.encode_token(result.cursor))


@pytest.mark.parametrize(
    ("prefix", "delimiter", "max_keys"),
    list(itertools.product(["", "a", "a/", "a/b", "zz", "é", "nothing"], ["", "/", "b", "//"],
                           [1, 2, 3, 1000])),
)
async def test_pages_reproduce_the_reference(backend, prefix, delimiter, max_keys):
    entries, pages = await list_all(backend, prefix, delimiter, max_keys)
    assert entries == reference(KEYS, prefix, delimiter, "")
    if max_keys == 1:
        assert pages >= len(entries)


async def test_marker_naming_a_common_prefix_does_not_repeat_it(backend):
    cursor = listing.resume_point("a/", "", "/")
    result = await listing.list_objects(backend, "bkt", prefix="", delimiter="/",
                                        start_after=cursor, max_keys=1000)
    assert "a/" not in result.common_prefixes
    assert result.contents[0].key == "a0"  # "a-c" sorts before "a/" (- < /)


async def test_start_after_between_keys(backend):
    result = await listing.list_objects(backend, "bkt", prefix="", delimiter="",
                                        start_after="a/b/cc", max_keys=2)
    assert [i.key for i in result.contents] == ["a/b/d", "a/c"]
    assert result.is_truncated


async def test_max_keys_zero(backend):
    result = await listing.list_objects(backend, "bkt", prefix="", delimiter="",
                                        start_after="", max_keys=0)
    # S3: an empty page that is not truncated (issue 11, item 7)
    assert result.count == 0 and not result.is_truncated
