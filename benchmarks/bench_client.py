"""SigV4-signed S3 requests over aiohttp, cheap enough not to be what a benchmark measures."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

import aiohttp
from multidict import CIMultiDict
from yarl import URL

KIB, MIB = 1024, 1024 * 1024
REGION = "us-east-1"


class Signer:
    """SigV4 for path-style requests, signing key cached per day (cheap for the client)."""

    def __init__(self, access_key: str, secret_key: str, host: str) -> None:
        self.access_key, self.secret_key, self.host = access_key, secret_key, host
        self._keys: dict[str, bytes] = {}

    def _key(self, day: str) -> bytes:
        key = self._keys.get(day)
        if key is None:
            key = ("AWS4" + self.secret_key).encode()
            for part in (day, REGION, "s3", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys[day] = key
        return key

    def headers(self, method: str, path: str, query: str, extra: dict[str, str]) -> dict[str, str]:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        day = stamp[:8]
        headers = {"host": self.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
                   "x-amz-date": stamp, **{k.lower(): v for k, v in extra.items()}}
        names = sorted(headers)
        canonical = "\n".join([
            method, path, query, "".join(f"{n}:{headers[n].strip()}\n" for n in names),
            ";".join(names), "UNSIGNED-PAYLOAD"])
        scope = f"{day}/{REGION}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        signature = hmac.new(self._key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                                    f"SignedHeaders={';'.join(names)}, Signature={signature}")
        del headers["host"]  # aiohttp sends it, with the same value
        return headers


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                    for k, v in sorted(params.items()))


async def blocks(body: bytes):
    view = memoryview(body)
    for start in range(0, len(body), MIB):
        yield view[start:start + MIB]


class Client:
    """Signed requests to one server over one connection pool."""

    def __init__(self, endpoint: str, signer: Signer, connections: int) -> None:
        self.endpoint, self.signer = endpoint, signer
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=600), auto_decompress=False)

    async def close(self) -> None:
        await self.session.close()

    def _prepare(self, method: str, path: str, params: dict[str, str] | None,
                 headers: dict[str, str] | None) -> tuple[URL, dict[str, str]]:
        path = quote(path, safe="/-_.~")
        query = canonical_query(params or {})
        url = URL(self.endpoint + path + (f"?{query}" if query else ""), encoded=True)
        return url, self.signer.headers(method, path, query, headers or {})

    async def call(self, method: str, path: str, params: dict[str, str] | None = None,
                   body: bytes | None = None, headers: dict[str, str] | None = None,
                   ok: tuple[int, ...] = (200, 204)) -> tuple[int, bytes, CIMultiDict[str]]:
        url, signed = self._prepare(method, path, params, headers)
        data = body
        if body is not None and len(body) > MIB:
            # In 1 MiB writes: one large write makes asyncio's transport buffer the rest and
            # memmove it after every send, which would measure the client, not the server.
            signed["Content-Length"] = str(len(body))
            data = blocks(body)
        async with self.session.request(method, url, headers=signed, data=data) as response:
            reply = await response.read()
            if response.status not in ok:
                raise RuntimeError(f"{method} {path}: {response.status} {reply[:300]!r}")
            return response.status, reply, CIMultiDict(response.headers)

    async def get_size(self, path: str) -> int:
        """GET, reading the body as it comes and dropping it; returns the bytes received."""
        url, signed = self._prepare("GET", path, None, None)
        received = 0
        async with self.session.get(url, headers=signed) as response:
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status} {await response.read()!r}")
            while chunk := await response.content.readany():
                received += len(chunk)
        return received
