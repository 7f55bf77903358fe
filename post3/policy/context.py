"""What a request brings to a policy: who asks, for which action on which resource, and the
values of the condition keys (``aws:SourceIp``, ``s3:prefix``, ``s3:ExistingObjectTag/env``...).

Every context value is a tuple of strings, as in IAM's request context: a single-valued key has
one, a multivalued key (``s3:RequestObjectTagKeys``) several; an absent key is simply missing.
``context()`` turns Python values into that shape, so callers never format booleans or times.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


def normalize_key(key: str) -> str:
    """Condition key names are case-insensitive (``AWS:SourceIP`` is ``aws:SourceIp``); the part
    after ``/`` names a tag, and tag keys are case-sensitive in S3, so it is kept as written."""
    name, slash, tag = key.partition("/")
    return name.lower() + slash + tag


@dataclass(frozen=True)
class Requester:
    """Who sends the request. ``canonical_id`` is matched by ``{"CanonicalUser": ...}``;
    ``arns`` by ``{"AWS": ...}`` (a policy's 12-digit account id is read as that account's
    ``arn:aws:iam::ID:root``, so a requester who acts for an account lists that ARN too).
    The anonymous requester has neither; only ``"*"`` and NotPrincipal statements reach it."""

    canonical_id: str | None = None
    arns: frozenset[str] = frozenset()

    @property
    def anonymous(self) -> bool:
        return self.canonical_id is None and not self.arns


ANONYMOUS = Requester()

ContextValue = str | bool | int | dt.datetime | Iterable[str] | None


@dataclass(frozen=True)
class Request:
    requester: Requester
    action: str  # "s3:GetObject"
    resource: str  # "arn:aws:s3:::bucket" or "arn:aws:s3:::bucket/key"
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def resource_arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


def context(values: Mapping[str, ContextValue]) -> dict[str, tuple[str, ...]]:
    """The request context from Python values: ``True`` -> ``"true"``, an aware datetime -> ISO
    8601 in UTC, an int -> its digits, an iterable of strings -> a multivalued key; ``None``
    leaves the key out (absent, which ``Null`` and ``...IfExists`` tell from empty)."""
    out: dict[str, tuple[str, ...]] = {}
    for key, value in values.items():
        if value is None:
            continue
        out[normalize_key(key)] = _strings(value)
    return out


def _strings(value: ContextValue) -> tuple[str, ...]:
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, int):
        return (str(value),)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("a context time must be timezone-aware")
        return (value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),)
    if isinstance(value, str):
        return (value,)
    assert value is not None
    return tuple(value)
