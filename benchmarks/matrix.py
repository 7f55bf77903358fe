"""The benchmark matrix: post3 on every backend against a null server and its peers, one run.

    python benchmarks/matrix.py                # the full matrix (about 20 minutes)
    python benchmarks/matrix.py --quick        # a reduced run, about a minute
    python benchmarks/matrix.py --big-list     # also LIST a 100,000-object bucket (slow)
    python benchmarks/matrix.py --profile      # py-spy profiles of the hot paths instead

Servers, all started at once on loopback and measured in the same interleaved rounds: a null
aiohttp server (``null_server.py``: drains PUTs, serves a fixed buffer, answers a fixed
listing) and its two storing forms, ``null-disk`` and ``null-postgres`` (the least a
filesystem or a PostgreSQL store does per object, the ceilings of those backends' cells),
``post3 run`` on the memory, filesystem and postgres backends (the last two also
with ``--workers 2``), and, when installed, moto (``moto_server``) and s3rver (Node; found on
PATH or through ``--s3rver``, else installed with npm into a temporary directory when npm
exists). post3 runs with authentication on; every client signs with SigV4
(``UNSIGNED-PAYLOAD``, so neither side hashes the body for the signature). PostgreSQL is a
scratch database per server, created on ``POST3_TEST_DATABASE_URL`` (default the local
server) and dropped at the end.

Every figure is the median of ``--rounds`` rounds, given as ops/s, MB/s (10^6 bytes) or
pages/s, as a ratio to the null server's median in the same run, and with the client's own
CPU (the share of one core this process used during the cell: near 100% means the cell
measured the client, not the server), the server's CPU (its processes) and, for a server on
PostgreSQL, the CPU of the PostgreSQL backends serving its database. Results go to a JSON
file and a Markdown table (printed and written).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from yarl import URL

# Run as a script, this directory is on sys.path: the matrix's own modules beside it.
from bench_client import KIB, MIB, Client, Signer  # isort: skip
from bench_servers import Server, database_cpu_seconds, start_servers  # isort: skip

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
NOISE_NOTE = ("The machine is shared and was noisy while this ran (other people's builds and "
              "tests on the same 2 cores): read ratios to the null server, measured in the "
              "same rounds, rather than absolute figures.")


# --------------------------------------------------------------------------- workloads


@dataclass
class Sizes:
    small: int = 4 * KIB
    medium: int = MIB
    large: int = 64 * MIB
    part: int = 8 * MIB
    parts: int = 8
    list_buckets: tuple[int, ...] = (1000, 10000)
    pages: tuple[int, ...] = (100, 1000)
    duration: float = 2.0
    only: tuple[str, ...] = ()  # workload name prefixes; empty: all

    def selected(self, name: str) -> bool:
        return not self.only or name.startswith(self.only)


@dataclass
class Workload:
    name: str
    label: str
    unit: str  # ops/s, MB/s or pages/s
    clients: int
    max_ops: int
    # make(client, state, round) -> op(worker, index) returning bytes moved, or None to stop
    make: Callable[[Client, dict, int], Callable[[int, int], Awaitable[int | None]]]


def put_op(size: int, prefix: str, bounded: bool, body: bytes):
    def make(client: Client, state: dict, round_: int):
        keys = state.setdefault(prefix, {}).setdefault(round_, [])

        async def op(worker: int, index: int) -> int:
            # Large objects overwrite a few keys (bounded storage), small ones stay distinct
            # so GET, HEAD and DELETE have keys to work on.
            key = (f"{prefix}/{worker}-{index % 4}" if bounded
                   else f"{prefix}/r{round_}/{worker}-{index}")
            await client.call("PUT", f"/bench/{key}", body=body)
            keys.append(key)
            return size
        return op
    return make


def get_op(prefix: str):
    def make(client: Client, state: dict, round_: int):
        keys = sorted(set(state[prefix][0]))

        async def op(worker: int, index: int) -> int:
            return await client.get_size(f"/bench/{keys[(worker * 7919 + index) % len(keys)]}")
        return op
    return make


def head_op(prefix: str):
    def make(client: Client, state: dict, round_: int):
        keys = state[prefix][0]

        async def op(worker: int, index: int) -> int:
            await client.call("HEAD", f"/bench/{keys[(worker * 7919 + index) % len(keys)]}")
            return 0
        return op
    return make


def delete_op(prefix: str):
    def make(client: Client, state: dict, round_: int):
        # Round 0's keys serve GET and HEAD; DELETE takes the other rounds' (and round 0's
        # last, in the last round).
        pool = list(state[prefix].get(round_ + 1) or state[prefix].get(0, []))

        async def op(worker: int, index: int) -> int | None:
            if not pool:
                return None
            await client.call("DELETE", f"/bench/{pool.pop()}")
            return 0
        return op
    return make


def multipart_op(part: int, parts: int, body: bytes):
    def make(client: Client, state: dict, round_: int):
        async def op(worker: int, index: int) -> int:
            path = f"/bench/multipart/{worker}-{index % 2}"
            _, reply, _ = await client.call("POST", path, {"uploads": ""})
            upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", reply).group(1).decode()
            limit = asyncio.Semaphore(4)  # boto3's transfer manager sends parts in parallel

            async def upload(number: int) -> str:
                async with limit:
                    _, _, headers = await client.call(
                        "PUT", path, {"partNumber": str(number), "uploadId": upload_id},
                        body=body)
                return headers.get("ETag", '"0"')

            etags = await asyncio.gather(*(upload(n) for n in range(1, parts + 1)))
            xml = "<CompleteMultipartUpload>" + "".join(
                f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
                for n, etag in enumerate(etags, 1)) + "</CompleteMultipartUpload>"
            await client.call("POST", path, {"uploadId": upload_id}, body=xml.encode())
            return part * parts
        return op
    return make


def list_op(bucket: str, page: int):
    def make(client: Client, state: dict, round_: int):
        cursor: dict[str, str | None] = {"token": None}

        async def op(worker: int, index: int) -> int:
            params = {"list-type": "2", "max-keys": str(page)}
            if cursor["token"]:
                params["continuation-token"] = cursor["token"]
            _, reply, _ = await client.call("GET", f"/{bucket}", params)
            token = re.search(rb"<NextContinuationToken>([^<]+)</NextContinuationToken>", reply)
            # From the top again at the end of the bucket: every page costs the same work.
            cursor["token"] = html.unescape(token.group(1).decode()) if token else None
            if reply.count(b"<Key>") == 0:
                raise RuntimeError(f"LIST {bucket}: empty page")
            return 0
        return op
    return make


def workloads(sizes: Sizes) -> list[Workload]:
    small, medium, large = (os.urandom(sizes.small), os.urandom(sizes.medium),
                            os.urandom(sizes.large))
    part = os.urandom(sizes.part)
    many = 100_000
    result = [
        Workload("put_small", f"{fmt_size(sizes.small)} PUT, 16 clients", "ops/s", 16, many,
                 put_op(sizes.small, "small", False, small)),
        Workload("get_small", f"{fmt_size(sizes.small)} GET, 16 clients", "ops/s", 16, many,
                 get_op("small")),
        Workload("head", "HEAD, 16 clients", "ops/s", 16, many, head_op("small")),
        Workload("delete", "DELETE, 16 clients", "ops/s", 16, many, delete_op("small")),
        Workload("put_medium", f"{fmt_size(sizes.medium)} PUT, 4 clients", "MB/s", 4, 10_000,
                 put_op(sizes.medium, "medium", True, medium)),
        Workload("get_medium", f"{fmt_size(sizes.medium)} GET, 4 clients", "MB/s", 4, 10_000,
                 get_op("medium")),
        Workload("put_large", f"{fmt_size(sizes.large)} PUT, 1 client", "MB/s", 1, 8,
                 put_op(sizes.large, "large", True, large)),
        Workload("get_large", f"{fmt_size(sizes.large)} GET, 1 client", "MB/s", 1, 8,
                 get_op("large")),
        Workload("multipart", f"multipart upload, {sizes.parts} × {fmt_size(sizes.part)} parts "
                 "(4 in parallel)", "MB/s", 1, 4, multipart_op(sizes.part, sizes.parts, part)),
    ]
    for count in sizes.list_buckets:
        for page in sizes.pages:
            if page <= count:
                result.append(Workload(
                    f"list_{page}_of_{count}",
                    f"LIST, {page:,}-key pages of a {count:,}-object bucket", "pages/s", 1,
                    many, list_op(f"list-{count}", page)))
    return result


def fmt_size(size: int) -> str:
    for unit, name in ((MIB, "MiB"), (KIB, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} B"


# --------------------------------------------------------------------------- measuring


async def measure(server: Server, client: Client, workload: Workload, state: dict,
                  round_: int, duration: float) -> dict:
    op = workload.make(client, state, round_)
    # Open the connections first, so the timed part does not pay for them.
    # Any answer will do (s3rver sometimes answers 500 to a HEAD of a bucket).
    await asyncio.gather(*(client.call("HEAD", "/bench", ok=tuple(range(200, 600)))
                           for _ in range(workload.clients)))
    counts = {"ops": 0, "bytes": 0, "issued": 0}
    deadline = time.perf_counter() + duration

    async def worker(number: int) -> None:
        index = 0
        while counts["issued"] < workload.max_ops and (
                time.perf_counter() < deadline or counts["ops"] == 0):
            counts["issued"] += 1
            moved = await op(number, index)
            if moved is None:
                return
            counts["ops"] += 1
            counts["bytes"] += moved
            index += 1

    database = server.database_ticks()
    cpu, server_cpu, start = time.process_time(), server.cpu_seconds(), time.perf_counter()
    await run_all(worker(n) for n in range(workload.clients))
    elapsed = time.perf_counter() - start
    cpu, server_cpu = time.process_time() - cpu, server.cpu_seconds() - server_cpu
    database_cpu = database_cpu_seconds(database, server.database_ticks())
    if workload.unit == "MB/s":
        value = counts["bytes"] / elapsed / 1e6
    else:
        value = counts["ops"] / elapsed
    return {"value": value, "ops": counts["ops"], "seconds": elapsed,
            "client_cpu": cpu / elapsed, "server_cpu": server_cpu / elapsed,
            "database_cpu": None if database_cpu is None else database_cpu / elapsed,
            "server_cpu_us_per_op": server_cpu / counts["ops"] * 1e6 if counts["ops"] else None}


async def fill(client: Client, bucket: str, count: int) -> None:
    """``count`` empty objects, 16 at a time (LIST measures the keys, not the bytes)."""
    await client.call("PUT", f"/{bucket}")
    numbers = iter(range(count))

    async def worker() -> None:
        for number in numbers:
            await client.call("PUT", f"/{bucket}/k{number:07d}", body=b"")

    await run_all(worker() for _ in range(16))


async def analyze(dsn: str, *, settle: bool = False) -> None:
    """ANALYZE a scratch database, as autovacuum keeps a live server's statistics in step with
    its tables; the development server runs with autovacuum off. With ``settle`` (once
    filled) VACUUM it too, then CHECKPOINT it, as such a server would stand soon after the
    load.

    Once filled: without statistics PostgreSQL plans a listing page as a scan of the rest of
    the bucket and a sort (36 ms for the first page of 100,000 objects instead of 1.4 ms), and
    without a vacuum every page of a listing is the first to read rows no vacuum has visited
    (it sets their hint bits and writes the page back) while the server is still writing out
    what the fill dirtied, which no server with autovacuum keeps doing.

    Before every round, outside the timed part (each ANALYZE also makes every backend plan
    its statements again): the tables grow by thousands of rows a round, and a backend keeps
    the plans it made while they were small (of its prepared statements and of the
    foreign-key checks it caches), scans that grow with the tables. Analyzed once only,
    4 KiB PUTs fell round after round (post3: 1,085, 875, 716/s; null-postgres: 2,029,
    1,810, 1,494/s); the same statement from a fresh pool ran at four times the rate of the
    pool that had planned it on near-empty tables."""
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        if not settle:
            await connection.execute("ANALYZE")
            return
        await connection.execute("VACUUM (ANALYZE)")
        try:
            await connection.execute("CHECKPOINT")
        except asyncpg.InsufficientPrivilegeError:
            pass  # the load's writes then go out in the background, as on a busy server
    finally:
        await connection.close()


async def run_all(coroutines) -> None:
    """Run concurrently; on the first failure cancel the rest (a plain gather would leave
    them running into the next cell) and raise that failure."""
    try:
        async with asyncio.TaskGroup() as group:
            for coroutine in coroutines:
                group.create_task(coroutine)
    except ExceptionGroup as failures:
        raise failures.exceptions[0] from None


def signer_for(server: Server) -> Signer:
    return Signer(server.access_key, server.secret_key, URL(server.endpoint).raw_authority)


async def run_matrix(servers: list[Server], sizes: Sizes, rounds: int,
                     progress: Callable[[str], None]) -> list[dict]:
    clients = {s.name: Client(s.endpoint, signer_for(s), 16) for s in servers}
    states: dict[str, dict] = {s.name: {} for s in servers}
    failed: dict[str, str] = {}
    try:
        for server in servers:
            client = clients[server.name]
            started = time.perf_counter()
            try:
                await client.call("PUT", "/bench")
                for count in sizes.list_buckets if sizes.selected("list") else ():
                    await fill(client, f"list-{count}", count)
                if server.dsn:
                    await analyze(server.dsn, settle=True)
            except Exception as exc:  # a peer that cannot do the basics is left out
                failed[server.name] = f"setup: {exc}"
            progress(f"setup {server.name}: {time.perf_counter() - started:.1f}s")
        cells = []
        for workload in workloads(sizes):
            if not sizes.selected(workload.name):
                continue
            results: dict[str, list[dict]] = {s.name: [] for s in servers}
            errors: dict[str, str] = {}
            for round_ in range(rounds):
                for server in servers:  # interleaved: every server sees the same noise
                    if server.name in failed or server.name in errors:
                        continue
                    try:
                        if server.dsn:
                            await analyze(server.dsn)
                        results[server.name].append(await measure(
                            server, clients[server.name], workload, states[server.name],
                            round_, sizes.duration))
                    except Exception as exc:
                        errors[server.name] = f"{type(exc).__name__}: {exc}"[:300]
            for server in servers:
                cells.append(summarise(workload, server.name, results[server.name],
                                       failed.get(server.name) or errors.get(server.name)))
            progress(f"{workload.name}: " + ", ".join(
                f"{c['server']} {fmt_value(c['value'])}" for c in cells[-len(servers):]))
        add_ratios(cells)
        return cells
    finally:
        for client in clients.values():
            await client.close()


def summarise(workload: Workload, server: str, rounds: list[dict], error: str | None) -> dict:
    def median(name: str) -> float | None:
        values = [r[name] for r in rounds if r[name] is not None]
        return statistics.median(values) if values else None

    return {"workload": workload.name, "label": workload.label, "unit": workload.unit,
            "clients": workload.clients, "server": server,
            "value": median("value") if rounds else None, "rounds": [r["value"] for r in rounds],
            "ops": sum(r["ops"] for r in rounds), "client_cpu": median("client_cpu"),
            "server_cpu": median("server_cpu"), "database_cpu": median("database_cpu"),
            "server_cpu_us_per_op": median("server_cpu_us_per_op"), "error": error,
            "ratio_to_null": None}


def add_ratios(cells: list[dict]) -> None:
    null = {c["workload"]: c["value"] for c in cells if c["server"] == "null"}
    for cell in cells:
        base = null.get(cell["workload"])
        if base and cell["value"] is not None:
            cell["ratio_to_null"] = cell["value"] / base


# --------------------------------------------------------------------------- reporting


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
                     .group(1)) * 1024
    except (OSError, AttributeError):
        memory = 0
    return {"cores": os.cpu_count(), "cpu": model or platform.processor(),
            "memory_gb": round(memory / 1e9, 1), "os": platform.platform(),
            "load_average_at_start": os.getloadavg()}


def versions(servers: list[Server], dsn: str) -> dict:
    from importlib import metadata

    found = {"python": platform.python_version()}
    for name in ("post3", "post3-filesystem", "post3-postgres", "aiohttp", "asyncpg", "moto"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    try:
        commit = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse",
                                 "--short", "HEAD"], capture_output=True, text=True)
        if commit.returncode == 0:
            found["post3 commit"] = commit.stdout.strip()
    except OSError:  # no git: a source tree without history
        pass
    names = {s.name for s in servers}
    if any(n.startswith("post3-postgres") for n in names):
        try:
            import asyncpg

            async def server_version() -> str:
                connection = await asyncpg.connect(dsn)
                try:
                    return await connection.fetchval("SHOW server_version")
                finally:
                    await connection.close()

            found["postgresql"] = asyncio.run(server_version())
        except Exception:
            pass
    for server in servers:
        if server.name == "s3rver":
            package = Path(server.command[0]).resolve().parents[1] / "package.json"
            try:
                found["s3rver"] = json.loads(package.read_text())["version"]
            except (OSError, ValueError, KeyError):
                pass
            found["node"] = subprocess.run(["node", "--version"], capture_output=True,
                                           text=True).stdout.strip()
    return found


def fmt_value(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.2g}"


def markdown(report: dict) -> str:
    servers = report["servers"]
    m = report["machine"]
    lines = [
        f"Run {report['date']}, {report['mode']} mode, median of {report['rounds']} "
        f"round(s) of ~{report['duration']} s per cell; {m['cores']} cores ({m['cpu']}), "
        f"{m['memory_gb']} GB, load average at start {m['load_average_at_start'][0]:.2f}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + ".",
        "",
        "Each cell: the median figure, its ratio to the null server, and the client's CPU (c, "
        "share of one core), the server's (s, its processes) and, for a server on PostgreSQL, "
        "that of the PostgreSQL backends serving its database (pg; PostgreSQL's WAL writer "
        "and checkpointer not counted).",
        "",
        "| workload | unit | " + " | ".join(servers) + " |",
        "|---|---|" + "---:|" * len(servers),
    ]
    by_key = {(c["workload"], c["server"]): c for c in report["cells"]}
    seen: list[tuple[str, str, str]] = []
    for cell in report["cells"]:
        row = (cell["workload"], cell["label"], cell["unit"])
        if row not in seen:
            seen.append(row)
    for workload, label, unit in seen:
        row = [label, unit]
        for server in servers:
            cell = by_key.get((workload, server))
            if cell is None or cell["value"] is None:
                row.append("error" if cell and cell["error"] else "—")
                continue
            text = f"**{fmt_value(cell['value'])}**"
            if cell["ratio_to_null"] is not None and server != "null":
                text += f" {fmt_ratio(cell['ratio_to_null'])}×"
            text += f" c{cell['client_cpu'] * 100:.0f}% s{cell['server_cpu'] * 100:.0f}%"
            if cell.get("database_cpu") is not None:
                text += f" pg{cell['database_cpu'] * 100:.0f}%"
            row.append(text)
        lines.append("| " + " | ".join(row) + " |")
    if report["absent"]:
        lines += ["", "Not measured: " + "; ".join(report["absent"]) + "."]
    errors = [f"{c['server']} {c['workload']}: {c['error']}" for c in report["cells"]
              if c["error"]]
    if errors:
        lines += ["", "Errors: " + "; ".join(errors) + "."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- profiling


def summarise_profile(raw: Path, top: int) -> dict:
    """py-spy's raw (collapsed) stacks -> the functions with the most samples, self and total."""
    self_samples: dict[str, int] = {}
    total_samples: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue  # a frame's name with a line break in it splits its stack: dropped
        count = int(count_text)
        samples += count
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        if frames[0].startswith("process ") or frames[0].startswith("thread "):
            frames = frames[1:]
        if not frames:
            continue
        self_samples[frames[-1]] = self_samples.get(frames[-1], 0) + count
        for frame in set(frames):
            total_samples[frame] = total_samples.get(frame, 0) + count

    def ranked(table: dict[str, int]) -> list[tuple[str, float]]:
        return [(name, n / samples) for name, n in sorted(table.items(), key=lambda i: -i[1])
                [:top]] if samples else []

    return {"samples": samples, "self": ranked(self_samples), "total": ranked(total_samples)}


