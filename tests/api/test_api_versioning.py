"""Versioning on the wire: the exact XML and headers SDKs parse and then hide.

Each docstring names the S3 behaviour checked (Amazon S3 API Reference: GetBucketVersioning,
PutBucketVersioning, GetObject, HeadObject, DeleteObject, DeleteObjects, ListObjectVersions).
Where the reference is silent, the docstring says where the expected answer comes from.
"""

from __future__ import annotations

import urllib.parse

from defusedxml import ElementTree as ET

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def versioning_body(status: str, *, namespace: bool = True, extra: str = "") -> bytes:
    attribute = f" {XMLNS}" if namespace else ""
    return (f"<VersioningConfiguration{attribute}><Status>{status}</Status>{extra}"
            "</VersioningConfiguration>").encode()


async def set_versioning(client, bucket: str, status: str) -> None:
    response = await client.put(f"/{bucket}?versioning", data=versioning_body(status))
    assert response.status == 200, await response.text()


async def versioning_status(client, bucket: str) -> str | None:
    response = await client.get(f"/{bucket}?versioning")
    assert response.status == 200
    return ET.fromstring(await response.read()).findtext(f"{NS}Status")


async def put(client, bucket: str, key: str, body: bytes) -> str:
    """PUT an object; its ``x-amz-version-id``."""
    response = await client.put(f"/{bucket}/{urllib.parse.quote(key)}", data=body)
    assert response.status == 200, await response.text()
    return response.headers["x-amz-version-id"]


async def delete(client, bucket: str, key: str, version_id: str | None = None):
    path = f"/{bucket}/{urllib.parse.quote(key)}"
    if version_id is not None:
        path += f"?versionId={urllib.parse.quote(version_id)}"
    response = await client.delete(path)
    assert response.status == 204, await response.text()
    return response


async def list_versions(client, bucket: str, **query: str):
    """The parsed ``ListVersionsResult`` root."""
    path = f"/{bucket}?versions"
    if query:
        path += "&" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return ET.fromstring(await response.read())


def listed(root) -> list[tuple[str, str | None, str | None, str | None]]:
    """``(element, Key, VersionId, IsLatest)`` of every Version and DeleteMarker in document
    order (an SDK splits them into two lists; the document interleaves them)."""
    return [(child.tag.removeprefix(NS), child.findtext(f"{NS}Key"),
             child.findtext(f"{NS}VersionId"), child.findtext(f"{NS}IsLatest"))
            for child in root if child.tag in (f"{NS}Version", f"{NS}DeleteMarker")]


def child_tags(element) -> list[str]:
    return [child.tag.removeprefix(NS) for child in element]


# --------------------------------------------------------------------------- bucket versioning


async def test_get_bucket_versioning_of_a_new_bucket_is_empty(client, bucket):
    """GetBucketVersioning of a bucket that never had versioning: ``200`` and an empty
    ``<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>`` (no
    ``Status``, no ``MfaDelete``)."""
    response = await client.get(f"/{bucket}?versioning")

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(await response.read())
    assert root.tag == f"{NS}VersioningConfiguration"
    assert list(root) == []
    assert (root.text or "").strip() == ""


async def test_get_bucket_versioning_after_put(client, bucket):
    """After PutBucketVersioning, ``<Status>`` is the state set (``Enabled`` / ``Suspended``),
    and ``MfaDelete`` stays absent ("only returned if the bucket has been configured with MFA
    delete")."""
    await set_versioning(client, bucket, "Enabled")
    response = await client.get(f"/{bucket}?versioning")
    root = ET.fromstring(await response.read())
    assert child_tags(root) == ["Status"]
    assert root.findtext(f"{NS}Status") == "Enabled"

    await set_versioning(client, bucket, "Suspended")
    assert await versioning_status(client, bucket) == "Suspended"


