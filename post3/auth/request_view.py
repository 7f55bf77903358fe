"""RequestView: the few facts about a request that signature verification needs.

Verification must see the request exactly as it arrived — the path still percent-encoded, the
query string unparsed, every header value — so the view is built from the raw parts rather than
from a framework's decoded request. It has no aiohttp dependency; the middleware builds one from
``request.raw_path``, ``request.query_string``, ``request.headers`` and its clock.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol


class _MultiMapping(Protocol):
    def items(self) -> Iterable[tuple[str, str]]: ...


HeaderSource = _MultiMapping | Mapping[str, str] | Iterable[tuple[str, str]]


def split_query(raw_query: str) -> list[tuple[str, str, bool]]:
    """``a=1&uploads&b=`` -> ``[(a, 1, True), (uploads, "", False), (b, "", True)]``.

    Names and values are percent-decoded once; ``+`` stays a plus (clients encode spaces as
    ``%20``, and a base64 signature may carry a literal ``+``). The flag records whether an
    ``=`` was present, which SigV2's canonical resource preserves.
    """
    items: list[tuple[str, str, bool]] = []
    if not raw_query:
        return items
    for part in raw_query.split("&"):
        if not part:
            continue
        name, eq, value = part.partition("=")
        items.append((_unquote(name), _unquote(value), bool(eq)))
    return items


def _unquote(text: str) -> str:
    return urllib.parse.unquote(text, errors="surrogateescape")


class RequestView:
    """Method, raw path, raw query, headers (case-insensitive, repeated names kept), the
    server's current time (timezone-aware) and, for a virtual-hosted-style request, the bucket
    its ``Host`` named."""

    __slots__ = ("method", "raw_path", "raw_query", "now", "virtual_bucket", "_headers",
                 "_query")

    def __init__(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: HeaderSource,
        now: datetime,
        virtual_bucket: str | None = None,
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("RequestView.now must be timezone-aware")
        self.method = method.upper()
        # Some frameworks hand over the path with its query attached.
        path, _, query = raw_path.partition("?")
        self.raw_path = path or "/"
        self.raw_query = raw_query if raw_query or not query else query
        self.now = now
        #: the bucket ``Host`` named (a virtual-hosted-style request), else None
        self.virtual_bucket = virtual_bucket
        self._headers: dict[str, list[str]] = {}
        pairs = headers.items() if hasattr(headers, "items") else headers
        for name, value in pairs:
            self._headers.setdefault(name.lower(), []).append(value)
        self._query: list[tuple[str, str, bool]] | None = None

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        values = self._headers.get(name.lower())
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return self._headers.get(name.lower(), [])

    def header_names(self) -> list[str]:
        """Lower-case names of every header present."""
        return list(self._headers)

    @property
    def query_items(self) -> list[tuple[str, str, bool]]:
        """Decoded query items in arrival order; see :func:`split_query`."""
        if self._query is None:
            self._query = split_query(self.raw_query)
        return self._query

    def query_param(self, name: str) -> str | None:
        """The first decoded value of a query parameter (exact, case-sensitive name)."""
        for key, value, _ in self.query_items:
            if key == name:
                return value
        return None
