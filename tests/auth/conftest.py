"""Live servers for the authentication tests, and small tools to talk to them.

One filesystem ``post3 run`` with the root key ``testing``/``testing`` serves the whole
directory; ``post3 keys`` commands run against its data root while it serves. Requests that
must be sent exactly as built (tampered, hand-signed, anonymous) go through http.client.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

ROOT_ACCESS_KEY = "testing"
ROOT_SECRET_KEY = "testing"
REGION = "us-east-1"
SERVING = re.compile(r"^post3 serving (http://\S+) \(backend: (\S+)\)$")


def post3_command() -> list[str]:
    script = Path(sys.executable).with_name("post3")
    return [str(script)] if script.exists() else [sys.executable, "-m", "post3"]


def server_environment(root_key: bool = True) -> dict[str, str]:
    """The server's environment: nothing from the caller's POST3_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POST3_")}
    env["PYTHONUNBUFFERED"] = "1"
    if root_key:
        env.update(POST3_ACCESS_KEY=ROOT_ACCESS_KEY, POST3_SECRET_KEY=ROOT_SECRET_KEY)
    return env


@dataclass
class Post3:
    """A ``post3 run`` subprocess."""

    process: subprocess.Popen[str]
    stderr_path: Path
    data_root: Path
    endpoint: str = ""
    stdout_lines: list[str] = field(default_factory=list)
    _lines_seen: threading.Condition = field(default_factory=threading.Condition)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_for_output(self, predicate: Callable[[list[str]], bool], timeout: float) -> bool:
        with self._lines_seen:
            return self._lines_seen.wait_for(
                lambda: predicate(self.stdout_lines) or self.process.poll() is not None, timeout
            ) and predicate(self.stdout_lines)

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).netloc


def launch(data_root: Path, workdir: Path, *args: str, root_key: bool = True,
           timeout: float = 30) -> Post3:
    """Start ``post3 run`` on the filesystem backend at ``data_root``; returns once it announced
    its URL (or exited: the caller checks ``process.returncode``)."""
    command = [*post3_command(), "run", "--backend", "filesystem", "--port", "0",
               "-o", f"root={data_root}", "-o", "fsync=false", *args]
    if "--host" not in args:
        command += ["--host", "127.0.0.1"]
    stderr_path = workdir / f"post3-{uuid.uuid4().hex[:8]}.stderr"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=stderr, text=True, cwd=workdir,
                                   env=server_environment(root_key))
    server = Post3(process, stderr_path, data_root)

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with server._lines_seen:
                server.stdout_lines.append(line.rstrip("\n"))
                server._lines_seen.notify_all()
        process.wait()
        with server._lines_seen:
            server._lines_seen.notify_all()

    threading.Thread(target=drain, daemon=True, name="post3-auth-stdout").start()
    server.wait_for_output(bool, timeout)
    match = SERVING.match(server.stdout_lines[0]) if server.stdout_lines else None
    if match is not None:
        server.endpoint = match.group(1)
    elif process.poll() is None:
        server.stop()
        raise RuntimeError(f"post3 did not announce its URL; stderr:\n{server.stderr()}")
    return server


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Post3]:
    """The filesystem server every test in this directory shares (root key testing/testing)."""
    workdir = tmp_path_factory.mktemp("post3-auth")
    server = launch(workdir / "data", workdir)
    if not server.endpoint:
        raise RuntimeError(f"post3 exited ({server.process.returncode}):\n{server.stderr()}")
    yield server
    died = server.process.poll() is not None
    status = server.stop()
    if died:
        pytest.fail(f"post3 exited during the tests ({status}); stderr:\n{server.stderr()}")


def s3_client(endpoint: str, access_key: str = ROOT_ACCESS_KEY,
              secret_key: str = ROOT_SECRET_KEY, **config: object):  # type: ignore[no-untyped-def]
    """A boto3 client that does not retry: a refusal must show on the first answer."""
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
    )


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def code(self) -> str | None:
        """The S3 error code of an XML error body."""
        if not self.body.lstrip().startswith(b"<"):
            return None
        node = ET.fromstring(self.body).find("Code")
        return None if node is None else node.text


@dataclass
class Api:
    """What a test needs to talk to the shared server (test modules import nothing from here:
    they get this through the ``api`` fixture)."""

    server: Post3

    def __post_init__(self) -> None:
        self.root = s3_client(self.endpoint)

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def host(self) -> str:
        return self.server.host

    def client(self, access_key: str = ROOT_ACCESS_KEY, secret_key: str = ROOT_SECRET_KEY,
               **config: object):  # type: ignore[no-untyped-def]
        return s3_client(self.endpoint, access_key, secret_key, **config)

    def send(self, method: str, target: str, headers: Mapping[str, str] | None = None,
             body: bytes | None = None) -> Reply:
        """Send exactly this request line, these headers and this body (``target`` may also
        be a full URL on the server)."""
        parts = urlsplit(self.endpoint)
        if target.startswith("http"):
            url = urlsplit(target)
            target = url.path + (f"?{url.query}" if url.query else "")
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            sent = {name.lower() for name in (headers or {})}
            if "host" not in sent:
                connection.putheader("Host", parts.netloc)
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            if body is not None and "content-length" not in sent:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return Reply(response.status, dict(response.headers), response.read())
        finally:
            connection.close()

    def stored(self, bucket: str, key: str) -> bytes | None:
        """The object's bytes as the root key reads them, None when there is no such object."""
        try:
            return self.root.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.root.exceptions.NoSuchKey:
            return None

    def keys(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``post3 keys ARGS`` against the server's data root (while it serves)."""
        return subprocess.run(
            [*post3_command(), "keys", *args, "--backend", "filesystem",
             "-o", f"root={self.server.data_root}", "-o", "fsync=false"],
            capture_output=True, text=True, timeout=60, env=server_environment(root_key=False),
        )


@pytest.fixture(scope="package")
def api(live: Post3) -> Api:
    return Api(live)


@pytest.fixture
def bucket(api: Api) -> Iterator[str]:
    """A fresh bucket made with the root key, emptied and removed afterwards."""
    name = f"auth-{uuid.uuid4().hex[:16]}"
    api.root.create_bucket(Bucket=name)
    yield name
    for page in api.root.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            api.root.delete_object(Bucket=name, Key=item["Key"])
    api.root.delete_bucket(Bucket=name)


@pytest.fixture
def launch_post3(tmp_path: Path) -> Iterator[Callable[..., Post3]]:
    """``launch_post3(data_root, *args, root_key=...)``: a server of the test's own, stopped
    at its end."""
    started: list[Post3] = []

    def start(data_root: Path, *args: str, root_key: bool = True) -> Post3:
        server = launch(data_root, tmp_path, *args, root_key=root_key)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
