"""post3-filesystem: the storage backend that keeps objects as files under a data directory."""

import post3
from post3_filesystem.backend import FilesystemBackend

__all__ = ["FilesystemBackend", "post3_register_backends"]


@post3.hookimpl
def post3_register_backends(registry):
    registry.add(FilesystemBackend)
