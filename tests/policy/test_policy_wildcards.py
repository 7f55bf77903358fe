"""Wildcard patterns: ``*`` and ``?``, matched in time linear in the text."""

from __future__ import annotations

import time

import pytest

from post3.policy.wildcards import Pattern

ROWS = [
    ("*", "", True), ("*", "anything/at:all", True), ("?", "", False), ("?", "ü", True),
    ("a*", "a", True), ("a*", "ba", False), ("*a", "bba", True), ("a?c", "abc", True),
    ("a?c", "ac", False), ("a*b*c", "a-b-b-c", True), ("a*b*c", "a-c-b", False),
    ("home/*/x", "home/a/b/x", True),  # a star crosses "/"
    ("**", "x", True), ("*?*", "", False), ("*?*", "x", True), ("a", "A", False),
    ("", "", True), ("", "a", False), ("a.b", "axb", False), ("[ab]", "a", False),
    ("[ab]", "[ab]", True), ("x\\*", "x\\yz", True),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), ROWS)
def test_matches(pattern, text, expected):
    assert Pattern.parse(pattern).matches(text) is expected


def test_literal_text_is_never_a_wildcard():
    assert Pattern.literal("*").matches("*")
    assert not Pattern.literal("*").matches("x")
    assert (Pattern.parse("home/") + Pattern.literal("?") + Pattern.parse("/*")).matches("home/?/a")
    assert not (Pattern.parse("home/") + Pattern.literal("?")).matches("home/x")


@pytest.mark.parametrize(("pattern", "prefix", "expected"), [
    ("bucket/*", "bucket/", True), ("b*", "bucket/", True), ("bucket", "bucket/", False),
    ("bucket/a*", "bucket/", True), ("bucke?/x", "bucket/", True), ("other/*", "bucket/", False),
    ("*/x", "bucket/", True), ("bucket2/*", "bucket/", False),
])
def test_matches_something_starting(pattern, prefix, expected):
    assert Pattern.parse(pattern).matches_something_starting(prefix) is expected


def test_split_at_literal_separators_only():
    pieces = (Pattern.parse("arn:aws:") + Pattern.literal("a:b")).split(":", 5)
    assert [str(p) for p in pieces] == ["arn", "aws", "a", "b"]
    assert [str(p) for p in Pattern.parse("a:b:c").split(":", 1)] == ["a", "b:c"]


@pytest.mark.timeout(60)
def test_no_backtracking_blow_up():
    # With a backtracking regular expression this is 2000**20 steps; here 41 x 2000.
    pattern = Pattern.parse("a*" * 20 + "b")
    started = time.monotonic()
    assert not pattern.matches("a" * 2000)
    assert time.monotonic() - started < 10
