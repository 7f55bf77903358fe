"""The servers of the benchmark matrix: started on loopback, watched through /proc, stopped."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    endpoint: str = ""
    access_key: str = "bench"
    secret_key: str = "bench-secret"
    process: subprocess.Popen | None = None
    command: list[str] = field(default_factory=list)
    cleanup: list[Callable[[], None]] = field(default_factory=list)
    error: str = ""
    #: post3-postgres's scratch database
    dsn: str = ""

    def pids(self) -> list[int]:
        """The server's process and its descendants (the workers of ``--workers N``)."""
        if self.process is None:
            return []
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
        return found

    def cpu_seconds(self) -> float:
        return sum(filter(None, map(cpu_ticks, self.pids()))) / CLOCK_TICK

    def database_ticks(self) -> dict[int, int] | None:
        """CPU ticks of each PostgreSQL backend serving this server's database, found by the
        title PostgreSQL gives its processes ("postgres: 15/main: USER DATABASE HOST(PORT)
        ..."); None for a server with no database. PostgreSQL's shared processes (the WAL
        writer, the checkpointer) are not counted."""
        if not self.dsn:
            return None
        name = f" {self.dsn.rpartition('/')[2]} ".encode()
        found: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and name in title:
                ticks = cpu_ticks(int(entry.name))
                if ticks is not None:
                    found[int(entry.name)] = ticks
        return found

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for step in reversed(self.cleanup):
            step()


def cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime


def database_cpu_seconds(before: dict[int, int] | None, after: dict[int, int] | None
                         ) -> float | None:
    """The CPU the database's backends spent between two ``database_ticks``: a backend
    started meanwhile counts whole, one that ended meanwhile is lost (the pools keep theirs)."""
    if before is None or after is None:
        return None
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / CLOCK_TICK


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_line(process: subprocess.Popen, pattern: str, timeout: float) -> str | None:
    """The first stdout line matching ``pattern`` (group 1), the pipe drained afterwards."""
    found: list[str] = []
    done = threading.Event()

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            match = re.search(pattern, line)
            if match and not found:
                found.append(match.group(1))
                done.set()
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    done.wait(timeout)
    return found[0] if found else None


def wait_for_port(port: int, process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def launch(server: Server, command: list[str], workdir: Path, env: dict[str, str],
           line: str | None = None, port: int | None = None, timeout: float = 60) -> Server:
    server.command = command
    log = open(workdir / f"{server.name}.stderr", "w")  # noqa: SIM115 (closed in cleanup)
    server.cleanup.append(log.close)
    server.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True,
                                      stdin=subprocess.DEVNULL, cwd=workdir, env=env)
    if line is not None:
        endpoint = wait_for_line(server.process, line, timeout)
    else:
        assert port is not None
        endpoint = f"http://127.0.0.1:{port}" if wait_for_port(
            port, server.process, timeout) else None
    if endpoint is None:
        server.stop()
        server.error = f"did not start: {(workdir / f'{server.name}.stderr').read_text()[-500:]}"
    else:
        server.endpoint = endpoint
    return server


def post3_env(server: Server, source: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POST3_")}
    env["POST3_ACCESS_KEY"], env["POST3_SECRET_KEY"] = server.access_key, server.secret_key
    if source is not None:  # an earlier revision's post3 package, ahead of the installed one
        env["PYTHONPATH"] = str(source)
    return env


def extract_revision(revision: str, into: Path) -> Path:
    """The post3 package and both plugins' packages as they were at ``revision`` (``git
    archive``), side by side under ``into``, which goes first on ``PYTHONPATH``: the installed
    entry points name the modules, and these copies are found first. The baseline is the
    whole revision, so a change to a backend is measured as well as one to the core."""
    top = HERE.parent
    paths = ["post3", "plugins/post3-filesystem/post3_filesystem",
             "plugins/post3-postgres/post3_postgres"]
    archive = subprocess.run(["git", "-C", str(top), "archive", revision, *paths],
                             check=True, capture_output=True).stdout
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    for plugin in ("post3_filesystem", "post3_postgres"):
        (into / "plugins" / plugin.replace("_", "-") / plugin).rename(into / plugin)
    return into


def post3_binary() -> list[str]:
    script = Path(sys.executable).with_name("post3")
    return [str(script)] if script.exists() else [sys.executable, "-m", "post3"]


def start_post3(name: str, backend: str, options: list[str], workers: int,
                workdir: Path, source: Path | None = None) -> Server:
    server = Server(name)
    command = [*post3_binary(), "run", "--backend", backend, "--host", "127.0.0.1",
               "--port", "0", "--workers", str(workers)]
    for option in options:
        command += ["-o", option]
    return launch(server, command, workdir, post3_env(server, source),
                  line=r"^post3 serving (http://\S+) ")


def scratch_database(base_dsn: str, name: str) -> tuple[str, Callable[[], None]]:
    """CREATE DATABASE ``name`` on the server of ``base_dsn``; returns its DSN and a dropper."""
    import asyncpg

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(base_dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))  # generated name, nothing to quote

    def drop() -> None:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return f"{base_dsn.rpartition('/')[0]}/{name}", drop


