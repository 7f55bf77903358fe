"""Re-wrapping after ``post3 kms rotate``: every SSE-S3 and SSE-KMS version's data key wrapped
again under its master key's latest version, in its attributes (``put_object_attributes``),
its bytes untouched (the data key itself does not change). Once a pass has finished, no stored
object needs the older versions of the rotated keys; pending multipart uploads still do (an
upload's attributes cannot be replaced), so keep the old versions until those complete or are
aborted. SSE-C objects are not the key service's: their keys are the customers'.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from post3.backend import Backend, ObjectAttributes, ObjectInfo, VersionCursor
from post3.encryption.keyring import KeyRing
from post3.objects import SSE_C

PAGE = 1000


@dataclass(slots=True)
class RewrapReport:
    versions: int = 0
    rewrapped: int = 0


def _rewrapped(keyring: KeyRing, info: ObjectInfo) -> ObjectAttributes | None:
    encryption = info.attributes.encryption
    if encryption is None or encryption.mode == SSE_C:
        return None
    wrapped = keyring.rewrap(encryption.data_key, bytes.fromhex(encryption.object_id))
    if wrapped is None:
        return None
    return replace(info.attributes, encryption=replace(encryption, data_key=wrapped))


async def rewrap_pass(backend: Backend, keyring: KeyRing) -> RewrapReport:
    """One pass over every version of every bucket (``versioning`` capability)."""
    report = RewrapReport()
    for bucket in await backend.list_buckets():
        after: VersionCursor | None = None
        while True:
            page = await backend.list_object_versions_page(bucket.name, after=after, limit=PAGE)
            for entry in page:
                if entry.delete_marker:
                    continue
                report.versions += 1
                info = await backend.head_object(bucket.name, entry.key, entry.version_id)
                if _rewrapped(keyring, info) is None:
                    continue

                def change(current: ObjectInfo) -> ObjectAttributes:
                    # Decided again on the version as it is under the backend's lock.
                    return _rewrapped(keyring, current) or current.attributes

                await backend.put_object_attributes(bucket.name, entry.key, change,
                                                    entry.version_id)
                report.rewrapped += 1
            if len(page) < PAGE:
                break
            after = VersionCursor(page[-1].key, page[-1].sequence)
    return report
