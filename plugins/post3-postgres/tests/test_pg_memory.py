"""Freed heap memory goes back to the system once enough of it is free (glibc)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from post3_postgres import memory

pytestmark = pytest.mark.skipif(memory._LIBC is None, reason="needs glibc 2.33 or later")


def resident_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB$", status, re.MULTILINE)
    assert match is not None
    return int(match.group(1)) * 1024


def test_a_fragmented_heap_is_trimmed(monkeypatch) -> None:
    monkeypatch.setattr(memory, "TRIM_FROM", 0)  # this test process is far smaller
    trimmer = memory.Trimmer()
    assert trimmer.trim_if_worth_it()  # the first look always trims, to learn the floor
    assert not trimmer.trim_if_worth_it()
    # Heap-sized pieces (below glibc's mmap threshold), one in ten kept: the freed ones are
    # holes between live ones, which glibc would keep resident.
    pieces = [bytearray(b"x" * (100 * 1024)) for _ in range(600)]
    kept = pieces[::10]
    del pieces
    before = resident_bytes()
    assert trimmer.trim_if_worth_it()
    assert resident_bytes() < before - memory.TRIM_ABOVE // 2
    assert not trimmer.trim_if_worth_it()  # nothing much is free and resident any more
    assert all(piece[-1] == ord("x") for piece in kept)


def test_a_small_process_is_left_alone(monkeypatch) -> None:
    monkeypatch.setattr(memory, "TRIM_FROM", resident_bytes() + (1 << 30))
    assert not memory.Trimmer().trim_if_worth_it()
