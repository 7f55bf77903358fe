"""What every group of conformance tests shares: the fixtures and the optional-feature guard."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import pytest_asyncio

from post3 import errors
from post3.backend import Backend, Unsupported

BUCKET = "conformance"
OTHER_BUCKET = "conformance-other"


class ConformanceBase:
    @pytest.fixture
    def backend(self) -> Backend:
        pytest.fail(
            "the conformance suite needs a fixture named 'backend' in the test class: an opened "
            "Backend on fresh, empty storage, closed afterwards"
        )

    @pytest_asyncio.fixture
    async def bucket(self, backend: Backend) -> str:
        """An empty bucket."""
        await backend.create_bucket(BUCKET)
        return BUCKET


@contextlib.contextmanager
def optional(feature: str) -> Iterator[None]:
    """Skip (not fail) a test of a feature the backend does not support: its method raised
    :class:`~post3.backend.Unsupported` (the capability tests check that it does so exactly
    when the backend does not declare the capability)."""
    try:
        yield
    except (Unsupported, errors.NotImplemented):
        pytest.skip(f"{feature} is not implemented by this backend")
