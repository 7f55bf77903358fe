"""Versioning as real clients see it: boto3, the AWS CLI and s3fs against a live ``post3 run``,
on every backend.

Each test's docstring names the S3 behaviour it checks, from the Amazon S3 API Reference
(GetObject, HeadObject, DeleteObject, DeleteObjects, ListObjectVersions, CopyObject,
UploadPartCopy, PutObject, Get/PutBucketVersioning, the object tagging calls) and the user
guide's "Working with delete markers" and "conditional writes" pages. Where S3's documentation
leaves a case open, the docstring says so and says what the test asks for instead.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import pytest
import s3fs
import urllib3
from botocore.exceptions import ClientError

MiB = 1024 * 1024


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def headers_of(excinfo: pytest.ExceptionInfo[ClientError]) -> dict[str, str]:
    """The HTTP headers of an error answer (botocore lower-cases their names)."""
    return excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]


def quoted_md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def set_versioning(s3, bucket: str, status: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def put(s3, bucket: str, key: str, body: bytes, **kwargs) -> str:
    """PutObject; the version id S3 answered with."""
    return s3.put_object(Bucket=bucket, Key=key, Body=body, **kwargs)["VersionId"]


Entry = tuple[str, str, bool, bool]


def entries(page: dict) -> list[Entry]:
    """``(key, version id, is latest, is a delete marker)`` of one ListObjectVersions page as
    boto3 gives it: the ``Versions`` in the server's order, then the ``DeleteMarkers`` in the
    server's order (boto3 splits the one sequence S3 sends in two; test_api_versioning.py checks
    how they interleave)."""
    found = [(v["Key"], v["VersionId"], v["IsLatest"], False) for v in page.get("Versions", [])]
    found += [(m["Key"], m["VersionId"], m["IsLatest"], True)
              for m in page.get("DeleteMarkers", [])]
    return found


def as_boto3_lists(expected: list[Entry]) -> list[Entry]:
    """S3's listing order (keys ascending, each key newest first) as :func:`entries` sees it."""
    return [e for e in expected if not e[3]] + [e for e in expected if e[3]]


def all_versions(s3, bucket: str, **kwargs) -> list[Entry]:
    """Every entry of ListObjectVersions through boto3's paginator, as :func:`entries`
    orders a page (a single page for the buckets these tests make)."""
    pages = list(s3.get_paginator("list_object_versions").paginate(Bucket=bucket, **kwargs))
    return [entry for page in pages for entry in entries(page)]


@pytest.fixture
def versioned(s3, bucket):
    """A fresh bucket with versioning Enabled."""
    set_versioning(s3, bucket, "Enabled")
    return bucket


# --------------------------------------------------------------------------- bucket state


def test_new_bucket_has_no_versioning_status(s3, bucket):
    """GetBucketVersioning: "If the versioning state has never been set on a bucket, it has no
    versioning state; a GetBucketVersioning request does not return a versioning state value."
    Nor MFADelete, which is "only returned if the bucket has been configured with MFA delete"."""
    response = s3.get_bucket_versioning(Bucket=bucket)

    assert "Status" not in response
    assert "MFADelete" not in response


def test_versioning_is_enabled_then_suspended(s3, bucket):
    """PutBucketVersioning takes ``Enabled`` and ``Suspended``; GetBucketVersioning answers the
    state last set."""
    set_versioning(s3, bucket, "Enabled")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    set_versioning(s3, bucket, "Suspended")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"

    set_versioning(s3, bucket, "Enabled")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_mfa_delete_is_refused_as_not_implemented(s3_single_attempt, bucket):
    """MFA delete needs an MFA device post3 does not have: PutBucketVersioning with
    ``MFADelete=Enabled`` (and its ``x-amz-mfa`` header) answers ``501 NotImplemented``, S3's
    code for a feature a server does not implement, and changes nothing."""
    s3 = s3_single_attempt
    with pytest.raises(ClientError) as excinfo:
        s3.put_bucket_versioning(
            Bucket=bucket, MFA="arn:aws:iam::123456789012:mfa/root 123456",
            VersioningConfiguration={"MFADelete": "Enabled", "Status": "Enabled"})

    assert error_of(excinfo) == ("NotImplemented", 501)
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)


def test_versioning_of_a_missing_bucket_is_no_such_bucket(s3, bucket_name):
    """Both bucket calls answer ``404 NoSuchBucket`` for a bucket that does not exist."""
    with pytest.raises(ClientError) as excinfo:
        s3.get_bucket_versioning(Bucket=bucket_name)
    assert error_of(excinfo) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as excinfo:
        set_versioning(s3, bucket_name, "Enabled")
    assert error_of(excinfo) == ("NoSuchBucket", 404)


def test_unversioned_bucket_answers_no_version_id(s3, bucket):
    """A bucket that never had versioning sends no ``x-amz-version-id`` (S3-WIRE.md §1.9.3):
    boto3 then has no ``VersionId`` in the PutObject, GetObject and HeadObject answers."""
    put_response = s3.put_object(Bucket=bucket, Key="plain", Body=b"plain")
    got = s3.get_object(Bucket=bucket, Key="plain")
    head = s3.head_object(Bucket=bucket, Key="plain")

    assert "VersionId" not in put_response
    assert "VersionId" not in got
    assert "VersionId" not in head
    assert got["Body"].read() == b"plain"


# --------------------------------------------------------------------------- reading versions


def test_overwrite_keeps_the_old_version_readable(s3, versioned, make_bytes):
    """Enabled: every PutObject stores a new version with its own ``VersionId`` (PutObject
    response ``x-amz-version-id``); a GetObject without ``versionId`` returns the latest, with
    ``versionId`` that version, and both answer the ``VersionId`` they served."""
    old, new = make_bytes(70_000, "old"), make_bytes(50_000, "new")
    old_id = put(s3, versioned, "doc", old)
    new_id = put(s3, versioned, "doc", new)

    latest = s3.get_object(Bucket=versioned, Key="doc")
    earlier = s3.get_object(Bucket=versioned, Key="doc", VersionId=old_id)

    assert old_id and new_id and old_id != new_id
    assert latest["Body"].read() == new
    assert latest["VersionId"] == new_id
    assert latest["ETag"] == quoted_md5(new)
    assert earlier["Body"].read() == old
    assert earlier["VersionId"] == old_id
    assert earlier["ETag"] == quoted_md5(old)
    assert earlier["ContentLength"] == len(old)


