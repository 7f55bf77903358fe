"""SigV2: presigned URLs (``AWSAccessKeyId``, ``Expires``, ``Signature``) and ``AWS id:sig``.

boto3, aiobotocore, ``aws s3 presign`` (CLI v1), s3fs and s3cmd presign with SigV2 by default
(S3-WIRE.md §1.3.5). The signature is base64 HMAC-SHA1 over::

    METHOD \\n Content-MD5 \\n Content-Type \\n Expires (or Date) \\n
    CanonicalizedAmzHeaders CanonicalizedResource

The resource is the raw encoded path plus the sub-resources below, sorted. A presigned URL
carries the ``Content-Type``, ``Content-MD5`` and ``x-amz-*`` values it was signed with as query
parameters (botocore moves them there), so those count as headers too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from post3 import errors
from post3.auth import signing
from post3.auth.request_view import RequestView
from post3.auth.result import AuthResult

#: Query parameters that are part of the signed resource (S3's list and botocore's).
SUB_RESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "inventory",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "replication",
        "requestPayment",
        "restore",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
    }
)


@dataclass(frozen=True, slots=True)
class SigV2Request:
    """A SigV2-signed request, parsed and time-checked; the string to sign needs no secret."""

    access_key_id: str
    signature: str
    #: what the client may have signed, most likely first (see :func:`resource_variants`)
    strings_to_sign: tuple[str, ...]
    presigned: bool

    @property
    def string_to_sign(self) -> str:
        return self.strings_to_sign[0]

    def verify(self, secret: str) -> AuthResult:
        for candidate in self.strings_to_sign:
            digest = hmac.new(secret.encode(), candidate.encode(), hashlib.sha1).digest()
            if signing.signature_matches(base64.b64encode(digest).decode(), self.signature):
                break
        else:
            raise signing.signature_mismatch(
                self.access_key_id, self.string_to_sign, self.signature
            )
        return AuthResult(
            access_key_id=self.access_key_id,
            scheme="sigv2-presigned" if self.presigned else "sigv2",
        )


def resource_variants(raw_path: str) -> tuple[str, ...]:
    """The paths a client may have signed: the raw path, and for a bare bucket (``/bkt``) also
    ``/bkt/``, which botocore signs for every bucket operation."""
    if raw_path.count("/") == 1 and len(raw_path) > 1:
        return raw_path, raw_path + "/"
    return (raw_path,)


def canonical_resource(view: RequestView, path: str | None = None) -> str:
    """The raw path (or ``path``) plus its sub-resources, sorted by name; values decoded,
    ``=`` kept only where the client wrote one."""
    subs = [
        f"{name}={value}" if has_eq else name
        for name, value, has_eq in sorted(
            (item for item in view.query_items if item[0] in SUB_RESOURCES),
            key=lambda item: item[0],
        )
    ]
    return (path or resource_path(view)) + ("?" + "&".join(subs) if subs else "")


def resource_path(view: RequestView) -> str:
    """The path SigV2 signs: as sent, or ``/<bucket>`` + the path for a virtual-hosted-style
    request (S3's CanonicalizedResource starts with the bucket whichever style names it)."""
    if view.virtual_bucket is None:
        return view.raw_path
    return f"/{view.virtual_bucket}{view.raw_path}"


def strings_to_sign(view: RequestView, date_or_expires: str, *,
                    presigned: bool) -> tuple[str, ...]:
    head = string_to_sign(view, date_or_expires, presigned=presigned, resource="")
    return tuple(head + canonical_resource(view, path)
                 for path in resource_variants(resource_path(view)))


def string_to_sign(view: RequestView, date_or_expires: str, *, presigned: bool,
                   resource: str | None = None) -> str:
    """The string to sign; ``resource`` replaces the canonical resource (none: the request's)."""
    signed_in_query = {
        name.lower(): value
        for name, value, _ in view.query_items
        if presigned and _is_signed_header(name.lower())
    }

    def standard(name: str) -> str:
        value = view.header(name)
        if value is None:
            value = signed_in_query.get(name, "")
        return value.strip()

    amz: dict[str, str] = {
        name: ",".join(v.strip() for v in view.header_values(name))
        for name in view.header_names()
        if name.startswith("x-amz-")
    }
    amz.update(
        (name, value.strip())
        for name, value in signed_in_query.items()
        if name.startswith("x-amz-")
    )
    lines = [view.method, standard("content-md5"), standard("content-type"), date_or_expires]
    lines += [f"{name}:{amz[name]}" for name in sorted(amz)]
    return "\n".join(lines) + "\n" + (canonical_resource(view) if resource is None else resource)


def _is_signed_header(name: str) -> bool:
    return name.startswith("x-amz-") or name in ("content-md5", "content-type")


def parse_presigned_query(view: RequestView) -> SigV2Request:
    access_key_id = view.query_param("AWSAccessKeyId")
    signature = view.query_param("Signature")
    expires = view.query_param("Expires")
    if access_key_id is None or signature is None or expires is None:
        raise errors.AccessDenied(
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
            "parameters"
        )
    try:
        expires_at = datetime.fromtimestamp(int(expires), UTC)
    except (ValueError, OverflowError, OSError):
        raise errors.AccessDenied(
            f"Invalid date (should be seconds since epoch): {expires}"
        ) from None
    if view.now > expires_at:
        raise errors.AccessDenied(
            "Request has expired",
            Expires=signing.iso_time(expires_at),
            ServerTime=signing.iso_time(view.now),
        )
    return SigV2Request(
        access_key_id=access_key_id,
        signature=signature,
        strings_to_sign=strings_to_sign(view, expires, presigned=True),
        presigned=True,
    )


def parse_authorization_header(view: RequestView, value: str) -> SigV2Request:
    """``Authorization: AWS AKID:signature`` (s3cmd with ``signature_v2``)."""
    credentials = value.strip()[len("AWS ") :].strip()
    access_key_id, colon, signature = credentials.rpartition(":")
    if not colon or not access_key_id or not signature:
        raise errors.InvalidArgument(
            "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
            ArgumentName="Authorization",
            ArgumentValue=value,
        )
    amz_date = view.header("x-amz-date")
    raw_time = amz_date if amz_date is not None else view.header("date")
    moment = None
    if raw_time is not None:
        moment = signing.parse_http_date(raw_time) or signing.parse_amz_date(raw_time.strip())
    if moment is None or raw_time is None:
        raise errors.AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    signing.check_skew(moment, raw_time, view.now)
    # With x-amz-date present the Date line is empty: the date is signed as an amz header.
    date_line = "" if amz_date is not None else raw_time.strip()
    return SigV2Request(
        access_key_id=access_key_id,
        signature=signature,
        strings_to_sign=strings_to_sign(view, date_line, presigned=False),
        presigned=False,
    )
