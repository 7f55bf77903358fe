"""GetObjectAttributes: ETag, Checksum, ObjectParts, StorageClass, ObjectSize."""

from __future__ import annotations

from aiohttp import web

from post3 import errors, multipart, xml
from post3.api.object_headers import checksum_children, http_date
from post3.api.request import S3Request
from post3.api.responses import xml_response
from post3.api.versioning import head_version, requested_version, version_headers
from post3.backend import ObjectInfo
from post3.encryption import service as encryption

ATTRIBUTES = {"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"}
#: S3's largest page of parts (``x-amz-max-parts``).
MAX_PARTS = 1000


def _header_number(s3: S3Request, header: str, default: int) -> int:
    value = s3.headers.get(header)
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise errors.InvalidArgument(f"Provided {header} not an integer or within integer range",
                                     ArgumentName=header, ArgumentValue=value)
    return int(value)


def object_parts(s3: S3Request, info: ObjectInfo) -> list[xml.Child]:
    """``ObjectParts`` as S3 shapes it: the part count, and a page of ``Part`` elements (number,
    size, checksum) after ``x-amz-part-number-marker``, at most ``x-amz-max-parts``. S3 lists
    parts only for an object stored with a checksum."""
    max_parts = min(_header_number(s3, "x-amz-max-parts", MAX_PARTS), MAX_PARTS)
    marker = _header_number(s3, "x-amz-part-number-marker", 0)
    stored = multipart.part_checksums(info)
    numbers = range(marker + 1, len(info.part_sizes) + 1) if stored is not None else range(0)
    page = numbers[:max_parts]
    children: list[xml.Child] = [
        ("PartsCount", len(info.part_sizes)),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", page[-1] if page else marker),
        ("MaxParts", max_parts),
        ("IsTruncated", len(numbers) > max_parts),
    ]
    if stored is not None:
        algorithm, values = stored
        children.extend(("Part", [
            ("PartNumber", number), ("Size", info.part_sizes[number - 1]),
            (f"Checksum{algorithm.upper()}", values[number - 1]),
        ]) for number in page)
    return children


async def handle_get_object_attributes(s3: S3Request) -> web.StreamResponse:
    version_id = requested_version(s3)
    wanted = {a.strip() for a in s3.headers.get("x-amz-object-attributes", "").split(",")
              if a.strip()}
    if not wanted or wanted - ATTRIBUTES:
        raise errors.InvalidArgument("Invalid attribute name specified.",
                                     ArgumentName="x-amz-object-attributes")
    info = await head_version(s3, s3.bucket, s3.key, version_id)
    encryption.check_read(s3, info)
    children: list[xml.Child] = []
    if "ETag" in wanted:
        children.append(("ETag", info.etag))  # unquoted, unlike everywhere else
    if "Checksum" in wanted:
        values = checksum_children(info.checksums)
        if values:
            children.append(("Checksum", list(values)))
    if "ObjectParts" in wanted and info.part_sizes:
        children.append(("ObjectParts", object_parts(s3, info)))
    if "StorageClass" in wanted:
        children.append(("StorageClass", info.storage_class))
    if "ObjectSize" in wanted:
        children.append(("ObjectSize", info.size))
    response = xml_response(xml.render("GetObjectAttributesResponse", children))
    response.headers["Last-Modified"] = http_date(info.last_modified)
    response.headers.update(version_headers(info))
    return response


HANDLERS = {"GetObjectAttributes": handle_get_object_attributes}
