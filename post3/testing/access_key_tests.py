"""Access keys kept by the backend (optional: a backend without them only has the root key)."""

from __future__ import annotations

import pytest

from post3.backend import Backend
from post3.credentials import new_access_key
from post3.testing.base import ConformanceBase, optional


class AccessKeyTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_access_keys_round_trip(self, backend: Backend) -> None:
        admin = new_access_key("ops", admin=True)
        reader = new_access_key("reader", grants={"photos": "read", "logs": "owner"})
        with optional("access key storage"):
            assert await backend.get_access_key(admin.access_key_id) is None
        await backend.put_access_key(admin)
        await backend.put_access_key(reader)
        assert await backend.get_access_key(admin.access_key_id) == admin
        stored = await backend.get_access_key(reader.access_key_id)
        assert stored == reader
        assert stored.secret_access_key == reader.secret_access_key
        assert [k.access_key_id for k in await backend.list_access_keys()] == sorted(
            [admin.access_key_id, reader.access_key_id])

    @pytest.mark.asyncio
    async def test_access_key_grants_change_and_keys_delete(self, backend: Backend) -> None:
        key = new_access_key("writer", grants={"a-bucket": "read"})
        with optional("access key storage"):
            await backend.put_access_key(key)
        await backend.put_access_key(key.with_grant("a-bucket", "write").with_grant("b2", "owner"))
        changed = await backend.get_access_key(key.access_key_id)
        assert changed is not None
        assert changed.grants == {"a-bucket": "write", "b2": "owner"}
        assert await backend.delete_access_key(key.access_key_id) is True
        assert await backend.delete_access_key(key.access_key_id) is False
        assert await backend.get_access_key(key.access_key_id) is None
        assert await backend.list_buckets() == []
