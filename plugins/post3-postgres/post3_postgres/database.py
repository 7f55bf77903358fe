"""The connection pool, and the one place where database errors become S3 errors.

Every statement goes through :class:`Database` by name; any connection-level failure (refused,
reset, administrator shutdown, too many connections, timeout) is raised to the core as
``ServiceUnavailable`` (503), so a client retries. The asyncpg pool replaces broken connections
on its own, so post3 serves again as soon as PostgreSQL does, without a restart.

A value PostgreSQL refuses to store (SQLSTATE class 22, e.g. U+0000 in ``text``) is the
request's fault: ``InvalidArgument`` (400). A transaction PostgreSQL rolled back to break a
deadlock or a serialization conflict can simply be retried: ``ServiceUnavailable``. Anything
else is a bug, which the core logs with the request id and answers ``InternalError``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import asyncpg

from post3 import errors
from post3_postgres.queries import load_queries

log = logging.getLogger(__name__)

#: Failures of the connection or the server, as opposed to failures of a statement.
_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    # What asyncpg raises when a server-side termination (pg_terminate_backend, a restart)
    # reached an idle connection before the next statement did.
    asyncpg.exceptions.InternalClientError,
)


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, _UNAVAILABLE):
        return True
    # asyncpg reports a connection closed under it as an InterfaceError too.
    return isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc)


@contextlib.contextmanager
def unavailable_on_disconnect() -> Iterator[None]:
    try:
        yield
    except errors.S3Error:
        raise
    except Exception as exc:
        if is_unavailable(exc):
            raise errors.ServiceUnavailable(
                "The storage database is unavailable; please retry."
            ) from exc
        if isinstance(exc, asyncpg.DataError):
            log.info("the database refused a value of the request: %s", exc)
            raise errors.InvalidArgument(
                "The request holds a value that cannot be stored."
            ) from exc
        if isinstance(exc, asyncpg.exceptions.TransactionRollbackError):
            raise errors.ServiceUnavailable(
                "The request conflicted with a concurrent one; please retry."
            ) from exc
        raise


class Connection:
    """One connection (inside a transaction, usually), speaking in named statements."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.raw = connection
        self._queries = load_queries()

    async def fetch(self, name: str, *args: Any) -> list[asyncpg.Record]:
        with unavailable_on_disconnect():
            rows: list[asyncpg.Record] = await self.raw.fetch(self._queries[name], *args)
            return rows

    async def fetchrow(self, name: str, *args: Any) -> asyncpg.Record | None:
        with unavailable_on_disconnect():
            return await self.raw.fetchrow(self._queries[name], *args)

    async def fetchval(self, name: str, *args: Any) -> Any:
        with unavailable_on_disconnect():
            return await self.raw.fetchval(self._queries[name], *args)

    async def execute(self, name: str, *args: Any) -> str:
        with unavailable_on_disconnect():
            status: str = await self.raw.execute(self._queries[name], *args)
            return status


class Database:
    """The pool; each call borrows a connection for one statement or one transaction."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._queries = load_queries()

    async def fetch(self, name: str, *args: Any) -> list[asyncpg.Record]:
        with unavailable_on_disconnect():
            rows: list[asyncpg.Record] = await self.pool.fetch(self._queries[name], *args)
            return rows

    async def fetchrow(self, name: str, *args: Any) -> asyncpg.Record | None:
        with unavailable_on_disconnect():
            return await self.pool.fetchrow(self._queries[name], *args)

    async def fetchval(self, name: str, *args: Any) -> Any:
        with unavailable_on_disconnect():
            return await self.pool.fetchval(self._queries[name], *args)

    async def execute(self, name: str, *args: Any) -> str:
        with unavailable_on_disconnect():
            status: str = await self.pool.execute(self._queries[name], *args)
            return status

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        with unavailable_on_disconnect():
            async with self.pool.acquire() as raw, raw.transaction():
                yield Connection(raw)


class BackendPart:
    """A part of ``PostgresBackend`` kept in a module of its own (its object, multipart and
    job-lock operations): what such a part uses of the backend, which provides it."""

    if TYPE_CHECKING:
        @property
        def _db(self) -> Database: ...

        async def _bucket_id(self, bucket: str,
                             db: Database | Connection | None = None) -> int: ...
