"""S3's flexible checksums: CRC32, CRC32C, CRC64NVME, SHA1 and SHA256.

Every algorithm hides behind one small interface: :func:`new` gives a hasher by name, ``update``
feeds it, ``base64`` is the value S3 puts in ``x-amz-checksum-<name>`` (the big-endian digest in
base64). CRC32C and CRC64NVME come from ``awscrt`` (AWS's own, SIMD-accelerated), CRC32 from
zlib, the SHAs from hashlib.

Why awscrt: it is the library botocore itself uses for these CRCs (``botocore[crt]``), it is
maintained by AWS alongside the SDKs, ships wheels for every common platform, and computes at
memory speed in C, where a table-driven pure-Python CRC would cost orders of magnitude more on
every upload. It also offers the ``combine`` functions that make full-object multipart
checksums possible without reading the data again.

Names are the lower-case forms used in header names (``crc64nvme``); :func:`normalize` accepts
the upper-case spelling of ``x-amz-sdk-checksum-algorithm`` (``CRC64NVME``) too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable, Iterable
from typing import Protocol

from awscrt import checksums as crt

from post3 import errors

#: Digest size in bytes of every algorithm S3 supports.
DIGEST_SIZES: dict[str, int] = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}
ALGORITHMS: tuple[str, ...] = tuple(DIGEST_SIZES)
CRC_ALGORITHMS: frozenset[str] = frozenset({"crc32", "crc32c", "crc64nvme"})
HEADER_PREFIX = "x-amz-checksum-"
#: ``x-amz-checksum-*`` headers that carry no checksum value.
NOT_VALUE_HEADERS: frozenset[str] = frozenset(
    {"x-amz-checksum-mode", "x-amz-checksum-type", "x-amz-checksum-algorithm"}
)
UNSUPPORTED_MESSAGE = (
    "Checksum algorithm provided is unsupported. Please try again with any of the valid types: "
    "[CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
)


class Hasher(Protocol):
    name: str

    def update(self, data: bytes | memoryview, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    __slots__ = ("name", "_function", "_size", "_value")

    def __init__(self, name: str, function: Callable[[bytes | memoryview, int], int],
                 size: int) -> None:
        self.name = name
        self._function = function
        self._size = size
        self._value = 0

    def update(self, data: bytes | memoryview, /) -> None:
        self._value = self._function(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._size, "big")


class _Hashlib:
    __slots__ = ("name", "_hash")

    def __init__(self, name: str) -> None:
        self.name = name
        self._hash = hashlib.new(name)

    def update(self, data: bytes | memoryview, /) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()


def normalize(name: str) -> str:
    """``CRC32`` / ``crc32`` -> ``crc32``; an unknown name -> ``InvalidRequest``."""
    lowered = name.strip().lower()
    if lowered not in DIGEST_SIZES:
        raise errors.InvalidRequest(UNSUPPORTED_MESSAGE)
    return lowered


def new(name: str) -> Hasher:
    """A fresh hasher for the algorithm ``name`` (``crc32``, ``CRC64NVME``...)."""
    name = normalize(name)
    if name == "crc32":
        return _Crc(name, zlib.crc32, 4)
    if name == "crc32c":
        return _Crc(name, crt.crc32c, 4)
    if name == "crc64nvme":
        return _Crc(name, crt.crc64nvme, 8)
    return _Hashlib(name)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def compute(name: str, data: bytes) -> str:
    """The base64 checksum of ``data`` in one call."""
    hasher = new(name)
    hasher.update(data)
    return b64(hasher.digest())


def decode_value(name: str, value: str, *, what: str = "header") -> bytes:
    """The raw digest of a base64 checksum value, checked for shape.

    S3 refuses a value that is not canonical padded base64 of the algorithm's digest size (hex,
    unpadded, wrong length) with ``InvalidRequest: Value for x-amz-checksum-<name> header is
    invalid.`` (``trailing header`` for a trailer).
    """
    name = normalize(name)
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != DIGEST_SIZES[name] or b64(raw) != value:
        raise errors.InvalidRequest(f"Value for {HEADER_PREFIX}{name} {what} is invalid.")
    return raw


def algorithm_of_header(header: str) -> str | None:
    """``x-amz-checksum-crc32`` -> ``crc32``; None for headers that carry no checksum value.

    An ``x-amz-checksum-*`` header naming an unknown algorithm is ``InvalidRequest``."""
    lowered = header.lower()
    if not lowered.startswith(HEADER_PREFIX) or lowered in NOT_VALUE_HEADERS:
        return None
    name = lowered[len(HEADER_PREFIX):]
    if name not in DIGEST_SIZES:
        raise errors.InvalidRequest(
            "The algorithm type you specified in x-amz-checksum- header is invalid."
        )
    return name


def composite(name: str, part_values: Iterable[str]) -> str:
    """S3's COMPOSITE multipart checksum: ``base64(H(raw1 + raw2 + ...))-N``.

    ``part_values`` are the parts' base64 checksums, in part order."""
    hasher = new(name)
    count = 0
    for value in part_values:
        hasher.update(decode_value(name, value))
        count += 1
    return f"{b64(hasher.digest())}-{count}"


_CRC_COMBINERS = {
    "crc32": (crt.combine_crc32, 4),
    "crc32c": (crt.combine_crc32c, 4),
    "crc64nvme": (crt.combine_crc64nvme, 8),
}


def full_object(name: str, parts: Iterable[tuple[str, int]]) -> str:
    """S3's FULL_OBJECT multipart checksum of a CRC: the CRC of the whole object, combined from
    the parts' ``(base64 checksum, size)`` without reading the data again."""
    name = normalize(name)
    if name not in _CRC_COMBINERS:
        raise errors.InvalidRequest(f"The FULL_OBJECT checksum type is not supported for {name}")
    combine, size = _CRC_COMBINERS[name]
    value: int | None = None
    for part_value, part_size in parts:
        crc = int.from_bytes(decode_value(name, part_value), "big")
        value = crc if value is None else combine(value, crc, part_size)
    return b64((value or 0).to_bytes(size, "big"))
