"""Bucket names and object keys, checked as S3 checks them."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from functools import lru_cache

from post3 import errors

MAX_KEY_BYTES = 1024

#: The one path prefix that is not S3: post3's own endpoints (health, metrics, the console)
#: and every route a plugin adds live under it. An underscore is never valid in a bucket name,
#: so no bucket can be shadowed by them.
RESERVED_PREFIX = "/_post3/"

_BUCKET_CHARS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
#: Prefixes and suffixes AWS reserves for its own bucket types.
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


@lru_cache(maxsize=4096)
def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 bucket name, or None when it is. Remembered: every request
    names a bucket, mostly one of a few, and the IP address test costs an exception."""
    if not 3 <= len(name) <= 63:
        return "Bucket name must be between 3 and 63 characters long"
    if not _BUCKET_CHARS.match(name):
        return (
            "Bucket name can consist only of lowercase letters, numbers, periods (.) and "
            "hyphens (-), and must begin and end with a letter or number"
        )
    if ".." in name:
        return "Bucket name must not contain two adjacent periods"
    if ".-" in name or "-." in name:
        # Each dot-separated label must start and end with a letter or number (DNS rules).
        return "Bucket name must not contain a period next to a hyphen"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "Bucket name must not be formatted as an IP address"
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return "Bucket name uses a reserved prefix or suffix"
    return None


def check_bucket_name(name: str) -> None:
    problem = bucket_name_problem(name)
    if problem is not None:
        raise errors.InvalidBucketName(problem, BucketName=name)


def check_key(key: str, argument: str = "key") -> None:
    """S3 accepts any UTF-8 key of 1 to 1024 bytes; post3 refuses U+0000 (see check_no_nul).

    ``argument`` names where the key came from (``key``, ``x-amz-copy-source``) in the error.
    """
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise errors.KeyTooLongError(Size=size, MaxSizeAllowed=MAX_KEY_BYTES)
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.InvalidArgument("Object key is not valid UTF-8") from None
    check_no_nul(key, argument)


def check_no_nul(value: str, argument: str) -> None:
    """Refuse U+0000 in a key or in anything compared with keys (prefix, marker, start-after,
    delimiter, continuation token, copy source), on every backend alike.

    XML 1.0 cannot carry U+0000, not even as ``&#0;``: such a key could never be listed,
    named in a DeleteObjects document or in an error. PostgreSQL's ``text`` cannot hold it;
    the filesystem could. One rule in the core keeps every backend answering the same, with
    the 400 InvalidArgument S3 gives a parameter it cannot accept.
    """
    if "\x00" in value:
        raise errors.InvalidArgument(
            f"The {argument} must not contain the character U+0000.", ArgumentName=argument
        )


def check_query(query: Mapping[str, str]) -> None:
    """No query parameter of S3 carries U+0000 (they are keys, markers, ids, tokens, header
    overrides): refuse it in any of them, naming the parameter."""
    for name, value in query.items():
        check_no_nul(value, name)
