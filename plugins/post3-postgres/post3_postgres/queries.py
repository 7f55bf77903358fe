"""The named statements of ``queries.sql``, loaded once from the installed package."""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Mapping

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def parse_named_queries(text: str) -> dict[str, str]:
    """``-- name: X`` headers split ``text`` into statements; comments stay with them."""
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries


@functools.cache
def load_queries() -> Mapping[str, str]:
    text = importlib.resources.files(__package__).joinpath("queries.sql").read_text("utf-8")
    return parse_named_queries(text)
