"""Conditional requests: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since.

Precedence follows RFC 9110 §13.2.2, which is also what S3 does: If-Match, else
If-Unmodified-Since (-> 412); then If-None-Match, else If-Modified-Since (-> 304 on reads).
"""

from __future__ import annotations

from collections.abc import Mapping

from post3 import errors
from post3.api.object_headers import parse_http_date, unquote_etag
from post3.backend import ObjectInfo


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match / If-None-Match list names ``etag`` (or is ``*``)."""
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or (candidate and unquote_etag(candidate) == etag):
            return True
    return False


def evaluate(
    info: ObjectInfo,
    if_match: str | None,
    if_none_match: str | None,
    if_modified_since: str | None,
    if_unmodified_since: str | None,
) -> bool:
    """True when the read should proceed; False for "304 Not Modified";
    raises PreconditionFailed for 412."""
    if if_match is not None:
        if not etag_matches(if_match, info.etag):
            raise errors.PreconditionFailed(Condition="If-Match")
    else:
        since = parse_http_date(if_unmodified_since)
        if since is not None and info.last_modified > since:
            raise errors.PreconditionFailed(Condition="If-Unmodified-Since")
    if if_none_match is not None:
        return not etag_matches(if_none_match, info.etag)
    since = parse_http_date(if_modified_since)
    return not (since is not None and info.last_modified <= since)


def evaluate_read(info: ObjectInfo, headers: Mapping[str, str]) -> bool:
    """GET/HEAD conditions from the request headers."""
    return evaluate(
        info,
        headers.get("If-Match"),
        headers.get("If-None-Match"),
        headers.get("If-Modified-Since"),
        headers.get("If-Unmodified-Since"),
    )


def copy_source_check(headers: Mapping[str, str]):  # type: ignore[no-untyped-def]
    """A ``source_check`` for ``Backend.copy_object`` from ``x-amz-copy-source-if-*``.

    For copies, a failed If-None-Match or If-Modified-Since is 412, not 304.
    """
    values = [headers.get(f"x-amz-copy-source-if-{name}") for name in
              ("match", "none-match", "modified-since", "unmodified-since")]

    def check(info: ObjectInfo) -> None:
        if not evaluate(info, *values):
            raise errors.PreconditionFailed(Condition="x-amz-copy-source-If-None-Match")

    return check
