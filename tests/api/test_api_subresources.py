"""Sub-resources clients call unprompted, through HTTP on the memory backend: ACLs, tagging,
versioning and ListObjectVersions of an unversioned bucket, bucket configurations nobody set,
and GetObjectAttributes."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
import zlib

import pytest
from defusedxml import ElementTree as ET

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


async def xml_of(response):
    assert response.headers["Content-Type"].startswith("application/xml"), response.headers
    return ET.fromstring(await response.read())


def tagging_xml(tags: dict[str, str]) -> bytes:
    from xml.sax.saxutils import escape

    items = "".join(f"<Tag><Key>{escape(k)}</Key><Value>{escape(v)}</Value></Tag>"
                    for k, v in tags.items())
    return f"<Tagging><TagSet>{items}</TagSet></Tagging>".encode()


def tags_of(root) -> dict[str, str]:
    assert root.tag == f"{NS}Tagging"
    tag_set = root.find(f"{NS}TagSet")
    assert tag_set is not None
    return {t.findtext(f"{NS}Key"): t.findtext(f"{NS}Value") for t in tag_set.findall(f"{NS}Tag")}


# --------------------------------------------------------------------------- ACL


def assert_owner_full_control(root) -> None:
    assert root.tag == f"{NS}AccessControlPolicy"
    owner_id = root.find(f"{NS}Owner").findtext(f"{NS}ID")
    assert owner_id
    (grant,) = root.find(f"{NS}AccessControlList").findall(f"{NS}Grant")
    grantee = grant.find(f"{NS}Grantee")
    assert grantee.get(f"{XSI}type") == "CanonicalUser"
    assert grantee.findtext(f"{NS}ID") == owner_id
    assert grant.findtext(f"{NS}Permission") == "FULL_CONTROL"


@pytest.mark.parametrize("query", ["acl", "acl=", "acl&x-id=GetObjectAcl"])
async def test_get_acl_is_owner_full_control(client, bucket, query):
    await client.put(f"/{bucket}/k", data=b"x")
    for url in (f"/{bucket}?{query}", f"/{bucket}/k?{query}"):
        response = await client.get(url)
        assert response.status == 200
        assert_owner_full_control(await xml_of(response))


async def test_acl_of_missing_resources(client, bucket, error_code):
    response = await client.get(f"/{bucket}/absent?acl")
    assert response.status == 404
    assert await error_code(response) == "NoSuchKey"
    response = await client.get("/no-such-bucket?acl")
    assert response.status == 404
    assert await error_code(response) == "NoSuchBucket"
    response = await client.put(f"/{bucket}/absent?acl", headers={"x-amz-acl": "private"})
    assert response.status == 404
    assert await error_code(response) == "NoSuchKey"


async def test_put_canned_private_acl_is_accepted(client, bucket):
    await client.put(f"/{bucket}/k", data=b"x")
    for url in (f"/{bucket}?acl", f"/{bucket}/k?acl"):
        response = await client.put(url, headers={"x-amz-acl": "private"})
        assert response.status == 200
    assert await (await client.get(f"/{bucket}/k")).read() == b"x"


async def test_put_back_the_policy_get_returned(client, bucket):
    await client.put(f"/{bucket}/k", data=b"x")
    policy = await (await client.get(f"/{bucket}/k?acl")).read()
    response = await client.put(f"/{bucket}/k?acl", data=policy)
    assert response.status == 200


@pytest.mark.parametrize("headers", [
    {"x-amz-acl": "public-read"},
    {"x-amz-acl": "public-read-write"},
    {"x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'},
    {"x-amz-grant-full-control": f'id="{"0" * 64}"'},
], ids=["public-read", "public-read-write", "grant-read", "grant-full-control"])
async def test_put_acl_granting_others_while_acls_are_disabled(client, bucket, error_code,
                                                                headers):
    """A new bucket's ownership is BucketOwnerEnforced: ACLs are disabled, as in S3."""
    await client.put(f"/{bucket}/k", data=b"x")
    for url in (f"/{bucket}?acl", f"/{bucket}/k?acl"):
        response = await client.put(url, headers=headers)
        assert response.status == 400
        assert await error_code(response) == "AccessControlListNotSupported"


