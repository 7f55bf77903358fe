"""Backend options: what a backend declares, and how ``-o key=value`` strings become values."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class BackendError(Exception):
    """A backend cannot start: bad options, storage unreachable or not writable.

    The CLI prints the message as one line and exits non-zero.
    """


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


@dataclass(frozen=True, slots=True)
class Option:
    """A backend option, given as ``-o name=value`` or ``POST3_<BACKEND>_<NAME>``."""

    name: str
    help: str
    default: Any = None
    parse: Callable[[str], Any] = str
    required: bool = False
    #: An extra environment variable that sets this option (``DATABASE_URL`` for a DSN);
    #: ``POST3_<BACKEND>_<NAME>`` and ``-o`` both win over it.
    env: str | None = None

    @staticmethod
    def boolean(name: str, help: str, default: bool) -> Option:
        return Option(name, help, default, _parse_bool)

    @staticmethod
    def integer(name: str, help: str, default: int | None) -> Option:
        return Option(name, help, default, int)

    @staticmethod
    def number(name: str, help: str, default: float | None) -> Option:
        return Option(name, help, default, float)


def parse_options(
    declared: Sequence[Option], given: Mapping[str, str], backend: str
) -> dict[str, Any]:
    """Validate ``given`` against ``declared``; raise BackendError naming the culprit."""
    by_name = {o.name: o for o in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise BackendError(
            f"unknown option {unknown[0]!r} for backend {backend!r} (its options: {known})"
        )
    values: dict[str, Any] = {}
    for option in declared:
        if option.name in given:
            try:
                values[option.name] = option.parse(given[option.name])
            except ValueError as exc:
                raise BackendError(
                    f"option {option.name!r} of backend {backend!r}: {exc}"
                ) from None
        elif option.required:
            raise BackendError(f"backend {backend!r} needs option {option.name!r}")
        else:
            values[option.name] = option.default
    return values
