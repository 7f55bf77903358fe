"""Which backend capability each S3 operation needs, read from the backend's declaration.

An operation whose capability the backend does not declare answers ``501 NotImplemented``
before the backend is called; a backend method that raises :class:`post3.backend.Unsupported`
anyway (a declaration that promised too much) gets the same answer, never a 500.
"""

from __future__ import annotations

from post3 import errors
from post3.backend import Backend, Unsupported

MULTIPART_OPERATIONS = (
    "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
    "AbortMultipartUpload", "ListParts", "ListMultipartUploads",
)
#: GetObjectTagging needs nothing: every backend keeps the tags given with an object.
TAGGING_OPERATIONS = (
    "PutObjectTagging", "DeleteObjectTagging",
    "GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging",
)
BUCKET_CONFIG_OPERATIONS = (
    "GetBucketCors", "PutBucketCors", "DeleteBucketCors",
    "GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration",
    "DeleteBucketLifecycle", "PutBucketEncryption",
)
#: GetBucketVersioning and ListObjectVersions need nothing: a backend without versioning has
#: one ``null`` version per key, and its buckets never had versioning.
VERSIONING_OPERATIONS = (
    "PutBucketVersioning", "PutObjectLockConfiguration", "PutObjectRetention",
    "PutObjectLegalHold",
)
REQUIRED: dict[str, str] = {
    **dict.fromkeys(MULTIPART_OPERATIONS, "multipart"),
    **dict.fromkeys(TAGGING_OPERATIONS, "tagging"),
    **dict.fromkeys(BUCKET_CONFIG_OPERATIONS, "bucket_config"),
    **dict.fromkeys(VERSIONING_OPERATIONS, "versioning"),
}


def check_supported(operation: str, backend: Backend) -> None:
    """Raise ``NotImplemented`` when ``backend`` does not declare what ``operation`` needs."""
    capability = REQUIRED.get(operation)
    if capability is not None and not getattr(backend.capabilities, capability):
        raise not_implemented(operation, capability, backend)


def not_implemented(operation: str, capability: str, backend: Backend) -> errors.S3Error:
    return errors.NotImplemented(
        f"{operation} needs {capability}, which the {backend.name} backend does not support")


__all__ = ["REQUIRED", "Unsupported", "check_supported", "not_implemented"]
