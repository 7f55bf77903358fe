"""What this machine allows, below any server: the ceilings issue 18's targets are held to.

    python benchmarks/ceilings.py [--seconds 3] [--rounds 3] [--dsn DSN] [--root DIR]

Each figure is work every S3 server on this machine must do for the workload, done with as
little code as Python allows, so a post3 figure can be read against what no server could beat
here (the null HTTP server of ``matrix.py`` is the ceiling of the HTTP part):

- ``md5``: MD5 over 1 MiB buffers, in one thread and in two at once. Every PUT's ETag is the
  MD5 of its bytes, and one object's MD5 cannot be split, so one upload can never go faster
  than one thread hashes; several uploads at once, no faster than two threads.
- ``durable write``: what the filesystem backend must do at the least to commit an object
  so that it survives ``kill -9`` and power loss: create a temporary file, write, ``fsync``,
  rename it into place, ``fsync`` the directory. 4 KiB objects with 16 threads at once (one
  per client of the 4 KiB PUT cell) and with 6 (the backend's thread pool on 2 cores, so at
  most 6 of its PUTs wait in fsync together); 16 threads again with the directory's fsyncs
  shared by the threads waiting for one (:class:`SharedDirSync`, group commit in Python, to
  see whether the journal's own batching leaves anything to gain); 1 MiB objects with 4
  threads (the 1 MiB PUT cell's clients).
- ``raw asyncpg``: 16 connections inserting a 4 KiB row each in its own transaction (the
  commit waits for the WAL flush) and selecting one by key; one connection inserting and
  selecting 64 MiB as 1 MiB ``bytea`` rows (``benchmarks/postgres_vs_asyncpg.py`` compares
  post3 with the same inserts).

Each cell is the median of ``--rounds``; ``cpu`` is this process's CPU time over the cell's
wall time (shares of one core). Results: a Markdown table on stdout and
``benchmarks/results/ceilings.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_servers import HERE  # isort: skip  # noqa: E402
from matrix import machine  # isort: skip  # noqa: E402

MIB = 1 << 20
SMALL = 4096


def timed(work: Callable[[], int]) -> dict:
    """``work`` returns how many units it did; the rate, and the CPU this process spent."""
    cpu, wall = time.process_time(), time.perf_counter()
    units = work()
    wall = time.perf_counter() - wall
    return {"rate": units / wall, "cpu": (time.process_time() - cpu) / wall}


def in_threads(count: int, seconds: float, step: Callable[[int], int]) -> int:
    """``count`` threads each calling ``step(thread)`` until ``seconds`` pass; units done."""
    deadline = time.perf_counter() + seconds
    done = [0] * count

    def run(n: int) -> None:
        while time.perf_counter() < deadline:
            done[n] += step(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done)


def md5(threads: int, seconds: float) -> dict:
    block = os.urandom(MIB)
    hashers = [hashlib.md5(usedforsecurity=False) for _ in range(threads)]

    def step(n: int) -> int:
        hashers[n].update(block)
        return MIB

    measured = timed(lambda: in_threads(threads, seconds, step))
    measured["rate"] /= 1e6  # MB/s
    return measured


class SharedDirSync:
    """fsyncs of one directory shared by the threads that want one at the same time. A
    rename is durable once an fsync of its directory that *began after it* has returned, so
    a caller that finds one under way waits for the next round, which begins when that one
    ends and covers every caller waiting by then (rounds are numbered; ``finished`` is the
    last round that returned)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.changed = threading.Condition()
        self.started = self.finished = 0
        self.running = False

    def sync(self) -> None:
        with self.changed:
            wanted = self.started + 1  # the first round to begin after our rename
            while self.finished < wanted:
                if self.running:
                    self.changed.wait()
                    continue
                self.running = True
                self.started += 1
                self.changed.release()
                try:
                    os.fsync(self.fd)
                finally:
                    self.changed.acquire()
                    self.finished, self.running = self.started, False
                    self.changed.notify_all()


def durable_writes(root: Path, seconds: float, threads: int, size: int,
                   shared: bool = False) -> dict:
    """Objects of ``size`` bytes made durable one by one in each of ``threads`` threads;
    objects/s (MB/s for 1 MiB and more). ``shared``: the directory's fsyncs shared."""
    body = os.urandom(size + 300)  # the object and a record header's worth
    final = root / "objects"
    tmp = root / "tmp"
    final.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    directory = os.open(final, os.O_RDONLY)
    sync = SharedDirSync(directory).sync if shared else lambda: os.fsync(directory)
    counter = iter(range(1 << 62))

    def step(_: int) -> int:
        name = f"{next(counter)}"
        fd = os.open(tmp / name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp / name, final / name)
        sync()
        return 1

    try:
        measured = timed(lambda: in_threads(threads, seconds, step))
    finally:
        os.close(directory)
    if size >= MIB:
        measured["rate"] *= size / 1e6  # MB/s
    return measured


