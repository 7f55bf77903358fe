"""What signature verification costs a request: the same small GET (and a small PUT sent with
``Expect: 100-continue``, as botocore sends uploads), signed and verified by one server and
unsigned on a ``--no-auth`` server, in one run, reported as a ratio.

    python benchmarks/auth_overhead.py [--requests 3000] [--rounds 5] [--baseline-rev REV]

All servers run the memory backend. The signed request is signed once (SigV4 headers, as
botocore signs) and sent again and again over one keep-alive connection, so the client's cost
is the same for both; the difference is the server's verification (with its cached signing key
and cached key lookup). ``--baseline-rev`` also runs the same pair of servers from an earlier
git revision of post3 (extracted to a temporary directory), interleaved with the current ones,
so a change to the request path is compared with what it replaced on the same noisy machine.

Throughput on a shared machine swings from round to round, so each round also reads the
server process's own CPU time (``/proc/PID/stat``, Linux) around its requests: the CPU a
request costs the server, signed minus unsigned, is the steadier measure of what verification
costs, and the one the comparison with ``--baseline-rev`` reports.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY = "benchmark"


def start(*flags: str, source: Path | None = None) -> tuple[subprocess.Popen[str], str]:
    """A memory-backend server; ``source``: run the post3 package found there instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POST3_")}
    env["POST3_ACCESS_KEY"] = env["POST3_SECRET_KEY"] = KEY
    # The web console serves only with authentication on; its routes are not what is measured
    # (releases without a console ignore the variable).
    env["POST3_CONSOLE"] = "false"
    if source is not None:
        env["PYTHONPATH"] = str(source)
    process = subprocess.Popen(
        [sys.executable, "-m", "post3", "run", "--backend", "memory", "--port", "0", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("post3 serving "):
        raise SystemExit(f"server did not start: {line!r}")
    return process, line.split()[2]


def signed_headers(endpoint: str, method: str, path: str, body: bytes = b"") -> dict[str, str]:
    request = AWSRequest(method=method, url=endpoint + path, data=body)
    S3SigV4Auth(Credentials(KEY, KEY), "s3", "us-east-1").add_auth(request)
    return dict(request.headers.items())


BODY = b"x" * 1024


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rate(endpoint: str, headers: dict[str, str], requests: int, method: str = "GET") -> float:
    host = endpoint.removeprefix("http://")
    connection = http.client.HTTPConnection(host)
    body = BODY if method == "PUT" else None
    if method == "PUT":
        headers = {**headers, "Expect": "100-continue"}
    started = time.perf_counter()
    for _ in range(requests):
        connection.request(method, "/bench/k", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
    elapsed = time.perf_counter() - started
    connection.close()
    return requests / elapsed


def prepare(url: str, signed: bool) -> None:
    for method, path, body in (("PUT", "/bench", b""), ("PUT", "/bench/k", BODY)):
        headers = signed_headers(url, method, path, body) if signed else {}
        connection = http.client.HTTPConnection(url.removeprefix("http://"))
        connection.request(method, path, body=body, headers=headers)
        reply = connection.getresponse()
        assert reply.status == 200, (reply.status, reply.read())
        connection.close()


def extract(revision: str, into: Path) -> Path:
    """The post3 package as it was at ``revision`` (``git archive``), under ``into``."""
    top = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "-C", str(top), "archive", revision, "post3"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-rev", help="also measure post3 as it was at this revision")
    args = parser.parse_args()
    servers: list[subprocess.Popen[str]] = []
    versions: dict[str, Path | None] = {"current": None}
    # name -> {"GET"/"PUT": {"signed"/"open": [rates]}}, and the server CPU µs per request
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    cpu: dict[str, dict[str, dict[str, list[float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="post3-bench-") as scratch:
        if args.baseline_rev:
            versions[args.baseline_rev] = extract(args.baseline_rev, Path(scratch))
        try:
            endpoints = {}
            for name, source in versions.items():
                signed_server, signed_url = start(source=source)
                open_server, open_url = start("--no-auth", source=source)
                servers += [signed_server, open_server]
                prepare(signed_url, True)
                prepare(open_url, False)
                endpoints[name] = {
                    "signed": (signed_server.pid, signed_url, {
                        m: signed_headers(signed_url, m, "/bench/k", BODY if m == "PUT" else b"")
                        for m in ("GET", "PUT")}),
                    "open": (open_server.pid, open_url, {"GET": {}, "PUT": {}}),
                }
                results[name] = {m: {"signed": [], "open": []} for m in ("GET", "PUT")}
                cpu[name] = {m: {"signed": [], "open": []} for m in ("GET", "PUT")}
            for _ in range(args.rounds):  # interleaved, so all see the same machine noise
                for name, pair in endpoints.items():
                    for method in ("GET", "PUT"):
                        for mode, (pid, url, headers) in pair.items():
                            used = cpu_seconds(pid)
                            results[name][method][mode].append(
                                rate(url, headers[method], args.requests, method))
                            cpu[name][method][mode].append(
                                (cpu_seconds(pid) - used) / args.requests * 1e6)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=10)
    print(f"1 KiB requests, median of {args.rounds} rounds of {args.requests} requests "
          "(PUT with Expect: 100-continue)")
    costs = {}
    for name, by_method in results.items():
        print(f"post3 {name}")
        for method, modes in by_method.items():
            signed_rate = statistics.median(modes["signed"])
            open_rate = statistics.median(modes["open"])
            signed_cpu = statistics.median(cpu[name][method]["signed"])
            open_cpu = statistics.median(cpu[name][method]["open"])
            costs[(name, method)] = signed_cpu - open_cpu
            print(f"  {method:3}  verified SigV4 {signed_rate:7.0f}/s   "
                  f"--no-auth {open_rate:7.0f}/s   ratio {signed_rate / open_rate:6.1%}   "
                  f"server CPU {signed_cpu:4.0f} vs {open_cpu:4.0f} µs/request   "
                  f"auth costs {signed_cpu - open_cpu:4.0f} µs")
    if args.baseline_rev:
        for method in ("GET", "PUT"):
            now, then = costs[("current", method)], costs[(args.baseline_rev, method)]
            print(f"  {method}: authentication costs the server {now:.0f} µs of CPU a request "
                  f"now, {then:.0f} µs at {args.baseline_rev} ({(now - then) / then:+.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
