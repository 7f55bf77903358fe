"""PostObject: browser uploads, ``POST /bucket`` as multipart/form-data with a signed policy
(what boto3's ``generate_presigned_post`` prepares).

The fields before ``file`` are read (they are small), the policy's signature and conditions are
checked, then the file streams into the backend like any PutObject body; its size is checked
against the policy's ``content-length-range`` as it streams and at its end, before anything is
committed.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import replace

from aiohttp import BodyPartReader, web

from post3 import checksums, errors, names, xml
from post3.api.acl import write_access
from post3.api.object_headers import attributes_from_request, checksum_headers, quote_etag
from post3.api.object_lock import write_lock
from post3.api.request import PostForm, S3Request
from post3.api.responses import xml_response
from post3.api.versioning import version_headers
from post3.auth import PostPolicy
from post3.backend import Checksums
from post3.encryption import service as encryption
from post3.encryption.headers import response_headers as encryption_headers
from post3.object_lock import lock_from_headers
from post3.payload import PayloadStream
from post3.versioning import new_version

#: All the form fields but the file, together (S3 caps the form fields at 20 KB).
MAX_FIELDS_SIZE = 20 * 1024
CHUNK = 1 << 20


async def read_form(s3: S3Request) -> PostForm:
    """The form fields up to the file (read once, when the request is admitted)."""
    if s3.form is not None:
        return s3.form
    if not s3.headers.get("Content-Type", "").lower().startswith("multipart/form-data"):
        raise errors.PreconditionFailed(
            "Bucket POST must be of the enclosure-type multipart/form-data",
            Condition="Bucket POST must be of the enclosure-type multipart/form-data")
    reader = await s3.request.multipart()
    fields: dict[str, str] = {}
    total = 0
    while True:
        part = await reader.next()
        if part is None:
            raise errors.InvalidArgument("POST requires exactly one file upload per request.",
                                         ArgumentName="file", ArgumentValue="0")
        if not isinstance(part, BodyPartReader) or not part.name:
            raise errors.MalformedPOSTRequest()
        if part.name.lower() == "file":
            # The policy's conditions see the key the object gets, ${filename} replaced.
            for name in fields:
                if name.lower() == "key":
                    fields[name] = fields[name].replace("${filename}", part.filename or "")
            s3.form = PostForm(fields, part)
            return s3.form
        value = (await part.read(decode=False)).decode("utf-8", "replace")
        total += len(part.name) + len(value)
        if total > MAX_FIELDS_SIZE:
            raise errors.MaxPostPreDataLengthExceeded()
        fields[part.name] = value


def form_checksum(fields: dict[str, str]) -> tuple[str | None, str | None]:
    """``(algorithm, expected value)`` from the form's ``x-amz-checksum-<alg>`` and
    ``x-amz-checksum-algorithm`` fields (lower-cased names), checked as the same headers are
    on a PutObject."""
    values = {checksums.algorithm_of_header(name): value for name, value in fields.items()
              if name.startswith(checksums.HEADER_PREFIX)
              and name not in checksums.NOT_VALUE_HEADERS}
    named = fields.get("x-amz-checksum-algorithm")
    algorithm = checksums.normalize(named) if named is not None else None
    if len(values) > 1 or (values and algorithm is not None and algorithm not in values):
        raise errors.InvalidRequest(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
    if not values:
        return algorithm, None
    ((name, value),) = values.items()
    assert name is not None
    checksums.decode_value(name, value, what="form field")
    return name, value


async def file_chunks(part: BodyPartReader, policy: PostPolicy | None, max_size: int,
                      checksum: tuple[str, str] | None = None) -> AsyncIterator[bytes]:
    """The file's bytes, refused as soon as they exceed a limit, and at their end if they fall
    short of the policy's minimum or do not match the form's checksum, so a backend never
    commits a refused upload."""
    limit = max_size if policy is None or policy.max_size is None else min(max_size,
                                                                           policy.max_size)
    hasher = checksums.new(checksum[0]) if checksum is not None else None
    size = 0
    while chunk := await part.read_chunk(CHUNK):
        size += len(chunk)
        if size > limit:
            raise errors.EntityTooLarge(MaxSizeAllowed=limit)
        if hasher is not None:
            hasher.update(chunk)
        yield chunk
    if policy is not None:
        policy.check_size(size)
    if checksum is not None and hasher is not None \
            and checksums.b64(hasher.digest()) != checksum[1]:
        raise errors.BadDigest(
            f"The {checksum[0].upper()} you specified did not match the calculated checksum.")


async def handle_post_object(s3: S3Request) -> web.StreamResponse:
    s3.check_admitted()
    form = await read_form(s3)
    fields, file_part, policy = form.fields, form.file, form.policy
    lowered = {name.lower(): value for name, value in fields.items()}
    if "key" not in lowered:
        raise errors.InvalidArgument("Bucket POST must contain a field named 'key'.  If it is "
                                     "specified, please check the order of the fields.",
                                     ArgumentName="key", ArgumentValue="")
    key = lowered["key"]
    names.check_key(key)
    algorithm, expected = form_checksum(lowered)
    attributes = attributes_from_request(
        lowered, default_content_type=file_part.headers.get("Content-Type"))
    if algorithm and expected is not None:
        # Verified by file_chunks before the body ends, so it is the value to store.
        attributes = replace(attributes, checksums=Checksums({algorithm: expected}))
    attributes = replace(
        attributes, lock=await write_lock(s3, lock_from_headers(lowered)),
        # a form names its canned ACL "acl" (and its grants as the headers do)
        access=await write_access(s3, {**lowered, **({"x-amz-acl": lowered["acl"]}
                                                    if "acl" in lowered else {})}))
    chunks = file_chunks(file_part, policy, s3.settings.max_put_size,
                         (algorithm, expected) if algorithm and expected else None)
    body = PayloadStream.from_iterable(
        chunks, checksum_algorithms=[algorithm] if algorithm and expected is None else [],
        slots=s3.upload_slots)
    sealer = await encryption.for_write(s3, lowered)
    if sealer is not None:
        body, attributes = sealer.seal(body), sealer.attach(attributes)
    info = await s3.backend.put_object(s3.bucket, key, body, attributes=attributes,
                                       version=new_version())

    bucket_path = "" if s3.virtual_host else f"/{s3.bucket}"
    location = f"{s3.request.scheme}://{s3.request.host}{bucket_path}/" + \
        urllib.parse.quote(key, safe="/~")
    headers = {"ETag": quote_etag(info.etag), "Location": location, **version_headers(info)}
    headers.update(checksum_headers(info.checksums))
    headers.update(encryption_headers(info.attributes.encryption))
    redirect = lowered.get("success_action_redirect") or lowered.get("redirect")
    if redirect and _is_redirect_url(redirect):
        query = urllib.parse.urlencode({"bucket": s3.bucket, "key": key,
                                        "etag": quote_etag(info.etag)})
        separator = "&" if "?" in redirect else "?"
        return web.Response(status=303, headers={**headers,
                                                 "Location": f"{redirect}{separator}{query}"})
    status = lowered.get("success_action_status", "204")
    if status == "201":
        response = xml_response(xml.render("PostResponse", [
            ("Location", location), ("Bucket", s3.bucket), ("Key", key),
            ("ETag", quote_etag(info.etag))]), status=201)
        response.headers.update(headers)
        return response
    return web.Response(status=200 if status == "200" else 204, headers=headers)


def _is_redirect_url(value: str) -> bool:
    """An absolute http(s) URL with a host: S3 ignores a redirect it cannot interpret, and
    answers as if the field were absent."""
    try:
        parts = urllib.parse.urlsplit(value.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


HANDLERS = {"PostObject": handle_post_object}
