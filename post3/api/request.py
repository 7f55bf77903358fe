"""S3Request: what every handler needs to know about a request, parsed once."""

from __future__ import annotations

import asyncio
import random
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import BodyPartReader, web
from multidict import CIMultiDictProxy

from post3 import keys
from post3.backend import Backend
from post3.config import Settings
from post3.payload import PayloadStream

if TYPE_CHECKING:
    from post3.auth import AuthResult, PostPolicy
    from post3.credentials import AccessKey


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


def split_virtual_path(raw_path: str) -> str:
    """A virtual-hosted request's path is its whole key: ``/a%20b/c`` -> ``a b/c``."""
    path = raw_path.split("?", 1)[0]
    return urllib.parse.unquote(path[1:] if path.startswith("/") else path,
                                errors="surrogateescape")


def parse_query(raw_query: str) -> dict[str, str]:
    """Decoded query parameters; the first value of a repeated name wins; ``?uploads`` and
    ``?uploads=`` are the same."""
    query: dict[str, str] = {}
    if not raw_query:
        return query  # most requests (GET, PUT, HEAD, DELETE of an object) have none
    for name, value in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
        query.setdefault(name, value)
    return query


def new_request_id() -> str:
    """S3's ``x-amz-request-id``: opaque, unique enough to find a request in the logs. Not a
    secret, so not worth a system call per request (``random`` reseeds in forked workers)."""
    return f"{random.getrandbits(64):016X}"


@dataclass(slots=True)
class S3Request:
    request: web.Request
    operation: str
    bucket: str
    key: str
    query: dict[str, str]
    request_id: str = field(default_factory=new_request_id)
    #: the key that signed the request (None with --no-auth)
    identity: AccessKey | None = None
    #: True for a request with no signature at all, admitted by a public policy or ACL
    anonymous: bool = False
    auth: AuthResult | None = None
    #: set by :func:`post3.api.authentication.admit` only: the request may run and its body
    #: may be read
    admitted: bool = False
    #: a browser POST's form fields, read (before the file) to authenticate it
    form: PostForm | None = None
    #: True when ``Host`` named the bucket (virtual-hosted style, ``--domain``)
    virtual_host: bool = False
    #: the app's, looked up once: handlers and their helpers ask for them many times
    backend: Backend = field(init=False)
    settings: Settings = field(init=False)

    def __post_init__(self) -> None:
        app = self.request.app
        self.backend = app[keys.BACKEND]
        self.settings = app[keys.SETTINGS]

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        return self.request.headers

    @property
    def resource(self) -> str:
        if not self.bucket:
            return "/"
        return f"/{self.bucket}/{self.key}" if self.key else f"/{self.bucket}"

    def payload(self, max_size: int | None) -> PayloadStream:
        """The request body, with its integrity checks and its chunk signatures armed."""
        self.check_admitted()
        verifier = self.auth.chunk_verifier() if self.auth is not None else None
        return PayloadStream.from_request(self.request, max_size=max_size, verifier=verifier,
                                          slots=self.upload_slots)

    @property
    def upload_slots(self) -> asyncio.Semaphore | None:
        """The process's turns at streaming a large body into storage."""
        return self.request.app.get(keys.UPLOAD_SLOTS)

    def check_admitted(self) -> None:
        """A body is read only after the request was admitted; a handler reached any other
        way is a bug, refused here rather than trusted."""
        if not self.admitted:
            raise RuntimeError(f"{self.operation}: body read before authentication")


@dataclass(slots=True)
class PostForm:
    """A browser POST's form: the fields before the file, the file part still unread, and
    the policy its signature carried (None with --no-auth)."""

    fields: dict[str, str]
    file: BodyPartReader
    policy: PostPolicy | None = None
