"""Bucket configuration documents as a request path reads them: parsed, and kept by each
process for a few seconds.

Some documents are read by ordinary object requests (lifecycle rules for ``x-amz-expiration``,
object lock's default retention on every write). Reading them from storage each time would
cost every request a round trip, so each process keeps what it parsed for ``seconds``: a change
made through this process shows at once (the handler that stores it calls :meth:`forget`), one
made through another worker or host within ``seconds``, as S3's own bucket configuration
changes take a moment to reach every server.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from post3.backend import Backend, Unsupported

T = TypeVar("T")

#: bounded: a scan over many buckets cannot grow a cache without end
MAX_BUCKETS = 10_000


class DocumentCache(Generic[T]):
    """The parsed document ``name`` of each bucket, as this process last read it."""

    def __init__(self, name: str, parse: Callable[[bytes], T], seconds: float) -> None:
        self.name, self.parse, self.seconds = name, parse, seconds
        self._entries: weakref.WeakKeyDictionary[Backend, dict[str, tuple[float, T | None]]] \
            = weakref.WeakKeyDictionary()

    async def get(self, backend: Backend, bucket: str, *, fresh: bool = False) -> T | None:
        """The bucket's document (None: it has none); ``fresh`` reads storage whatever the
        cache holds."""
        entries = self._entries.setdefault(backend, {})
        now = time.monotonic()
        cached = entries.get(bucket)
        if cached is not None and cached[0] > now and not fresh:
            return cached[1]
        try:
            document = await backend.get_bucket_config(bucket, self.name)
        except Unsupported:
            document = None
        value = None if document is None else self.parse(document.encode())
        if len(entries) > MAX_BUCKETS:
            entries.clear()
        entries[bucket] = (now + self.seconds, value)
        return value

    def forget(self, backend: Backend, bucket: str) -> None:
        self._entries.get(backend, {}).pop(bucket, None)
