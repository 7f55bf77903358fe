"""Policy variables: ``${aws:username}`` in a Resource or a String/Arn condition value, filled in
from the request's context when the request is evaluated.

Only policies of Version ``2012-10-17`` have variables; in older ones ``${...}`` is plain text.
``${*}``, ``${?}`` and ``${$}`` stand for a literal ``*``, ``?`` and ``$``.
``${key, 'default'}`` uses ``default`` when the request has no single value for ``key``.
A variable the request cannot fill makes the template unresolvable, and the statement using it
does not apply (IAM: "any attempt to match it fails and causes the statement to be invalid").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from post3.policy.context import normalize_key
from post3.policy.wildcards import Part, Pattern

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_WITH_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True)
class Variable:
    key: str  # normalized condition key
    default: str | None


@dataclass(frozen=True)
class Literal:
    """Text that came from an escape such as ``${*}``: never a wildcard."""

    text: str


# Policy text (its ``*`` and ``?`` are wildcards where the operator has them), or a variable.
Piece = str | Literal | Variable


@dataclass(frozen=True)
class Template:
    pieces: tuple[Piece, ...]
    text: str  # as written in the policy

    @classmethod
    def parse(cls, text: str, *, variables: bool) -> Template:
        if not variables:
            return cls((text,), text)
        pieces: list[Piece] = []
        at = 0
        for found in _VARIABLE.finditer(text):
            if found.start() > at:
                pieces.append(text[at:found.start()])
            pieces.append(_variable(found.group(1)))
            at = found.end()
        if at < len(text):
            pieces.append(text[at:])
        return cls(tuple(pieces), text)

    @cached_property
    def has_variables(self) -> bool:
        return any(isinstance(p, Variable) for p in self.pieces)

    @cached_property
    def _without_variables(self) -> Pattern | None:
        # Most templates have no variable: their pattern is made once, not on every request.
        return None if self.has_variables else self._fill({})

    def pattern(self, context: Mapping[str, tuple[str, ...]]) -> Pattern | None:
        """The wildcard pattern with the variables filled in as literal text; None when the
        context lacks one of them."""
        fixed = self._without_variables
        return fixed if fixed is not None else self._fill(context)

    def _fill(self, context: Mapping[str, tuple[str, ...]]) -> Pattern | None:
        parts: list[Part] = []
        for piece in self.pieces:
            if isinstance(piece, str):
                parts.extend(Pattern.parse(piece).parts)
                continue
            value = piece.text if isinstance(piece, Literal) else _value(piece, context)
            if value is None:
                return None
            parts.extend(value)  # literal characters, never wildcards
        return Pattern(tuple(parts))

    def string(self, context: Mapping[str, tuple[str, ...]]) -> str | None:
        """The text with the variables filled in (for operators without wildcards)."""
        out = []
        for piece in self.pieces:
            value = (piece if isinstance(piece, str)
                     else piece.text if isinstance(piece, Literal) else _value(piece, context))
            if value is None:
                return None
            out.append(value)
        return "".join(out)


def _variable(inside: str) -> Literal | Variable:
    if inside in _ESCAPES:
        return Literal(_ESCAPES[inside])
    with_default = _WITH_DEFAULT.match(inside)
    if with_default:
        return Variable(normalize_key(with_default.group(1)), with_default.group(2))
    return Variable(normalize_key(inside.strip()), None)


def _value(variable: Variable, context: Mapping[str, tuple[str, ...]]) -> str | None:
    values = context.get(variable.key, ())
    # A variable stands for one value; a multivalued key cannot fill it.
    return values[0] if len(values) == 1 else variable.default
