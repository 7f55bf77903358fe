"""post3's PostgreSQL backend against raw asyncpg on the same database, in one run.

Creates a fresh database on ``--server`` (a DSN allowed to CREATE DATABASE; default
``postgresql://postgres@127.0.0.1:5432/postgres``), starts ``post3 run --backend postgres`` on
it, and measures:

* one 64 MiB PUT and GET through post3 (HTTP on 127.0.0.1, unsigned requests), against raw
  asyncpg inserting and selecting the same 64 blocks of 1 MiB into a table shaped like post3's
  (``bytea`` with ``STORAGE EXTERNAL``), one statement per block, and reports the ratio;
* 4 KiB PUTs at concurrency 16 for ``--seconds`` seconds, in objects per second.

Each figure is the median of ``--rounds`` rounds (raw and post3 alternate within a round), as
the machine running it is usually shared and noisy.

Targets (issue 4): PUT and GET at least 70% of raw, 4 KiB PUTs at least 2,000 objects/s.
The database is dropped at the end.

    python benchmarks/postgres_vs_asyncpg.py [--size-mib 64] [--seconds 3] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg

MiB = 1 << 20
SERVING = re.compile(r"^post3 serving (http://\S+) \(backend: postgres\)$")
RAW_TABLE = """
CREATE TABLE raw_blocks (id bigint, position bigint, data bytea, PRIMARY KEY (id, position));
ALTER TABLE raw_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
"""


def with_database(dsn: str, name: str) -> str:
    return f"{dsn.rpartition('/')[0]}/{name}"


async def raw_put_get(dsn: str, data: bytes, object_id: int) -> tuple[float, float]:
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=2)
    try:
        started = time.perf_counter()
        for position in range(0, len(data), MiB):
            await pool.execute("INSERT INTO raw_blocks VALUES ($1, $2, $3)",
                               object_id, position, data[position: position + MiB])
        put = time.perf_counter() - started
        started = time.perf_counter()
        received = 0
        for position in range(0, len(data), 4 * MiB):
            rows = await pool.fetch(
                "SELECT data FROM raw_blocks WHERE id = $1 AND position >= $2 AND position < $3 "
                "ORDER BY position", object_id, position, position + 4 * MiB)
            received += sum(len(row["data"]) for row in rows)
        get = time.perf_counter() - started
        assert received == len(data)
        return put, get
    finally:
        await pool.close()


async def post3_put_get(http: aiohttp.ClientSession, url: str, data: bytes) -> tuple[float, float]:
    async def body():
        for position in range(0, len(data), MiB):
            yield data[position: position + MiB]

    started = time.perf_counter()
    response = await http.put(url, data=body(), headers={"Content-Length": str(len(data))})
    assert response.status == 200, await response.text()
    put = time.perf_counter() - started
    started = time.perf_counter()
    received = 0
    async with http.get(url) as response:
        async for chunk in response.content.iter_chunked(MiB):
            received += len(chunk)
    get = time.perf_counter() - started
    assert received == len(data)
    return put, get


async def small_puts(
    http: aiohttp.ClientSession, endpoint: str, seconds: float, round_: int
) -> float:
    payload = os.urandom(4096)
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker(n: int) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < deadline:
            response = await http.put(f"{endpoint}/bench/small/{round_}/{n}/{i}", data=payload)
            assert response.status == 200
            response.release()
            done += 1
            i += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(16)))
    return done / (time.perf_counter() - started)


def spawn(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=os.environ.get(
        "POST3_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    name = f"post3_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(args.server)
    await admin.execute(f'CREATE DATABASE "{name}"')  # generated name, nothing to quote
    dsn = with_database(args.server, name)
    script = Path(sys.executable).with_name("post3")
    process = spawn([str(script), "run", "--backend", "postgres", "--port", "0", "--no-auth",
                     "-o", f"dsn={dsn}", "-o", "auto_migrate=true", "-o", "max_pool_size=20"])
    try:
        line = await asyncio.to_thread(process.stdout.readline)
        match = SERVING.match(line.decode().strip())
        if match is None:
            print(f"post3 did not start: {line!r}", file=sys.stderr)
            return 2
        endpoint = match.group(1)
        raw = await asyncpg.connect(dsn)
        await raw.execute(RAW_TABLE)
        await raw.close()
        data = os.urandom(args.size_mib * MiB)
        async with aiohttp.ClientSession() as http:
            await http.put(f"{endpoint}/bench")
            times: dict[str, list[float]] = {"raw_put": [], "raw_get": [], "put": [], "get": []}
            rates = []
            for round_ in range(args.rounds):
                raw_put, raw_get = await raw_put_get(dsn, data, round_)
                put, get = await post3_put_get(http, f"{endpoint}/bench/big-{round_}", data)
                for key, value in zip(times, (raw_put, raw_get, put, get), strict=True):
                    times[key].append(value)
                rates.append(await small_puts(http, endpoint, args.seconds, round_))
        median = {key: statistics.median(values) for key, values in times.items()}
        rate = statistics.median(rates)
        size = args.size_mib
        print(f"{size} MiB PUT: post3 {size / median['put']:.0f} MiB/s, "
              f"raw asyncpg {size / median['raw_put']:.0f} MiB/s, "
              f"ratio {median['raw_put'] / median['put']:.0%}")
        print(f"{size} MiB GET: post3 {size / median['get']:.0f} MiB/s, "
              f"raw asyncpg {size / median['raw_get']:.0f} MiB/s, "
              f"ratio {median['raw_get'] / median['get']:.0%}")
        print(f"4 KiB PUT, concurrency 16: {rate:.0f} objects/s")
        return 0
    finally:
        process.terminate()
        process.wait(10)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
