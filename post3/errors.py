"""The one error vocabulary: one class per S3 error code.

The class name is the S3 error code, and each class carries its HTTP status and AWS's default
message. The error middleware renders any :class:`S3Error` as S3's ``<Error>`` XML; the client
SDK raises the same classes, so a caller catches ``post3.errors.NoSuchKey`` on either side.
"""

from __future__ import annotations

from typing import ClassVar


class S3Error(Exception):
    """Base of every error post3 sends to a client.

    ``fields`` become extra child elements of ``<Error>`` (for example ``BucketName``, ``Key``,
    ``ArgumentName``), in the order given.
    """

    code: ClassVar[str] = "InternalError"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "We encountered an internal error. Please try again."

    def __init__(self, message: str | None = None, **fields: str | int | None) -> None:
        self.message = message or self.default_message
        self.fields: dict[str, str] = {k: str(v) for k, v in fields.items() if v is not None}
        #: response headers S3 sends with this error (``x-amz-delete-marker``...)
        self.headers: dict[str, str] = {}
        super().__init__(self.message)

    def with_headers(self, headers: dict[str, str]) -> S3Error:
        """This error, answered with ``headers`` too."""
        self.headers.update(headers)
        return self

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # The class name *is* the S3 code, unless a subclass names it explicitly.
        if "code" not in cls.__dict__:
            cls.code = cls.__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, {self.fields!r})"


def _error(name: str, status: int, message: str) -> type[S3Error]:
    attributes = {"status": status, "default_message": message, "__module__": __name__}
    return type(name, (S3Error,), attributes)


class InternalError(S3Error):
    pass


# 400
class BadRequest(S3Error):
    status = 400
    default_message = "Bad Request"


class BadDigest(S3Error):
    status = 400
    default_message = "The Content-MD5 or checksum you specified did not match what we received."


class InvalidDigest(S3Error):
    status = 400
    default_message = "The Content-MD5 or checksum you specified is not valid."


class IncompleteBody(S3Error):
    status = 400
    default_message = (
        "You did not provide the number of bytes specified by the Content-Length HTTP header."
    )


class InvalidArgument(S3Error):
    status = 400
    default_message = "Invalid Argument"


class InvalidBucketName(S3Error):
    status = 400
    default_message = "The specified bucket is not valid."


class KeyTooLongError(S3Error):
    status = 400
    default_message = "Your key is too long"


class IllegalVersioningConfigurationException(S3Error):
    status = 400
    default_message = "The versioning configuration specified in the request is invalid."


class MalformedXML(S3Error):
    status = 400
    default_message = (
        "The XML you provided was not well-formed or did not validate against our published schema."
    )


class MetadataTooLarge(S3Error):
    status = 400
    default_message = "Your metadata headers exceed the maximum allowed metadata size."


class EntityTooLarge(S3Error):
    status = 400
    default_message = "Your proposed upload exceeds the maximum allowed size"


class EntityTooSmall(S3Error):
    status = 400
    default_message = "Your proposed upload is smaller than the minimum allowed object size."


class InvalidPart(S3Error):
    status = 400
    default_message = (
        "One or more of the specified parts could not be found. The part might not have been "
        "uploaded, or the specified entity tag might not have matched the part's entity tag."
    )


class InvalidPartOrder(S3Error):
    status = 400
    default_message = (
        "The list of parts was not in ascending order. Parts must be ordered by part number."
    )


class InvalidStorageClass(S3Error):
    status = 400
    default_message = "The storage class you specified is not valid"


class InvalidRequest(S3Error):
    status = 400
    default_message = "Invalid Request"


class InvalidEncryptionAlgorithmError(S3Error):
    status = 400
    default_message = ("The encryption request you specified is not valid. "
                       "The valid value is AES256.")


class InvalidLocationConstraint(S3Error):
    status = 400
    default_message = "The specified location-constraint is not valid."


class IllegalLocationConstraintException(S3Error):
    status = 400
    default_message = (
        "The unspecified location constraint is incompatible for the region specific endpoint "
        "this request was sent to."
    )


class InvalidPolicyDocument(S3Error):
    status = 400
    default_message = (
        "The content of the form does not meet the conditions specified in the policy document."
    )


class InvalidTag(S3Error):
    status = 400
    default_message = "The TagValue you have provided is invalid"


class UserKeyMustBeSpecified(S3Error):
    status = 400
    default_message = "The request must contain a non-empty object key."


class XAmzContentSHA256Mismatch(S3Error):
    status = 400
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class MalformedTrailerError(S3Error):
    status = 400
    default_message = (
        "The request contained trailing data that was not well-formed or did not conform to our "
        "published schema."
    )


class MaxMessageLengthExceeded(S3Error):
    status = 400
    default_message = "Your request was too big."


class MalformedPOSTRequest(S3Error):
    status = 400
    default_message = "The body of your POST request is not well-formed multipart/form-data."


class MaxPostPreDataLengthExceeded(S3Error):
    status = 400
    default_message = (
        "Your POST request fields preceding the upload file were too large."
    )


class MissingContentLength(S3Error):
    status = 411
    default_message = "You must provide the Content-Length HTTP header."


class RequestTimeout(S3Error):
    status = 400
    default_message = (
        "Your socket connection to the server was not read from or written to within the "
        "timeout period."
    )


class MissingSecurityHeader(S3Error):
    status = 400
    default_message = "Your request was missing a required header"


class UnexpectedContent(S3Error):
    status = 400
    default_message = "This request does not support content."


