"""Data shared by the real-client compatibility tests: keys that break naive servers, and bytes
that differ at every offset. The live server (``post3_server``, ``endpoint_url``) and fresh
bucket names come from the top-level conftest."""

from __future__ import annotations

import hashlib

import pytest

#: Keys each client must store, list and read back unchanged (S3-WIRE.md §1.2.6).
SPECIAL_KEYS = [
    "a b+c=d&e~f!g'h(i)*j,k;l:m@n$o[p]%41#?é ü<x>.txt",
    "日本語/ファイル 😀.txt",
    "a+b",
    "%41",
]

MiB = 1024 * 1024


def pattern_bytes(size: int, seed: str = "compat") -> bytes:
    """``size`` bytes that differ at every offset, so a shifted range cannot pass for another."""
    block = b"".join(hashlib.sha256(f"{seed}-{i}".encode()).digest() for i in range(2048))
    repeats, rest = divmod(size, len(block))
    return block * repeats + block[:rest]


@pytest.fixture
def make_bytes():
    return pattern_bytes


@pytest.fixture
def special_keys() -> list[str]:
    return list(SPECIAL_KEYS)