def test_old_version_by_head_range_and_attributes(s3, versioned, make_bytes):
    """``versionId`` selects the version on HeadObject, on a ranged GetObject
    (``Content-Range`` of that version's size) and on GetObjectAttributes, whose ETag has no
    quotes and whose answer carries the ``VersionId``."""
    old, new = make_bytes(4000, "v1"), make_bytes(9000, "v2")
    old_id = put(s3, versioned, "doc", old, ContentType="text/x-old", Metadata={"gen": "1"})
    put(s3, versioned, "doc", new, ContentType="text/x-new", Metadata={"gen": "2"})

    head = s3.head_object(Bucket=versioned, Key="doc", VersionId=old_id)
    ranged = s3.get_object(Bucket=versioned, Key="doc", VersionId=old_id, Range="bytes=100-199")
    attributes = s3.get_object_attributes(
        Bucket=versioned, Key="doc", VersionId=old_id, ObjectAttributes=["ETag", "ObjectSize"])

    assert head["VersionId"] == old_id
    assert head["ContentLength"] == len(old)
    assert head["ETag"] == quoted_md5(old)
    assert head["ContentType"] == "text/x-old"
    assert head["Metadata"] == {"gen": "1"}
    assert ranged["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert ranged["ContentRange"] == f"bytes 100-199/{len(old)}"
    assert ranged["Body"].read() == old[100:200]
    assert ranged["VersionId"] == old_id
    assert attributes["VersionId"] == old_id
    assert attributes["ObjectSize"] == len(old)
    assert attributes["ETag"] == hashlib.md5(old).hexdigest()


def test_null_version_names_the_object_written_before_versioning(s3, bucket):
    """Objects stored before versioning was enabled keep the version id ``null``: a later write
    adds a version beside it, ListObjectVersions lists it as ``null``, and ``versionId=null``
    reads it (user guide, "How S3 Versioning works": existing objects are unchanged)."""
    s3.put_object(Bucket=bucket, Key="early", Body=b"before versioning")
    set_versioning(s3, bucket, "Enabled")
    new_id = put(s3, bucket, "early", b"after versioning")

    listed = all_versions(s3, bucket)
    got = s3.get_object(Bucket=bucket, Key="early", VersionId="null")

    assert new_id != "null"
    assert listed == [("early", new_id, True, False), ("early", "null", False, False)]
    assert got["Body"].read() == b"before versioning"
    # S3 answers x-amz-version-id: null here; post3 leaves it out (read as null): see
    # test_suspended_writes_replace_only_the_null_version
    assert got.get("VersionId", "null") == "null"


# --------------------------------------------------------------------------- delete markers


def test_delete_writes_a_marker_and_the_key_answers_404(s3, versioned):
    """DeleteObject without ``versionId`` on an Enabled bucket inserts a delete marker and
    answers ``x-amz-delete-marker: true`` with the marker's ``x-amz-version-id``. Then "S3
    behaves as if the object was deleted": GetObject and HeadObject answer 404 (NoSuchKey) with
    ``x-amz-delete-marker: true``; ListObjectsV2 no longer shows the key; the old version is
    still there by its id."""
    version_id = put(s3, versioned, "doc", b"still here")

    deleted = s3.delete_object(Bucket=versioned, Key="doc")
    with pytest.raises(ClientError) as got:
        s3.get_object(Bucket=versioned, Key="doc")
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket=versioned, Key="doc")

    assert deleted["DeleteMarker"] is True
    marker_id = deleted["VersionId"]
    assert marker_id not in (None, "", "null", version_id)
    assert error_of(got) == ("NoSuchKey", 404)
    assert headers_of(got)["x-amz-delete-marker"] == "true"
    assert error_of(head) == ("404", 404)
    assert headers_of(head)["x-amz-delete-marker"] == "true"
    assert "Contents" not in s3.list_objects_v2(Bucket=versioned)
    old = s3.get_object(Bucket=versioned, Key="doc", VersionId=version_id)
    assert old["Body"].read() == b"still here"
    assert all_versions(s3, versioned) == as_boto3_lists([
        ("doc", marker_id, True, True), ("doc", version_id, False, False)])


def test_get_of_a_delete_marker_by_id_is_method_not_allowed(s3, versioned):
    """GetObject/HeadObject: "If the specified version in the request is a delete marker, the
    response returns a 405 Method Not Allowed error and the Last-Modified: timestamp response
    header", with ``x-amz-delete-marker: true``."""
    put(s3, versioned, "doc", b"x")
    marker_id = s3.delete_object(Bucket=versioned, Key="doc")["VersionId"]

    with pytest.raises(ClientError) as got:
        s3.get_object(Bucket=versioned, Key="doc", VersionId=marker_id)
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket=versioned, Key="doc", VersionId=marker_id)

    assert error_of(got) == ("MethodNotAllowed", 405)
    assert headers_of(got)["x-amz-delete-marker"] == "true"
    assert "last-modified" in headers_of(got)
    assert error_of(head)[1] == 405
    assert headers_of(head)["x-amz-delete-marker"] == "true"
    assert "last-modified" in headers_of(head)


def test_deleting_the_marker_by_id_undeletes(s3, versioned):
    """Deleting a delete marker by its version id removes it for good and answers
    ``x-amz-delete-marker: true`` with that id; the version under it is the latest again
    ("Working with delete markers": removing the marker makes the object reappear)."""
    version_id = put(s3, versioned, "doc", b"back again")
    marker_id = s3.delete_object(Bucket=versioned, Key="doc")["VersionId"]

    removed = s3.delete_object(Bucket=versioned, Key="doc", VersionId=marker_id)

    assert removed["DeleteMarker"] is True
    assert removed["VersionId"] == marker_id
    got = s3.get_object(Bucket=versioned, Key="doc")
    assert got["Body"].read() == b"back again"
    assert got["VersionId"] == version_id
    assert all_versions(s3, versioned) == [("doc", version_id, True, False)]


