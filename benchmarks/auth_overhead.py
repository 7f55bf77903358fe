"""What signature verification costs a request: the same small GET, signed and verified by one
server and unsigned on a ``--no-auth`` server, in one run, reported as a ratio.

    python benchmarks/auth_overhead.py [--requests 3000] [--rounds 5]

Both servers run the memory backend. The signed request is signed once (SigV4 headers, as
botocore signs) and sent again and again over one keep-alive connection, so the client's cost
is the same for both; the difference is the server's verification (with its cached signing key
and cached key lookup).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY = "benchmark"


def start(*flags: str) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POST3_")}
    env["POST3_ACCESS_KEY"] = env["POST3_SECRET_KEY"] = KEY
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


def rate(endpoint: str, headers: dict[str, str], requests: int) -> float:
    host = endpoint.removeprefix("http://")
    connection = http.client.HTTPConnection(host)
    started = time.perf_counter()
    for _ in range(requests):
        connection.request("GET", "/bench/k", headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
    elapsed = time.perf_counter() - started
    connection.close()
    return requests / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    servers = []
    try:
        signed_server, signed_url = start()
        servers.append(signed_server)
        open_server, open_url = start("--no-auth")
        servers.append(open_server)
        for url, headers in ((signed_url, signed_headers(signed_url, "PUT", "/bench")),
                             (open_url, {})):
            for method, path, body in (("PUT", "/bench", b""), ("PUT", "/bench/k", b"x" * 1024)):
                if headers:
                    headers = signed_headers(url, method, path, body)
                connection = http.client.HTTPConnection(url.removeprefix("http://"))
                connection.request(method, path, body=body, headers=headers)
                reply = connection.getresponse()
                assert reply.status == 200, (reply.status, reply.read())
                connection.close()
        get_signed = signed_headers(signed_url, "GET", "/bench/k")
        with_auth, without = [], []
        for _ in range(args.rounds):  # interleaved, so both see the same machine noise
            with_auth.append(rate(signed_url, get_signed, args.requests))
            without.append(rate(open_url, {}, args.requests))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    signed_rate, open_rate = statistics.median(with_auth), statistics.median(without)
    cost_us = (1 / signed_rate - 1 / open_rate) * 1e6
    print(f"GET 1 KiB, median of {args.rounds} rounds of {args.requests} requests")
    print(f"  verified SigV4   {signed_rate:8.0f} requests/s")
    print(f"  --no-auth        {open_rate:8.0f} requests/s")
    ratio = signed_rate / open_rate
    print(f"  ratio            {ratio:8.2%}  (about {cost_us:.0f} µs per request)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
