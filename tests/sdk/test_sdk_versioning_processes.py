"""Versioned writes racing across two ``post3 run`` processes that share one backend, through
boto3 (the servers and the race come from test_sdk_conditional_processes.py).

Issue 12: "conditional requests and conditional writes stay atomic per key across versions and
across processes; version ids sort newest first within a key, are opaque, URL-safe and unique
across processes and hosts". S3's rules checked here: on an Enabled bucket every write keeps
its own version ("if Amazon S3 receives multiple write requests for the same object
simultaneously, it stores all of the objects"); ``If-None-Match``/``If-Match`` apply to the
current version only, so of N racing conditional writes one wins and the losers store nothing.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.sdk.test_sdk_conditional_processes import (
    WRITERS,
    assert_one_winner,
    body_of,
    clients,  # noqa: F401 - a fixture
    race,
    servers,  # noqa: F401 - a fixture
)


@pytest.fixture
def versioned(clients, bucket_name) -> str:  # noqa: F811 - the imported fixture
    clients[0].create_bucket(Bucket=bucket_name)
    clients[1].put_bucket_versioning(Bucket=bucket_name,
                                     VersioningConfiguration={"Status": "Enabled"})
    return bucket_name


def versions_of(client, bucket: str, key: str) -> list[dict]:
    pages = client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
    return [entry for page in pages
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_concurrent_writes_each_keep_a_version(clients, versioned):  # noqa: F811
    """N unconditional PUTs of one key over both servers: N versions with N distinct ids,
    every one readable by id from either server with its writer's bytes; exactly one is the
    latest, it is listed first (ListObjectVersions lists a key's versions newest first, the
    latest with ``IsLatest``), and it is what a plain GET returns on both servers. Which of
    the racing writes wins is not S3's to say ("the request with the latest timestamp wins");
    that the listing, ``IsLatest`` and GET agree on it is."""
    written: dict[int, str] = {}

    def attempt(client, writer):
        response = client.put_object(Bucket=versioned, Key="busy", Body=body_of(writer))
        written[writer] = response["VersionId"]
        return response

    outcomes = race(clients, attempt)

    assert set(outcomes.values()) == {("OK", 200)}, outcomes
    assert len(set(written.values())) == WRITERS
    listed = versions_of(clients[0], versioned, "busy")
    assert sorted(v["VersionId"] for v in listed) == sorted(written.values())
    assert [v["IsLatest"] for v in listed].count(True) == 1
    assert listed[0]["IsLatest"], [(v["VersionId"], v["IsLatest"], str(v["LastModified"]))
                                   for v in listed]
    for writer, version_id in written.items():
        client = clients[(writer + 1) % len(clients)]
        got = client.get_object(Bucket=versioned, Key="busy", VersionId=version_id)
        assert md5(got["Body"].read()) == md5(body_of(writer))
    latest = {client.get_object(Bucket=versioned, Key="busy")["VersionId"] for client in clients}
    assert latest == {listed[0]["VersionId"]}


def test_if_none_match_behind_a_delete_marker_has_one_winner(clients, versioned):  # noqa: F811
    """``If-None-Match: *`` races on a key whose current version is a delete marker: one
    writer wins, every other gets 412 (or 409), and the history is the old version, the marker
    and the winner's version: the losers stored nothing."""
    old = clients[0].put_object(Bucket=versioned, Key="k", Body=b"old")["VersionId"]
    marker = clients[1].delete_object(Bucket=versioned, Key="k")["VersionId"]

    outcomes = race(clients, lambda client, writer: client.put_object(
        Bucket=versioned, Key="k", Body=body_of(writer), IfNoneMatch="*"))

    winner = assert_one_winner(outcomes)
    listed = versions_of(clients[1], versioned, "k")
    assert len(listed) == 3
    assert {v["VersionId"] for v in listed} >= {old, marker}
    for client in clients:
        got = client.get_object(Bucket=versioned, Key="k")
        assert md5(got["Body"].read()) == md5(body_of(winner))


def test_if_match_on_a_versioned_key_has_one_winner(clients, versioned):  # noqa: F811
    """``If-Match`` with the current ETag, raced over both servers: one version is added (the
    winner's), the original stays as the noncurrent version, nothing else is stored."""
    original = clients[0].put_object(Bucket=versioned, Key="k", Body=b"original")

    outcomes = race(clients, lambda client, writer: client.put_object(
        Bucket=versioned, Key="k", Body=body_of(writer), IfMatch=original["ETag"]))

    winner = assert_one_winner(outcomes)
    listed = versions_of(clients[0], versioned, "k")
    assert [(v["IsLatest"], v["ETag"]) for v in listed] == [
        (True, f'"{md5(body_of(winner))}"'), (False, original["ETag"])]
    assert listed[1]["VersionId"] == original["VersionId"]


def test_concurrent_deletes_each_write_a_marker(clients, versioned):  # noqa: F811
    """N DELETEs without a version id over both servers: each writes its own delete marker
    (a distinct ``VersionId``); the version under them is untouched."""
    kept = clients[0].put_object(Bucket=versioned, Key="k", Body=b"kept")["VersionId"]
    markers: dict[int, str] = {}

    def attempt(client, writer):
        response = client.delete_object(Bucket=versioned, Key="k")
        markers[writer] = response["VersionId"]
        return {"ResponseMetadata": {"HTTPStatusCode": 200 if response["DeleteMarker"] else 0}}

    outcomes = race(clients, attempt)

    assert set(outcomes.values()) == {("OK", 200)}, outcomes
    assert len(set(markers.values())) == WRITERS
    page = clients[1].list_object_versions(Bucket=versioned, Prefix="k")
    assert sorted(m["VersionId"] for m in page["DeleteMarkers"]) == sorted(markers.values())
    assert [v["VersionId"] for v in page["Versions"]] == [kept]
    got = clients[0].get_object(Bucket=versioned, Key="k", VersionId=kept)
    assert got["Body"].read() == b"kept"