class AuthorizationHeaderMalformed(S3Error):
    status = 400
    default_message = "The authorization header is malformed."


class AuthorizationQueryParametersError(S3Error):
    status = 400
    default_message = "Query-string authentication parameters are malformed."


class RequestTimeTooSkewed(S3Error):
    status = 403
    default_message = "The difference between the request time and the server's time is too large."


class AccessDenied(S3Error):
    status = 403
    default_message = "Access Denied"


class AccessForbidden(S3Error):
    """A CORS preflight the bucket's rules do not allow."""

    status = 403
    default_message = "CORSResponse: This CORS request is not allowed."


class InvalidAccessKeyId(S3Error):
    status = 403
    default_message = "The AWS access key Id you provided does not exist in our records."


class SignatureDoesNotMatch(S3Error):
    status = 403
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


# 404
class NoSuchBucket(S3Error):
    status = 404
    default_message = "The specified bucket does not exist"


class NoSuchKey(S3Error):
    status = 404
    default_message = "The specified key does not exist."


class NoSuchUpload(S3Error):
    status = 404
    default_message = (
        "The specified multipart upload does not exist. The upload ID might be invalid, or the "
        "multipart upload might have been aborted or completed."
    )


class NoSuchVersion(S3Error):
    status = 404
    default_message = "The specified version does not exist."


class NoSuchTagSet(S3Error):
    status = 404
    default_message = "The TagSet does not exist"


class UnresolvableGrantByEmailAddress(S3Error):
    status = 400
    default_message = "The e-mail address you provided does not match any account on record."


class MalformedACLError(S3Error):
    status = 400
    default_message = ("The XML you provided was not well-formed or did not validate against "
                       "our published schema.")


class AccessControlListNotSupported(S3Error):
    status = 400
    default_message = "The bucket does not allow ACLs"


class InvalidBucketAclWithObjectOwnership(S3Error):
    status = 400
    default_message = ("Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced "
                       "setting")


class MalformedPolicy(S3Error):
    status = 400
    default_message = "Policies must be valid JSON and the first byte must be '{'"


class NoSuchBucketPolicy(S3Error):
    status = 404
    default_message = "The bucket policy does not exist"


class NoSuchCORSConfiguration(S3Error):
    status = 404
    default_message = "The CORS configuration does not exist"


class NoSuchLifecycleConfiguration(S3Error):
    status = 404
    default_message = "The lifecycle configuration does not exist"


class NoSuchWebsiteConfiguration(S3Error):
    status = 404
    default_message = "The specified bucket does not have a website configuration"


class ServerSideEncryptionConfigurationNotFoundError(S3Error):
    status = 404
    default_message = "The server side encryption configuration was not found"


class ObjectLockConfigurationNotFoundError(S3Error):
    status = 404
    default_message = "Object Lock configuration does not exist for this bucket"


class NoSuchObjectLockConfiguration(S3Error):
    status = 404
    default_message = "The specified object does not have a ObjectLock configuration"


class InvalidBucketState(S3Error):
    status = 409
    default_message = "The request is not valid with the current state of the bucket."


class ReplicationConfigurationNotFoundError(S3Error):
    status = 404
    default_message = "The replication configuration was not found"


class OwnershipControlsNotFoundError(S3Error):
    status = 404
    default_message = "The bucket ownership controls were not found"


class NoSuchPublicAccessBlockConfiguration(S3Error):
    status = 404
    default_message = "The public access block configuration was not found"


# 405, 409, 411, 412, 416, 501, 503
class MethodNotAllowed(S3Error):
    status = 405
    default_message = "The specified method is not allowed against this resource."


class BucketAlreadyExists(S3Error):
    status = 409
    default_message = (
        "The requested bucket name is not available. The bucket namespace is shared by all users "
        "of the system. Please select a different name and try again."
    )


class BucketAlreadyOwnedByYou(S3Error):
    status = 409
    default_message = (
        "Your previous request to create the named bucket succeeded and you already own it."
    )


class BucketNotEmpty(S3Error):
    status = 409
    default_message = "The bucket you tried to delete is not empty"


class OperationAborted(S3Error):
    status = 409
    default_message = (
        "A conflicting conditional operation is currently in progress against this resource. "
        "Please try again."
    )


class ConditionalRequestConflict(S3Error):
    status = 409
    default_message = (
        "A conflicting operation occurred. If using PutObject you can retry the request. If "
        "using multipart upload you should initiate another CreateMultipartUpload request and "
        "re-upload each part."
    )


class PreconditionFailed(S3Error):
    status = 412
    default_message = "At least one of the pre-conditions you specified did not hold"


class InvalidRange(S3Error):
    status = 416
    default_message = "The requested range is not satisfiable"


class InvalidPartNumber(S3Error):
    status = 416
    default_message = "The requested partnumber is not satisfiable"


class NotImplemented(S3Error):  # noqa: A001 - the S3 code is literally "NotImplemented"
    status = 501
    default_message = "A header you provided implies functionality that is not implemented"


class ServiceUnavailable(S3Error):
    status = 503
    default_message = "Please reduce your request rate."


class SlowDown(S3Error):
    status = 503
    default_message = "Please reduce your request rate."


def error_class(code: str) -> type[S3Error]:
    """The class for an S3 error code; unknown codes get a fresh subclass of S3Error."""
    cls = globals().get(code)
    if isinstance(cls, type) and issubclass(cls, S3Error):
        return cls
    return _error(code, 500, code)
