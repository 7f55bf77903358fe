"""DeleteObject and DeleteObjects."""

from __future__ import annotations

from aiohttp import web

from post3 import errors, names, xml
from post3.api.body import read_xml_body
from post3.api.get import check_version_id
from post3.api.request import S3Request
from post3.api.responses import xml_response

MAX_DELETE_KEYS = 1000


async def handle_delete_object(s3: S3Request) -> web.StreamResponse:
    check_version_id(s3)
    await s3.backend.delete_object(s3.bucket, s3.key)
    return web.Response(status=204)


def parse_delete(body: bytes) -> tuple[list[str], bool]:
    root = xml.parse(body, "Delete")
    quiet = (xml.child_text(root, "Quiet") or "false").lower() == "true"
    keys: list[str] = []
    for obj in xml.children(root, "Object"):
        key_elements = xml.children(obj, "Key")
        if len(key_elements) != 1:
            raise errors.MalformedXML()
        keys.append(key_elements[0].text or "")
    if not keys or len(keys) > MAX_DELETE_KEYS:
        raise errors.MalformedXML()
    return keys, quiet


async def handle_delete_objects(s3: S3Request) -> web.StreamResponse:
    body = await read_xml_body(s3)
    keys, quiet = parse_delete(body)
    await s3.backend.head_bucket(s3.bucket)
    valid: list[str] = []
    results: dict[str, errors.S3Error | None] = {}
    for key in keys:
        try:
            if not key:
                raise errors.UserKeyMustBeSpecified()
            names.check_key(key)
        except errors.S3Error as exc:
            results[key] = exc
        else:
            valid.append(key)
    # A key a backend's override left out was not reported deleted: it is not claimed to be.
    results.update((key, errors.InternalError()) for key in valid)
    for key, error in await s3.backend.delete_objects(s3.bucket, valid):
        results[key] = error
    children: list[xml.Child] = []
    for key in keys:
        error = results.get(key)
        if error is None:
            if not quiet:
                children.append(("Deleted", [("Key", key)]))
        else:
            children.append(("Error", [("Key", key), ("Code", error.code),
                                       ("Message", error.message)]))
    return xml_response(xml.render("DeleteResult", children))


HANDLERS = {"DeleteObject": handle_delete_object, "DeleteObjects": handle_delete_objects}
