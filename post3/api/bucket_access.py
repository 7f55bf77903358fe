"""A bucket's access settings, kept as its configuration documents and read through one-second
per-process caches: object ownership (``ownership``), the public access block
(``public-access-block``), the bucket policy (``policy``) and the bucket ACL (``acl``); and the
operations that set and read them.

A bucket created now gets BucketOwnerEnforced ownership (ACLs disabled) and a public access
block with all four settings on, as AWS gives new buckets. Without a public access block
(deleted, or a bucket made before post3 kept one) nothing is blocked, as in S3. Without
ownership controls, post3 keeps ACLs disabled, as BucketOwnerEnforced does (S3 would take such
a bucket as ObjectWriter; a bucket made before post3 kept ACLs never had any, and enabling them
is left to an explicit PutBucketOwnershipControls).

The caches make a change made through another worker or host take effect there within
:data:`CACHE_SECONDS`, at once through the one that made it. That holds for revocations too
(a policy made private, a public access block turned on), which is why it is short.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aiohttp import web

from post3 import acl, errors, xml
from post3.api.body import read_xml_body
from post3.api.bucket_documents import DocumentCache
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.backend import Backend
from post3.policy import MAX_POLICY_BYTES, Policy, PolicyError, is_public, parse_policy

CACHE_SECONDS = 1.0

BUCKET_OWNER_ENFORCED = "BucketOwnerEnforced"
BUCKET_OWNER_PREFERRED = "BucketOwnerPreferred"
OBJECT_WRITER = "ObjectWriter"
OWNERSHIPS = (BUCKET_OWNER_ENFORCED, BUCKET_OWNER_PREFERRED, OBJECT_WRITER)

OWNERSHIP, PUBLIC_ACCESS_BLOCK, POLICY, ACL = "ownership", "public-access-block", "policy", "acl"

_BLOCK_FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                 "RestrictPublicBuckets")


@dataclass(frozen=True, slots=True)
class PublicAccessBlock:
    block_public_acls: bool = True
    ignore_public_acls: bool = True
    block_public_policy: bool = True
    restrict_public_buckets: bool = True

    def values(self) -> tuple[bool, bool, bool, bool]:
        return (self.block_public_acls, self.ignore_public_acls, self.block_public_policy,
                self.restrict_public_buckets)

    def to_json(self) -> str:
        return json.dumps(dict(zip(_BLOCK_FIELDS, self.values(), strict=True)))

    @classmethod
    def from_json(cls, text: str | bytes) -> PublicAccessBlock:
        data = json.loads(text)
        return cls(*(bool(data.get(name, False)) for name in _BLOCK_FIELDS))


#: What a new bucket gets: nothing public.
BLOCK_ALL = PublicAccessBlock()
#: What a bucket without the document has, as in S3.
NO_BLOCK = PublicAccessBlock(False, False, False, False)


@dataclass(frozen=True, slots=True)
class BucketAccess:
    """Everything about a bucket that an authorization decision reads."""

    ownership: str = BUCKET_OWNER_ENFORCED
    block: PublicAccessBlock = NO_BLOCK
    policy: Policy | None = None
    acl: acl.Acl = acl.PRIVATE
    #: the policy has conditions on s3:ExistingObjectTag, which need the object's tags
    policy_reads_tags: bool = False

    @property
    def acls_enabled(self) -> bool:
        return self.ownership != BUCKET_OWNER_ENFORCED


def _text(document: bytes) -> str:
    return document.decode()


_ownership = DocumentCache(OWNERSHIP, _text, CACHE_SECONDS)
_blocks = DocumentCache(PUBLIC_ACCESS_BLOCK, PublicAccessBlock.from_json, CACHE_SECONDS)
_policies = DocumentCache(POLICY, _text, CACHE_SECONDS)
_acls = DocumentCache(ACL, acl.Acl.from_json, CACHE_SECONDS)
#: each policy text parsed once, with whether it reads s3:ExistingObjectTag
_parsed: dict[tuple[str, str], tuple[Policy, bool]] = {}


async def bucket_access(backend: Backend, bucket: str, *, fresh: bool = False
                        ) -> BucketAccess:
    """The bucket's settings (NoSuchBucket if it does not exist); ``fresh`` reads storage
    (the operations that change settings check the others as they are now)."""
    if not backend.capabilities.bucket_config:
        return BucketAccess()
    ownership = await _ownership.get(backend, bucket, fresh=fresh) or BUCKET_OWNER_ENFORCED
    block = await _blocks.get(backend, bucket, fresh=fresh) or NO_BLOCK
    text = await _policies.get(backend, bucket, fresh=fresh)
    policy, reads_tags = None, False
    if text is not None:
        parsed = _parsed.get((bucket, text))
        if parsed is None:
            if len(_parsed) > 1000:
                _parsed.clear()
            parsed = _parsed[(bucket, text)] = (
                parse_policy(text, bucket), "s3:existingobjecttag/" in text.lower())
        policy, reads_tags = parsed
    bucket_acl = await _acls.get(backend, bucket, fresh=fresh) or acl.PRIVATE
    return BucketAccess(ownership, block, policy, bucket_acl, reads_tags)


async def _store(s3: S3Request, cache: DocumentCache, name: str, document: str | None) -> None:  # type: ignore[type-arg]
    await s3.backend.put_bucket_config(s3.bucket, name, document)
    cache.forget(s3.backend, s3.bucket)


async def initialize(s3: S3Request, ownership: str, bucket_acl: acl.Acl) -> None:
    """CreateBucket: the new bucket's ownership, public access block and ACL."""
    if not s3.backend.capabilities.bucket_config:
        return
    await _store(s3, _ownership, OWNERSHIP, ownership)
    await _store(s3, _blocks, PUBLIC_ACCESS_BLOCK, BLOCK_ALL.to_json())
    if bucket_acl.grants:
        await _store(s3, _acls, ACL, bucket_acl.to_json())