async def test_put_acl_body_granting_others_while_acls_are_disabled(client, bucket,
                                                                      error_code):
    await client.put(f"/{bucket}/k", data=b"x")
    policy = (await (await client.get(f"/{bucket}/k?acl")).read()).decode()
    public = policy.replace(
        "</AccessControlList>",
        f'<Grant><Grantee xmlns:xsi="{XSI[1:-1]}" xsi:type="Group">'
        "<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>"
        "<Permission>READ</Permission></Grant></AccessControlList>",
    )
    assert public != policy
    response = await client.put(f"/{bucket}/k?acl", data=public.encode())
    assert response.status == 400
    assert await error_code(response) == "AccessControlListNotSupported"


# --------------------------------------------------------------------------- object tagging


async def test_object_tagging_round_trip(client, bucket):
    await client.put(f"/{bucket}/k", data=b"x")
    response = await client.get(f"/{bucket}/k?tagging")
    assert response.status == 200
    assert tags_of(await xml_of(response)) == {}  # <Tagging><TagSet/></Tagging>

    tags = {"project": "post3", " spaced key ": " spaced value ", "empty": "", "a&b": "<c>"}
    response = await client.put(f"/{bucket}/k?tagging", data=tagging_xml(tags))
    assert response.status == 200
    assert tags_of(await xml_of(await client.get(f"/{bucket}/k?tagging"))) == tags
    response = await client.get(f"/{bucket}/k")
    assert response.headers["x-amz-tagging-count"] == "4"
    assert await response.read() == b"x"  # the object itself is untouched

    response = await client.delete(f"/{bucket}/k?tagging")
    assert response.status == 204
    assert tags_of(await xml_of(await client.get(f"/{bucket}/k?tagging"))) == {}
    assert "x-amz-tagging-count" not in (await client.head(f"/{bucket}/k")).headers


async def test_put_object_with_tagging_header(client, bucket):
    response = await client.put(f"/{bucket}/k", data=b"x",
                                headers={"x-amz-tagging": "a=1&b=two%20words&c="})
    assert response.status == 200
    tags = tags_of(await xml_of(await client.get(f"/{bucket}/k?tagging")))
    assert tags == {"a": "1", "b": "two words", "c": ""}
    # A new PUT of the key replaces the tags with its own (here: none).
    await client.put(f"/{bucket}/k", data=b"y")
    assert tags_of(await xml_of(await client.get(f"/{bucket}/k?tagging"))) == {}


async def test_copy_object_tagging_directive(client, bucket):
    await client.put(f"/{bucket}/src", data=b"x", headers={"x-amz-tagging": "kept=yes"})
    await client.put(f"/{bucket}/copy", headers={"x-amz-copy-source": f"{bucket}/src"})
    assert tags_of(await xml_of(await client.get(f"/{bucket}/copy?tagging"))) == {"kept": "yes"}
    await client.put(f"/{bucket}/replaced", headers={
        "x-amz-copy-source": f"{bucket}/src", "x-amz-tagging-directive": "REPLACE",
        "x-amz-tagging": "new=tag"})
    tags = tags_of(await xml_of(await client.get(f"/{bucket}/replaced?tagging")))
    assert tags == {"new": "tag"}


def _eleven_tags() -> dict[str, str]:
    return {f"k{i}": "v" for i in range(11)}


@pytest.mark.parametrize("tags, code", [
    (_eleven_tags(), "BadRequest"),
    ({"k" * 129: "v"}, "InvalidTag"),
    ({"k": "v" * 257}, "InvalidTag"),
], ids=["eleven-tags", "key-129", "value-257"])
async def test_object_tag_limits(client, bucket, error_code, tags, code):
    await client.put(f"/{bucket}/k", data=b"x", headers={"x-amz-tagging": "old=1"})
    response = await client.put(f"/{bucket}/k?tagging", data=tagging_xml(tags))
    assert response.status == 400
    assert await error_code(response) == code
    assert tags_of(await xml_of(await client.get(f"/{bucket}/k?tagging"))) == {"old": "1"}
    header = urllib.parse.urlencode(tags)
    response = await client.put(f"/{bucket}/new", data=b"x", headers={"x-amz-tagging": header})
    assert response.status == 400
    assert await error_code(response) == code
    assert (await client.get(f"/{bucket}/new")).status == 404