def find_s3rver(explicit: str | None, install: bool) -> str | None:
    if explicit:
        return explicit
    found = shutil.which("s3rver")
    if found:
        return found
    if not install or not shutil.which("npm") or not shutil.which("node"):
        return None
    directory = Path(tempfile.gettempdir()) / "post3-bench-s3rver"
    binary = directory / "node_modules" / ".bin" / "s3rver"
    if not binary.exists():
        directory.mkdir(exist_ok=True)
        result = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "s3rver"],
                                cwd=directory, capture_output=True, text=True)
        if result.returncode != 0 or not binary.exists():
            return None
    return str(binary)


def start_servers(args: argparse.Namespace, workdir: Path) -> tuple[list[Server], list[str]]:
    """Every server asked for; those that cannot run are listed with the reason."""
    wanted = args.servers
    servers: list[Server] = []
    absent: list[str] = []
    if "null" in wanted:
        server = Server("null")
        servers.append(launch(server, [sys.executable, str(HERE / "null_server.py")], workdir,
                              dict(os.environ), line=r"^null serving (http://\S+)"))
    if "null-disk" in wanted:
        server = Server("null-disk")
        command = [sys.executable, str(HERE / "null_server.py"), "--disk",
                   str(workdir / "null-disk-data")]
        servers.append(launch(server, command, workdir, dict(os.environ),
                              line=r"^null-disk serving (http://\S+)"))
    if "null-postgres" in wanted:
        try:
            dsn, drop = scratch_database(args.dsn, f"post3_bench_{uuid.uuid4().hex[:12]}")
        except Exception as exc:  # no PostgreSQL here: the cell is reported absent
            absent.append(f"null-postgres: no database ({exc})")
        else:
            server = Server("null-postgres", cleanup=[drop], dsn=dsn)  # dropped if it fails
            command = [sys.executable, str(HERE / "null_server.py"), "--postgres", dsn]
            servers.append(launch(server, command, workdir, dict(os.environ),
                                  line=r"^null-postgres serving (http://\S+)"))
    variants: list[tuple[str, Path | None]] = [("", None)]
    if args.baseline_rev:  # the same servers again, from an earlier revision of post3
        variants.append((f"@{args.baseline_rev}",
                         extract_revision(args.baseline_rev, workdir / "baseline")))
    for tag, source in variants:
        start_post3_servers(args, workdir, servers, absent, tag, source)
    if "moto" in wanted:
        binary = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
        if Path(binary).exists():
            port = free_port()
            server = Server("moto", access_key="testing", secret_key="testing")
            servers.append(launch(server, [binary, "-H", "127.0.0.1", "-p", str(port)], workdir,
                                  dict(os.environ), port=port))
        else:
            absent.append("moto: moto_server not installed (pip install 'moto[server]')")
    if "s3rver" in wanted:
        binary = find_s3rver(args.s3rver, not args.no_install)
        if binary:
            port = free_port()
            data = workdir / "s3rver-data"
            data.mkdir()
            server = Server("s3rver", access_key="S3RVER", secret_key="S3RVER")
            # s3rver's continuation tokens use a cipher OpenSSL 3 keeps in its legacy provider
            env = {**os.environ, "NODE_OPTIONS": "--openssl-legacy-provider"}
            servers.append(launch(server, [binary, "-d", str(data), "-a", "127.0.0.1", "-p",
                                           str(port), "--silent", "--no-vhost-buckets"],
                                  workdir, env, port=port))
        else:
            absent.append("s3rver: not installed and npm not available")
    for server in servers:
        if server.error:
            absent.append(f"{server.name}: {server.error}")
    return [s for s in servers if not s.error], absent


def start_post3_servers(args: argparse.Namespace, workdir: Path, servers: list[Server],
                        absent: list[str], tag: str, source: Path | None) -> None:
    """post3 on the backends asked for; ``tag`` names a baseline revision's servers."""
    wanted = args.servers
    if "memory" in wanted:
        servers.append(start_post3(f"post3-memory{tag}", "memory", [], 1, workdir, source))
    for workers in (1, 2):
        suffix = "" if workers == 1 else f" w{workers}"
        if f"filesystem{suffix.replace(' ', '-')}" in wanted:
            root = workdir / f"fs-data-{workers}{tag}"
            servers.append(start_post3(f"post3-filesystem{suffix}{tag}", "filesystem",
                                       [f"root={root}"], workers, workdir, source))
        if workers == 1 and "filesystem-nofsync" in wanted:
            # -o fsync=false: writes not made durable, as the peers store (moto in memory,
            # s3rver with no fsync), to compare like with like.
            root = workdir / f"fs-data-nofsync{tag}"
            servers.append(start_post3(f"post3-filesystem nofsync{tag}", "filesystem",
                                       [f"root={root}", "fsync=false"], 1, workdir, source))
        if f"postgres{suffix.replace(' ', '-')}" in wanted:
            try:
                dsn, drop = scratch_database(args.dsn, f"post3_bench_{uuid.uuid4().hex[:12]}")
            except Exception as exc:  # no PostgreSQL here: the cell is reported absent
                absent.append(f"post3-postgres{suffix}{tag}: no database ({exc})")
                continue
            server = start_post3(f"post3-postgres{suffix}{tag}", "postgres",
                                 [f"dsn={dsn}", "auto_migrate=true"], workers, workdir,
                                 source)
            server.cleanup.insert(0, drop)
            server.dsn = dsn
            servers.append(server)
