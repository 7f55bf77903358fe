"""The backend contract: what a storage plugin implements, and the values it trades in.

A backend is only storage. Everything protocol-shaped (names, ranges, conditions, delimiters,
continuation tokens, checksums, ETags, multipart validation, XML) happens in the core, so every
backend answers identically. The conformance suite in :mod:`post3.testing` is the executable
definition of "a correct backend"; read it beside this module.

Rules every backend keeps:

* **Atomic or nothing.** ``put_object`` and ``complete_multipart_upload`` make the new object
  visible whole, and only after the body is exhausted without error: the :class:`PayloadStream`
  raises ``BadDigest``, ``IncompleteBody``... from its final read, so a backend that commits only
  after the ``async for`` loop ends never commits bad data. A failed or cancelled write leaves
  no trace. Concurrent writers of one key: last writer wins; readers never see a mix.
* **Streaming.** Never hold an object in memory; peak memory does not depend on object size.
* **Errors** are :mod:`post3.errors` classes: ``NoSuchBucket``, ``NoSuchKey``, ``BucketNotEmpty``,
  ``BucketAlreadyOwnedByYou``, ``NoSuchUpload``, ``PreconditionFailed``, ``InvalidRange``.
  A backend that loses its storage while serving raises ``ServiceUnavailable``.
* **Keys** are arbitrary Unicode strings up to 1024 UTF-8 bytes (the core checks the length);
  listing order is ascending UTF-8 byte order, which is also Unicode code point order, so
  sorting Python ``str`` values gives the right order.
* **Never block the event loop.** Every method is a coroutine running on the server's one
  event loop: a blocking call (a file ``read``, ``fsync``, ``os.replace``, a directory walk, a
  synchronous database driver) stalls every request of the process. Run such calls in an
  executor (``loop.run_in_executor``, ``asyncio.to_thread``) or use an asynchronous driver;
  keep what runs on the loop itself to bookkeeping.
* **Several processes share one store.** ``post3 run --workers N``, several hosts behind a load
  balancer and ``post3 keys`` beside a running server all open the same storage. Nothing a
  process holds in memory may be the truth: atomicity, write conditions and "last writer
  wins" come from the storage (a transaction and row locks, ``os.replace`` under a file lock),
  never from an ``asyncio.Lock`` or a cache. Ids you make (upload ids, later version ids)
  must be unique across processes and hosts. A store that lives inside one process declares
  ``Capabilities(single_process=True)``, and post3 refuses to run it with several workers.
* **Pinned to the version it opened.** An :class:`ObjectStream` yields the bytes of the object
  as it was when :meth:`Backend.open_object` returned, whatever is written or deleted at the
  key meanwhile, and ``info`` describes exactly those bytes. Over real storage that means the
  bytes of a replaced or deleted object must stay readable until the stream is closed: an
  open file descriptor on a file that was renamed over or unlinked (POSIX keeps it), or, in a
  database, rows that an overwrite does not delete while a reader holds them (the PostgreSQL
  backend keeps replaced versions for a grace period that open readers renew). Reading the
  key again for each block, or deleting the old bytes at once, tears concurrent reads.
* **Versions** (``Capabilities(versioning=True)``). A key has versions, newest first by
  their ``sequence`` (:class:`NewVersion`, made by the core); the *latest* is the first, and
  it may be a delete marker. A write stores the :class:`NewVersion` it is given *as the
  bucket's versioning status says at commit* (:meth:`NewVersion.in_bucket`, read in the same
  transaction or under the same lock as the commit): with versioning Enabled a new version
  with its own id; otherwise the ``null`` version, which replaces the key's earlier ``null``
  version wherever it stood in the history, and becomes the latest. Deleting the latest
  version by id makes the next one latest. The latest is always the first in sequence order:
  a backend whose commits can land out of that order (a slow upload given its version before
  a quick one) either stores the late one as a noncurrent version, or gives it, under its
  commit lock, a newer ``post3.versioning.new_version()`` (so the last committed is the
  latest); what it returns names what it stored. A ListObjects page shows only keys whose
  latest version is not a delete marker, and must cost the same however many noncurrent
  versions other keys have. A backend without the capability stores one ``null`` version per
  key and ignores the ``version`` arguments; the core never sends it a version id other than
  ``null``.
* **Locked versions stay.** A version's :class:`ObjectLock` travels in its attributes like
  any other; only :meth:`Backend.delete_object_version` reads it, through
  ``post3.object_lock.check_removable`` atomically with the removal, so no caller (the API,
  lifecycle, a command) can remove a version under retention or legal hold. The core refuses
  to suspend versioning on a bucket with object lock, so a ``null`` write never replaces a
  locked version.
* **Capabilities** (:class:`Capabilities`) are declared, not discovered: implement every
  method of what you declare, and leave the others raising :class:`Unsupported`.
* **A body may be longer than its size** (encryption at rest, :mod:`post3.encryption`). The
  core seals objects before they reach the backend: the :class:`PayloadStream` it hands over
  yields more bytes than ``body.digest.size``, which is the size S3 shows (and what listings
  and ``ObjectInfo.size`` report). Store every byte the body yields (a part's too) and record
  ``digest.size``; serve exactly the stored range ``byte_range.resolve(info)`` returns, which
  may reach past ``info.size``: never clamp it to ``info.size``, never recount the size from
  the stored bytes, and place a completed upload's parts at the offsets of the bytes they
  stored, not of their sizes.
* **Attributes are opaque.** Store :class:`ObjectAttributes` as they are given (or as the
  pairs of :func:`attributes_to_pairs`, however long) and give them back unchanged; interpret
  nothing but the storage class, which a listing shows.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Self

from post3.attribute_pairs import (
    STORAGE_CLASS_PAIR,
    attributes_from_pairs,
    attributes_to_pairs,
    checksum_algorithm_from_pairs,
    storage_class_from_pairs,
)
from post3.object_lock import check_removable
from post3.object_streams import BytesObjectStream, ObjectStream
from post3.objects import (
    CHECKSUM_TYPES,
    COMPLIANCE,
    COMPOSITE,
    CONTENT_FIELDS,
    ENABLED,
    FULL_OBJECT,
    GOVERNANCE,
    NULL_VERSION,
    STANDARD,
    SUSPENDED,
    VERSIONING_STATUSES,
    BucketInfo,
    ByteRange,
    Checksums,
    ContentHeaders,
    Encryption,
    ListEntry,
    MultipartOrigin,
    NewVersion,
    ObjectAccess,
    ObjectAttributes,
    ObjectInfo,
    ObjectLock,
    PartInfo,
    UploadCursor,
    UploadInfo,
    VersionCursor,
    WriteCondition,
    sorted_tags,
    utcnow,
)
from post3.options import BackendError, Option, parse_options
from post3.versioning import stored_version

if TYPE_CHECKING:
    from post3.payload import PayloadStream

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- values, streams
# The value types live in post3.objects, their string pairs in post3.attribute_pairs and what
# open_object returns in post3.object_streams; all are part of this contract (see __all__).


# --------------------------------------------------------------------------- capabilities


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend does beyond the required methods, declared on its class and read by the
    core without calling anything: an operation that needs an undeclared capability answers
    ``501 NotImplemented`` before the backend is called, and ``post3 backends`` lists them.

    A backend that declares a capability implements every method of it; one that does not
    leaves them alone (they raise :class:`Unsupported`). The conformance suite checks both.
    """

    #: create/get/upload_part/list_parts/complete/abort_multipart_upload,
    #: list_multipart_uploads_page
    multipart: bool = False
    #: put_object_tags, get_bucket_tags, put_bucket_tags (tags given to put_object are
    #: always stored: every backend keeps them)
    tagging: bool = False
    #: get_bucket_config, put_bucket_config: a bucket's configuration documents (CORS)
    bucket_config: bool = False
    #: get/put_bucket_versioning, delete_object_version, list_object_versions_page,
    #: put_object_attributes, and the ``version_id`` / ``version`` arguments of the object
    #: methods (see "Versions" above)
    versioning: bool = False
    #: job_lock: a lock shared by every process and host on the store, for background jobs
    #: (lifecycle passes run one at a time)
    job_lock: bool = False
    #: the store lives inside one process (the memory backend): ``post3 run --workers N``
    #: and several hosts cannot share it
    single_process: bool = False

    def names(self) -> list[str]:
        """The declared capabilities' names, in declaration order."""
        return [name for name in self.__slots__ if getattr(self, name)]


