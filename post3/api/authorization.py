"""May this request run? One decision, made for every operation before its handler runs
(:func:`authorize`, called by :func:`post3.api.authentication.admit`).

The order, for a request by a key (or an anonymous one) on a bucket:

1. An admin key may do everything (it is the operator's).
2. An explicit ``Deny`` in the bucket's policy refuses, whoever asks.
3. The key's own grants (``post3 keys allow``: read, write, owner on the bucket) allow what
   they cover; they are the key's identity policy.
4. An ``Allow`` of the bucket policy allows (when the policy is public and the bucket's public
   access block has RestrictPublicBuckets, only for the bucket owner's keys).
5. With ACLs enabled (ownership ObjectWriter or BucketOwnerPreferred), a grant of the bucket's
   ACL (bucket operations, object writes) or of the object's ACL (object reads and ACL
   operations) allows, except public grants when the block has IgnorePublicAcls. The owner's
   own FULL_CONTROL is not a grant here: the bucket owner's keys act by their grants and the
   policy. An object owned by another user (ObjectWriter) is that user's to read and to set
   the ACL of.
6. Anything else is refused (``403 AccessDenied``).

An anonymous request (no signature at all) is a requester without a key: only a policy or ACL
that names everyone (``"Principal": "*"``, AllUsers) lets it through, never while the public
access block stands in the way. At debug level the logger ``post3.authorization`` says which
statement, grant or rule decided each request.
"""

from __future__ import annotations

import datetime as dt
import logging

from post3 import acl, errors, grants
from post3.api.bucket_access import BucketAccess, bucket_access
from post3.api.owners import bucket_owner
from post3.api.request import S3Request
from post3.backend import ObjectInfo
from post3.credentials import AccessKey
from post3.policy import (
    ANONYMOUS,
    Request,
    Requester,
    Statement,
    context,
    evaluate,
    required_action,
)
from post3.policy import is_public as policy_is_public
from post3.policy.public import grants_publicly
from post3.principals import Principal

log = logging.getLogger("post3.authorization")

#: The ACL permission each operation needs, on its bucket or (``object``) on its object.
_BUCKET_ACL = {
    **dict.fromkeys(("ListObjects", "ListObjectsV2", "ListObjectVersions",
                     "ListMultipartUploads", "HeadBucket"), acl.READ),
    **dict.fromkeys(("PutObject", "PostObject", "CopyObject", "DeleteObject", "DeleteObjects",
                     "CreateMultipartUpload", "UploadPart", "UploadPartCopy",
                     "CompleteMultipartUpload", "AbortMultipartUpload", "ListParts"),
                    acl.WRITE),
    "GetBucketAcl": acl.READ_ACP,
    "PutBucketAcl": acl.WRITE_ACP,
}
_OBJECT_ACL = {
    **dict.fromkeys(("GetObject", "HeadObject", "GetObjectAttributes"), acl.READ),
    "GetObjectAcl": acl.READ_ACP,
    "PutObjectAcl": acl.WRITE_ACP,
}


def requester_of(key: AccessKey | None) -> Requester:
    if key is None:
        return ANONYMOUS
    principal = key.principal
    return Requester(principal.canonical_id, frozenset({principal.arn}))


def _context(s3: S3Request, key: AccessKey | None, existing: ObjectInfo | None
             ) -> dict[str, tuple[str, ...]]:
    request = s3.request
    headers = s3.headers
    now = dt.datetime.now(dt.UTC)
    values: dict[str, object] = {
        "aws:SourceIp": request.remote,
        "aws:SecureTransport": request.secure,
        "aws:CurrentTime": now,
        "aws:EpochTime": int(now.timestamp()),
        "aws:UserAgent": headers.get("User-Agent"),
        "aws:Referer": headers.get("Referer"),
        "s3:prefix": s3.query.get("prefix"),
        "s3:delimiter": s3.query.get("delimiter"),
        "s3:max-keys": s3.query.get("max-keys"),
        "s3:x-amz-acl": headers.get("x-amz-acl"),
        "s3:VersionId": s3.query.get("versionId"),
    }
    for header in acl.GRANT_HEADERS:
        values[f"s3:{header}"] = headers.get(header)
    if key is not None:
        principal = key.principal
        values.update({"aws:username": principal.user, "aws:userid": principal.canonical_id,
                       "aws:PrincipalArn": principal.arn})
    tagging = headers.get("x-amz-tagging")
    if tagging:
        from post3.api.object_headers import tags_from_header

        tags = tags_from_header(tagging)
        values["s3:RequestObjectTagKeys"] = list(tags)
        values.update({f"s3:RequestObjectTag/{k}": v for k, v in tags.items()})
    if existing is not None:
        values.update({f"s3:ExistingObjectTag/{k}": v for k, v in existing.tags.items()})
    return context(values)  # type: ignore[arg-type]


async def _existing(s3: S3Request, bucket: str, key_name: str) -> ObjectInfo | None:
    """The version an object request names, for its tags and ACL (None when absent)."""
    if not key_name:
        return None
    try:
        info = await s3.backend.head_object(bucket, key_name, s3.query.get("versionId"))
    except (errors.NoSuchKey, errors.NoSuchVersion):
        return None
    return None if info.delete_marker else info


async def authorize(s3: S3Request, key: AccessKey | None, operation: str | None = None,
                    object_key: str | None = None) -> None:
    """Raise AccessDenied unless the request may run (see the module docstring).
    ``object_key``: the object a POST form names."""
    operation = operation or s3.operation
    if operation == "ListBuckets":
        if key is None:
            raise errors.AccessDenied()
        return  # any key may ask; the answer shows only the buckets it may read
    if key is not None and key.admin:
        return
    if operation == "DeleteObjects":
        await _admit_delete_objects(s3, key)
        return
    source = _copy_source(s3, operation)
    if source is not None:
        await _decide(s3, key, source[0], source[1], "GetObject")
    await _decide(s3, key, s3.bucket, s3.key if object_key is None else object_key, operation)


