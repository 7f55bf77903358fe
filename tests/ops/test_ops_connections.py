"""Connection limits on a live ``post3 run``: head and idle timeouts, the connection cap under a
flood of 2,000 idle and header-dripping connections, the open-file limit, and quiet logs."""

from __future__ import annotations

import asyncio
import http.client
import inspect
import logging
import re
import resource
import socket
import threading
import time
import urllib.parse

import pytest
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from click.testing import CliRunner

from post3.cli import cli
from post3.config import Settings
from post3.ops import connections
from post3.ops.connections import RateLimitedWarning, connection_cap
from tests.ops.conftest import boto3_client

HARD_LIMIT = 1024
FLOOD = 2000
HEADER_TIMEOUT = 2.0
IDLE_TIMEOUT = 3.0


def address(endpoint: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(endpoint)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def low_open_file_limit() -> None:
    """In the server's process, before post3 starts: soft 256 < hard 1024."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, HARD_LIMIT))


def open_files_limit(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/limits") as limits:
        line = next(line for line in limits if line.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    return int(soft), int(hard)


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed ``sock`` (end of file or reset); never blocks."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def wait_closed(sock: socket.socket, timeout: float) -> float | None:
    """Seconds until the server closes ``sock``, or None if it stays open ``timeout`` s."""
    started = time.monotonic()
    sock.settimeout(timeout)
    try:
        data = sock.recv(1)
    except TimeoutError:
        return None
    except OSError:
        data = b""
    assert data == b"", data
    return time.monotonic() - started


@pytest.fixture
def many_sockets() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = FLOOD + 500
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"the hard open-file limit ({hard}) is below {wanted}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class KeepAliveClient(threading.Thread):
    """One established keep-alive connection, asking for a probe every 0.5 s."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(daemon=True)
        self.connection = http.client.HTTPConnection(*address(endpoint), timeout=10)
        self.stop = threading.Event()
        self.served = 0
        self.failure: BaseException | None = None
        self.request()
        self.sock = self.connection.sock

    def request(self) -> None:
        self.connection.request("GET", "/_post3/health/live")
        response = self.connection.getresponse()
        assert (response.status, response.read()) == (200, b"live\n")
        self.served += 1

    def run(self) -> None:
        try:
            while not self.stop.wait(0.5):
                self.request()
                assert self.connection.sock is self.sock, "the connection was re-opened"
        except BaseException as exc:
            self.failure = exc


def test_a_flood_of_idle_and_dripping_connections(start_post3, many_sockets) -> None:
    server = start_post3("--backend", "memory", "--header-timeout", str(HEADER_TIMEOUT),
                         "--idle-timeout", str(IDLE_TIMEOUT), preexec_fn=low_open_file_limit)
    assert open_files_limit(server.process.pid) == (HARD_LIMIT, HARD_LIMIT), \
        "post3 did not raise its soft open-file limit to the hard limit"
    host, port = address(server.endpoint)
    keep_alive = KeepAliveClient(server.endpoint)
    keep_alive.start()

    # 2,000 connections: half say nothing, half drip a request head one byte at a time.
    flood: list[socket.socket] = []
    for i in range(FLOOD):
        sock = socket.create_connection((host, port), timeout=10)
        if i % 2:
            sock.sendall(b"GET / HTTP/1.1\r\n")
        flood.append(sock)
    flood_done = time.monotonic()
    dripping = flood[1::2]
    stop_dripping = threading.Event()

    def drip() -> None:
        while not stop_dripping.wait(0.3):
            for sock in dripping:
                try:
                    sock.send(b"x")
                except OSError:
                    pass

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()

    # A new client is served during the flood.
    s3 = boto3_client(server.endpoint, retries={"max_attempts": 1})
    s3.create_bucket(Bucket="flood")
    s3.put_object(Bucket="flood", Key="k", Body=b"served")
    assert s3.get_object(Bucket="flood", Key="k")["Body"].read() == b"served"

    # Every flood connection is closed: evicted to make room, or by the head / idle timeout.
    deadline = flood_done + IDLE_TIMEOUT + 3
    while time.monotonic() < deadline and not all(map(closed_by_server, flood)):
        time.sleep(0.2)
    still_open = sum(not closed_by_server(sock) for sock in flood)
    stop_dripping.set()
    assert still_open == 0, f"{still_open} flood connections still open"

    # The timeouts themselves, on fresh connections: idle, and dripping a head.
    idle = socket.create_connection((host, port))
    head = socket.create_connection((host, port))
    head.sendall(b"PUT /flood/x HTTP/1.1\r\nHost: h\r\n")

    def drip_one() -> None:
        for _ in range(int(IDLE_TIMEOUT * 10)):
            time.sleep(0.1)
            try:
                head.send(b"y")
            except OSError:
                return

    threading.Thread(target=drip_one, daemon=True).start()
    waited_head = wait_closed(head, IDLE_TIMEOUT + 5)
    waited_idle = wait_closed(idle, IDLE_TIMEOUT + 5)
    assert waited_head is not None and HEADER_TIMEOUT - 0.5 < waited_head < HEADER_TIMEOUT + 1.5
    assert waited_idle is not None and waited_head + waited_idle > IDLE_TIMEOUT - 0.5
    assert waited_head + waited_idle < IDLE_TIMEOUT + 1.5

    # The established keep-alive client was served all along, on its one connection.
    keep_alive.stop.set()
    keep_alive.join(10)
    assert keep_alive.failure is None, repr(keep_alive.failure)
    assert keep_alive.served >= 8
    # ... and once it stops asking, its idle keep-alive connection is closed in time too
    waited_keep_alive = wait_closed(keep_alive.sock, IDLE_TIMEOUT + 5)
    assert waited_keep_alive is not None and waited_keep_alive < IDLE_TIMEOUT + 1.5
    s3.close()
    for sock in [*flood, idle, head]:
        sock.close()

    server.terminate()
    lines = server.stderr().splitlines()
    assert len(lines) < 50, "\n".join(lines[:60])
    assert "Traceback" not in server.stderr()
    warnings = [line for line in lines if "connection limit" in line]
    assert 1 <= len(warnings) <= 3, warnings  # one per 10 s at most, with a count
    assert re.search(r"connection limit \(448\) reached: \d+ connections", warnings[0])


def test_accept_failures_are_reported_once_not_in_a_loop(start_post3) -> None:
    server = start_post3("--backend", "memory", "--idle-timeout", "30")
    host, port = address(server.endpoint)
    pid = server.process.pid
    limits = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    # Take the descriptors away from under post3: the cap it computed no longer protects it.
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (40, limits[1]))
    clients = [socket.create_connection((host, port), timeout=5) for _ in range(100)]
    time.sleep(3)  # CPython retries accept() every second, each retry failing up to 100 times
    for sock in clients:
        sock.close()
    resource.prlimit(pid, resource.RLIMIT_NOFILE, limits)
    time.sleep(1.5)  # the next retry finds descriptors again
    s3 = boto3_client(server.endpoint)
    s3.create_bucket(Bucket="recovered")
    s3.close()
    server.terminate()
    stderr = server.stderr()
    assert "Traceback" not in stderr
    reports = [line for line in stderr.splitlines() if "could not be accepted" in line]
    assert len(reports) == 1, stderr[-3000:]
    assert len(stderr.splitlines()) < 20, stderr[-3000:]