async def test_object_tag_limits_inclusive(client, bucket):
    await client.put(f"/{bucket}/k", data=b"x")
    tags = {f"{i}{'k' * 127}": "v" * 256 for i in range(10)}
    response = await client.put(f"/{bucket}/k?tagging", data=tagging_xml(tags))
    assert response.status == 200
    assert tags_of(await xml_of(await client.get(f"/{bucket}/k?tagging"))) == tags


async def test_duplicate_tag_keys(client, bucket, error_code):
    await client.put(f"/{bucket}/k", data=b"x")
    body = (b"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
            b"<Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>")
    response = await client.put(f"/{bucket}/k?tagging", data=body)
    assert response.status == 400
    assert await error_code(response) == "InvalidTag"


async def test_malformed_tagging(client, bucket, error_code):
    await client.put(f"/{bucket}/k", data=b"x")
    response = await client.put(f"/{bucket}/k?tagging", data=b"<Tagging><oops></Tagging>")
    assert response.status == 400
    assert await error_code(response) == "MalformedXML"


async def test_tagging_of_missing_key(client, bucket, error_code):
    for response in [
        await client.get(f"/{bucket}/absent?tagging"),
        await client.put(f"/{bucket}/absent?tagging", data=tagging_xml({"a": "b"})),
        await client.delete(f"/{bucket}/absent?tagging"),
    ]:
        assert response.status == 404
        assert await error_code(response) == "NoSuchKey"


# --------------------------------------------------------------------------- bucket tagging


async def test_bucket_tagging_round_trip(client, bucket, error_code):
    response = await client.get(f"/{bucket}?tagging")
    assert response.status == 404
    assert await error_code(response) == "NoSuchTagSet"
    tags = {"cost-centre": "42", "env": "test"}
    assert (await client.put(f"/{bucket}?tagging", data=tagging_xml(tags))).status == 204
    assert tags_of(await xml_of(await client.get(f"/{bucket}?tagging"))) == tags
    assert (await client.delete(f"/{bucket}?tagging")).status == 204
    response = await client.get(f"/{bucket}?tagging")
    assert response.status == 404
    assert await error_code(response) == "NoSuchTagSet"


async def test_bucket_tag_limits(client, bucket, error_code):
    fifty = {f"k{i}": "v" for i in range(50)}
    assert (await client.put(f"/{bucket}?tagging", data=tagging_xml(fifty))).status == 204
    response = await client.put(f"/{bucket}?tagging",
                                data=tagging_xml({**fifty, "one-more": "v"}))
    assert response.status == 400
    assert await error_code(response) == "InvalidTag"
    assert tags_of(await xml_of(await client.get(f"/{bucket}?tagging"))) == fifty


async def test_bucket_tagging_of_missing_bucket(client, error_code):
    response = await client.get("/no-such-bucket?tagging")
    assert response.status == 404
    assert await error_code(response) == "NoSuchBucket"


# --------------------------------------------------------------------------- versioning


async def test_versioning_of_unversioned_bucket(client, bucket, error_code):
    response = await client.get(f"/{bucket}?versioning")
    assert response.status == 200
    root = await xml_of(response)
    assert root.tag == f"{NS}VersioningConfiguration"
    assert root.find(f"{NS}Status") is None
    assert root.find(f"{NS}MfaDelete") is None
    response = await client.get("/no-such-bucket?versioning")
    assert response.status == 404
    assert await error_code(response) == "NoSuchBucket"


async def test_mfa_delete_is_refused_explicitly(client, bucket, error_code):
    body = (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<Status>Enabled</Status><MfaDelete>Enabled</MfaDelete>"
            b"</VersioningConfiguration>")
    response = await client.put(f"/{bucket}?versioning", data=body)
    assert response.status == 501
    assert await error_code(response) == "NotImplemented"
    root = await xml_of(await client.get(f"/{bucket}?versioning"))
    assert root.find(f"{NS}Status") is None