async def raw_asyncpg(dsn: str, seconds: float) -> dict[str, dict]:
    pool = await asyncpg.create_pool(dsn, min_size=16, max_size=16)
    try:
        await pool.execute("CREATE TABLE IF NOT EXISTS small (id bigint PRIMARY KEY, data bytea)")
        await pool.execute("CREATE TABLE IF NOT EXISTS large (id bigint, position bigint, "
                           "data bytea, PRIMARY KEY (id, position))")
        await pool.execute("ALTER TABLE large ALTER COLUMN data SET STORAGE EXTERNAL")
        await pool.execute("TRUNCATE small, large")  # each round starts empty
        small = os.urandom(SMALL)
        ids = iter(range(1 << 62))

        async def clients(query: Callable[[asyncpg.Connection], object]) -> int:
            deadline = time.perf_counter() + seconds
            done = 0

            async def client() -> None:
                nonlocal done
                async with pool.acquire() as connection:
                    while time.perf_counter() < deadline:
                        await query(connection)
                        done += 1

            await asyncio.gather(*(client() for _ in range(16)))
            return done

        async def cell(query: Callable[[asyncpg.Connection], object]) -> dict:
            cpu, wall = time.process_time(), time.perf_counter()
            units = await clients(query)
            wall = time.perf_counter() - wall
            return {"rate": units / wall, "cpu": (time.process_time() - cpu) / wall}

        results = {"insert": await cell(lambda c: c.execute(
            "INSERT INTO small VALUES ($1, $2)", next(ids), small))}
        written = next(ids)
        results["select"] = await cell(lambda c: c.fetchval(
            "SELECT data FROM small WHERE id = $1", written // 2))
        big = os.urandom(64 * MIB)
        object_id = next(ids)
        cpu, wall = time.process_time(), time.perf_counter()
        for position in range(0, len(big), MIB):
            await pool.execute("INSERT INTO large VALUES ($1, $2, $3)", object_id, position,
                               big[position:position + MIB])
        wall = time.perf_counter() - wall
        results["large insert"] = {"rate": len(big) / wall / 1e6,
                                   "cpu": (time.process_time() - cpu) / wall}
        cpu, wall = time.process_time(), time.perf_counter()
        received = 0
        for position in range(0, len(big), 4 * MIB):
            rows = await pool.fetch("SELECT data FROM large WHERE id = $1 AND position >= $2 "
                                    "AND position < $3 ORDER BY position", object_id, position,
                                    position + 4 * MIB)
            received += sum(len(row["data"]) for row in rows)
        wall = time.perf_counter() - wall
        results["large select"] = {"rate": received / wall / 1e6,
                                   "cpu": (time.process_time() - cpu) / wall}
        await pool.execute("DELETE FROM large WHERE id = $1", object_id)
        return results
    finally:
        await pool.close()


async def scratch(dsn: str) -> tuple[str, Callable[[], object]]:
    name = f"post3_ceilings_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')  # a generated name
    finally:
        await admin.close()

    async def drop() -> None:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    return f"{dsn.rpartition('/')[0]}/{name}", drop


CELLS = [
    ("MD5, 1 thread", "MB/s"), ("MD5, 2 threads", "MB/s"),
    ("durable 4 KiB write, 16 threads", "ops/s"),
    ("durable 4 KiB write, 6 threads", "ops/s"),
    ("durable 4 KiB write, 16 threads, directory fsyncs shared", "ops/s"),
    ("durable 1 MiB write, 4 threads", "MB/s"),
    ("raw asyncpg 4 KiB INSERT, 16 connections", "ops/s"),
    ("raw asyncpg 4 KiB SELECT, 16 connections", "ops/s"),
    ("raw asyncpg 64 MiB INSERT (1 MiB rows), 1 connection", "MB/s"),
    ("raw asyncpg 64 MiB SELECT (4 MiB a query), 1 connection", "MB/s"),
]

#: The durable-write cells: name, threads, object size, directory fsyncs shared.
DURABLE = [(CELLS[2][0], 16, SMALL, False), (CELLS[3][0], 6, SMALL, False),
           (CELLS[4][0], 16, SMALL, True), (CELLS[5][0], 4, MIB, False)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dsn", default=os.environ.get(
        "POST3_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--root", type=Path, default=None,
                        help="where the durable writes go (the filesystem backend's disk)")
    parser.add_argument("--output", type=Path, default=HERE / "results")
    args = parser.parse_args()
    rounds: dict[str, list[dict]] = {name: [] for name, _ in CELLS}
    dsn, drop = asyncio.run(scratch(args.dsn))
    try:
        for round_ in range(args.rounds):
            rounds["MD5, 1 thread"].append(md5(1, args.seconds))
            rounds["MD5, 2 threads"].append(md5(2, args.seconds))
            for name, threads, size, shared in DURABLE:
                with tempfile.TemporaryDirectory(prefix="post3-ceilings-", dir=args.root) as root:
                    rounds[name].append(
                        durable_writes(Path(root), args.seconds, threads, size, shared))
            raw = asyncio.run(raw_asyncpg(dsn, args.seconds))
            for kind, name in (("insert", CELLS[6][0]), ("select", CELLS[7][0]),
                               ("large insert", CELLS[8][0]), ("large select", CELLS[9][0])):
                rounds[name].append(raw[kind])
            print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    finally:
        asyncio.run(drop())
    cells = [{"cell": name, "unit": unit, "rounds": rounds[name],
              "value": statistics.median(r["rate"] for r in rounds[name]),
              "cpu": statistics.median(r["cpu"] for r in rounds[name])} for name, unit in CELLS]
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
              "rounds": args.rounds, "seconds": args.seconds, "cells": cells}
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "ceilings.json").write_text(json.dumps(report, indent=2))
    print(f"\nRun {report['date']}, median of {args.rounds} rounds of ~{args.seconds} s; "
          "cpu = this process's CPU (share of one core)\n")
    print("| ceiling | figure | cpu |\n|---|---:|---:|")
    for cell in cells:
        print(f"| {cell['cell']} | {cell['value']:,.0f} {cell['unit']} | {cell['cpu']:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
