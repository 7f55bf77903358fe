"""Access keys in the ``api_keys`` table (migration 0002)."""

from __future__ import annotations

import json
from typing import Any

from post3.credentials import AccessKey
from post3_postgres.database import Database


def _key(row: Any) -> AccessKey:
    return AccessKey(row["access_key_id"], row["secret"], row["name"], row["admin"],
                     json.loads(row["grants"]), row["created"])


async def get(db: Database, access_key_id: str) -> AccessKey | None:
    row = await db.fetchrow("get_access_key", access_key_id)
    return None if row is None else _key(row)


async def list_all(db: Database) -> list[AccessKey]:
    return [_key(row) for row in await db.fetch("list_access_keys")]


async def put(db: Database, key: AccessKey) -> None:
    await db.execute("put_access_key", key.access_key_id, key.secret_access_key, key.name,
                     key.admin, json.dumps(dict(key.grants)), key.created)


async def delete(db: Database, access_key_id: str) -> bool:
    return await db.execute("delete_access_key", access_key_id) == "DELETE 1"