async def test_no_version_id_header_for_unversioned_buckets(client, bucket):
    responses = [
        await client.put(f"/{bucket}/k", data=b"x"),
        await client.get(f"/{bucket}/k"),
        await client.head(f"/{bucket}/k"),
        await client.get(f"/{bucket}/k?versionId=null"),
        await client.put(f"/{bucket}/copy", headers={"x-amz-copy-source": f"{bucket}/k"}),
        await client.delete(f"/{bucket}/k?versionId=null"),
    ]
    for response in responses:
        assert response.status in (200, 204)
        assert "x-amz-version-id" not in response.headers
    assert (await client.get(f"/{bucket}/k")).status == 404


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
async def test_other_version_ids_are_refused(client, bucket, method):
    await client.put(f"/{bucket}/k", data=b"x")
    response = await client.request(method, f"/{bucket}/k?versionId=3HL4kqtJlcpXroDTDmJ")
    assert response.status == 400
    assert (await client.get(f"/{bucket}/k")).status == 200


# --------------------------------------------------------------------------- ListObjectVersions


KEYS = ["a", "b/1", "b/2", "c d", "e"]


@pytest.fixture
async def objects(client, bucket):
    etags = {}
    for key in KEYS:
        response = await client.put(f"/{bucket}/{urllib.parse.quote(key)}", data=key.encode())
        etags[key] = response.headers["ETag"]
    return etags


def versions_of(root) -> list[str]:
    assert root.tag == f"{NS}ListVersionsResult"
    assert root.findall(f"{NS}DeleteMarker") == []
    return [v.findtext(f"{NS}Key") for v in root.findall(f"{NS}Version")]


async def test_list_object_versions(client, bucket, objects):
    response = await client.get(f"/{bucket}?versions")
    assert response.status == 200
    root = await xml_of(response)
    assert versions_of(root) == KEYS
    assert root.findtext(f"{NS}IsTruncated") == "false"
    for version in root.findall(f"{NS}Version"):
        key = version.findtext(f"{NS}Key")
        assert version.findtext(f"{NS}VersionId") == "null"
        assert version.findtext(f"{NS}IsLatest") == "true"
        assert version.findtext(f"{NS}ETag") == objects[key]
        assert version.findtext(f"{NS}Size") == str(len(key.encode()))
        assert version.findtext(f"{NS}LastModified")
        assert version.findtext(f"{NS}StorageClass") == "STANDARD"


async def test_list_object_versions_prefix_delimiter(client, bucket, objects):
    root = await xml_of(await client.get(f"/{bucket}?versions&prefix=b/"))
    assert versions_of(root) == ["b/1", "b/2"]
    root = await xml_of(await client.get(f"/{bucket}?versions&delimiter=/"))
    assert versions_of(root) == ["a", "c d", "e"]
    prefixes = [p.findtext(f"{NS}Prefix") for p in root.findall(f"{NS}CommonPrefixes")]
    assert prefixes == ["b/"]


async def test_list_object_versions_url_encoding(client, bucket, objects):
    root = await xml_of(await client.get(f"/{bucket}?versions&encoding-type=url"))
    assert root.findtext(f"{NS}EncodingType") == "url"
    assert "c%20d" in versions_of(root)


async def test_list_object_versions_pages(client, bucket, objects):
    seen, query = [], "versions&max-keys=2"
    for _ in range(10):
        root = await xml_of(await client.get(f"/{bucket}?{query}"))
        page = versions_of(root)
        assert len(page) <= 2
        seen += page
        if root.findtext(f"{NS}IsTruncated") != "true":
            break
        key_marker = root.findtext(f"{NS}NextKeyMarker")
        assert key_marker == page[-1]
        assert root.findtext(f"{NS}NextVersionIdMarker") == "null"
        query = ("versions&max-keys=2&key-marker=" + urllib.parse.quote(key_marker)
                 + "&version-id-marker=null")
    assert seen == KEYS


