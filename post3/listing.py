"""Listing on top of ``Backend.list_objects_page``: delimiters, common prefixes, pagination.

Backends only answer "the next N keys after K under prefix P"; grouping keys into
CommonPrefixes and skipping past a whole prefix happen here, so every backend lists alike.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from post3 import errors
from post3.backend import Backend, ListEntry, VersionCursor

#: Sorts after every character a key can hold: ``prefix + SKIP`` is past all keys under prefix.
SKIP = "\U0010ffff"
MAX_KEYS = 1000


@dataclass(slots=True)
class ListResult:
    contents: list[ListEntry] = field(default_factory=list)
    common_prefixes: list[str] = field(default_factory=list)
    is_truncated: bool = False
    #: Where the next page starts (``start_after`` for the backend), when truncated.
    cursor: str = ""
    #: The last key or common prefix returned (ListObjects v1's NextMarker).
    last: str = ""

    @property
    def count(self) -> int:
        return len(self.contents) + len(self.common_prefixes)


def common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    position = key.find(delimiter, len(prefix))
    if position < 0:
        return None
    return key[: position + len(delimiter)]


def resume_point(marker: str, prefix: str, delimiter: str) -> str:
    """Where to continue after ``marker``: past the whole group when the marker is itself a
    common prefix (so a NextMarker that names a prefix does not list it again)."""
    if marker and common_prefix(marker, prefix, delimiter) == marker:
        return marker + SKIP
    return marker


async def list_objects(
    backend: Backend, bucket: str, *, prefix: str, delimiter: str, start_after: str,
    max_keys: int,
) -> ListResult:
    result = ListResult()
    if max_keys == 0:
        # S3 answers max-keys=0 with an empty page that is not truncated, whatever the bucket
        # holds (there is no way to continue from a page that returned nothing).
        return result
    # One entry past the page tells whether it is truncated: a full page asks for 1,001, not
    # 1,000 and then 1,000 more to find that one.
    batch = max_keys + 1
    if not delimiter:
        # Nothing to group: the backend's page is the listing's, without going through it
        # entry by entry (a tenth of a 1,000-key page's CPU).
        page = await backend.list_objects_page(bucket, prefix=prefix, start_after=start_after,
                                               limit=batch)
        result.contents = page[:max_keys]
        if result.contents:
            result.last = result.contents[-1].key
        if len(page) > max_keys:
            result.is_truncated = True
            result.cursor = result.last
        return result
    cursor = start_after
    while True:
        page = await backend.list_objects_page(bucket, prefix=prefix, start_after=cursor,
                                               limit=batch)
        jumped = False
        for info in page:
            group = common_prefix(info.key, prefix, delimiter)
            if group is not None and result.common_prefixes and group == result.common_prefixes[-1]:
                cursor = info.key
                continue
            if result.count >= max_keys:
                result.is_truncated = True
                result.cursor = cursor
                return result
            if group is not None:
                result.common_prefixes.append(group)
                result.last = group
                cursor = max(info.key, group + SKIP)
                jumped = True
                break
            result.contents.append(info)
            result.last = cursor = info.key
        if not jumped and len(page) < batch:
            return result


def encode_token(cursor: str) -> str:
    return base64.urlsafe_b64encode(cursor.encode("utf-8", "surrogatepass")).decode()


def decode_token(token: str) -> str:
    try:
        # validate: a token with characters no token has is refused, not silently emptied;
        # strict UTF-8: no key holds a lone surrogate, so no issued token does either.
        raw = base64.b64decode(token.encode(), altchars=b"-_", validate=True)
        cursor: str | None = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        cursor = None
    # Nor does a key hold U+0000: a cursor with it was forged.
    if cursor is None or "\x00" in cursor:
        raise errors.InvalidArgument("The continuation token provided is incorrect",
                                     ArgumentName="continuation-token")
    return cursor


def parse_max_keys(value: str | None) -> int:
    if value is None or value == "":
        return MAX_KEYS
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise errors.InvalidArgument("Provided max-keys not an integer or within integer range",
                                     ArgumentName="max-keys", ArgumentValue=value)
    return min(number, MAX_KEYS)


# --------------------------------------------------------------------------- version listings


@dataclass(slots=True)
class VersionListResult:
    #: versions and delete markers, in listing order
    versions: list[ListEntry] = field(default_factory=list)
    common_prefixes: list[str] = field(default_factory=list)
    is_truncated: bool = False
    #: NextKeyMarker / NextVersionIdMarker, when truncated (the version marker is None when
    #: the page ended on a common prefix)
    next_key: str = ""
    next_version_id: str | None = None

    @property
    def count(self) -> int:
        return len(self.versions) + len(self.common_prefixes)


async def versions_page(backend: Backend, bucket: str, *, prefix: str,
                        after: VersionCursor | None, limit: int) -> list[ListEntry]:
    """A page of :meth:`Backend.list_object_versions_page`; a backend without versioning has
    one ``null`` version per key, its latest, so a page of its objects is a page of versions."""
    if backend.capabilities.versioning:
        return await backend.list_object_versions_page(bucket, prefix=prefix, after=after,
                                                       limit=limit)
    return await backend.list_objects_page(
        bucket, prefix=prefix, start_after="" if after is None else after.key, limit=limit)


async def list_versions(
    backend: Backend, bucket: str, *, prefix: str, delimiter: str,
    after: VersionCursor | None, max_keys: int,
) -> VersionListResult:
    """ListObjectVersions: versions rolled up into common prefixes as :func:`list_objects`
    rolls up keys; each version, delete marker and common prefix counts towards ``max_keys``."""
    result = VersionListResult()
    if max_keys == 0:
        return result
    cursor = after
    batch = max_keys + 1  # as list_objects
    while True:
        page = await versions_page(backend, bucket, prefix=prefix, after=cursor, limit=batch)
        jumped = False
        for entry in page:
            group = common_prefix(entry.key, prefix, delimiter)
            if result.count >= max_keys:
                result.is_truncated = True
                return result
            if group is not None:
                result.common_prefixes.append(group)
                result.next_key, result.next_version_id = group, None
                cursor = VersionCursor(group + SKIP)
                jumped = True
                break
            result.versions.append(entry)
            result.next_key, result.next_version_id = entry.key, entry.version_id
            cursor = VersionCursor(entry.key, entry.sequence)
        if not jumped and len(page) < batch:
            return result
