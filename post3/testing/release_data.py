"""What a release wrote reads back unchanged after the contract changed: the check that each
shipped backend's test runs over the data its own fixture holds (made by running
``tests/fixtures/write_release_data.py`` against post3 0.1.0.dev0, before attributes were
typed). A data upgrade that loses an attribute fails here on every backend alike.
"""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from post3 import multipart
from post3.app import create_app
from post3.backend import Backend, Checksums, ContentHeaders, ObjectAttributes
from post3.config import Settings


async def check_release_data(backend: Backend, pending_id: str) -> None:
    """What the release wrote (tests/fixtures/write_release_data.py) reads back as typed
    attributes, through the backend and through the API."""
    plain = await backend.head_object("release", "plain.txt")
    assert plain.attributes == ObjectAttributes(
        content=ContentHeaders(content_type="text/plain", cache_control="max-age=60",
                               content_disposition="attachment", content_language="en"),
        user_metadata={"colour": "blue"},
        checksums=Checksums({"crc32": "/9oeGg=="}),
        storage_class="REDUCED_REDUNDANCY",
    )
    assert dict(plain.tags) == {"a": "1", "b": "2"}
    assert (plain.version_id, plain.delete_marker) == ("null", False)
    bare = await backend.head_object("release", "bare")
    assert bare.storage_class == "STANDARD" and not bare.checksums.values
    for key, kind, value in (("composite.bin", "COMPOSITE", "ntHsRg==-1"),
                             ("full.bin", "FULL_OBJECT", "12if/A==")):
        info = await backend.head_object("release", key)
        assert info.checksums == Checksums({"crc32": value}, kind), key
        assert info.storage_class == "STANDARD_IA"
        assert info.attributes.user_metadata == {"kind": kind}
        origin = info.attributes.multipart
        assert origin is not None and len(origin.upload_id) > 16
        assert (origin.part_checksum_algorithm, origin.part_checksums) == ("crc32", ("12if/A==",))
        assert multipart.part_checksums(info) == ("crc32", ["12if/A=="])
    listed = {entry.key: entry.storage_class
              for entry in await backend.list_objects_page("release")}
    assert listed == {"bare": "STANDARD", "composite.bin": "STANDARD_IA",
                      "full.bin": "STANDARD_IA", "plain.txt": "REDUCED_REDUNDANCY"}
    pending = await backend.get_multipart_upload("release", "pending.bin", pending_id)
    assert pending.checksum_algorithm == "crc32c"
    assert pending.attributes == ObjectAttributes(
        content=ContentHeaders(content_type="video/mp4"), user_metadata={"state": "pending"},
        checksums=Checksums({}, "FULL_OBJECT"), storage_class="GLACIER")

    app = create_app(Settings(backend=backend.name, auth=False), backend=backend)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/release/composite.bin?partNumber=1",
                                    headers={"x-amz-checksum-mode": "ENABLED"})
        assert response.status == 206
        assert response.headers["x-amz-checksum-crc32"] == "12if/A=="
        assert response.headers["x-amz-checksum-type"] == "COMPOSITE"
        response = await client.head("/release/plain.txt",
                                     headers={"x-amz-checksum-mode": "ENABLED"})
        assert response.headers["x-amz-meta-colour"] == "blue"
        assert response.headers["x-amz-storage-class"] == "REDUCED_REDUNDANCY"
        assert response.headers["x-amz-checksum-type"] == "FULL_OBJECT"
        assert response.headers["Cache-Control"] == "max-age=60"
        response = await client.get(f"/release/pending.bin?uploadId={pending_id}")
        body = await response.text()
        assert "<ChecksumAlgorithm>CRC32C</ChecksumAlgorithm>" in body
        assert "<StorageClass>GLACIER</StorageClass>" in body


__all__ = ["check_release_data"]
