"""``post3 run`` subprocesses with the flags the operating tests need (workers, log format)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ACCESS_KEY = SECRET_KEY = "testing"
SERVING = re.compile(r"^post3 serving (http://\S+) \(backend: (\S+)\)$")


@dataclass
class Post3Process:
    process: subprocess.Popen[str]
    stderr_path: Path
    endpoint: str = ""
    stdout_lines: list[str] = field(default_factory=list)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def json_records(self) -> list[dict]:
        records = []
        for line in self.stderr().splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records

    def access_records(self) -> list[dict]:
        return [r for r in self.json_records() if r.get("logger") == "post3.access"]

    def terminate(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


def _post3_command() -> list[str]:
    script = Path(sys.executable).with_name("post3")
    return [str(script)] if script.exists() else [sys.executable, "-m", "post3"]


@pytest.fixture
def start_post3(tmp_path: Path) -> Iterator[Callable[..., Post3Process]]:
    """``start_post3("--backend", "memory", ...)``: a server on an ephemeral port, stopped at
    the end of the test. ``env`` adds variables; the root key is ``testing``/``testing``;
    ``preexec_fn`` runs in the child before post3 starts (to lower its resource limits)."""
    started: list[Post3Process] = []

    def start(*args: str, env: dict[str, str] | None = None, timeout: float = 30,
              expect_serving: bool = True,
              preexec_fn: Callable[[], None] | None = None) -> Post3Process:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("POST3_")}
        environment.update(PYTHONUNBUFFERED="1", POST3_ACCESS_KEY=ACCESS_KEY,
                           POST3_SECRET_KEY=SECRET_KEY, **(env or {}))
        stderr_path = tmp_path / f"post3-{uuid.uuid4().hex[:8]}.stderr"
        with open(stderr_path, "w") as stderr:
            process = subprocess.Popen(
                [*_post3_command(), "run", "--host", "127.0.0.1", "--port", "0", *args],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, text=True,
                cwd=tmp_path, env=environment, preexec_fn=preexec_fn,
            )
        server = Post3Process(process, stderr_path)
        started.append(server)
        first_line = threading.Event()

        def drain() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                server.stdout_lines.append(line.rstrip("\n"))
                first_line.set()
            first_line.set()

        threading.Thread(target=drain, daemon=True).start()
        if not expect_serving:
            process.wait(timeout)
            return server
        first_line.wait(timeout)
        match = SERVING.match(server.stdout_lines[0]) if server.stdout_lines else None
        if match is None:
            server.terminate()
            raise RuntimeError(f"post3 did not start: {server.stdout_lines}\n{server.stderr()}")
        server.endpoint = match.group(1)
        return server

    yield start
    for server in started:
        server.terminate()



def boto3_client(endpoint: str, **config: object):  # type: ignore[no-untyped-def]
    """boto3 as shipped, path-style, signing with the root key."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, **config),
    )
