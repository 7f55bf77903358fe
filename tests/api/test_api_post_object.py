"""PostObject (browser form uploads) through HTTP with signatures checked, on the memory
backend: ``${filename}``, the policy's expiration and conditions, and checksum fields."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
import zlib

import boto3
import pytest
from aiohttp.test_utils import TestServer
from botocore.config import Config

from post3.app import RUNNER_OPTIONS, create_app
from post3.backends.memory import MemoryBackend
from post3.config import Settings

KEY_ID = SECRET = "testing"
DATA = b"123456789"
CRC32 = base64.b64encode(zlib.crc32(DATA).to_bytes(4, "big")).decode()
SHA256 = base64.b64encode(hashlib.sha256(DATA).digest()).decode()


@pytest.fixture
async def signed_client(aiohttp_client):
    settings = Settings(backend="memory", access_key=KEY_ID, secret_key=SECRET)
    backend = MemoryBackend()
    server = TestServer(create_app(settings, backend=backend))
    await server.start_server(**RUNNER_OPTIONS)
    client = await aiohttp_client(server)
    boto = boto3.client("s3", endpoint_url=str(client.make_url("")).rstrip("/"),
                        aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                        region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    client.boto, client.backend = boto, backend
    # The bucket, made through a signed request.
    url = boto.generate_presigned_url("create_bucket", Params={"Bucket": "forms"})
    assert (await client.put(url.removeprefix(str(client.make_url("")).rstrip("/")))).status == 200
    return client


def form(fields: dict[str, str], content: bytes, filename: str = "photo.jpg"):
    boundary = f"----post3{uuid.uuid4().hex}"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
                 + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, b"".join(parts)


def sigv2_fields(document: dict, **fields: str) -> dict[str, str]:
    """A SigV2-signed form for a policy document written by hand."""
    policy = base64.b64encode(json.dumps(document).encode()).decode()
    signature = base64.b64encode(
        hmac.new(SECRET.encode(), policy.encode(), hashlib.sha1).digest()).decode()
    return {**fields, "AWSAccessKeyId": KEY_ID, "policy": policy, "signature": signature}


def later(hours: int = 1) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def post(client, fields, content=DATA, filename="photo.jpg"):
    headers, body = form(fields, content, filename)
    return await client.post("/forms", data=body, headers=headers)


async def stored(client, key: str) -> bytes | None:
    url = client.boto.generate_presigned_url("get_object", Params={"Bucket": "forms", "Key": key})
    response = await client.get(url.removeprefix(str(client.make_url("")).rstrip("/")))
    return await response.read() if response.status == 200 else None


async def test_filename_is_substituted_before_the_conditions(signed_client):
    presigned = signed_client.boto.generate_presigned_post(
        "forms", "uploads/${filename}",
        Conditions=[["eq", "$key", "uploads/photo.jpg"]], ExpiresIn=300)
    response = await post(signed_client, presigned["fields"])
    assert response.status == 204, await response.text()
    assert await stored(signed_client, "uploads/photo.jpg") == DATA
    # ... and the substituted key is what the conditions see: another file name is refused.
    response = await post(signed_client, presigned["fields"], filename="other.jpg")
    assert response.status == 403
    assert await stored(signed_client, "uploads/other.jpg") is None


@pytest.mark.parametrize("expiration", [
    "tomorrow", "2999-12-31 23:59:59", "2999-12-31", "2999-12-31T23:59:59", 12345,
])
async def test_malformed_expiration_is_400(signed_client, error_code, expiration):
    fields = sigv2_fields({"expiration": expiration,
                           "conditions": [{"bucket": "forms"}, ["eq", "$key", "k"]]}, key="k")
    response = await post(signed_client, fields)
    assert response.status == 400, await response.text()
    assert await error_code(response) == "InvalidPolicyDocument"
    assert await stored(signed_client, "k") is None


async def test_empty_condition_is_invalid_policy_document(signed_client, error_code):
    fields = sigv2_fields({"expiration": later(),
                           "conditions": [{"bucket": "forms"}, ["eq", "$key", "k"], {}]}, key="k")
    response = await post(signed_client, fields)
    assert response.status == 400
    assert await error_code(response) == "InvalidPolicyDocument"
    assert await stored(signed_client, "k") is None


def checked_fields(**extra: str) -> dict[str, str]:
    return sigv2_fields({"expiration": later(),
                         "conditions": [{"bucket": "forms"}, ["eq", "$key", "k"]]},
                        key="k", **extra)


@pytest.mark.parametrize(("field", "value"), [("x-amz-checksum-crc32", CRC32),
                                              ("x-amz-checksum-sha256", SHA256)])
async def test_checksum_field_is_verified_and_stored(signed_client, field, value):
    response = await post(signed_client, checked_fields(**{field: value}))
    assert response.status == 204, await response.text()
    assert response.headers[field] == value
    info = await signed_client.backend.head_object("forms", "k")
    assert info.checksums.values[field.removeprefix("x-amz-checksum-")] == value


async def test_wrong_checksum_field_is_bad_digest(signed_client, error_code):
    wrong = base64.b64encode(b"\x00\x00\x00\x01").decode()
    response = await post(signed_client, checked_fields(**{"x-amz-checksum-crc32": wrong}))
    assert response.status == 400
    assert await error_code(response) == "BadDigest"
    assert await stored(signed_client, "k") is None


async def test_checksum_algorithm_field_alone_computes_it(signed_client):
    response = await post(signed_client, checked_fields(**{"x-amz-checksum-algorithm": "CRC32"}))
    assert response.status == 204, await response.text()
    assert response.headers["x-amz-checksum-crc32"] == CRC32


async def test_malformed_checksum_field_is_invalid_request(signed_client, error_code):
    response = await post(signed_client, checked_fields(**{"x-amz-checksum-crc32": "nope"}))
    assert response.status == 400
    assert await error_code(response) == "InvalidRequest"
    assert await stored(signed_client, "k") is None
