"""pytest fixtures for testing against a real PostgreSQL, for this plugin and for the core.

Import the fixtures into a ``conftest.py`` (``from post3_postgres.testing import *``) or load
the module with ``-p post3_postgres.testing``. The server is ``POST3_TEST_DATABASE_URL``
(default ``postgresql://postgres@127.0.0.1:5432/postgres``, a role allowed to create
databases); each session gets a fresh database, dropped at the end. Without a reachable server
the tests that need one skip, saying why, unless ``POST3_REQUIRE_POSTGRES=1`` (CI), which makes
them fail instead.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import asyncpg
import pytest
import pytest_asyncio

from post3_postgres.backend import PostgresBackend
from post3_postgres.migrations import migrate

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

#: Empties every table but the migration ledger (everything hangs off buckets).
_EMPTY_SQL = "TRUNCATE buckets CASCADE"


def server_dsn() -> str:
    return (
        os.environ.get("POST3_TEST_DATABASE_URL")
        or DEFAULT_DSN
    )


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at another database on the same server."""
    base, _, rest = dsn.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{database}" + (f"?{rest}" if rest else "")


async def _admin(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def create_database(admin_dsn: str, *, migrated: bool) -> tuple[str, str]:
    """A new empty database: ``(name, dsn)``; migrated to the current schema if asked."""
    name = f"post3_test_{uuid.uuid4().hex[:16]}"
    # The name is generated here from hex digits: nothing to quote.
    await _admin(admin_dsn, f'CREATE DATABASE "{name}"')
    dsn = with_database(admin_dsn, name)
    if migrated:
        connection = await asyncpg.connect(dsn)
        try:
            await migrate(connection)
        finally:
            await connection.close()
    return name, dsn


async def drop_database(admin_dsn: str, name: str) -> None:
    await _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The server's admin DSN, once it answered; skips (or fails in CI) when it does not."""
    dsn = server_dsn()
    try:
        asyncio.run(_admin(dsn, "SELECT 1"))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = f"PostgreSQL at {dsn} is unreachable ({' '.join(str(exc).split())})"
        if os.environ.get("POST3_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}, and POST3_REQUIRE_POSTGRES=1")
        pytest.skip(f"{reason}; set POST3_TEST_DATABASE_URL to test against PostgreSQL")
    return dsn


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A migrated database for the whole session (its DSN); dropped at the end."""
    name, dsn = asyncio.run(create_database(postgres_server, migrated=True))
    yield dsn
    asyncio.run(drop_database(postgres_server, name))


@pytest_asyncio.fixture
async def empty_postgres_database(postgres_database: str) -> str:
    """The session database, emptied of buckets and objects."""
    await _admin(postgres_database, _EMPTY_SQL)
    return postgres_database


@pytest_asyncio.fixture
async def postgres_backend(empty_postgres_database: str) -> AsyncIterator[PostgresBackend]:
    """An opened PostgresBackend on empty storage, closed afterwards."""
    backend = PostgresBackend(empty_postgres_database, min_pool_size=1, max_pool_size=8)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()


@pytest_asyncio.fixture
async def new_postgres_database(
    postgres_server: str,
) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """A factory of fresh databases (``await new(migrated=False)`` -> DSN), all dropped after."""
    names: list[str] = []

    async def new(*, migrated: bool = False) -> str:
        name, dsn = await create_database(postgres_server, migrated=migrated)
        names.append(name)
        return dsn

    yield new
    for name in names:
        await drop_database(postgres_server, name)


class TcpProxy:
    """A TCP relay to PostgreSQL that a test can cut and restore, as a network outage would.

    ``await proxy.start()`` listens on an ephemeral port of 127.0.0.1 (the same port again
    after :meth:`stop`); :meth:`stop` closes the listener and every relayed connection.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @classmethod
    def to(cls, dsn: str) -> TcpProxy:
        import urllib.parse

        parts = urllib.parse.urlsplit(dsn)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432)

    def dsn_through(self, dsn: str) -> str:
        """``dsn`` with its host and port replaced by the proxy's."""
        import urllib.parse

        parts = urllib.parse.urlsplit(dsn)
        user = f"{parts.username}@" if parts.username else ""
        netloc = f"{user}127.0.0.1:{self.port}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _relay(self, client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update((client_writer, server_writer))

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(1 << 16):
                    writer.write(data)
                    await writer.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                writer.transport.abort()
                self._writers.discard(writer)

        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


__all__ = [
    "TcpProxy",
    "empty_postgres_database",
    "new_postgres_database",
    "postgres_backend",
    "postgres_database",
    "postgres_server",
]
