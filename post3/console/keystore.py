"""Access-key management for the console's admin pages: every call in one small module.

Keys have no S3 operation, so these calls go to the key store as ``post3 keys`` does (the
backend's ``list_access_keys`` / ``put_access_key`` / ``delete_access_key``, with
:func:`post3.credentials.new_access_key` and :func:`~post3.credentials.parse_grant`). The pages
call them only for an admin session (``post3.console.views`` checks ``key.admin``).
"""

from __future__ import annotations

from aiohttp import web

from post3 import errors, keys
from post3.credentials import AccessKey, new_access_key, parse_grant


class KeysUnavailable(Exception):
    """The backend stores no keys (only the root key from the settings exists)."""


def _backend(app: web.Application):  # type: ignore[no-untyped-def]
    return app[keys.BACKEND]


async def list_keys(app: web.Application) -> list[AccessKey]:
    try:
        return sorted(await _backend(app).list_access_keys(), key=lambda k: k.access_key_id)
    except errors.NotImplemented:
        raise KeysUnavailable() from None


async def create_key(app: web.Application, name: str, admin: bool,
                     grants: list[str]) -> AccessKey:
    """A new key (its secret is in the result, to be shown once). ``grants``: BUCKET:PERM."""
    key = new_access_key(name, admin, dict(parse_grant(text) for text in grants))
    try:
        await _backend(app).put_access_key(key)
    except errors.NotImplemented:
        raise KeysUnavailable() from None
    return key


async def set_grant(app: web.Application, key_id: str, bucket: str,
                    permission: str | None) -> AccessKey | None:
    """Grant ``permission`` on ``bucket`` (None removes the grant); None if no such key."""
    backend = _backend(app)
    key = await backend.get_access_key(key_id)
    if key is None:
        return None
    if permission is not None:
        parse_grant(f"{bucket}:{permission}")  # ValueError for a bad permission
    key = key.with_grant(bucket, permission)
    await backend.put_access_key(key)
    return key


async def delete_key(app: web.Application, key_id: str) -> bool:
    return bool(await _backend(app).delete_access_key(key_id))