async def _admit_delete_objects(s3: S3Request, key: AccessKey | None) -> None:
    """S3 decides each listed key of a DeleteObjects as a DeleteObject of its own
    (:func:`authorize_listed_key`): a policy may allow some keys of a bucket and not others.
    The request itself is refused when nothing could allow any key: no grant, no policy
    statement that may allow this requester ``s3:DeleteObject``, no ACL grant of WRITE."""
    if key is not None and key.allows(s3.bucket, "write"):
        return
    try:
        access = await bucket_access(s3.backend, s3.bucket)
    except errors.NoSuchBucket:
        raise errors.AccessDenied() from None
    requester = requester_of(key)
    if access.policy is not None and any(
            st.effect == "Allow" and st.principals.include(requester) != st.not_principal
            and any(p.matches("s3:deleteobject") for p in st.actions) != st.not_action
            for st in access.policy.statements):
        return
    if access.acls_enabled and access.acl.allows(
            None if key is None else key.principal, acl.WRITE,
            ignore_public=access.block.ignore_public_acls):
        return
    raise errors.AccessDenied()


async def authorize_listed_key(s3: S3Request, object_key: str) -> None:
    """DeleteObjects: may the request delete ``object_key``? (AccessDenied: that key's
    ``<Error>``.)"""
    key = s3.identity
    if not s3.settings.auth or key is not None and key.admin:
        return
    await _decide(s3, key, s3.bucket, object_key, "DeleteObject")


def _copy_source(s3: S3Request, operation: str) -> tuple[str, str] | None:
    if operation not in ("CopyObject", "UploadPartCopy"):
        return None
    from post3.api.copy import parse_copy_source

    source = parse_copy_source(s3.headers["x-amz-copy-source"], s3.backend)
    return source.bucket, source.key


async def _decide(s3: S3Request, key: AccessKey | None, bucket: str, key_name: str,
                  operation: str) -> None:
    what = f"{operation} on {bucket}/{key_name}" if key_name else f"{operation} on {bucket}"
    who = "anonymous" if key is None else f"key {key.access_key_id} (user {key.principal.user})"
    permission = grants.required_permission(operation)
    by_grant = key is not None and permission is not None and key.allows(bucket, permission)
    try:
        access = await bucket_access(s3.backend, bucket)
    except errors.NoSuchBucket:
        # a key that may act on the name learns that it is free; nobody else learns anything
        if by_grant:
            return
        log.debug("%s: %s refused (no such bucket, no grant)", what, who)
        raise errors.AccessDenied() from None
    existing = None
    if key_name and (access.policy_reads_tags
                     or access.acls_enabled and operation in _OBJECT_ACL and not by_grant):
        existing = await _existing(s3, bucket, key_name)
    if access.policy is not None:
        decision = evaluate(access.policy, Request(
            requester_of(key), required_action(operation, versioned="versionId" in s3.query),
            f"arn:aws:s3:::{bucket}/{key_name}" if key_name else f"arn:aws:s3:::{bucket}",
            _context(s3, key, existing)))
        if decision.effect == "Deny":
            log.debug("%s: %s refused: %s", what, who, decision)
            raise errors.AccessDenied()
        if decision.effect == "Allow" and not by_grant:
            if await _restricted(s3, access, key, decision.statement):
                log.debug("%s: %s: %s, but RestrictPublicBuckets ignores public statements",
                          what, who, decision)
            else:
                log.debug("%s: %s allowed: %s", what, who, decision)
                return
    if by_grant:
        log.debug("%s: %s allowed by its grant %s:%s", what, who, bucket, key.grants.get(bucket)
                  if key is not None else "")
        return
    if access.acls_enabled:
        grant = await _acl_grant(s3, access, key, bucket, key_name, operation, existing)
        if grant is not None:
            log.debug("%s: %s allowed by the ACL grant %s", what, who, grant)
            return
    log.debug("%s: %s refused: no grant, policy statement or ACL allows it", what, who)
    raise errors.AccessDenied()


async def _restricted(s3: S3Request, access: BucketAccess, key: AccessKey | None,
                      statement: Statement | None) -> bool:
    """RestrictPublicBuckets: a public policy's public statements count only for the bucket
    owner's keys."""
    if not access.block.restrict_public_buckets or access.policy is None:
        return False
    if statement is None or not policy_is_public(access.policy) \
            or not grants_publicly(statement):
        return False
    return key is None or key.principal != await bucket_owner(s3)


async def _acl_grant(s3: S3Request, access: BucketAccess, key: AccessKey | None, bucket: str,
                     key_name: str, operation: str, existing: ObjectInfo | None
                     ) -> acl.Grant | None:
    requester: Principal | None = None if key is None else key.principal
    ignore_public = access.block.ignore_public_acls
    if key_name and operation in _OBJECT_ACL:
        if existing is None:
            return None
        if existing.attributes.access.owner is not None and requester is not None \
                and existing.attributes.access.owner == requester.user:
            return acl.Grant(acl.FULL_CONTROL, requester.canonical_id)  # its owner's
        object_acl = acl.Acl.from_json(existing.attributes.access.acl or "[]")
        return object_acl.allows(requester, _OBJECT_ACL[operation], ignore_public=ignore_public)
    permission = _BUCKET_ACL.get(operation)
    if permission is None:
        return None
    return access.acl.allows(requester, permission, ignore_public=ignore_public)
