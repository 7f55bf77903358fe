"""4 KiB PUTs exactly as boto3 sends them, against the current tree and an earlier revision.

    python benchmarks/boto3_put.py --backend memory|filesystem|postgres
                                   [--baseline-rev REV] [--rounds 8] [--seconds 3] [--clients 16]

``matrix.py``'s client signs ``UNSIGNED-PAYLOAD`` and sends no ``Expect``. boto3 over http
(what most users of post3 run) does more, and the server pays for it: it signs the payload
(``x-amz-content-sha256`` is the body's SHA-256, which the server hashes again), sends
``x-amz-checksum-crc32``, and ``Expect: 100-continue``, so every PUT is two exchanges: the
head, answered ``100 Continue`` once the request is authenticated and its bucket known, then
the body. Here botocore itself signs 64 PutObject requests (its ``before-send`` event hands
over the exact head it would send) and the client replays them over ``--clients`` raw
connections, waiting for ``100 Continue`` before each body as botocore does; a replay is
valid for the 15 minutes SigV4 allows. A boto3 client costs ~1 ms of CPU per request, so
driving the server with boto3 itself would measure boto3 on a 2-core machine.

The figure to read is the server's CPU per PUT (utime + stime of its process from ``/proc``,
over the round): throughput on a shared machine moves with everybody else's load. With
``--baseline-rev``, post3 as it was at ``REV`` (its ``post3`` package first on
``PYTHONPATH``; the plugins are the current tree's) runs beside the current tree, in
alternating order round after round, and each round's ratio is reported with their median.
PostgreSQL gets a scratch database per server (``--dsn``, default
``postgresql://postgres@127.0.0.1:5432/postgres``), dropped at the end; the filesystem a
temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ACCESS_KEY, SECRET_KEY = "AKIDBENCHPUT", "benchmark-secret"
BUCKET = "bench"
BODY = os.urandom(4096)


def signed_heads(port: int, count: int) -> list[bytes]:
    """``count`` PutObject request heads as botocore builds them (default configuration)."""
    import boto3

    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}",
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                          region_name="us-east-1")
    heads: list[bytes] = []

    class Captured(Exception):
        pass

    def capture(request, **_: object) -> None:  # type: ignore[no-untyped-def]
        url = urlsplit(request.url)
        lines = [f"PUT {url.path}{'?' + url.query if url.query else ''} HTTP/1.1"]
        for name, value in request.headers.items():
            lines.append(f"{name}: {value.decode() if isinstance(value, bytes) else value}")
        heads.append(("\r\n".join(lines) + "\r\n\r\n").encode())
        raise Captured

    client.meta.events.register("before-send.s3.PutObject", capture)
    for n in range(count):
        try:
            client.put_object(Bucket=BUCKET, Key=f"small/{n}", Body=BODY)
        except Captured:
            pass
    return heads


async def _response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:") and int(line.split(b":")[1]):
            await reader.readexactly(int(line.split(b":")[1]))
    return head


async def _connection(port: int, heads: list[bytes], deadline: float, done: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        n = 0
        while time.perf_counter() < deadline:
            writer.write(heads[n % len(heads)])
            n += 1
            interim = await _response(reader)
            if not interim.startswith(b"HTTP/1.1 100 "):
                raise SystemExit(f"expected 100 Continue, got {interim!r}")
            writer.write(BODY)
            final = await _response(reader)
            if not final.startswith(b"HTTP/1.1 200 "):
                raise SystemExit(f"PUT failed: {final!r}")
            done[0] += 1
    finally:
        writer.close()


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_round(port: int, pid: int, heads: list[bytes], seconds: float, clients: int
              ) -> tuple[float, float]:
    """PUTs per second and server CPU microseconds per PUT."""
    async def main() -> int:
        done = [0]
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(_connection(port, heads[k::clients] or heads, deadline, done)
                               for k in range(clients)))
        return done[0]

    cpu, started = cpu_seconds(pid), time.perf_counter()
    count = asyncio.run(main())
    wall, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
    return count / wall, cpu / max(count, 1) * 1e6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(self, name: str, source: Path | None, backend: str, dsn: str,
                 scratch: Path) -> None:
        self.name, self.port = name, free_port()
        options: list[str] = []
        self.database: str | None = None
        self.dsn = dsn
        if backend == "filesystem":
            options = ["-o", f"root={scratch / name}"]
        elif backend == "postgres":
            self.database = f"post3_bench_put_{uuid.uuid4().hex[:8]}"
            self._psql(f"CREATE DATABASE {self.database}")
            options = ["-o", f"dsn={dsn.rsplit('/', 1)[0]}/{self.database}",
                       "-o", "auto_migrate=true"]
        env = dict(os.environ, POST3_ACCESS_KEY=ACCESS_KEY, POST3_SECRET_KEY=SECRET_KEY)
        if source is not None:
            env["PYTHONPATH"] = str(source)
        self.log = open(scratch / f"{name.replace('@', '-')}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "post3", "run", "--backend", backend, *options,
             "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=scratch)

    def _psql(self, statement: str) -> None:
        subprocess.run(["psql", "-q", self.dsn, "-c", statement], check=True)

    def ready(self) -> None:
        import boto3

        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit(f"{self.name} did not start: see {self.log.name}") from None
                time.sleep(0.2)
        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.port}",
                     aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                     region_name="us-east-1").create_bucket(Bucket=BUCKET)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()
        self.log.close()
        if self.database is not None:
            self._psql(f"DROP DATABASE IF EXISTS {self.database}")


def extract(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", revision, "post3"],
                             check=True, capture_output=True).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="memory", choices=["memory", "filesystem", "postgres"])
    parser.add_argument("--baseline-rev")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--dsn", default=os.environ.get(
        "POST3_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="post3-bench-put-"))
    servers: list[Server] = []
    try:
        servers.append(Server("now", None, args.backend, args.dsn, scratch))
        if args.baseline_rev:
            source = extract(args.baseline_rev, scratch / "baseline")
            servers.append(Server(f"@{args.baseline_rev}", source, args.backend, args.dsn,
                                  scratch))
        for server in servers:
            server.ready()
        heads = {server.name: signed_heads(server.port, 64) for server in servers}
        results: dict[str, list[tuple[float, float]]] = {server.name: [] for server in servers}
        for round_number in range(args.rounds):
            order = servers if round_number % 2 == 0 else servers[::-1]
            for server in order:
                rate, cpu = run_round(server.port, server.process.pid, heads[server.name],
                                      args.seconds, args.clients)
                results[server.name].append((rate, cpu))
                print(f"round {round_number + 1} {server.name}: {rate:,.0f} PUT/s, "
                      f"server CPU {cpu:,.0f} us/PUT", flush=True)
        print(f"\n{args.backend}, {args.clients} clients, median of {args.rounds} rounds of "
              f"{args.seconds:g} s; load average {os.getloadavg()[0]:.1f} at the end")
        for server in servers:
            rates, cpus = zip(*results[server.name], strict=True)
            print(f"  {server.name}: {statistics.median(rates):,.0f} PUT/s, "
                  f"{statistics.median(cpus):,.0f} us of server CPU per PUT")
        if len(servers) == 2:
            now, before = (results[server.name] for server in servers)
            rate_ratios = [a[0] / b[0] for a, b in zip(now, before, strict=True)]
            cpu_ratios = [a[1] / b[1] for a, b in zip(now, before, strict=True)]
            print(f"  now / {servers[1].name}, median of the rounds' ratios: "
                  f"{statistics.median(rate_ratios):.2f}x PUT/s, "
                  f"{statistics.median(cpu_ratios):.2f}x CPU per PUT")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
