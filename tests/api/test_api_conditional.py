"""Conditional requests through HTTP, on the memory backend: GET/HEAD preconditions (RFC 9110
precedence, as S3 documents it), conditional writes (PutObject with If-None-Match / If-Match,
atomic under concurrency) and CopyObject's ``x-amz-copy-source-if-*``."""

from __future__ import annotations

import asyncio
import datetime as dt
from email.utils import format_datetime, parsedate_to_datetime

import pytest

DATA = b"conditional body"
OTHER_ETAG = '"0123456789abcdef0123456789abcdef"'


def http_date(value: dt.datetime) -> str:
    return format_datetime(value.astimezone(dt.UTC), usegmt=True)


@pytest.fixture
async def stored(client, bucket):
    """The object ``k``: its quoted ETag and its Last-Modified as a datetime."""
    response = await client.put(f"/{bucket}/k", data=DATA)
    assert response.status == 200
    head = await client.head(f"/{bucket}/k")
    return head.headers["ETag"], parsedate_to_datetime(head.headers["Last-Modified"])


def dates(last_modified: dt.datetime) -> dict[str, str]:
    return {
        "before": http_date(last_modified - dt.timedelta(days=1)),
        "at": http_date(last_modified),
        "after": http_date(last_modified + dt.timedelta(days=1)),
    }


# --------------------------------------------------------------------------- GET and HEAD


def read_cases(etag: str, when: dict[str, str]) -> list[tuple[dict[str, str], int]]:
    """(request headers, expected status) for GET and HEAD of the whole object."""
    return [
        ({"If-Match": etag}, 200),
        ({"If-Match": etag.strip('"')}, 200),  # unquoted, as some clients send it
        ({"If-Match": f"{OTHER_ETAG}, {etag}"}, 200),
        ({"If-Match": "*"}, 200),
        ({"If-Match": OTHER_ETAG}, 412),
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": OTHER_ETAG}, 200),
        ({"If-Modified-Since": when["before"]}, 200),
        ({"If-Modified-Since": when["at"]}, 304),
        ({"If-Modified-Since": when["after"]}, 304),
        ({"If-Unmodified-Since": when["before"]}, 412),
        ({"If-Unmodified-Since": when["at"]}, 200),
        ({"If-Unmodified-Since": when["after"]}, 200),
        ({"If-Modified-Since": "not a date"}, 200),  # an invalid date is ignored
        # If-Match true wins over If-Unmodified-Since false (S3 returns the data).
        ({"If-Match": etag, "If-Unmodified-Since": when["before"]}, 200),
        ({"If-Match": OTHER_ETAG, "If-Unmodified-Since": when["after"]}, 412),
        # If-None-Match false (matches) with If-Modified-Since true: 304.
        ({"If-None-Match": etag, "If-Modified-Since": when["before"]}, 304),
        # If-None-Match true wins over If-Modified-Since false.
        ({"If-None-Match": OTHER_ETAG, "If-Modified-Since": when["after"]}, 200),
        # 412 is decided before 304.
        ({"If-Match": OTHER_ETAG, "If-None-Match": etag}, 412),
        ({"If-Match": etag, "If-None-Match": etag}, 304),
    ]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_read_preconditions(client, bucket, stored, error_code, method):
    etag, last_modified = stored
    for headers, expected in read_cases(etag, dates(last_modified)):
        response = await client.request(method, f"/{bucket}/k", headers=headers)
        assert response.status == expected, (headers, response.status)
        body = await response.read()
        if expected == 200:
            assert body == (DATA if method == "GET" else b"")
            assert response.headers["ETag"] == etag
        elif expected == 304:
            assert body == b""
            assert response.headers["ETag"] == etag
            assert response.headers["Last-Modified"] == http_date(last_modified)
        elif method == "GET":
            assert await error_code(response) == "PreconditionFailed"


async def test_ranged_read_preconditions(client, bucket, stored, error_code):
    etag, last_modified = stored
    when = dates(last_modified)
    ranged = {"Range": "bytes=0-3"}
    for headers, expected in [
        ({"If-Match": etag}, 206),
        ({"If-Match": OTHER_ETAG}, 412),
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": OTHER_ETAG}, 206),
        ({"If-Unmodified-Since": when["before"]}, 412),
        ({"If-Modified-Since": when["after"]}, 304),
        ({"If-Modified-Since": when["before"]}, 206),
    ]:
        response = await client.get(f"/{bucket}/k", headers={**ranged, **headers})
        assert response.status == expected, headers
        if expected == 206:
            assert await response.read() == DATA[:4]
            assert response.headers["Content-Range"] == f"bytes 0-3/{len(DATA)}"
        elif expected == 412:
            assert await error_code(response) == "PreconditionFailed"
    response = await client.get(f"/{bucket}/k?partNumber=1", headers={"If-Match": OTHER_ETAG})
    assert response.status == 412


async def test_preconditions_on_missing_key_are_not_found(client, bucket, error_code):
    for headers in ({"If-Match": OTHER_ETAG}, {"If-None-Match": "*"}):
        response = await client.get(f"/{bucket}/absent", headers=headers)
        assert response.status == 404
        assert await error_code(response) == "NoSuchKey"


# --------------------------------------------------------------------------- conditional PUT


async def test_put_if_none_match_creates_only_if_absent(client, bucket, error_code):
    response = await client.put(f"/{bucket}/new", data=b"1", headers={"If-None-Match": "*"})
    assert response.status == 200
    response = await client.put(f"/{bucket}/new", data=b"2", headers={"If-None-Match": "*"})
    assert response.status == 412
    assert await error_code(response) == "PreconditionFailed"
    assert await (await client.get(f"/{bucket}/new")).read() == b"1"


