"""Multipart rules that do not depend on HTTP: part numbers, the completion list, the ETag and
checksums of the completed object.

The backend stores parts and concatenates them; everything S3 checks and computes happens
here, so every backend completes alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from post3 import checksums, errors, listing, xml
from post3.api.object_headers import unquote_etag
from post3.backend import (
    COMPOSITE,
    FULL_OBJECT,
    Checksums,
    MultipartOrigin,
    ObjectInfo,
    PartInfo,
    UploadCursor,
    UploadInfo,
    md5_of_etags,
    utcnow,
)

MIN_PART_NUMBER = 1
MAX_PART_NUMBER = 10_000
#: Every part but the last must be at least this large (S3's limit).
MIN_PART_SIZE = 5 * 1024 * 1024

TYPE_HEADER = "x-amz-checksum-type"


def parse_part_number(value: str | None) -> int:
    if value is None or not value.isdigit() or not (
        MIN_PART_NUMBER <= int(value) <= MAX_PART_NUMBER
    ):
        raise errors.InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber", ArgumentValue=value,
        )
    return int(value)


def checksum_settings(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """``(algorithm, type)`` from the ``x-amz-checksum-algorithm`` / ``x-amz-checksum-type``
    of CreateMultipartUpload (None: no checksum). CRC64NVME only exists as a full-object
    checksum; the rest default to COMPOSITE, as in S3."""
    algorithm = headers.get("x-amz-checksum-algorithm")
    kind = headers.get("x-amz-checksum-type")
    if algorithm is None:
        if kind is not None:
            raise errors.InvalidRequest(
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header."
            )
        return None
    name = checksums.normalize(algorithm)
    kind = (kind or ("FULL_OBJECT" if name == "crc64nvme" else "COMPOSITE")).upper()
    if kind not in ("COMPOSITE", "FULL_OBJECT"):
        raise errors.InvalidRequest("Value for x-amz-checksum-type header is invalid.")
    if kind == "COMPOSITE" and name == "crc64nvme" or \
            kind == "FULL_OBJECT" and name not in ("crc32", "crc32c", "crc64nvme"):
        raise errors.InvalidRequest(
            f"The {kind} checksum type cannot be used with the {name} checksum algorithm."
        )
    return name, kind


def uploads_cursor(key_marker: str, upload_id_marker: str, prefix: str,
                   delimiter: str) -> UploadCursor | None:
    """Where ListMultipartUploads resumes, by S3's two-marker rule: after every upload of
    ``key-marker`` (past its whole group when it names a common prefix); with an
    ``upload-id-marker`` too, after that upload of the key only; an ``upload-id-marker``
    without a ``key-marker`` is ignored."""
    if not key_marker:
        return None
    resume = listing.resume_point(key_marker, prefix, delimiter)
    if resume != key_marker or not upload_id_marker:
        return UploadCursor(resume)
    return UploadCursor(key_marker, upload_id_marker)


@dataclass(frozen=True, slots=True)
class RequestedPart:
    part_number: int
    etag: str
    checksums: Mapping[str, str]


def parse_complete(body: bytes) -> list[RequestedPart]:
    """CompleteMultipartUpload's body in every form clients send (S3-WIRE.md §1.7.2)."""
    root = xml.parse(body, "CompleteMultipartUpload")
    parts: list[RequestedPart] = []
    for element in xml.children(root, "Part"):
        number = xml.child_text(element, "PartNumber")
        etag = xml.child_text(element, "ETag")
        if number is None or etag is None or not number.isdigit():
            raise errors.MalformedXML()
        given = {}
        for child in element:
            tag = child.tag.rsplit("}", 1)[-1]
            if tag.startswith("Checksum") and tag != "ChecksumType":
                given[checksums.normalize(tag[len("Checksum"):])] = (child.text or "").strip()
        parts.append(RequestedPart(int(number), unquote_etag(etag), given))
    if not parts:
        raise errors.MalformedXML()
    return parts


def select_parts(requested: Sequence[RequestedPart], stored: Sequence[PartInfo]) -> list[PartInfo]:
    """The stored parts the completion names, checked as S3 checks them."""
    by_number = {part.part_number: part for part in stored}
    chosen: list[PartInfo] = []
    previous = 0
    for wanted in requested:
        if wanted.part_number <= previous:
            raise errors.InvalidPartOrder(UploadId=None)
        previous = wanted.part_number
        part = by_number.get(wanted.part_number)
        if part is None or part.etag != wanted.etag:
            raise errors.InvalidPart(PartNumber=wanted.part_number, ETag=wanted.etag)
        for name, value in wanted.checksums.items():
            if part.checksums.get(name) not in (None, value):
                raise errors.InvalidPart(PartNumber=wanted.part_number, ETag=wanted.etag)
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise errors.EntityTooSmall(ProposedSize=part.size, MinSizeAllowed=MIN_PART_SIZE,
                                        PartNumber=part.part_number, ETag=part.etag)
    return chosen