async def test_put_bucket_versioning_without_namespace_is_accepted(client, bucket):
    """``mc version enable`` (minio-go) sends the configuration without the S3 namespace; S3
    accepts it, and so must post3."""
    response = await client.put(f"/{bucket}?versioning",
                                data=versioning_body("Enabled", namespace=False))

    assert response.status == 200
    assert await versioning_status(client, bucket) == "Enabled"


async def test_put_bucket_versioning_malformed_xml(client, bucket, error_code):
    """A body that is not well-formed XML, or whose root is not ``VersioningConfiguration``:
    ``400 MalformedXML``, and the state does not change."""
    for body in (b"<VersioningConfiguration><Status>Enabled</Status>",
                 b"not xml at all",
                 f"<Versioning {XMLNS}><Status>Enabled</Status></Versioning>".encode()):
        response = await client.put(f"/{bucket}?versioning", data=body)
        assert response.status == 400, body
        assert await error_code(response) == "MalformedXML", body

    assert await versioning_status(client, bucket) is None


async def test_put_bucket_versioning_bad_status(client, bucket, error_code):
    """A ``Status`` other than ``Enabled``/``Suspended`` (the schema's enumeration; the values
    are case-sensitive, and "Disabled" is not one: a bucket never returns to unversioned):
    ``400``, state unchanged. Which code S3 sends is not documented and reports disagree:
    NooBaa aligned with AWS on ``MalformedXML`` (noobaa-core PR 7325), Scality CloudServer
    answers ``IllegalVersioningConfigurationException``; either passes."""
    await set_versioning(client, bucket, "Enabled")
    for status in ("Disabled", "enabled", "ENABLED", "Foo", ""):
        response = await client.put(f"/{bucket}?versioning", data=versioning_body(status))
        assert response.status == 400, status
        assert await error_code(response) in (
            "MalformedXML", "IllegalVersioningConfigurationException"), status

    assert await versioning_status(client, bucket) == "Enabled"


async def test_put_bucket_versioning_mfa_delete_is_not_implemented(client, bucket, error_code):
    """``<MfaDelete>Enabled</MfaDelete>`` (the wire name of boto3's ``MFADelete``) with an
    ``x-amz-mfa`` header: ``501 NotImplemented``; the bucket stays unversioned."""
    response = await client.put(
        f"/{bucket}?versioning", headers={"x-amz-mfa": "arn:aws:iam::1:mfa/root 123456"},
        data=versioning_body("Enabled", extra="<MfaDelete>Enabled</MfaDelete>"))

    assert response.status == 501
    assert await error_code(response) == "NotImplemented"
    assert await versioning_status(client, bucket) is None


# --------------------------------------------------------------------------- object headers


async def test_unversioned_bucket_sends_no_version_header(client, bucket):
    """A bucket that never had versioning: no ``x-amz-version-id`` on PUT, GET, HEAD or DELETE
    (S3-WIRE.md §1.9.3), and ``versionId=null`` names its only version (rclone sends it)."""
    put_response = await client.put(f"/{bucket}/k", data=b"v")
    got = await client.get(f"/{bucket}/k")
    by_null = await client.get(f"/{bucket}/k?versionId=null")
    head = await client.head(f"/{bucket}/k")
    deleted = await client.delete(f"/{bucket}/k")

    assert put_response.status == 200 and got.status == 200 and head.status == 200
    assert by_null.status == 200 and await by_null.read() == b"v"
    assert deleted.status == 204
    for response in (put_response, got, head, deleted):
        assert "x-amz-version-id" not in response.headers
        assert "x-amz-delete-marker" not in response.headers


