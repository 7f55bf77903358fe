"""Access-key management for the console's admin pages: every call in one small module.

Keys have no S3 operation, so these calls go to the key store as ``post3 keys`` does (the
:class:`~post3.credentials.KeyStore` the installed plugins provide for the backend, with
:func:`post3.credentials.new_access_key` and :func:`~post3.credentials.parse_grant`). The pages
call them only for an admin session (``post3.console.views`` checks ``key.admin``).
"""

from __future__ import annotations

from aiohttp import web

from post3 import keys
from post3.credentials import AccessKey, KeyStore, key_store_for, new_access_key, parse_grant


class KeysUnavailable(Exception):
    """The backend stores no keys (only the root key from the settings exists)."""


def _store(app: web.Application) -> KeyStore:
    store = key_store_for(app[keys.BACKEND], app[keys.PLUGIN_MANAGER])
    if store is None:
        raise KeysUnavailable()
    return store


async def list_keys(app: web.Application) -> list[AccessKey]:
    return sorted(await _store(app).list_access_keys(), key=lambda k: k.access_key_id)


async def create_key(app: web.Application, name: str, admin: bool,
                     grants: list[str]) -> AccessKey:
    """A new key (its secret is in the result, to be shown once). ``grants``: BUCKET:PERM."""
    key = new_access_key(name, admin, dict(parse_grant(text) for text in grants))
    await _store(app).put_access_key(key)
    return key


async def set_grant(app: web.Application, key_id: str, bucket: str,
                    permission: str | None) -> AccessKey | None:
    """Grant ``permission`` on ``bucket`` (None removes the grant); None if no such key."""
    store = _store(app)
    key = await store.get_access_key(key_id)
    if key is None:
        return None
    if permission is not None:
        parse_grant(f"{bucket}:{permission}")  # ValueError for a bad permission
    key = key.with_grant(bucket, permission)
    await store.put_access_key(key)
    return key


async def delete_key(app: web.Application, key_id: str) -> bool:
    return bool(await _store(app).delete_access_key(key_id))
