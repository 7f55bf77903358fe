"""Object headers: what a PUT stores from its request, and what GET/HEAD send back."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping
from email.utils import format_datetime, parsedate_to_datetime

from multidict import CIMultiDictProxy

from post3 import errors
from post3.backend import ObjectInfo
from post3.payload import stored_content_encoding

DEFAULT_CONTENT_TYPE = "binary/octet-stream"
META_PREFIX = "x-amz-meta-"
#: S3 limits user metadata (names and values, UTF-8) to 2 KB.
MAX_USER_METADATA = 2048
#: Standard headers S3 stores with an object and sends back on GET and HEAD.
CONTENT_HEADERS = (
    "content-type",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
)
#: ``response-*`` query parameters of GetObject and the header each overrides.
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
MAX_TAGS = 10
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256


def metadata_from_request(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    """The metadata to store for a new object: content headers and ``x-amz-meta-*``."""
    metadata: dict[str, str] = {"content-type": headers.get("Content-Type") or DEFAULT_CONTENT_TYPE}
    for name in CONTENT_HEADERS[1:]:
        value = headers.get(name)
        if value is not None:
            metadata[name] = value
    encoding = stored_content_encoding(headers.get("Content-Encoding"))
    if encoding is None:
        metadata.pop("content-encoding", None)
    else:
        metadata["content-encoding"] = encoding
    user_size = 0
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(META_PREFIX):
            metadata[lowered] = value
            user_size += len(lowered[len(META_PREFIX):].encode()) + len(value.encode())
    if user_size > MAX_USER_METADATA:
        raise errors.MetadataTooLarge(Size=user_size, MaxSizeAllowed=MAX_USER_METADATA)
    storage_class = headers.get("x-amz-storage-class")
    if storage_class and storage_class != "STANDARD":
        metadata["x-amz-storage-class"] = storage_class
    return metadata


def tags_from_header(value: str | None) -> dict[str, str]:
    """``x-amz-tagging: k1=v1&k2=v2`` (URL-encoded) -> dict, checked against S3's limits."""
    if not value:
        return {}
    tags: dict[str, str] = {}
    for key, tag_value in urllib.parse.parse_qsl(value, keep_blank_values=True):
        if key in tags:
            raise errors.InvalidTag("Cannot provide multiple Tags with the same key", TagKey=key)
        tags[key] = tag_value
    check_tags(tags)
    return tags


def check_tags(tags: Mapping[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise errors.BadRequest("Object tags cannot be greater than 10")
    for key, value in tags.items():
        if not key or len(key) > MAX_TAG_KEY:
            raise errors.InvalidTag("The TagKey you have provided is invalid", TagKey=key)
        if len(value) > MAX_TAG_VALUE:
            raise errors.InvalidTag("The TagValue you have provided is invalid", TagKey=key)
        if "\x00" in key or "\x00" in value:
            # Not a character S3 allows in tags, and one PostgreSQL's text cannot hold.
            raise errors.InvalidTag("The TagKey or TagValue you have provided is invalid",
                                    TagKey=key)


def http_date(value: dt.datetime) -> str:
    return format_datetime(value.astimezone(dt.UTC), usegmt=True)


def parse_http_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def quote_etag(etag: str) -> str:
    return f'"{etag}"'


def unquote_etag(value: str) -> str:
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def object_headers(info: ObjectInfo, query: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers GET and HEAD send for ``info`` (without Content-Length/Range)."""
    headers: dict[str, str] = {
        "ETag": quote_etag(info.etag),
        "Last-Modified": http_date(info.last_modified),
        "Accept-Ranges": "bytes",
    }
    for name, value in info.metadata.items():
        if name in CONTENT_HEADERS or name.startswith(META_PREFIX) or name == "x-amz-storage-class":
            headers[name] = value
    headers.setdefault("content-type", DEFAULT_CONTENT_TYPE)
    if info.tags:
        headers["x-amz-tagging-count"] = str(len(info.tags))
    for parameter, header in RESPONSE_OVERRIDES.items():
        if query and parameter in query:
            headers.pop(header.lower(), None)
            headers[header] = query[parameter]
    return headers
