"""ListObjectVersions for unversioned buckets: every object once, as its ``null`` version.

Backup tools and SDK helpers call it even on buckets that never enabled versioning; S3 then
lists each object with ``VersionId`` ``null`` and ``IsLatest`` true, and no delete markers.
"""

from __future__ import annotations

from aiohttp import web

from post3 import errors, listing, xml
from post3.api.list_objects import url_encoder
from post3.api.object_headers import quote_etag
from post3.api.request import S3Request
from post3.api.responses import OWNER, xml_response


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
    if version_marker not in (None, "", "null"):
        raise errors.InvalidArgument("Invalid version id specified",
                                     ArgumentName="version-id-marker",
                                     ArgumentValue=version_marker)
    max_keys = listing.parse_max_keys(s3.query.get("max-keys"))
    await s3.backend.head_bucket(s3.bucket)
    # Each key has one version, so "after key K (version null)" is "after key K".
    result = await listing.list_objects(
        s3.backend, s3.bucket, prefix=prefix, delimiter=delimiter,
        start_after=listing.resume_point(key_marker, prefix, delimiter), max_keys=max_keys)
    ends_on_key = bool(result.contents) and result.last == result.contents[-1].key
    children: list[xml.Child] = [
        ("Name", s3.bucket), ("Prefix", encode(prefix)), ("KeyMarker", encode(key_marker)),
        ("VersionIdMarker", version_marker or ""),
        ("NextKeyMarker", encode(result.last) if result.is_truncated else None),
        ("NextVersionIdMarker", "null" if result.is_truncated and ends_on_key else None),
        ("MaxKeys", max_keys), ("Delimiter", encode(delimiter) if delimiter else None),
        ("EncodingType", s3.query.get("encoding-type")),
        ("IsTruncated", result.is_truncated),
    ]
    for info in result.contents:
        children.append(("Version", [
            ("Key", encode(info.key)), ("VersionId", info.version_id), ("IsLatest", True),
            ("LastModified", info.last_modified), ("ETag", quote_etag(info.etag)),
            ("Size", info.size),
            ("StorageClass", info.storage_class),
            ("Owner", OWNER),
        ]))
    children.extend(("CommonPrefixes", [("Prefix", encode(p))]) for p in result.common_prefixes)
    return xml_response(xml.render("ListVersionsResult", children))


HANDLERS = {"ListObjectVersions": handle_list_object_versions}
