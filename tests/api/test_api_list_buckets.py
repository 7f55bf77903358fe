"""ListBuckets through HTTP: paging (max-buckets, continuation-token), prefix, bucket-region."""

from defusedxml import ElementTree as ET

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
NAMES = ["logs-a", "logs-b", "logs-c", "photos-a", "photos-b"]


async def names_and_token(client, query: str) -> tuple[list[str], str | None, object]:
    response = await client.get(f"/?{query}")
    assert response.status == 200, await response.text()
    root = ET.fromstring(await response.read())
    names = [b.findtext(f"{NS}Name") for b in root.iter(f"{NS}Bucket")]
    return names, root.findtext(f"{NS}ContinuationToken"), root


async def make_buckets(client):
    for name in NAMES:
        assert (await client.put(f"/{name}")).status == 200


async def test_max_buckets_pages_with_continuation_tokens(client):
    await make_buckets(client)
    seen, query, pages = [], "max-buckets=2", 0
    while True:
        names, token, _ = await names_and_token(client, query)
        pages += 1
        assert len(names) <= 2
        seen += names
        if token is None:
            break
        query = f"max-buckets=2&continuation-token={token}"
    assert seen == NAMES
    assert pages == 3


async def test_prefix_with_paging(client):
    await make_buckets(client)
    names, token, root = await names_and_token(client, "prefix=logs-&max-buckets=2")
    assert names == ["logs-a", "logs-b"]
    assert root.findtext(f"{NS}Prefix") == "logs-"
    names, token, _ = await names_and_token(
        client, f"prefix=logs-&max-buckets=2&continuation-token={token}")
    assert (names, token) == (["logs-c"], None)


async def test_no_token_when_everything_fits(client):
    await make_buckets(client)
    names, token, _ = await names_and_token(client, "max-buckets=5")
    assert (names, token) == (NAMES, None)
    names, token, _ = await names_and_token(client, "")
    assert (names, token) == (NAMES, None)


async def test_bucket_region_filters(client):
    await make_buckets(client)
    names, _, _ = await names_and_token(client, "bucket-region=us-east-1")
    assert names == NAMES
    names, token, _ = await names_and_token(client, "bucket-region=eu-west-1")
    assert (names, token) == ([], None)


async def test_invalid_paging_arguments(client, error_code):
    await make_buckets(client)
    for query in ("max-buckets=0", "max-buckets=10001", "max-buckets=two",
                  "continuation-token=%25%25%25"):
        response = await client.get(f"/?{query}")
        assert response.status == 400, query
        assert await error_code(response) == "InvalidArgument", query