def completed_info(upload: UploadInfo, parts: Sequence[PartInfo]) -> ObjectInfo:
    """The completed object's info: ``md5(md5s)-N`` ETag, part sizes, and the upload's
    attributes with its checksum settings turned into the object's checksum."""
    algorithm, kind = upload.checksum_algorithm, upload.attributes.checksums.type
    object_checksums = Checksums()
    origin = MultipartOrigin(upload.upload_id)
    if algorithm is not None and all(algorithm in part.checksums for part in parts):
        values = [part.checksums[algorithm] for part in parts]
        if kind == FULL_OBJECT:
            sizes = [part.size for part in parts]
            value = checksums.full_object(algorithm, zip(values, sizes, strict=True))
        else:
            value = checksums.composite(algorithm, values)
        object_checksums = Checksums({algorithm: value}, kind or COMPOSITE)
        origin = MultipartOrigin(upload.upload_id, algorithm, tuple(values))
    return ObjectInfo(
        key=upload.key,
        size=sum(part.size for part in parts),
        etag=f"{md5_of_etags(part.etag for part in parts)}-{len(parts)}",
        last_modified=utcnow(),
        attributes=replace(upload.attributes, checksums=object_checksums, multipart=origin),
        tags=dict(upload.tags),
        part_sizes=tuple(part.size for part in parts),
    )


def part_checksums(info: ObjectInfo) -> tuple[str, list[str]] | None:
    """``(algorithm, one base64 checksum per part)`` of a multipart object completed with a
    checksum; None for any other object."""
    origin = info.attributes.multipart
    if origin is None or origin.part_checksum_algorithm is None or not info.part_sizes:
        return None
    values = list(origin.part_checksums)
    if len(values) != len(info.part_sizes) \
            or origin.part_checksum_algorithm not in info.checksums.values:
        return None
    return origin.part_checksum_algorithm, values


def check_expected_checksum(headers: Mapping[str, str], info: ObjectInfo) -> None:
    """CompleteMultipartUpload's ``x-amz-checksum-<alg>`` header is the checksum the client
    expects of the whole object (``<b64>-N`` for COMPOSITE, the object's CRC for FULL_OBJECT):
    a mismatch is ``BadDigest``, checked before anything is committed. ``x-amz-checksum-type``
    must name the upload's type."""
    kind = headers.get(TYPE_HEADER)
    stored_kind = info.checksums.type
    if kind is not None and kind.upper() != stored_kind:
        raise errors.InvalidRequest(
            f"The upload was created using the {stored_kind or 'null'} checksum mode. The "
            f"complete request must use the same checksum mode.")
    given = {}
    for header, value in headers.items():
        name = checksums.algorithm_of_header(header)
        if name is not None:
            given[name] = value.strip()
    if not given:
        return
    if len(given) > 1:
        raise errors.InvalidRequest(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
    ((name, value),) = given.items()
    stored = info.checksums.values.get(name)
    if stored is None:
        created = next(iter(info.checksums.values), "null")
        raise errors.InvalidRequest(
            f"The upload was created using the {created.upper()} checksum algorithm, but the "
            f"complete request names {name.upper()}.")
    # S3 writes a composite value <b64>-N; the bare <b64> names the same checksum.
    if value not in (stored, stored.rsplit("-", 1)[0]):
        raise errors.BadDigest(
            f"The {name.upper()} you specified did not match the calculated checksum.")


def completed_from(info: ObjectInfo, upload_id: str, requested: Sequence[RequestedPart]) -> bool:
    """Whether ``info`` is what completing ``upload_id`` with ``requested`` made: a retried
    CompleteMultipartUpload then answers as the first one did."""
    if not completed_upload(info, upload_id) or not info.part_sizes:
        return False
    try:
        etag = md5_of_etags(part.etag for part in requested)
    except ValueError:  # an ETag that is not hex names no part
        return False
    return info.etag == f"{etag}-{len(requested)}"


def completed_upload(info: ObjectInfo, upload_id: str) -> bool:
    """Whether ``info`` is the object completing ``upload_id`` made."""
    return info.attributes.multipart is not None \
        and info.attributes.multipart.upload_id == upload_id
