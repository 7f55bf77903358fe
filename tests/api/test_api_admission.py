"""Admission through HTTP with signatures checked: a request is authenticated once, also when it
asks for ``100 Continue`` (answered after its signature was verified, before its body)."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestServer
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from post3.api import authentication
from post3.app import RUNNER_OPTIONS, create_app
from post3.backends.memory import MemoryBackend
from post3.config import Settings

KEY_ID = SECRET = "testing"


def signed_head(host: str, method: str, path: str, body: bytes) -> bytes:
    request = AWSRequest(method, f"http://{host}{path}", data=body)
    S3SigV4Auth(Credentials(KEY_ID, SECRET), "s3", "us-east-1").add_auth(request)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}",
             "Expect: 100-continue", *(f"{k}: {v}" for k, v in request.headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_an_upload_with_expect_is_authenticated_once(monkeypatch):
    backend = MemoryBackend()
    await backend.create_bucket("bkt")
    app = create_app(Settings(backend="memory", access_key=KEY_ID, secret_key=SECRET),
                     backend=backend)
    server = TestServer(app)
    await server.start_server(**RUNNER_OPTIONS)
    calls = []
    original = authentication.authenticate_request

    async def counting(s3, *rest):  # type: ignore[no-untyped-def]
        calls.append(s3.operation)
        return await original(s3, *rest)

    monkeypatch.setattr(authentication, "authenticate_request", counting)
    try:
        host = f"{server.host}:{server.port}"
        reader, writer = await asyncio.open_connection(server.host, server.port)
        body = b"x" * 1000
        writer.write(signed_head(host, "PUT", "/bkt/k", body))
        await writer.drain()
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        writer.close()
        assert calls == ["PutObject"]
        assert (await backend.head_object("bkt", "k")).size == 1000
    finally:
        await server.close()
