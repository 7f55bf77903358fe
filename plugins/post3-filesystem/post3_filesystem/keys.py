"""Access keys in one JSON file, ``<root>/.post3/access-keys.json``.

Readable by the server's user only (mode 0600): it holds secrets, which SigV4 needs as they are.
Every change rewrites the file whole (temporary file, fsync, rename) under an exclusive lock,
so ``post3 keys`` and running servers sharing the root never see half a file or lose a change.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from post3.credentials import AccessKey, KeyStore
from post3_filesystem import files

FILE_MODE = 0o600


def _to_json(key: AccessKey) -> dict[str, Any]:
    return {"secret": key.secret_access_key, "name": key.name, "admin": key.admin,
            "grants": dict(key.grants), "created": key.created.isoformat(), "user": key.user}


def _from_json(key_id: str, data: dict[str, Any]) -> AccessKey:
    return AccessKey(key_id, data["secret"], data.get("name", ""), bool(data.get("admin")),
                     dict(data.get("grants", {})), dt.datetime.fromisoformat(data["created"]),
                     data.get("user", ""))


class KeyFile:
    def __init__(self, state_dir: str, tmp_dir: str, lock_dir: str, fsync: bool) -> None:
        self.path = os.path.join(state_dir, "access-keys.json")
        self._tmp = tmp_dir
        self._lock = os.path.join(lock_dir, "access-keys")
        self._fsync = fsync

    def _read(self) -> dict[str, AccessKey]:
        try:
            with open(self.path, "rb") as f:
                data = json.load(f)
        except FileNotFoundError:
            return {}
        return {key_id: _from_json(key_id, value) for key_id, value in data.items()}

    def _write(self, keys: dict[str, AccessKey]) -> None:
        tmp = files.TempFile.create(self._tmp, "keys")
        try:
            os.fchmod(tmp.fd, FILE_MODE)
            body = {key_id: _to_json(key) for key_id, key in sorted(keys.items())}
            files.write_all(tmp.fd, json.dumps(body, indent=1).encode())
            if self._fsync:
                os.fsync(tmp.fd)
            os.replace(tmp.live_path, self.path)
            tmp.replaced()
            if self._fsync:
                files.fsync_dir(os.path.dirname(self.path))
        finally:
            tmp.discard()

    def get(self, key_id: str) -> AccessKey | None:
        with files.flocked(self._lock, fcntl.LOCK_SH):
            return self._read().get(key_id)

    def all(self) -> list[AccessKey]:
        with files.flocked(self._lock, fcntl.LOCK_SH):
            keys = self._read()
        return [keys[key_id] for key_id in sorted(keys)]

    def put(self, key: AccessKey) -> None:
        with files.flocked(self._lock, fcntl.LOCK_EX):
            keys = self._read()
            keys[key.access_key_id] = key
            self._write(keys)

    def delete(self, key_id: str) -> bool:
        with files.flocked(self._lock, fcntl.LOCK_EX):
            keys = self._read()
            if keys.pop(key_id, None) is None:
                return False
            self._write(keys)
            return True



class FilesystemKeyStore(KeyStore):
    """The key file as a post3 key store: its blocking calls run off the event loop, on the
    backend's executor (``run``)."""

    def __init__(self, key_file: KeyFile,
                 run: Callable[..., Awaitable[Any]]) -> None:
        self._file = key_file
        self._run = run

    async def get_access_key(self, access_key_id: str) -> AccessKey | None:
        key: AccessKey | None = await self._run(self._file.get, access_key_id)
        return key

    async def put_access_key(self, key: AccessKey) -> None:
        await self._run(self._file.put, key)

    async def list_access_keys(self) -> list[AccessKey]:
        keys: list[AccessKey] = await self._run(self._file.all)
        return keys

    async def delete_access_key(self, access_key_id: str) -> bool:
        deleted: bool = await self._run(self._file.delete, access_key_id)
        return deleted