def test_deleting_a_version_by_id_is_permanent(s3, versioned):
    """DeleteObject with ``versionId`` removes that version for good (no marker is written) and
    answers its ``x-amz-version-id``; the next version becomes the latest; a read of the deleted
    id answers ``404 NoSuchVersion``."""
    first = put(s3, versioned, "doc", b"first")
    second = put(s3, versioned, "doc", b"second")

    removed = s3.delete_object(Bucket=versioned, Key="doc", VersionId=second)

    assert removed["VersionId"] == second
    assert not removed.get("DeleteMarker", False)
    got = s3.get_object(Bucket=versioned, Key="doc")
    assert got["Body"].read() == b"first"
    assert got["VersionId"] == first
    assert all_versions(s3, versioned) == [("doc", first, True, False)]
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=versioned, Key="doc", VersionId=second)
    assert error_of(excinfo) == ("NoSuchVersion", 404)


def test_deleting_a_missing_version_succeeds(s3, versioned):
    """DeleteObject is idempotent: a well-formed version id the key does not have answers 204
    with that ``x-amz-version-id`` and changes nothing; DeleteObjects lists it as
    ``<Deleted>``. The reference is silent on missing versions; this is AWS's answer as MinIO
    (PR 11086) and versitygw (issue 1758) recorded it."""
    kept = put(s3, versioned, "kept", b"kept")
    other = put(s3, versioned, "other", b"other")

    response = s3.delete_object(Bucket=versioned, Key="kept", VersionId=other)
    batch = s3.delete_objects(Bucket=versioned, Delete={"Objects": [
        {"Key": "other", "VersionId": kept}]})

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert response["VersionId"] == other
    assert not response.get("DeleteMarker", False)
    assert [(d["Key"], d["VersionId"]) for d in batch["Deleted"]] == [("other", kept)]
    assert "Errors" not in batch
    assert all_versions(s3, versioned) == [
        ("kept", kept, True, False), ("other", other, True, False)]


def test_delete_marker_on_a_key_without_versions(s3, versioned):
    """DeleteObject of a key that has no version still writes a delete marker on a versioned
    bucket (S3 does not look first); ListObjectVersions shows it as the latest."""
    deleted = s3.delete_object(Bucket=versioned, Key="never-written")

    assert deleted["DeleteMarker"] is True
    assert all_versions(s3, versioned) == [("never-written", deleted["VersionId"], True, True)]


def test_delete_objects_with_version_ids(s3, versioned):
    """DeleteObjects, per key: with ``VersionId`` of a version, ``<Deleted>`` echoes that
    ``VersionId``; with ``VersionId`` of a delete marker, also ``DeleteMarker`` true and
    ``DeleteMarkerVersionId`` (the marker's id); without ``VersionId`` on a versioned bucket, a
    new marker: ``DeleteMarker`` true and its ``DeleteMarkerVersionId``."""
    a_old = put(s3, versioned, "a", b"a1")
    a_new = put(s3, versioned, "a", b"a2")
    b_id = put(s3, versioned, "b", b"b")
    c_id = put(s3, versioned, "c", b"c")
    c_marker = s3.delete_object(Bucket=versioned, Key="c")["VersionId"]

    response = s3.delete_objects(Bucket=versioned, Delete={"Objects": [
        {"Key": "a", "VersionId": a_new},
        {"Key": "b"},
        {"Key": "c", "VersionId": c_marker},
    ]})

    assert "Errors" not in response
    deleted = {d["Key"]: d for d in response["Deleted"]}
    assert deleted["a"]["VersionId"] == a_new
    assert not deleted["a"].get("DeleteMarker", False)
    assert deleted["b"]["DeleteMarker"] is True
    b_marker = deleted["b"]["DeleteMarkerVersionId"]
    assert b_marker not in (b_id, "null")
    assert deleted["c"]["VersionId"] == c_marker
    assert deleted["c"]["DeleteMarker"] is True
    assert deleted["c"]["DeleteMarkerVersionId"] == c_marker
    assert all_versions(s3, versioned) == as_boto3_lists([
        ("a", a_old, True, False),
        ("b", b_marker, True, True), ("b", b_id, False, False),
        ("c", c_id, True, False),
    ])


def test_delete_objects_with_an_invalid_version_id_reports_that_key(s3, versioned):
    """DeleteObjects answers per key: a malformed ``VersionId`` is that key's ``<Error>``, the
    other keys are deleted. AWS names it ``NoSuchVersion`` ("The specified version does not
    exist."), not DeleteObject's ``InvalidArgument`` (S3's answer as versitygw issue 2119
    recorded it; the reference does not say)."""
    put(s3, versioned, "a", b"a")
    b_id = put(s3, versioned, "b", b"b")

    response = s3.delete_objects(Bucket=versioned, Delete={"Objects": [
        {"Key": "a", "VersionId": "not-a-version-id"}, {"Key": "b", "VersionId": b_id}]})

    assert [(e["Key"], e["Code"]) for e in response.get("Errors", [])] == [
        ("a", "NoSuchVersion")]
    assert [(d["Key"], d["VersionId"]) for d in response["Deleted"]] == [("b", b_id)]


def test_bucket_with_only_old_versions_is_not_empty(s3, versioned):
    """DeleteBucket: "All objects (including all object versions and delete markers) in the
    bucket must be deleted before the bucket itself can be deleted": 409 BucketNotEmpty while
    a noncurrent version or a marker remains, even though ListObjectsV2 shows nothing."""
    version_id = put(s3, versioned, "doc", b"x")
    marker_id = s3.delete_object(Bucket=versioned, Key="doc")["VersionId"]
    assert "Contents" not in s3.list_objects_v2(Bucket=versioned)

    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket=versioned)
    assert error_of(excinfo) == ("BucketNotEmpty", 409)

    s3.delete_object(Bucket=versioned, Key="doc", VersionId=version_id)
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket=versioned)
    assert error_of(excinfo) == ("BucketNotEmpty", 409)

    s3.delete_object(Bucket=versioned, Key="doc", VersionId=marker_id)
    assert s3.delete_bucket(Bucket=versioned)["ResponseMetadata"]["HTTPStatusCode"] == 204


