"""ACLs: post3 keeps no ACLs, so every resource has its owner's FULL_CONTROL and nothing else.

Clients ask anyway (s3cmd reads ``?acl`` for every ``info``, and sets ``private``), so reads
answer that policy and writes accept exactly that policy; a grant post3 cannot honour is
``NotImplemented``, never silently dropped.
"""

from __future__ import annotations

from aiohttp import web

from post3 import errors, xml
from post3.api.body import read_xml_body
from post3.api.request import S3Request
from post3.api.responses import OWNER, xml_response
from post3.api.versioning import head_version, requested_version

_CANNED_OK = {"private", "bucket-owner-full-control", "bucket-owner-read"}
#: Every canned ACL S3 knows; any other ``x-amz-acl`` value is the client's mistake.
_CANNED_ALL = _CANNED_OK | {"public-read", "public-read-write", "authenticated-read",
                            "aws-exec-read", "log-delivery-write"}
_GRANT_HEADERS = ("x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp",
                  "x-amz-grant-write-acp", "x-amz-grant-full-control")


def owner_policy() -> bytes:
    grantee = ("Grantee", OWNER, {"xmlns:xsi": xml.XSI, "xsi:type": "CanonicalUser"})
    return xml.render("AccessControlPolicy", [
        ("Owner", OWNER),
        ("AccessControlList", [("Grant", [grantee, ("Permission", "FULL_CONTROL")])]),
    ])


async def _check_exists(s3: S3Request) -> None:
    if s3.key:
        await head_version(s3, s3.bucket, s3.key, requested_version(s3))
    else:
        await s3.backend.head_bucket(s3.bucket)


async def handle_get_acl(s3: S3Request) -> web.StreamResponse:
    await _check_exists(s3)
    return xml_response(owner_policy())


def check_canned_acl(value: str | None) -> None:
    """``x-amz-acl`` on a write: only ACLs equivalent to "owner only" are honoured; a value
    that names no canned ACL is ``InvalidArgument`` (400), as S3 answers."""
    if value is not None and value not in _CANNED_ALL:
        raise errors.InvalidArgument(None, ArgumentName="x-amz-acl", ArgumentValue=value)
    if value is not None and value not in _CANNED_OK:
        raise errors.NotImplemented(f"post3 keeps no ACLs; the canned ACL {value!r} cannot be "
                                    "honoured (only 'private' is)", Header="x-amz-acl")


async def handle_put_acl(s3: S3Request) -> web.StreamResponse:
    await _check_exists(s3)
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
            if permission != "FULL_CONTROL" or grantee_ids != ["post3"]:
                raise errors.NotImplemented("post3 keeps no ACLs; only the owner's "
                                            "FULL_CONTROL grant can be set")
    return web.Response(status=200)


HANDLERS = {
    "GetBucketAcl": handle_get_acl,
    "GetObjectAcl": handle_get_acl,
    "PutBucketAcl": handle_put_acl,
    "PutObjectAcl": handle_put_acl,
}
