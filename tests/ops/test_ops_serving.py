"""Serving: graceful shutdown on SIGTERM, and ``--workers N`` sharing one port."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import signal
import socket
import time
import urllib.parse
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import post3.client
from tests.ops.conftest import boto3_client

ACCESS_KEY = SECRET_KEY = "testing"
INSTALLED = {ep.name for ep in importlib.metadata.entry_points(group="post3")}
needs_filesystem = pytest.mark.skipif("filesystem" not in INSTALLED,
                                      reason="the post3-filesystem distribution is not installed")


def signed_put_headers(url: str, length: int) -> dict[str, str]:
    """SigV4 headers for a PUT whose body is sent later, unsigned (UNSIGNED-PAYLOAD)."""
    request = AWSRequest(method="PUT", url=url, headers={
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "Content-Length": str(length),
    })
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def refused(endpoint: str) -> bool:
    address = urllib.parse.urlsplit(endpoint)
    try:
        with socket.create_connection((address.hostname, address.port), timeout=2):
            return False
    except (ConnectionRefusedError, ConnectionResetError):
        # Reset: the connection reached the listener's queue just as the listener closed.
        return True


def wait_for(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


async def test_sigterm_lets_the_request_in_flight_finish(start_post3) -> None:
    server = start_post3("--backend", "memory")
    async with post3.client.connect(server.endpoint, ACCESS_KEY, SECRET_KEY) as s3:
        await s3.create_bucket(Bucket="draining")
    url = f"{server.endpoint}/draining/slow"
    body = b"x" * 200_000
    address = urllib.parse.urlsplit(server.endpoint)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    head = "".join(f"{k}: {v}\r\n" for k, v in signed_put_headers(url, len(body)).items())
    writer.write(f"PUT /draining/slow HTTP/1.1\r\nHost: {address.netloc}\r\n{head}\r\n".encode())
    writer.write(body[:1000])
    await writer.drain()
    await asyncio.sleep(0.3)  # the request is being handled, its body half-sent

    server.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(wait_for, lambda: refused(server.endpoint)), \
        "new connections are still accepted after SIGTERM"
    assert server.process.poll() is None, "the server exited with a request in flight"

    writer.write(body[1000:])
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 200"), status_line
    assert await asyncio.to_thread(server.process.wait, 20) == 0


@needs_filesystem
def test_memory_backend_refuses_several_workers(start_post3) -> None:
    server = start_post3("--backend", "memory", "--workers", "2", expect_serving=False)
    assert server.process.returncode != 0
    assert "--workers 1" in server.stderr()


async def concurrent_load(endpoint: str, bucket: str, requests: int = 120,
                          concurrency: int = 24) -> None:
    """PUT, GET and list from many connections at once; any error fails the test."""
    config = post3.client.AioConfig(max_pool_connections=concurrency)
    async with post3.client.connect(endpoint, ACCESS_KEY, SECRET_KEY, config=config) as s3:
        await s3.create_bucket(Bucket=bucket)
        slots = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with slots:
                data = f"object {i} ".encode() * (i + 1)
                await s3.put_object(Bucket=bucket, Key=f"load/{i % 40}", Body=data)
                answer = await s3.get_object(Bucket=bucket, Key=f"load/{i % 40}")
                async with answer["Body"] as body:
                    got = await body.read()
                # another writer of the same key may have won: never a mix of two
                assert got.startswith(b"object ") and len(set(got.split(b" ")[1::2])) == 1

        await asyncio.gather(*(one(i) for i in range(requests)))
        keys = [entry["Key"] async for entry in s3.iter_objects(bucket, "load/")]
        assert keys == sorted(f"load/{i}" for i in range(40))


def scraped_puts(endpoint: str) -> float:
    with urllib.request.urlopen(f"{endpoint}/_post3/metrics", timeout=10) as response:
        text = response.read().decode()
    prefix = 'post3_requests_total{operation="PutObject",status="200"} '
    return float(next((x[len(prefix):] for x in text.splitlines() if x.startswith(prefix)), 0))


def check_workers(server, bucket: str) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(concurrent_load(server.endpoint, bucket, requests=120))
    # one "serving" line for the whole set
    assert [line for line in server.stdout_lines if "serving" in line] == [server.stdout_lines[0]]
    # /_post3/metrics adds up the workers' counts (each publishes its own at least every second)
    assert wait_for(lambda: scraped_puts(server.endpoint) == 120), scraped_puts(server.endpoint)

    children = [int(pid) for pid in
                open(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
                .read().split()]
    assert len(children) == 2
    assert server.terminate() == 0
    for pid in children:
        assert wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}")), \
            f"worker {pid} survived SIGTERM to the parent"
    assert refused(server.endpoint)
    served_by = {r["pid"] for r in server.access_records() if r["operation"] == "PutObject"}
    assert served_by and served_by <= set(children), served_by


@needs_filesystem
def test_two_workers_serve_a_concurrent_load_on_the_filesystem(start_post3, tmp_path) -> None:
    server = start_post3("--backend", "filesystem", "-o", f"root={tmp_path / 'data'}",
                         "-o", "fsync=false", "--workers", "2", "--log-format", "json")
    check_workers(server, "workers-fs")


@pytest.mark.postgres
@pytest.mark.skipif("postgres" not in INSTALLED,
                    reason="the post3-postgres distribution is not installed")
def test_two_workers_serve_a_concurrent_load_on_postgres(start_post3, request) -> None:
    dsn = request.getfixturevalue("_fresh_postgres_database")
    server = start_post3("--backend", "postgres", "-o", f"dsn={dsn}", "-o", "auto_migrate=true",
                         "--workers", "2", "--log-format", "json")
    check_workers(server, "workers-pg")


def running(pid: int) -> bool:
    """The process exists and is not a zombie waiting for whoever adopted it to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def children_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]


@needs_filesystem
@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc")
def test_workers_exit_when_their_parent_is_killed(start_post3, tmp_path) -> None:
    server = start_post3("--backend", "filesystem", "-o", f"root={tmp_path / 'data'}",
                         "-o", "fsync=false", "--workers", "2")
    workers = children_of(server.process.pid)
    assert len(workers) == 2
    s3 = boto3_client(server.endpoint)
    s3.create_bucket(Bucket="orphans")  # the workers serve
    s3.close()

    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(running, workers)):
        time.sleep(0.05)
    alive = [w for w in workers if running(w)]
    for pid in alive:  # do not leave them serving after the test
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers {alive} outlived their SIGKILLed parent"
    # ... and the port is free for a restart
    address = urllib.parse.urlsplit(server.endpoint)
    with socket.create_server((address.hostname, address.port)):
        pass
