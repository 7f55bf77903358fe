"""Multipart upload: CreateMultipartUpload, UploadPart, UploadPartCopy,
CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import replace

from aiohttp import web

from post3 import conditions, errors, listing, multipart, xml
from post3.api.acl import write_access
from post3.api.body import read_xml_body
from post3.api.copy import parse_copy_source
from post3.api.object_headers import (
    attributes_from_request,
    checksum_children,
    quote_etag,
    tags_from_header,
)
from post3.api.object_lock import bucket_lock, completed_lock, write_lock
from post3.api.owners import bucket_owner
from post3.api.put import write_condition
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.api.versioning import version_headers
from post3.backend import Checksums, ObjectInfo, PartInfo, UploadCursor, UploadInfo
from post3.encryption import service as encryption
from post3.encryption.headers import response_headers as encryption_headers
from post3.object_lock import lock_from_headers
from post3.payload import PayloadStream
from post3.ranges import parse_range
from post3.versioning import new_version

MAX_PARTS_LISTED = 1000
MAX_UPLOADS_LISTED = 1000


def _checksum_children(values: Mapping[str, str]) -> list[xml.Child]:
    return [(f"Checksum{name.upper()}", value) for name, value in values.items()]


def _checksum_headers(part: PartInfo) -> dict[str, str]:
    return {f"x-amz-checksum-{name}": value for name, value in part.checksums.items()}


async def handle_create_multipart_upload(s3: S3Request) -> web.StreamResponse:
    attributes = replace(attributes_from_request(s3.headers), access=await write_access(s3))
    settings = multipart.checksum_settings(s3.headers)
    algorithm, kind = settings if settings is not None else (None, None)
    attributes = replace(attributes, checksums=Checksums({}, kind))
    tags = tags_from_header(s3.headers.get("x-amz-tagging"))
    asked = lock_from_headers(s3.headers)
    if asked is not None:
        await write_lock(s3, asked)  # refused in a bucket without object lock
        # a default retention is counted from the completion (completed_lock)
        attributes = replace(attributes, lock=asked)
    sealer = await encryption.for_write(s3)
    if sealer is not None:
        attributes = sealer.attach(attributes)
    upload = await s3.backend.create_multipart_upload(
        s3.bucket, s3.key, attributes=attributes, tags=tags, checksum_algorithm=algorithm)
    headers = encryption_headers(attributes.encryption)
    if algorithm is not None and kind is not None:
        headers["x-amz-checksum-algorithm"] = algorithm.upper()
        headers["x-amz-checksum-type"] = kind
    body = xml.render("InitiateMultipartUploadResult", [
        ("Bucket", s3.bucket), ("Key", s3.key), ("UploadId", upload.upload_id)])
    response = xml_response(body)
    response.headers.update(headers)
    return response


async def handle_upload_part(s3: S3Request) -> web.StreamResponse:
    number = multipart.parse_part_number(s3.query.get("partNumber"))
    upload_id = s3.query["uploadId"]
    # Refuse an unknown upload before reading a possibly large body.
    upload = await s3.backend.get_multipart_upload(s3.bucket, s3.key, upload_id)
    sealer = encryption.for_part(s3, upload.attributes.encryption)
    body = s3.payload(max_size=s3.settings.max_put_size)
    if sealer is not None:
        body = sealer.seal(body, number)
    part = await s3.backend.upload_part(s3.bucket, s3.key, upload_id, number, body)
    return web.Response(status=200, headers={"ETag": quote_etag(part.etag),
                                             **_checksum_headers(part),
                                             **encryption_headers(upload.attributes.encryption)})


async def handle_upload_part_copy(s3: S3Request) -> web.StreamResponse:
    number = multipart.parse_part_number(s3.query.get("partNumber"))
    upload_id = s3.query["uploadId"]
    upload = await s3.backend.get_multipart_upload(s3.bucket, s3.key, upload_id)
    sealer = encryption.for_part(s3, upload.attributes.encryption)
    copy_source = parse_copy_source(s3.headers["x-amz-copy-source"], s3.backend)
    range_header = s3.headers.get("x-amz-copy-source-range")
    byte_range = None
    if range_header is not None:
        byte_range = parse_range(range_header)
        if byte_range is None or byte_range.first is None or byte_range.last is None:
            raise errors.InvalidArgument(
                "The x-amz-copy-source-range value must be of the form bytes=first-last where "
                "first and last are the zero-based offsets of the first and last bytes to copy",
                ArgumentName="x-amz-copy-source-range", ArgumentValue=range_header,
            )
    source = await encryption.open_object(s3, copy_source.bucket, copy_source.key, byte_range,
                                          copy_source.version_id, source=True)
    try:
        copy_source.check(source.info)
        if byte_range is not None and byte_range.last is not None \
                and byte_range.last >= source.info.size:
            raise errors.InvalidRange(ActualObjectSize=source.info.size)
        conditions.copy_source_check(s3.headers)(source.info)
        body = PayloadStream.from_iterable(aiter(source), size=source.length)
        if sealer is not None:
            body = sealer.seal(body, number)
        part = await s3.backend.upload_part(s3.bucket, s3.key, upload_id, number, body)
    finally:
        await source.aclose()
    response = xml_response(xml.render("CopyPartResult", [
        ("ETag", quote_etag(part.etag)), ("LastModified", part.last_modified),
        *_checksum_children(part.checksums),
    ]))
    response.headers.update(copy_source.headers(source.info))
    response.headers.update(encryption_headers(upload.attributes.encryption))
    return response


async def handle_complete_multipart_upload(s3: S3Request) -> web.StreamResponse:
    upload_id = s3.query["uploadId"]
    try:
        upload = await s3.backend.get_multipart_upload(s3.bucket, s3.key, upload_id)
    except errors.NoSuchUpload:
        return await _answer_retried_completion(s3, upload_id, None)
    requested = multipart.parse_complete(await read_xml_body(s3, body_checksums=False))
    stored = await s3.backend.list_parts(s3.bucket, s3.key, upload_id)
    parts = multipart.select_parts(requested, stored)
    info = encryption.completed(multipart.completed_info(upload, parts), parts)
    multipart.check_expected_checksum(s3.headers, info)
    lock = completed_lock(await bucket_lock(s3), info.attributes.lock, info)
    info = replace(info, attributes=replace(info.attributes, lock=lock))
    try:
        info = await s3.backend.complete_multipart_upload(
            s3.bucket, s3.key, upload_id, parts, info, write_condition(s3),
            version=new_version())
    except errors.NoSuchUpload:
        # Completed meanwhile by a concurrent request (a client's retry).
        return await _answer_retried_completion(s3, upload_id, requested)
    return _completion_result(s3, info)


async def _answer_retried_completion(s3: S3Request, upload_id: str,
                                     requested: list[multipart.RequestedPart] | None
                                     ) -> web.StreamResponse:
    """S3 answers a CompleteMultipartUpload of an upload that was already completed with the
    same parts as it answered the first one (200, same ETag): a client whose first answer was
    lost retries. Anything else is NoSuchUpload."""
    try:
        info = await s3.backend.head_object(s3.bucket, s3.key)
    except errors.NoSuchKey:
        raise errors.NoSuchUpload() from None
    if not multipart.completed_upload(info, upload_id):
        raise errors.NoSuchUpload()
    if requested is None:
        try:
            requested = multipart.parse_complete(await read_xml_body(s3, body_checksums=False))
        except errors.MalformedXML:
            raise errors.NoSuchUpload() from None
    if not multipart.completed_from(info, upload_id, requested):
        raise errors.NoSuchUpload()
    return _completion_result(s3, info)


def _completion_result(s3: S3Request, info: ObjectInfo) -> web.StreamResponse:
    location = f"{s3.request.scheme}://{s3.request.host}/{s3.bucket}/" + \
        urllib.parse.quote(s3.key, safe="/~")
    response = xml_response(xml.render("CompleteMultipartUploadResult", [
        ("Location", location), ("Bucket", s3.bucket), ("Key", s3.key),
        ("ETag", quote_etag(info.etag)), *checksum_children(info.checksums),
    ]))
    response.headers.update(version_headers(info))
    response.headers.update(encryption_headers(info.attributes.encryption))
    return response


async def handle_abort_multipart_upload(s3: S3Request) -> web.StreamResponse:
    await s3.backend.abort_multipart_upload(s3.bucket, s3.key, s3.query["uploadId"])
    return web.Response(status=204)


def _bounded(value: str | None, name: str, maximum: int) -> int:
    if value is None or value == "":
        return maximum
    if not value.isdigit():
        raise errors.InvalidArgument(f"Provided {name} not an integer or within integer range",
                                     ArgumentName=name, ArgumentValue=value)
    return min(int(value), maximum)


async def handle_list_parts(s3: S3Request) -> web.StreamResponse:
    upload_id = s3.query["uploadId"]
    upload = await s3.backend.get_multipart_upload(s3.bucket, s3.key, upload_id)
    max_parts = _bounded(s3.query.get("max-parts"), "max-parts", MAX_PARTS_LISTED)
    marker = _bounded(s3.query.get("part-number-marker"), "part-number-marker",
                      multipart.MAX_PART_NUMBER) if s3.query.get("part-number-marker") else 0
    parts = [p for p in await s3.backend.list_parts(s3.bucket, s3.key, upload_id)
             if p.part_number > marker]
    page, truncated = parts[:max_parts], len(parts) > max_parts
    algorithm = upload.checksum_algorithm
    # post3 does not record who initiated an upload: the owner of what it will make
    owner = (await bucket_owner(s3)).owner_xml()
    children: list[xml.Child] = [
        ("Bucket", s3.bucket), ("Key", s3.key), ("UploadId", upload_id),
        ("Initiator", owner), ("Owner", owner),
        ("StorageClass", upload.attributes.storage_class),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", page[-1].part_number if page else marker),
        ("MaxParts", max_parts), ("IsTruncated", truncated),
        ("ChecksumAlgorithm", algorithm.upper() if algorithm else None),
        ("ChecksumType", upload.attributes.checksums.type),
    ]
    for part in page:
        children.append(("Part", [
            ("PartNumber", part.part_number), ("LastModified", part.last_modified),
            ("ETag", quote_etag(part.etag)), ("Size", part.size),
            *_checksum_children(part.checksums),
        ]))
    return xml_response(xml.render("ListPartsResult", children))


async def handle_list_multipart_uploads(s3: S3Request) -> web.StreamResponse:
    prefix = s3.query.get("prefix", "")
    delimiter = s3.query.get("delimiter", "")
    key_marker = s3.query.get("key-marker", "")
    upload_id_marker = s3.query.get("upload-id-marker", "") if key_marker else ""
    cursor = multipart.uploads_cursor(key_marker, upload_id_marker, prefix, delimiter)
    max_uploads = _bounded(s3.query.get("max-uploads"), "max-uploads", MAX_UPLOADS_LISTED)
    encode = (lambda v: urllib.parse.quote(v, safe="/")) \
        if s3.query.get("encoding-type") == "url" else (lambda v: v)
    await s3.backend.head_bucket(s3.bucket)

    uploads: list[UploadInfo] = []
    prefixes: list[str] = []
    truncated, last_returned = False, ""
    while not truncated:
        page = await s3.backend.list_multipart_uploads_page(
            s3.bucket, prefix=prefix, after=cursor, limit=max_uploads + 1)
        for upload in page:
            group = listing.common_prefix(upload.key, prefix, delimiter)
            if group is not None and prefixes and prefixes[-1] == group:
                continue
            if len(uploads) + len(prefixes) >= max_uploads:
                truncated = True
                break
            if group is not None:
                prefixes.append(group)
                last_returned = group
            else:
                uploads.append(upload)
                last_returned = upload.key
        if len(page) <= max_uploads:
            break
        cursor = UploadCursor.after(page[-1])

    # When the page ends on a common prefix, the key marker alone skips past it.
    ends_on_upload = truncated and uploads and last_returned == uploads[-1].key
    next_upload_id = uploads[-1].upload_id if ends_on_upload else None
    children: list[xml.Child] = [
        ("Bucket", s3.bucket), ("KeyMarker", encode(key_marker)),
        ("UploadIdMarker", upload_id_marker),
        ("NextKeyMarker", encode(last_returned) if truncated else None),
        ("NextUploadIdMarker", next_upload_id),
        ("Prefix", encode(prefix)), ("Delimiter", encode(delimiter) if delimiter else None),
        ("MaxUploads", max_uploads), ("EncodingType", s3.query.get("encoding-type")),
        ("IsTruncated", truncated),
    ]
    owner = (await bucket_owner(s3)).owner_xml()
    for upload in uploads:
        children.append(("Upload", [
            ("Key", encode(upload.key)), ("UploadId", upload.upload_id),
            ("Initiator", owner), ("Owner", owner),
            ("StorageClass", upload.attributes.storage_class),
            ("Initiated", upload.initiated),
        ]))
    children.extend(("CommonPrefixes", [("Prefix", encode(p))]) for p in prefixes)
    return xml_response(xml.render("ListMultipartUploadsResult", children))


HANDLERS = {
    "CreateMultipartUpload": handle_create_multipart_upload,
    "UploadPart": handle_upload_part,
    "UploadPartCopy": handle_upload_part_copy,
    "CompleteMultipartUpload": handle_complete_multipart_upload,
    "AbortMultipartUpload": handle_abort_multipart_upload,
    "ListParts": handle_list_parts,
    "ListMultipartUploads": handle_list_multipart_uploads,
}
