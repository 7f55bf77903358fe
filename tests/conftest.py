"""Fixtures shared by the whole test tree: a live ``post3 run`` and a clean client environment.

``post3_server`` starts the real command line in a subprocess on an ephemeral port, once per
backend for the whole session (pytest groups the tests by backend), and stops it afterwards.
Tests get isolation from fresh bucket names (``bucket_name``), not from fresh servers.

Backends: ``memory`` always; ``filesystem`` and ``postgres`` when their distributions are
installed. PostgreSQL that cannot be reached skips its tests, unless
``POST3_REQUIRE_POSTGRES=1`` turns that into a failure (CI sets it where PostgreSQL runs).
The database is a fresh one per session, made and dropped with ``post3_postgres.testing``
(server: ``POST3_TEST_DATABASE_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: Fake credentials: authentication is not what these tests are about, but every client signs.
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
SERVING_LINE = re.compile(r"^post3 serving (http://\S+) \(backend: (\S+)\)$")


# --------------------------------------------------------------------------- client environment


def client_environment() -> dict[str, str]:
    """The environment a client subprocess (the AWS CLI) runs with.

    Nothing from the user's ``~/.aws`` or ``AWS_*`` variables may change what a client sends,
    so those are dropped and the config files point nowhere.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    missing = os.path.join(tempfile.gettempdir(), f"post3-no-aws-config-{uuid.uuid4().hex}")
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=missing,
        AWS_SHARED_CREDENTIALS_FILE=missing,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


@pytest.fixture(scope="session", autouse=True)
def _clean_aws_environment() -> Iterator[None]:
    """In-process clients (boto3, aiobotocore) read the same clean environment."""
    with pytest.MonkeyPatch.context() as mp:
        for name in [k for k in os.environ if k.startswith("AWS_")]:
            mp.delenv(name)
        for name, value in client_environment().items():
            if name.startswith("AWS_"):
                mp.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def aws_env() -> dict[str, str]:
    return client_environment()


# --------------------------------------------------------------------------- the server process


def post3_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m post3``."""
    script = Path(sys.executable).with_name("post3")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "post3"]


@dataclass
class RunningServer:
    """A ``post3 run`` subprocess that announced its URL."""

    backend: str
    endpoint: str
    process: subprocess.Popen[str]
    stderr_path: Path
    stdout_lines: list[str] = field(default_factory=list)
    #: the backend options it was started with (``root``, ``dsn``...)
    options: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        return self.process.returncode


def start_server(
    backend: str,
    options: dict[str, str] | None = None,
    *,
    workdir: Path,
    timeout: float = START_TIMEOUT,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> RunningServer:
    """Start ``post3 run`` on an ephemeral port and wait for its one announcement line.

    Raises RuntimeError carrying the server's stderr when it exits or stays silent.
    """
    command = [*post3_command(), "run", "--backend", backend, "--host", "127.0.0.1", "--port", "0"]
    for name, value in (options or {}).items():
        command += ["-o", f"{name}={value}"]
    command += args
    # The server's own configuration comes from the flags above (and ``env``, the caller's
    # POST3_* settings), never from the caller's shell.
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("POST3_")},
           **(env or {})}
    env["PYTHONUNBUFFERED"] = "1"
    # Real keys: the server verifies every signature against this root key.
    env["POST3_ACCESS_KEY"] = ACCESS_KEY
    env["POST3_SECRET_KEY"] = SECRET_KEY
    stderr_path = workdir / f"post3-{backend}-{uuid.uuid4().hex[:8]}.stderr"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=workdir,
            env=env,
        )
    lines: queue.Queue[str | None] = queue.Queue()
    server = RunningServer(backend, "", process, stderr_path)

    def drain_stdout() -> None:
        # Keep reading so a chatty server never blocks on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            server.stdout_lines.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain_stdout, daemon=True, name=f"post3-{backend}-stdout").start()
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        server.stop()
        raise RuntimeError(
            f"{' '.join(command)} printed nothing within {timeout:.0f} s; stderr:\n"
            + server.stderr()
        ) from None
    match = SERVING_LINE.match(line.strip()) if line else None
    if match is None:
        status = server.stop()
        raise RuntimeError(
            f"{' '.join(command)} did not announce its URL (exit status {status}); "
            f"stdout: {line!r}; stderr:\n{server.stderr()}"
        )
    server.endpoint = match.group(1)
    if match.group(2) != backend:
        server.stop()
        raise RuntimeError(f"asked for backend {backend!r}, server announced {match.group(2)!r}")
    return server


# --------------------------------------------------------------------------- backends


def installed_backends() -> set[str]:
    names = {ep.name for ep in importlib.metadata.entry_points(group="post3")}
    return names | {"memory"}


def _postgres_required() -> bool:
    return os.environ.get("POST3_REQUIRE_POSTGRES") == "1"


def _backend_param(name: str) -> pytest.param:
    marks = []
    missing = name != "memory" and name not in installed_backends()
    if missing and not (name == "postgres" and _postgres_required()):
        marks.append(pytest.mark.skip(reason=f"the post3-{name} distribution is not installed"))
    if name == "postgres":
        marks.append(pytest.mark.postgres)
    return pytest.param(name, id=name, marks=marks)


SERVER_BACKENDS = [_backend_param(name) for name in ("memory", "filesystem", "postgres")]


@pytest.fixture(scope="session")
def _fresh_postgres_database() -> Iterator[str]:
    """A new, empty database for one session (post3 migrates it: ``auto_migrate=true``)."""
    if "postgres" not in installed_backends():
        pytest.fail("POST3_REQUIRE_POSTGRES=1 but the post3-postgres distribution is not installed")
    import asyncpg
    from post3_postgres import testing

    admin = testing.server_dsn()
    try:
        name, dsn = asyncio.run(testing.create_database(admin, migrated=False))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = f"PostgreSQL at {admin} is unreachable ({' '.join(str(exc).split())})"
        if _postgres_required():
            pytest.fail(f"{reason}, and POST3_REQUIRE_POSTGRES=1")
        pytest.skip(f"{reason}; set POST3_TEST_DATABASE_URL to test against PostgreSQL")
    yield dsn
    asyncio.run(testing.drop_database(admin, name))


def _backend_options(
    request: pytest.FixtureRequest, backend: str, workdir: Path
) -> dict[str, str]:
    if backend == "filesystem":
        # fsync off: durability is not under test here, and it keeps the suite fast.
        return {"root": str(workdir / "data"), "fsync": "false"}
    if backend == "postgres":
        dsn = request.getfixturevalue("_fresh_postgres_database")
        return {"dsn": dsn, "auto_migrate": "true"}
    return {}


@pytest.fixture(scope="session", params=SERVER_BACKENDS)
def post3_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A live ``post3 run`` for one backend, shared by the session."""
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"post3-{backend}")
    options = _backend_options(request, backend, workdir)
    server = start_server(backend, options, workdir=workdir)
    server.options = options
    yield server
    died_early = server.process.poll() is not None
    status = server.stop()
    if died_early:
        pytest.fail(
            f"post3 ({backend}) exited during the tests with status {status}; stderr:\n"
            + server.stderr()
        )


@pytest.fixture
def endpoint_url(post3_server: RunningServer) -> str:
    if post3_server.process.poll() is not None:
        pytest.fail(f"post3 ({post3_server.backend}) has died; stderr:\n{post3_server.stderr()}")
    return post3_server.endpoint


@pytest.fixture
def bucket_name() -> str:
    """A bucket name no other test uses (S3 rules: lower case, 3-63 characters)."""
    return f"sdk-{uuid.uuid4().hex[:16]}"