async def test_put_if_match_replaces_only_that_version(client, bucket, stored, error_code):
    etag, _ = stored
    response = await client.put(f"/{bucket}/k", data=b"v2", headers={"If-Match": OTHER_ETAG})
    assert response.status == 412
    assert await error_code(response) == "PreconditionFailed"
    assert await (await client.get(f"/{bucket}/k")).read() == DATA
    response = await client.put(f"/{bucket}/k", data=b"v2", headers={"If-Match": etag})
    assert response.status == 200
    assert await (await client.get(f"/{bucket}/k")).read() == b"v2"
    # The old ETag no longer names the stored version.
    response = await client.put(f"/{bucket}/k", data=b"v3", headers={"If-Match": etag})
    assert response.status == 412
    assert await (await client.get(f"/{bucket}/k")).read() == b"v2"


async def test_put_if_match_on_missing_key(client, bucket, error_code):
    response = await client.put(f"/{bucket}/absent", data=b"x", headers={"If-Match": OTHER_ETAG})
    assert response.status == 404
    assert await error_code(response) == "NoSuchKey"
    assert (await client.get(f"/{bucket}/absent")).status == 404


async def test_put_if_none_match_with_an_etag_is_not_implemented(client, bucket, error_code):
    response = await client.put(f"/{bucket}/k", data=b"x", headers={"If-None-Match": OTHER_ETAG})
    assert response.status == 501
    assert await error_code(response) == "NotImplemented"
    assert (await client.get(f"/{bucket}/k")).status == 404


async def concurrent_puts(client, url: str, headers: dict[str, str], count: int):
    """``count`` PUTs of one key whose bodies are all in flight at once: each sends a first
    chunk, then waits until every other request has started before finishing its body."""
    started = 0
    all_started = asyncio.Event()

    def body(index: int):
        async def chunks():
            nonlocal started
            yield f"writer {index} ".encode()
            started += 1
            if started == count:
                all_started.set()
            await asyncio.wait_for(all_started.wait(), timeout=5)
            yield b"x" * 1000
        return chunks()

    responses = await asyncio.gather(*(
        client.put(url, data=body(i), headers=headers) for i in range(count)))
    assert all_started.is_set()
    return responses


@pytest.mark.parametrize("count", [2, 8])
async def test_concurrent_if_none_match_puts_exactly_one_wins(client, bucket, error_code, count):
    responses = await concurrent_puts(client, f"/{bucket}/race", {"If-None-Match": "*"}, count)
    statuses = sorted(r.status for r in responses)
    assert statuses == [200] + [412] * (count - 1)
    (winner,) = [i for i, r in enumerate(responses) if r.status == 200]
    for response in responses:
        if response.status == 412:
            assert await error_code(response) == "PreconditionFailed"
    stored = await (await client.get(f"/{bucket}/race")).read()
    assert stored == f"writer {winner} ".encode() + b"x" * 1000
    assert (await client.head(f"/{bucket}/race")).headers["ETag"] == \
        responses[winner].headers["ETag"]


async def test_concurrent_if_match_puts_exactly_one_wins(client, bucket, stored):
    etag, _ = stored
    responses = await concurrent_puts(client, f"/{bucket}/k", {"If-Match": etag}, 2)
    assert sorted(r.status for r in responses) == [200, 412]


# --------------------------------------------------------------------------- CopyObject


def copy_cases(etag: str, when: dict[str, str]) -> list[tuple[dict[str, str], int]]:
    prefix = "x-amz-copy-source-if-"
    return [
        ({f"{prefix}match": etag}, 200),
        ({f"{prefix}match": OTHER_ETAG}, 412),
        ({f"{prefix}none-match": etag}, 412),
        ({f"{prefix}none-match": OTHER_ETAG}, 200),
        ({f"{prefix}modified-since": when["before"]}, 200),
        ({f"{prefix}modified-since": when["after"]}, 412),
        ({f"{prefix}unmodified-since": when["before"]}, 412),
        ({f"{prefix}unmodified-since": when["after"]}, 200),
        # S3: if-match true and if-unmodified-since false -> the copy happens.
        ({f"{prefix}match": etag, f"{prefix}unmodified-since": when["before"]}, 200),
        # S3: if-none-match false and if-modified-since true -> 412.
        ({f"{prefix}none-match": etag, f"{prefix}modified-since": when["before"]}, 412),
    ]


async def test_copy_source_preconditions(client, bucket, stored, error_code):
    etag, last_modified = stored
    for index, (headers, expected) in enumerate(copy_cases(etag, dates(last_modified))):
        target = f"/{bucket}/copy-{index}"
        response = await client.put(target, headers={"x-amz-copy-source": f"{bucket}/k",
                                                     **headers})
        assert response.status == expected, headers
        if expected == 200:
            assert await (await client.get(target)).read() == DATA
        else:
            assert await error_code(response) == "PreconditionFailed"
            assert (await client.get(target)).status == 404


async def test_copy_with_destination_if_none_match(client, bucket, stored, error_code):
    await client.put(f"/{bucket}/dest", data=b"keep me")
    response = await client.put(f"/{bucket}/dest", headers={
        "x-amz-copy-source": f"{bucket}/k", "If-None-Match": "*"})
    assert response.status == 412
    assert await error_code(response) == "PreconditionFailed"
    assert await (await client.get(f"/{bucket}/dest")).read() == b"keep me"
    response = await client.put(f"/{bucket}/fresh", headers={
        "x-amz-copy-source": f"{bucket}/k", "If-None-Match": "*"})
    assert response.status == 200
    assert await (await client.get(f"/{bucket}/fresh")).read() == DATA
