"""Bucket operations through HTTP."""

from defusedxml import ElementTree as ET

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


async def test_create_list_head_delete(client):
    assert (await client.put("/alpha")).status == 200
    assert (await client.put("/beta/")).status == 200  # trailing slash: the bucket itself
    response = await client.get("/")
    root = ET.fromstring(await response.read())
    assert [b.findtext(f"{NS}Name") for b in root.iter(f"{NS}Bucket")] == ["alpha", "beta"]
    assert (await client.head("/alpha")).status == 200
    assert (await client.delete("/alpha")).status == 204
    response = await client.head("/alpha")
    assert response.status == 404
    assert await response.read() == b""


async def test_create_with_location_constraint(client, error_code):
    body = (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>")
    assert (await client.put("/withconf", data=body)).status == 200
    response = await client.put("/other", data=body.replace(b"us-east-1", b"eu-west-1"))
    assert response.status == 400
    assert await error_code(response) == "IllegalLocationConstraintException"


async def test_recreate_own_bucket_in_us_east_1_keeps_it(client, bucket):
    # S3's us-east-1 answers 200 to CreateBucket of a bucket you own, and changes nothing.
    await client.put(f"/{bucket}/kept", data=b"contents")
    response = await client.put(f"/{bucket}")
    assert response.status == 200
    assert await (await client.get(f"/{bucket}/kept")).read() == b"contents"


async def test_recreate_own_bucket_elsewhere_is_a_conflict(aiohttp_client, error_code):
    from post3.app import create_app
    from post3.backends.memory import MemoryBackend
    from post3.config import Settings

    client = await aiohttp_client(create_app(
        Settings(backend="memory", auth=False, region="eu-west-1"), backend=MemoryBackend()))
    assert (await client.put("/mine")).status == 200
    await client.put("/mine/kept", data=b"contents")
    response = await client.put("/mine")
    assert response.status == 409
    assert await error_code(response) == "BucketAlreadyOwnedByYou"
    assert await (await client.get("/mine/kept")).read() == b"contents"


async def test_invalid_bucket_name(client, error_code):
    response = await client.put("/Bad_Name")
    assert response.status == 400
    assert await error_code(response) == "InvalidBucketName"


async def test_delete_non_empty_bucket(client, bucket, error_code):
    await client.put(f"/{bucket}/k", data=b"x")
    response = await client.delete(f"/{bucket}")
    assert response.status == 409
    assert await error_code(response) == "BucketNotEmpty"


async def test_missing_bucket(client, error_code):
    for method, path in [("GET", "/nope"), ("GET", "/nope/k"), ("PUT", "/nope/k"),
                         ("DELETE", "/nope"), ("GET", "/nope?location")]:
        response = await client.request(method, path)
        assert response.status == 404, (method, path)
        assert await error_code(response) == "NoSuchBucket"


async def test_get_bucket_location(client, bucket):
    response = await client.get(f"/{bucket}?location")
    root = ET.fromstring(await response.read())
    assert root.tag == f"{NS}LocationConstraint"
    assert not root.text


async def test_unimplemented_operation_says_so(client, bucket, error_code):
    response = await client.put(f"/{bucket}?website", data=b"<x/>")
    assert response.status == 501
    assert await error_code(response) == "NotImplemented"


async def test_method_not_allowed(client, bucket, error_code):
    response = await client.patch(f"/{bucket}/k")
    assert response.status == 405
    assert await error_code(response) == "MethodNotAllowed"


async def test_every_response_has_a_request_id(client, bucket):
    for response in [await client.get("/"), await client.get("/nope/x")]:
        assert len(response.headers["x-amz-request-id"]) == 16


async def test_period_next_to_hyphen_is_an_invalid_bucket_name(client, error_code):
    for name in ("foo.-bar", "foo-.bar"):
        response = await client.put(f"/{name}")
        assert response.status == 400, name
        assert await error_code(response) == "InvalidBucketName"
