"""CopyObject."""

from __future__ import annotations

import urllib.parse

from aiohttp import web

from post3 import conditions, errors, names, xml
from post3.api.acl import check_canned_acl
from post3.api.object_headers import (
    attributes_from_request,
    checksum_children,
    quote_etag,
    tags_from_header,
)
from post3.api.put import write_condition
from post3.api.request import S3Request
from post3.api.responses import xml_response


def parse_copy_source(value: str) -> tuple[str, str]:
    """``bucket/key``, ``/bucket/key``, URL-encoded, maybe with ``?versionId=``."""
    source, _, query = value.partition("?")
    version = urllib.parse.parse_qs(query).get("versionId", ["null"])[0]
    if version != "null":
        # Buckets are unversioned: "null" is the only version there is.
        raise errors.NoSuchVersion(VersionId=version)
    source = urllib.parse.unquote(source).lstrip("/")
    bucket, _, key = source.partition("/")
    if not bucket or not key:
        raise errors.InvalidArgument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source", ArgumentValue=value,
        )
    names.check_bucket_name(bucket)
    names.check_key(key, "x-amz-copy-source")
    return bucket, key


def _directive(s3: S3Request, header: str) -> str:
    value = s3.headers.get(header, "COPY").upper()
    if value not in ("COPY", "REPLACE"):
        raise errors.InvalidArgument(f"Unknown {header}", ArgumentName=header, ArgumentValue=value)
    return value


async def handle_copy_object(s3: S3Request) -> web.StreamResponse:
    src_bucket, src_key = parse_copy_source(s3.headers["x-amz-copy-source"])
    check_canned_acl(s3.headers.get("x-amz-acl"))
    replace_metadata = _directive(s3, "x-amz-metadata-directive") == "REPLACE"
    replace_tags = _directive(s3, "x-amz-tagging-directive") == "REPLACE"
    if (src_bucket, src_key) == (s3.bucket, s3.key) and not replace_metadata \
            and "x-amz-storage-class" not in s3.headers:
        raise errors.InvalidRequest(
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect location "
            "or encryption attributes."
        )
    attributes = attributes_from_request(s3.headers) if replace_metadata else None
    tags = tags_from_header(s3.headers.get("x-amz-tagging")) if replace_tags else None
    await s3.backend.head_bucket(s3.bucket)
    info = await s3.backend.copy_object(
        src_bucket, src_key, s3.bucket, s3.key,
        attributes=attributes, tags=tags, condition=write_condition(s3),
        source_check=conditions.copy_source_check(s3.headers),
    )
    body = xml.render("CopyObjectResult", [
        ("ETag", quote_etag(info.etag)), ("LastModified", info.last_modified),
        *checksum_children(info.checksums),
    ])
    return xml_response(body)


HANDLERS = {"CopyObject": handle_copy_object}
