"""Reading an object: block batches fetched with short queries, read ahead within a budget.

The stream knows only the version id it opened. Versions are immutable, so a concurrent
overwrite or delete cannot tear it; a replaced version is kept ("retired") until the clean-up
removes it, and while the stream still has blocks to fetch it holds a lease on the version
(:class:`Leases`), which its process renews on a timer, however slowly the client reads. So a
retired version's space is held while a reader has it open, as an unlinked file's is on a
filesystem, and comes back ``retired_grace`` after the last reader finished or its process
died. Each batch borrows a pooled connection for one query only, so a slow client never pins
a connection. Every fetched byte not yet handed to the client counts against one budget per
process (:class:`ReadBudget`): a download alone reads two batches ahead, many downloads share
the budget, so memory does not grow with the number of concurrent downloads.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator

from post3 import errors
from post3.backend import ObjectInfo, ObjectStream
from post3_postgres.database import Database

BLOCK_SIZE = 1 << 20
#: Bytes per query: four blocks.
BATCH_SIZE = 4 * BLOCK_SIZE
#: Batches fetched at once while the one before them is sent, each on its own pooled
#: connection. With two, one PostgreSQL backend reads and detoasts a batch while another's is
#: received, where with one ahead the stream waited on the fetch three quarters of the time.
#: A 64 MiB GET measured about 1.2x faster (two loaded cores, same-run comparisons, noisy);
#: batches of two blocks were slower, their queries costing more than the overlap gained,
#: and three ahead gained little more for a third more memory and connections. Memory per
#: download: three batches, 12 MiB, when the budget has room for them.
BATCHES_AHEAD = 2
#: Default of the ``read_ahead_mib`` option: room for one download's three batches and a few
#: more. 64 concurrent 8 MiB ranged GETs (boto3's download_file) peaked at 290 MB of server
#: memory with no budget, each fetching its batches as soon as a pooled connection was free.
READ_BUDGET = 16 * BLOCK_SIZE

log = logging.getLogger(__name__)


class Leases:
    """The versions this process's streams are reading, renewed together by one statement.

    A renewal sets a retired version's ``touched_at`` to now; the clean-up deletes retired
    versions untouched for ``retired_grace`` seconds. Renewing every quarter of the grace
    leaves room for three renewals in a row to be late or fail (a busy event loop, a pool
    with no free connection, a database failing over) before a reader loses its version;
    the cost is one statement per period per process, whatever the number of readers.
    """

    def __init__(self, database: Database, grace: float) -> None:
        self._database = database
        self.period = max(grace / 4, 0.1)
        self._held: collections.Counter[int] = collections.Counter()

    def hold(self, version_id: int) -> None:
        self._held[version_id] += 1

    def release(self, version_id: int) -> None:
        self._held[version_id] -= 1
        if self._held[version_id] <= 0:
            del self._held[version_id]

    async def renew(self) -> None:
        if self._held:
            await self._database.execute("renew_leases", list(self._held))

    async def renew_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                await self.renew()
            except Exception:
                log.warning("renewing read leases failed; will retry", exc_info=True)


class ReadBudget:
    """Bytes fetched from the database and not yet handed to a client, shared by the streams.

    A stream takes a batch's size before fetching it and gives it back once the batch was
    handed on. The batch a stream needs to go on waits its turn (first come, first
    served); a batch read ahead is only fetched when the budget has room right now and nobody
    waits, so read-ahead never delays another download's next bytes. A stream waiting for its
    turn holds none of the budget (it gave back every batch it handed on, and has nothing in
    flight), so the budget always comes back: from the clients reading, or from the database
    answering.
    """

    def __init__(self, limit: int) -> None:
        if limit < BATCH_SIZE:
            raise ValueError(f"the read budget must hold at least one batch ({BATCH_SIZE} bytes)")
        self.limit = limit
        #: bytes taken and not given back
        self.taken = 0
        self._waiters: collections.deque[tuple[int, asyncio.Future[None]]] = collections.deque()

    def try_take(self, size: int) -> bool:
        if self._waiters or self.taken + size > self.limit:
            return False
        self.taken += size
        return True

    async def take(self, size: int) -> None:
        if self.try_take(size):
            return
        waiter = asyncio.get_running_loop().create_future()
        entry = (size, waiter)
        self._waiters.append(entry)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.give(size)  # granted, then cancelled before the stream could use it
            elif entry in self._waiters:
                self._waiters.remove(entry)
                self._grant()  # a smaller request behind it may fit now
            raise

    def give(self, size: int) -> None:
        self.taken -= size
        self._grant()

    def _grant(self) -> None:
        while self._waiters and self.taken + self._waiters[0][0] <= self.limit:
            size, waiter = self._waiters.popleft()
            if not waiter.done():
                self.taken += size
                waiter.set_result(None)


class PostgresObjectStream(ObjectStream):
    def __init__(
        self, database: Database, leases: Leases, budget: ReadBudget, version_id: int,
        info: ObjectInfo, start: int, stop: int,
    ) -> None:
        self.info, self.start, self.stop = info, start, stop
        self._database = database
        self._leases = leases
        self._budget = budget
        #: bytes of the budget this stream holds: batches in flight, fetched, or being sent
        self._taken = 0
        self._version_id = version_id
        #: the batches being fetched, in order, and where the next one starts
        self._ahead: collections.deque[asyncio.Task[list[bytes]]] = collections.deque()
        self._fetched = start
        self._leased = False

    def _hold(self) -> None:
        if not self._leased:
            self._leases.hold(self._version_id)
            self._leased = True

    def _release(self) -> None:
        if self._leased:
            self._leases.release(self._version_id)
            self._leased = False

    async def _batch(self, start: int, stop: int) -> list[bytes]:
        rows = await self._database.fetch("read_blocks", self._version_id, start, stop)
        expected = start
        for row in rows:
            if row["position"] > expected:
                break
            expected = max(expected, row["position"]) + len(row["data"])
        if expected != stop:
            # The clean-up removed a version nobody renewed for its whole grace period.
            raise errors.InternalError("The object's data is no longer available.")
        return [row["data"] for row in rows]

    def _batch_end(self, start: int) -> int:
        # Batches end on multiples of BATCH_SIZE, so after a ranged start they stay aligned.
        return min((start // BATCH_SIZE + 1) * BATCH_SIZE, self.stop)

    def _start_batch(self) -> None:
        end = self._batch_end(self._fetched)
        self._ahead.append(asyncio.ensure_future(self._batch(self._fetched, end)))
        self._fetched = end

    def _fetch_ahead(self) -> None:
        while self._fetched < self.stop and len(self._ahead) < BATCHES_AHEAD:
            size = self._batch_end(self._fetched) - self._fetched
            if not self._budget.try_take(size):
                return
            self._taken += size
            self._start_batch()

    async def _fetch_next(self) -> None:
        """The next batch, when none is in flight: waits for its turn in the budget."""
        size = self._batch_end(self._fetched) - self._fetched
        await self._budget.take(size)
        self._taken += size
        self._start_batch()

    def _give_back(self, size: int) -> None:
        size = min(size, self._taken)
        self._taken -= size
        self._budget.give(size)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.start >= self.stop:
            return
        self._hold()
        try:
            while self._fetched < self.stop or self._ahead:
                if not self._ahead:
                    await self._fetch_next()
                self._fetch_ahead()
                blocks = await self._ahead[0]
                self._ahead.popleft()
                self._fetch_ahead()
                if self._fetched >= self.stop and not self._ahead:
                    self._release()  # every byte is fetched: the version is no longer needed
                # The batch is freed, and given back, whole once sent: freeing each block as it
                # went measured 1.3x the server CPU per MiB of a lone 64 MiB GET (glibc giving
                # the top of its heap back and faulting it in again for the next batch).
                for block in blocks:
                    yield block
                self._give_back(sum(map(len, blocks)))
                # Nothing of the batch may outlive its share of the budget: the loop variable
                # held its last block while the next batch waited its turn, 1 MiB per waiting
                # download beyond the budget (64 MiB more with 64 ranged GETs waiting).
                del blocks, block
        finally:
            # Also when the iteration is abandoned without aclose(): a failed fetch, a
            # generator collected after its client went away.
            self._stop()

    def _stop(self) -> None:
        """Cancel the fetches in flight; give back the version's lease and the budget."""
        self._release()
        for task in self._ahead:
            task.cancel()
        if self._taken:
            self._give_back(self._taken)

    async def aclose(self) -> None:
        self._stop()
        for task in self._ahead:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._ahead.clear()
