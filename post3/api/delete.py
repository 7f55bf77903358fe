"""DeleteObject and DeleteObjects: one rule for both (:func:`delete_one`).

Without a version id, a delete removes the key in a bucket that never had versioning and adds
a delete marker otherwise (the backend decides, with the bucket's status at commit). With one,
it removes that version for good; removing a delete marker brings the key back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from post3 import errors, names, versioning, xml
from post3.api.authorization import authorize_listed_key
from post3.api.body import read_xml_body
from post3.api.object_lock import bypass_governance
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.api.versioning import backend_version
from post3.backend import NULL_VERSION, Backend

MAX_DELETE_KEYS = 1000

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Deleted:
    """What a delete did, as S3 reports it."""

    #: the version the request named, if it named one
    version_id: str | None = None
    #: a delete marker was added, or the version removed was one
    delete_marker: bool = False
    #: that delete marker's id
    marker_version_id: str | None = None

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        version_id = self.version_id or self.marker_version_id
        # a null version's id goes unnamed, as on every response (version_headers)
        if version_id is not None and (version_id != NULL_VERSION or self.delete_marker):
            headers["x-amz-version-id"] = version_id
        if self.delete_marker:
            headers["x-amz-delete-marker"] = "true"
        return headers


async def delete_one(backend: Backend, bucket: str, key: str,
                     version_id: str | None, bypass_governance: bool = False) -> Deleted:
    """Delete ``key`` (its version ``version_id``, already checked); see the module doc.
    A version under object lock stays (AccessDenied) unless ``bypass_governance`` lifts its
    GOVERNANCE retention (:mod:`post3.object_lock`)."""
    asked = backend_version(backend, version_id)
    if asked is None:
        marker = await backend.delete_object(bucket, key, marker=versioning.new_version())
        if marker is None:
            return Deleted(version_id)
        return Deleted(version_id, True, marker.version_id)
    removed = await backend.delete_object_version(bucket, key, asked,
                                                  bypass_governance=bypass_governance)
    if removed is not None and removed.delete_marker:
        return Deleted(asked, True, asked)
    return Deleted(asked)


async def handle_delete_object(s3: S3Request) -> web.StreamResponse:
    version_id = versioning.check_version_id(s3.query.get("versionId"))
    deleted = await delete_one(s3.backend, s3.bucket, s3.key, version_id,
                               bypass_governance(s3))
    return web.Response(status=204, headers=deleted.headers())


def parse_delete(body: bytes) -> tuple[list[tuple[str, str | None]], bool]:
    """The ``(key, version id or None)`` of each ``<Object>``, and ``<Quiet>``."""
    root = xml.parse(body, "Delete")
    quiet = (xml.child_text(root, "Quiet") or "false").lower() == "true"
    objects: list[tuple[str, str | None]] = []
    for obj in xml.children(root, "Object"):
        key_elements = xml.children(obj, "Key")
        if len(key_elements) != 1 or len(xml.children(obj, "VersionId")) > 1:
            raise errors.MalformedXML()
        objects.append((key_elements[0].text or "", xml.child_text(obj, "VersionId")))
    if not objects or len(objects) > MAX_DELETE_KEYS:
        raise errors.MalformedXML()
    return objects, quiet


async def _delete_listed(s3: S3Request, key: str, version_id: str | None) -> Deleted:
    if not key:
        raise errors.UserKeyMustBeSpecified()
    names.check_key(key)
    if version_id is not None and not (version_id == NULL_VERSION
                                       or versioning.VERSION_ID.match(version_id)):
        # S3 answers a malformed id in a DeleteObjects list as a version that does not exist
        # (DeleteObject's own query parameter gets InvalidArgument)
        raise errors.NoSuchVersion(Key=key, VersionId=version_id)
    await authorize_listed_key(s3, key)
    return await delete_one(s3.backend, s3.bucket, key, version_id, bypass_governance(s3))


async def handle_delete_objects(s3: S3Request) -> web.StreamResponse:
    body = await read_xml_body(s3)
    objects, quiet = parse_delete(body)
    await s3.backend.head_bucket(s3.bucket)
    children: list[xml.Child] = []
    for key, version_id in objects:
        # A key's failure, expected or not, is that key's <Error>: it never aborts the rest.
        try:
            deleted = await _delete_listed(s3, key, version_id)
        except errors.S3Error as exc:
            error: errors.S3Error = exc
        except Exception:
            log.exception("DeleteObjects: deleting %r from bucket %r failed", key, s3.bucket)
            error = errors.InternalError()
        else:
            if not quiet:
                children.append(("Deleted", [
                    ("Key", key), ("VersionId", version_id),
                    ("DeleteMarker", True if deleted.delete_marker else None),
                    ("DeleteMarkerVersionId", deleted.marker_version_id),
                ]))
            continue
        children.append(("Error", [("Key", key), ("VersionId", version_id),
                                   ("Code", error.code), ("Message", error.message)]))
    return xml_response(xml.render("DeleteResult", children))


HANDLERS = {"DeleteObject": handle_delete_object, "DeleteObjects": handle_delete_objects}
