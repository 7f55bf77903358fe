"""What the access log and /_post3/metrics report about bodies and refusals (live server)."""

from __future__ import annotations

import importlib.metadata

import aiohttp
import pytest

import post3.client

ACCESS_KEY = SECRET_KEY = "testing"
SIZE = 3 * 1024 * 1024 + 7

BACKENDS = ["memory"]
if "filesystem" in {ep.name for ep in importlib.metadata.entry_points(group="post3")}:
    BACKENDS.append("filesystem")  # serves GET bodies with sendfile


@pytest.mark.parametrize("backend", BACKENDS)
async def test_bytes_out_counts_the_body_sent(start_post3, tmp_path, backend) -> None:
    options = ["-o", f"root={tmp_path / 'data'}", "-o", "fsync=false"] \
        if backend == "filesystem" else []
    server = start_post3("--backend", backend, *options, "--log-format", "json")
    data = bytes(range(256)) * (SIZE // 256) + b"x" * (SIZE % 256)
    async with post3.client.connect(server.endpoint, ACCESS_KEY, SECRET_KEY) as s3:
        await s3.create_bucket(Bucket="sent")
        await s3.put_object(Bucket="sent", Key="big", Body=data)
        answer = await s3.get_object(Bucket="sent", Key="big")
        async with answer["Body"] as body:
            assert await body.read() == data
        ranged = await s3.get_object(Bucket="sent", Key="big", Range="bytes=10-109")
        async with ranged["Body"] as body:
            assert len(await body.read()) == 100
        get_id = answer["ResponseMetadata"]["RequestId"]
        range_id = ranged["ResponseMetadata"]["RequestId"]
        async with aiohttp.ClientSession() as session, \
                session.get(f"{server.endpoint}/_post3/metrics") as response:
            metrics = await response.text()
    server.terminate()
    records = {r["request_id"]: r for r in server.access_records()}
    assert records[get_id]["bytes_out"] == SIZE
    assert records[range_id]["bytes_out"] == 100
    sent = next(line for line in metrics.splitlines()
                if line.startswith('post3_sent_bytes_total{operation="GetObject"}'))
    assert float(sent.rpartition(" ")[2]) == SIZE + 100


@pytest.mark.parametrize("backend", BACKENDS)
async def test_small_bodies_leave_whole(start_post3, tmp_path, backend) -> None:
    """A body up to 64 KiB is read before the answer starts (a file with one pread) and sent
    with its head; one byte more streams. Both arrive whole and are counted."""
    options = ["-o", f"root={tmp_path / 'data'}", "-o", "fsync=false"] \
        if backend == "filesystem" else []
    server = start_post3("--backend", backend, *options, "--log-format", "json")
    sizes = {"empty": 0, "small": 4096, "limit": 64 << 10, "over": (64 << 10) + 1}
    ids = {}
    async with post3.client.connect(server.endpoint, ACCESS_KEY, SECRET_KEY) as s3:
        await s3.create_bucket(Bucket="small")
        for key, size in sizes.items():
            data = bytes(range(256)) * (size // 256) + b"y" * (size % 256)
            await s3.put_object(Bucket="small", Key=key, Body=data)
            answer = await s3.get_object(Bucket="small", Key=key)
            async with answer["Body"] as body:
                assert await body.read() == data
            assert answer["ContentLength"] == size
            ids[key] = answer["ResponseMetadata"]["RequestId"]
            if size:
                ranged = await s3.get_object(Bucket="small", Key=key, Range="bytes=1-")
                async with ranged["Body"] as body:
                    assert await body.read() == data[1:]
    server.terminate()
    records = {r["request_id"]: r for r in server.access_records()}
    assert {key: records[ids[key]]["bytes_out"] for key in sizes} == sizes


async def test_method_not_allowed_names_the_operation(start_post3) -> None:
    server = start_post3("--backend", "memory", "--log-format", "json")
    async with aiohttp.ClientSession() as session:
        for method, path in [("POST", "/some-bucket/some-key"), ("DELETE", "/"),
                             ("PATCH", "/some-bucket")]:
            async with session.request(method, f"{server.endpoint}{path}") as response:
                assert response.status == 405, (method, path)
        async with session.get(f"{server.endpoint}/_post3/metrics") as response:
            metrics = await response.text()
    server.terminate()
    refused = [r for r in server.access_records() if r["status"] == 405]
    # Named as S3's own server access log names a request: REST.<method>.<resource type>
    assert [r["operation"] for r in refused] == [
        "REST.POST.OBJECT", "REST.DELETE.SERVICE", "REST.PATCH.BUCKET"]
    assert 'post3_requests_total{operation="REST.POST.OBJECT",status="405"} 1' in metrics