async def test_list_object_versions_key_marker_alone(client, bucket, objects):
    root = await xml_of(await client.get(f"/{bucket}?versions&key-marker=b/2"))
    assert versions_of(root) == ["c d", "e"]
    assert root.findtext(f"{NS}KeyMarker") == "b/2"


async def test_version_id_marker_needs_key_marker(client, bucket, error_code):
    response = await client.get(f"/{bucket}?versions&version-id-marker=null")
    assert response.status == 400
    assert await error_code(response) == "InvalidArgument"


async def test_list_object_versions_missing_bucket(client, error_code):
    response = await client.get("/no-such-bucket?versions")
    assert response.status == 404
    assert await error_code(response) == "NoSuchBucket"


# --------------------------------------------------------------------------- configurations


NOT_CONFIGURED = {
    "policy": "NoSuchBucketPolicy",
    "cors": "NoSuchCORSConfiguration",
    "lifecycle": "NoSuchLifecycleConfiguration",
    "encryption": "ServerSideEncryptionConfigurationNotFoundError",
    "object-lock": "ObjectLockConfigurationNotFoundError",
    "website": "NoSuchWebsiteConfiguration",
    "replication": "ReplicationConfigurationNotFoundError",
}


@pytest.mark.parametrize("resource, code", list(NOT_CONFIGURED.items()),
                         ids=list(NOT_CONFIGURED))
async def test_unconfigured_bucket_configuration(client, bucket, error_code, resource, code):
    for query in (resource, f"{resource}=", f"{resource}&x-id=Get"):
        response = await client.get(f"/{bucket}?{query}")
        assert response.status == 404, query
        assert await error_code(response) == code
    response = await client.get(f"/no-such-bucket?{resource}")
    assert response.status == 404
    assert await error_code(response) == "NoSuchBucket"


@pytest.mark.parametrize("resource, root", [
    ("logging", "BucketLoggingStatus"),
    ("notification", "NotificationConfiguration"),
])
async def test_unconfigured_bucket_empty_documents(client, bucket, resource, root):
    response = await client.get(f"/{bucket}?{resource}")
    assert response.status == 200
    element = await xml_of(response)
    assert element.tag == f"{NS}{root}"
    assert list(element) == []


@pytest.mark.parametrize("resource", ["policy", "cors", "lifecycle", "encryption", "website",
                                      "replication", "ownershipControls", "publicAccessBlock"])
async def test_deleting_unconfigured_configuration(client, bucket, error_code, resource):
    response = await client.delete(f"/{bucket}?{resource}")
    assert response.status == 204
    response = await client.delete(f"/no-such-bucket?{resource}")
    assert response.status == 404
    assert await error_code(response) == "NoSuchBucket"


async def test_a_new_bucket_has_acls_disabled_and_public_access_blocked(client, bucket):
    """As AWS creates buckets since 2023: BucketOwnerEnforced, all four blocks on."""
    ownership = await xml_of(await client.get(f"/{bucket}?ownershipControls"))
    assert [e.text for e in ownership.iter(f"{NS}ObjectOwnership")] == ["BucketOwnerEnforced"]
    block = await xml_of(await client.get(f"/{bucket}?publicAccessBlock"))
    assert [e.text for e in block] == ["true"] * 4
    for resource in ("ownershipControls", "publicAccessBlock"):
        assert (await client.delete(f"/{bucket}?{resource}")).status == 204
        assert (await client.get(f"/{bucket}?{resource}")).status == 404


@pytest.mark.parametrize("resource", ["website"])
async def test_setting_configuration_is_refused_explicitly(client, bucket, error_code, resource):
    response = await client.put(f"/{bucket}?{resource}", data=b"<x/>")
    assert response.status == 501
    assert await error_code(response) == "NotImplemented"
    # ...and it never fell through to CreateBucket: the bucket still answers as unconfigured.
    assert (await client.get(f"/{bucket}?{resource}")).status == 404


# --------------------------------------------------------------------------- GetObjectAttributes


ALL_ATTRIBUTES = "ETag,Checksum,ObjectParts,StorageClass,ObjectSize"


