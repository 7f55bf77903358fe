"""ListObjectsV2 and ListObjects v1 through HTTP."""

import urllib.parse

from defusedxml import ElementTree as ET

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
KEYS = ["photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg", "readme",
        "space key", "plus+key", "pct%key"]


async def fill(client, bucket):
    for key in KEYS:
        await client.put(f"/{bucket}/{urllib.parse.quote(key)}", data=b"x")


def parse(body):
    root = ET.fromstring(body)
    keys = [c.findtext(f"{NS}Key") for c in root.iter(f"{NS}Contents")]
    prefixes = [p.findtext(f"{NS}Prefix") for p in root.iter(f"{NS}CommonPrefixes")]
    return root, keys, prefixes


async def test_v2_delimiter_and_prefixes(client, bucket):
    await fill(client, bucket)
    response = await client.get(f"/{bucket}?list-type=2&delimiter=/")
    root, keys, prefixes = parse(await response.read())
    assert keys == ["pct%key", "plus+key", "readme", "space key"]
    assert prefixes == ["photos/"]
    assert root.findtext(f"{NS}KeyCount") == "5"
    response = await client.get(f"/{bucket}/?list-type=2&prefix=photos/&delimiter=/")
    _, keys, prefixes = parse(await response.read())
    assert prefixes == ["photos/2024/", "photos/2025/"]


async def test_v2_encoding_type_url(client, bucket):
    await fill(client, bucket)
    response = await client.get(f"/{bucket}?list-type=2&encoding-type=url")
    root, keys, _ = parse(await response.read())
    assert root.findtext(f"{NS}EncodingType") == "url"
    assert "space%20key" in keys and "plus%2Bkey" in keys and "pct%25key" in keys


async def test_v2_pagination(client, bucket):
    await fill(client, bucket)
    seen, token = [], None
    while True:
        query = "list-type=2&max-keys=2" + (f"&continuation-token={urllib.parse.quote(token)}"
                                            if token else "")
        root, keys, _ = parse(await (await client.get(f"/{bucket}?{query}")).read())
        seen += keys
        if root.findtext(f"{NS}IsTruncated") == "false":
            break
        token = root.findtext(f"{NS}NextContinuationToken")
    assert seen == sorted(KEYS, key=str.encode)


async def test_v2_start_after(client, bucket):
    await fill(client, bucket)
    root, keys, _ = parse(await (await client.get(
        f"/{bucket}?list-type=2&start-after=readme")).read())
    assert keys == ["space key"]
    assert root.findtext(f"{NS}StartAfter") == "readme"


async def test_v1_marker_and_next_marker(client, bucket):
    await fill(client, bucket)
    root, keys, prefixes = parse(await (await client.get(
        f"/{bucket}?delimiter=/&max-keys=2")).read())
    assert root.findtext(f"{NS}IsTruncated") == "true"
    assert keys == ["pct%key"] and prefixes == ["photos/"]
    marker = root.findtext(f"{NS}NextMarker")
    assert marker == "photos/"
    root, keys, prefixes = parse(await (await client.get(
        f"/{bucket}?delimiter=/&marker={urllib.parse.quote(marker)}")).read())
    assert prefixes == [] and keys == ["plus+key", "readme", "space key"]
    # Owner is always there in v1
    assert next(root.iter(f"{NS}Owner")) is not None


async def test_empty_delimiter_means_none(client, bucket):
    await fill(client, bucket)
    _, keys, prefixes = parse(await (await client.get(
        f"/{bucket}?list-type=2&delimiter=&prefix=")).read())
    assert prefixes == [] and len(keys) == len(KEYS)


async def test_invalid_max_keys(client, bucket, error_code):
    response = await client.get(f"/{bucket}?list-type=2&max-keys=-1")
    assert response.status == 400
    assert await error_code(response) == "InvalidArgument"


async def test_max_keys_zero_is_an_empty_untruncated_listing(client, bucket):
    await fill(client, bucket)
    for query in ("list-type=2&max-keys=0", "max-keys=0", "list-type=2&max-keys=0&delimiter=/",
                  "versions&max-keys=0"):
        root, keys, prefixes = parse(await (await client.get(f"/{bucket}?{query}")).read())
        assert (keys, prefixes) == ([], []), query
        assert root.findtext(f"{NS}IsTruncated") == "false", query
        assert root.findtext(f"{NS}MaxKeys") == "0", query
        assert root.find(f"{NS}NextContinuationToken") is None, query
        assert root.find(f"{NS}NextMarker") is None, query
        assert root.find(f"{NS}NextKeyMarker") is None, query
    root, _, _ = parse(await (await client.get(f"/{bucket}?list-type=2&max-keys=0")).read())
    assert root.findtext(f"{NS}KeyCount") == "0"
