"""Wildcard patterns as the policy language writes them: ``*`` is any run of characters
(``/`` and ``:`` included), ``?`` is exactly one character, everything else is literal.

Matching never uses a regular expression: a bucket's owner writes the policy, and a pattern
such as ``a*a*a*a*a*b`` must not cost exponential backtracking against a long key on every
request. Between two stars a pattern is a run of fixed length; each run is looked for at its
leftmost place after the previous one (which is always the best place for it), in one pass over
the text that follows: the whole match reads the text about once, whatever the pattern.

A Pattern is a tuple of parts, not a string, so that text substituted for a policy variable
(``${aws:username}``) stays literal: a user named ``*`` must not become a wildcard.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


class Wildcard:
    """``*`` or ``?``: compared by identity, so no literal character can be mistaken for one."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    def __repr__(self) -> str:
        return self.symbol


STAR = Wildcard("*")
ONE = Wildcard("?")

# One literal character, or a wildcard.
Part = str | Wildcard


@dataclass(frozen=True)
class Pattern:
    parts: tuple[Part, ...]

    @classmethod
    def parse(cls, text: str) -> Pattern:
        """``*`` and ``?`` in ``text`` are wildcards; every other character is literal."""
        return cls(tuple(_wildcard_or_char(c) for c in text))

    def matches(self, text: str) -> bool:
        runs = self.runs
        if len(runs) == 1:
            return len(text) == len(runs[0]) and _run_at(runs[0], text, 0)
        first, *middle, last = runs
        start, end = len(first), len(text) - len(last)
        if end < start or not (_run_at(first, text, 0) and _run_at(last, text, end)):
            return False
        for run in middle:
            found = _find(run, text, start, end)
            if found < 0:
                return False
            start = found + len(run)
        return True

    def matches_something_starting(self, prefix: str) -> bool:
        """Whether some string that begins with ``prefix`` matches. Up to the first star the
        pattern must fit ``prefix``; the star can then take the rest of it, and whatever follows
        the star can be met by what is added after ``prefix``."""
        first = self.runs[0]
        if len(self.runs) == 1 and len(prefix) > len(first):
            return False  # no star, and the pattern is shorter than the prefix
        return _run_at(first[:len(prefix)], prefix, 0)

    def split(self, separator: str, maxsplit: int) -> list[Pattern]:
        """Split at literal ``separator`` characters, like ``str.split`` (for ARN components)."""
        pieces: list[list[Part]] = [[]]
        for part in self.parts:
            if part == separator and len(pieces) <= maxsplit:
                pieces.append([])
            else:
                pieces[-1].append(part)
        return [Pattern(tuple(piece)) for piece in pieces]

    def __str__(self) -> str:
        return "".join(p if isinstance(p, str) else p.symbol for p in self.parts)

    @cached_property
    def runs(self) -> list[tuple[Part, ...]]:
        """The parts between stars: ``a?*b**c`` is ``[(a, ?), (b,), (), (c,)]``."""
        runs: list[list[Part]] = [[]]
        for part in self.parts:
            if part is STAR:
                runs.append([])
            else:
                runs[-1].append(part)
        return [tuple(run) for run in runs]


def _run_at(run: tuple[Part, ...], text: str, at: int) -> bool:
    return len(text) - at >= len(run) and all(
        part is ONE or part == text[at + i] for i, part in enumerate(run))


def _find(run: tuple[Part, ...], text: str, start: int, end: int) -> int:
    """The leftmost place of ``run`` within ``text[start:end]``, or -1."""
    if ONE not in run:
        return text.find("".join(str(p) for p in run), start, end)
    # Shift-And: bit i of ``state`` is set when run[:i + 1] matches the text just read. One
    # pass over the text whatever the run, so no pattern can make a search slow.
    wild = sum(1 << i for i, part in enumerate(run) if part is ONE)
    masks: dict[str, int] = {}
    for i, part in enumerate(run):
        if isinstance(part, str):
            masks[part] = masks.get(part, wild) | 1 << i
    complete = 1 << (len(run) - 1)
    state = 0
    for at in range(start, end):
        state = (state << 1 | 1) & masks.get(text[at], wild)
        if state & complete:
            return at - len(run) + 1
    return -1


def _wildcard_or_char(char: str) -> Part:
    return STAR if char == "*" else ONE if char == "?" else char
