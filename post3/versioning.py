"""Version ids: made by the core, so every backend's look alike.

A version id is 32 lower-case hex digits: 16 of ``2**64 - 1 - time_ns`` (so that, compared as
strings, a key's newer versions sort first, which is the order S3 lists them in), then 16 of
randomness (so that two hosts writing in the same nanosecond still differ). It is opaque to
clients, URL-safe, and doubles as the version's *sequence* (:class:`post3.backend.NewVersion`),
the order backends keep a key's versions in. Ordering across hosts is as good as their clocks
(keep them in sync, as with any time-ordered id); within a process it is strictly monotonic.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time

from post3 import errors
from post3.objects import NULL_VERSION, NewVersion

_NEWEST = (1 << 64) - 1
VERSION_ID = re.compile(r"^[0-9a-f]{32}$")

_lock = threading.Lock()
_last = 0


def _now_ns() -> int:
    """The clock, strictly increasing within this process (two writes of one key in the same
    nanosecond still get ordered ids)."""
    global _last
    with _lock:
        _last = max(time.time_ns(), _last + 1)
        return _last


def sequence_at(time_ns: int, randomness: str | None = None) -> str:
    """The sequence of a version written at ``time_ns``."""
    return f"{_NEWEST - time_ns:016x}{randomness or secrets.token_hex(8)}"


def new_version() -> NewVersion:
    """The identity of a new write or delete marker."""
    sequence = sequence_at(_now_ns())
    return NewVersion(sequence, sequence)


def legacy_sequence(last_modified: dt.datetime, salt: str = "") -> str:
    """A sequence for a version written before versions had one (data of an earlier release):
    placed at its LastModified, so every later write sorts newer. ``salt`` makes it stable:
    the same record gets the same sequence each time it is read."""
    seconds = int(last_modified.timestamp())
    tail = (salt.encode().hex() + "0" * 16)[:16]
    return sequence_at(seconds * 1_000_000_000, tail)


def check_version_id(value: str | None, argument: str = "versionId") -> str | None:
    """``value`` if it can name a version (``null`` or an id of :func:`new_version`); S3's
    ``InvalidArgument`` otherwise. None (no version asked for) passes."""
    if value is None or value == NULL_VERSION or VERSION_ID.match(value):
        return value
    raise errors.InvalidArgument("Invalid version id specified", ArgumentName=argument,
                                 ArgumentValue=value)


def stored_version(version: NewVersion | None, versioning: str | None) -> NewVersion:
    """What a backend stores a write as: ``version`` (a new one when None) as a bucket with
    ``versioning`` status keeps it."""
    return (version or new_version()).in_bucket(versioning)


__all__ = ["VERSION_ID", "check_version_id", "legacy_sequence", "new_version", "sequence_at",
           "stored_version"]
