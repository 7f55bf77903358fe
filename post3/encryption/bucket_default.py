"""A bucket's default encryption (Put/Get/DeleteBucketEncryption), kept as its ``encryption``
configuration document, and applied to every write that asks for no encryption itself.

Reading the document for every PUT would cost a storage round trip, so each process keeps
what it read for :data:`CACHE_SECONDS` (as the lifecycle rules are kept): a change made through
another worker or host applies within that time, at once through this one.
"""

from __future__ import annotations

import time
import weakref

from post3 import errors, xml
from post3.backend import Backend, Unsupported
from post3.encryption.headers import AES256, KMS, MODES, Requested
from post3.encryption.keyring import KeyRing, NoSuchKmsKey, key_id_of

CONFIG = "encryption"
CACHE_SECONDS = 10.0

_cache: weakref.WeakKeyDictionary[Backend, dict[str, tuple[float, Requested | None]]] \
    = weakref.WeakKeyDictionary()


def parse(body: bytes, keyring: KeyRing | None = None) -> Requested:
    """A ServerSideEncryptionConfiguration, checked as S3 checks it (one rule). With
    ``keyring``, a KMS key id must name one of its keys."""
    root = xml.parse(body, "ServerSideEncryptionConfiguration")
    rules = xml.children(root, "Rule")
    if len(rules) != 1:
        raise errors.MalformedXML()
    rule = rules[0]
    defaults = xml.children(rule, "ApplyServerSideEncryptionByDefault")
    if len(defaults) != 1:
        raise errors.MalformedXML()
    algorithm = xml.child_text(defaults[0], "SSEAlgorithm")
    key_id = xml.child_text(defaults[0], "KMSMasterKeyID") or None
    bucket_key = (xml.child_text(rule, "BucketKeyEnabled") or "false").lower() == "true"
    if algorithm is None:
        raise errors.MalformedXML()
    if algorithm not in MODES:
        raise errors.InvalidArgument("The encryption method specified is not supported",
                                     ArgumentName="SSEAlgorithm", ArgumentValue=algorithm)
    if algorithm == AES256:
        if key_id is not None:
            raise errors.InvalidArgument(
                "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms",
                ArgumentName="ApplyServerSideEncryptionByDefault")
        return Requested(AES256, bucket_key_enabled=bucket_key)
    key_id = key_id_of(key_id) if key_id is not None else None
    if keyring is not None and key_id is not None and not keyring.has(key_id):
        raise NoSuchKmsKey(f"Invalid keyId {key_id}")
    return Requested(KMS, key_id, bucket_key)


def render(config: Requested) -> bytes:
    by_default: list[xml.Child] = [("SSEAlgorithm", config.mode)]
    if config.kms_key_id is not None:
        by_default.append(("KMSMasterKeyID", config.kms_key_id))
    return xml.render("ServerSideEncryptionConfiguration", [("Rule", [
        ("ApplyServerSideEncryptionByDefault", by_default),
        ("BucketKeyEnabled", config.bucket_key_enabled),
    ])])


def forget(backend: Backend, bucket: str) -> None:
    _cache.get(backend, {}).pop(bucket, None)


async def requested(backend: Backend, bucket: str) -> Requested | None:
    """The bucket's default encryption as this process last read it."""
    if not backend.capabilities.bucket_config:
        return None
    entries = _cache.setdefault(backend, {})
    now = time.monotonic()
    cached = entries.get(bucket)
    if cached is not None and cached[0] > now:
        return cached[1]
    try:
        document = await backend.get_bucket_config(bucket, CONFIG)
    except (Unsupported, errors.NoSuchBucket):
        document = None  # the write itself answers NoSuchBucket
    config = None if document is None else parse(document.encode())
    if len(entries) > 10_000:
        entries.clear()
    entries[bucket] = (now + CACHE_SECONDS, config)
    return config
