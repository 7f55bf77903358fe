"""boto3, configured as a user would (endpoint, credentials, region, path style), against a live
``post3 run``: every operation of issue 2 with checksums on as botocore ships them.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import io
import zlib

import pytest
from botocore.exceptions import ClientError


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def quoted_md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def all_keys(s3, bucket: str, **kwargs) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, **kwargs)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


# --------------------------------------------------------------------------- buckets


def test_created_bucket_is_listed_with_creation_date(s3, bucket_name):
    before = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)
    s3.create_bucket(Bucket=bucket_name)

    listed = {b["Name"]: b for b in s3.list_buckets()["Buckets"]}

    assert bucket_name in listed
    assert listed[bucket_name]["CreationDate"] >= before


def test_create_bucket_accepts_the_server_region_as_location_constraint(s3, bucket_name):
    # s3fs sends this whenever a region is configured (S3-WIRE.md §1.10).
    s3.create_bucket(
        Bucket=bucket_name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"}
    )
    s3.head_bucket(Bucket=bucket_name)


def test_create_own_bucket_again_succeeds_and_keeps_it_in_us_east_1(s3, bucket):
    # AWS's us-east-1 behaviour (issue 11, item 8); other regions answer 409.
    s3.put_object(Bucket=bucket, Key="kept", Body=b"contents")
    s3.create_bucket(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"contents"


@pytest.mark.parametrize("name", ["ab", "Upper-Case", "under_score", "-leading", "a..b",
                                  "foo.-bar", "foo-.bar"])
def test_invalid_bucket_name_is_rejected(s3, name):
    with pytest.raises(ClientError) as excinfo:
        s3.create_bucket(Bucket=name)
    assert error_of(excinfo) == ("InvalidBucketName", 400)


def test_head_bucket_tells_existing_from_missing(s3, bucket, bucket_name):
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket=bucket_name + "-missing")
    assert error_of(excinfo) == ("404", 404)


def test_delete_empty_bucket_removes_it(s3, bucket):
    response = s3.delete_bucket(Bucket=bucket)

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket=bucket)
    assert error_of(excinfo) == ("404", 404)


def test_delete_bucket_with_objects_is_bucket_not_empty(s3, bucket):
    s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket=bucket)
    assert error_of(excinfo) == ("BucketNotEmpty", 409)
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"x"


def test_delete_missing_bucket_is_no_such_bucket(s3, bucket_name):
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket=bucket_name)
    assert error_of(excinfo) == ("NoSuchBucket", 404)


def test_bucket_location_of_us_east_1_is_empty(s3, bucket):
    assert s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") is None


def test_bucket_location_of_missing_bucket_is_no_such_bucket(s3, bucket_name):
    with pytest.raises(ClientError) as excinfo:
        s3.get_bucket_location(Bucket=bucket_name)
    assert error_of(excinfo) == ("NoSuchBucket", 404)


# --------------------------------------------------------------------------- put / get / head


def test_put_then_get_returns_the_same_bytes_and_md5_etag(s3, bucket, make_bytes):
    data = make_bytes(300_001)

    put = s3.put_object(Bucket=bucket, Key="obj.bin", Body=data)
    got = s3.get_object(Bucket=bucket, Key="obj.bin")

    assert put["ETag"] == quoted_md5(data)
    assert got["ETag"] == quoted_md5(data)
    assert got["ContentLength"] == len(data)
    assert got["Body"].read() == data


def test_empty_object_round_trips(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["ContentLength"] == 0
    assert got["Body"].read() == b""
    assert got["ETag"] == quoted_md5(b"")


def test_second_put_replaces_the_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"first version")
    s3.put_object(Bucket=bucket, Key="k", Body=b"second")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second"
    assert all_keys(s3, bucket) == ["k"]


def test_put_to_missing_bucket_is_no_such_bucket(s3, bucket_name):
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket_name, Key="k", Body=b"x")
    assert error_of(excinfo) == ("NoSuchBucket", 404)


def test_special_key_round_trips_through_every_object_operation(s3, bucket, special_key):
    data = special_key.encode() * 3

    s3.put_object(Bucket=bucket, Key=special_key, Body=data)

    assert s3.get_object(Bucket=bucket, Key=special_key)["Body"].read() == data
    assert s3.head_object(Bucket=bucket, Key=special_key)["ContentLength"] == len(data)
    assert all_keys(s3, bucket) == [special_key]
    v1 = s3.list_objects(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in v1] == [special_key]
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": special_key})
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == data
    s3.delete_object(Bucket=bucket, Key=special_key)
    assert all_keys(s3, bucket) == ["copy"]


def test_keys_that_are_prefixes_of_each_other_coexist(s3, bucket):
    keys = ["a", "a/", "a/b", "a//b", "a/b/c"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=f"body of {key}".encode())

    assert all_keys(s3, bucket) == sorted(keys)
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == f"body of {key}".encode()


def test_key_longer_than_1024_bytes_is_rejected(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert error_of(excinfo) == ("KeyTooLongError", 400)


def test_user_metadata_and_content_headers_round_trip(s3, bucket):
    data = gzip.compress(b"hello " * 100)
    expires = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    s3.put_object(
        Bucket=bucket,
        Key="doc.txt",
        Body=data,
        Metadata={"color": "blue", "multi-word": "two words", "empty": ""},
        ContentType="text/plain; charset=utf-8",
        ContentEncoding="gzip",
        ContentDisposition='attachment; filename="doc.txt"',
        ContentLanguage="de-CH",
        CacheControl="max-age=3600, public",
        Expires=expires,
    )

    for response in (
        s3.head_object(Bucket=bucket, Key="doc.txt"),
        s3.get_object(Bucket=bucket, Key="doc.txt"),
    ):
        assert response["Metadata"] == {"color": "blue", "multi-word": "two words", "empty": ""}
        assert response["ContentType"] == "text/plain; charset=utf-8"
        assert response["ContentEncoding"] == "gzip"
        assert response["ContentDisposition"] == 'attachment; filename="doc.txt"'
        assert response["ContentLanguage"] == "de-CH"
        assert response["CacheControl"] == "max-age=3600, public"
        assert response["ExpiresString"] == "Thu, 02 Jan 2031 03:04:05 GMT"
    # botocore must not have decoded the gzip body: the stored bytes come back as sent.
    assert s3.get_object(Bucket=bucket, Key="doc.txt")["Body"].read() == data


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("br", lambda data: b"not brotli")],
    ids=["gzip", "deflate", "br"],
)
def test_content_encoded_bodies_are_stored_as_sent(s3, bucket, encoding, compress):
    # S3 never decodes a body: Content-Encoding is metadata handed back on GET.
    data = compress(b"compressible " * 1000)

    s3.put_object(Bucket=bucket, Key="k", Body=data, ContentEncoding=encoding)
    got = s3.get_object(Bucket=bucket, Key="k")

    assert got["ContentEncoding"] == encoding
    assert got["ContentLength"] == len(data)
    assert got["Body"].read() == data


def test_default_content_type_is_binary_octet_stream(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.head_object(Bucket=bucket, Key="k")["ContentType"] == "binary/octet-stream"


def test_head_object_reports_size_etag_and_last_modified(s3, bucket, make_bytes):
    data = make_bytes(4321)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)
    s3.put_object(Bucket=bucket, Key="k", Body=data)

    head = s3.head_object(Bucket=bucket, Key="k")

    assert head["ContentLength"] == len(data)
    assert head["ETag"] == quoted_md5(data)
    assert before <= head["LastModified"] <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert head["AcceptRanges"] == "bytes"


def test_head_missing_object_is_404(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key="missing")
    assert error_of(excinfo) == ("404", 404)


def test_get_missing_object_is_no_such_key(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="missing")
    assert error_of(excinfo) == ("NoSuchKey", 404)


def test_get_from_missing_bucket_is_no_such_bucket(s3, bucket_name):
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket_name, Key="k")
    assert error_of(excinfo) == ("NoSuchBucket", 404)


def test_checksum_sent_by_botocore_is_returned_on_request(s3, bucket, make_bytes):
    data = make_bytes(10_000)
    s3.put_object(Bucket=bucket, Key="k", Body=data)

    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")

    assert head["ChecksumCRC32"] == crc32_b64(data)


def test_content_md5_is_verified(s3, s3_single_attempt, bucket):
    data = b"checked bytes"
    good = base64.b64encode(hashlib.md5(data).digest()).decode()
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()

    s3.put_object(Bucket=bucket, Key="good", Body=data, ContentMD5=good)
    with pytest.raises(ClientError) as excinfo:
        s3_single_attempt.put_object(Bucket=bucket, Key="bad", Body=data, ContentMD5=bad)

    assert error_of(excinfo) == ("BadDigest", 400)
    assert all_keys(s3, bucket) == ["good"]


def test_streaming_trailer_upload_over_http(s3, bucket, make_bytes):
    """botocore frames the body as aws-chunked with a CRC32 trailer only over https; the
    ``before-call`` hook moves the checksum to the trailer here, which is exactly what it
    sends over TLS (``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` inside HTTP chunking)."""
    sent = {}

    def checksum_in_trailer(params, **_):
        params["context"]["checksum"]["request_algorithm"]["in"] = "trailer"

    def record(request, **_):
        for name, value in request.headers.items():
            sent[name.lower()] = value.decode() if isinstance(value, bytes) else value

    s3.meta.events.register("before-call.s3.PutObject", checksum_in_trailer)
    s3.meta.events.register("before-send.s3.PutObject", record)
    data = make_bytes(3 * 1024 * 1024 + 17)

    s3.put_object(Bucket=bucket, Key="trailer.bin", Body=io.BytesIO(data))

    assert sent["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert sent["transfer-encoding"] == "chunked"
    got = s3.get_object(Bucket=bucket, Key="trailer.bin", ChecksumMode="ENABLED")
    assert got["ContentLength"] == len(data)
    assert got["Body"].read() == data
    # The stored object carries the decoded bytes: no framing in its size, ETag or encoding.
    assert got["ETag"] == quoted_md5(data)
    assert "aws-chunked" not in got.get("ContentEncoding", "")


# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-9", 0, 10),
        ("bytes=5-", 5, 1000),
        ("bytes=-3", 997, 1000),
        ("bytes=990-5000", 990, 1000),
        ("bytes=-5000", 0, 1000),
        ("bytes=0-0", 0, 1),
    ],
)
def test_range_returns_206_with_content_range(s3, bucket, make_bytes, header, start, stop):
    data = make_bytes(1000)
    s3.put_object(Bucket=bucket, Key="r", Body=data)

    got = s3.get_object(Bucket=bucket, Key="r", Range=header)

    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes {start}-{stop - 1}/1000"
    assert got["ContentLength"] == stop - start
    assert got["Body"].read() == data[start:stop]


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000"])
def test_unsatisfiable_range_is_416_invalid_range(s3, bucket, make_bytes, header):
    s3.put_object(Bucket=bucket, Key="r", Body=make_bytes(1000))
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="r", Range=header)
    assert error_of(excinfo) == ("InvalidRange", 416)


def test_response_header_overrides(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"body", ContentType="text/plain")

    got = s3.get_object(
        Bucket=bucket,
        Key="k",
        ResponseContentType="application/json",
        ResponseContentDisposition='inline; filename="x y.json"',
        ResponseContentLanguage="fr",
        ResponseCacheControl="no-cache",
        ResponseContentEncoding="identity",
        ResponseExpires=dt.datetime(2030, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
    )

    assert got["ContentType"] == "application/json"
    assert got["ContentDisposition"] == 'inline; filename="x y.json"'
    assert got["ContentLanguage"] == "fr"
    assert got["CacheControl"] == "no-cache"
    assert got["ContentEncoding"] == "identity"
    assert got["ExpiresString"] == "Mon, 06 May 2030 07:08:09 GMT"
    assert got["Body"].read() == b"body"
    # Overrides change one response, not the stored object.
    assert s3.head_object(Bucket=bucket, Key="k")["ContentType"] == "text/plain"


# --------------------------------------------------------------------------- delete


def test_delete_object_removes_it_and_is_idempotent(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")

    first = s3.delete_object(Bucket=bucket, Key="k")
    again = s3.delete_object(Bucket=bucket, Key="k")

    assert first["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="k")
    assert error_of(excinfo) == ("NoSuchKey", 404)


def test_delete_objects_reports_each_key(s3, bucket, special_key):
    keys = [special_key, "plain", "never-existed"]
    for key in keys[:2]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")

    response = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": False}
    )

    assert sorted(d["Key"] for d in response["Deleted"]) == sorted(keys)
    assert response.get("Errors", []) == []
    assert all_keys(s3, bucket) == []


def test_quiet_delete_objects_reports_nothing_on_success(s3, bucket):
    for key in ("one", "two", "keep"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")

    response = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "one"}, {"Key": "two"}], "Quiet": True}
    )

    assert response.get("Deleted", []) == []
    assert response.get("Errors", []) == []
    assert all_keys(s3, bucket) == ["keep"]


# --------------------------------------------------------------------------- listing

TREE = ["a.txt", "dir/1", "dir/2", "dir/sub/3", "dir2/4", "e%f", "e f", "e+f", "z"]


@pytest.fixture
def tree(s3, bucket):
    for key in TREE:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def test_list_objects_v2_lists_everything_in_byte_order(s3, tree):
    response = s3.list_objects_v2(Bucket=tree)

    assert [o["Key"] for o in response["Contents"]] == sorted(TREE)
    assert response["KeyCount"] == len(TREE)
    assert response["IsTruncated"] is False
    first = response["Contents"][0]
    assert first["Size"] == len(b"a.txt")
    assert first["ETag"] == quoted_md5(b"a.txt")


def test_list_objects_v2_prefix_and_delimiter(s3, tree):
    top = s3.list_objects_v2(Bucket=tree, Delimiter="/")
    inside = s3.list_objects_v2(Bucket=tree, Prefix="dir/", Delimiter="/")

    assert [o["Key"] for o in top["Contents"]] == ["a.txt", "e f", "e%f", "e+f", "z"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["dir/", "dir2/"]
    assert [o["Key"] for o in inside["Contents"]] == ["dir/1", "dir/2"]
    assert [p["Prefix"] for p in inside["CommonPrefixes"]] == ["dir/sub/"]
    assert inside["Prefix"] == "dir/"


def test_list_objects_v2_pages_with_continuation_tokens(s3, tree):
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=tree, MaxKeys=2, **kwargs)
        pages += 1
        assert page["KeyCount"] == len(page.get("Contents", [])) <= 2
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]

    assert seen == sorted(TREE)
    assert pages == 5


def test_list_objects_v2_paginator_counts_common_prefixes_against_max_keys(s3, tree):
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=tree, Delimiter="/", PaginationConfig={"PageSize": 2}
        )
    )
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]

    assert keys == ["a.txt", "e f", "e%f", "e+f", "z"]
    assert prefixes == ["dir/", "dir2/"]
    assert all(p["KeyCount"] <= 2 for p in pages)


def test_list_objects_v2_start_after(s3, tree):
    response = s3.list_objects_v2(Bucket=tree, StartAfter="dir/sub/3")
    assert [o["Key"] for o in response["Contents"]] == ["dir2/4", "e f", "e%f", "e+f", "z"]
    assert response["StartAfter"] == "dir/sub/3"


def test_list_objects_v2_max_keys_zero_is_empty_and_not_truncating_forever(s3, tree):
    response = s3.list_objects_v2(Bucket=tree, MaxKeys=0)
    assert response.get("Contents", []) == []
    assert response["KeyCount"] == 0


def test_list_objects_v2_fetch_owner(s3, tree):
    without = s3.list_objects_v2(Bucket=tree, MaxKeys=1)["Contents"][0]
    with_owner = s3.list_objects_v2(Bucket=tree, MaxKeys=1, FetchOwner=True)["Contents"][0]

    assert "Owner" not in without
    assert with_owner["Owner"]["ID"]


def test_list_objects_v2_of_missing_bucket_is_no_such_bucket(s3, bucket_name):
    with pytest.raises(ClientError) as excinfo:
        s3.list_objects_v2(Bucket=bucket_name)
    assert error_of(excinfo) == ("NoSuchBucket", 404)


def test_explicit_url_encoding_type_returns_encoded_keys(s3, tree):
    # botocore decodes only when it added encoding-type itself, so here the raw form shows.
    response = s3.list_objects_v2(Bucket=tree, Prefix="e", EncodingType="url")

    assert response["EncodingType"] == "url"
    assert [o["Key"] for o in response["Contents"]] == ["e%20f", "e%25f", "e%2Bf"]


def test_list_objects_v1_pages_with_markers(s3, tree):
    first = s3.list_objects(Bucket=tree, MaxKeys=4)
    second = s3.list_objects(Bucket=tree, Marker=first["Contents"][-1]["Key"])

    assert first["IsTruncated"] is True
    assert [o["Key"] for o in first["Contents"]] == sorted(TREE)[:4]
    assert [o["Key"] for o in second["Contents"]] == sorted(TREE)[4:]
    assert second["IsTruncated"] is False


def test_list_objects_v1_next_marker_with_delimiter(s3, tree):
    first = s3.list_objects(Bucket=tree, Delimiter="/", MaxKeys=2)

    assert first["IsTruncated"] is True
    assert [o["Key"] for o in first["Contents"]] == ["a.txt"]
    assert [p["Prefix"] for p in first["CommonPrefixes"]] == ["dir/"]
    assert first["NextMarker"] == "dir/"
    rest = s3.list_objects(Bucket=tree, Delimiter="/", Marker=first["NextMarker"])
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["dir2/"]
    assert [o["Key"] for o in rest["Contents"]] == ["e f", "e%f", "e+f", "z"]


def test_list_objects_v1_paginator_with_prefix(s3, tree):
    pages = s3.get_paginator("list_objects").paginate(
        Bucket=tree, Prefix="dir", PaginationConfig={"PageSize": 1}
    )
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert keys == ["dir/1", "dir/2", "dir/sub/3", "dir2/4"]


# --------------------------------------------------------------------------- copy


def test_copy_object_keeps_metadata_by_default(s3, bucket, make_bytes):
    data = make_bytes(70_000)
    s3.put_object(
        Bucket=bucket, Key="src", Body=data, Metadata={"origin": "src"}, ContentType="image/png"
    )

    result = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})

    assert result["CopyObjectResult"]["ETag"] == quoted_md5(data)
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == data
    assert got["Metadata"] == {"origin": "src"}
    assert got["ContentType"] == "image/png"


def test_copy_object_across_buckets(s3, bucket, bucket_name):
    other = bucket_name + "-other"
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=bucket, Key="src", Body=b"travels")

    s3.copy_object(Bucket=other, Key="dst", CopySource=f"{bucket}/src")

    assert s3.get_object(Bucket=other, Key="dst")["Body"].read() == b"travels"


def test_copy_object_replace_directive_takes_new_metadata(s3, bucket):
    s3.put_object(
        Bucket=bucket, Key="src", Body=b"x", Metadata={"old": "1"}, ContentType="text/plain"
    )

    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"new": "2"},
        ContentType="application/json",
    )

    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["Metadata"] == {"new": "2"}
    assert head["ContentType"] == "application/json"
    assert s3.head_object(Bucket=bucket, Key="src")["Metadata"] == {"old": "1"}


def test_copy_onto_itself_with_replace_changes_metadata_only(s3, bucket, make_bytes):
    data = make_bytes(5000)
    s3.put_object(Bucket=bucket, Key="self", Body=data, Metadata={"v": "1"})

    s3.copy_object(
        Bucket=bucket,
        Key="self",
        CopySource={"Bucket": bucket, "Key": "self"},
        MetadataDirective="REPLACE",
        Metadata={"v": "2"},
    )

    got = s3.get_object(Bucket=bucket, Key="self")
    assert got["Metadata"] == {"v": "2"}
    assert got["Body"].read() == data


def test_copy_onto_itself_without_changes_is_invalid_request(s3, bucket):
    s3.put_object(Bucket=bucket, Key="self", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"})
    assert error_of(excinfo) == ("InvalidRequest", 400)


def test_copy_of_missing_source_is_no_such_key(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "nope"})
    assert error_of(excinfo) == ("NoSuchKey", 404)


# --------------------------------------------------------------------------- transfer manager


def test_upload_fileobj_and_download_fileobj(s3, bucket, make_bytes):
    # Below s3transfer's 8 MiB threshold: one PutObject, then ranged or whole GETs.
    data = make_bytes(5 * 1024 * 1024 + 123)

    s3.upload_fileobj(io.BytesIO(data), bucket, "dir/big.bin")
    out = io.BytesIO()
    s3.download_fileobj(bucket, "dir/big.bin", out)

    assert out.getvalue() == data


def test_upload_file_and_download_file(s3, bucket, make_bytes, tmp_path):
    data = make_bytes(2 * 1024 * 1024 + 5)
    source = tmp_path / "up.bin"
    source.write_bytes(data)
    target = tmp_path / "down.bin"

    s3.upload_file(str(source), bucket, "file with spaces.bin")
    s3.download_file(bucket, "file with spaces.bin", str(target))

    assert target.read_bytes() == data
