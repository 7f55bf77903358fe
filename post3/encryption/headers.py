"""The encryption a request asks for, from its ``x-amz-server-side-encryption*`` headers,
checked as S3 checks them; and the headers S3 answers with.

Names are looked up in lower case: a request's headers are case-insensitive, and a browser
POST's form fields arrive lower-cased.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from post3 import errors
from post3.backend import Encryption
from post3.encryption.keyring import key_id_of
from post3.objects import SSE_C, SSE_C_ALGORITHM

SSE = "x-amz-server-side-encryption"
KMS_KEY_ID = "x-amz-server-side-encryption-aws-kms-key-id"
KMS_CONTEXT = "x-amz-server-side-encryption-context"
BUCKET_KEY = "x-amz-server-side-encryption-bucket-key-enabled"
CUSTOMER = "x-amz-server-side-encryption-customer-"
COPY_SOURCE_CUSTOMER = "x-amz-copy-source-server-side-encryption-customer-"
AES256, KMS = "AES256", "aws:kms"
#: What S3 accepts in ``x-amz-server-side-encryption`` (DSSE is KMS twice over: post3
#: encrypts it once, as it does aws:kms).
MODES = (AES256, KMS, "aws:kms:dsse")


@dataclass(frozen=True, slots=True)
class CustomerKey:
    """An SSE-C key as a request gave it. Never stored, never logged (no repr)."""

    key: bytes
    md5: str

    def __repr__(self) -> str:
        return f"CustomerKey(md5={self.md5!r})"


@dataclass(frozen=True, slots=True)
class Requested:
    """What a write asks for: SSE-S3 / SSE-KMS (``mode``), or SSE-C (``customer``)."""

    mode: str
    kms_key_id: str | None = None
    bucket_key_enabled: bool = False
    customer: CustomerKey | None = None


def customer_key(headers: Mapping[str, str], prefix: str = CUSTOMER) -> CustomerKey | None:
    """The SSE-C key of a request (``prefix`` for a copy's source), or None when it names
    none; S3's errors for an incomplete or inconsistent set."""
    algorithm = headers.get(prefix + "algorithm")
    key_text = headers.get(prefix + "key")
    md5_text = headers.get(prefix + "key-md5")
    if algorithm is None and key_text is None and md5_text is None:
        return None
    argument = "x-amz-server-side-encryption" if prefix == CUSTOMER \
        else "x-amz-copy-source-server-side-encryption"
    if algorithm is None:
        raise errors.InvalidArgument(
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide a valid encryption algorithm.", ArgumentName=argument,
            ArgumentValue="null")
    if algorithm != SSE_C_ALGORITHM:
        raise errors.InvalidEncryptionAlgorithmError(
            ArgumentName=prefix + "algorithm", ArgumentValue=algorithm)
    if key_text is None:
        raise errors.InvalidArgument(
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide an appropriate secret key.", ArgumentName=argument,
            ArgumentValue="null")
    if md5_text is None:
        raise errors.InvalidArgument(
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide the client calculated MD5 of the secret key.", ArgumentName=argument,
            ArgumentValue="null")
    try:
        key = base64.b64decode(key_text, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise errors.InvalidArgument("The secret key was invalid for the specified algorithm.",
                                     ArgumentName=argument, ArgumentValue="null")
    md5 = base64.b64encode(hashlib.md5(key, usedforsecurity=False).digest()).decode()
    if md5 != md5_text.strip():
        raise errors.InvalidArgument(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
            ArgumentName=argument, ArgumentValue="null")
    return CustomerKey(key, md5)


def requested(headers: Mapping[str, str]) -> Requested | None:
    """The encryption a write's headers ask for, or None when they ask for none."""
    customer = customer_key(headers)
    mode = headers.get(SSE)
    kms_key = headers.get(KMS_KEY_ID)
    bucket_key = (headers.get(BUCKET_KEY) or "").strip().lower() == "true"
    if customer is not None:
        if mode is not None or kms_key is not None:
            raise errors.InvalidArgument(
                "Server Side Encryption with Customer provided key is incompatible with the "
                "encryption method specified", ArgumentName=SSE, ArgumentValue=mode or "null")
        return Requested(SSE_C, customer=customer)
    if mode is None:
        if kms_key is not None:
            raise errors.InvalidArgument(
                "Server Side Encryption with AWS KMS managed key requires HTTP header "
                "x-amz-server-side-encryption : aws:kms", ArgumentName=SSE, ArgumentValue="null")
        return None
    if mode not in MODES:
        raise errors.InvalidArgument("The encryption method specified is not supported",
                                     ArgumentName=SSE, ArgumentValue=mode)
    if mode == AES256:
        if kms_key is not None:
            raise errors.InvalidArgument(
                "Server Side Encryption with AWS KMS managed key requires HTTP header "
                "x-amz-server-side-encryption : aws:kms", ArgumentName=SSE, ArgumentValue=mode)
        return Requested(AES256, bucket_key_enabled=bucket_key)
    return Requested(KMS, key_id_of(kms_key) if kms_key else None, bucket_key)


def response_headers(encryption: Encryption | None) -> dict[str, str]:
    """The headers S3 sends about an object's encryption (PUT, GET, HEAD, copies, multipart)."""
    if encryption is None:
        return {}
    if encryption.mode == SSE_C:
        return {CUSTOMER + "algorithm": SSE_C_ALGORITHM,
                CUSTOMER + "key-MD5": encryption.customer_key_md5 or ""}
    headers = {SSE: encryption.mode}
    if encryption.kms_key_id is not None:
        headers[KMS_KEY_ID] = encryption.kms_key_id
    if encryption.bucket_key_enabled:
        headers[BUCKET_KEY] = "true"
    return headers