async def test_version_headers_of_put_get_head(client, bucket):
    """Enabled: PUT answers ``x-amz-version-id``; GET and HEAD answer the id of the version
    they served, the latest or the one ``versionId`` names."""
    await set_versioning(client, bucket, "Enabled")
    old = await put(client, bucket, "k", b"old")
    new = await put(client, bucket, "k", b"new")

    latest = await client.get(f"/{bucket}/k")
    earlier = await client.get(f"/{bucket}/k?versionId={old}")
    head_latest = await client.head(f"/{bucket}/k")
    head_earlier = await client.head(f"/{bucket}/k?versionId={old}")

    assert old != new
    assert latest.headers["x-amz-version-id"] == new and await latest.read() == b"new"
    assert earlier.headers["x-amz-version-id"] == old and await earlier.read() == b"old"
    assert head_latest.headers["x-amz-version-id"] == new
    assert head_earlier.headers["x-amz-version-id"] == old
    assert head_earlier.headers["Content-Length"] == "3"
    for response in (latest, earlier, head_latest, head_earlier):
        assert "x-amz-delete-marker" not in response.headers


async def test_delete_marker_headers(client, bucket, error_code):
    """DELETE without ``versionId``: 204, ``x-amz-delete-marker: true`` and the marker's
    ``x-amz-version-id``. Then GET and HEAD of the key: 404 with ``x-amz-delete-marker: true``
    and the marker's id (AWS sends both; the GetObject reference names the first); GET and HEAD
    of the marker by id: ``405 MethodNotAllowed`` "and the Last-Modified: timestamp response
    header", with ``x-amz-delete-marker: true``."""
    await set_versioning(client, bucket, "Enabled")
    await put(client, bucket, "k", b"v")

    deleted = await delete(client, bucket, "k")
    marker = deleted.headers["x-amz-version-id"]
    got = await client.get(f"/{bucket}/k")
    head = await client.head(f"/{bucket}/k")
    got_marker = await client.get(f"/{bucket}/k?versionId={marker}")
    head_marker = await client.head(f"/{bucket}/k?versionId={marker}")

    assert deleted.headers["x-amz-delete-marker"] == "true"
    assert got.status == 404 and await error_code(got) == "NoSuchKey"
    assert head.status == 404
    for response in (got, head):
        assert response.headers["x-amz-delete-marker"] == "true"
        assert response.headers["x-amz-version-id"] == marker
    assert got_marker.status == 405 and await error_code(got_marker) == "MethodNotAllowed"
    assert head_marker.status == 405
    assert await head_marker.read() == b""
    for response in (got_marker, head_marker):
        assert response.headers["x-amz-delete-marker"] == "true"
        assert response.headers["x-amz-version-id"] == marker
        assert response.headers["Last-Modified"].endswith(" GMT")


async def test_delete_by_version_id_headers(client, bucket):
    """DELETE with ``versionId`` answers that ``x-amz-version-id``; ``x-amz-delete-marker:
    true`` only when the version removed was a delete marker ("If false, this response header
    does not appear in the response")."""
    await set_versioning(client, bucket, "Enabled")
    version = await put(client, bucket, "k", b"v")
    marker = (await delete(client, bucket, "k")).headers["x-amz-version-id"]

    removed_marker = await delete(client, bucket, "k", marker)
    removed_version = await delete(client, bucket, "k", version)

    assert removed_marker.headers["x-amz-version-id"] == marker
    assert removed_marker.headers["x-amz-delete-marker"] == "true"
    assert removed_version.headers["x-amz-version-id"] == version
    assert "x-amz-delete-marker" not in removed_version.headers
    assert (await client.get(f"/{bucket}/k")).status == 404


async def test_suspended_bucket_headers(client, bucket):
    """Suspended: a PUT stores the ``null`` version and answers without ``x-amz-version-id``
    (the PutObject reference's "versioning suspended" sample response has none; versitygw
    issue 2164 and PR 2241 record AWS answering so); a DELETE writes a ``null`` delete marker
    and says so (``x-amz-version-id: null``, ``x-amz-delete-marker: true``)."""
    await set_versioning(client, bucket, "Enabled")
    await put(client, bucket, "k", b"enabled")
    await set_versioning(client, bucket, "Suspended")

    written = await client.put(f"/{bucket}/k", data=b"suspended")
    deleted = await delete(client, bucket, "k")

    assert written.status == 200
    assert "x-amz-version-id" not in written.headers
    assert deleted.headers["x-amz-version-id"] == "null"
    assert deleted.headers["x-amz-delete-marker"] == "true"