# --------------------------------------------------------------------------- version ids


@pytest.mark.parametrize("call", ["get", "head", "delete", "tagging", "attributes"])
def test_invalid_version_id_is_invalid_argument(s3, versioned, call):
    """A ``versionId`` that cannot name a version answers ``400 InvalidArgument`` ("Invalid
    version id specified") on every object call that takes one, before anything changes."""
    put(s3, versioned, "doc", b"x")
    bad = "not-a-version-id"
    calls = {
        "get": lambda: s3.get_object(Bucket=versioned, Key="doc", VersionId=bad),
        "head": lambda: s3.head_object(Bucket=versioned, Key="doc", VersionId=bad),
        "delete": lambda: s3.delete_object(Bucket=versioned, Key="doc", VersionId=bad),
        "tagging": lambda: s3.get_object_tagging(Bucket=versioned, Key="doc", VersionId=bad),
        "attributes": lambda: s3.get_object_attributes(
            Bucket=versioned, Key="doc", VersionId=bad, ObjectAttributes=["ETag"]),
    }

    with pytest.raises(ClientError) as excinfo:
        calls[call]()

    code, status = error_of(excinfo)
    assert status == 400
    if call != "head":  # a HEAD answer has no body to carry the code
        assert code == "InvalidArgument"
    assert len(all_versions(s3, versioned)) == 1


def test_invalid_copy_source_version_id_is_refused(s3, versioned):
    """``?versionId=`` in ``x-amz-copy-source`` that cannot name a version: 400, nothing
    written. The reference does not say which code; AWS answers CopyObject with
    ``InvalidRequest`` and UploadPartCopy with ``InvalidArgument`` ("Invalid version id
    specified"), so either passes here."""
    put(s3, versioned, "src", b"x")
    upload = s3.create_multipart_upload(Bucket=versioned, Key="part-dst")["UploadId"]
    source = {"Bucket": versioned, "Key": "src", "VersionId": "bogus"}

    with pytest.raises(ClientError) as copied:
        s3.copy_object(Bucket=versioned, Key="dst", CopySource=source)
    with pytest.raises(ClientError) as part_copied:
        s3.upload_part_copy(Bucket=versioned, Key="part-dst", UploadId=upload, PartNumber=1,
                            CopySource=source)

    assert error_of(copied) in (("InvalidRequest", 400), ("InvalidArgument", 400))
    assert error_of(part_copied) == ("InvalidArgument", 400)
    assert [e[0] for e in all_versions(s3, versioned)] == ["src"]
    assert s3.list_parts(Bucket=versioned, Key="part-dst", UploadId=upload).get("Parts", []) == []


def test_missing_version_is_no_such_version(s3, versioned):
    """A well-formed version id the key does not have: GetObject ``404 NoSuchVersion``
    (HeadObject 404), and a copy from it ``404 NoSuchVersion``. The id used is real, but
    belongs to another key."""
    put(s3, versioned, "doc", b"x")
    elsewhere = put(s3, versioned, "other", b"y")

    with pytest.raises(ClientError) as got:
        s3.get_object(Bucket=versioned, Key="doc", VersionId=elsewhere)
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket=versioned, Key="doc", VersionId=elsewhere)
    with pytest.raises(ClientError) as copied:
        s3.copy_object(Bucket=versioned, Key="dst",
                       CopySource={"Bucket": versioned, "Key": "doc", "VersionId": elsewhere})

    assert error_of(got) == ("NoSuchVersion", 404)
    assert error_of(head) == ("404", 404)
    assert error_of(copied) == ("NoSuchVersion", 404)


def test_version_ids_are_unique_and_url_safe(s3, versioned):
    """Version ids are opaque strings clients put in URLs and XML unescaped by habit: each
    write gets a new one, and they survive a round trip as the ``versionId`` parameter."""
    ids = [put(s3, versioned, "many", str(i).encode()) for i in range(20)]

    assert len(set(ids)) == 20
    for version_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9._-]+", version_id), version_id
    assert [e[1] for e in all_versions(s3, versioned)] == ids[::-1]
    for i in (0, 7, 19):
        got = s3.get_object(Bucket=versioned, Key="many", VersionId=ids[i])
        assert got["Body"].read() == str(i).encode()


# --------------------------------------------------------------------------- listing versions


@pytest.fixture
def history(s3, versioned):
    """Three keys: ``a`` with three versions, ``b`` with a version under a delete marker,
    ``c`` with one version. Returns the bucket and every entry in S3's listing order."""
    a = [put(s3, versioned, "a", f"a{i}".encode()) for i in range(3)]
    b = put(s3, versioned, "b", b"b")
    b_marker = s3.delete_object(Bucket=versioned, Key="b")["VersionId"]
    c = put(s3, versioned, "c", b"c")
    expected = [
        ("a", a[2], True, False), ("a", a[1], False, False), ("a", a[0], False, False),
        ("b", b_marker, True, True), ("b", b, False, False),
        ("c", c, True, False),
    ]
    return versioned, expected


def test_list_versions_shows_every_version_newest_first(s3, history):
    """ListObjectVersions lists keys in order, each key's versions newest first, with
    ``IsLatest`` on the first, delete markers as ``DeleteMarker`` entries; each version carries
    its ``ETag``, ``Size``, ``StorageClass`` and ``LastModified``."""
    bucket, expected = history

    page = s3.list_object_versions(Bucket=bucket)

    assert page["IsTruncated"] is False
    assert entries(page) == as_boto3_lists(expected)
    assert [(v["Key"], v["VersionId"]) for v in page["Versions"]] == [
        (e[0], e[1]) for e in expected if not e[3]]
    sizes = {v["VersionId"]: (v["Size"], v["ETag"], v["StorageClass"]) for v in page["Versions"]}
    assert sizes[expected[0][1]] == (2, quoted_md5(b"a2"), "STANDARD")
    assert sizes[expected[4][1]] == (1, quoted_md5(b"b"), "STANDARD")
    marker = page["DeleteMarkers"][0]
    assert (marker["Key"], marker["IsLatest"]) == ("b", True)
    assert "LastModified" in marker
    assert "Size" not in marker and "ETag" not in marker


