"""Does versioning cost unversioned requests anything? And does a versioned bucket's LIST
slow down with the noncurrent versions it keeps?

    python benchmarks/versioning.py [--baseline-rev 7ec8739] [--rounds 3] [--duration 2]

One run starts, side by side on loopback: the null server (the in-run baseline every figure
is divided by), post3 as it is now and post3 at ``--baseline-rev`` (the release before
versioning, extracted with ``git archive``), each on the filesystem and on PostgreSQL, with
authentication on. Every workload is measured in interleaved rounds (round 1 on every server,
then round 2...), so the machine's noise hits all of them alike:

- 4 KiB PUT and GET at 16 clients, LIST of 1,000-key pages of a 10,000-object bucket, all in
  buckets that never had versioning (the issue's bar: within 10% of the baseline);
- on the current servers only: LIST of 1,000-key pages of a versioned bucket whose keys each
  also keep ``--noncurrent`` noncurrent versions (default 2) — to compare with the
  unversioned LIST of the same server: the issue's bar is that noncurrent versions do not
  slow a listing.

Results: a Markdown table on stdout and ``benchmarks/results/versioning.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_client import KIB, Client  # isort: skip  # noqa: E402
from bench_servers import HERE, Server, launch, post3_env, scratch_database  # isort: skip  # noqa: E402
from matrix import (  # isort: skip  # noqa: E402
    Workload, fill, get_op, list_op, machine, measure, put_op, run_all, signer_for,
)

VERSIONING_ON = (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                 b"<Status>Enabled</Status></VersioningConfiguration>")


def extract(revision: str, into: Path) -> Path:
    """post3 and both plugins' packages as they were at ``revision``."""
    top = HERE.parent
    paths = ["post3", "plugins/post3-filesystem/post3_filesystem",
             "plugins/post3-postgres/post3_postgres"]
    archive = subprocess.run(["git", "-C", str(top), "archive", revision, *paths],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    for plugin in ("post3_filesystem", "post3_postgres"):
        source = into / "plugins" / plugin.replace("_", "-") / plugin
        source.rename(into / plugin)
    return into


def start(name: str, backend: str, option: str, workdir: Path, source: Path | None) -> Server:
    server = Server(name)
    env = post3_env(server)
    env["POST3_CONSOLE"] = "false"
    if source is not None:
        # The installed entry points name the modules; these copies are found first.
        env["PYTHONPATH"] = str(source)
    command = [sys.executable, "-m", "post3", "run", "--backend", backend, "--host",
               "127.0.0.1", "--port", "0", "-o", option]
    if backend == "postgres":
        command += ["-o", "auto_migrate=true"]
    return launch(server, command, workdir, env, line=r"^post3 serving (http://\S+) ")


async def fill_versioned(client: Client, bucket: str, count: int, noncurrent: int) -> None:
    """``count`` keys with ``noncurrent`` noncurrent versions each."""
    await client.call("PUT", f"/{bucket}")
    await client.call("PUT", f"/{bucket}", {"versioning": ""}, body=VERSIONING_ON)
    for _ in range(noncurrent + 1):
        numbers = iter(range(count))

        async def worker(numbers=numbers) -> None:
            for number in numbers:
                await client.call("PUT", f"/{bucket}/k{number:07d}", body=b"")

        await run_all(worker() for _ in range(16))


async def run(servers: list[Server], current: set[str], rounds: int, duration: float,
              objects: int, noncurrent: int) -> list[dict]:
    body = os.urandom(4 * KIB)
    workloads = [
        Workload("put_small", "4 KiB PUT, 16 clients", "ops/s", 16, 100_000,
                 put_op(4 * KIB, "small", False, body)),
        Workload("get_small", "4 KiB GET, 16 clients", "ops/s", 16, 100_000, get_op("small")),
        Workload("list", f"LIST, 1,000-key pages of {objects:,} objects", "pages/s", 1,
                 100_000, list_op("list", 1000)),
        Workload("list_versioned", f"LIST, 1,000-key pages of {objects:,} objects, versioned "
                 f"(+{noncurrent} noncurrent versions each)", "pages/s", 1, 100_000,
                 list_op("vlist", 1000)),
    ]
    clients = {s.name: Client(s.endpoint, signer_for(s), 16) for s in servers}
    states: dict[str, dict] = {s.name: {} for s in servers}
    cells = []
    try:
        for server in servers:
            started = time.perf_counter()
            client = clients[server.name]
            await client.call("PUT", "/bench")
            await fill(client, "list", objects)
            if server.name in current and server.name != "null":
                await fill_versioned(client, "vlist", objects, noncurrent)
            print(f"setup {server.name}: {time.perf_counter() - started:.0f} s", flush=True)
        for workload in workloads:
            chosen = [s for s in servers if workload.name != "list_versioned"
                      or (s.name in current and s.name != "null")]
            results: dict[str, list[float]] = {s.name: [] for s in chosen}
            for round_ in range(rounds):
                for server in chosen:
                    measured = await measure(server, clients[server.name], workload,
                                             states[server.name], round_, duration)
                    results[server.name].append(measured["value"])
            for name, values in results.items():
                cells.append({"workload": workload.name, "label": workload.label,
                              "unit": workload.unit, "server": name, "rounds": values,
                              "value": statistics.median(values)})
            print(workload.name + ": " + ", ".join(
                f"{c['server']} {c['value']:.1f}" for c in cells[-len(chosen):]), flush=True)
    finally:
        for client in clients.values():
            await client.close()
    null = {c["workload"]: c["value"] for c in cells if c["server"] == "null"}
    null["list_versioned"] = null.get("list")
    for cell in cells:
        base = null.get(cell["workload"])
        cell["ratio_to_null"] = cell["value"] / base if base else None
    return cells


def table(cells: list[dict], names: list[str], baseline: str) -> str:
    by = {(c["workload"], c["server"]): c for c in cells}
    lines = ["| workload | unit | " + " | ".join(names) + " |",
             "|---|---|" + "---:|" * len(names)]
    for workload in dict.fromkeys(c["workload"] for c in cells):
        row = [next(c for c in cells if c["workload"] == workload)]
        label, unit = row[0]["label"], row[0]["unit"]
        values = []
        for name in names:
            cell = by.get((workload, name))
            if cell is None:
                values.append("—")
                continue
            text = f"{cell['value']:,.1f}"
            if cell["ratio_to_null"] is not None and name != "null":
                text += f" ({cell['ratio_to_null']:.2f}×)"
            values.append(text)
        lines.append(f"| {label} | {unit} | " + " | ".join(values) + " |")
    lines.append("")
    for backend in ("filesystem", "postgres"):
        for workload in ("put_small", "get_small", "list"):
            now = by.get((workload, f"{backend} now"))
            then = by.get((workload, f"{backend} {baseline}"))
            if now and then:
                lines.append(f"- {backend} {workload}: now / {baseline} = "
                             f"{now['value'] / then['value']:.2f}")
        plain, versioned = by.get(("list", f"{backend} now")), by.get(
            ("list_versioned", f"{backend} now"))
        if plain and versioned:
            lines.append(f"- {backend} LIST: versioned bucket / unversioned bucket = "
                         f"{versioned['value'] / plain['value']:.2f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-rev", default="7ec8739")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--noncurrent", type=int, default=2)
    parser.add_argument("--dsn", default=os.environ.get(
        "POST3_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--output", type=Path, default=HERE / "results")
    args = parser.parse_args()
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="post3-bench-versioning-") as scratch:
        workdir = Path(scratch)
        (workdir / "baseline").mkdir()
        baseline = extract(args.baseline_rev, workdir / "baseline")
        try:
            servers.append(launch(Server("null"), [sys.executable, str(HERE / "null_server.py")],
                                  workdir, dict(os.environ), line=r"^null serving (http://\S+)"))
            for label, source in (("now", None), (args.baseline_rev, baseline)):
                servers.append(start(f"filesystem {label}", "filesystem",
                                     f"root={workdir / ('fs-' + label)}", workdir, source))
                dsn, drop = scratch_database(args.dsn, f"post3_bench_{uuid.uuid4().hex[:12]}")
                server = start(f"postgres {label}", "postgres", f"dsn={dsn}", workdir, source)
                server.cleanup.insert(0, drop)
                servers.append(server)
            broken = [s for s in servers if s.error]
            if broken:
                raise SystemExit("; ".join(f"{s.name}: {s.error}" for s in broken))
            current = {s.name for s in servers if s.name.endswith(" now")}
            cells = asyncio.run(run(servers, current, args.rounds, args.duration,
                                    args.objects, args.noncurrent))
        finally:
            for server in servers:
                server.stop()
    names = [s.name for s in servers]
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": machine(), "baseline_rev": args.baseline_rev, "rounds": args.rounds,
              "duration": args.duration, "cells": cells}
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "versioning.json").write_text(json.dumps(report, indent=2))
    print(f"\nRun {report['date']}, median of {args.rounds} rounds of ~{args.duration} s; "
          f"figures (ratio to the null server)\n")
    print(table(cells, names, args.baseline_rev))
    return 0


if __name__ == "__main__":
    sys.exit(main())
