"""ACLs: post3 keeps no ACLs, so every resource has its owner's FULL_CONTROL and nothing else
(the owner of a bucket, :mod:`post3.api.owners`, owns its objects too).

Clients ask anyway (s3cmd reads ``?acl`` for every ``info``, and sets ``private``), so reads
answer that policy and writes accept exactly that policy; a grant post3 cannot honour is
``NotImplemented``, never silently dropped.
"""

from __future__ import annotations

from aiohttp import web

from post3 import errors, xml
from post3.api.body import read_xml_body
from post3.api.owners import bucket_owner
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.api.versioning import head_version, requested_version
from post3.principals import ROOT, Principal

_CANNED_OK = {"private", "bucket-owner-full-control", "bucket-owner-read"}
#: Every canned ACL S3 knows; any other ``x-amz-acl`` value is the client's mistake.
_CANNED_ALL = _CANNED_OK | {"public-read", "public-read-write", "authenticated-read",
                            "aws-exec-read", "log-delivery-write"}
_GRANT_HEADERS = ("x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp",
                  "x-amz-grant-write-acp", "x-amz-grant-full-control")


def owner_policy(owner: Principal) -> bytes:
    grantee = ("Grantee", owner.owner_xml(), {"xmlns:xsi": xml.XSI, "xsi:type": "CanonicalUser"})
    return xml.render("AccessControlPolicy", [
        ("Owner", owner.owner_xml()),
        ("AccessControlList", [("Grant", [grantee, ("Permission", "FULL_CONTROL")])]),
    ])


async def _owner_of_target(s3: S3Request) -> Principal:
    """The owner of the bucket or object the request names (it must exist)."""
    if s3.key:
        await head_version(s3, s3.bucket, s3.key, requested_version(s3))
    return await bucket_owner(s3)


async def handle_get_acl(s3: S3Request) -> web.StreamResponse:
    return xml_response(owner_policy(await _owner_of_target(s3)))


def check_canned_acl(value: str | None) -> None:
    """``x-amz-acl`` on a write: only ACLs equivalent to "owner only" are honoured; a value
    that names no canned ACL is ``InvalidArgument`` (400), as S3 answers."""
    if value is not None and value not in _CANNED_ALL:
        raise errors.InvalidArgument(None, ArgumentName="x-amz-acl", ArgumentValue=value)
    if value is not None and value not in _CANNED_OK:
        raise errors.NotImplemented(f"post3 keeps no ACLs; the canned ACL {value!r} cannot be "
                                    "honoured (only 'private' is)", Header="x-amz-acl")


async def handle_put_acl(s3: S3Request) -> web.StreamResponse:
    owner = await _owner_of_target(s3)
    # the id S3 showed before owners were recorded names the root user still
    owner_ids = [owner.canonical_id, *(["post3"] if owner == ROOT else [])]
    check_canned_acl(s3.headers.get("x-amz-acl"))
    for header in _GRANT_HEADERS:
        if header in s3.headers:
            raise errors.NotImplemented("post3 keeps no ACLs; grants cannot be honoured",
                                        Header=header)
    body = await read_xml_body(s3)
    if body:
        policy = xml.parse(body, "AccessControlPolicy")
        grants = [g for acl in xml.children(policy, "AccessControlList")
                  for g in xml.children(acl, "Grant")]
        for grant in grants:
            permission = xml.child_text(grant, "Permission")
            grantee_ids = [xml.child_text(g, "ID") for g in xml.children(grant, "Grantee")]
            if permission != "FULL_CONTROL" or len(grantee_ids) != 1 \
                    or grantee_ids[0] not in owner_ids:
                raise errors.NotImplemented("post3 keeps no ACLs; only the owner's "
                                            "FULL_CONTROL grant can be set")
    return web.Response(status=200)


HANDLERS = {
    "GetBucketAcl": handle_get_acl,
    "GetObjectAcl": handle_get_acl,
    "PutBucketAcl": handle_put_acl,
    "PutObjectAcl": handle_put_acl,
}