def test_list_versions_pages_by_max_keys_and_markers(s3, history):
    """Paging: ``MaxKeys`` counts versions and delete markers alike; a truncated page has
    ``IsTruncated`` and ``NextKeyMarker``/``NextVersionIdMarker`` naming the last entry it
    returned (so that, sent back as ``key-marker``/``version-id-marker``, the next page starts
    just after it, even in the middle of one key's versions); the last page is not truncated."""
    bucket, expected = history
    seen: list[tuple[str, str, bool, bool]] = []
    markers: dict[str, str] = {}
    pages = 0
    while True:
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=2, **markers)
        pages += 1
        got = sorted(entries(page), key=expected.index)
        assert page["MaxKeys"] == 2
        assert len(got) <= 2
        seen += got
        if not page["IsTruncated"]:
            break
        assert (page["NextKeyMarker"], page["NextVersionIdMarker"]) == got[-1][:2]
        markers = {"KeyMarker": page["NextKeyMarker"],
                   "VersionIdMarker": page["NextVersionIdMarker"]}
        assert pages < 10

    assert seen == expected
    assert pages == 3


def test_list_versions_key_marker_alone_skips_that_key(s3, history):
    """``key-marker`` without ``version-id-marker``: the listing starts after every version of
    that key. With ``version-id-marker``: after that version of the key."""
    bucket, expected = history

    after_a = s3.list_object_versions(Bucket=bucket, KeyMarker="a")
    after_a1 = s3.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker=expected[1][1])

    assert sorted(entries(after_a), key=expected.index) == expected[3:]
    assert after_a["KeyMarker"] == "a"
    assert sorted(entries(after_a1), key=expected.index) == expected[2:]
    assert after_a1["VersionIdMarker"] == expected[1][1]


def test_list_versions_version_marker_needs_a_key_marker(s3, history):
    """ListObjectVersions: "A version-id marker cannot be specified without a key marker":
    ``400 InvalidArgument``."""
    bucket, expected = history
    with pytest.raises(ClientError) as excinfo:
        s3.list_object_versions(Bucket=bucket, VersionIdMarker=expected[0][1])
    assert error_of(excinfo) == ("InvalidArgument", 400)


def test_list_versions_paginator_sees_everything(s3, history):
    """boto3's paginator (``NextKeyMarker``/``NextVersionIdMarker`` as its tokens) gathers the
    same entries, whatever the page size."""
    bucket, expected = history
    for size in (1, 2, 4, 1000):
        found = all_versions(s3, bucket, PaginationConfig={"PageSize": size})
        assert sorted(found, key=expected.index) == expected
        assert len(found) == len(expected)


def test_list_versions_prefix_and_delimiter(s3, versioned):
    """``prefix`` and ``delimiter`` work as in ListObjects, over versions: keys under a
    ``delimiter`` roll up into ``CommonPrefixes`` (once, however many versions), and a key whose
    latest version is a delete marker still counts (ListObjectVersions shows deleted keys)."""
    top = put(s3, versioned, "top", b"t")
    x_old = put(s3, versioned, "dir/x", b"x1")
    x_new = put(s3, versioned, "dir/x", b"x2")
    put(s3, versioned, "dir/sub/y", b"y")
    put(s3, versioned, "gone/z", b"z")
    s3.delete_object(Bucket=versioned, Key="gone/z")

    root = s3.list_object_versions(Bucket=versioned, Delimiter="/")
    inside = s3.list_object_versions(Bucket=versioned, Prefix="dir/", Delimiter="/")
    prefixed = s3.list_object_versions(Bucket=versioned, Prefix="dir/x")
    live = s3.list_objects_v2(Bucket=versioned, Delimiter="/")

    assert [p["Prefix"] for p in root["CommonPrefixes"]] == ["dir/", "gone/"]
    assert entries(root) == [("top", top, True, False)]
    assert root["Delimiter"] == "/"
    assert [p["Prefix"] for p in inside["CommonPrefixes"]] == ["dir/sub/"]
    assert entries(inside) == [("dir/x", x_new, True, False), ("dir/x", x_old, False, False)]
    assert inside["Prefix"] == "dir/"
    assert entries(prefixed) == entries(inside)
    assert [p["Prefix"] for p in live["CommonPrefixes"]] == ["dir/"]


def test_list_versions_pages_through_common_prefixes(s3, versioned):
    """A common prefix counts as one entry against ``MaxKeys``; paging over prefixes and keys
    gives each once (the markers then name the prefix)."""
    for key in ("a/1", "a/2", "b", "c/1", "d"):
        put(s3, versioned, key, b"v")
        put(s3, versioned, key, b"w")

    pages = list(s3.get_paginator("list_object_versions").paginate(
        Bucket=versioned, Delimiter="/", PaginationConfig={"PageSize": 1}))

    prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    keys = [e[0] for page in pages for e in entries(page)]
    assert prefixes == ["a/", "c/"]
    assert keys == ["b", "b", "d", "d"]


# --------------------------------------------------------------------------- copying versions


