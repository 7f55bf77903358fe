"""``post3 postgres check``: find (and with ``--repair`` remove) storage nothing can reach,
and listings out of step with the versions they index.

Three kinds: *orphaned versions*, live versions no version of a key and no multipart part
points at (a bug leaked them; the clean-up never collects a live version), *unreferenced
blocks*, blocks whose version row is gone (only possible when the foreign key was bypassed),
both holding bytes no request can read; and *stale listings*, keys whose ``objects`` row (what
ListObjects reads) is not their latest version. Repairing a stale listing rebuilds the row
from the key's versions under the key's lock, as a commit would, before the orphans are
removed (a version only a stale row pointed at is an orphan once the row is fixed). The check
reads whole tables: run it off-peak on a large database.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from post3_postgres.commits import lock_key
from post3_postgres.database import Connection
from post3_postgres.queries import load_queries


@dataclass(frozen=True, slots=True)
class Findings:
    orphaned_versions: int = 0
    orphaned_blocks: int = 0
    orphaned_bytes: int = 0
    unreferenced_blocks: int = 0
    unreferenced_bytes: int = 0
    stale_listings: int = 0

    @property
    def clean(self) -> bool:
        return not (self.orphaned_versions or self.unreferenced_blocks or self.stale_listings)

    def lines(self) -> list[str]:
        return [
            f"orphaned versions: {self.orphaned_versions} "
            f"({self.orphaned_blocks} blocks, {self.orphaned_bytes} bytes)",
            f"unreferenced blocks: {self.unreferenced_blocks} ({self.unreferenced_bytes} bytes)",
            f"stale listings: {self.stale_listings} key(s)",
        ]


async def find(connection: asyncpg.Connection) -> Findings:
    queries = load_queries()
    versions = await connection.fetchrow(queries["find_orphaned_versions"])
    blocks = await connection.fetchrow(queries["find_unreferenced_blocks"])
    stale = await connection.fetch(queries["find_stale_listings"])
    return Findings(
        orphaned_versions=versions["versions"],
        orphaned_blocks=versions["blocks"],
        orphaned_bytes=versions["bytes"],
        unreferenced_blocks=blocks["blocks"],
        unreferenced_bytes=blocks["bytes"],
        stale_listings=len(stale),
    )


async def repair(connection: asyncpg.Connection) -> tuple[int, int, int]:
    """Repair what :func:`find` reports, in one transaction: ``(versions, blocks, listings)``
    removed or rebuilt."""
    queries = load_queries()
    tx = Connection(connection)
    async with connection.transaction():
        stale = await connection.fetch(queries["find_stale_listings"])
        for row in stale:
            bucket_id, _ = await lock_key(tx, row["bucket"], row["key"])
            await tx.execute("refresh_listing", bucket_id, row["key"])
        versions = await connection.execute(queries["remove_orphaned_versions"])
        blocks = await connection.execute(queries["remove_unreferenced_blocks"])
    return int(versions.split()[-1]), int(blocks.split()[-1]), len(stale)
