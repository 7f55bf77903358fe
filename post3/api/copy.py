"""CopyObject."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from aiohttp import web

from post3 import conditions, errors, names, xml
from post3.api.acl import write_access
from post3.api.object_headers import (
    attributes_from_request,
    checksum_children,
    quote_etag,
    tags_from_header,
)
from post3.api.object_lock import write_lock
from post3.api.put import write_condition
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.api.versioning import backend_version, version_headers
from post3.backend import NULL_VERSION, Backend, ObjectInfo
from post3.encryption import service as encryption
from post3.encryption.headers import response_headers as encryption_headers
from post3.object_lock import lock_from_headers
from post3.versioning import check_version_id, new_version


@dataclass(frozen=True, slots=True)
class CopySource:
    bucket: str
    key: str
    #: the version named by ``?versionId=`` (None: the latest)
    version_id: str | None = None

    def check(self, info: ObjectInfo) -> None:
        """S3 copies objects, not delete markers: a latest marker is NoSuchKey, one named by
        id is refused as a request that makes no sense."""
        if info.delete_marker:
            if self.version_id is None:
                raise errors.NoSuchKey(Key=self.key).with_headers(version_headers(info))
            raise errors.InvalidRequest(
                "The source of a copy request may not specifically refer to a delete marker "
                "by version id.")

    def headers(self, info: ObjectInfo) -> dict[str, str]:
        """``x-amz-copy-source-version-id``: S3 names the source version it copied."""
        if self.version_id is None and info.version_id == NULL_VERSION:
            return {}
        return {"x-amz-copy-source-version-id": info.version_id}


def parse_copy_source(value: str, backend: Backend) -> CopySource:
    """``bucket/key``, ``/bucket/key``, URL-encoded, maybe with ``?versionId=``."""
    source, _, query = value.partition("?")
    versions = urllib.parse.parse_qs(query, keep_blank_values=True).get("versionId")
    version_id = backend_version(backend, check_version_id(
        versions[0] if versions else None, "x-amz-copy-source"))
    source = urllib.parse.unquote(source).lstrip("/")
    bucket, _, key = source.partition("/")
    if not bucket or not key:
        raise errors.InvalidArgument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source", ArgumentValue=value,
        )
    names.check_bucket_name(bucket)
    names.check_key(key, "x-amz-copy-source")
    return CopySource(bucket, key, version_id)


def _directive(s3: S3Request, header: str) -> str:
    value = s3.headers.get(header, "COPY").upper()
    if value not in ("COPY", "REPLACE"):
        raise errors.InvalidArgument(f"Unknown {header}", ArgumentName=header, ArgumentValue=value)
    return value


async def handle_copy_object(s3: S3Request) -> web.StreamResponse:
    source = parse_copy_source(s3.headers["x-amz-copy-source"], s3.backend)
    replace_metadata = _directive(s3, "x-amz-metadata-directive") == "REPLACE"
    replace_tags = _directive(s3, "x-amz-tagging-directive") == "REPLACE"
    # Copying a named version onto its own key is how S3 users restore it: allowed.
    if (source.bucket, source.key) == (s3.bucket, s3.key) and source.version_id is None \
            and not replace_metadata and "x-amz-storage-class" not in s3.headers \
            and not encryption.requested_on_write(s3.headers):
        raise errors.InvalidRequest(
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect location "
            "or encryption attributes."
        )
    attributes = attributes_from_request(s3.headers) if replace_metadata else None
    tags = tags_from_header(s3.headers.get("x-amz-tagging")) if replace_tags else None
    await s3.backend.head_bucket(s3.bucket)
    check_conditions = conditions.copy_source_check(s3.headers)
    copied: list[ObjectInfo] = []

    def source_check(info: ObjectInfo) -> None:
        source.check(info)
        check_conditions(info)
        copied.append(info)

    lock = await write_lock(s3, lock_from_headers(s3.headers))
    info = await encryption.copy_object(
        s3, source.bucket, source.key, s3.bucket, s3.key,
        attributes=attributes, tags=tags, condition=write_condition(s3),
        source_check=source_check, source_version_id=source.version_id,
        version=new_version(), lock=lock, access=await write_access(s3),
    )
    body = xml.render("CopyObjectResult", [
        ("ETag", quote_etag(info.etag)), ("LastModified", info.last_modified),
        *checksum_children(info.checksums),
    ])
    response = xml_response(body)
    response.headers.update(version_headers(info))
    response.headers.update(encryption_headers(info.attributes.encryption))
    if copied:
        response.headers.update(source.headers(copied[0]))
    return response


HANDLERS = {"CopyObject": handle_copy_object}