async def test_empty_or_malformed_version_id_is_invalid_argument(client, bucket, error_code):
    """``versionId=`` (empty) or one that cannot name a version: ``400 InvalidArgument`` on
    GET and DELETE (AWS: "Version id cannot be the empty string" / "Invalid version id
    specified", ``ArgumentName`` versionId)."""
    await set_versioning(client, bucket, "Enabled")
    await put(client, bucket, "k", b"v")

    for value in ("", "abc", "../etc", "%00"):
        query = urllib.parse.urlencode({"versionId": value})
        for method in (client.get, client.delete):
            response = await method(f"/{bucket}/k?{query}")
            assert response.status == 400, (method, value)
            assert await error_code(response) == "InvalidArgument", (method, value)

    assert (await client.get(f"/{bucket}/k")).status == 200


async def test_delete_objects_result_elements(client, bucket):
    """DeleteObjects ``<Deleted>``: with a ``VersionId``, ``Key`` and ``VersionId``; for a new
    marker ``DeleteMarker`` true and ``DeleteMarkerVersionId``; for a marker removed by id all
    four (the reference's examples 2 and 3, in its element order)."""
    await set_versioning(client, bucket, "Enabled")
    a = await put(client, bucket, "a", b"a")
    await put(client, bucket, "b", b"b")
    await put(client, bucket, "c", b"c")
    c_marker = (await delete(client, bucket, "c")).headers["x-amz-version-id"]
    body = (f"<Delete {XMLNS}><Object><Key>a</Key><VersionId>{a}</VersionId></Object>"
            "<Object><Key>b</Key></Object>"
            f"<Object><Key>c</Key><VersionId>{c_marker}</VersionId></Object></Delete>")

    response = await client.post(f"/{bucket}?delete", data=body.encode())

    assert response.status == 200
    root = ET.fromstring(await response.read())
    deleted = {d.findtext(f"{NS}Key"): d for d in root.iter(f"{NS}Deleted")}
    assert child_tags(deleted["a"]) == ["Key", "VersionId"]
    assert deleted["a"].findtext(f"{NS}VersionId") == a
    assert child_tags(deleted["b"]) == ["Key", "DeleteMarker", "DeleteMarkerVersionId"]
    assert deleted["b"].findtext(f"{NS}DeleteMarker") == "true"
    assert child_tags(deleted["c"]) == [
        "Key", "VersionId", "DeleteMarker", "DeleteMarkerVersionId"]
    assert deleted["c"].findtext(f"{NS}VersionId") == c_marker
    assert deleted["c"].findtext(f"{NS}DeleteMarkerVersionId") == c_marker


# --------------------------------------------------------------------------- ListVersionsResult


async def test_list_versions_interleaves_versions_and_markers(client, bucket):
    """``ListVersionsResult`` lists ``Version`` and ``DeleteMarker`` entries in one sequence:
    keys ascending, each key's entries newest first, a marker in its place among the versions
    (AWS SDK for Java v1 reads them into one list in document order). ``IsLatest`` is ``true``
    on each key's first entry only."""
    await set_versioning(client, bucket, "Enabled")
    a1 = await put(client, bucket, "a", b"1")
    a_marker = (await delete(client, bucket, "a")).headers["x-amz-version-id"]
    a2 = await put(client, bucket, "a", b"22")
    b1 = await put(client, bucket, "b", b"333")
    b_marker = (await delete(client, bucket, "b")).headers["x-amz-version-id"]

    root = await list_versions(client, bucket)

    assert listed(root) == [
        ("Version", "a", a2, "true"), ("DeleteMarker", "a", a_marker, "false"),
        ("Version", "a", a1, "false"),
        ("DeleteMarker", "b", b_marker, "true"), ("Version", "b", b1, "false"),
    ]