# --------------------------------------------------------------------------- settings


def test_limits_come_from_flags_environment_and_defaults() -> None:
    defaults = Settings.build({})
    assert (defaults.header_timeout, defaults.idle_timeout, defaults.max_connections) == \
        (20.0, 75.0, 4096)
    env = {"POST3_HEADER_TIMEOUT": "5", "POST3_IDLE_TIMEOUT": "7.5",
           "POST3_MAX_CONNECTIONS": "100"}
    from_env = Settings.build(env)
    assert (from_env.header_timeout, from_env.idle_timeout, from_env.max_connections) == \
        (5.0, 7.5, 100)
    flags = Settings.build(env, header_timeout=1.0, max_connections=3)
    assert (flags.header_timeout, flags.idle_timeout, flags.max_connections) == (1.0, 7.5, 3)
    for bad in ("0", "-1", "soon", "nan", "inf"):
        with pytest.raises(ValueError, match="POST3_IDLE_TIMEOUT"):
            Settings.build({"POST3_IDLE_TIMEOUT": bad})


def test_run_help_documents_the_limits() -> None:
    result = CliRunner().invoke(cli, ["run", "--help"], obj={})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for flag, env in (("--header-timeout", "POST3_HEADER_TIMEOUT"),
                      ("--idle-timeout", "POST3_IDLE_TIMEOUT"),
                      ("--max-connections", "POST3_MAX_CONNECTIONS")):
        assert flag in text and env in text
    assert "open-file limit" in text


