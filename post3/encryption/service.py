"""What the S3 handlers call: choose the encryption of a write, seal its body, open an
encrypted object for reading, copy between any two modes.

Every object gets a random 256-bit data key and a random 128-bit id. The data key is stored
only wrapped (AES-256-GCM, the object id bound in): under a master key of the key service
(SSE-S3, SSE-KMS), or under a key derived from the customer's key with HKDF (SSE-C). The
customer's key is never stored; its MD5, which S3 returns anyway, tells a wrong key
(``403 AccessDenied``) from a missing one (``400 InvalidRequest``), and the wrap, which fails
to open under any other key, is the proof.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from post3 import errors, keys
from post3.backend import (
    ByteRange,
    Encryption,
    ObjectAccess,
    ObjectAttributes,
    ObjectInfo,
    ObjectLock,
    ObjectStream,
    PartInfo,
    WriteCondition,
    copied_attributes,
)
from post3.encryption import bucket_default
from post3.encryption.headers import (
    AES256,
    COPY_SOURCE_CUSTOMER,
    KMS,
    CustomerKey,
    Requested,
    customer_key,
    requested,
)
from post3.encryption.keyring import DEFAULT_KEY, KeyRing
from post3.encryption.segments import SegmentCipher
from post3.encryption.streams import DecryptingStream, EncryptingPayload, SegmentRange
from post3.objects import SSE_C, NewVersion
from post3.payload import PayloadStream

if TYPE_CHECKING:
    from post3.api.request import S3Request

_NOT_APPLICABLE = "The encryption parameters are not applicable to this object."
_KEY_NEEDED = ("The object was stored using a form of Server Side Encryption. The correct "
               "parameters must be provided to retrieve the object.")
_PART_KEY_NEEDED = ("The multipart upload initiate requested encryption. Subsequent part "
                    "requests must include the appropriate encryption parameters.")


@dataclass(frozen=True, slots=True)
class Sealer:
    """One object's (or one upload's) encryption, with its data key unwrapped."""

    encryption: Encryption
    cipher: SegmentCipher
    data_key: bytes

    def seal(self, body: PayloadStream, part: int = 0) -> PayloadStream:
        return EncryptingPayload(body, self.cipher, part, self.etag)

    def attach(self, attributes: ObjectAttributes) -> ObjectAttributes:
        return replace(attributes, encryption=self.encryption)

    def etag(self, md5_hex: str) -> str:
        """S3's ETag: the plaintext's MD5 for SSE-S3; for SSE-C and SSE-KMS an opaque value
        (an MD5 of the plaintext would let anyone confirm a guess of the content)."""
        if self.encryption.mode == AES256:
            return md5_hex
        return hmac.new(self.data_key, bytes.fromhex(md5_hex), hashlib.sha256).hexdigest()[:32]


def keyring_of(s3: S3Request) -> KeyRing:
    return s3.request.app[keys.KEYRING]


def _customer_kek(customer: CustomerKey, object_id: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=object_id,
                   info=b"post3 sse-c key wrap").derive(customer.key)
    return AESGCM(derived)


def new_sealer(keyring: KeyRing, wanted: Requested) -> Sealer:
    """A fresh data key and object id for a new object (or upload)."""
    data_key, object_id = os.urandom(32), os.urandom(16)
    kms_key_id = None
    if wanted.customer is not None:
        nonce = os.urandom(12)
        sealed = _customer_kek(wanted.customer, object_id).encrypt(nonce, data_key, object_id)
        wrapped = "c:" + base64.b64encode(nonce + sealed).decode()
    else:
        if not keyring.configured:
            raise errors.NotImplemented(
                "Server-side encryption with post3-managed keys needs a master key "
                "(POST3_MASTER_KEY or POST3_KEY_FILE)", Header="x-amz-server-side-encryption")
        key_id = wanted.kms_key_id or DEFAULT_KEY
        if wanted.mode == KMS:
            kms_key_id = key_id
        wrapped = keyring.wrap(key_id, data_key, object_id)
    encryption = Encryption(
        mode=wanted.mode if wanted.customer is None else SSE_C,
        object_id=object_id.hex(), data_key=wrapped, kms_key_id=kms_key_id,
        customer_key_md5=wanted.customer.md5 if wanted.customer is not None else None,
        bucket_key_enabled=wanted.bucket_key_enabled)
    return Sealer(encryption, SegmentCipher(data_key, object_id), data_key)


def open_sealer(keyring: KeyRing, encryption: Encryption, customer: CustomerKey | None,
                missing: str = _KEY_NEEDED) -> Sealer:
    """The sealer of a stored object (or pending upload), given the request's SSE-C key."""
    object_id = bytes.fromhex(encryption.object_id)
    if encryption.mode == SSE_C:
        if customer is None:
            raise errors.InvalidRequest(missing)
        if customer.md5 != encryption.customer_key_md5:
            raise errors.AccessDenied()
        raw = base64.b64decode(encryption.data_key.removeprefix("c:"))
        try:
            data_key = _customer_kek(customer, object_id).decrypt(raw[:12], raw[12:], object_id)
        except InvalidTag:
            raise errors.AccessDenied() from None
    else:
        if customer is not None:
            raise errors.InvalidRequest(_NOT_APPLICABLE)
        data_key = keyring.unwrap(encryption.data_key, object_id)
    return Sealer(encryption, SegmentCipher(data_key, object_id), data_key)


