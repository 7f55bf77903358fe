"""The backend contract's values: typed attributes and their stored pairs, the upload cursor."""

import datetime as dt

from post3.backend import (
    COMPLIANCE,
    Checksums,
    ContentHeaders,
    MultipartOrigin,
    ObjectAccess,
    ObjectAttributes,
    ObjectLock,
    UploadInfo,
    attributes_from_pairs,
    attributes_to_pairs,
    utcnow,
)

FULL = ObjectAttributes(
    content=ContentHeaders(content_type="text/plain", content_encoding="gzip",
                           content_disposition="inline", content_language="fr",
                           cache_control="no-cache", expires="Thu, 01 Dec 2033 16:00:00 GMT"),
    user_metadata={"colour": "blue", "x-amz-meta-nested": "kept as named"},
    checksums=Checksums({"crc32": "AAAAAA==-2"}, "COMPOSITE"),
    storage_class="GLACIER",
    multipart=MultipartOrigin("upload-1", "crc32", ("AAAAAA==", "AQAAAA==")),
    lock=ObjectLock(COMPLIANCE, dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC), True),
    access=ObjectAccess("bob", '[{"permission": "READ", "id": null, "group": "g"}]'),
)


def test_pairs_are_the_header_names_the_release_stored():
    assert attributes_to_pairs(FULL) == {
        "content-type": "text/plain", "content-encoding": "gzip",
        "content-disposition": "inline", "content-language": "fr",
        "cache-control": "no-cache", "expires": "Thu, 01 Dec 2033 16:00:00 GMT",
        "x-amz-meta-colour": "blue", "x-amz-meta-x-amz-meta-nested": "kept as named",
        "x-amz-checksum-crc32": "AAAAAA==-2", "x-amz-checksum-type": "COMPOSITE",
        "x-amz-storage-class": "GLACIER",
        "x-post3-upload-id": "upload-1", "x-post3-part-checksums": "crc32:AAAAAA==,AQAAAA==",
        "x-amz-object-lock-mode": "COMPLIANCE",
        "x-amz-object-lock-retain-until-date": "2030-01-02T03:04:05+00:00",
        "x-amz-object-lock-legal-hold": "ON",
        "x-post3-owner": "bob", "x-post3-acl": '[{"permission": "READ", "id": null, "group": "g"}]',
    }


def test_pairs_round_trip():
    assert attributes_from_pairs(attributes_to_pairs(FULL)) == FULL
    assert attributes_from_pairs(attributes_to_pairs(ObjectAttributes())) == ObjectAttributes()
    assert attributes_to_pairs(ObjectAttributes()) == {}


def test_an_upload_keeps_its_checksum_algorithm_beside_its_attributes():
    upload = UploadInfo("k", "u", utcnow(),
                        ObjectAttributes(checksums=Checksums({}, "FULL_OBJECT")),
                        {"t": "1"}, "crc32c")
    pairs = upload.to_pairs()
    assert pairs == {"x-amz-checksum-type": "FULL_OBJECT", "x-amz-checksum-algorithm": "crc32c"}
    again = UploadInfo.from_pairs("k", "u", upload.initiated, pairs, {"t": "1"})
    assert again == upload
    # the algorithm is no checksum value of the object
    assert attributes_from_pairs(pairs).checksums == Checksums({}, "FULL_OBJECT")


def test_a_whole_object_checksum_is_full_object():
    assert Checksums({"crc32": "AAAAAA=="}).effective_type == "FULL_OBJECT"
    assert Checksums({"crc32": "AAAAAA==-2"}, "COMPOSITE").effective_type == "COMPOSITE"
    assert Checksums().effective_type is None


def test_s3_upload_markers_become_one_cursor():
    from post3.backend import UploadCursor
    from post3.multipart import uploads_cursor

    assert uploads_cursor("", "", "", "") is None
    assert uploads_cursor("", "ignored-without-a-key-marker", "", "") is None
    assert uploads_cursor("k", "", "", "") == UploadCursor("k")
    assert uploads_cursor("k", "u1", "", "") == UploadCursor("k", "u1")
    # a key marker naming a common prefix skips the whole group, whatever the upload id
    skipped = uploads_cursor("a/", "u1", "", "/")
    assert skipped is not None and skipped.upload_id is None
    assert not skipped.admits("a/b", "u2") and skipped.admits("b", "u0")
    after_k = UploadCursor("k")
    assert not after_k.admits("k", "zzz") and after_k.admits("k0", "a")
    assert not after_k.admits("j", "z")
    assert UploadCursor("k", "u1").admits("k", "u2")
    assert not UploadCursor("k", "u1").admits("k", "u1")