def test_restore_by_copying_an_old_version(s3, versioned, make_bytes):
    """CopyObject with ``CopySource`` naming a ``VersionId`` copies that version: the answer has
    ``CopySourceVersionId`` (``x-amz-copy-source-version-id``) and the new version's
    ``VersionId``; the copy becomes the latest and the history keeps all three."""
    good, bad = make_bytes(10_000, "good"), b"overwritten by mistake"
    good_id = put(s3, versioned, "doc", good)
    bad_id = put(s3, versioned, "doc", bad)

    copied = s3.copy_object(Bucket=versioned, Key="doc",
                            CopySource={"Bucket": versioned, "Key": "doc", "VersionId": good_id})

    assert copied["CopySourceVersionId"] == good_id
    restored_id = copied["VersionId"]
    assert restored_id not in (good_id, bad_id)
    assert copied["CopyObjectResult"]["ETag"] == quoted_md5(good)
    got = s3.get_object(Bucket=versioned, Key="doc")
    assert got["Body"].read() == good
    assert got["VersionId"] == restored_id
    assert [e[1] for e in all_versions(s3, versioned)] == [restored_id, bad_id, good_id]


def test_copy_without_version_copies_the_latest_and_names_it(s3, versioned):
    """CopyObject without a source ``versionId`` copies the latest version, and
    ``x-amz-copy-source-version-id`` names it (CopyObject response headers)."""
    put(s3, versioned, "src", b"old")
    latest = put(s3, versioned, "src", b"latest")

    copied = s3.copy_object(Bucket=versioned, Key="dst",
                            CopySource={"Bucket": versioned, "Key": "src"})

    assert copied["CopySourceVersionId"] == latest
    assert s3.get_object(Bucket=versioned, Key="dst")["Body"].read() == b"latest"


def test_copy_from_a_deleted_key_is_no_such_key_but_its_version_copies(s3, versioned):
    """A copy source whose latest version is a delete marker does not exist: 404 NoSuchKey with
    ``x-amz-delete-marker: true`` (AWS's answer); the version under the marker can still be
    copied by its id."""
    version_id = put(s3, versioned, "src", b"under the marker")
    s3.delete_object(Bucket=versioned, Key="src")

    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=versioned, Key="dst",
                       CopySource={"Bucket": versioned, "Key": "src"})
    copied = s3.copy_object(Bucket=versioned, Key="dst",
                            CopySource={"Bucket": versioned, "Key": "src",
                                        "VersionId": version_id})

    assert error_of(excinfo) == ("NoSuchKey", 404)
    assert headers_of(excinfo)["x-amz-delete-marker"] == "true"
    assert copied["CopySourceVersionId"] == version_id
    assert s3.get_object(Bucket=versioned, Key="dst")["Body"].read() == b"under the marker"


def test_copy_of_a_delete_marker_by_id_is_invalid_request(s3, versioned):
    """A copy source naming a delete marker by version id: ``400 InvalidRequest`` ("The source
    of a copy request may not specifically refer to a delete marker by version id"). The API
    reference leaves this case out; the code is AWS's answer as captured from s3.us-east-1 (and
    moto's), and nothing is written."""
    put(s3, versioned, "src", b"x")
    marker_id = s3.delete_object(Bucket=versioned, Key="src")["VersionId"]

    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=versioned, Key="dst",
                       CopySource={"Bucket": versioned, "Key": "src", "VersionId": marker_id})

    assert error_of(excinfo) == ("InvalidRequest", 400)
    assert "dst" not in [e[0] for e in all_versions(s3, versioned)]


def test_upload_part_copy_from_an_old_version(s3, versioned, make_bytes):
    """UploadPartCopy with ``CopySource`` naming a ``VersionId`` (and a range) copies from that
    version and answers ``CopySourceVersionId``; CompleteMultipartUpload answers the new
    version's ``VersionId``."""
    old = make_bytes(6 * MiB, "old-source")
    old_id = put(s3, versioned, "src", old)
    put(s3, versioned, "src", b"newer and short")
    upload = s3.create_multipart_upload(Bucket=versioned, Key="assembled")["UploadId"]

    part = s3.upload_part_copy(
        Bucket=versioned, Key="assembled", UploadId=upload, PartNumber=1,
        CopySource={"Bucket": versioned, "Key": "src", "VersionId": old_id},
        CopySourceRange=f"bytes=0-{5 * MiB - 1}")
    tail = s3.upload_part_copy(
        Bucket=versioned, Key="assembled", UploadId=upload, PartNumber=2,
        CopySource={"Bucket": versioned, "Key": "src", "VersionId": old_id},
        CopySourceRange=f"bytes={5 * MiB}-{6 * MiB - 1}")
    done = s3.complete_multipart_upload(
        Bucket=versioned, Key="assembled", UploadId=upload,
        MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]},
            {"PartNumber": 2, "ETag": tail["CopyPartResult"]["ETag"]}]})

    assert part["CopySourceVersionId"] == old_id
    assert tail["CopySourceVersionId"] == old_id
    assert done["VersionId"] not in (None, "null", old_id)
    got = s3.get_object(Bucket=versioned, Key="assembled")
    assert got["VersionId"] == done["VersionId"]
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(old).digest()


# --------------------------------------------------------------------------- writes


def test_multipart_completion_creates_a_version(s3, versioned, make_bytes):
    """CompleteMultipartUpload on an Enabled bucket stores a new version (response
    ``x-amz-version-id``, ``VersionId`` in boto3) on top of the earlier one, which stays."""
    first = put(s3, versioned, "big", b"small first version")
    data = make_bytes(5 * MiB + 123, "multipart")
    upload = s3.create_multipart_upload(Bucket=versioned, Key="big")["UploadId"]
    etags = [
        s3.upload_part(Bucket=versioned, Key="big", UploadId=upload, PartNumber=n,
                       Body=chunk)["ETag"]
        for n, chunk in ((1, data[:5 * MiB]), (2, data[5 * MiB:]))
    ]

    done = s3.complete_multipart_upload(
        Bucket=versioned, Key="big", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                   for n, e in enumerate(etags, 1)]})

    version_id = done["VersionId"]
    assert version_id not in (None, "null", first)
    head = s3.head_object(Bucket=versioned, Key="big")
    assert head["VersionId"] == version_id
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-2"')
    old = s3.get_object(Bucket=versioned, Key="big", VersionId=first)
    assert old["Body"].read() == b"small first version"
    assert [e[1] for e in all_versions(s3, versioned)] == [version_id, first]


