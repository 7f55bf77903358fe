"""post3's PostgreSQL backend against raw asyncpg on the same database, in one run.

Creates a fresh database on ``--server`` (a DSN allowed to CREATE DATABASE; default
``postgresql://postgres@127.0.0.1:5432/postgres``), starts ``post3 run --backend postgres`` on
it, and measures:

* one 64 MiB PUT and GET through post3 (HTTP on 127.0.0.1, unsigned requests), against raw
  asyncpg inserting and selecting the same 64 blocks of 1 MiB into a table shaped like post3's
  (``bytea`` with ``STORAGE EXTERNAL``), one statement per block, and reports the ratio; the
  PUT also against raw inserts that, like post3's, do not wait for the WAL flush;
* 4 KiB PUTs at concurrency 16 for ``--seconds`` seconds, in objects per second.

Each figure is the median of ``--rounds`` rounds (raw and post3 alternate within a round), as
the machine running it is usually shared and noisy. Beside each post3 figure: the CPU time
post3's server process spent per MiB (all its threads, from ``/proc``), which a loaded machine
disturbs far less than the wall clock.

``--baseline-rev REV`` also starts post3 as it was at ``REV`` (its ``post3`` and plugin
packages first on ``PYTHONPATH``, on a database of its own) and measures it in the same rounds,
the order of the two alternating, so a change is judged against its parent in one run.

Targets (issue 18): 64 MiB PUT at least 80% of raw, 64 MiB GET at least 800 MB/s, 4 KiB PUTs at
least 2,000 objects/s. The databases are dropped at the end.

    python benchmarks/postgres_vs_asyncpg.py [--size-mib 64] [--seconds 3] [--rounds 5]
                                             [--baseline-rev REV]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_servers import extract_revision  # isort: skip  # noqa: E402

MiB = 1 << 20
SERVING = re.compile(r"^post3 serving (http://\S+) \(backend: postgres\)$")
RAW_TABLE = """
CREATE TABLE raw_blocks (id bigint, position bigint, data bytea, PRIMARY KEY (id, position));
ALTER TABLE raw_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
"""


def with_database(dsn: str, name: str) -> str:
    return f"{dsn.rpartition('/')[0]}/{name}"


#: The raw inserts, as post3 makes them since it skips the WAL flush wait per block: each
#: one's own transaction with synchronous_commit off (the object's commit flushes them).
RAW_INSERT = "INSERT INTO raw_blocks VALUES ($1, $2, $3)"
RAW_INSERT_NO_FLUSH_WAIT = (
    "WITH no_flush_wait AS (SELECT set_config('synchronous_commit', 'off', true)) "
    "INSERT INTO raw_blocks SELECT $1, $2, $3 FROM no_flush_wait"
)


async def raw_put_only(dsn: str, data: bytes, object_id: int, insert: str) -> float:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        started = time.perf_counter()
        for position in range(0, len(data), MiB):
            await pool.execute(insert, object_id, position, data[position: position + MiB])
        return time.perf_counter() - started
    finally:
        await pool.close()


async def raw_put_get(dsn: str, data: bytes, object_id: int) -> tuple[float, float]:
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=2)
    try:
        started = time.perf_counter()
        for position in range(0, len(data), MiB):
            await pool.execute(RAW_INSERT, object_id, position, data[position: position + MiB])
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


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of process ``pid`` so far (nanosecond ``schedstat``)."""
    total = 0
    for thread in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{pid}/task/{thread}/schedstat").read_text().split()[0])
    return total / 1e9


async def post3_put_get(
    http: aiohttp.ClientSession, url: str, data: bytes, pid: int
) -> tuple[float, float, float, float]:
    """Seconds for the PUT and the GET, and the server's CPU seconds for each."""
    async def body():
        for position in range(0, len(data), MiB):
            yield data[position: position + MiB]

    cpu, started = cpu_seconds(pid), time.perf_counter()
    response = await http.put(url, data=body(), headers={"Content-Length": str(len(data))})
    assert response.status == 200, await response.text()
    put, put_cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
    cpu, started = cpu_seconds(pid), time.perf_counter()
    received = 0
    async with http.get(url) as response:
        async for chunk in response.content.iter_chunked(MiB):
            received += len(chunk)
    get, get_cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
    assert received == len(data)
    return put, get, put_cpu, get_cpu


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


def spawn(command: list[str], source: Path | None) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if source is not None:  # an earlier revision's packages, ahead of the installed ones
        env["PYTHONPATH"] = str(source)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)


async def start_post3(server: str, source: Path | None) -> tuple[str, str, subprocess.Popen[bytes]]:
    """A fresh database on ``server`` and post3 serving it: (database name, endpoint, process)."""
    name = f"post3_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')  # generated name, nothing to quote
    finally:
        await admin.close()
    script = Path(sys.executable).with_name("post3")
    process = spawn([str(script), "run", "--backend", "postgres", "--port", "0", "--no-auth",
                     "--log-level", "warning", "-o", f"dsn={with_database(server, name)}",
                     "-o", "auto_migrate=true", "-o", "max_pool_size=20"], source)
    line = await asyncio.to_thread(process.stdout.readline)
    match = SERVING.match(line.decode().strip())
    if match is None:
        process.terminate()
        raise RuntimeError(f"post3 did not start: {line!r}")
    return name, match.group(1), process


