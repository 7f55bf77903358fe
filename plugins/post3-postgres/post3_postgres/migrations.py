"""Numbered, forward-only schema migrations shipped inside the package.

``migrations/NNNN_name.sql`` files are applied in order, each in its own transaction, and
recorded in ``schema_migrations`` with the SHA-256 of their text. Applying runs under a
PostgreSQL advisory lock, so two post3 processes starting at once cannot both apply one.
post3 refuses to start on a schema it does not know: a recorded migration whose text changed
since, a migration the database has and this code does not (the database is newer), or,
unless ``auto_migrate`` is on, migrations still pending.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.resources
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from post3.backend import BackendError

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")

#: Key of the advisory lock held while migrating ("post3mig" in ASCII).
ADVISORY_LOCK_KEY = 0x706F737433_6D6967

_LEDGER_SQL = "schema_migrations.sql"
_APPLIED_SQL = (
    "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
)
_RECORD_SQL = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"
_LOCK_SQL = "SELECT pg_advisory_lock($1)"
_UNLOCK_SQL = "SELECT pg_advisory_unlock($1)"
_LEDGER_EXISTS_SQL = "SELECT to_regclass('schema_migrations') IS NOT NULL"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    known: Sequence[Migration]
    applied: Sequence[AppliedMigration]
    pending: Sequence[Migration] = field(default_factory=tuple)
    #: Reasons to refuse to start, one line each.
    problems: Sequence[str] = field(default_factory=tuple)

    @property
    def up_to_date(self) -> bool:
        return not self.pending and not self.problems


def load_migrations() -> list[Migration]:
    """The migrations in this package, by version; a gap or a duplicate is a packaging bug."""
    folder = importlib.resources.files(__package__).joinpath("migrations")
    migrations = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            migrations.append(
                Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8"))
            )
    migrations.sort(key=lambda m: m.version)
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration {expected:04d} is missing before {migration.label}")
    return migrations


def compare(known: Sequence[Migration], applied: Sequence[AppliedMigration]) -> MigrationStatus:
    by_version = {m.version: m for m in known}
    problems = []
    for record in applied:
        migration = by_version.get(record.version)
        if migration is None:
            problems.append(
                f"the database was written by a newer post3-postgres: it has migration "
                f"{record.version:04d}_{record.name}, which this release does not know; "
                f"upgrade post3-postgres to the release that migrated it (migrations are "
                f"forward-only: an older release cannot serve a newer schema)"
            )
        elif migration.checksum != record.checksum:
            problems.append(
                f"migration {migration.label} was edited after it was applied (checksum "
                f"{record.checksum[:12]} in the database, {migration.checksum[:12]} in the code); "
                f"migrations are forward-only: restore it and add a new one"
            )
    done = {record.version for record in applied}
    pending = tuple(m for m in known if m.version not in done)
    return MigrationStatus(tuple(known), tuple(applied), pending, tuple(problems))


async def read_status(connection: asyncpg.Connection) -> MigrationStatus:
    applied: list[AppliedMigration] = []
    if await connection.fetchval(_LEDGER_EXISTS_SQL):
        applied = [
            AppliedMigration(row["version"], row["name"], row["checksum"], row["applied_at"])
            for row in await connection.fetch(_APPLIED_SQL)
        ]
    return compare(load_migrations(), applied)


def _ledger_sql() -> str:
    return importlib.resources.files(__package__).joinpath(_LEDGER_SQL).read_text("utf-8")


async def migrate(connection: asyncpg.Connection, until: int | None = None
                  ) -> list[Migration]:
    """Apply the pending migrations (up to version ``until``, for tests that build the
    schema of an earlier release) under the advisory lock; return those applied.

    A second process waits for the lock, then finds nothing left to do.
    """
    await connection.execute(_LOCK_SQL, ADVISORY_LOCK_KEY)
    try:
        await connection.execute(_ledger_sql())
        status = await read_status(connection)
        if status.problems:
            raise BackendError(status.problems[0])
        pending = [m for m in status.pending if until is None or m.version <= until]
        for migration in pending:
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    _RECORD_SQL, migration.version, migration.name, migration.checksum
                )
        return pending
    finally:
        await connection.execute(_UNLOCK_SQL, ADVISORY_LOCK_KEY)


async def ensure_schema(connection: asyncpg.Connection, *, auto_migrate: bool) -> None:
    """Refuse to serve a schema this code does not know; migrate first when allowed."""
    status = await read_status(connection)
    if status.problems:
        raise BackendError(status.problems[0])
    if not status.pending:
        return
    if auto_migrate:
        await migrate(connection)
        return
    names = ", ".join(m.label for m in status.pending)
    raise BackendError(
        f"the database needs {len(status.pending)} migration(s) ({names}): run "
        f"'post3 postgres migrate', or start with -o auto_migrate=true"
    )
