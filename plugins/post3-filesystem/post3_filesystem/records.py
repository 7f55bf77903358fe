"""The on-disk record: the bytes, then a JSON header, then a 12-byte trailer.

``[data][header JSON][header length: u32 big-endian][b"P3OBJv1\\n"]``

The data is ``size`` bytes long, or ``stored_size`` when the header has it (an encrypted
object, whose stored bytes are longer than the object S3 shows).

The header describes exactly the bytes in front of it, and both are written into one file
that becomes visible with one ``os.replace``: a reader sees the old record or the new one,
never new bytes with old metadata. The header goes last because size and ETag are known only
once the body is exhausted, and it keeps the data at offset 0, so ``sendfile`` offsets are the
object's own offsets.

An object's header names its version (``version_id``, ``sequence``, ``delete_marker``: a delete
marker is a record with no bytes). Records written before versioning (data format 1) have none
of these fields: each is its key's ``null`` version, placed in the key's history at its
LastModified by :func:`post3.versioning.legacy_sequence`, salted with the record's token
(``version``), so it reads the same every time without being rewritten.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import struct
from typing import Any

from post3 import errors
from post3.backend import (
    NULL_VERSION,
    ListEntry,
    ObjectInfo,
    PartInfo,
    UploadInfo,
    attributes_from_pairs,
    attributes_to_pairs,
    sorted_tags,
    storage_class_from_pairs,
)
from post3.versioning import legacy_sequence

MAGIC = b"P3OBJv1\n"
#: Bytes read from a record's end to find its header: most headers are well under this.
TAIL = 4096
_TRAILER = struct.Struct(">I8s")


class CorruptRecord(errors.InternalError):
    """A file in the data root does not end with a valid post3 trailer."""


def encode(header: dict[str, Any]) -> bytes:
    body = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    return body + _TRAILER.pack(len(body), MAGIC)


#: ``os.preadv``'s flag for a read that fails rather than wait on the disk (Linux 4.14 on).
RWF_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)


class NotCached(Exception):  # noqa: N818 - a signal, not a failure
    """A read asked to be served from the page cache alone would have waited on the disk."""


def pread(fd: int, length: int, offset: int, cached_only: bool = False) -> bytes | bytearray:
    """``length`` bytes at ``offset``; with ``cached_only``, only if the page cache holds
    them all (else :class:`NotCached`, and the caller reads them where waiting is allowed)."""
    if not cached_only:
        return os.pread(fd, length, offset)
    if RWF_NOWAIT is None:
        raise NotCached
    buffer = bytearray(length)
    try:
        got = os.preadv(fd, [buffer], offset, RWF_NOWAIT)
    except BlockingIOError:
        raise NotCached from None
    except OSError as error:
        if error.errno == errno.EOPNOTSUPP:  # a filesystem without it
            raise NotCached from None
        raise
    if got != length:  # part of it cached
        raise NotCached
    return buffer


def read(fd: int, cached_only: bool = False) -> tuple[dict[str, Any], int]:
    """The header of the record open at ``fd`` and the size of its data. One read takes
    the trailer with the header in front of it when that is no longer than :data:`TAIL`.
    ``cached_only``: see :func:`pread`."""
    total = os.fstat(fd).st_size
    if total < _TRAILER.size:
        raise CorruptRecord("A stored object is damaged (too short)")
    tail = pread(fd, min(total, TAIL), max(0, total - TAIL), cached_only)
    length, magic = _TRAILER.unpack_from(tail, len(tail) - _TRAILER.size)
    data_size = total - _TRAILER.size - length
    if magic != MAGIC or data_size < 0:
        raise CorruptRecord("A stored object is damaged (bad trailer)")
    if length + _TRAILER.size <= len(tail):
        raw = tail[len(tail) - _TRAILER.size - length: len(tail) - _TRAILER.size]
    else:
        raw = pread(fd, length, data_size, cached_only)
    header = json.loads(raw.decode())  # a str skips json's detection of the encoding
    if header.get("stored_size", header.get("size")) != data_size:
        raise CorruptRecord("A stored object is damaged (size mismatch)")
    return header, data_size


def with_data_size(header: dict[str, Any], data_size: int) -> dict[str, Any]:
    """``header`` for a record of ``data_size`` bytes: an encrypted object's (or part's) data
    is longer than its ``size`` (post3.backend's contract), and ``stored_size`` then says how
    long (absent when they are equal, as in records written before it existed)."""
    if data_size == header["size"]:
        return header
    return {**header, "stored_size": data_size}


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def object_header(info: ObjectInfo, version: str) -> dict[str, Any]:
    return {
        "version": version,
        "key": info.key,
        "size": info.size,
        "etag": info.etag,
        "last_modified": info.last_modified.isoformat(),
        # The pairs of post3.backend.attributes_to_pairs: the layout records had when
        # metadata was a bag of such pairs, so records written then read back unchanged.
        "metadata": attributes_to_pairs(info.attributes),
        "tags": dict(info.tags),
        "part_sizes": list(info.part_sizes),
        "version_id": info.version_id,
        "sequence": info.sequence,
        "delete_marker": info.delete_marker,
    }


def identity(header: dict[str, Any]) -> tuple[str, str]:
    """``(version id, sequence)`` of the version a record holds (format 1: the null version)."""
    sequence = header.get("sequence")
    if sequence is None:
        return NULL_VERSION, legacy_sequence(parse_time(header["last_modified"]),
                                             header["version"])
    return header["version_id"], sequence


def object_info(header: dict[str, Any], side: dict[str, Any] | None = None) -> ObjectInfo:
    """The info of the record ``header``, with what its side file changed since (tags,
    attributes)."""
    side = side or {}
    version_id, sequence = identity(header)
    return ObjectInfo(
        key=header["key"],
        size=header["size"],
        etag=header["etag"],
        last_modified=parse_time(header["last_modified"]),
        attributes=attributes_from_pairs(side.get("metadata", header["metadata"])),
        # Records keep tags in the order they were given; every backend returns them sorted.
        tags=sorted_tags(side.get("tags", header["tags"])),
        part_sizes=tuple(header["part_sizes"]),
        version_id=version_id,
        delete_marker=header.get("delete_marker", False),
        sequence=sequence,
    )


def list_entry(header: dict[str, Any], is_latest: bool = True) -> ListEntry:
    """The record as a listing shows it: :func:`object_info` without decoding the metadata
    (a listing reads a header per key, so this is on its path once per key)."""
    return ListEntry(header["key"], *list_fields(header), is_latest=is_latest)


#: ListEntry's fields after the key: size, etag, last modified, storage class, version id,
#: delete marker, sequence.
ListFields = tuple[int, str, dt.datetime, str, str, bool, str]


def list_fields(header: dict[str, Any]) -> ListFields:
    """:class:`ListEntry`'s fields after the key, as a tuple: what a kept listing remembers
    of a record (a tuple of strings, numbers and a time is left alone by the cyclic garbage
    collector, where 100,000 dataclass objects would be walked by every full collection)."""
    version_id, sequence = identity(header)
    return (header["size"], header["etag"], parse_time(header["last_modified"]),
            storage_class_from_pairs(header["metadata"]), version_id,
            header.get("delete_marker", False), sequence)


def part_header(part: PartInfo) -> dict[str, Any]:
    return {
        "part_number": part.part_number,
        "size": part.size,
        "etag": part.etag,
        "last_modified": part.last_modified.isoformat(),
        "checksums": dict(part.checksums),
    }


def part_info(header: dict[str, Any]) -> PartInfo:
    return PartInfo(
        part_number=header["part_number"],
        size=header["size"],
        etag=header["etag"],
        last_modified=parse_time(header["last_modified"]),
        checksums=header["checksums"],
    )


def upload_json(upload: UploadInfo) -> bytes:
    return json.dumps({
        "key": upload.key,
        "upload_id": upload.upload_id,
        "initiated": upload.initiated.isoformat(),
        "metadata": upload.to_pairs(),
        "tags": dict(upload.tags),
    }, ensure_ascii=False).encode()


def upload_info(raw: bytes) -> UploadInfo:
    data = json.loads(raw)
    return UploadInfo.from_pairs(data["key"], data["upload_id"], parse_time(data["initiated"]),
                                 data["metadata"], data["tags"])
