"""Shared by the policy tests: build requests in one line."""

from __future__ import annotations

import json
from typing import Any

from post3.policy import ANONYMOUS, Request, Requester, context, resource_arn

BUCKET = "amzn-s3-demo-bucket"


def user(arn: str, canonical_id: str | None = None) -> Requester:
    return Requester(canonical_id or f"canonical-{arn.rsplit('/', 1)[-1]}", frozenset({arn}))


def request(action: str, key: str | None = None, who: Requester = ANONYMOUS,
            bucket: str = BUCKET, **values: Any) -> Request:
    """``values`` are condition keys with ``__`` for ``:`` (``aws__SourceIp``); keys with other
    punctuation go in ``ctx={...}``."""
    ctx = dict(values.pop("ctx", {}))
    ctx.update({k.replace("__", ":"): v for k, v in values.items()})
    return Request(who, action, resource_arn(bucket, key), context(ctx))


def document(*statements: dict[str, Any], version: str = "2012-10-17") -> str:
    return json.dumps({"Version": version, "Statement": list(statements)})
