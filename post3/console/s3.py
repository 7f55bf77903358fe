"""The console's S3 client: real S3 requests, signed with the session's key, to this server.

Every console action is an S3 request sent to the socket the browser's request came in on
(loopback), so it passes the same admission point as the AWS CLI's requests: signature,
key lookup, grants. The console cannot do anything its key could not do. Bytes never pass
through the console: downloads, shares and uploads are presigned URLs the browser uses itself.

Signing is SigV4 built from :mod:`post3.auth.signing` (the same functions the server verifies
with). Bodies the console sends are small XML documents, hashed in full.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import aiohttp
import yarl
from defusedxml import ElementTree as SafeET
from multidict import CIMultiDict

from post3.auth import signing

#: What a presigned URL may last: the console offers up to S3's limit of a week.
MAX_EXPIRES = 604800


class S3Failure(Exception):
    """An S3 error answer: its code and message, shown to the user as they are."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to send (``connect``: the local socket) and what to sign (``host``: the Host the
    browser used, so presigned URLs work from the browser and Host-based addressing agrees)."""

    connect: str
    host: str
    scheme: str


@dataclass(frozen=True, slots=True)
class Signer:
    access_key_id: str
    secret: str = ""
    region: str = "us-east-1"

    def _scope(self, now: dt.datetime) -> tuple[str, str, str]:
        amz_date = now.strftime(signing.AMZ_DATE_FORMAT)
        date = amz_date[:8]
        return amz_date, date, f"{date}/{self.region}/{signing.SERVICE}/{signing.TERMINAL}"

    def _signature(self, date: str, amz_date: str, scope: str, canonical: str) -> str:
        key = signing.signing_key(self.secret, date, self.region, signing.SERVICE)
        to_sign = signing.string_to_sign(amz_date, scope, canonical)
        return signing.hmac_sha256(key, to_sign).hex()

    def sign_headers(self, method: str, path: str, query: list[tuple[str, str]],
                     headers: dict[str, str], body: bytes) -> dict[str, str]:
        """``headers`` plus x-amz-date, x-amz-content-sha256 and Authorization."""
        now = dt.datetime.now(dt.UTC)
        amz_date, date, scope = self._scope(now)
        signed = {name.lower(): value for name, value in headers.items()}
        signed["x-amz-date"] = amz_date
        signed["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
        names = sorted(signed)
        canonical = "\n".join([
            method, path, _canonical_query(query),
            *(f"{name}:{' '.join(signed[name].split())}" for name in names), "",
            ";".join(names), signed["x-amz-content-sha256"],
        ])
        signature = self._signature(date, amz_date, scope, canonical)
        signed["authorization"] = (
            f"{signing.ALGORITHM} Credential={self.access_key_id}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}")
        return signed

    def presign(self, method: str, path: str, query: list[tuple[str, str]], host: str,
                expires: int) -> str:
        """The query string of a presigned URL (``X-Amz-*`` added), signing only Host."""
        now = dt.datetime.now(dt.UTC)
        amz_date, date, scope = self._scope(now)
        full = [*query,
                ("X-Amz-Algorithm", signing.ALGORITHM),
                ("X-Amz-Credential", f"{self.access_key_id}/{scope}"),
                ("X-Amz-Date", amz_date),
                ("X-Amz-Expires", str(expires)),
                ("X-Amz-SignedHeaders", "host")]
        canonical = "\n".join([method, path, _canonical_query(full), f"host:{host}", "",
                               "host", signing.UNSIGNED_PAYLOAD])
        full.append(("X-Amz-Signature", self._signature(date, amz_date, scope, canonical)))
        return _canonical_query(full)


def _canonical_query(query: list[tuple[str, str]]) -> str:
    return signing.canonical_query([(name, value, True) for name, value in query])


def object_path(bucket: str, key: str = "") -> str:
    path = f"/{signing.uri_encode(bucket)}"
    if key:
        path += "/" + signing.uri_encode(key, safe="/")
    return path


class S3:
    """One session's S3 client: ``await s3.call("GET", bucket, key, query)``."""

    def __init__(self, http: aiohttp.ClientSession, endpoint: Endpoint, signer: Signer) -> None:
        self._http = http
        self.endpoint = endpoint
        self.signer = signer

    async def call(self, method: str, bucket: str = "", key: str = "",
                   query: list[tuple[str, str]] | None = None, *, body: bytes = b"",
                   headers: dict[str, str] | None = None) -> tuple[CIMultiDict[str], Any]:
        """Send one request; returns (response headers, parsed XML root or None). Raises
        S3Failure for an error answer."""
        query = query or []
        path = object_path(bucket, key) if bucket else "/"
        sent = dict(headers or {})
        sent["host"] = self.endpoint.host
        if body:
            sent["content-md5"] = base64.b64encode(hashlib.md5(body).digest()).decode()
        sent = self.signer.sign_headers(method, path, query, sent, body)
        url = yarl.URL(f"http://{self.endpoint.connect}{path}"
                       + (f"?{_canonical_query(query)}" if query else ""), encoded=True)
        try:
            async with self._http.request(method, url, data=body or None, headers=sent,
                                          skip_auto_headers=("Content-Type",)) as response:
                content = await response.read() if method != "HEAD" else b""
                status, answer = response.status, CIMultiDict(response.headers)
        except aiohttp.ClientError as exc:
            raise S3Failure(503, "ServiceUnavailable", f"the S3 endpoint: {exc}") from None
        if status >= 300:
            code, message = _error(content, status)
            raise S3Failure(status, code, message)
        return answer, (parse_xml(content) if content else None)

    def presigned_url(self, method: str, bucket: str, key: str,
                      query: list[tuple[str, str]] | None = None, expires: int = 3600) -> str:
        path = object_path(bucket, key)
        signed = self.signer.presign(method, path, query or [], self.endpoint.host, expires)
        return f"{self.endpoint.scheme}://{self.endpoint.host}{path}?{signed}"


def parse_xml(content: bytes) -> Any:
    root = SafeET.fromstring(content)
    for element in root.iter():  # the S3 namespace only gets in the way of find()
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


_STATUS_CODES = {403: "AccessDenied", 404: "NotFound", 409: "Conflict"}


def _error(content: bytes, status: int) -> tuple[str, str]:
    if content:
        try:
            root = parse_xml(content)
            return root.findtext("Code") or str(status), root.findtext("Message") or ""
        except SafeET.ParseError:
            pass
    return _STATUS_CODES.get(status, str(status)), ""
