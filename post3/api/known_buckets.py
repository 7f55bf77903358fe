"""Buckets this process saw exist lately: what an upload's ``Expect: 100-continue`` asks.

Before it invites an upload's body, the server checks that the bucket exists, so that an
upload to a missing bucket is refused before its body is sent. Asking the backend on every
PUT costs a query (PostgreSQL) or a trip to the thread pool (filesystem) per upload, for an
answer that rarely changes; so each process remembers, for :data:`SECONDS`, the buckets the
backend said exist. Nothing depends on it for correctness: a bucket deleted meanwhile through
another worker or host gets its body sent, and the write answers ``NoSuchBucket`` as it
always does (a backend checks the bucket when it commits). A bucket deleted through this
process is forgotten at once.
"""

from __future__ import annotations

import time
import weakref

from post3.backend import Backend

SECONDS = 5.0
#: bounded: a client naming many buckets cannot grow it without end
MAX_BUCKETS = 10_000

_seen: weakref.WeakKeyDictionary[Backend, dict[str, float]] = weakref.WeakKeyDictionary()


async def check_bucket(backend: Backend, bucket: str) -> None:
    """``NoSuchBucket`` unless the bucket exists (or was seen to, within :data:`SECONDS`)."""
    seen = _seen.setdefault(backend, {})
    now = time.monotonic()
    until = seen.get(bucket)
    if until is not None and until > now:
        return
    await backend.head_bucket(bucket)
    if len(seen) >= MAX_BUCKETS:
        seen.clear()
    seen[bucket] = now + SECONDS


def forget(backend: Backend, bucket: str) -> None:
    _seen.get(backend, {}).pop(bucket, None)
