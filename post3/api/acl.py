"""ACLs on the wire: Get/PutBucketAcl, Get/PutObjectAcl, and the owner and ACL a write
stores (:func:`write_access`).

With the bucket's ownership BucketOwnerEnforced (the default) ACLs are disabled, as in S3:
reads answer the owner's FULL_CONTROL, and a write that asks for anything more answers
``400 AccessControlListNotSupported``; ``private``, ``bucket-owner-full-control`` and
``bucket-owner-read`` say nothing more there and are accepted (S3 documents only the second;
clients such as s3cmd send ``private`` by default). With ObjectWriter or BucketOwnerPreferred,
canned ACLs, ``x-amz-grant-*`` headers and ``AccessControlPolicy`` documents are stored and
honoured (:mod:`post3.api.authorization`), and a public one is refused while the bucket's
public access block has BlockPublicAcls on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from aiohttp import web

from post3 import acl, errors
from post3.api.body import read_xml_body
from post3.api.bucket_access import (
    BUCKET_OWNER_PREFERRED,
    BucketAccess,
    bucket_access,
    put_bucket_acl,
)
from post3.api.owners import bucket_owner, requester
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.api.versioning import head_version, requested_version
from post3.backend import ObjectAccess, ObjectAttributes, ObjectInfo
from post3.principals import ROOT, Principal

#: canned ACLs that grant nothing beyond what the bucket owner has under BucketOwnerEnforced
OWNER_ONLY = ("private", "bucket-owner-full-control", "bucket-owner-read")


def _refuse_when_disabled(headers: Mapping[str, str]) -> None:
    named = headers.get("x-amz-acl")
    if any(h in headers for h in acl.GRANT_HEADERS) or \
            (named is not None and named.strip() not in OWNER_ONLY):
        if named is not None and named.strip() not in acl.CANNED:
            raise errors.InvalidArgument(None, ArgumentName="x-amz-acl", ArgumentValue=named)
        raise errors.AccessControlListNotSupported()


def _check_public(access: BucketAccess, asked: acl.Acl) -> None:
    if asked.public and access.block.block_public_acls:
        raise errors.AccessDenied(
            "The bucket's public access block has BlockPublicAcls on: a public ACL is refused")


async def write_access(s3: S3Request, headers: Mapping[str, str] | None = None
                       ) -> ObjectAccess:
    """The owner and ACL a new object is stored with, from the write's ``x-amz-acl`` or
    ``x-amz-grant-*`` (``headers``: a POST form's fields, as headers)."""
    headers = s3.headers if headers is None else headers
    access = await bucket_access(s3.backend, s3.bucket)
    if not access.acls_enabled:
        _refuse_when_disabled(headers)
        return ObjectAccess()
    owner = await bucket_owner(s3)
    asked = acl.from_headers(headers, owner) or acl.PRIVATE
    _check_public(access, asked)
    writer = None if s3.anonymous else requester(s3)
    handed_over = access.ownership == BUCKET_OWNER_PREFERRED and \
        headers.get("x-amz-acl", "").strip() == "bucket-owner-full-control"
    object_owner = None if writer is None or writer == owner or handed_over else writer.user
    return ObjectAccess(object_owner, asked.to_json() if asked.grants else None)


async def _bucket_or_object(s3: S3Request) -> tuple[Principal, acl.Acl, ObjectInfo | None]:
    """The owner and ACL of the bucket or object the request names (it must exist)."""
    owner = await bucket_owner(s3)
    if not s3.key:
        return owner, (await bucket_access(s3.backend, s3.bucket)).acl, None
    info = await head_version(s3, s3.bucket, s3.key, requested_version(s3))
    access = info.attributes.access
    object_owner = owner if access.owner is None else Principal(access.owner)
    return object_owner, acl.Acl.from_json(access.acl or "[]"), info


async def handle_get_acl(s3: S3Request) -> web.StreamResponse:
    owner, current, _ = await _bucket_or_object(s3)
    return xml_response(acl.render(owner, current))


async def handle_put_acl(s3: S3Request) -> web.StreamResponse:
    owner, _, info = await _bucket_or_object(s3)
    access = await bucket_access(s3.backend, s3.bucket, fresh=True)
    body = await read_xml_body(s3)
    the_bucket_owner = await bucket_owner(s3)
    from_headers = acl.from_headers(s3.headers, the_bucket_owner)
    if from_headers is not None and body:
        raise errors.UnexpectedContent()
    if from_headers is not None:
        asked = from_headers
    elif body:
        # the id S3 showed for post3's owner before owners were recorded still names the root
        if owner == ROOT:
            body = body.replace(b">post3</ID>", f">{ROOT.canonical_id}</ID>".encode())
        asked = acl.parse_policy(body, owner)
    else:
        raise errors.MissingSecurityHeader(MissingHeaderName="x-amz-acl")
    if not access.acls_enabled:
        if any(g.user_id != the_bucket_owner.canonical_id for g in asked.grants):
            raise errors.AccessControlListNotSupported()
        return web.Response(status=200)
    _check_public(access, asked)
    if info is None:
        await put_bucket_acl(s3, asked)
        return web.Response(status=200)
    grants_json = asked.to_json() if asked.grants else None

    def change(current: ObjectInfo) -> ObjectAttributes:
        return replace(current.attributes,
                       access=replace(current.attributes.access, acl=grants_json))

    await s3.backend.put_object_attributes(s3.bucket, s3.key, change, info.version_id)
    return web.Response(status=200)


HANDLERS = {
    "GetBucketAcl": handle_get_acl,
    "GetObjectAcl": handle_get_acl,
    "PutBucketAcl": handle_put_acl,
    "PutObjectAcl": handle_put_acl,
}