def test_post_upload_creates_a_version(s3, versioned):
    """A browser-form POST upload (boto3's ``generate_presigned_post``) on an Enabled bucket
    stores a new version and answers its ``x-amz-version-id`` ("If you enable versioning for a
    bucket, POST automatically generates a unique version ID ... returns this ID in the
    response by using the x-amz-version-id response header")."""
    first = put(s3, versioned, "form.txt", b"put first")
    post = s3.generate_presigned_post(Bucket=versioned, Key="form.txt")

    response = urllib3.request("POST", post["url"],
                               fields={**post["fields"], "file": ("form.txt", b"posted")})

    assert response.status == 204, response.data
    version_id = response.headers["x-amz-version-id"]
    assert version_id not in (first, "null")
    assert [e[1] for e in all_versions(s3, versioned)] == [version_id, first]
    assert s3.get_object(Bucket=versioned, Key="form.txt")["Body"].read() == b"posted"


def test_conditional_get_of_a_version_checks_that_version(s3, versioned):
    """``If-Match`` / ``If-None-Match`` on a GET with ``versionId`` are evaluated against the
    version asked for, not the latest: the old version's ETag matches it (200, or 304 for
    If-None-Match) and the latest's does not (412)."""
    old = put(s3, versioned, "doc", b"old")
    put(s3, versioned, "doc", b"new")

    matched = s3.get_object(Bucket=versioned, Key="doc", VersionId=old,
                            IfMatch=quoted_md5(b"old"))
    with pytest.raises(ClientError) as mismatched:
        s3.get_object(Bucket=versioned, Key="doc", VersionId=old, IfMatch=quoted_md5(b"new"))
    with pytest.raises(ClientError) as unmodified:
        s3.get_object(Bucket=versioned, Key="doc", VersionId=old,
                      IfNoneMatch=quoted_md5(b"old"))

    assert matched["Body"].read() == b"old"
    assert error_of(mismatched) == ("PreconditionFailed", 412)
    assert error_of(unmodified)[1] == 304


def test_if_none_match_star_succeeds_behind_a_delete_marker(s3, versioned):
    """Conditional writes: "The HTTP If-None-Match header only applies to the current version
    of the object in a versioned bucket": when the current version is a delete marker there is
    no object, so ``If-None-Match: *`` writes; then the key exists and the same write answers
    ``412 PreconditionFailed``."""
    old = put(s3, versioned, "once", b"old")
    s3.delete_object(Bucket=versioned, Key="once")

    created = s3.put_object(Bucket=versioned, Key="once", Body=b"new", IfNoneMatch="*")
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=versioned, Key="once", Body=b"newer", IfNoneMatch="*")

    assert created["VersionId"] != old
    assert error_of(excinfo) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=versioned, Key="once")["Body"].read() == b"new"
    assert len(all_versions(s3, versioned)) == 3


def test_if_match_behind_a_delete_marker_is_no_such_key(s3, versioned):
    """PutObject ``If-Match``: "If there's no object with that key name, 404 NoSuchKey" —
    a delete marker as the current version means no object, even though the ETag matches the
    version under it."""
    put(s3, versioned, "doc", b"content")
    etag = s3.head_object(Bucket=versioned, Key="doc")["ETag"]
    s3.delete_object(Bucket=versioned, Key="doc")

    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=versioned, Key="doc", Body=b"replace", IfMatch=etag)

    assert error_of(excinfo) == ("NoSuchKey", 404)
    assert [e[3] for e in all_versions(s3, versioned)] == [False, True]


def test_suspended_writes_replace_only_the_null_version(s3, versioned):
    """Suspended: "Amazon S3 automatically adds a null version ID to every subsequent object";
    a write replaces the key's null version and nothing else; versions written while Enabled
    stay readable; a simple DELETE puts a delete marker with version id ``null`` in place of
    the null version, and says so.

    The PutObject answer has no ``VersionId``: the PutObject reference's "versioning
    suspended" sample response carries no ``x-amz-version-id`` (versitygw issue 2164 and PR
    2241 record AWS answering so). A GET of the null version: S3 sends ``x-amz-version-id:
    null`` (versitygw issue 2165); post3 leaves a null version's id out outside delete markers
    (``post3.api.versioning.version_headers``), which clients read as ``null``; either passes.
    """
    kept = put(s3, versioned, "doc", b"from the enabled days")
    set_versioning(s3, versioned, "Suspended")

    first = s3.put_object(Bucket=versioned, Key="doc", Body=b"null one")
    second = s3.put_object(Bucket=versioned, Key="doc", Body=b"null two")

    assert "VersionId" not in first and "VersionId" not in second
    assert all_versions(s3, versioned) == [("doc", "null", True, False),
                                           ("doc", kept, False, False)]
    got = s3.get_object(Bucket=versioned, Key="doc")
    assert got["Body"].read() == b"null two"
    assert got.get("VersionId", "null") == "null"
    by_null = s3.get_object(Bucket=versioned, Key="doc", VersionId="null")
    assert by_null["Body"].read() == b"null two"
    old = s3.get_object(Bucket=versioned, Key="doc", VersionId=kept)
    assert old["Body"].read() == b"from the enabled days"

    deleted = s3.delete_object(Bucket=versioned, Key="doc")

    assert deleted["DeleteMarker"] is True
    assert deleted["VersionId"] == "null"
    assert all_versions(s3, versioned) == as_boto3_lists([
        ("doc", "null", True, True), ("doc", kept, False, False)])


def test_suspended_then_enabled_again_keeps_the_null_version(s3, versioned):
    """Re-enabling after Suspended: the null version stays as it was, and new writes get ids
    of their own again."""
    set_versioning(s3, versioned, "Suspended")
    s3.put_object(Bucket=versioned, Key="doc", Body=b"null")
    set_versioning(s3, versioned, "Enabled")

    new_id = put(s3, versioned, "doc", b"versioned again")

    assert new_id != "null"
    assert all_versions(s3, versioned) == [("doc", new_id, True, False),
                                           ("doc", "null", False, False)]
    got = s3.get_object(Bucket=versioned, Key="doc", VersionId="null")
    assert got["Body"].read() == b"null"


