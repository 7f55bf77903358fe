"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation."""

from __future__ import annotations

from aiohttp import web

from post3 import acl, errors, listing, xml
from post3.api import authentication, bucket_access, known_buckets, object_lock
from post3.api.body import read_xml_body
from post3.api.owners import bucket_owner, record_owner, requester
from post3.api.request import S3Request
from post3.api.responses import xml_response

#: S3's largest ListBuckets page (``max-buckets`` is 1 to 10,000).
MAX_BUCKETS = 10_000


def _max_buckets(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_BUCKETS:
        raise errors.InvalidArgument(
            f"Argument max-buckets must be an integer between 1 and {MAX_BUCKETS}",
            ArgumentName="max-buckets", ArgumentValue=value)
    return int(value)


async def handle_list_buckets(s3: S3Request) -> web.StreamResponse:
    """Every bucket the key may read, in name order; paged when the client asks
    (``max-buckets``, ``continuation-token``), filtered by ``prefix`` and ``bucket-region``."""
    limit = _max_buckets(s3.query.get("max-buckets"))
    token = s3.query.get("continuation-token")
    after = listing.decode_token(token) if token else ""
    prefix = s3.query.get("prefix", "")
    region = s3.query.get("bucket-region")
    buckets = await s3.backend.list_buckets()
    visible = set(authentication.visible_buckets(s3, [b.name for b in buckets]))
    buckets = [b for b in buckets if b.name in visible and b.name.startswith(prefix)
               and b.name > after]
    if region is not None and region != s3.settings.region:
        buckets = []  # every bucket lives in post3's one region
    next_token = None
    if limit is not None and len(buckets) > limit:
        buckets = buckets[:limit]
        next_token = listing.encode_token(buckets[-1].name)
    children: list[xml.Child] = [
        ("Owner", requester(s3).owner_xml()),
        (
            "Buckets",
            [
                ("Bucket", [("Name", b.name), ("CreationDate", b.created),
                            ("BucketRegion", s3.settings.region)])
                for b in buckets
            ],
        ),
        ("ContinuationToken", next_token),
    ]
    if prefix:
        children.append(("Prefix", prefix))
    return xml_response(xml.render("ListAllMyBucketsResult", children))


async def handle_create_bucket(s3: S3Request) -> web.StreamResponse:
    ownership = bucket_access.ownership_header(s3)
    bucket_acl = acl.from_headers(s3.headers, requester(s3)) or acl.PRIVATE
    if bucket_acl.grants and ownership == bucket_access.BUCKET_OWNER_ENFORCED:
        raise errors.InvalidBucketAclWithObjectOwnership()
    if bucket_acl.public:
        # a new bucket's public access block is on (as AWS makes it): no public ACL
        raise errors.AccessDenied("A new bucket's public access block refuses a public ACL")
    body = await read_xml_body(s3)
    if body:
        config = xml.parse(body, "CreateBucketConfiguration")
        constraint = xml.child_text(config, "LocationConstraint") or ""
        # A single-region server: the configured region, and us-east-1 (which s3fs sends
        # whenever a region is set) are both this server's region.
        if constraint not in ("", "us-east-1", s3.settings.region):
            raise errors.IllegalLocationConstraintException(
                f"The {constraint} location constraint is incompatible for the region "
                "specific endpoint this request was sent to."
            )
    locked = s3.headers.get("x-amz-bucket-object-lock-enabled", "").lower() == "true"
    if locked:
        capabilities = s3.backend.capabilities
        if not (capabilities.versioning and capabilities.bucket_config):
            raise errors.NotImplemented(
                f"Object lock needs versioning, which the {s3.backend.name} backend does not "
                "support", Header="x-amz-bucket-object-lock-enabled")
    try:
        await s3.backend.create_bucket(s3.bucket)
    except errors.BucketAlreadyOwnedByYou:
        if await bucket_owner(s3) != requester(s3):
            raise errors.BucketAlreadyExists(BucketName=s3.bucket) from None
        # S3 keeps us-east-1's legacy answer: creating a bucket you already own succeeds and
        # changes nothing (its objects stay). Every other region answers 409, and so does a
        # request for object lock: success would say the existing bucket has it.
        if s3.settings.region != "us-east-1" or locked:
            raise
    else:
        await record_owner(s3)
        await bucket_access.initialize(s3, ownership, bucket_acl)
        if locked:
            await object_lock.enable(s3)
    return web.Response(status=200, headers={"Location": f"/{s3.bucket}"})


async def handle_head_bucket(s3: S3Request) -> web.StreamResponse:
    await s3.backend.head_bucket(s3.bucket)
    return web.Response(
        status=200,
        headers={"x-amz-bucket-region": s3.settings.region, "x-amz-access-point-alias": "false"},
    )


async def handle_delete_bucket(s3: S3Request) -> web.StreamResponse:
    await s3.backend.delete_bucket(s3.bucket)
    known_buckets.forget(s3.backend, s3.bucket)
    return web.Response(status=204)


async def handle_get_bucket_location(s3: S3Request) -> web.StreamResponse:
    await s3.backend.head_bucket(s3.bucket)
    # S3 answers an empty LocationConstraint for us-east-1.
    region = "" if s3.settings.region == "us-east-1" else s3.settings.region
    return xml_response(xml.render_value("LocationConstraint", region))


HANDLERS = {
    "ListBuckets": handle_list_buckets,
    "CreateBucket": handle_create_bucket,
    "HeadBucket": handle_head_bucket,
    "DeleteBucket": handle_delete_bucket,
    "GetBucketLocation": handle_get_bucket_location,
}