async def test_list_versions_entry_elements(client, bucket):
    """The elements of an entry, in the order of the reference's example: ``Version``: Key,
    VersionId, IsLatest, LastModified, ETag (quoted), Size, StorageClass, Owner;
    ``DeleteMarker``: Key, VersionId, IsLatest, LastModified, Owner, and no ETag, Size or
    StorageClass. Elements the reference added later (ChecksumAlgorithm...) may come between."""
    await set_versioning(client, bucket, "Enabled")
    await put(client, bucket, "k", b"hello")
    await delete(client, bucket, "k")

    root = await list_versions(client, bucket)

    version = root.find(f"{NS}Version")
    marker = root.find(f"{NS}DeleteMarker")
    version_order = ["Key", "VersionId", "IsLatest", "LastModified", "ETag", "Size",
                     "StorageClass", "Owner"]
    marker_order = ["Key", "VersionId", "IsLatest", "LastModified", "Owner"]
    assert [t for t in child_tags(version) if t in version_order] == version_order
    assert [t for t in child_tags(marker) if t in version_order] == marker_order
    assert version.findtext(f"{NS}ETag") == '"5d41402abc4b2a76b9719d911017c592"'
    assert version.findtext(f"{NS}Size") == "5"
    assert version.findtext(f"{NS}StorageClass") == "STANDARD"
    assert version.findtext(f"{NS}LastModified").endswith("Z")
    assert marker.find(f"{NS}Owner/{NS}ID") is not None


async def test_list_versions_markers_and_truncation(client, bucket):
    """Request markers are echoed as ``KeyMarker`` and ``VersionIdMarker`` (empty elements when
    not given); a truncated page has ``IsTruncated`` true and ``NextKeyMarker`` /
    ``NextVersionIdMarker`` naming its last entry; the last page has neither."""
    await set_versioning(client, bucket, "Enabled")
    v = [await put(client, bucket, "k", str(i).encode()) for i in range(3)]

    first = await list_versions(client, bucket, **{"max-keys": "2"})
    second = await list_versions(client, bucket, **{"max-keys": "2", "key-marker": "k",
                                                     "version-id-marker": v[1]})

    assert first.findtext(f"{NS}IsTruncated") == "true"
    assert first.find(f"{NS}KeyMarker") is not None and first.findtext(f"{NS}KeyMarker") == ""
    assert first.find(f"{NS}VersionIdMarker") is not None
    assert first.findtext(f"{NS}VersionIdMarker") == ""
    assert first.findtext(f"{NS}MaxKeys") == "2"
    assert [e[2] for e in listed(first)] == [v[2], v[1]]
    assert first.findtext(f"{NS}NextKeyMarker") == "k"
    assert first.findtext(f"{NS}NextVersionIdMarker") == v[1]
    assert second.findtext(f"{NS}IsTruncated") == "false"
    assert second.findtext(f"{NS}KeyMarker") == "k"
    assert second.findtext(f"{NS}VersionIdMarker") == v[1]
    assert [e[2] for e in listed(second)] == [v[0]]
    assert second.find(f"{NS}NextKeyMarker") is None
    assert second.find(f"{NS}NextVersionIdMarker") is None


async def test_list_versions_pages_through_a_null_version(client, bucket):
    """A ``null`` version (written before versioning) is a version like the others for paging:
    a page may end on it (``NextVersionIdMarker`` ``null``) and ``version-id-marker=null``
    resumes after it, at the next key."""
    await put_unversioned(client, bucket, "a", b"before")
    await set_versioning(client, bucket, "Enabled")
    a_new = await put(client, bucket, "a", b"after")
    b = await put(client, bucket, "b", b"b")

    first = await list_versions(client, bucket, **{"max-keys": "2"})
    rest = await list_versions(client, bucket, **{
        "key-marker": first.findtext(f"{NS}NextKeyMarker"),
        "version-id-marker": first.findtext(f"{NS}NextVersionIdMarker")})

    assert listed(first) == [("Version", "a", a_new, "true"), ("Version", "a", "null", "false")]
    assert first.findtext(f"{NS}NextKeyMarker") == "a"
    assert first.findtext(f"{NS}NextVersionIdMarker") == "null"
    assert listed(rest) == [("Version", "b", b, "true")]


