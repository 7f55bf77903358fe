"""How a backend that stores attributes as string pairs stores them: :func:`attributes_to_pairs`
and its inverse, :func:`attributes_from_pairs`. The names are those of the S3 headers (and
``x-post3-*`` for the core's own), so data written before the attributes were typed, when
backends stored these pairs as they came, reads back unchanged. :mod:`post3.backend`
re-exports every public name: plugins import them from there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from post3.objects import (
    CONTENT_FIELDS,
    SSE_C,
    SSE_C_ALGORITHM,
    STANDARD,
    Checksums,
    ContentHeaders,
    Encryption,
    MultipartOrigin,
    ObjectAccess,
    ObjectAttributes,
    ObjectLock,
)

_META_PREFIX = "x-amz-meta-"
_CHECKSUM_PREFIX = "x-amz-checksum-"
_STORAGE_CLASS = "x-amz-storage-class"
_CHECKSUM_TYPE = "x-amz-checksum-type"
_CHECKSUM_ALGORITHM = "x-amz-checksum-algorithm"
_PART_CHECKSUMS = "x-post3-part-checksums"
_UPLOAD_ID = "x-post3-upload-id"
_LOCK_MODE = "x-amz-object-lock-mode"
_LOCK_UNTIL = "x-amz-object-lock-retain-until-date"
_LEGAL_HOLD = "x-amz-object-lock-legal-hold"
_SSE = "x-amz-server-side-encryption"
_SSE_KMS_KEY = "x-amz-server-side-encryption-aws-kms-key-id"
_SSE_C_ALGORITHM = "x-amz-server-side-encryption-customer-algorithm"
_SSE_C_KEY_MD5 = "x-amz-server-side-encryption-customer-key-md5"
_SSE_BUCKET_KEY = "x-amz-server-side-encryption-bucket-key-enabled"
_SSE_OBJECT_ID = "x-post3-sse-object-id"
_SSE_DATA_KEY = "x-post3-sse-data-key"
_SSE_PARTS = "x-post3-sse-parts"
_OWNER = "x-post3-owner"
_ACL = "x-post3-acl"
#: The one pair a listing needs (see :func:`storage_class_from_pairs`).
STORAGE_CLASS_PAIR = _STORAGE_CLASS


def attributes_to_pairs(
    attributes: ObjectAttributes, *, checksum_algorithm: str | None = None
) -> dict[str, str]:
    """``attributes`` as the string pairs a backend stores (lower-case names, any length).
    ``checksum_algorithm`` is a pending multipart upload's (see :attr:`UploadInfo`)."""
    pairs = dict(attributes.content.items())
    for name, value in attributes.user_metadata.items():
        pairs[_META_PREFIX + name] = value
    for algorithm, value in attributes.checksums.values.items():
        pairs[_CHECKSUM_PREFIX + algorithm] = value
    if attributes.checksums.type is not None:
        pairs[_CHECKSUM_TYPE] = attributes.checksums.type
    if checksum_algorithm is not None:
        pairs[_CHECKSUM_ALGORITHM] = checksum_algorithm
    if attributes.storage_class != STANDARD:
        pairs[_STORAGE_CLASS] = attributes.storage_class
    lock = attributes.lock
    if lock.mode is not None and lock.retain_until is not None:
        pairs[_LOCK_MODE] = lock.mode
        pairs[_LOCK_UNTIL] = lock.retain_until.isoformat()
    if lock.legal_hold is not None:
        pairs[_LEGAL_HOLD] = "ON" if lock.legal_hold else "OFF"
    if attributes.access.owner is not None:
        pairs[_OWNER] = attributes.access.owner
    if attributes.access.acl is not None:
        pairs[_ACL] = attributes.access.acl
    origin = attributes.multipart
    if origin is not None:
        pairs[_UPLOAD_ID] = origin.upload_id
        if origin.part_checksum_algorithm is not None:
            pairs[_PART_CHECKSUMS] = \
                f"{origin.part_checksum_algorithm}:{','.join(origin.part_checksums)}"
    if attributes.encryption is not None:
        pairs.update(_encryption_pairs(attributes.encryption))
    return pairs


