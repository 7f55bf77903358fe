"""BackendRegistry: the set of storage backends that plugins registered."""

from __future__ import annotations

from post3.backend import Backend, BackendError


class BackendRegistry:
    def __init__(self) -> None:
        self._backends: dict[str, type[Backend]] = {}

    def add(self, backend: type[Backend]) -> None:
        if not (isinstance(backend, type) and issubclass(backend, Backend)):
            raise TypeError(f"{backend!r} is not a post3.backend.Backend subclass")
        name = getattr(backend, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{backend.__qualname__} must set a non-empty class attribute 'name'")
        existing = self._backends.get(name)
        if existing is not None and existing is not backend:
            raise BackendError(
                f"two plugins register a backend named {name!r}: "
                f"{existing.__module__}.{existing.__qualname__} and "
                f"{backend.__module__}.{backend.__qualname__}"
            )
        self._backends[name] = backend

    def get(self, name: str) -> type[Backend]:
        try:
            return self._backends[name]
        except KeyError:
            installed = ", ".join(self.names()) or "none"
            raise BackendError(f"unknown backend {name!r} (installed: {installed})") from None

    def names(self) -> list[str]:
        return sorted(self._backends)

    def __contains__(self, name: object) -> bool:
        return name in self._backends
