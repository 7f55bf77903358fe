"""What encryption at rest costs a large object: 64 MiB PUT and GET, encrypted and not, on
every backend, in one run.

    python benchmarks/encryption.py [--rounds 3] [--duration 4] [--size-mib 64]

One run starts ``post3 run`` on loopback for the memory, filesystem and PostgreSQL backends
(authentication on, a master key in ``POST3_MASTER_KEY``), and measures on each, in
interleaved rounds (round 1 of every cell, then round 2...), so noise hits every cell alike:

- PUT of a ``--size-mib`` object at 1 client: plain, SSE-S3 (``x-amz-server-side-encryption:
  AES256``) and SSE-C;
- GET of the same objects, whole, at 1 client.

The order of the modes turns from round to round (plain, SSE-S3, SSE-C; then SSE-S3, SSE-C,
plain...), so that no mode always pays for the work the one before it left behind.

Each cell is the median of ``--rounds`` rounds (MB/s, 10^6 bytes); the table gives encrypted
throughput as a share of the plain one on the same server (the issue's bar: at least 0.80).
Results: a Markdown table on stdout and ``benchmarks/results/encryption.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_client import MIB, Client  # isort: skip  # noqa: E402
from bench_servers import HERE, Server, launch, post3_binary, post3_env, scratch_database  # isort: skip  # noqa: E402
from matrix import machine, signer_for  # isort: skip  # noqa: E402

CUSTOMER_KEY = os.urandom(32)
MODES = {
    "plain": {},
    "sse-s3": {"x-amz-server-side-encryption": "AES256"},
    "sse-c": {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(CUSTOMER_KEY).decode(),
        "x-amz-server-side-encryption-customer-key-MD5":
            base64.b64encode(hashlib.md5(CUSTOMER_KEY).digest()).decode(),
    },
}
#: what a GET of each mode sends (only SSE-C needs its key again)
READ_HEADERS = {"plain": {}, "sse-s3": {}, "sse-c": MODES["sse-c"]}


def start(name: str, backend: str, options: list[str], workdir: Path) -> Server:
    server = Server(name)
    env = post3_env(server)
    env["POST3_CONSOLE"] = "false"
    env["POST3_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    command = [*post3_binary(), "run", "--backend", backend, "--host", "127.0.0.1",
               "--port", "0"]
    for option in options:
        command += ["-o", option]
    return launch(server, command, workdir, env, line=r"^post3 serving (http://\S+) ")


async def get(client: Client, path: str, headers: dict[str, str]) -> int:
    url, signed = client._prepare("GET", path, None, headers)
    received = 0
    async with client.session.get(url, headers=signed) as response:
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {await response.read()!r}")
        while chunk := await response.content.readany():
            received += len(chunk)
    return received


async def cell(server: Server, client: Client, operation: str, mode: str, body: bytes,
               duration: float) -> dict:
    """As many operations as fit in ``duration`` (at least one), one at a time."""
    count, moved = 0, 0
    cpu = server.cpu_seconds()
    start = time.perf_counter()
    deadline = start + duration
    while count == 0 or time.perf_counter() < deadline:
        if operation == "put":
            await client.call("PUT", f"/bench/{mode}", body=body, headers=MODES[mode])
            moved += len(body)
        else:
            moved += await get(client, f"/bench/{mode}", READ_HEADERS[mode])
        count += 1
    elapsed = time.perf_counter() - start
    return {"value": moved / elapsed / 1e6, "ops": count, "seconds": elapsed,
            "server_cpu": (server.cpu_seconds() - cpu) / elapsed}


async def run(servers: list[Server], rounds: int, duration: float, size: int) -> list[dict]:
    body = os.urandom(size)
    clients = {s.name: Client(s.endpoint, signer_for(s), 2) for s in servers}
    results: dict[tuple[str, str, str], list[dict]] = {}
    try:
        for server in servers:
            client = clients[server.name]
            await client.call("PUT", "/bench")
            for mode in MODES:  # so the first GET round has objects
                await client.call("PUT", f"/bench/{mode}", body=body, headers=MODES[mode])
        for operation in ("put", "get"):
            for round_ in range(rounds):
                # The modes' order turns each round: a cell pays for what the one before it
                # left (PostgreSQL's clean-up of the versions it replaced), so no mode always
                # follows the same one.
                modes = list(MODES)[round_ % len(MODES):] + list(MODES)[:round_ % len(MODES)]
                for server in servers:
                    for mode in modes:
                        measured = await cell(server, clients[server.name], operation, mode,
                                              body, duration)
                        results.setdefault((server.name, operation, mode), []).append(measured)
                print(f"{operation} round {round_ + 1}/{rounds} done", flush=True)
    finally:
        for client in clients.values():
            await client.close()
    cells = []
    for (name, operation, mode), measured in results.items():
        values = [m["value"] for m in measured]
        cells.append({"server": name, "operation": operation, "mode": mode, "rounds": measured,
                      "value": statistics.median(values),
                      "server_cpu": statistics.median(m["server_cpu"] for m in measured)})
    plain = {(c["server"], c["operation"]): c["value"] for c in cells if c["mode"] == "plain"}
    for c in cells:
        c["ratio_to_plain"] = c["value"] / plain[(c["server"], c["operation"])]
    return cells


def table(cells: list[dict], size: int) -> str:
    lines = [f"| {size // MIB} MiB, 1 client | " + " | ".join(MODES) + " |",
             "|---|" + "---:|" * len(MODES)]
    for name in dict.fromkeys(c["server"] for c in cells):
        for operation in ("put", "get"):
            row = []
            for mode in MODES:
                c = next(c for c in cells if (c["server"], c["operation"], c["mode"])
                         == (name, operation, mode))
                text = f"{c['value']:,.0f} MB/s"
                if mode != "plain":
                    text += f" ({c['ratio_to_plain']:.2f}×)"
                text += f", s {c['server_cpu']:.0%}"
                row.append(text)
            lines.append(f"| {name} {operation.upper()} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--backends", default="memory,filesystem,postgres")
    parser.add_argument("--dsn", default=os.environ.get(
        "POST3_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--output", type=Path, default=HERE / "results")
    args = parser.parse_args()
    size = args.size_mib * MIB
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="post3-bench-encryption-") as scratch:
        workdir = Path(scratch)
        try:
            for backend in args.backends.split(","):
                if backend == "filesystem":
                    servers.append(start(backend, backend, [f"root={workdir / 'fs'}"], workdir))
                elif backend == "postgres":
                    dsn, drop = scratch_database(args.dsn, f"post3_bench_{uuid.uuid4().hex[:12]}")
                    server = start(backend, backend, [f"dsn={dsn}", "auto_migrate=true"],
                                   workdir)
                    server.cleanup.insert(0, drop)
                    servers.append(server)
                else:
                    servers.append(start(backend, backend, [], workdir))
            broken = [s for s in servers if s.error]
            if broken:
                raise SystemExit("; ".join(f"{s.name}: {s.error}" for s in broken))
            cells = asyncio.run(run(servers, args.rounds, args.duration, size))
        finally:
            for server in servers:
                server.stop()
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": machine(), "rounds": args.rounds, "duration": args.duration,
              "size": size, "cells": cells}
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "encryption.json").write_text(json.dumps(report, indent=2))
    print(f"\nRun {report['date']}, median of {args.rounds} rounds of ~{args.duration} s "
          f"per cell; ratio to plain on the same server; s = server CPU (share of one core)\n")
    print(table(cells, size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