def mib_s(size: int, seconds: float) -> str:
    return f"{size / seconds:.0f} MiB/s ({size * MiB / 1e6 / seconds:.0f} MB/s)"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=os.environ.get(
        "POST3_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="of 4 KiB PUTs per round and server; 0 skips them")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-rev", help="also measure post3 as it was at this revision")
    args = parser.parse_args()

    variants: dict[str, Path | None] = {"post3": None}
    databases: list[str] = []
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="post3-pg-bench-") as scratch:
        if args.baseline_rev:
            variants[args.baseline_rev] = extract_revision(args.baseline_rev, Path(scratch))
        try:
            endpoints: dict[str, tuple[str, int]] = {}
            for variant, source in variants.items():
                name, endpoint, process = await start_post3(args.server, source)
                databases.append(name)
                processes.append(process)
                endpoints[variant] = endpoint, process.pid
            raw_name = f"post3_bench_{uuid.uuid4().hex[:12]}"
            admin = await asyncpg.connect(args.server)
            await admin.execute(f'CREATE DATABASE "{raw_name}"')
            await admin.close()
            databases.append(raw_name)
            dsn = with_database(args.server, raw_name)
            raw = await asyncpg.connect(dsn)
            await raw.execute(RAW_TABLE)
            await raw.close()
            return await measure(args, dsn, endpoints)
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)
            admin = await asyncpg.connect(args.server)
            for name in databases:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


async def measure(args: argparse.Namespace, dsn: str,
                  endpoints: dict[str, tuple[str, int]]) -> int:
    data = os.urandom(args.size_mib * MiB)
    keys = ("put", "get", "put_cpu", "get_cpu")
    times: dict[str, list[float]] = {"raw_put": [], "raw_get": [], "raw_put_no_wait": []}
    figures = {variant: {key: [] for key in keys} for variant in endpoints}
    rates: dict[str, list[float]] = {variant: [] for variant in endpoints}
    async with aiohttp.ClientSession() as http:
        for endpoint, _ in endpoints.values():
            await http.put(f"{endpoint}/bench")
        for round_ in range(args.rounds):
            raw_put, raw_get = await raw_put_get(dsn, data, round_)
            times["raw_put"].append(raw_put)
            times["raw_get"].append(raw_get)
            times["raw_put_no_wait"].append(
                await raw_put_only(dsn, data, -1 - round_, RAW_INSERT_NO_FLUSH_WAIT))
            order = list(endpoints.items())
            if round_ % 2:
                order.reverse()
            for variant, (endpoint, pid) in order:
                measured = await post3_put_get(http, f"{endpoint}/bench/big-{round_}", data, pid)
                for key, value in zip(keys, measured, strict=True):
                    figures[variant][key].append(value)
            for variant, (endpoint, _) in order:
                if args.seconds > 0:
                    rates[variant].append(
                        await small_puts(http, endpoint, args.seconds, round_))
    size = args.size_mib
    raw_put = statistics.median(times["raw_put"])
    raw_get = statistics.median(times["raw_get"])
    print(f"load average at the end: {os.getloadavg()[0]:.1f}; {args.rounds} rounds, medians")
    raw_no_wait = statistics.median(times["raw_put_no_wait"])
    print(f"raw asyncpg: {size} MiB PUT {mib_s(size, raw_put)}, GET {mib_s(size, raw_get)}")
    print(f"raw asyncpg, inserts not waiting for the WAL flush: {size} MiB PUT "
          f"{mib_s(size, raw_no_wait)}")
    for variant in endpoints:
        median = {key: statistics.median(values) for key, values in figures[variant].items()}
        print(f"{variant}: {size} MiB PUT {mib_s(size, median['put'])}, "
              f"ratio to raw {raw_put / median['put']:.0%} "
              f"({raw_no_wait / median['put']:.0%} of raw not waiting for the flush), "
              f"server CPU {median['put_cpu'] * 1000 / size:.2f} ms/MiB")
        print(f"{variant}: {size} MiB GET {mib_s(size, median['get'])}, "
              f"ratio to raw {raw_get / median['get']:.0%}, "
              f"server CPU {median['get_cpu'] * 1000 / size:.2f} ms/MiB")
        if rates[variant]:
            print(f"{variant}: 4 KiB PUT, concurrency 16: "
                  f"{statistics.median(rates[variant]):.0f} objects/s")
    if args.baseline_rev:
        now, then = figures["post3"], figures[args.baseline_rev]
        for key in keys:
            ratio = statistics.median(then[key]) / statistics.median(now[key])
            what = "CPU per MiB" if key.endswith("cpu") else "speed"
            print(f"now / {args.baseline_rev}, {key.split('_')[0].upper()} {what}: "
                  f"{ratio if what == 'speed' else 1 / ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
