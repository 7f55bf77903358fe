"""Live servers for virtual-hosted-style tests, and name resolution of ``<bucket>.localhost``.

``*.localhost`` does not resolve on every machine, and the machine's ``/etc/hosts`` is never
edited: in-process Python clients (boto3, aiobotocore, s3fs, minio) get a patched
``socket.getaddrinfo`` that sends every ``*.localhost`` name to 127.0.0.1; clients with their
own resolver (DuckDB, obstore's Rust code) run in a subprocess inside a private mount
namespace whose ``/etc/hosts`` is a file the test wrote (``unshare --mount`` and
``mount --bind``, as root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningServer, start_server

#: The base domain the virtual-hosted server is started with.
DOMAIN = "localhost"


def _server(tmp_path_factory: pytest.TempPathFactory, *args: str) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("post3-vhost")
    server = start_server("memory", workdir=workdir, args=args)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def vhost_server(tmp_path_factory) -> Iterator[RunningServer]:
    """``post3 run --domain localhost``."""
    yield from _server(tmp_path_factory, "--domain", DOMAIN)


@pytest.fixture(scope="module")
def path_server(tmp_path_factory) -> Iterator[RunningServer]:
    """``post3 run`` without ``--domain``: path style only."""
    yield from _server(tmp_path_factory)


def port_of(server: RunningServer) -> int:
    port = urllib.parse.urlsplit(server.endpoint).port
    assert port is not None
    return port


@pytest.fixture
def vhost_endpoint(vhost_server) -> str:
    """The endpoint as a virtual-hosted client is configured with: the base domain."""
    return f"http://{DOMAIN}:{port_of(vhost_server)}"


@pytest.fixture
def loopback_names(monkeypatch) -> None:
    """``*.localhost`` and ``*.example.test`` resolve to 127.0.0.1 for in-process clients."""
    original = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(host, bytes):
            host = host.decode()
        if isinstance(host, str) and (host.endswith(".localhost") or host == "localhost"
                                      or host.endswith("example.test")):
            host = "127.0.0.1"
        return original(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def can_unshare() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def run_with_hosts(tmp_path: Path, names: list[str], script: str,
                   env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``python -c script`` where each of ``names`` resolves to 127.0.0.1, through a
    hosts file bound over ``/etc/hosts`` in a mount namespace of its own."""
    if not can_unshare():
        pytest.skip("needs root and unshare(1) to give a subprocess its own /etc/hosts")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n::1 localhost\n"
                     + "".join(f"127.0.0.1 {name}\n" for name in names))
    command = ["unshare", "--mount", "sh", "-c",
               'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts),
               sys.executable, "-c", script]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
