"""Encryption at rest through HTTP on the memory backend: what it stores, browser POST uploads
with encryption fields, GetObjectAttributes, a server without master keys."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestServer

from post3.app import RUNNER_OPTIONS, create_app
from post3.backends.memory import MemoryBackend
from post3.config import Settings
from post3.encryption.segments import SEGMENT

KEY = os.urandom(32)
SSE_C = {
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": base64.b64encode(KEY).decode(),
    "x-amz-server-side-encryption-customer-key-MD5":
        base64.b64encode(hashlib.md5(KEY).digest()).decode(),
}


@pytest.fixture
def settings():
    return Settings(backend="memory", auth=False,
                    master_key=base64.b64encode(os.urandom(32)).decode())


@pytest.fixture
def backend():
    return MemoryBackend()


@pytest.fixture
async def client(aiohttp_client, settings, backend):
    server = TestServer(create_app(settings, backend=backend))
    await server.start_server(**RUNNER_OPTIONS)
    return await aiohttp_client(server)


def _stored(backend: MemoryBackend, bucket: str, key: str):
    return backend._bucket(bucket).latest(key)


async def test_memory_stores_ciphertext_and_detects_tampering(client, bucket, backend,
                                                              error_code):
    data = os.urandom(SEGMENT + 500)
    response = await client.put(f"/{bucket}/obj", data=data,
                                headers={"x-amz-server-side-encryption": "AES256"})
    assert response.status == 200
    stored = _stored(backend, bucket, "obj")
    raw = b"".join(stored.blocks)
    assert len(raw) > len(data) and data[:64] not in raw and data[-64:] not in raw
    assert stored.info.size == len(data)
    altered = bytearray(raw)
    altered[SEGMENT + 28 + 100] ^= 0x80  # in the second segment
    tampered = dataclasses.replace(stored, blocks=(bytes(altered),))
    backend._bucket(bucket).versions["obj"][0] = tampered
    # A range inside the intact first segment still reads; the altered one never does.
    ranged = await client.get(f"/{bucket}/obj", headers={"Range": "bytes=0-99"})
    assert ranged.status == 206 and await ranged.read() == data[:100]
    second = await client.get(f"/{bucket}/obj", headers={"Range": f"bytes={SEGMENT}-"})
    assert second.status == 500
    assert await error_code(second) == "InternalError"
    # The first segment altered: a clean error before the response starts.
    altered[100] ^= 0x80
    backend._bucket(bucket).versions["obj"][0] = dataclasses.replace(
        stored, blocks=(bytes(altered),))
    whole = await client.get(f"/{bucket}/obj")
    assert whole.status == 500


async def test_post_upload_with_encryption_fields(client, bucket):
    form = FormData()
    form.add_field("key", "posted")
    form.add_field("x-amz-server-side-encryption", "AES256")
    form.add_field("file", b"posted bytes", filename="f.txt")
    response = await client.post(f"/{bucket}", data=form)
    assert response.status == 204
    assert response.headers["x-amz-server-side-encryption"] == "AES256"
    got = await client.get(f"/{bucket}/posted")
    assert got.headers["x-amz-server-side-encryption"] == "AES256"
    assert await got.read() == b"posted bytes"


async def test_get_object_attributes_needs_the_sse_c_key(client, bucket, error_code):
    assert (await client.put(f"/{bucket}/c", data=b"x" * 10, headers=SSE_C)).status == 200
    headers = {"x-amz-object-attributes": "ObjectSize"}
    refused = await client.get(f"/{bucket}/c?attributes", headers=headers)
    assert refused.status == 400 and await error_code(refused) == "InvalidRequest"
    allowed = await client.get(f"/{bucket}/c?attributes", headers={**headers, **SSE_C})
    assert allowed.status == 200
    assert b"<ObjectSize>10</ObjectSize>" in await allowed.read()


@pytest.mark.parametrize("settings", [Settings(backend="memory", auth=False)])
async def test_without_master_keys_only_sse_c_works(client, bucket, error_code):
    refused = await client.put(f"/{bucket}/s", data=b"x",
                               headers={"x-amz-server-side-encryption": "AES256"})
    assert refused.status == 501 and await error_code(refused) == "NotImplemented"
    assert (await client.put(f"/{bucket}/c", data=b"x", headers=SSE_C)).status == 200
    assert await (await client.get(f"/{bucket}/c", headers=SSE_C)).read() == b"x"


async def test_rewrap_pass_moves_data_keys_without_rewriting_bytes(aiohttp_client, tmp_path):
    from post3.encryption.keyring import KeyRing, create_key, rotate_key
    from post3.encryption.rewrap import rewrap_pass

    key_file = tmp_path / "keys.json"
    create_key(str(key_file), "default")
    backend = MemoryBackend()
    server = TestServer(create_app(Settings(backend="memory", auth=False,
                                            key_file=str(key_file)), backend=backend))
    await server.start_server(**RUNNER_OPTIONS)
    client = await aiohttp_client(server)
    await client.put("/bkt")
    data = os.urandom(SEGMENT + 10)
    for key in ("a", "b"):
        await client.put(f"/bkt/{key}", data=data,
                         headers={"x-amz-server-side-encryption": "AES256"})
    await client.put("/bkt/c", data=b"customer", headers=SSE_C)
    await client.put("/bkt/plain", data=b"plain")
    before = {key: _stored(backend, "bkt", key) for key in ("a", "b")}
    rotate_key(str(key_file), "default")
    report = await rewrap_pass(backend, KeyRing.load(str(key_file), None))
    assert (report.versions, report.rewrapped) == (4, 2)
    for key, old in before.items():
        now = _stored(backend, "bkt", key)
        assert now.blocks == old.blocks  # the bytes are the same objects: not rewritten
        assert old.info.attributes.encryption.data_key.startswith("default:1:")
        assert now.info.attributes.encryption.data_key.startswith("default:2:")
        got = await client.get(f"/bkt/{key}")
        assert got.status == 200 and await got.read() == data
    again = await rewrap_pass(backend, KeyRing.load(str(key_file), None))
    assert again.rewrapped == 0
    assert await (await client.get("/bkt/c", headers=SSE_C)).read() == b"customer"
