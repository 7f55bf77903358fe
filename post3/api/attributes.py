"""GetObjectAttributes: ETag, Checksum, ObjectParts, StorageClass, ObjectSize."""

from __future__ import annotations

from aiohttp import web

from post3 import errors, xml
from post3.api.get import check_version_id
from post3.api.object_headers import http_date
from post3.api.request import S3Request
from post3.api.responses import xml_response

ATTRIBUTES = {"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"}


async def handle_get_object_attributes(s3: S3Request) -> web.StreamResponse:
    check_version_id(s3)
    wanted = {a.strip() for a in s3.headers.get("x-amz-object-attributes", "").split(",")
              if a.strip()}
    if not wanted or wanted - ATTRIBUTES:
        raise errors.InvalidArgument("Invalid attribute name specified.",
                                     ArgumentName="x-amz-object-attributes")
    info = await s3.backend.head_object(s3.bucket, s3.key)
    children: list[xml.Child] = []
    if "ETag" in wanted:
        children.append(("ETag", info.etag))  # unquoted, unlike everywhere else
    if "Checksum" in wanted:
        values = [(f"Checksum{name.removeprefix('x-amz-checksum-').upper()}", value)
                  for name, value in info.metadata.items()
                  if name.startswith("x-amz-checksum-") and name != "x-amz-checksum-type"]
        if values:
            kind = info.metadata.get("x-amz-checksum-type", "FULL_OBJECT")
            children.append(("Checksum", [*values, ("ChecksumType", kind)]))
    if "ObjectParts" in wanted and info.part_sizes:
        children.append(("ObjectParts", [("TotalPartsCount", len(info.part_sizes))]))
    if "StorageClass" in wanted:
        children.append(("StorageClass", info.metadata.get("x-amz-storage-class", "STANDARD")))
    if "ObjectSize" in wanted:
        children.append(("ObjectSize", info.size))
    response = xml_response(xml.render("GetObjectAttributesResponse", children))
    response.headers["Last-Modified"] = http_date(info.last_modified)
    return response


HANDLERS = {"GetObjectAttributes": handle_get_object_attributes}
