"""S3Request: what every handler needs to know about a request, parsed once."""

from __future__ import annotations

import secrets
import urllib.parse
from dataclasses import dataclass, field

from aiohttp import web
from multidict import CIMultiDictProxy

from post3 import keys
from post3.backend import Backend
from post3.config import Settings


def split_path(raw_path: str) -> tuple[str, str]:
    """``/bucket/some%20key`` -> ``("bucket", "some key")``.

    The path is decoded exactly once, and ``+`` stays a plus: clients percent-encode every
    character but ``A-Za-z0-9-._~/`` (S3-WIRE.md §1.2.6). ``/bucket/`` is the bucket itself.
    """
    path = raw_path.split("?", 1)[0]
    if path.startswith("/"):
        path = path[1:]
    bucket, _, key = path.partition("/")
    return (
        urllib.parse.unquote(bucket, errors="replace"),
        urllib.parse.unquote(key, errors="surrogateescape"),
    )


def parse_query(raw_query: str) -> dict[str, str]:
    """Decoded query parameters; the first value of a repeated name wins; ``?uploads`` and
    ``?uploads=`` are the same."""
    query: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
        query.setdefault(name, value)
    return query


def new_request_id() -> str:
    return secrets.token_hex(8).upper()


@dataclass(slots=True)
class S3Request:
    request: web.Request
    operation: str
    bucket: str
    key: str
    query: dict[str, str]
    request_id: str = field(default_factory=new_request_id)

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        return self.request.headers

    @property
    def backend(self) -> Backend:
        return self.request.app[keys.BACKEND]

    @property
    def settings(self) -> Settings:
        return self.request.app[keys.SETTINGS]

    @property
    def resource(self) -> str:
        if not self.bucket:
            return "/"
        return f"/{self.bucket}/{self.key}" if self.key else f"/{self.bucket}"
