"""Create-if-absent writes racing across two ``post3 run`` processes that share one backend (one
filesystem root, one PostgreSQL database), through boto3: a lock held inside one process is
not enough, the backend's commit must decide.

Of N concurrent ``If-None-Match: *`` writes of one key, spread over both servers, exactly one
succeeds; every other gets 412 PreconditionFailed (or 409 ConditionalRequestConflict, which S3
also answers to the loser of a race), and both servers then serve the winner's bytes.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import RunningServer, installed_backends, start_server

MiB = 1024 * 1024
WRITERS = 12
#: What the loser of a conditional race may get from S3.
LOST_RACE = {("PreconditionFailed", 412), ("ConditionalRequestConflict", 409)}

BACKENDS = [
    pytest.param(
        "filesystem",
        marks=pytest.mark.skipif(
            "filesystem" not in installed_backends(), reason="post3-filesystem not installed"
        ),
    ),
    pytest.param("postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def servers(request, tmp_path) -> Iterator[list[RunningServer]]:
    """Two ``post3 run`` processes on one backend, started one after the other."""
    backend = request.param
    if backend == "filesystem":
        options = {"root": str(tmp_path / "data"), "fsync": "false"}
    else:
        # The session's fresh database (made and dropped by the top-level conftest).
        options = {"dsn": request.getfixturevalue("_fresh_postgres_database"),
                   "auto_migrate": "true"}
    started: list[RunningServer] = []
    try:
        for _ in range(2):
            started.append(start_server(backend, options, workdir=tmp_path))
        yield started
    finally:
        statuses = [(server.process.poll(), server) for server in started]
        for _, server in statuses:
            server.stop()
    for early_status, server in statuses:
        if early_status is not None:
            pytest.fail(f"post3 ({backend}) died with status {early_status}:\n{server.stderr()}")


@pytest.fixture
def clients(servers) -> Iterator[list]:
    made = [
        boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
            # One attempt: a retried write would meet its own first attempt's object.
            config=Config(
                s3={"addressing_style": "path"},
                retries={"total_max_attempts": 1},
                max_pool_connections=WRITERS,
            ),
        )
        for server in servers
    ]
    yield made
    for client in made:
        client.close()


@pytest.fixture
def bucket(clients, bucket_name) -> str:
    clients[0].create_bucket(Bucket=bucket_name)
    return bucket_name


def body_of(writer: int) -> bytes:
    # Large enough that the uploads overlap in time rather than finish one by one.
    return hashlib.shake_256(f"writer-{writer}".encode()).digest(MiB)


def race(clients: list, attempt: Callable[[object, int], dict]) -> dict[int, tuple[str, int]]:
    """Run ``attempt(client, writer)`` for every writer at once, alternating the servers;
    the outcome of each writer as ``(error code or "OK", HTTP status)``."""
    start = threading.Barrier(WRITERS)

    def one(writer: int) -> tuple[str, int]:
        client = clients[writer % len(clients)]
        start.wait()
        try:
            response = attempt(client, writer)
        except ClientError as exc:
            error = exc.response
            return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]
        return "OK", response["ResponseMetadata"]["HTTPStatusCode"]

    with ThreadPoolExecutor(WRITERS) as pool:
        return dict(enumerate(pool.map(one, range(WRITERS))))


def assert_one_winner(outcomes: dict[int, tuple[str, int]]) -> int:
    winners = [writer for writer, outcome in outcomes.items() if outcome == ("OK", 200)]
    assert len(winners) == 1, outcomes
    losers = {outcome for writer, outcome in outcomes.items() if writer != winners[0]}
    assert losers <= LOST_RACE, outcomes
    return winners[0]


def stored_md5s(clients: list, bucket: str, key: str) -> set[str]:
    return {
        hashlib.md5(client.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
        for client in clients
    }


def test_put_object_if_none_match_has_one_winner(clients, bucket):
    outcomes = race(
        clients,
        lambda client, writer: client.put_object(
            Bucket=bucket, Key="contended", Body=body_of(writer), IfNoneMatch="*"
        ),
    )

    winner = assert_one_winner(outcomes)
    assert stored_md5s(clients, bucket, "contended") == {hashlib.md5(body_of(winner)).hexdigest()}


def test_complete_multipart_upload_if_none_match_has_one_winner(clients, bucket):
    # Every writer prepares its own upload first; only the completions race.
    uploads = []
    for writer in range(WRITERS):
        client = clients[writer % len(clients)]
        upload_id = client.create_multipart_upload(Bucket=bucket, Key="contended")["UploadId"]
        part = client.upload_part(
            Bucket=bucket, Key="contended", UploadId=upload_id, PartNumber=1,
            Body=body_of(writer),
        )
        uploads.append((upload_id, part["ETag"]))

    outcomes = race(
        clients,
        lambda client, writer: client.complete_multipart_upload(
            Bucket=bucket,
            Key="contended",
            UploadId=uploads[writer][0],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": uploads[writer][1]}]},
            IfNoneMatch="*",
        ),
    )

    winner = assert_one_winner(outcomes)
    assert stored_md5s(clients, bucket, "contended") == {hashlib.md5(body_of(winner)).hexdigest()}
    head = clients[1].head_object(Bucket=bucket, Key="contended")
    assert head["ETag"].endswith('-1"')


def test_put_object_if_match_has_one_winner(clients, bucket):
    original = clients[0].put_object(Bucket=bucket, Key="contended", Body=b"original")

    outcomes = race(
        clients,
        lambda client, writer: client.put_object(
            Bucket=bucket, Key="contended", Body=body_of(writer), IfMatch=original["ETag"]
        ),
    )

    winner = assert_one_winner(outcomes)
    assert stored_md5s(clients, bucket, "contended") == {hashlib.md5(body_of(winner)).hexdigest()}
