"""Multipart upload through HTTP, on the memory backend: the seven operations, the checks S3 makes
on a completion, and how a completed object reads back."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
import zlib

import pytest
from defusedxml import ElementTree as ET

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
MiB = 1024 * 1024
MIN_PART = 5 * MiB


def pattern(size: int, seed: int = 0) -> bytes:
    """Bytes that differ at every offset, so a shifted range cannot pass for the right one."""
    block = b"".join(hashlib.sha256(f"{seed}-{i}".encode()).digest() for i in range(4096))
    repeats, rest = divmod(size, len(block))
    return block * repeats + block[:rest]


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(*parts: bytes) -> str:
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def crc32_raw(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def path(bucket: str, key: str, **query: str | None) -> str:
    url = f"/{bucket}/{urllib.parse.quote(key, safe='/~')}"
    if query:
        url += "?" + "&".join(
            name if value is None else f"{name}={urllib.parse.quote(value, safe='')}"
            for name, value in query.items()
        )
    return url


async def xml_of(response):
    return ET.fromstring(await response.read())


async def create(client, bucket: str, key: str = "mp", headers=None) -> str:
    response = await client.post(path(bucket, key, uploads=None), headers=headers or {})
    assert response.status == 200, await response.text()
    root = await xml_of(response)
    assert root.tag == f"{NS}InitiateMultipartUploadResult"
    assert root.findtext(f"{NS}Key") == key
    assert root.findtext(f"{NS}Bucket") == bucket
    return root.findtext(f"{NS}UploadId")


async def upload_part(client, bucket, key, upload_id, number, data, headers=None):
    return await client.put(
        path(bucket, key, partNumber=str(number), uploadId=upload_id),
        data=data, headers=headers or {},
    )


async def put_part(client, bucket, key, upload_id, number, data, headers=None) -> str:
    response = await upload_part(client, bucket, key, upload_id, number, data, headers)
    assert response.status == 200, await response.text()
    return response.headers["ETag"]


def complete_xml(parts, *, namespace=True, quote='"', number_first=True, pretty=False,
                 checksums=None) -> bytes:
    """A CompleteMultipartUpload document in one of the forms clients send. ``parts`` are
    (number, etag without quotes); ``checksums`` maps number -> base64 CRC32."""
    nl, indent = ("\n", "  ") if pretty else ("", "")
    items = []
    for number, etag in parts:
        fields = [f"<PartNumber>{number}</PartNumber>", f"<ETag>{quote}{etag}{quote}</ETag>"]
        if not number_first:
            fields.reverse()
        if checksums and number in checksums:
            fields.append(f"<ChecksumCRC32>{checksums[number]}</ChecksumCRC32>")
        inner = nl.join(indent * 2 + f for f in fields)
        items.append(f"{indent}<Part>{nl}{inner}{nl}{indent}</Part>")
    attributes = f' xmlns="{XMLNS}"' if namespace else ""
    body = (f"<CompleteMultipartUpload{attributes}>{nl}{nl.join(items)}{nl}"
            "</CompleteMultipartUpload>")
    if pretty:
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
    return body.encode()


async def complete(client, bucket, key, upload_id, body: bytes, headers=None):
    return await client.post(path(bucket, key, uploadId=upload_id), data=body,
                             headers=headers or {})


async def two_part_upload(client, bucket, key="mp", tail=1000):
    """An upload holding a 5 MiB part 1 and a short part 2; returns (upload_id, parts, etags)."""
    upload_id = await create(client, bucket, key)
    parts = [pattern(MIN_PART, 1), pattern(tail, 2)]
    etags = [await put_part(client, bucket, key, upload_id, n, d) for n, d in
             enumerate(parts, 1)]
    return upload_id, parts, etags


# --------------------------------------------------------------------------- create


async def test_create_remembers_metadata_content_headers_and_tagging(client, bucket):
    upload_id = await create(client, bucket, "doc.txt", headers={
        "Content-Type": "text/plain", "Cache-Control": "max-age=60",
        "Content-Disposition": "attachment", "Content-Language": "fr",
        "x-amz-meta-colour": "blue", "x-amz-tagging": "project=post3&team=storage",
    })
    etag = await put_part(client, bucket, "doc.txt", upload_id, 1, b"hello")
    response = await complete(client, bucket, "doc.txt", upload_id,
                              complete_xml([(1, etag.strip('"'))]))
    assert response.status == 200

    response = await client.get(path(bucket, "doc.txt"))
    assert await response.read() == b"hello"
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["Cache-Control"] == "max-age=60"
    assert response.headers["Content-Disposition"] == "attachment"
    assert response.headers["Content-Language"] == "fr"
    assert response.headers["x-amz-meta-colour"] == "blue"
    assert response.headers["x-amz-tagging-count"] == "2"
    root = await xml_of(await client.get(path(bucket, "doc.txt", tagging=None)))
    tags = {t.findtext(f"{NS}Key"): t.findtext(f"{NS}Value") for t in root.iter(f"{NS}Tag")}
    assert tags == {"project": "post3", "team": "storage"}


async def test_create_echoes_checksum_algorithm(client, bucket):
    response = await client.post(path(bucket, "c", uploads=None),
                                 headers={"x-amz-checksum-algorithm": "CRC32"})
    assert response.status == 200
    assert response.headers["x-amz-checksum-algorithm"] == "CRC32"
    response = await client.post(path(bucket, "plain", uploads=None))
    assert "x-amz-checksum-algorithm" not in response.headers


async def test_create_accepts_uploads_with_empty_value(client, bucket):
    response = await client.post(f"/{bucket}/k?uploads=&x-id=CreateMultipartUpload")
    assert response.status == 200
    assert (await xml_of(response)).findtext(f"{NS}UploadId")


async def test_create_in_missing_bucket(client, error_code):
    response = await client.post("/no-such-bucket/k?uploads")
    assert response.status == 404
    assert await error_code(response) == "NoSuchBucket"


# --------------------------------------------------------------------------- parts


async def test_parts_out_of_order_complete_in_order(client, bucket):
    upload_id = await create(client, bucket)
    parts = {1: pattern(MIN_PART, 1), 2: pattern(MIN_PART, 2), 3: pattern(777, 3)}
    etags = {}
    for number in (3, 1, 2):
        etags[number] = await put_part(client, bucket, "mp", upload_id, number, parts[number])
        assert etags[number] == f'"{md5_hex(parts[number])}"'
    response = await complete(client, bucket, "mp", upload_id,
                              complete_xml([(n, etags[n].strip('"')) for n in (1, 2, 3)]))
    assert response.status == 200
    root = await xml_of(response)
    expected_etag = multipart_etag(parts[1], parts[2], parts[3])
    assert root.findtext(f"{NS}ETag") == expected_etag
    assert root.findtext(f"{NS}Key") == "mp"
    assert root.findtext(f"{NS}Location").endswith(f"/{bucket}/mp")

    response = await client.get(path(bucket, "mp"))
    assert response.headers["ETag"] == expected_etag
    assert await response.read() == parts[1] + parts[2] + parts[3]
    # The upload is gone once completed.
    root = await xml_of(await client.get(f"/{bucket}?uploads"))
    assert root.findall(f"{NS}Upload") == []


async def test_uploading_a_part_again_replaces_it(client, bucket):
    upload_id = await create(client, bucket)
    await put_part(client, bucket, "mp", upload_id, 1, b"first version")
    etag = await put_part(client, bucket, "mp", upload_id, 1, b"second")
    root = await xml_of(await client.get(path(bucket, "mp", uploadId=upload_id)))
    listed = root.findall(f"{NS}Part")
    assert len(listed) == 1
    assert listed[0].findtext(f"{NS}ETag") == etag
    assert listed[0].findtext(f"{NS}Size") == "6"
    response = await complete(client, bucket, "mp", upload_id, complete_xml([(1, etag[1:-1])]))
    assert response.status == 200
    assert await (await client.get(path(bucket, "mp"))).read() == b"second"


@pytest.mark.parametrize("number", ["0", "10001", "-1", "abc", ""])
async def test_part_number_out_of_bounds(client, bucket, error_code, number):
    upload_id = await create(client, bucket)
    response = await client.put(path(bucket, "mp", partNumber=number, uploadId=upload_id),
                                data=b"x")
    assert response.status == 400
    assert await error_code(response) == "InvalidArgument"


async def test_part_number_bounds_inclusive(client, bucket):
    upload_id = await create(client, bucket)
    await put_part(client, bucket, "mp", upload_id, 1, b"a")
    await put_part(client, bucket, "mp", upload_id, 10000, b"b")
    root = await xml_of(await client.get(path(bucket, "mp", uploadId=upload_id)))
    assert [p.findtext(f"{NS}PartNumber") for p in root.iter(f"{NS}Part")] == ["1", "10000"]


async def test_part_content_md5_is_verified(client, bucket, error_code):
    upload_id = await create(client, bucket)
    data = b"part data"
    wrong = b64(hashlib.md5(b"other").digest())
    response = await upload_part(client, bucket, "mp", upload_id, 1, data,
                                 {"Content-MD5": wrong})
    assert response.status == 400
    assert await error_code(response) == "BadDigest"
    response = await upload_part(client, bucket, "mp", upload_id, 1, data,
                                 {"Content-MD5": "not-base64!"})
    assert response.status == 400
    assert await error_code(response) == "InvalidDigest"
    root = await xml_of(await client.get(path(bucket, "mp", uploadId=upload_id)))
    assert root.findall(f"{NS}Part") == []  # nothing stored by the failed attempts
    good = b64(hashlib.md5(data).digest())
    await put_part(client, bucket, "mp", upload_id, 1, data, {"Content-MD5": good})


async def test_part_checksum_is_verified_and_echoed(client, bucket, error_code):
    upload_id = await create(client, bucket, headers={"x-amz-checksum-algorithm": "CRC32"})
    data = b"checksummed part"
    response = await upload_part(client, bucket, "mp", upload_id, 1, data,
                                 {"x-amz-checksum-crc32": b64(crc32_raw(b"nope"))})
    assert response.status == 400
    assert await error_code(response) == "BadDigest"
    response = await upload_part(client, bucket, "mp", upload_id, 1, data,
                                 {"x-amz-checksum-crc32": b64(crc32_raw(data))})
    assert response.status == 200
    assert response.headers["x-amz-checksum-crc32"] == b64(crc32_raw(data))
    root = await xml_of(await client.get(path(bucket, "mp", uploadId=upload_id)))
    assert root.findtext(f"{NS}ChecksumAlgorithm") == "CRC32"
    assert root.find(f"{NS}Part").findtext(f"{NS}ChecksumCRC32") == b64(crc32_raw(data))


async def test_upload_part_to_unknown_upload(client, bucket, error_code):
    response = await upload_part(client, bucket, "mp", "no-such-upload", 1, b"x")
    assert response.status == 404
    assert await error_code(response) == "NoSuchUpload"


async def test_upload_id_belongs_to_its_key(client, bucket, error_code):
    upload_id = await create(client, bucket, "one")
    response = await upload_part(client, bucket, "other", upload_id, 1, b"x")
    assert response.status == 404
    assert await error_code(response) == "NoSuchUpload"


# --------------------------------------------------------------------------- complete


FORMS = {
    "botocore": {},
    "no-namespace": {"namespace": False},
    "unquoted": {"namespace": False, "quote": ""},
    "quot-entity": {"quote": "&quot;"},
    "numeric-entity": {"quote": "&#34;"},
    "etag-first": {"number_first": False},
    "pretty-with-declaration": {"pretty": True},
    "pretty-unquoted-etag-first": {"pretty": True, "quote": "", "number_first": False},
}


@pytest.mark.parametrize("form", list(FORMS.values()), ids=list(FORMS))
async def test_complete_accepts_every_client_form(client, bucket, form):
    upload_id, parts, etags = await two_part_upload(client, bucket)
    body = complete_xml([(1, etags[0][1:-1]), (2, etags[1][1:-1])], **form)
    response = await complete(client, bucket, "mp", upload_id, body)
    assert response.status == 200, await response.text()
    assert (await xml_of(response)).findtext(f"{NS}ETag") == multipart_etag(*parts)
    assert await (await client.get(path(bucket, "mp"))).read() == b"".join(parts)


async def test_complete_with_crc32_checksums_gives_composite_checksum(client, bucket):
    upload_id = await create(client, bucket, headers={"x-amz-checksum-algorithm": "CRC32"})
    parts = [pattern(MIN_PART, 1), pattern(100, 2)]
    values = {}
    for number, data in enumerate(parts, 1):
        values[number] = b64(crc32_raw(data))
        await put_part(client, bucket, "mp", upload_id, number, data,
                       {"x-amz-checksum-crc32": values[number]})
    body = complete_xml([(1, md5_hex(parts[0])), (2, md5_hex(parts[1]))], checksums=values)
    response = await complete(client, bucket, "mp", upload_id, body)
    assert response.status == 200, await response.text()
    composite = base64.b64encode(
        zlib.crc32(crc32_raw(parts[0]) + crc32_raw(parts[1])).to_bytes(4, "big")
    ).decode() + "-2"
    assert (await xml_of(response)).findtext(f"{NS}ChecksumCRC32") == composite

    response = await client.head(path(bucket, "mp"), headers={"x-amz-checksum-mode": "ENABLED"})
    assert response.headers["x-amz-checksum-crc32"] == composite
    response = await client.head(path(bucket, "mp"))
    assert "x-amz-checksum-crc32" not in response.headers


async def test_complete_with_wrong_part_checksum_is_invalid_part(client, bucket, error_code):
    upload_id = await create(client, bucket, headers={"x-amz-checksum-algorithm": "CRC32"})
    data = b"part"
    await put_part(client, bucket, "mp", upload_id, 1, data,
                   {"x-amz-checksum-crc32": b64(crc32_raw(data))})
    body = complete_xml([(1, md5_hex(data))], checksums={1: b64(crc32_raw(b"else"))})
    response = await complete(client, bucket, "mp", upload_id, body)
    assert response.status == 400
    assert await error_code(response) == "InvalidPart"


async def test_complete_with_wrong_etag_is_invalid_part(client, bucket, error_code):
    upload_id, parts, etags = await two_part_upload(client, bucket)
    body = complete_xml([(1, etags[0][1:-1]), (2, md5_hex(b"something else"))])
    response = await complete(client, bucket, "mp", upload_id, body)
    assert response.status == 400
    assert await error_code(response) == "InvalidPart"
    assert (await client.get(path(bucket, "mp"))).status == 404


async def test_complete_naming_a_missing_part_is_invalid_part(client, bucket, error_code):
    upload_id, parts, etags = await two_part_upload(client, bucket)
    body = complete_xml([(1, etags[0][1:-1]), (3, etags[1][1:-1])])
    response = await complete(client, bucket, "mp", upload_id, body)
    assert response.status == 400
    assert await error_code(response) == "InvalidPart"


@pytest.mark.parametrize("order", [(2, 1), (1, 1)], ids=["descending", "repeated"])
async def test_complete_out_of_order_is_invalid_part_order(client, bucket, error_code, order):
    upload_id, parts, etags = await two_part_upload(client, bucket)
    by_number = {1: etags[0][1:-1], 2: etags[1][1:-1]}
    response = await complete(client, bucket, "mp", upload_id,
                              complete_xml([(n, by_number[n]) for n in order]))
    assert response.status == 400
    assert await error_code(response) == "InvalidPartOrder"


async def test_complete_with_small_part_not_last_is_entity_too_small(client, bucket, error_code):
    upload_id = await create(client, bucket)
    small, last = pattern(MIN_PART - 1, 1), pattern(10, 2)
    e1 = await put_part(client, bucket, "mp", upload_id, 1, small)
    e2 = await put_part(client, bucket, "mp", upload_id, 2, last)
    response = await complete(client, bucket, "mp", upload_id,
                              complete_xml([(1, e1[1:-1]), (2, e2[1:-1])]))
    assert response.status == 400
    assert await error_code(response) == "EntityTooSmall"
    # The parts are still there: completing with the small part alone (last) works.
    response = await complete(client, bucket, "mp", upload_id, complete_xml([(1, e1[1:-1])]))
    assert response.status == 200
    assert await (await client.get(path(bucket, "mp"))).read() == small


async def test_complete_with_only_some_parts(client, bucket):
    upload_id, parts, etags = await two_part_upload(client, bucket)
    response = await complete(client, bucket, "mp", upload_id, complete_xml([(1, etags[0][1:-1])]))
    assert response.status == 200
    response = await client.get(path(bucket, "mp"))
    assert await response.read() == parts[0]
    assert response.headers["ETag"] == multipart_etag(parts[0])


@pytest.mark.parametrize("body", [
    b"not xml at all",
    b"<CompleteMultipartUpload></CompleteMultipartUpload>",
    b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
    b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>a</ETag></Part>"
    b"</CompleteMultipartUpload>",
    b"<Other><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part></Other>",
    b"",
], ids=["garbage", "no-parts", "no-etag", "bad-number", "wrong-root", "empty"])
async def test_complete_malformed_xml(client, bucket, error_code, body):
    upload_id = await create(client, bucket)
    await put_part(client, bucket, "mp", upload_id, 1, b"x")
    response = await complete(client, bucket, "mp", upload_id, body)
    assert response.status == 400
    assert await error_code(response) == "MalformedXML"


async def test_complete_unknown_upload(client, bucket, error_code):
    response = await complete(client, bucket, "mp", "nope", complete_xml([(1, md5_hex(b"x"))]))
    assert response.status == 404
    assert await error_code(response) == "NoSuchUpload"
    await client.put(path(bucket, "mp"), data=b"an object, not an upload")
    for body in (complete_xml([(1, md5_hex(b"x"))]), b"", b"<not xml"):
        response = await complete(client, bucket, "mp", "nope", body)
        assert response.status == 404
        assert await error_code(response) == "NoSuchUpload"


async def test_complete_again_with_the_same_parts_answers_the_same(client, bucket, error_code):
    # A client whose first answer was lost retries; S3 answers 200 with the same ETag.
    upload_id, parts, etags = await two_part_upload(client, bucket)
    body = complete_xml([(1, etags[0][1:-1]), (2, etags[1][1:-1])])
    first = await complete(client, bucket, "mp", upload_id, body)
    assert first.status == 200
    first_xml = await xml_of(first)
    again = await complete(client, bucket, "mp", upload_id, body)
    assert again.status == 200, await again.text()
    again_xml = await xml_of(again)
    assert again_xml.findtext(f"{NS}ETag") == first_xml.findtext(f"{NS}ETag") == \
        multipart_etag(*parts)
    assert again_xml.findtext(f"{NS}Key") == "mp"
    assert await (await client.get(path(bucket, "mp"))).read() == b"".join(parts)
    # Other parts, or another upload id, name no upload.
    for upload, document in [(upload_id, complete_xml([(1, etags[0][1:-1])])),
                             ("another-upload", body)]:
        response = await complete(client, bucket, "mp", upload, document)
        assert response.status == 404
        assert await error_code(response) == "NoSuchUpload"
    # Once the object is replaced, the old upload id names nothing either.
    await client.put(path(bucket, "mp"), data=b"replaced")
    response = await complete(client, bucket, "mp", upload_id, body)
    assert response.status == 404
    assert await error_code(response) == "NoSuchUpload"


async def test_complete_if_none_match_refuses_existing_key(client, bucket, error_code):
    await client.put(path(bucket, "mp"), data=b"already here")
    upload_id = await create(client, bucket)
    etag = await put_part(client, bucket, "mp", upload_id, 1, b"new")
    response = await complete(client, bucket, "mp", upload_id, complete_xml([(1, etag[1:-1])]),
                              headers={"If-None-Match": "*"})
    assert response.status == 412
    assert await error_code(response) == "PreconditionFailed"
    assert await (await client.get(path(bucket, "mp"))).read() == b"already here"


async def test_complete_if_none_match_creates_absent_key(client, bucket):
    upload_id = await create(client, bucket, "fresh")
    etag = await put_part(client, bucket, "fresh", upload_id, 1, b"new")
    response = await complete(client, bucket, "fresh", upload_id,
                              complete_xml([(1, etag[1:-1])]), headers={"If-None-Match": "*"})
    assert response.status == 200
    assert await (await client.get(path(bucket, "fresh"))).read() == b"new"


async def test_complete_if_match(client, bucket, error_code):
    current = (await client.put(path(bucket, "mp"), data=b"v1")).headers["ETag"]
    upload_id = await create(client, bucket)
    etag = await put_part(client, bucket, "mp", upload_id, 1, b"v2")
    body = complete_xml([(1, etag[1:-1])])
    response = await complete(client, bucket, "mp", upload_id, body,
                              headers={"If-Match": f'"{md5_hex(b"other")}"'})
    assert response.status == 412
    assert await error_code(response) == "PreconditionFailed"
    response = await complete(client, bucket, "mp", upload_id, body, headers={"If-Match": current})
    assert response.status == 200
    assert await (await client.get(path(bucket, "mp"))).read() == b"v2"


# --------------------------------------------------------------------------- abort


async def test_abort(client, bucket, error_code):
    upload_id = await create(client, bucket)
    await put_part(client, bucket, "mp", upload_id, 1, b"x")
    response = await client.delete(path(bucket, "mp", uploadId=upload_id))
    assert response.status == 204
    for response in [
        await client.get(path(bucket, "mp", uploadId=upload_id)),
        await upload_part(client, bucket, "mp", upload_id, 2, b"y"),
        await complete(client, bucket, "mp", upload_id, complete_xml([(1, md5_hex(b"x"))])),
        await client.delete(path(bucket, "mp", uploadId=upload_id)),
    ]:
        assert response.status == 404
        assert await error_code(response) == "NoSuchUpload"
    root = await xml_of(await client.get(f"/{bucket}?uploads"))
    assert root.findall(f"{NS}Upload") == []
    assert (await client.get(path(bucket, "mp"))).status == 404


# --------------------------------------------------------------------------- ListParts


async def test_list_parts_pages(client, bucket):
    upload_id = await create(client, bucket)
    etags = {n: await put_part(client, bucket, "mp", upload_id, n, pattern(n, n))
             for n in (1, 2, 3, 4, 5)}
    seen, marker, pages = [], None, 0
    while True:
        query = {"uploadId": upload_id, "max-parts": "2"}
        if marker is not None:
            query["part-number-marker"] = marker
        response = await client.get(path(bucket, "mp", **query))
        assert response.status == 200
        root = await xml_of(response)
        assert root.tag == f"{NS}ListPartsResult"
        assert root.findtext(f"{NS}UploadId") == upload_id
        assert root.findtext(f"{NS}MaxParts") == "2"
        assert root.findtext(f"{NS}PartNumberMarker") == (marker or "0")
        numbers = [int(p.findtext(f"{NS}PartNumber")) for p in root.findall(f"{NS}Part")]
        for part in root.findall(f"{NS}Part"):
            number = int(part.findtext(f"{NS}PartNumber"))
            assert part.findtext(f"{NS}ETag") == etags[number]
            assert part.findtext(f"{NS}Size") == str(number)
            assert part.findtext(f"{NS}LastModified")
        seen += numbers
        pages += 1
        truncated = root.findtext(f"{NS}IsTruncated") == "true"
        if not truncated:
            break
        marker = root.findtext(f"{NS}NextPartNumberMarker")
        assert marker == str(numbers[-1])
    assert seen == [1, 2, 3, 4, 5]
    assert pages == 3


async def test_list_parts_unknown_upload(client, bucket, error_code):
    response = await client.get(path(bucket, "mp", uploadId="nope"))
    assert response.status == 404
    assert await error_code(response) == "NoSuchUpload"


# --------------------------------------------------------------------------- ListMultipartUploads


async def list_uploads(client, bucket, **query):
    url = f"/{bucket}?uploads"
    if query:
        url += "&" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    response = await client.get(url)
    assert response.status == 200, await response.text()
    root = await xml_of(response)
    assert root.tag == f"{NS}ListMultipartUploadsResult"
    uploads = [(u.findtext(f"{NS}Key"), u.findtext(f"{NS}UploadId"))
               for u in root.findall(f"{NS}Upload")]
    prefixes = [p.findtext(f"{NS}Prefix") for p in root.findall(f"{NS}CommonPrefixes")]
    return root, uploads, prefixes


@pytest.fixture
async def pending(client, bucket):
    """Uploads in progress, in listing order (key, then upload id)."""
    made = [(key, await create(client, bucket, key))
            for key in ("a/1", "a/2", "b/1", "c", "c", "d")]
    return sorted(made)


async def test_list_uploads_all(client, bucket, pending):
    root, uploads, prefixes = await list_uploads(client, bucket)
    assert uploads == pending
    assert prefixes == []
    assert root.findtext(f"{NS}IsTruncated") == "false"
    first = root.find(f"{NS}Upload")
    assert first.findtext(f"{NS}Initiated")
    assert first.findtext(f"{NS}StorageClass") == "STANDARD"


async def test_list_uploads_prefix_and_delimiter(client, bucket, pending):
    _, uploads, prefixes = await list_uploads(client, bucket, prefix="a/")
    assert uploads == [u for u in pending if u[0].startswith("a/")]
    root, uploads, prefixes = await list_uploads(client, bucket, delimiter="/")
    assert prefixes == ["a/", "b/"]
    assert uploads == [u for u in pending if "/" not in u[0]]
    assert root.findtext(f"{NS}Delimiter") == "/"


async def test_list_uploads_key_marker(client, bucket, pending):
    # Without upload-id-marker, every upload of the marker key itself is skipped.
    _, uploads, _ = await list_uploads(client, bucket, **{"key-marker": "c"})
    assert uploads == [u for u in pending if u[0] > "c"]
    c_uploads = [u for u in pending if u[0] == "c"]
    _, uploads, _ = await list_uploads(
        client, bucket, **{"key-marker": "c", "upload-id-marker": c_uploads[0][1]})
    assert uploads == [c_uploads[1]] + [u for u in pending if u[0] > "c"]


async def test_list_uploads_pages_with_max_uploads(client, bucket, pending):
    seen, query, pages = [], {"max-uploads": "2"}, 0
    while True:
        root, uploads, _ = await list_uploads(client, bucket, **query)
        assert len(uploads) <= 2
        assert root.findtext(f"{NS}MaxUploads") == "2"
        seen += uploads
        pages += 1
        if root.findtext(f"{NS}IsTruncated") != "true":
            break
        query = {"max-uploads": "2", "key-marker": root.findtext(f"{NS}NextKeyMarker"),
                 "upload-id-marker": root.findtext(f"{NS}NextUploadIdMarker")}
        assert query["key-marker"] == uploads[-1][0]
        assert query["upload-id-marker"] == uploads[-1][1]
    assert seen == pending
    assert pages == 3


async def test_list_uploads_pages_over_common_prefixes(client, bucket, pending):
    seen_uploads, seen_prefixes, query = [], [], {"max-uploads": "1", "delimiter": "/"}
    for _ in range(10):
        root, uploads, prefixes = await list_uploads(client, bucket, **query)
        assert len(uploads) + len(prefixes) == 1
        seen_uploads += uploads
        seen_prefixes += prefixes
        if root.findtext(f"{NS}IsTruncated") != "true":
            break
        query = {"max-uploads": "1", "delimiter": "/",
                 "key-marker": root.findtext(f"{NS}NextKeyMarker")}
        if root.findtext(f"{NS}NextUploadIdMarker"):
            query["upload-id-marker"] = root.findtext(f"{NS}NextUploadIdMarker")
    assert seen_prefixes == ["a/", "b/"]
    assert seen_uploads == [u for u in pending if "/" not in u[0]]


async def test_list_uploads_missing_bucket(client, error_code):
    response = await client.get("/no-such-bucket?uploads")
    assert response.status == 404
    assert await error_code(response) == "NoSuchBucket"


# --------------------------------------------------------------------------- reading back


@pytest.fixture
async def completed(client, bucket):
    """A completed object of two parts: 5 MiB and 1000 bytes."""
    upload_id, parts, etags = await two_part_upload(client, bucket, "done")
    body = complete_xml([(1, etags[0][1:-1]), (2, etags[1][1:-1])])
    assert (await complete(client, bucket, "done", upload_id, body)).status == 200
    return parts


async def test_get_part_number(client, bucket, completed):
    total = sum(map(len, completed))
    response = await client.get(path(bucket, "done", partNumber="1"))
    assert response.status == 206
    assert response.headers["x-amz-mp-parts-count"] == "2"
    assert response.headers["Content-Range"] == f"bytes 0-{MIN_PART - 1}/{total}"
    assert response.headers["ETag"] == multipart_etag(*completed)
    assert await response.read() == completed[0]

    response = await client.get(path(bucket, "done", partNumber="2"))
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes {MIN_PART}-{total - 1}/{total}"
    assert await response.read() == completed[1]

    response = await client.head(path(bucket, "done", partNumber="2"))
    assert response.status == 206
    assert response.headers["Content-Length"] == str(len(completed[1]))
    assert response.headers["x-amz-mp-parts-count"] == "2"


async def test_get_part_number_beyond_parts(client, bucket, completed, error_code):
    response = await client.get(path(bucket, "done", partNumber="3"))
    assert response.status == 416
    assert await error_code(response) == "InvalidPartNumber"


async def test_part_number_of_simple_object_is_whole_object(client, bucket):
    await client.put(path(bucket, "simple"), data=b"simple body")
    response = await client.get(path(bucket, "simple", partNumber="1"))
    assert response.status == 206
    assert response.headers["x-amz-mp-parts-count"] == "1"
    assert await response.read() == b"simple body"


async def test_range_across_part_boundary(client, bucket, completed):
    whole = b"".join(completed)
    first, last = MIN_PART - 100, MIN_PART + 99
    response = await client.get(path(bucket, "done"), headers={"Range": f"bytes={first}-{last}"})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes {first}-{last}/{len(whole)}"
    assert await response.read() == whole[first:last + 1]
    response = await client.get(path(bucket, "done"), headers={"Range": "bytes=-1500"})
    assert await response.read() == whole[-1500:]


async def test_list_objects_shows_multipart_etag_and_size(client, bucket, completed):
    root = await xml_of(await client.get(f"/{bucket}?list-type=2"))
    (contents,) = root.findall(f"{NS}Contents")
    assert contents.findtext(f"{NS}ETag") == multipart_etag(*completed)
    assert contents.findtext(f"{NS}Size") == str(sum(map(len, completed)))


# --------------------------------------------------------------------------- UploadPartCopy


async def test_upload_part_copy_with_ranges(client, bucket):
    source = pattern(MIN_PART + 4096, 7)
    await client.put(path(bucket, "source object"), data=source)
    upload_id = await create(client, bucket, "composed")
    copy_source = f"{bucket}/{urllib.parse.quote('source object')}"
    etags = []
    for number, (first, last) in enumerate([(0, MIN_PART - 1),
                                            (MIN_PART, len(source) - 1)], 1):
        response = await client.put(
            path(bucket, "composed", partNumber=str(number), uploadId=upload_id),
            headers={"x-amz-copy-source": copy_source,
                     "x-amz-copy-source-range": f"bytes={first}-{last}"})
        assert response.status == 200, await response.text()
        root = await xml_of(response)
        assert root.tag == f"{NS}CopyPartResult"
        assert root.findtext(f"{NS}ETag") == f'"{md5_hex(source[first:last + 1])}"'
        assert root.findtext(f"{NS}LastModified")
        etags.append(root.findtext(f"{NS}ETag"))
    response = await complete(client, bucket, "composed", upload_id,
                              complete_xml([(1, etags[0][1:-1]), (2, etags[1][1:-1])]))
    assert response.status == 200
    assert await (await client.get(path(bucket, "composed"))).read() == source


async def test_upload_part_copy_whole_object_with_leading_slash(client, bucket):
    await client.put(path(bucket, "src"), data=b"small source")
    upload_id = await create(client, bucket, "dst")
    response = await client.put(path(bucket, "dst", partNumber="1", uploadId=upload_id),
                                headers={"x-amz-copy-source": f"/{bucket}/src"})
    assert response.status == 200
    etag = (await xml_of(response)).findtext(f"{NS}ETag")
    assert etag == f'"{md5_hex(b"small source")}"'


async def test_upload_part_copy_range_beyond_source(client, bucket, error_code):
    await client.put(path(bucket, "src"), data=b"0123456789")
    upload_id = await create(client, bucket, "dst")
    response = await client.put(
        path(bucket, "dst", partNumber="1", uploadId=upload_id),
        headers={"x-amz-copy-source": f"{bucket}/src", "x-amz-copy-source-range": "bytes=5-10"})
    assert response.status == 416
    assert await error_code(response) == "InvalidRange"


async def test_upload_part_copy_malformed_range(client, bucket, error_code):
    await client.put(path(bucket, "src"), data=b"0123456789")
    upload_id = await create(client, bucket, "dst")
    response = await client.put(
        path(bucket, "dst", partNumber="1", uploadId=upload_id),
        headers={"x-amz-copy-source": f"{bucket}/src", "x-amz-copy-source-range": "bytes=5-"})
    assert response.status == 400
    assert await error_code(response) == "InvalidArgument"


async def test_upload_part_copy_source_conditions(client, bucket, error_code):
    etag = (await client.put(path(bucket, "src"), data=b"0123456789")).headers["ETag"]
    upload_id = await create(client, bucket, "dst")
    target = path(bucket, "dst", partNumber="1", uploadId=upload_id)
    response = await client.put(target, headers={
        "x-amz-copy-source": f"{bucket}/src", "x-amz-copy-source-if-match": '"other"'})
    assert response.status == 412
    assert await error_code(response) == "PreconditionFailed"
    response = await client.put(target, headers={
        "x-amz-copy-source": f"{bucket}/src", "x-amz-copy-source-if-none-match": etag})
    assert response.status == 412
    response = await client.put(target, headers={
        "x-amz-copy-source": f"{bucket}/src", "x-amz-copy-source-if-match": etag})
    assert response.status == 200


async def test_upload_part_copy_missing_source(client, bucket, error_code):
    upload_id = await create(client, bucket, "dst")
    response = await client.put(path(bucket, "dst", partNumber="1", uploadId=upload_id),
                                headers={"x-amz-copy-source": f"{bucket}/absent"})
    assert response.status == 404
    assert await error_code(response) == "NoSuchKey"


# --------------------------------------------------------------------------- buckets


async def test_delete_bucket_with_only_pending_uploads(client, bucket, error_code):
    upload_id = await create(client, bucket)
    await put_part(client, bucket, "mp", upload_id, 1, b"x")
    assert (await client.delete(f"/{bucket}")).status == 204
    response = await client.get(f"/{bucket}?uploads")
    assert response.status == 404
    assert await error_code(response) == "NoSuchBucket"
    # A bucket made again under the same name does not inherit the old uploads.
    assert (await client.put(f"/{bucket}")).status == 200
    _, uploads, _ = await list_uploads(client, bucket)
    assert uploads == []


# --------------------------------------------------------------------------- object checksums


async def crc32_upload(client, bucket, key="ck", kind=None, sizes=(MIN_PART, MIN_PART, 300)):
    """A CRC32 upload of parts of ``sizes``; returns (upload_id, parts, part crcs, body)."""
    headers = {"x-amz-checksum-algorithm": "CRC32"}
    if kind:
        headers["x-amz-checksum-type"] = kind
    upload_id = await create(client, bucket, key, headers=headers)
    parts = [pattern(size, n) for n, size in enumerate(sizes, 1)]
    values = {}
    for number, data in enumerate(parts, 1):
        values[number] = b64(crc32_raw(data))
        await put_part(client, bucket, key, upload_id, number, data,
                       {"x-amz-checksum-crc32": values[number]})
    body = complete_xml([(n, md5_hex(d)) for n, d in enumerate(parts, 1)], checksums=values)
    return upload_id, parts, values, body


def composite_crc32(parts) -> str:
    return b64(crc32_raw(b"".join(crc32_raw(p) for p in parts))) + f"-{len(parts)}"


async def test_complete_checksum_header_is_the_composite_checksum(client, bucket, error_code):
    upload_id, parts, _, body = await crc32_upload(client, bucket)
    wrong = b64(crc32_raw(b"other")) + "-3"
    response = await complete(client, bucket, "ck", upload_id, body,
                              {"x-amz-checksum-crc32": wrong})
    assert response.status == 400
    assert await error_code(response) == "BadDigest"
    assert (await client.head(path(bucket, "ck"))).status == 404  # nothing committed
    expected = composite_crc32(parts)
    response = await complete(client, bucket, "ck", upload_id, body,
                              {"x-amz-checksum-crc32": expected})
    assert response.status == 200, await response.text()
    assert (await xml_of(response)).findtext(f"{NS}ChecksumCRC32") == expected


async def test_complete_checksum_header_is_the_full_object_crc(client, bucket, error_code):
    upload_id, parts, _, body = await crc32_upload(client, bucket, kind="FULL_OBJECT")
    whole = b64(crc32_raw(b"".join(parts)))
    response = await complete(client, bucket, "ck", upload_id, body,
                              {"x-amz-checksum-crc32": b64(crc32_raw(b"other")),
                               "x-amz-checksum-type": "FULL_OBJECT"})
    assert response.status == 400
    assert await error_code(response) == "BadDigest"
    response = await complete(client, bucket, "ck", upload_id, body,
                              {"x-amz-checksum-type": "COMPOSITE",
                               "x-amz-checksum-crc32": whole})
    assert response.status == 400
    assert await error_code(response) == "InvalidRequest"
    response = await complete(client, bucket, "ck", upload_id, body,
                              {"x-amz-checksum-crc32": whole, "x-amz-checksum-type": "FULL_OBJECT"})
    assert response.status == 200, await response.text()
    root = await xml_of(response)
    assert (root.findtext(f"{NS}ChecksumCRC32"), root.findtext(f"{NS}ChecksumType")) == \
        (whole, "FULL_OBJECT")


async def test_complete_checksum_header_of_another_algorithm(client, bucket, error_code):
    upload_id, parts, _, body = await crc32_upload(client, bucket)
    sha = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()
    response = await complete(client, bucket, "ck", upload_id, body,
                              {"x-amz-checksum-sha256": sha})
    assert response.status == 400
    assert await error_code(response) == "InvalidRequest"


@pytest.mark.parametrize("kind", ["COMPOSITE", "FULL_OBJECT"])
async def test_part_number_read_sends_that_parts_checksum(client, bucket, kind):
    upload_id, parts, values, body = await crc32_upload(client, bucket, kind=kind)
    assert (await complete(client, bucket, "ck", upload_id, body)).status == 200
    enabled = {"x-amz-checksum-mode": "ENABLED"}
    for number, data in enumerate(parts, 1):
        for method in ("GET", "HEAD"):
            response = await client.request(method, path(bucket, "ck", partNumber=str(number)),
                                            headers=enabled)
            assert response.status == 206
            assert response.headers["x-amz-checksum-crc32"] == values[number], (method, number)
            assert response.headers["x-amz-checksum-type"] == kind
        assert await (await client.get(path(bucket, "ck", partNumber=str(number)))).read() == data
    # only when asked for
    response = await client.head(path(bucket, "ck", partNumber="1"))
    assert "x-amz-checksum-crc32" not in response.headers


async def test_get_object_attributes_object_parts(client, bucket):
    upload_id, parts, values, body = await crc32_upload(client, bucket)
    assert (await complete(client, bucket, "ck", upload_id, body)).status == 200
    wanted = {"x-amz-object-attributes": "ObjectParts"}

    async def object_parts(**headers):
        response = await client.get(path(bucket, "ck", attributes=None),
                                    headers={**wanted, **headers})
        assert response.status == 200, await response.text()
        return (await xml_of(response)).find(f"{NS}ObjectParts")

    found = await object_parts()
    assert found.findtext(f"{NS}PartsCount") == "3"
    assert found.find(f"{NS}TotalPartsCount") is None
    assert found.findtext(f"{NS}IsTruncated") == "false"
    assert found.findtext(f"{NS}MaxParts") == "1000"
    assert found.findtext(f"{NS}PartNumberMarker") == "0"
    assert found.findtext(f"{NS}NextPartNumberMarker") == "3"
    listed = [(p.findtext(f"{NS}PartNumber"), p.findtext(f"{NS}Size"),
               p.findtext(f"{NS}ChecksumCRC32")) for p in found.findall(f"{NS}Part")]
    assert listed == [(str(n), str(len(d)), values[n]) for n, d in enumerate(parts, 1)]

    found = await object_parts(**{"x-amz-max-parts": "2"})
    assert [p.findtext(f"{NS}PartNumber") for p in found.findall(f"{NS}Part")] == ["1", "2"]
    assert (found.findtext(f"{NS}IsTruncated"), found.findtext(f"{NS}NextPartNumberMarker"),
            found.findtext(f"{NS}MaxParts")) == ("true", "2", "2")
    found = await object_parts(**{"x-amz-max-parts": "2", "x-amz-part-number-marker": "2"})
    assert [p.findtext(f"{NS}PartNumber") for p in found.findall(f"{NS}Part")] == ["3"]
    assert (found.findtext(f"{NS}IsTruncated"), found.findtext(f"{NS}PartNumberMarker")) == \
        ("false", "2")


async def test_get_object_attributes_parts_without_checksums(client, bucket, completed):
    # S3 lists Part elements only for objects stored with a checksum; the count is always there.
    response = await client.get(path(bucket, "done", attributes=None),
                                headers={"x-amz-object-attributes": "ObjectParts"})
    found = (await xml_of(response)).find(f"{NS}ObjectParts")
    assert found.findtext(f"{NS}PartsCount") == "2"
    assert found.findall(f"{NS}Part") == []


async def test_get_object_attributes_invalid_max_parts(client, bucket, completed, error_code):
    for header in ("x-amz-max-parts", "x-amz-part-number-marker"):
        response = await client.get(path(bucket, "done", attributes=None),
                                    headers={"x-amz-object-attributes": "ObjectParts",
                                             header: "many"})
        assert response.status == 400, header
        assert await error_code(response) == "InvalidArgument"


async def test_copy_of_multipart_object_has_no_part_checksums(client, bucket):
    upload_id, parts, values, body = await crc32_upload(client, bucket)
    assert (await complete(client, bucket, "ck", upload_id, body)).status == 200
    response = await client.put(path(bucket, "copy"),
                                headers={"x-amz-copy-source": f"/{bucket}/ck"})
    assert response.status == 200, await response.text()
    response = await client.head(path(bucket, "copy", partNumber="1"),
                                 headers={"x-amz-checksum-mode": "ENABLED"})
    assert response.status == 206
    assert "x-amz-checksum-crc32" not in response.headers  # a copy is a single part
    assert response.headers["x-amz-mp-parts-count"] == "1"

