"""Testing tools for post3 backends: the conformance suite and the helpers it is built from.

A plugin's test module::

    import pytest
    from post3.testing import BackendConformance

    class TestMine(BackendConformance):
        @pytest.fixture
        async def backend(self, tmp_path):
            backend = MyBackend(root=tmp_path)
            await backend.open()
            yield backend
            await backend.close()
"""

import pytest

# Plain asserts in the suite should explain their failures as they do in a test module.
pytest.register_assert_rewrite(
    "post3.testing.base",
    "post3.testing.bucket_tests",
    "post3.testing.object_tests",
    "post3.testing.key_tests",
    "post3.testing.write_tests",
    "post3.testing.multipart_tests",
    "post3.testing.uniformity_tests",
    "post3.testing.access_key_tests",
)

from post3.testing.conformance import BackendConformance  # noqa: E402
from post3.testing.helpers import (  # noqa: E402
    MiB,
    Range,
    attrs,
    chunks_of,
    failing_payload,
    multipart_object_info,
    pattern,
    payload,
    put_bytes,
    read_object,
    read_stream,
    stored_pairs,
)

__all__ = [
    "BackendConformance",
    "MiB",
    "Range",
    "attrs",
    "chunks_of",
    "failing_payload",
    "multipart_object_info",
    "pattern",
    "payload",
    "put_bytes",
    "read_object",
    "read_stream",
    "stored_pairs",
]