# --------------------------------------------------------------------------- ownership


def parse_ownership(body: bytes) -> str:
    root = xml.parse(body, "OwnershipControls")
    rules = xml.children(root, "Rule")
    value = xml.child_text(rules[0], "ObjectOwnership") if len(rules) == 1 else None
    if value not in OWNERSHIPS:
        raise errors.MalformedXML()
    return value


def ownership_header(s3: S3Request) -> str:
    """CreateBucket's ``x-amz-object-ownership`` (BucketOwnerEnforced when absent)."""
    value = s3.headers.get("x-amz-object-ownership", BUCKET_OWNER_ENFORCED)
    if value not in OWNERSHIPS:
        raise errors.InvalidArgument("Invalid x-amz-object-ownership header",
                                     ArgumentName="x-amz-object-ownership", ArgumentValue=value)
    return value


async def handle_put_ownership_controls(s3: S3Request) -> web.StreamResponse:
    ownership = parse_ownership(await read_xml_body(s3))
    if ownership == BUCKET_OWNER_ENFORCED and \
            (await bucket_access(s3.backend, s3.bucket, fresh=True)).acl.grants:
        raise errors.InvalidBucketAclWithObjectOwnership()
    await _store(s3, _ownership, OWNERSHIP, ownership)
    return web.Response(status=200)


async def handle_get_ownership_controls(s3: S3Request) -> web.StreamResponse:
    ownership = await _ownership.get(s3.backend, s3.bucket, fresh=True)
    if ownership is None:
        raise errors.OwnershipControlsNotFoundError(BucketName=s3.bucket)
    return xml_response(xml.render("OwnershipControls", [
        ("Rule", [("ObjectOwnership", ownership)])]))


async def handle_delete_ownership_controls(s3: S3Request) -> web.StreamResponse:
    await _store(s3, _ownership, OWNERSHIP, None)
    return web.Response(status=204)


