"""post3-filesystem: the storage backend that keeps objects as files under a data directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import post3
from post3_filesystem.backend import FilesystemBackend
from post3_filesystem.keys import FilesystemKeyStore

if TYPE_CHECKING:
    from post3.backend import Backend
    from post3.credentials import KeyStore
    from post3.registry import BackendRegistry

__all__ = ["FilesystemBackend", "FilesystemKeyStore", "post3_key_store", "post3_register_backends"]


@post3.hookimpl
def post3_register_backends(registry: BackendRegistry) -> None:
    registry.add(FilesystemBackend)


@post3.hookimpl
def post3_key_store(backend: Backend) -> KeyStore | None:
    """The keys live in ``<root>/.post3/access-keys.json``, beside the buckets."""
    return backend.key_store if isinstance(backend, FilesystemBackend) else None
