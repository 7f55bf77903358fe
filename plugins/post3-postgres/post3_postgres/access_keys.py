"""Access keys in the ``api_keys`` table (migrations 0002, 0005)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from post3.credentials import AccessKey, KeyStore
from post3_postgres.database import Database


def _key(row: Any) -> AccessKey:
    return AccessKey(row["access_key_id"], row["secret"], row["name"], row["admin"],
                     json.loads(row["grants"]), row["created"], row["user_name"])


async def get(db: Database, access_key_id: str) -> AccessKey | None:
    row = await db.fetchrow("get_access_key", access_key_id)
    return None if row is None else _key(row)


async def list_all(db: Database) -> list[AccessKey]:
    return [_key(row) for row in await db.fetch("list_access_keys")]


async def put(db: Database, key: AccessKey) -> None:
    await db.execute("put_access_key", key.access_key_id, key.secret_access_key, key.name,
                     key.admin, json.dumps(dict(key.grants)), key.created, key.user)


async def delete(db: Database, access_key_id: str) -> bool:
    return await db.execute("delete_access_key", access_key_id) == "DELETE 1"


class PostgresKeyStore(KeyStore):
    """The ``api_keys`` table as a post3 key store, through the backend's pool (``db``: the
    backend's opened Database, looked up at each call)."""

    def __init__(self, db: Callable[[], Database]) -> None:
        self._db = db

    async def get_access_key(self, access_key_id: str) -> AccessKey | None:
        return await get(self._db(), access_key_id)

    async def put_access_key(self, key: AccessKey) -> None:
        await put(self._db(), key)

    async def list_access_keys(self) -> list[AccessKey]:
        return await list_all(self._db())

    async def delete_access_key(self, access_key_id: str) -> bool:
        return await delete(self._db(), access_key_id)