# --------------------------------------------------------------------------- public access block


def parse_block(body: bytes) -> PublicAccessBlock:
    root = xml.parse(body, "PublicAccessBlockConfiguration")
    values = []
    for name in _BLOCK_FIELDS:
        text = (xml.child_text(root, name) or "false").strip().lower()
        if text not in ("true", "false"):
            raise errors.MalformedXML()
        values.append(text == "true")
    return PublicAccessBlock(*values)


async def handle_put_public_access_block(s3: S3Request) -> web.StreamResponse:
    block = parse_block(await read_xml_body(s3))
    await _store(s3, _blocks, PUBLIC_ACCESS_BLOCK, block.to_json())
    return web.Response(status=200)


async def handle_get_public_access_block(s3: S3Request) -> web.StreamResponse:
    block = await _blocks.get(s3.backend, s3.bucket, fresh=True)
    if block is None:
        raise errors.NoSuchPublicAccessBlockConfiguration(BucketName=s3.bucket)
    return xml_response(xml.render("PublicAccessBlockConfiguration", list(
        zip(_BLOCK_FIELDS, block.values(), strict=True))))


async def handle_delete_public_access_block(s3: S3Request) -> web.StreamResponse:
    await _store(s3, _blocks, PUBLIC_ACCESS_BLOCK, None)
    return web.Response(status=204)


# --------------------------------------------------------------------------- policy


async def handle_put_bucket_policy(s3: S3Request) -> web.StreamResponse:
    body = await read_xml_body(s3, MAX_POLICY_BYTES + 1)
    try:
        policy = parse_policy(body, s3.bucket)
    except PolicyError as exc:
        raise errors.MalformedPolicy(str(exc)) from None
    access = await bucket_access(s3.backend, s3.bucket, fresh=True)
    if access.block.block_public_policy and is_public(policy):
        raise errors.AccessDenied(
            "User is not authorized to put a public policy: the bucket's public access "
            "block has BlockPublicPolicy on")
    await _store(s3, _policies, POLICY, body.decode())
    return web.Response(status=204)


async def handle_get_bucket_policy(s3: S3Request) -> web.StreamResponse:
    text = await _policies.get(s3.backend, s3.bucket, fresh=True)
    if text is None:
        raise errors.NoSuchBucketPolicy(BucketName=s3.bucket)
    return web.Response(body=text.encode(), content_type="application/json")


async def handle_delete_bucket_policy(s3: S3Request) -> web.StreamResponse:
    await _store(s3, _policies, POLICY, None)
    return web.Response(status=204)


async def handle_get_bucket_policy_status(s3: S3Request) -> web.StreamResponse:
    text = await _policies.get(s3.backend, s3.bucket, fresh=True)
    if text is None:
        raise errors.NoSuchBucketPolicy(BucketName=s3.bucket)
    public = is_public(parse_policy(text, s3.bucket))
    return xml_response(xml.render("PolicyStatus", [("IsPublic", public)]))


# --------------------------------------------------------------------------- the bucket ACL


async def put_bucket_acl(s3: S3Request, bucket_acl: acl.Acl) -> None:
    await _store(s3, _acls, ACL, bucket_acl.to_json() if bucket_acl.grants else None)


HANDLERS = {
    "PutBucketOwnershipControls": handle_put_ownership_controls,
    "GetBucketOwnershipControls": handle_get_ownership_controls,
    "DeleteBucketOwnershipControls": handle_delete_ownership_controls,
    "PutPublicAccessBlock": handle_put_public_access_block,
    "GetPublicAccessBlock": handle_get_public_access_block,
    "DeletePublicAccessBlock": handle_delete_public_access_block,
    "PutBucketPolicy": handle_put_bucket_policy,
    "GetBucketPolicy": handle_get_bucket_policy,
    "DeleteBucketPolicy": handle_delete_bucket_policy,
    "GetBucketPolicyStatus": handle_get_bucket_policy_status,
}
