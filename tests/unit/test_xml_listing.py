"""Listings write their entries with one template each: byte for byte what ``xml.render``
writes from the generic children (the shape the handlers passed it before)."""

from __future__ import annotations

import datetime as dt
import random
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

from post3 import xml
from post3.api.list_objects import common_prefixes_xml, contents_xml
from post3.api.versions import versions_xml
from post3.backend import ListEntry
from post3.principals import Principal

AWKWARD = ["a", "a&b<c>d\"e'f", "&amp;", "tab\tnl\ncr\r", "clé/日本/🎉", "bad\udcff\ud800end",
           "sp ace+plus%pct", "]]>", "dir/", "x" * 300]
CLASSES = ["STANDARD", "GLACIER", "REDUCED_REDUNDANCY", "", "A&B<C>"]
PLUS2 = dt.timezone(dt.timedelta(hours=2))
TIMES = [dt.datetime(2026, 11, 24, 15, 52, 7, 123456, tzinfo=dt.UTC),
         dt.datetime(2026, 11, 24, 15, 52, 7, 999999, tzinfo=dt.UTC),
         dt.datetime(2026, 11, 24, 17, 52, 8, tzinfo=PLUS2),
         dt.datetime(1999, 1, 2, 3, 4, 5, tzinfo=dt.UTC)]
OWNER = Principal("alice&<bob>")
IDENTITY: Callable[[str], str] = lambda value: value  # noqa: E731
URL: Callable[[str], str] = lambda value: urllib.parse.quote(value, safe="/")  # noqa: E731


def _entries(seed: int, encode: Callable[[str], str], count: int = 200) -> list[ListEntry]:
    rng = random.Random(seed)
    # quote() refuses lone surrogates: url encoding gets keys that are UTF-8
    keys = AWKWARD if encode is IDENTITY else [k for k in AWKWARD if "\udcff" not in k]
    return [ListEntry(key=rng.choice(keys) + str(i), size=rng.choice([0, 1, 4096, 1 << 40]),
                      etag=rng.choice(["d41d8cd98f00b204e9800998ecf8427e", "abc-3", "a&<>\"b"]),
                      last_modified=rng.choice(TIMES), storage_class=rng.choice(CLASSES),
                      version_id=rng.choice(["null", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"]),
                      delete_marker=rng.random() < 0.3, is_latest=rng.random() < 0.5)
            for i in range(count)]


def _generic_contents(entry: ListEntry, encode: Callable[[str], str],
                      owner: Principal | None) -> xml.Child:
    children: list[Any] = [("Key", encode(entry.key)), ("LastModified", entry.last_modified),
                           ("ETag", f'"{entry.etag}"'), ("Size", entry.size),
                           ("StorageClass", entry.storage_class)]
    if owner is not None:
        children.append(("Owner", owner.owner_xml()))
    return ("Contents", children)


def _generic_version(entry: ListEntry, encode: Callable[[str], str],
                     owner: Principal) -> xml.Child:
    head = [("Key", encode(entry.key)), ("VersionId", entry.version_id),
            ("IsLatest", entry.is_latest), ("LastModified", entry.last_modified)]
    if entry.delete_marker:
        return ("DeleteMarker", [*head, ("Owner", owner.owner_xml())])
    return ("Version", [*head, ("ETag", f'"{entry.etag}"'), ("Size", entry.size),
                        ("StorageClass", entry.storage_class), ("Owner", owner.owner_xml())])


HEAD: list[xml.Child] = [("Name", "bkt"), ("Prefix", ""), ("MaxKeys", 1000),
                         ("IsTruncated", False)]


@pytest.mark.parametrize("encode", [IDENTITY, URL], ids=["raw", "url"])
@pytest.mark.parametrize("owner", [None, OWNER], ids=["no-owner", "fetch-owner"])
@pytest.mark.parametrize("seed", range(5))
def test_contents_match_the_generic_renderer(encode: Callable[[str], str],
                                             owner: Principal | None, seed: int) -> None:
    entries = [e for e in _entries(seed, encode) if not e.delete_marker]
    prefixes = sorted({e.key[: e.key.find("/") + 1] for e in entries if "/" in e.key})
    generic = [*HEAD, *(_generic_contents(e, encode, owner) for e in entries),
               *(("CommonPrefixes", [("Prefix", encode(p))]) for p in prefixes)]
    fast = contents_xml(entries, encode, owner) + common_prefixes_xml(prefixes, encode)
    assert xml.render("ListBucketResult", HEAD, rendered=fast) == \
        xml.render("ListBucketResult", generic)


@pytest.mark.parametrize("encode", [IDENTITY, URL], ids=["raw", "url"])
@pytest.mark.parametrize("seed", range(5))
def test_versions_match_the_generic_renderer(encode: Callable[[str], str], seed: int) -> None:
    entries = _entries(seed, encode)
    generic = [*HEAD, *(_generic_version(e, encode, OWNER) for e in entries),
               ("CommonPrefixes", [("Prefix", encode("dir/"))])]
    fast = versions_xml(entries, encode, OWNER) + common_prefixes_xml(["dir/"], encode)
    assert xml.render("ListVersionsResult", HEAD, rendered=fast) == \
        xml.render("ListVersionsResult", generic)


def test_empty_pages_match_the_generic_renderer() -> None:
    assert contents_xml([], IDENTITY, OWNER) == common_prefixes_xml([], IDENTITY) == ""
    assert xml.render("ListBucketResult", HEAD, rendered="") == \
        xml.render("ListBucketResult", HEAD)
    assert xml.render("Empty", [], rendered="") == xml.render("Empty", [])
    assert xml.render("Only", [], rendered="<A>b</A>") == xml.render("Only", [("A", "b")])


def test_timestamps_of_one_second_share_a_text_whatever_their_zone() -> None:
    texts = {xml.iso8601(t) for t in TIMES[:3]}
    assert len(texts) == 2  # 15:52:07 UTC twice, 15:52:08 UTC from +02:00
    assert xml.iso8601(TIMES[2]) == "2026-11-24T15:52:08.000Z"
    for second in range(xml._STAMPS_KEPT + 10):  # the cache is bounded
        when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=second)
        assert xml.iso8601(when) == when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert len(xml._STAMPS) <= xml._STAMPS_KEPT