# --------------------------------------------------------------------------- tagging versions


def test_tagging_of_one_version(s3, versioned):
    """Get/Put/DeleteObjectTagging with ``versionId`` act on that version only and answer its
    ``x-amz-version-id``; without it they act on the latest."""
    old = put(s3, versioned, "doc", b"1", Tagging="gen=one")
    new = put(s3, versioned, "doc", b"2", Tagging="gen=two")

    old_tags = s3.get_object_tagging(Bucket=versioned, Key="doc", VersionId=old)
    latest_tags = s3.get_object_tagging(Bucket=versioned, Key="doc")
    assert old_tags["TagSet"] == [{"Key": "gen", "Value": "one"}]
    assert old_tags["VersionId"] == old
    assert latest_tags["TagSet"] == [{"Key": "gen", "Value": "two"}]
    assert latest_tags["VersionId"] == new

    written = s3.put_object_tagging(Bucket=versioned, Key="doc", VersionId=old,
                                    Tagging={"TagSet": [{"Key": "gen", "Value": "first"}]})
    assert written["VersionId"] == old
    assert s3.get_object_tagging(Bucket=versioned, Key="doc", VersionId=old)["TagSet"] == [
        {"Key": "gen", "Value": "first"}]
    assert s3.get_object_tagging(Bucket=versioned, Key="doc")["TagSet"] == [
        {"Key": "gen", "Value": "two"}]

    removed = s3.delete_object_tagging(Bucket=versioned, Key="doc", VersionId=old)
    assert removed["VersionId"] == old
    assert s3.get_object_tagging(Bucket=versioned, Key="doc", VersionId=old)["TagSet"] == []
    assert s3.get_object_tagging(Bucket=versioned, Key="doc")["TagSet"] == [
        {"Key": "gen", "Value": "two"}]
    assert s3.get_object(Bucket=versioned, Key="doc", VersionId=new)["TagCount"] == 1


def test_tagging_of_a_missing_version_is_no_such_version(s3, versioned):
    """GetObjectTagging with a well-formed version id the key does not have: 404
    NoSuchVersion."""
    put(s3, versioned, "doc", b"x")
    elsewhere = put(s3, versioned, "other", b"y")

    with pytest.raises(ClientError) as excinfo:
        s3.get_object_tagging(Bucket=versioned, Key="doc", VersionId=elsewhere)

    assert error_of(excinfo) == ("NoSuchVersion", 404)


# --------------------------------------------------------------------------- the AWS CLI


@pytest.fixture
def aws(endpoint_url, aws_env, tmp_path):
    """``aws s3api ...`` as a user runs it (see test_sdk_awscli.py), answering parsed JSON."""
    def run(*args: str) -> dict:
        command = [sys.executable, "-m", "awscli", "s3api", *args, "--output", "json",
                   "--endpoint-url", endpoint_url]
        result = subprocess.run(command, env=aws_env, cwd=tmp_path, capture_output=True,
                                text=True, timeout=120)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(args)} exited {result.returncode}\n"
                        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return json.loads(result.stdout) if result.stdout.strip() else {}

    return run


def test_awscli_get_bucket_versioning(aws, s3, bucket):
    """``aws s3api get-bucket-versioning`` prints nothing for a bucket that never had versioning
    (no Status in the answer), then ``{"Status": "Enabled"}`` after put-bucket-versioning."""
    assert aws("get-bucket-versioning", "--bucket", bucket) == {}

    aws("put-bucket-versioning", "--bucket", bucket,
        "--versioning-configuration", "Status=Enabled")

    assert aws("get-bucket-versioning", "--bucket", bucket) == {"Status": "Enabled"}


def test_awscli_list_object_versions(aws, s3, versioned):
    """``aws s3api list-object-versions`` prints ``Versions`` and ``DeleteMarkers``; with
    ``--page-size 1`` the CLI follows NextKeyMarker/NextVersionIdMarker itself and prints the
    same entries."""
    first = put(s3, versioned, "doc", b"one")
    second = put(s3, versioned, "doc", b"two")
    marker = s3.delete_object(Bucket=versioned, Key="doc")["VersionId"]
    other = put(s3, versioned, "other", b"x")

    for extra in ((), ("--page-size", "1")):
        listed = aws("list-object-versions", "--bucket", versioned, *extra)
        assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in listed["Versions"]] == [
            ("doc", second, False), ("doc", first, False), ("other", other, True)]
        assert [(m["Key"], m["VersionId"], m["IsLatest"])
                for m in listed["DeleteMarkers"]] == [("doc", marker, True)]
        assert listed["Versions"][0]["Size"] == 3


# --------------------------------------------------------------------------- s3fs


def test_s3fs_version_aware_reads_an_old_version(endpoint_url, s3, versioned):
    """s3fs with ``version_aware=True`` (which checks GetBucketVersioning, lists versions with
    ListObjectVersions and reads with ``versionId``): ``object_version_info`` lists both
    versions, and ``open``/``cat_file``/``info`` with ``version_id`` read the old one."""
    fs = s3fs.S3FileSystem(
        key="testing", secret="testing", endpoint_url=endpoint_url, version_aware=True,
        skip_instance_cache=True, config_kwargs={"s3": {"addressing_style": "path"}})
    path = f"{versioned}/dir/data.csv"
    fs.pipe_file(path, b"a,b\n1,2\n")
    fs.pipe_file(path, b"a,b\n3,4\n5,6\n")

    versions = fs.object_version_info(path)
    old_id = next(v["VersionId"] for v in versions if not v["IsLatest"])
    with fs.open(path, "rb", version_id=old_id) as f:
        old = f.read()

    assert len(versions) == 2
    assert old == b"a,b\n1,2\n"
    assert fs.cat_file(path, version_id=old_id) == b"a,b\n1,2\n"
    assert fs.info(path, version_id=old_id)["size"] == len(b"a,b\n1,2\n")
    assert fs.cat_file(path) == b"a,b\n3,4\n5,6\n"
