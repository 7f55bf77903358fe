"""Access keys kept beside the backend's data, by the key store its plugin provides through the
``post3_key_store`` hook (optional: without one, only the root key exists)."""

from __future__ import annotations

import pytest
import pytest_asyncio

from post3.backend import Backend
from post3.credentials import KeyStore, key_store_for, new_access_key
from post3.testing.base import ConformanceBase


class AccessKeyTests(ConformanceBase):
    @pytest_asyncio.fixture
    async def key_store(self, backend: Backend) -> KeyStore:
        """The key store the installed plugins provide for the backend under test."""
        store = key_store_for(backend)
        if store is None:
            pytest.skip("no key store for this backend")
        assert key_store_for(backend) is store, "post3_key_store must answer the same store"
        return store

    @pytest.mark.asyncio
    async def test_access_keys_round_trip(self, backend: Backend, key_store: KeyStore) -> None:
        admin = new_access_key("ops", admin=True)
        reader = new_access_key("reader", grants={"photos": "read", "logs": "owner"})
        assert await key_store.get_access_key(admin.access_key_id) is None
        await key_store.put_access_key(admin)
        await key_store.put_access_key(reader)
        assert await key_store.get_access_key(admin.access_key_id) == admin
        stored = await key_store.get_access_key(reader.access_key_id)
        assert stored == reader
        assert stored.secret_access_key == reader.secret_access_key
        assert [k.access_key_id for k in await key_store.list_access_keys()] == sorted(
            [admin.access_key_id, reader.access_key_id])

    @pytest.mark.asyncio
    async def test_access_key_grants_change_and_keys_delete(
        self, backend: Backend, key_store: KeyStore
    ) -> None:
        key = new_access_key("writer", grants={"a-bucket": "read"})
        await key_store.put_access_key(key)
        await key_store.put_access_key(
            key.with_grant("a-bucket", "write").with_grant("b2", "owner"))
        changed = await key_store.get_access_key(key.access_key_id)
        assert changed is not None
        assert changed.grants == {"a-bucket": "write", "b2": "owner"}
        assert await key_store.delete_access_key(key.access_key_id) is True
        assert await key_store.delete_access_key(key.access_key_id) is False
        assert await key_store.get_access_key(key.access_key_id) is None
        assert await backend.list_buckets() == []
