"""ListObjectVersions: every version and delete marker, keys ascending, newest first.

A bucket that never had versioning lists each object once, as its ``null`` version, with
``IsLatest`` true: backup tools and SDK helpers ask even there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aiohttp import web

from post3 import errors, listing, versioning, xml
from post3.api.list_objects import common_prefixes_xml, url_encoder
from post3.api.object_headers import quote_etag
from post3.api.owners import bucket_owner
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.backend import NULL_VERSION, Backend, ListEntry, VersionCursor
from post3.principals import Principal


async def start_cursor(backend: Backend, bucket: str, key_marker: str,
                       version_marker: str | None, prefix: str, delimiter: str
                       ) -> VersionCursor | None:
    """Where a page starts: after ``key-marker``'s versions up to ``version-id-marker``, or
    after all of them (past the whole group when the marker is a common prefix)."""
    if not key_marker:
        return None
    if not version_marker:
        return VersionCursor(listing.resume_point(key_marker, prefix, delimiter))
    if version_marker != NULL_VERSION:
        return VersionCursor(key_marker, version_marker)  # an id is its own sequence
    if not backend.capabilities.versioning:
        return VersionCursor(key_marker)
    try:
        null = await backend.head_object(bucket, key_marker, NULL_VERSION)
    except (errors.NoSuchKey, errors.NoSuchVersion):
        # The null version was removed since the last page: list the key again from its
        # newest version (a version listed twice, rather than one never listed).
        return VersionCursor(key_marker, "")
    return VersionCursor(key_marker, null.sequence)


async def handle_list_object_versions(s3: S3Request) -> web.StreamResponse:
    encode = url_encoder(s3)
    prefix = s3.query.get("prefix", "")
    delimiter = s3.query.get("delimiter", "")
    key_marker = s3.query.get("key-marker", "")
    version_marker = s3.query.get("version-id-marker")
    if version_marker is not None and not key_marker:
        raise errors.InvalidArgument(
            "A version-id marker cannot be specified without a key marker.",
            ArgumentName="version-id-marker", ArgumentValue=version_marker)
    if version_marker:
        versioning.check_version_id(version_marker, "version-id-marker")
    max_keys = listing.parse_max_keys(s3.query.get("max-keys"))
    await s3.backend.head_bucket(s3.bucket)
    after = await start_cursor(s3.backend, s3.bucket, key_marker, version_marker, prefix,
                               delimiter)
    result = await listing.list_versions(s3.backend, s3.bucket, prefix=prefix,
                                         delimiter=delimiter, after=after, max_keys=max_keys)
    children: list[xml.Child] = [
        ("Name", s3.bucket), ("Prefix", encode(prefix)), ("KeyMarker", encode(key_marker)),
        ("VersionIdMarker", version_marker or ""),
        ("NextKeyMarker", encode(result.next_key) if result.is_truncated else None),
        ("NextVersionIdMarker", result.next_version_id if result.is_truncated else None),
        ("MaxKeys", max_keys), ("Delimiter", encode(delimiter) if delimiter else None),
        ("EncodingType", s3.query.get("encoding-type")),
        ("IsTruncated", result.is_truncated),
    ]
    owner = await bucket_owner(s3)
    rendered = (versions_xml(result.versions, encode, owner)
                + common_prefixes_xml(result.common_prefixes, encode))
    return xml_response(xml.render("ListVersionsResult", children, rendered=rendered))


def versions_xml(entries: Iterable[ListEntry], encode: Callable[[str], str],
                 owner: Principal) -> str:
    """The ``<Version>`` (Key, VersionId, IsLatest, LastModified, ETag, Size, StorageClass,
    Owner) and ``<DeleteMarker>`` (Key, VersionId, IsLatest, LastModified, Owner) elements, as
    ``xml.fragment`` writes them from children, one f-string each (see
    :func:`post3.api.list_objects.contents_xml`; a version id is never empty)."""
    escape, stamp = xml.escape, xml.iso8601
    owner_xml = xml.fragment([("Owner", owner.owner_xml())])
    tails: dict[str, str] = {}  # storage class -> its element and the owner's
    out: list[str] = []
    for entry in entries:
        head = (f"<Key>{escape(encode(entry.key))}</Key>"
                f"<VersionId>{escape(entry.version_id)}</VersionId>"
                f"<IsLatest>{'true' if entry.is_latest else 'false'}</IsLatest>"
                f"<LastModified>{stamp(entry.last_modified)}</LastModified>")
        if entry.delete_marker:
            out.append(f"<DeleteMarker>{head}{owner_xml}</DeleteMarker>")
            continue
        tail = tails.get(entry.storage_class)
        if tail is None:
            tail = tails[entry.storage_class] = xml.fragment(
                [("StorageClass", entry.storage_class)]) + owner_xml
        out.append(f"<Version>{head}<ETag>{escape(quote_etag(entry.etag))}</ETag>"
                   f"<Size>{entry.size}</Size>{tail}</Version>")
    return "".join(out)


HANDLERS = {"ListObjectVersions": handle_list_object_versions}
