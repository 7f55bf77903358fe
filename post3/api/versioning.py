"""Versioning on the wire: Get/PutBucketVersioning, the ``versionId`` a request names, and
the headers and errors S3 answers about versions and delete markers.

Every object operation that takes a ``versionId`` goes through :func:`requested_version` and
:func:`readable`, so the rules are written once:

* a version id is ``null`` or one post3 made (:mod:`post3.versioning`); anything else is
  ``400 InvalidArgument``, before storage is asked;
* a backend without versioning has only ``null`` versions: it is asked for the latest;
* a latest version that is a delete marker answers ``404 NoSuchKey`` with
  ``x-amz-delete-marker: true`` and the marker's ``x-amz-version-id``; a delete marker named
  by id answers ``405 MethodNotAllowed`` with the same headers and its ``Last-Modified``.
"""

from __future__ import annotations

from aiohttp import web

from post3 import errors, object_lock, versioning, xml
from post3.api.body import read_xml_body
from post3.api.object_headers import http_date
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.backend import ENABLED, NULL_VERSION, SUSPENDED, Backend, ObjectInfo


def requested_version(s3: S3Request, name: str = "versionId") -> str | None:
    """The version the request names in its query (None: the latest)."""
    return backend_version(s3.backend, versioning.check_version_id(s3.query.get(name), name))


def backend_version(backend: Backend, version_id: str | None) -> str | None:
    """What to ask ``backend`` for: a backend without versioning keeps only the ``null``
    version of each key, which is its latest; any other id names nothing there."""
    if backend.capabilities.versioning or version_id is None:
        return version_id
    if version_id == NULL_VERSION:
        return None
    raise errors.NoSuchVersion(VersionId=version_id)


def version_headers(info: ObjectInfo) -> dict[str, str]:
    """``x-amz-version-id`` (and ``x-amz-delete-marker``) of a version.

    A ``null`` version's id is sent only for a delete marker: S3 also sends ``null`` in a
    bucket whose versioning is Suspended, and nothing in one that never had versioning, but
    telling the two apart would cost every unversioned request a read of the bucket's status.
    Clients take a missing id as ``null``."""
    headers: dict[str, str] = {}
    if info.delete_marker or info.version_id != NULL_VERSION:
        headers["x-amz-version-id"] = info.version_id
    if info.delete_marker:
        headers["x-amz-delete-marker"] = "true"
    return headers


def readable(info: ObjectInfo, version_id: str | None) -> ObjectInfo:
    """``info`` if it is an object; S3's answer for a delete marker otherwise."""
    if not info.delete_marker:
        return info
    headers = version_headers(info)
    if version_id is None:
        raise errors.NoSuchKey(Key=info.key).with_headers(headers)
    headers["Last-Modified"] = http_date(info.last_modified)
    raise errors.MethodNotAllowed(Method="GET", ResourceType="DeleteMarker").with_headers(
        headers)


async def head_version(s3: S3Request, bucket: str, key: str,
                       version_id: str | None) -> ObjectInfo:
    """The object version a read addresses (a delete marker answers as S3 does)."""
    return readable(await s3.backend.head_object(bucket, key, version_id), version_id)


# --------------------------------------------------------------------------- the bucket's status


async def handle_get_bucket_versioning(s3: S3Request) -> web.StreamResponse:
    await s3.backend.head_bucket(s3.bucket)
    status = None
    if s3.backend.capabilities.versioning:
        status = await s3.backend.get_bucket_versioning(s3.bucket)
    children: list[xml.Child] = [] if status is None else [("Status", status)]
    return xml_response(xml.render("VersioningConfiguration", children))


async def handle_put_bucket_versioning(s3: S3Request) -> web.StreamResponse:
    root = xml.parse(await read_xml_body(s3), "VersioningConfiguration")
    status = xml.child_text(root, "Status")
    mfa_delete = xml.child_text(root, "MfaDelete")
    if status not in (ENABLED, SUSPENDED) or mfa_delete not in (None, "Enabled", "Disabled"):
        # S3's answer to a Status other than Enabled or Suspended (none included: there is
        # no way back to "never versioned")
        raise errors.IllegalVersioningConfigurationException(
            "The Versioning element must be specified")
    if mfa_delete == "Enabled" or "x-amz-mfa" in s3.headers:
        raise errors.NotImplemented("MFA delete is not supported", Header="x-amz-mfa")
    if status != ENABLED and await _has_object_lock(s3):
        raise errors.InvalidBucketState(
            "An Object Lock configuration is present on this bucket, so the versioning state "
            "cannot be changed.")
    await s3.backend.put_bucket_versioning(s3.bucket, status)
    return web.Response(status=200)


async def _has_object_lock(s3: S3Request) -> bool:
    """Read afresh: suspending versioning would let a null write replace a locked version."""
    if not s3.backend.capabilities.bucket_config:
        return False
    return await s3.backend.get_bucket_config(s3.bucket, object_lock.CONFIG) is not None


HANDLERS = {
    "GetBucketVersioning": handle_get_bucket_versioning,
    "PutBucketVersioning": handle_put_bucket_versioning,
}