async def test_get_object_attributes(client, bucket):
    data = b"attribute me"
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    await client.put(f"/{bucket}/k", data=data, headers={"x-amz-checksum-crc32": crc})
    response = await client.get(f"/{bucket}/k?attributes",
                                headers={"x-amz-object-attributes": ALL_ATTRIBUTES})
    assert response.status == 200
    assert response.headers["Last-Modified"].endswith("GMT")
    root = await xml_of(response)
    assert root.tag == f"{NS}GetObjectAttributesResponse"
    assert root.findtext(f"{NS}ETag") == hashlib.md5(data).hexdigest()  # unquoted
    assert root.findtext(f"{NS}ObjectSize") == str(len(data))
    assert root.findtext(f"{NS}StorageClass") == "STANDARD"
    assert root.find(f"{NS}Checksum").findtext(f"{NS}ChecksumCRC32") == crc
    assert root.find(f"{NS}ObjectParts") is None  # not a multipart object


async def test_get_object_attributes_only_what_was_asked(client, bucket):
    await client.put(f"/{bucket}/k", data=b"xyz")
    response = await client.get(f"/{bucket}/k?attributes",
                                headers={"x-amz-object-attributes": "ObjectSize"})
    root = await xml_of(response)
    assert [child.tag for child in root] == [f"{NS}ObjectSize"]
    assert root.findtext(f"{NS}ObjectSize") == "3"


async def test_get_object_attributes_of_multipart_object(client, bucket):
    response = await client.post(f"/{bucket}/mp?uploads")
    upload_id = ET.fromstring(await response.read()).findtext(f"{NS}UploadId")
    response = await client.put(f"/{bucket}/mp?partNumber=1&uploadId={upload_id}", data=b"p1")
    etag = response.headers["ETag"]
    body = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag>"
            "</Part></CompleteMultipartUpload>").encode()
    assert (await client.post(f"/{bucket}/mp?uploadId={upload_id}", data=body)).status == 200
    response = await client.get(f"/{bucket}/mp?attributes",
                                headers={"x-amz-object-attributes": "ETag,ObjectParts"})
    root = await xml_of(response)
    assert root.findtext(f"{NS}ETag").endswith("-1")
    assert root.find(f"{NS}ObjectParts").findtext(f"{NS}PartsCount") == "1"


@pytest.mark.parametrize("header", [None, "", "Colour", "ETag,Colour"])
async def test_get_object_attributes_invalid(client, bucket, error_code, header):
    await client.put(f"/{bucket}/k", data=b"x")
    headers = {} if header is None else {"x-amz-object-attributes": header}
    response = await client.get(f"/{bucket}/k?attributes", headers=headers)
    assert response.status == 400
    assert await error_code(response) == "InvalidArgument"


async def test_get_object_attributes_missing_key(client, bucket, error_code):
    response = await client.get(f"/{bucket}/absent?attributes",
                                headers={"x-amz-object-attributes": "ETag"})
    assert response.status == 404
    assert await error_code(response) == "NoSuchKey"


async def test_canned_acl_that_does_not_exist_is_invalid_argument(client, bucket, error_code):
    # A misspelt canned ACL is the client's error (400), not a feature post3 lacks (501).
    await client.put(f"/{bucket}/k", data=b"x")
    acl = {"x-amz-acl": "public-ready"}
    attempts = [
        ("PUT", "/other-bucket", {}), ("PUT", f"/{bucket}/new", {}),
        ("PUT", f"/{bucket}?acl", {}), ("PUT", f"/{bucket}/k?acl", {}),
        ("POST", f"/{bucket}/mp?uploads", {}),
        ("PUT", f"/{bucket}/copy", {"x-amz-copy-source": f"/{bucket}/k"}),
    ]
    for method, url, extra in attempts:
        response = await client.request(method, url, headers={**acl, **extra}, data=b"")
        assert response.status == 400, (method, url)
        assert await error_code(response) == "InvalidArgument"
    assert (await client.head("/other-bucket")).status == 404
    assert (await client.head(f"/{bucket}/new")).status == 404
