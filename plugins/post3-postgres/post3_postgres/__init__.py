"""post3-postgres: a post3 storage backend keeping every byte in PostgreSQL.

Registered through the ``post3`` entry-point group: ``post3 run --backend postgres`` serves from
the database in ``DATABASE_URL`` (or ``-o dsn=...``), and ``post3 postgres migrate|status``
manage its schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import post3

if TYPE_CHECKING:
    import click

    from post3.backend import Backend
    from post3.credentials import KeyStore
    from post3.registry import BackendRegistry

__version__ = "0.1.0.dev0"


@post3.hookimpl
def post3_register_backends(registry: BackendRegistry) -> None:
    from post3_postgres.backend import PostgresBackend

    registry.add(PostgresBackend)


@post3.hookimpl
def post3_key_store(backend: Backend) -> KeyStore | None:
    """The keys live in the ``api_keys`` table of the backend's database."""
    from post3_postgres.backend import PostgresBackend

    return backend.key_store if isinstance(backend, PostgresBackend) else None


@post3.hookimpl
def post3_register_commands(cli: click.Group) -> None:
    from post3_postgres.commands import postgres

    cli.add_command(postgres)


__all__ = ["__version__", "post3_key_store", "post3_register_backends", "post3_register_commands"]
