"""Does the PostgreSQL database stop growing under steady churn at a fixed live size?

    python benchmarks/churn.py [--minutes 10] [--objects 2000] [--size 65536] [--versioned]

One post3 server on PostgreSQL (a scratch database, dropped at the end) holds ``--objects``
live objects of ``--size`` bytes; then, for ``--minutes``, 8 clients overwrite, delete and
re-create random keys, so the live data stays the same size. Every 15 s the script samples
``pg_database_size`` and the size of the ``blocks`` table (with its TOAST), and prints them.
With ``--versioned`` the bucket keeps versions and a lifecycle rule removes noncurrent ones
after one (shortened, 10-second) day, as a user would keep a versioned bucket from growing.

The figure to look at is the last third of the run: a database that reclaims what overwrites
and deletes free levels off; one that does not keeps growing with the bytes written.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_client import Client  # isort: skip  # noqa: E402
from bench_servers import Server, launch, post3_env, scratch_database  # isort: skip  # noqa: E402
from matrix import run_all, signer_for  # isort: skip  # noqa: E402

LIFECYCLE = (b'<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
             b"<Rule><ID>noncurrent</ID><Filter/><Status>Enabled</Status>"
             b"<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
             b"</NoncurrentVersionExpiration><Expiration><ExpiredObjectDeleteMarker>true"
             b"</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>")
VERSIONING_ON = (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                 b"<Status>Enabled</Status></VersioningConfiguration>")


async def sizes(dsn: str) -> tuple[int, int]:
    connection = await asyncpg.connect(dsn)
    try:
        database = await connection.fetchval("SELECT pg_database_size(current_database())")
        blocks = await connection.fetchval("SELECT pg_total_relation_size('blocks')")
        return int(database), int(blocks)
    finally:
        await connection.close()


async def churn(server: Server, dsn: str, args: argparse.Namespace) -> list[tuple]:
    client = Client(server.endpoint, signer_for(server), 16)
    body = os.urandom(args.size)
    keys = [f"k{n:06d}" for n in range(args.objects)]
    samples: list[tuple] = []
    try:
        await client.call("PUT", "/churn")
        if args.versioned:
            await client.call("PUT", "/churn", {"versioning": ""}, body=VERSIONING_ON)
            await client.call("PUT", "/churn", {"lifecycle": ""}, body=LIFECYCLE)
        pending = iter(keys)

        async def fill() -> None:
            for key in pending:
                await client.call("PUT", f"/churn/{key}", body=body)

        await run_all(fill() for _ in range(8))
        written = args.objects * args.size
        started = time.monotonic()
        deadline = started + args.minutes * 60
        counters = {"bytes": written}

        async def worker(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                key = rng.choice(keys)
                if rng.random() < 0.2:  # delete and re-create: same live size after
                    await client.call("DELETE", f"/churn/{key}")
                await client.call("PUT", f"/churn/{key}", body=body)
                counters["bytes"] += args.size

        async def sampler() -> None:
            while time.monotonic() < deadline:
                database, blocks = await sizes(dsn)
                samples.append((time.monotonic() - started, counters["bytes"], database,
                                blocks))
                print(f"{samples[-1][0]:6.0f} s  written {counters['bytes'] / 1e6:9.0f} MB  "
                      f"database {database / 1e6:8.1f} MB  blocks {blocks / 1e6:8.1f} MB",
                      flush=True)
                await asyncio.sleep(15)

        await run_all([*(worker(n) for n in range(8)), sampler()])
        database, blocks = await sizes(dsn)
        samples.append((time.monotonic() - started, counters["bytes"], database, blocks))
    finally:
        await client.close()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64 * 1024)
    parser.add_argument("--versioned", action="store_true")
    parser.add_argument("--dsn", default=os.environ.get(
        "POST3_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="post3-churn-") as scratch:
        dsn, drop = scratch_database(args.dsn, f"post3_churn_{uuid.uuid4().hex[:12]}")
        server = Server("postgres")
        env = post3_env(server)
        env["POST3_CONSOLE"] = "false"
        env["POST3_LIFECYCLE_DAY_SECONDS"] = "10"
        env["POST3_LIFECYCLE_INTERVAL"] = "5"
        server.cleanup.insert(0, drop)
        launch(server, [sys.executable, "-m", "post3", "run", "--backend", "postgres",
                        "--host", "127.0.0.1", "--port", "0", "-o", f"dsn={dsn}",
                        "-o", "auto_migrate=true"], Path(scratch), env,
               line=r"^post3 serving (http://\S+) ")
        if server.error:
            raise SystemExit(server.error)
        try:
            samples = asyncio.run(churn(server, dsn, args))
        finally:
            server.stop()
    live = args.objects * args.size
    third = [s for s in samples if s[0] >= samples[-1][0] * 2 / 3]
    print(f"\nlive data {live / 1e6:.1f} MB; written {samples[-1][1] / 1e6:.0f} MB in "
          f"{samples[-1][0] / 60:.1f} min; database at the start of the last third "
          f"{third[0][2] / 1e6:.1f} MB, at the end {samples[-1][2] / 1e6:.1f} MB "
          f"({(samples[-1][2] - third[0][2]) / 1e6:+.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