def _encryption_pairs(encryption: Encryption) -> dict[str, str]:
    pairs = {_SSE_OBJECT_ID: encryption.object_id, _SSE_DATA_KEY: encryption.data_key}
    if encryption.mode == SSE_C:
        pairs[_SSE_C_ALGORITHM] = SSE_C_ALGORITHM
        pairs[_SSE_C_KEY_MD5] = encryption.customer_key_md5 or ""
    else:
        pairs[_SSE] = encryption.mode
    if encryption.kms_key_id is not None:
        pairs[_SSE_KMS_KEY] = encryption.kms_key_id
    if encryption.bucket_key_enabled:
        pairs[_SSE_BUCKET_KEY] = "true"
    if encryption.part_numbers:
        pairs[_SSE_PARTS] = ",".join(map(str, encryption.part_numbers))
    return pairs


def _encryption_from_pairs(pairs: Mapping[str, str]) -> Encryption | None:
    # Only the core's own pairs say the bytes are encrypted: a request header stored as it
    # came, before attributes were typed, says nothing about the bytes.
    if _SSE_DATA_KEY not in pairs:
        return None
    parts = pairs.get(_SSE_PARTS, "")
    return Encryption(
        mode=SSE_C if _SSE_C_ALGORITHM in pairs else pairs.get(_SSE, ""),
        object_id=pairs.get(_SSE_OBJECT_ID, ""),
        data_key=pairs[_SSE_DATA_KEY],
        kms_key_id=pairs.get(_SSE_KMS_KEY),
        customer_key_md5=pairs.get(_SSE_C_KEY_MD5),
        bucket_key_enabled=pairs.get(_SSE_BUCKET_KEY) == "true",
        part_numbers=tuple(int(n) for n in parts.split(",")) if parts else (),
    )


def attributes_from_pairs(pairs: Mapping[str, str]) -> ObjectAttributes:
    """The inverse of :func:`attributes_to_pairs`; pairs it does not know are ignored."""
    content: dict[str, str] = {}
    user: dict[str, str] = {}
    values: dict[str, str] = {}
    for name, value in pairs.items():
        if name in CONTENT_FIELDS:
            content[CONTENT_FIELDS[name]] = value
        elif name.startswith(_META_PREFIX):
            user[name[len(_META_PREFIX):]] = value
        elif name.startswith(_CHECKSUM_PREFIX) and name not in (_CHECKSUM_TYPE,
                                                                _CHECKSUM_ALGORITHM):
            values[name[len(_CHECKSUM_PREFIX):]] = value
    origin = None
    if _UPLOAD_ID in pairs:
        algorithm, _, joined = pairs.get(_PART_CHECKSUMS, "").partition(":")
        origin = MultipartOrigin(
            pairs[_UPLOAD_ID], algorithm or None, tuple(joined.split(",")) if algorithm else ())
    until = pairs.get(_LOCK_UNTIL)
    hold = pairs.get(_LEGAL_HOLD)
    lock = ObjectLock(
        pairs.get(_LOCK_MODE) if until else None,
        dt.datetime.fromisoformat(until) if until else None,
        None if hold is None else hold == "ON",
    )
    return ObjectAttributes(
        content=ContentHeaders(**content),
        user_metadata=user,
        checksums=Checksums(values, pairs.get(_CHECKSUM_TYPE)),
        storage_class=pairs.get(_STORAGE_CLASS) or STANDARD,
        multipart=origin,
        lock=lock,
        encryption=_encryption_from_pairs(pairs),
        access=ObjectAccess(pairs.get(_OWNER), pairs.get(_ACL)),
    )


def checksum_algorithm_from_pairs(pairs: Mapping[str, str]) -> str | None:
    """A pending upload's checksum algorithm, stored by :func:`attributes_to_pairs`."""
    return pairs.get(_CHECKSUM_ALGORITHM)


def storage_class_from_pairs(pairs: Mapping[str, str]) -> str:
    """The storage class alone, for a backend that lists from the pairs without decoding them
    all (it stores :data:`STORAGE_CLASS_PAIR` in an index, say)."""
    return pairs.get(_STORAGE_CLASS) or STANDARD


__all__ = [
    "STORAGE_CLASS_PAIR",
    "attributes_from_pairs",
    "attributes_to_pairs",
    "checksum_algorithm_from_pairs",
    "storage_class_from_pairs",
]