class Unsupported(Exception):  # noqa: N818 - a signal, not an error of the backend
    """Raised by a contract method the backend does not implement (the defaults here do).

    It is internal: the dispatcher answers it with ``501 NotImplemented``; it never names a
    backend's failure (those are :mod:`post3.errors` classes)."""

    def __init__(self, capability: str) -> None:
        super().__init__(f"{capability} is not supported by this backend")
        self.capability = capability


# --------------------------------------------------------------------------- the contract


class Backend(abc.ABC):
    """The storage contract. Subclass it, declare ``name`` and ``options``, register it
    through the ``post3_register_backends`` hook."""

    name: ClassVar[str]
    #: Options this backend accepts; ``post3 backends`` lists them with their help.
    options: ClassVar[Sequence[Option]] = ()
    #: What this backend does beyond the required methods (see :class:`Capabilities`).
    capabilities: ClassVar[Capabilities] = Capabilities()

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> Self:
        """Build from string options; raises BackendError on unknown or invalid ones."""
        return cls(**parse_options(cls.options, options, cls.name))

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Acquire resources (pools, directories); raise BackendError if impossible."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what open() acquired."""

    async def ready(self) -> None:  # noqa: B027 - optional hook
        """Raise ServiceUnavailable when the storage does not answer (readiness probe)."""

    def job_lock(self, name: str) -> contextlib.AbstractAsyncContextManager[bool]:
        """Try to take the store-wide lock ``name`` (``lifecycle``...) for the length of the
        ``async with``: it yields True when taken, False at once when another process or host
        holds it. It must be released when the holder dies (a file lock, a session-level
        database lock), so a killed pass never blocks the next (``job_lock``)."""
        raise Unsupported("job_lock")

    # buckets -----------------------------------------------------------------------------

    @abc.abstractmethod
    async def list_buckets(self) -> list[BucketInfo]:
        """Every bucket, sorted by name."""

    @abc.abstractmethod
    async def create_bucket(self, bucket: str) -> BucketInfo:
        """Raise BucketAlreadyOwnedByYou if it exists."""

    @abc.abstractmethod
    async def head_bucket(self, bucket: str) -> BucketInfo:
        """Raise NoSuchBucket if missing."""

    @abc.abstractmethod
    async def delete_bucket(self, bucket: str) -> None:
        """Raise NoSuchBucket, or BucketNotEmpty while any version remains (delete markers
        and noncurrent versions included). Pending multipart uploads do not keep a bucket
        alive: they are aborted with it."""

    async def get_bucket_tags(self, bucket: str) -> dict[str, str]:
        """The bucket's tags (``tagging``), sorted by key; raises NoSuchBucket."""
        raise Unsupported("tagging")

    async def put_bucket_tags(self, bucket: str, tags: Mapping[str, str]) -> None:
        """Replace the bucket's tag set (an empty mapping deletes it) (``tagging``)."""
        raise Unsupported("tagging")

    async def get_bucket_config(self, bucket: str, name: str) -> str | None:
        """The bucket's configuration document ``name`` (``cors``...), or None if it has none;
        raises NoSuchBucket (``bucket_config``). The core parses and validates documents: a
        backend stores text. ``name`` is a :data:`CONFIG_NAME` (lower-case letters, digits,
        ``-``)."""
        raise Unsupported("bucket_config")

    async def put_bucket_config(self, bucket: str, name: str, document: str | None) -> None:
        """Replace the document ``name`` of the bucket (None deletes it, and deleting an
        absent one succeeds); raises NoSuchBucket. A reader sees the old document or the new
        one, never a mix; deleting the bucket deletes its documents (``bucket_config``)."""
        raise Unsupported("bucket_config")

    async def get_bucket_versioning(self, bucket: str) -> str | None:
        """:data:`ENABLED`, :data:`SUSPENDED`, or None for a bucket that never had versioning;
        raises NoSuchBucket (``versioning``)."""
        raise Unsupported("versioning")

    async def put_bucket_versioning(self, bucket: str, status: str) -> None:
        """Set the status (:data:`ENABLED` or :data:`SUSPENDED`; the core refuses anything
        else, and there is no way back to None); raises NoSuchBucket (``versioning``)."""
        raise Unsupported("versioning")

    # objects -----------------------------------------------------------------------------

    @abc.abstractmethod
    async def head_object(self, bucket: str, key: str, version_id: str | None = None
                          ) -> ObjectInfo:
        """The key's latest version, which may be a delete marker (``delete_marker``), or
        with ``version_id`` that version. Raises NoSuchBucket, NoSuchKey (the key has no
        version), NoSuchVersion (it has none with that id)."""

    @abc.abstractmethod
    async def open_object(
        self, bucket: str, key: str, byte_range: ByteRange | None = None,
        version_id: str | None = None,
    ) -> ObjectStream:
        """Open the version :meth:`head_object` would describe, for reading; resolve
        ``byte_range`` against it. Raises before any byte is yielded (NoSuchBucket,
        NoSuchKey, NoSuchVersion, InvalidRange). A delete marker opens as a stream of no bytes
        whose ``info`` is the marker, and its range is not resolved."""

    @abc.abstractmethod
    async def put_object(
        self,
        bucket: str,
        key: str,
        body: PayloadStream,
        *,
        attributes: ObjectAttributes,
        tags: Mapping[str, str] = {},  # noqa: B006 - never mutated
        condition: WriteCondition | None = None,
        version: NewVersion | None = None,
    ) -> ObjectInfo:
        """Store ``body`` under ``key``, atomically, after exhausting it, as the key's new
        latest version ``version.in_bucket(status)`` (see "Versions"; None, from callers
        outside the core, means ``post3.versioning.new_version()``). Build the result with
        ``ObjectInfo.from_upload(key, body.digest, attributes, tags, version=stored)``. When
        ``condition`` is given, ``condition.check(latest)`` runs atomically with the commit."""

    @abc.abstractmethod
    async def delete_object(self, bucket: str, key: str, *, marker: NewVersion | None = None
                            ) -> ObjectInfo | None:
        """S3's DeleteObject without a version id. In a bucket that never had versioning:
        remove the key's ``null`` version, idempotently (a missing key is not an error, a
        missing bucket is), and return None. Otherwise add a delete marker
        ``ObjectInfo.marker(key, marker.in_bucket(status))`` as the latest version (in a
        Suspended bucket it replaces the ``null`` version) and return it; it is added even when
        the key has no version. ``marker`` None means ``new_version()``."""

    async def delete_object_version(self, bucket: str, key: str, version_id: str, *,
                                    bypass_governance: bool = False) -> ObjectInfo | None:
        """Remove one version for good (a delete marker included: the key reappears when it
        was the latest). Returns what was removed, None when there was no such version (not an
        error; a missing bucket is). A locked version stays: call
        ``check_removable(info, bypass_governance)`` on it under the same
        lock or in the same transaction as the removal, and let what it raises through
        (``versioning``)."""
        raise Unsupported("versioning")

    async def put_object_attributes(
        self, bucket: str, key: str, change: Callable[[ObjectInfo], ObjectAttributes],
        version_id: str | None = None,
    ) -> ObjectInfo:
        """Replace the attributes of the latest version (or of ``version_id``) with
        ``change(info)``, without rewriting its bytes, and return the changed info. ``change``
        runs under the same lock or in the same transaction as the write (it checks object
        lock's rules, and may raise to leave the version as it was); a delete marker is given
        to it like any version. NoSuchKey / NoSuchVersion as :meth:`head_object`
        (``versioning``: PutObjectRetention, PutObjectLegalHold)."""
        raise Unsupported("versioning")

    @abc.abstractmethod
    async def list_objects_page(
        self, bucket: str, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> list[ListEntry]:
        """Up to ``limit`` objects whose key starts with ``prefix`` and sorts strictly after
        ``start_after``, in ascending UTF-8 byte order. Must not read the whole bucket.
        Each entry carries exactly what a listing shows (:class:`ListEntry`): the storage class
        an object was stored with included. Only keys whose latest version is not a delete
        marker, each with its latest version."""

    async def list_object_versions_page(
        self, bucket: str, *, prefix: str = "", after: VersionCursor | None = None,
        limit: int = 1000,
    ) -> list[ListEntry]:
        """Up to ``limit`` versions (delete markers included) of keys starting with
        ``prefix``, in ``(key, sequence)`` order, strictly after ``after``
        (:meth:`VersionCursor.admits`), each with ``version_id``, ``sequence``,
        ``delete_marker`` and ``is_latest`` set. Raises NoSuchBucket (``versioning``)."""
        raise Unsupported("versioning")

    async def put_object_tags(self, bucket: str, key: str, tags: Mapping[str, str],
                              version_id: str | None = None) -> None:
        """Replace the tag set of the latest version (or of ``version_id``) without rewriting
        it (an empty mapping deletes it); NoSuchKey / NoSuchVersion as :meth:`head_object`.
        The core never asks it of a delete marker (``tagging``)."""
        raise Unsupported("tagging")

    # fallbacks built from the primitives; override when storage can do better -------------

    async def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        attributes: ObjectAttributes | None,
        tags: Mapping[str, str] | None,
        condition: WriteCondition | None = None,
        source_check: Callable[[ObjectInfo], None] | None = None,
        source_version_id: str | None = None,
        version: NewVersion | None = None,
        lock: ObjectLock | None = None,
        access: ObjectAccess | None = None,
    ) -> ObjectInfo:
        """Copy an object (the source's latest version, or ``source_version_id``) as a new
        version of the destination. ``attributes``/``tags`` None means "keep the source's"
        (but not its checksums, recomputed, nor its multipart origin: the copy is a new, whole
        object, nor its lock and ACL: the copy is locked as ``lock`` says and owned as
        ``access`` says). ``source_check`` sees the
        source info before any byte is copied (copy-source conditions, and the refusal of a
        delete marker as a source). Checksums stored with the source are recomputed over the
        copied bytes.

        The core copies encrypted objects itself (it decrypts and seals again under the
        destination's key), and asks this method for plain objects only; the fallback refuses
        an encrypted source rather than copy part of its stored bytes."""
        from post3 import errors
        from post3.payload import PayloadStream

        source = await self.open_object(src_bucket, src_key, version_id=source_version_id)
        try:
            if source_check is not None:
                source_check(source.info)
            if source.info.attributes.encryption is not None:
                raise errors.InternalError("An encrypted object is copied by the core.")
            body = PayloadStream.from_iterable(
                aiter(source), size=source.info.size,
                checksum_algorithms=tuple(source.info.checksums.values),
            )
            return await self.put_object(
                dst_bucket,
                dst_key,
                body,
                attributes=copied_attributes(source.info, attributes, lock, access),
                tags=source.info.tags if tags is None else tags,
                condition=condition,
                version=version,
            )
        finally:
            await source.aclose()

    # multipart (``capabilities.multipart``) ----------------------------------------------
    # The core validates part lists, computes the final ETag and checksums, and paginates;
    # the backend stores parts and concatenates them atomically.

    async def create_multipart_upload(
        self, bucket: str, key: str, *, attributes: ObjectAttributes,
        tags: Mapping[str, str], checksum_algorithm: str | None = None,
    ) -> UploadInfo:
        """A new pending upload. Its id is URL-safe ASCII and sorts after the ids of the
        earlier uploads of the key (put the time first, as ``time.time_ns()`` in fixed-width
        hex, then randomness), so ``(key, upload_id)`` order is S3's ``(key, initiated)`` order
        even across processes. Store ``attributes``, ``tags`` and ``checksum_algorithm`` to give
        them back in :class:`UploadInfo`."""
        raise Unsupported("multipart")

    async def get_multipart_upload(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        """Raise NoSuchUpload unless ``upload_id`` is pending for ``key`` in ``bucket``."""
        raise Unsupported("multipart")

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, body: PayloadStream
    ) -> PartInfo:
        """Store a part (replacing an earlier one with the same number) after exhausting body."""
        raise Unsupported("multipart")

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        """Every stored part of the upload, by ascending part number."""
        raise Unsupported("multipart")

    async def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        info: ObjectInfo,
        condition: WriteCondition | None = None,
        version: NewVersion | None = None,
    ) -> ObjectInfo:
        """Make the object from ``parts`` (validated by the core, in order) visible atomically
        with ``info`` (ETag, attributes, part sizes computed by the core) as the key's new
        latest version (``info.with_version(version.in_bucket(status))``, as
        :meth:`put_object`), then forget the upload."""
        raise Unsupported("multipart")

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Forget the upload and free its parts; NoSuchUpload if unknown."""
        raise Unsupported("multipart")

    async def list_multipart_uploads_page(
        self, bucket: str, *, prefix: str = "", after: UploadCursor | None = None,
        limit: int = 1000,
    ) -> list[UploadInfo]:
        """Up to ``limit`` pending uploads whose key starts with ``prefix``, in ``(key,
        upload_id)`` order, strictly after ``after`` (:meth:`UploadCursor.admits`). Raises
        NoSuchBucket. Must not read every upload of the bucket when it can seek."""
        raise Unsupported("multipart")


#: The names of bucket configuration documents (``cors``, later ``lifecycle``, ``policy``...):
#: safe as a file name and a database key.
CONFIG_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


def check_config_name(name: str) -> str:
    """``name`` if it is a :data:`CONFIG_NAME`; a ValueError (a bug in the caller) otherwise."""
    if not CONFIG_NAME.match(name):
        raise ValueError(f"invalid bucket configuration name {name!r}")
    return name


def copied_attributes(source: ObjectInfo, attributes: ObjectAttributes | None,
                      lock: ObjectLock | None = None, access: ObjectAccess | None = None,
                      ) -> ObjectAttributes:
    """What a copy of ``source`` is written with: ``attributes`` (the source's when None),
    without checksums (the copy's body recomputes them) or multipart origin, and locked and
    owned as ``lock`` and ``access`` say (never as the source is)."""
    kept = source.attributes if attributes is None else attributes
    return replace(kept, checksums=Checksums(), multipart=None, lock=lock or ObjectLock(),
                   access=access or ObjectAccess())


def md5_of_etags(etags: Iterable[str]) -> str:
    """S3's multipart ETag (without the ``-N`` suffix): MD5 over the parts' binary MD5s."""
    digest = hashlib.md5(usedforsecurity=False)
    for etag in etags:
        digest.update(bytes.fromhex(etag))
    return digest.hexdigest()


#: The contract a backend plugin is written against.
__all__ = [
    "Backend",
    "BackendError",
    "BucketInfo",
    "ByteRange",
    "BytesObjectStream",
    "CHECKSUM_TYPES",
    "COMPLIANCE",
    "COMPOSITE",
    "CONFIG_NAME",
    "CONTENT_FIELDS",
    "Capabilities",
    "ENABLED",
    "Checksums",
    "ContentHeaders",
    "Encryption",
    "FULL_OBJECT",
    "GOVERNANCE",
    "ListEntry",
    "MultipartOrigin",
    "NULL_VERSION",
    "NewVersion",
    "ObjectAccess",
    "ObjectAttributes",
    "ObjectInfo",
    "ObjectLock",
    "ObjectStream",
    "Option",
    "PartInfo",
    "STANDARD",
    "STORAGE_CLASS_PAIR",
    "SUSPENDED",
    "Unsupported",
    "UploadCursor",
    "UploadInfo",
    "VERSIONING_STATUSES",
    "VersionCursor",
    "WriteCondition",
    "attributes_from_pairs",
    "attributes_to_pairs",
    "check_config_name",
    "check_removable",
    "checksum_algorithm_from_pairs",
    "copied_attributes",
    "md5_of_etags",
    "parse_options",
    "sorted_tags",
    "storage_class_from_pairs",
    "stored_version",
    "utcnow",
]
