"""``post3 postgres check``: find (and with ``--repair`` remove) storage nothing can reach.

Two kinds: *orphaned versions*, live versions no object or multipart part points at (a bug
leaked them; the clean-up never collects a live version), and *unreferenced blocks*, blocks
whose version row is gone (only possible when the foreign key was bypassed). Both hold bytes
no request can read. The check reads whole tables: run it off-peak on a large database.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from post3_postgres.queries import load_queries


@dataclass(frozen=True, slots=True)
class Findings:
    orphaned_versions: int = 0
    orphaned_blocks: int = 0
    orphaned_bytes: int = 0
    unreferenced_blocks: int = 0
    unreferenced_bytes: int = 0

    @property
    def clean(self) -> bool:
        return not (self.orphaned_versions or self.unreferenced_blocks)

    def lines(self) -> list[str]:
        return [
            f"orphaned versions: {self.orphaned_versions} "
            f"({self.orphaned_blocks} blocks, {self.orphaned_bytes} bytes)",
            f"unreferenced blocks: {self.unreferenced_blocks} ({self.unreferenced_bytes} bytes)",
        ]


async def find(connection: asyncpg.Connection) -> Findings:
    queries = load_queries()
    versions = await connection.fetchrow(queries["find_orphaned_versions"])
    blocks = await connection.fetchrow(queries["find_unreferenced_blocks"])
    return Findings(
        orphaned_versions=versions["versions"],
        orphaned_blocks=versions["blocks"],
        orphaned_bytes=versions["bytes"],
        unreferenced_blocks=blocks["blocks"],
        unreferenced_bytes=blocks["bytes"],
    )


async def repair(connection: asyncpg.Connection) -> tuple[int, int]:
    """Remove what :func:`find` reports; ``(versions, blocks)`` removed, in one transaction."""
    queries = load_queries()
    async with connection.transaction():
        versions = await connection.execute(queries["remove_orphaned_versions"])
        blocks = await connection.execute(queries["remove_unreferenced_blocks"])
    return int(versions.split()[-1]), int(blocks.split()[-1])
