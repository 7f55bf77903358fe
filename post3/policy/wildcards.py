"""Wildcard patterns as the policy language writes them: ``*`` is any run of characters
(``/`` and ``:`` included), ``?`` is exactly one character, everything else is literal.

A pattern is matched by tracking every position it could be at (a small NFA), never by a regular
expression: a bucket's owner writes the policy, and a pattern such as ``a*a*a*a*a*b`` must not
cost exponential backtracking against a long key on every request. The cost here is at most
len(pattern) x len(text).

A Pattern is a tuple of parts, not a string, so that text substituted for a policy variable
(``${aws:username}``) stays literal: a user named ``*`` must not become a wildcard.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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

    @classmethod
    def literal(cls, text: str) -> Pattern:
        return cls(tuple(text))

    def __add__(self, other: Pattern) -> Pattern:
        return Pattern(self.parts + other.parts)

    @property
    def has_wildcards(self) -> bool:
        return any(isinstance(p, Wildcard) for p in self.parts)

    def lower(self) -> Pattern:
        """The same pattern with its literal characters lower-cased (for case-blind matching)."""
        return Pattern(tuple(p.lower() if isinstance(p, str) else p for p in self.parts))

    def matches(self, text: str) -> bool:
        return len(self.parts) in self._positions_after(text)

    def matches_something_starting(self, prefix: str) -> bool:
        """Whether some string that begins with ``prefix`` matches: any position still alive
        after ``prefix`` can be completed (literals by themselves, wildcards by anything)."""
        return bool(self._positions_after(prefix))

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

    def _positions_after(self, text: str) -> set[int]:
        positions = self._closure({0})
        for char in text:
            if not positions:
                break
            positions = self._closure(set(self._step(positions, char)))
        return positions

    def _step(self, positions: Iterable[int], char: str) -> Iterable[int]:
        for i in positions:
            if i == len(self.parts):
                continue
            part = self.parts[i]
            if part is STAR:
                yield i  # the star eats the character and may go on eating
            elif part is ONE or part == char:
                yield i + 1

    def _closure(self, positions: set[int]) -> set[int]:
        # A star may also match nothing: being before it is being after it.
        todo = list(positions)
        while todo:
            i = todo.pop()
            if i < len(self.parts) and self.parts[i] is STAR and i + 1 not in positions:
                positions.add(i + 1)
                todo.append(i + 1)
        return positions


def _wildcard_or_char(char: str) -> Part:
    return STAR if char == "*" else ONE if char == "?" else char
