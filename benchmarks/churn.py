"""Does the store stop growing under steady churn at a fixed live size?

    python benchmarks/churn.py [--backend postgres|filesystem] [--minutes 10]
                               [--objects 2000] [--size 65536] [--versioned] [--rate N]
                               [--dsn DSN]

One post3 server holds ``--objects`` live objects of ``--size`` bytes; then, for
``--minutes``, 8 clients overwrite, delete and re-create random keys, so the live data stays
the same size: as fast as they can, or ``--rate`` PUTs a second in all. Every 15 s the
script samples the size of the store and prints it:

* PostgreSQL: ``pg_database_size``, the ``blocks`` table with its TOAST, and how often
  autovacuum has vacuumed that TOAST table. Without ``--dsn`` the script starts a PostgreSQL
  of its own (``initdb`` in a scratch directory, PostgreSQL's default settings, autovacuum
  on, as on any production server), because a test server may run with autovacuum off; with
  ``--dsn`` it uses a scratch database on that server.
* filesystem: the disk space used by the data directory (``du``: allocated blocks), its
  number of files, and the files in its temporary directory.

With ``--versioned`` the bucket keeps versions and a lifecycle rule removes noncurrent ones
after one day, shortened to 10 s (``POST3_LIFECYCLE_DAY_SECONDS``, a pass every 5 s), so
expiry is part of the churn, as a user would keep a versioned bucket from growing.

Verdict: the growth in the last half of the churn against the growth in the first half, of
the highest size reached (the space the store needs; the size saws up and down with each
vacuum or sweep). A store that reclaims what overwrites and deletes free levels off: it grows
while the backlog (grace periods, lifecycle days, vacuum cycles) fills, then no more. Exit
status 0 when the highest point rose in the last half by less than a quarter of its rise in
the first half (or by less than 5% of the live data), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_client import Client  # isort: skip  # noqa: E402
from bench_servers import (  # isort: skip  # noqa: E402
    Server, free_port, launch, post3_env, scratch_database)
from matrix import run_all, signer_for  # isort: skip  # noqa: E402

LIFECYCLE = (b'<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
             b"<Rule><ID>noncurrent</ID><Filter/><Status>Enabled</Status>"
             b"<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
             b"</NoncurrentVersionExpiration><Expiration><ExpiredObjectDeleteMarker>true"
             b"</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>")
VERSIONING_ON = (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                 b"<Status>Enabled</Status></VersioningConfiguration>")
PERIOD = 15.0

#: (store size, detail shown beside it) in bytes / words
Sampler = Callable[[], Awaitable[tuple[int, str]]]


def postgres_sampler(dsn: str) -> Sampler:
    async def sample() -> tuple[int, str]:
        connection = await asyncpg.connect(dsn)
        try:
            row = await connection.fetchrow(
                "SELECT pg_database_size(current_database()) AS database,"
                "       pg_total_relation_size('blocks') AS blocks,"
                "       t.n_dead_tup AS dead, t.autovacuum_count AS vacuums"
                " FROM pg_class c JOIN pg_stat_all_tables t ON t.relid = c.reltoastrelid"
                " WHERE c.oid = 'blocks'::regclass")
        finally:
            await connection.close()
        return row["database"], (f"blocks {row['blocks'] / 1e6:8.1f} MB  TOAST dead rows "
                                 f"{row['dead']:8d}  autovacuums {row['vacuums']:3d}")
    return sample


def directory_sampler(root: Path) -> Sampler:
    def walk() -> tuple[int, str]:
        used = files = temporary = 0
        for directory, _, names in os.walk(root):
            for name in names:
                try:
                    used += os.lstat(os.path.join(directory, name)).st_blocks * 512
                except FileNotFoundError:  # replaced or removed while walking
                    continue
                files += 1
                temporary += directory.startswith(str(root / ".post3" / "tmp"))
        return used, f"files {files:7d}  temporary {temporary:4d}"

    async def sample() -> tuple[int, str]:
        return await asyncio.to_thread(walk)
    return sample


async def churn(server: Server, sample: Sampler, args: argparse.Namespace) -> list[tuple]:
    """Fill, then churn for ``--minutes``; the samples ``(seconds, written, size, detail)``."""
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
        started = time.monotonic()
        deadline = started + args.minutes * 60
        written = {"bytes": args.objects * args.size}
        pace = {"next": started}

        async def paced() -> None:
            """Wait for the next of ``--rate`` slots a second, shared by every worker."""
            if args.rate:
                now = time.monotonic()
                slot = max(now, pace["next"])
                pace["next"] = slot + 1 / args.rate
                await asyncio.sleep(slot - now)

        async def record() -> None:
            size, detail = await sample()
            samples.append((time.monotonic() - started, written["bytes"], size, detail))
            print(f"{samples[-1][0]:6.0f} s  written {written['bytes'] / 1e6:8.0f} MB  "
                  f"size {size / 1e6:8.1f} MB  {detail}", flush=True)

        async def worker(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                key = rng.choice(keys)
                await paced()
                if rng.random() < 0.2:  # delete and re-create: same live size after
                    await client.call("DELETE", f"/churn/{key}")
                await client.call("PUT", f"/churn/{key}", body=body)
                written["bytes"] += args.size

        async def sampler() -> None:
            while time.monotonic() < deadline:
                await record()
                await asyncio.sleep(min(PERIOD, max(deadline - time.monotonic(), 0)))

        await run_all([*(worker(n) for n in range(8)), sampler()])
        await record()
    finally:
        await client.close()
    return samples


def verdict(samples: list[tuple], live: int) -> tuple[bool, str]:
    """Compare the high-water marks of the two halves: the space a store needs is its
    highest point (PostgreSQL reuses freed space but seldom gives it back, and the size saws
    up and down with each vacuum), so a dip at the midpoint must not read as growth."""
    start, end = samples[0], samples[-1]
    first_half = [s for s in samples if s[0] <= end[0] / 2]
    last_half = [s for s in samples if s[0] > end[0] / 2]
    first_peak, last_peak = max(s[2] for s in first_half), max(s[2] for s in last_half)
    first, last = first_peak - start[2], last_peak - first_peak
    levelled = last < max(first / 4, live * 0.05)
    return levelled, (
        f"live data {live / 1e6:.1f} MB; written {end[1] / 1e6:.0f} MB in "
        f"{end[0] / 60:.1f} min; size {start[2] / 1e6:.1f} MB at the start, at most "
        f"{first_peak / 1e6:.1f} MB in the first half and {last_peak / 1e6:.1f} MB in the "
        f"last, {end[2] / 1e6:.1f} MB at the end; the highest point rose "
        f"{first / 1e6:+.1f} MB in the first half, {last / 1e6:+.1f} MB in the last: "
        + ("levels off" if levelled else "still growing"))


class PrivatePostgres:
    """A PostgreSQL cluster of the script's own, with PostgreSQL's default settings."""

    def __init__(self, directory: Path) -> None:
        binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        initdb = shutil.which("initdb") or (str(binaries[-1]) if binaries else None)
        if initdb is None:
            raise SystemExit("no initdb found: pass --dsn of a PostgreSQL server instead")
        self.bin = Path(initdb).parent
        self.data = directory / "pgdata"
        self.port = free_port()
        # PostgreSQL refuses to run as root: run it as the postgres user then.
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        directory.chmod(0o755)
        self.data.mkdir()
        if self.run_as:
            shutil.chown(self.data, "postgres", "postgres")
        self._pg(["initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N"])
        self._pg(["pg_ctl", "-D", str(self.data), "-w", "-l", str(self.data / "log"),
                  "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}",
                  "start"])
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, command: list[str]) -> None:
        subprocess.run([*self.run_as, str(self.bin / command[0]), *command[1:]], check=True,
                       stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        self._pg(["pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["postgres", "filesystem"], default="postgres")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64 * 1024)
    parser.add_argument("--versioned", action="store_true")
    parser.add_argument("--rate", type=float, default=0,
                        help="PUTs a second, all clients together (default: unlimited)")
    parser.add_argument("--dsn", help="a PostgreSQL server to use (default: start one)")
    parser.add_argument("-o", dest="options", action="append", default=[],
                        help="a backend option for post3 run, e.g. -o retired_grace=60")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="post3-churn-") as scratch:
        workdir = Path(scratch)
        server = Server(args.backend)
        env = post3_env(server)
        env["POST3_CONSOLE"] = "false"
        env["POST3_LIFECYCLE_DAY_SECONDS"] = "10"
        env["POST3_LIFECYCLE_INTERVAL"] = "5"
        command = [sys.executable, "-m", "post3", "run", "--backend", args.backend,
                   "--host", "127.0.0.1", "--port", "0"]
        if args.backend == "postgres":
            private = None if args.dsn else PrivatePostgres(workdir)
            if private is not None:
                server.cleanup.insert(0, private.stop)
            dsn, drop = scratch_database(args.dsn or private.dsn,
                                         f"post3_churn_{uuid.uuid4().hex[:12]}")
            server.cleanup.insert(1 if private else 0, drop)
            command += ["-o", f"dsn={dsn}", "-o", "auto_migrate=true"]
            sample = postgres_sampler(dsn)
        else:
            root = workdir / "data"
            command += ["-o", f"root={root}"]
            sample = directory_sampler(root)
        for option in args.options:
            command += ["-o", option]
        launch(server, command, workdir, env, line=r"^post3 serving (http://\S+) ")
        if server.error:  # launch() has stopped it and run its clean-up
            raise SystemExit(server.error)
        try:
            samples = asyncio.run(churn(server, sample, args))
        finally:
            server.stop()
    levelled, summary = verdict(samples, args.objects * args.size)
    rate = f" at {args.rate:g} PUT/s" if args.rate else ""
    print(f"\n{args.backend}{' versioned' if args.versioned else ''}{rate}: {summary}")
    return 0 if levelled else 1


if __name__ == "__main__":
    sys.exit(main())