# ------------------------------------------------------------------ writes


async def for_write(s3: S3Request, headers: Mapping[str, str] | None = None) -> Sealer | None:
    """The sealer of a new object: what the request (or form) asks for, else the bucket's
    default encryption, else None."""
    wanted = requested(s3.headers if headers is None else headers)
    if wanted is None:
        wanted = await bucket_default.requested(s3.backend, s3.bucket)
    return None if wanted is None else new_sealer(keyring_of(s3), wanted)


def for_part(s3: S3Request, upload: Encryption | None) -> Sealer | None:
    """The sealer of an UploadPart / UploadPartCopy: the upload's, opened with the part's
    SSE-C key (which must be the upload's)."""
    customer = customer_key(s3.headers)
    if upload is None:
        if customer is not None:
            raise errors.InvalidRequest(_NOT_APPLICABLE)
        return None
    return open_sealer(keyring_of(s3), upload, customer, _PART_KEY_NEEDED)


def completed(info: ObjectInfo, parts: list[PartInfo]) -> ObjectInfo:
    """A completed multipart object's info, with the part numbers its segments are bound to."""
    encryption = info.attributes.encryption
    if encryption is None:
        return info
    numbers = tuple(part.part_number for part in parts)
    return replace(info, attributes=replace(
        info.attributes, encryption=replace(encryption, part_numbers=numbers)))


def requested_on_write(headers: Mapping[str, str]) -> bool:
    """Whether a request names an encryption (a copy onto itself may then change only it)."""
    return requested(headers) is not None


# ------------------------------------------------------------------ reads


async def open_object(s3: S3Request, bucket: str, key: str, byte_range: ByteRange | None,
                      version_id: str | None = None, *, source: bool = False) -> ObjectStream:
    """Open an object as the core serves it: plaintext, ``byte_range`` in plaintext
    offsets. ``source``: the object is a copy's source (its SSE-C key comes in the
    ``x-amz-copy-source-server-side-encryption-customer-*`` headers). Raises before any byte
    is read when the request's key does not open the object."""
    customer = customer_key(s3.headers, COPY_SOURCE_CUSTOMER if source else
                            "x-amz-server-side-encryption-customer-")
    wanted = SegmentRange(byte_range)
    stream = await s3.backend.open_object(bucket, key, wanted, version_id=version_id)
    try:
        info = stream.info
        if info.delete_marker:
            return stream
        encryption = info.attributes.encryption
        if encryption is None:
            if customer is not None:
                raise errors.InvalidRequest(_NOT_APPLICABLE)
            return stream
        sealer = open_sealer(keyring_of(s3), encryption, customer)
        assert wanted.plan is not None
        opened = DecryptingStream(stream, wanted.plan, sealer.cipher)
        await opened.prime()
        return opened
    except BaseException:
        await stream.aclose()
        raise


def check_read(s3: S3Request, info: ObjectInfo) -> None:
    """HeadObject: the request's SSE-C key must open the object, as for GetObject."""
    if info.delete_marker:
        return
    customer = customer_key(s3.headers)
    if info.attributes.encryption is None:
        if customer is not None:
            raise errors.InvalidRequest(_NOT_APPLICABLE)
        return
    open_sealer(keyring_of(s3), info.attributes.encryption, customer)


# ------------------------------------------------------------------ copies


class _SourceEncrypted(Exception):  # noqa: N818 - a signal
    pass


async def copy_object(
    s3: S3Request, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str, *,
    attributes: ObjectAttributes | None, tags: Mapping[str, str] | None,
    condition: WriteCondition | None, source_check: Callable[[ObjectInfo], None],
    source_version_id: str | None, version: NewVersion, lock: ObjectLock | None = None,
    access: ObjectAccess | None = None,
) -> ObjectInfo:
    """CopyObject between any two modes. Plain to plain goes to the backend's
    ``copy_object`` (which may do better than copying bytes); anything encrypted is
    decrypted and sealed again here, streaming, under the destination's own data key."""
    sealer = await for_write(s3)
    source_customer = customer_key(s3.headers, COPY_SOURCE_CUSTOMER)
    if sealer is None and source_customer is None:
        def plain_only(info: ObjectInfo) -> None:
            if info.attributes.encryption is not None and not info.delete_marker:
                raise _SourceEncrypted()
            source_check(info)

        try:
            return await s3.backend.copy_object(
                src_bucket, src_key, dst_bucket, dst_key, attributes=attributes, tags=tags,
                condition=condition, source_check=plain_only,
                source_version_id=source_version_id, version=version, lock=lock,
                access=access)
        except _SourceEncrypted:
            pass
    source = await open_object(s3, src_bucket, src_key, None, source_version_id, source=True)
    try:
        source_check(source.info)
        body = PayloadStream.from_iterable(
            aiter(source), size=source.info.size,
            checksum_algorithms=tuple(source.info.checksums.values))
        kept = replace(copied_attributes(source.info, attributes, lock, access),
                       encryption=None)
        if sealer is not None:
            body, kept = sealer.seal(body), sealer.attach(kept)
        return await s3.backend.put_object(
            dst_bucket, dst_key, body, attributes=kept,
            tags=source.info.tags if tags is None else tags, condition=condition,
            version=version)
    finally:
        await source.aclose()
