"""Owners on the wire: who sent a request (:func:`requester`) and who owns a bucket
(:func:`bucket_owner`), for ListBuckets, ACLs and the ``<Owner>`` of listings.

A bucket records its owner (the user of the key that created it) in its ``owner``
configuration document; a bucket made before that, or by a backend that keeps no documents, is
owned by :data:`post3.principals.ROOT_USER`. Every object of a bucket is owned by the bucket's
owner, as S3 does for buckets whose ownership is BucketOwnerEnforced (its default). An owner
never changes, so each process keeps what it read for :data:`CACHE_SECONDS` (a bucket deleted
and made again by another user shows its new owner on other workers within that time).
"""

from __future__ import annotations

from post3.api.bucket_documents import DocumentCache
from post3.api.request import S3Request
from post3.principals import (
    OWNER_CONFIG,
    ROOT,
    Principal,
    owner_document,
    owner_from_document,
)

CACHE_SECONDS = 10.0

_owners = DocumentCache(OWNER_CONFIG, owner_from_document, CACHE_SECONDS)


def requester(s3: S3Request) -> Principal:
    """The user who sent ``s3`` (the root user on a server without authentication)."""
    return ROOT if s3.identity is None else s3.identity.principal


async def bucket_owner(s3: S3Request) -> Principal:
    """The owner of the request's bucket; raises NoSuchBucket."""
    if not s3.backend.capabilities.bucket_config:
        await s3.backend.head_bucket(s3.bucket)
        return ROOT
    return await _owners.get(s3.backend, s3.bucket) or ROOT


async def record_owner(s3: S3Request) -> None:
    """CreateBucket: the new bucket is the requester's."""
    if s3.backend.capabilities.bucket_config:
        await s3.backend.put_bucket_config(s3.bucket, OWNER_CONFIG,
                                           owner_document(requester(s3)))
        _owners.forget(s3.backend, s3.bucket)