async def put_unversioned(client, bucket: str, key: str, body: bytes) -> None:
    response = await client.put(f"/{bucket}/{key}", data=body)
    assert response.status == 200
    assert "x-amz-version-id" not in response.headers


async def test_list_versions_of_an_unversioned_bucket(client, bucket):
    """A bucket that never had versioning lists each object once, ``VersionId`` ``null``,
    ``IsLatest`` true (backup tools call ListObjectVersions on any bucket)."""
    await put_unversioned(client, bucket, "x", b"1")
    await put_unversioned(client, bucket, "x", b"22")

    root = await list_versions(client, bucket)

    assert listed(root) == [("Version", "x", "null", "true")]
    assert root.find(f"{NS}Version").findtext(f"{NS}Size") == "2"


async def test_list_versions_delimiter_and_common_prefixes(client, bucket):
    """``delimiter`` rolls keys up into ``CommonPrefixes`` after the entries; ``Prefix`` and
    ``Delimiter`` are echoed; a prefix whose keys are all deleted still appears (their
    markers are versions)."""
    await set_versioning(client, bucket, "Enabled")
    await put(client, bucket, "dir/a", b"a")
    await put(client, bucket, "dir/a", b"aa")
    await put(client, bucket, "gone/b", b"b")
    await delete(client, bucket, "gone/b")
    top = await put(client, bucket, "top", b"t")

    root = await list_versions(client, bucket, delimiter="/")

    assert [p.findtext(f"{NS}Prefix") for p in root.iter(f"{NS}CommonPrefixes")] == [
        "dir/", "gone/"]
    assert listed(root) == [("Version", "top", top, "true")]
    assert root.findtext(f"{NS}Delimiter") == "/"
    assert root.findtext(f"{NS}Prefix") == ""
    tags = child_tags(root)
    assert tags.index("CommonPrefixes") > tags.index("Version")


async def test_list_versions_encoding_type_url(client, bucket):
    """``encoding-type=url``: ``EncodingType`` is echoed and "KeyMarker, NextKeyMarker, Prefix,
    Key, and Delimiter" are URL-encoded, in ``Version`` and ``DeleteMarker`` entries alike."""
    await set_versioning(client, bucket, "Enabled")
    await put(client, bucket, "a b%c", b"1")
    await put(client, bucket, "a b%c", b"2")
    await delete(client, bucket, "a b+d")

    root = await list_versions(client, bucket, **{"encoding-type": "url", "prefix": "a b",
                                                  "max-keys": "1"})
    rest = await list_versions(client, bucket, **{"encoding-type": "url", "prefix": "a b",
                                                  "key-marker": "a b%c"})

    assert root.findtext(f"{NS}EncodingType") == "url"
    assert root.findtext(f"{NS}Prefix") == "a%20b"
    assert [e[1] for e in listed(root)] == ["a%20b%25c"]
    assert root.findtext(f"{NS}NextKeyMarker") == "a%20b%25c"
    assert rest.findtext(f"{NS}KeyMarker") == "a%20b%25c"
    assert [e[:2] for e in listed(rest)] == [("DeleteMarker", "a%20b%2Bd")]


async def test_list_versions_version_marker_without_key_marker(client, bucket, error_code):
    """"A version-id marker cannot be specified without a key marker": ``400
    InvalidArgument``."""
    await set_versioning(client, bucket, "Enabled")
    version = await put(client, bucket, "k", b"v")

    response = await client.get(f"/{bucket}?versions&version-id-marker={version}")

    assert response.status == 400
    assert await error_code(response) == "InvalidArgument"
