"""Wildcard patterns: ``*`` and ``?``, matched in time linear in the text."""

from __future__ import annotations

import time

import pytest

from post3.policy import context
from post3.policy.variables import Template
from post3.policy.wildcards import Pattern

ROWS = [
    ("*", "", True), ("*", "anything/at:all", True), ("?", "", False), ("?", "ü", True),
    ("a*", "a", True), ("a*", "ba", False), ("*a", "bba", True), ("a?c", "abc", True),
    ("a?c", "ac", False), ("a*b*c", "a-b-b-c", True), ("a*b*c", "a-c-b", False),
    ("home/*/x", "home/a/b/x", True),  # a star crosses "/"
    ("**", "x", True), ("*?*", "", False), ("*?*", "x", True), ("a", "A", False),
    ("", "", True), ("", "a", False), ("a.b", "axb", False), ("[ab]", "a", False),
    ("[ab]", "[ab]", True), ("x\\*", "x\\yz", True),
    # runs with "?" between stars, looked for leftmost
    ("*a?c*", "xxabcxx", True), ("*a?c*", "xxacxx", False), ("*a?c*", "abc", True),
    ("*?b?*", "ab", False), ("*?b?*", "abc", True), ("x*a?a*y", "xaaay", True),
    ("x*a?a*y", "xaay", False), ("*aa?b*", "aaaab", True), ("*?a*a?*", "bab", False),
    ("*?a*a?*", "baab", True), ("a*?*b", "ab", False), ("a*?*b", "acb", True),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), ROWS)
def test_matches(pattern, text, expected):
    assert Pattern.parse(pattern).matches(text) is expected


def filled(text, **values):
    return Template.parse(text, variables=True).pattern(context(values))


def test_substituted_text_is_never_a_wildcard():
    assert filled("home/${aws:username}/*", **{"aws:username": "?"}).matches("home/?/a")
    assert not filled("home/${aws:username}/*", **{"aws:username": "?"}).matches("home/x/a")
    assert not filled("${aws:username}", **{"aws:username": "*"}).matches("x")
    assert filled("${*}", **{}).matches("*") and not filled("${*}").matches("x")


@pytest.mark.parametrize(("pattern", "prefix", "expected"), [
    ("bucket/*", "bucket/", True), ("b*", "bucket/", True), ("bucket", "bucket/", False),
    ("bucket/a*", "bucket/", True), ("bucke?/x", "bucket/", True), ("other/*", "bucket/", False),
    ("*/x", "bucket/", True), ("bucket2/*", "bucket/", False),
])
def test_matches_something_starting(pattern, prefix, expected):
    assert Pattern.parse(pattern).matches_something_starting(prefix) is expected


def test_split_at_literal_separators():
    pieces = filled("arn:aws:${aws:username}", **{"aws:username": "a:b"}).split(":", 5)
    assert [str(p) for p in pieces] == ["arn", "aws", "a", "b"]
    assert [str(p) for p in Pattern.parse("a:b:c").split(":", 1)] == ["a", "b:c"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("pattern", "text"), [
    ("a*" * 20 + "b", "a" * 2000),  # a backtracking regular expression: 2000**20 steps
    ("*a" * 5000, "a" * 1024),  # trying every position of every run: 10 ** 7 steps
    ("*" + "a" * 2000 + "?b*", "a" * 8000),  # a run checked at every place: 1.2 * 10 ** 7
    ("*" + "a?" * 2000 + "b*", "a" * 8000),
])
def test_no_pattern_is_slow(pattern, text):
    started = time.monotonic()
    assert not Pattern.parse(pattern).matches(text)
    assert time.monotonic() - started < 1  # milliseconds here, seconds with the naive ways
