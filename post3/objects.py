"""The values of the backend contract: what a backend stores and gives back about buckets and
objects (:class:`ObjectAttributes`, :class:`ObjectInfo`, :class:`ListEntry`...). Their one
encoding as string pairs, for backends that store them so, is :mod:`post3.attribute_pairs`.
:mod:`post3.backend` re-exports every name of both: plugins import them from there.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple

from post3 import errors

if TYPE_CHECKING:
    from post3.payload import PayloadDigest


def utcnow() -> dt.datetime:
    """Now, in UTC, truncated to whole seconds: S3's LastModified resolution."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def sorted_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags in the order every backend returns them: by key, as S3 does (code point order,
    which is UTF-8 byte order)."""
    return dict(sorted(tags.items()))


@dataclass(frozen=True, slots=True)
class BucketInfo:
    name: str
    created: dt.datetime


#: The version id of every object written while a bucket's versioning was not Enabled.
NULL_VERSION = "null"
#: A bucket's versioning status (S3's ``Status``); a bucket that never had versioning has none.
ENABLED, SUSPENDED = "Enabled", "Suspended"
VERSIONING_STATUSES = (ENABLED, SUSPENDED)


@dataclass(frozen=True, slots=True)
class NewVersion:
    """The identity the core gives a write (or a delete marker) before the backend stores it.

    ``sequence`` places the version among the versions of its key: versions of a key sort by
    it ascending, newest first, and it is unique across processes and hosts (the core makes
    it from the clock and randomness: :func:`post3.versioning.new_version`). ``version_id`` is
    the id the version gets when the bucket's versioning is Enabled: the sequence itself.
    Otherwise the version is the ``null`` version (:meth:`in_bucket`), which keeps the
    sequence of the write that made it.
    """

    version_id: str
    sequence: str

    def in_bucket(self, versioning: str | None) -> NewVersion:
        """The version as a bucket with this versioning status stores it: its own id when
        Enabled, the ``null`` version when Suspended or never enabled."""
        if versioning == ENABLED:
            return self
        return NewVersion(NULL_VERSION, self.sequence)
#: The storage class S3 assumes when a request names none.
STANDARD = "STANDARD"
#: How a multipart object's checksum combines its parts' (S3's ``x-amz-checksum-type``).
COMPOSITE, FULL_OBJECT = "COMPOSITE", "FULL_OBJECT"
CHECKSUM_TYPES = (COMPOSITE, FULL_OBJECT)


@dataclass(frozen=True, slots=True)
class ContentHeaders:
    """The standard headers S3 stores with an object and sends back on GET and HEAD.

    None means "not stored" (GET then sends S3's default Content-Type)."""

    content_type: str | None = None
    content_encoding: str | None = None
    content_disposition: str | None = None
    content_language: str | None = None
    cache_control: str | None = None
    expires: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """``(lower-case header name, value)`` for each stored header."""
        return [(name, value) for name, value in (
            ("content-type", self.content_type),
            ("content-encoding", self.content_encoding),
            ("content-disposition", self.content_disposition),
            ("content-language", self.content_language),
            ("cache-control", self.cache_control),
            ("expires", self.expires),
        ) if value is not None]


#: ContentHeaders field for each lower-case header name.
CONTENT_FIELDS = {name.replace("_", "-"): name for name in ContentHeaders.__slots__}


@dataclass(frozen=True, slots=True)
class Checksums:
    """An object's checksums: algorithm (``crc32``, ``crc32c``, ``crc64nvme``, ``sha1``,
    ``sha256``) -> base64 value, and how they combine parts.

    ``type`` is None when the object was written whole (PutObject, CopyObject, POST): its
    checksum then covers the object as a whole, which is what :attr:`effective_type` says."""

    values: Mapping[str, str] = field(default_factory=dict)
    type: str | None = None

    @property
    def effective_type(self) -> str | None:
        """What ``x-amz-checksum-type`` / ``ChecksumType`` says: None without a checksum."""
        if not self.values:
            return None
        return self.type or FULL_OBJECT


@dataclass(frozen=True, slots=True)
class MultipartOrigin:
    """What the core keeps about the upload a multipart object was completed from."""

    #: so that a retried CompleteMultipartUpload is recognised and answered as the first one
    upload_id: str
    #: the part checksums' algorithm and one base64 value per part, when completed with a
    #: checksum (``?partNumber=N`` and GetObjectAttributes answer with a part's own checksum)
    part_checksum_algorithm: str | None = None
    part_checksums: tuple[str, ...] = ()


#: Object lock's retention modes (S3's ``ObjectLockMode``).
GOVERNANCE, COMPLIANCE = "GOVERNANCE", "COMPLIANCE"
LOCK_MODES = (GOVERNANCE, COMPLIANCE)


@dataclass(frozen=True, slots=True)
class ObjectLock:
    """A version's object lock: its retention (``mode`` until ``retain_until``, both or neither)
    and its legal hold (None: never set). The rules that read it are in :mod:`post3.object_lock`."""

    mode: str | None = None
    retain_until: dt.datetime | None = None
    legal_hold: bool | None = None

    def retained(self, now: dt.datetime) -> bool:
        """Whether the retention still protects the version at ``now``."""
        return self.retain_until is not None and self.retain_until > now

    def locked(self, now: dt.datetime) -> bool:
        """Whether anything protects the version at ``now``."""
        return bool(self.legal_hold) or self.retained(now)


#: S3's name for the algorithm of an SSE-C object
SSE_C, SSE_C_ALGORITHM = "SSE-C", "AES256"


@dataclass(frozen=True, slots=True)
class Encryption:
    """How the core encrypted an object's bytes (:mod:`post3.encryption`); a backend stores it
    like every attribute and never looks inside.

    ``mode`` is ``AES256`` (SSE-S3), ``aws:kms`` (SSE-KMS, ``kms_key_id`` set) or ``SSE-C``
    (``customer_key_md5`` set). ``data_key`` is the object's random data key wrapped under a
    master key or under a key derived from the customer's (never the key itself);
    ``object_id`` is bound into every segment. ``part_numbers`` are those a multipart object
    was completed from, in order (each part is its own run of segments)."""

    mode: str
    object_id: str
    data_key: str
    kms_key_id: str | None = None
    customer_key_md5: str | None = None
    bucket_key_enabled: bool = False
    part_numbers: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectAccess:
    """Who owns a version and its ACL, in a bucket whose ACLs are enabled (ObjectWriter,
    BucketOwnerPreferred): ``owner`` is the user who owns it when that is not the bucket's
    owner, ``acl`` its grants as :meth:`post3.acl.Acl.to_json` writes them. Both None: the
    bucket's owner owns it, with no other grant."""

    owner: str | None = None
    acl: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectAttributes:
    """Everything a write stores besides the bytes and the tags, as typed values.

    ``user_metadata`` names are lower case and without their ``x-amz-meta-`` prefix. A backend
    that stores string pairs turns these into pairs with :func:`attributes_to_pairs` and back
    with :func:`attributes_from_pairs`, and never looks inside."""

    content: ContentHeaders = field(default_factory=ContentHeaders)
    user_metadata: Mapping[str, str] = field(default_factory=dict)
    checksums: Checksums = field(default_factory=Checksums)
    storage_class: str = STANDARD
    multipart: MultipartOrigin | None = None
    lock: ObjectLock = field(default_factory=ObjectLock)
    #: set when the core stored the bytes encrypted (then longer than ``ObjectInfo.size``)
    encryption: Encryption | None = None
    access: ObjectAccess = field(default_factory=ObjectAccess)


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """A stored object (one version of a key) as the core sees it.

    ``etag`` has no quotes: an MD5 hex digest, or ``<md5-of-md5s>-N`` for a multipart object.
    ``part_sizes`` is set for multipart objects only. ``tags`` are in key order (S3 returns
    them sorted). ``version_id`` is :data:`NULL_VERSION` unless the version was written while
    the bucket's versioning was Enabled; a delete marker (``delete_marker``) has no bytes.
    """

    key: str
    size: int
    etag: str
    last_modified: dt.datetime
    attributes: ObjectAttributes = field(default_factory=ObjectAttributes)
    tags: Mapping[str, str] = field(default_factory=dict)
    part_sizes: tuple[int, ...] = ()
    version_id: str = NULL_VERSION
    delete_marker: bool = False
    #: the version's place among the key's versions (:class:`NewVersion`); "" in an object
    #: built outside a backend
    sequence: str = ""

    @property
    def checksums(self) -> Checksums:
        return self.attributes.checksums

    @property
    def storage_class(self) -> str:
        return self.attributes.storage_class

    @classmethod
    def from_upload(
        cls,
        key: str,
        digest: PayloadDigest,
        attributes: ObjectAttributes,
        tags: Mapping[str, str],
        last_modified: dt.datetime | None = None,
        version: NewVersion | None = None,
    ) -> ObjectInfo:
        """The info of an object written from an exhausted PayloadStream: the checksums
        the stream computed join those the core already verified (``attributes``).
        ``version`` is the stored version (after :meth:`NewVersion.in_bucket`)."""
        values = {**attributes.checksums.values, **digest.checksums}
        return cls(
            key=key,
            size=digest.size,
            etag=digest.md5_hex,
            last_modified=last_modified or utcnow(),
            attributes=replace(attributes, checksums=Checksums(values, None)),
            tags=sorted_tags(tags),
            version_id=NULL_VERSION if version is None else version.version_id,
            sequence="" if version is None else version.sequence,
        )

    @classmethod
    def marker(cls, key: str, version: NewVersion,
               last_modified: dt.datetime | None = None) -> ObjectInfo:
        """A delete marker: a version with no bytes, no attributes and no tags."""
        return cls(key=key, size=0, etag="", last_modified=last_modified or utcnow(),
                   version_id=version.version_id, delete_marker=True,
                   sequence=version.sequence)

    def with_version(self, version: NewVersion) -> ObjectInfo:
        """This info stored as ``version`` (a completed multipart upload's, say)."""
        return replace(self, version_id=version.version_id, sequence=version.sequence)

    def entry(self, is_latest: bool = True) -> ListEntry:
        """This version as a listing shows it."""
        return ListEntry(self.key, self.size, self.etag, self.last_modified,
                         self.storage_class, self.version_id, self.delete_marker,
                         self.sequence, is_latest)


class ListEntry(NamedTuple):
    """One entry of a listing page: exactly what ListObjects(V2) and ListObjectVersions show
    of an object, so a backend can answer a page from an index without reading each object's
    attributes. A delete marker has size 0 and etag ""; ``sequence`` and ``is_latest`` matter
    to version listings only (ListObjects pages hold latest versions).

    A named tuple rather than a frozen dataclass, immutable all the same: a page makes a
    thousand, and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field)
    cost four times a tuple's."""

    key: str
    size: int
    etag: str
    last_modified: dt.datetime
    storage_class: str = STANDARD
    version_id: str = NULL_VERSION
    delete_marker: bool = False
    sequence: str = ""
    is_latest: bool = True


@dataclass(frozen=True, slots=True)
class WriteCondition:
    """``If-None-Match: *`` / ``If-Match: <etag>`` on a write.

    A backend calls :meth:`check` with the key's latest version (or None when it has none),
    *atomically with its commit* (under its lock or in its transaction), so that two
    concurrent create-if-absent writes cannot both succeed. A latest version that is a delete
    marker counts as no object, as S3 counts it.
    """

    if_match: str | None = None
    if_none_match: bool = False

    def check(self, current: ObjectInfo | None) -> None:
        if current is not None and current.delete_marker:
            current = None
        if self.if_none_match and current is not None:
            raise errors.PreconditionFailed(Condition="If-None-Match")
        if self.if_match is not None:
            if current is None:
                raise errors.NoSuchKey()
            if self.if_match != "*" and self.if_match != current.etag:
                raise errors.PreconditionFailed(Condition="If-Match")


class ByteRange(abc.ABC):
    """A requested range, resolved by the backend against the object it actually opened."""

    @abc.abstractmethod
    def resolve(self, info: ObjectInfo) -> tuple[int, int]:
        """``(start, stop)`` with ``stop`` exclusive; raises ``InvalidRange`` if unsatisfiable."""


@dataclass(frozen=True, slots=True)
class PartInfo:
    part_number: int
    size: int
    etag: str
    last_modified: dt.datetime
    checksums: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UploadInfo:
    """A pending multipart upload: what the completed object will be stored with.

    ``attributes.checksums`` holds no values yet, only the checksum ``type`` the upload was
    created with; ``checksum_algorithm`` is the algorithm its parts carry (None: no checksum).
    """

    key: str
    upload_id: str
    initiated: dt.datetime
    attributes: ObjectAttributes = field(default_factory=ObjectAttributes)
    tags: Mapping[str, str] = field(default_factory=dict)
    checksum_algorithm: str | None = None

    def to_pairs(self) -> dict[str, str]:
        """The upload's attributes and checksum algorithm as stored pairs."""
        from post3.attribute_pairs import attributes_to_pairs  # it imports this module

        return attributes_to_pairs(self.attributes, checksum_algorithm=self.checksum_algorithm)

    @classmethod
    def from_pairs(cls, key: str, upload_id: str, initiated: dt.datetime,
                   pairs: Mapping[str, str], tags: Mapping[str, str]) -> UploadInfo:
        from post3.attribute_pairs import attributes_from_pairs, checksum_algorithm_from_pairs

        return cls(key, upload_id, initiated, attributes_from_pairs(pairs), sorted_tags(tags),
                   checksum_algorithm_from_pairs(pairs))


@dataclass(frozen=True, slots=True)
class UploadCursor:
    """A position in the order of pending uploads, ``(key, upload_id)`` ascending (keys in
    UTF-8 byte order): a page of :meth:`Backend.list_multipart_uploads_page` starts strictly
    after it. ``upload_id`` None stands after every upload of ``key``.

    The core turns S3's two markers (``key-marker``, ``upload-id-marker``) into a cursor; a
    backend only compares, with :meth:`admits` or the same comparison in its query."""

    key: str
    upload_id: str | None = None

    def admits(self, key: str, upload_id: str) -> bool:
        """Whether the upload ``(key, upload_id)`` comes after this cursor."""
        if key != self.key:
            return key > self.key
        return self.upload_id is not None and upload_id > self.upload_id

    @classmethod
    def after(cls, upload: UploadInfo) -> UploadCursor:
        """The cursor of the next page after ``upload``."""
        return cls(upload.key, upload.upload_id)


@dataclass(frozen=True, slots=True)
class VersionCursor:
    """A position in the order of a bucket's versions, ``(key, sequence)`` ascending (keys in
    UTF-8 byte order; within a key, newest first): a page of
    :meth:`Backend.list_object_versions_page` starts strictly after it. ``sequence`` None
    stands after every version of ``key``; ``""`` before the first.

    The core turns S3's ``key-marker`` and ``version-id-marker`` into a cursor."""

    key: str
    sequence: str | None = None

    def admits(self, key: str, sequence: str) -> bool:
        """Whether the version ``(key, sequence)`` comes after this cursor."""
        if key != self.key:
            return key > self.key
        return self.sequence is not None and sequence > self.sequence


__all__ = [
    "COMPLIANCE",
    "ENABLED",
    "GOVERNANCE",
    "LOCK_MODES",
    "ObjectAccess",
    "ObjectLock",
    "NewVersion",
    "SUSPENDED",
    "VERSIONING_STATUSES",
    "VersionCursor",
    "WriteCondition",
    "ByteRange",
    "PartInfo",
    "UploadInfo",
    "UploadCursor",
    "sorted_tags",
    "utcnow",
    "BucketInfo",
    "CHECKSUM_TYPES",
    "COMPOSITE",
    "CONTENT_FIELDS",
    "Checksums",
    "Encryption",
    "ContentHeaders",
    "FULL_OBJECT",
    "ListEntry",
    "MultipartOrigin",
    "NULL_VERSION",
    "ObjectAttributes",
    "ObjectInfo",
    "STANDARD",
]
