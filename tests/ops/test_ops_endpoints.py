"""Health probes, /_post3/metrics, request ids and the access log, on a live ``post3 run``."""

from __future__ import annotations

import importlib.metadata
import re
import shutil

import aiohttp
import pytest

import post3.client
from post3 import errors

ACCESS_KEY = SECRET_KEY = "testing"


def parse_metrics(text: str) -> dict[str, float]:
    """``{'name{label="v",...}': value}`` for every sample line."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def fetch(url: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text(), dict(response.headers)


async def test_health_probes_answer_without_credentials(start_post3) -> None:
    server = start_post3("--backend", "memory")
    status, body, headers = await fetch(f"{server.endpoint}/_post3/health/live")
    assert (status, body) == (200, "live\n")
    assert headers["x-amz-request-id"]
    status, body, _ = await fetch(f"{server.endpoint}/_post3/health/ready")
    assert (status, body) == (200, "ready\n")
    # ... while an unsigned S3 request is refused
    status, body, _ = await fetch(f"{server.endpoint}/")
    assert status == 403


@pytest.mark.skipif("filesystem" not in {ep.name for ep in
                                         importlib.metadata.entry_points(group="post3")},
                    reason="the post3-filesystem distribution is not installed")
async def test_ready_fails_when_the_backend_cannot_answer(start_post3, tmp_path) -> None:
    root = tmp_path / "data"
    server = start_post3("--backend", "filesystem", "-o", f"root={root}", "-o", "fsync=false")
    assert (await fetch(f"{server.endpoint}/_post3/health/ready"))[0] == 200
    shutil.rmtree(root)
    status, body, _ = await fetch(f"{server.endpoint}/_post3/health/ready")
    assert status == 503
    assert body.startswith("not ready")
    # the process itself still answers
    assert (await fetch(f"{server.endpoint}/_post3/health/live"))[0] == 200


async def test_metrics_count_the_requests_made(start_post3) -> None:
    server = start_post3("--backend", "memory")
    async with post3.client.connect(server.endpoint, ACCESS_KEY, SECRET_KEY) as s3:
        await s3.create_bucket(Bucket="metrics-test")
        for i in range(3):
            await s3.put_object(Bucket="metrics-test", Key=f"k{i}", Body=b"x" * 1000)
        for i in range(2):
            answer = await s3.get_object(Bucket="metrics-test", Key=f"k{i}")
            async with answer["Body"] as body:
                assert len(await body.read()) == 1000
        with pytest.raises(errors.NoSuchKey):
            await s3.get_object(Bucket="metrics-test", Key="absent")
        upload = await s3.create_multipart_upload(Bucket="metrics-test", Key="big")
        await s3.create_multipart_upload(Bucket="metrics-test", Key="other")

        status, text, headers = await fetch(f"{server.endpoint}/_post3/metrics")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        samples = parse_metrics(text)
        assert samples['post3_requests_total{operation="CreateBucket",status="200"}'] == 1
        assert samples['post3_requests_total{operation="PutObject",status="200"}'] == 3
        assert samples['post3_requests_total{operation="GetObject",status="200"}'] == 2
        assert samples['post3_requests_total{operation="GetObject",status="404"}'] == 1
        assert samples['post3_request_duration_seconds_count{operation="PutObject"}'] == 3
        assert samples[
            'post3_request_duration_seconds_bucket{operation="GetObject",le="+Inf"}'] == 3
        assert samples['post3_received_bytes_total{operation="PutObject"}'] >= 3000
        assert samples['post3_sent_bytes_total{operation="GetObject"}'] >= 2000
        assert samples["post3_multipart_uploads_open"] == 2
        # the scrape itself is not an S3 request
        assert not any("GetMetrics" in name for name in samples)

        await s3.abort_multipart_upload(Bucket="metrics-test", Key="big",
                                        UploadId=upload["UploadId"])
        samples = parse_metrics((await fetch(f"{server.endpoint}/_post3/metrics"))[1])
        assert samples["post3_multipart_uploads_open"] == 1
        assert samples['post3_requests_total{operation="AbortMultipartUpload",status="204"}'] == 1


async def test_request_id_is_on_every_response_and_in_the_access_log(start_post3) -> None:
    server = start_post3("--backend", "memory", "--log-format", "json")
    async with post3.client.connect(server.endpoint, ACCESS_KEY, SECRET_KEY) as s3:
        await s3.create_bucket(Bucket="logged")
        put = await s3.put_object(Bucket="logged", Key="dir/a b.txt", Body=b"hello")
        with pytest.raises(errors.NoSuchKey) as missing:
            await s3.get_object(Bucket="logged", Key="nope")
    put_id = put["ResponseMetadata"]["RequestId"]
    error_id = missing.value.response["ResponseMetadata"]["RequestId"]
    assert put_id and error_id and put_id != error_id
    server.terminate()  # flushes the log

    records = {r["request_id"]: r for r in server.access_records()}
    logged_put = records[put_id]
    assert logged_put["operation"] == "PutObject"
    assert (logged_put["bucket"], logged_put["key"]) == ("logged", "dir/a b.txt")
    assert logged_put["status"] == 200
    assert logged_put["bytes_in"] >= 5
    assert logged_put["duration_ms"] >= 0
    logged_error = records[error_id]
    assert (logged_error["operation"], logged_error["status"]) == ("GetObject", 404)
    assert logged_error["bytes_out"] > 0  # the <Error> document


async def test_text_access_log_is_logfmt(start_post3) -> None:
    server = start_post3("--backend", "memory", env={"POST3_LOG_FORMAT": "text"})
    async with post3.client.connect(server.endpoint, ACCESS_KEY, SECRET_KEY) as s3:
        await s3.create_bucket(Bucket="textlog")
        await s3.put_object(Bucket="textlog", Key="a b", Body=b"12345")
    server.terminate()
    lines = [line for line in server.stderr().splitlines() if "post3.access" in line]
    put = next(line for line in lines if "operation=PutObject" in line)
    assert re.search(r'bucket=textlog key="a b" status=200 bytes_in=\d+ bytes_out=0 ', put)
    assert re.search(r"request_id=[0-9A-F]{16} ", put)


async def test_json_log_format_from_environment(start_post3) -> None:
    server = start_post3("--backend", "memory", env={"POST3_LOG_FORMAT": "json"})
    await fetch(f"{server.endpoint}/_post3/health/live")
    server.terminate()
    records = server.access_records()
    assert [r["operation"] for r in records] == ["GetHealthLive"]