def test_a_bad_limit_in_the_environment_is_a_usage_error(start_post3) -> None:
    server = start_post3("--backend", "memory", env={"POST3_MAX_CONNECTIONS": "many"},
                         expect_serving=False)
    assert server.process.returncode == 2
    assert "POST3_MAX_CONNECTIONS='many' is not a positive int" in server.stderr()


def test_the_cap_leaves_room_for_the_files_connections_open() -> None:
    assert connection_cap(4096, 1024) == (1024 - connections.FD_RESERVE) // 2
    assert connection_cap(100, 65536) == 100
    assert connection_cap(4096, 100) == 1
    assert connection_cap(4096, resource.RLIM_INFINITY) == 4096


def test_rate_limited_warning_counts_what_it_did_not_log(caplog) -> None:
    now = [0.0]
    warn = RateLimitedWarning("%d events", interval=10, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="post3.connections"):
        for step in range(100):
            now[0] = step * 0.25  # 100 events over 25 s
            warn()
    assert [r.getMessage() for r in caplog.records] == ["1 events", "40 events", "40 events"]


# --------------------------------------------------------------------------- aiohttp internals


def test_the_aiohttp_internals_post3_relies_on_are_still_there() -> None:
    """``post3.ops.connections`` subclasses aiohttp's RequestHandler, Server and AppRunner and
    uses some of their private parts (listed in its docstring): fail here, loudly, if an
    aiohttp upgrade moved them."""
    assert {"_messages", "_manager", "_force_close", "_close"} <= set(RequestHandler.__slots__)
    assert "_loop" in RequestHandler.__mro__[1].__slots__  # BaseProtocol
    for name, parameters in {
        "finish_response": ["self", "request", "resp", "start_time"],
        "handle_error": ["self", "request", "status", "exc", "message"],
        "eof_received": ["self"], "data_received": ["self", "data"],
        "connection_made": ["self", "transport"], "connection_lost": ["self", "exc"],
        "close": ["self"], "force_close": ["self"],
    }.items():
        assert list(inspect.signature(getattr(RequestHandler, name)).parameters) == parameters
    assert inspect.iscoroutinefunction(RequestHandler.finish_response)
    # aiohttp's eof_received lets asyncio close the transport: what GuardedHandler overrides
    assert RequestHandler.eof_received(object.__new__(RequestHandler)) is None
    assert inspect.iscoroutinefunction(web.AppRunner._make_server)

    async def make_server() -> web.Server:
        return web.Server(lambda request: None, keepalive_timeout=5)

    plain = asyncio.run(make_server())
    assert plain._kwargs == {"keepalive_timeout": 5}
    assert isinstance(plain._loop, asyncio.AbstractEventLoop)
    assert {"request_handler", "request_factory", "handler_cancellation"} <= set(vars(plain))
    # the asyncio report that quiet_accept_errors rate-limits
    assert connections.ACCEPT_FAILED in inspect.getsource(asyncio.selector_events)