async def profile_cell(server: Server, workload: Workload, state: dict, duration: float,
                       workdir: Path, rate: int) -> dict:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    raw = workdir / f"profile-{server.name}-{workload.name}.txt".replace(" ", "-")
    client = Client(server.endpoint, signer_for(server), 16)
    try:
        spy = await asyncio.create_subprocess_exec(
            py_spy, "record", "--pid", str(server.process.pid), "--rate", str(rate),
            "--format", "raw", "--nonblocking", "--output", str(raw),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        await asyncio.sleep(1.0)  # attached before the measured requests start
        result = await measure(server, client, workload, state, 0, duration)
        spy.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(spy.communicate(), 60)
    finally:
        await client.close()
    if not raw.exists():
        raise RuntimeError(f"py-spy wrote nothing: {stderr.decode()[-500:]}")
    return {"server": server.name, "workload": workload.name, "label": workload.label,
            "unit": workload.unit, "rate": rate, **result, **summarise_profile(raw, 200),
            "raw": str(raw)}


async def run_profiles(servers: list[Server], sizes: Sizes, workdir: Path,
                       progress: Callable[[str], None], rate: int) -> list[dict]:
    default = {"put_small", "get_small", f"list_1000_of_{max(sizes.list_buckets)}"}
    profiles = []
    for server in servers:
        if not server.name.startswith("post3"):
            continue
        client = Client(server.endpoint, signer_for(server), 16)
        try:
            await client.call("PUT", "/bench")
            await fill(client, f"list-{max(sizes.list_buckets)}", max(sizes.list_buckets))
        finally:
            await client.close()
        state: dict = {}
        for workload in workloads(sizes):
            if sizes.selected(workload.name) if sizes.only else workload.name in default:
                profiles.append(await profile_cell(server, workload, state, sizes.duration,
                                                   workdir, rate))
                progress(f"profiled {server.name} {workload.name}")
    return profiles


def own_frame(frame: str) -> bool:
    """A post3 frame below the request dispatch (the frames above it are on every stack)."""
    return bool(re.search(r"\((post3|post3_filesystem|post3_postgres)/", frame)) and not any(
        outer in frame for outer in ("post3/cli.py", "observe", "handle_s3_request"))


def profile_markdown(profiles: list[dict]) -> str:
    lines = []
    for p in profiles:
        # py-spy's samples are of threads that were not idle: CPU, and also time blocked in
        # a system call (fsync, flock) that it cannot tell apart from CPU. /proc gives the CPU.
        per_op = p["samples"] / p["rate"] / p["ops"] * 1e6 if p["ops"] else 0
        cpu = p["server_cpu_us_per_op"] or 0
        lines += [f"### {p['server']}: {p['label']}", "",
                  f"{fmt_value(p['value'])} {p['unit']} under py-spy; {per_op:,.0f} µs of busy "
                  f"thread time per request sampled ({p['samples']} samples), {cpu:,.0f} µs of "
                  "server CPU per request (/proc).", "",
                  "| function (self) | share | µs/request |", "|---|---:|---:|"]
        for name, share in p["self"][:15]:
            lines.append(f"| `{name}` | {share * 100:.1f}% | {share * per_op:,.0f} |")
        lines += ["", "| post3 function (inclusive) | share | µs/request |", "|---|---:|---:|"]
        for name, share in [(n, s) for n, s in p["total"] if own_frame(n)][:15]:
            lines.append(f"| `{name}` | {share * 100:.1f}% | {share * per_op:,.0f} |")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


ALL_SERVERS = ("null", "null-disk", "null-postgres", "memory", "filesystem", "filesystem-w2",
               "filesystem-nofsync", "postgres", "postgres-w2", "moto", "s3rver")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="one short round, 1,000-object LIST only: about a minute")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny objects and buckets: checks the tool works (tests), no speed")
    parser.add_argument("--big-list", action="store_true",
                        help="also LIST a 100,000-object bucket (filling it takes minutes)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per cell (default 3)")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds per cell and round (default 2)")
    parser.add_argument("--servers", default=",".join(ALL_SERVERS),
                        help=f"comma-separated subset of {','.join(ALL_SERVERS)}")
    parser.add_argument("--workloads", default="",
                        help="comma-separated workload name prefixes, e.g. list or put_,get_ "
                        "(GET, HEAD and DELETE need put_small; default: all)")
    parser.add_argument("--dsn", default=os.environ.get("POST3_TEST_DATABASE_URL", DEFAULT_DSN),
                        help="a PostgreSQL DSN allowed to CREATE DATABASE")
    parser.add_argument("--baseline-rev", default=None,
                        help="also run the post3 servers from this git revision of the post3 "
                        "package and its plugins' packages, in the same rounds")
    parser.add_argument("--s3rver", default=None, help="path of the s3rver executable")
    parser.add_argument("--no-install", action="store_true",
                        help="never npm-install s3rver into a temporary directory")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "results",
                        help="directory for matrix.json and matrix.md")
    parser.add_argument("--profile", action="store_true",
                        help="instead of the matrix: py-spy the post3 servers on 4 KiB PUT, "
                        "GET and LIST, or on --workloads (filesystem and postgres by default)")
    parser.add_argument("--profile-rate", type=int, default=250, help="py-spy samples/s")
    args = parser.parse_args(argv)
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(args.servers) - set(ALL_SERVERS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    if args.profile and args.servers == list(ALL_SERVERS):
        args.servers = ["filesystem", "postgres"]
    return args


def sizes_for(args: argparse.Namespace) -> tuple[Sizes, int]:
    sizes, rounds = Sizes(), 3
    if args.big_list:
        sizes.list_buckets = (1000, 10000, 100000)
    if args.quick:
        sizes.list_buckets = (1000, 100000) if args.big_list else (1000,)
        sizes.duration, rounds = 0.4, 1
        sizes.parts = 4
    if args.tiny:
        sizes = Sizes(small=1 * KIB, medium=16 * KIB, large=64 * KIB, part=16 * KIB, parts=1,
                      list_buckets=(30,), pages=(10,), duration=0.1)
        rounds = 1
    if args.duration is not None:
        sizes.duration = args.duration
    sizes.only = tuple(w.strip() for w in args.workloads.split(",") if w.strip())
    return sizes, args.rounds or rounds


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes, rounds = sizes_for(args)

    def progress(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="post3-matrix-"))
    servers: list[Server] = []
    try:
        servers, absent = start_servers(args, workdir)
        progress("serving: " + ", ".join(f"{s.name} {s.endpoint}" for s in servers))
        for line in absent:
            progress(f"absent: {line}")
        report = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "mode": "tiny" if args.tiny else "quick" if args.quick else "full",
            "rounds": rounds, "duration": sizes.duration, "machine": machine(),
            "versions": versions(servers, args.dsn), "servers": [s.name for s in servers],
            "commands": {s.name: s.command for s in servers}, "absent": absent,
            "note": NOISE_NOTE,
        }
        args.output.mkdir(parents=True, exist_ok=True)
        if args.profile:
            report["profiles"] = asyncio.run(run_profiles(servers, sizes, workdir, progress,
                                                          args.profile_rate))
            text = profile_markdown(report["profiles"])
            (args.output / "profile.json").write_text(json.dumps(report, indent=1) + "\n")
            (args.output / "profile.md").write_text(text)
        else:
            report["cells"] = asyncio.run(run_matrix(servers, sizes, rounds, progress))
            text = markdown(report)
            (args.output / "matrix.json").write_text(json.dumps(report, indent=1) + "\n")
            (args.output / "matrix.md").write_text(text)
        print(text)
        return 0
    finally:
        for server in servers:
            server.stop()
        if not args.profile:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
