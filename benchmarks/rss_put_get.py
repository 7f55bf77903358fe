"""Peak server memory while one large object goes in and out of post3.

Starts ``post3 run`` (filesystem backend by default) on an ephemeral port, PUTs one object of
``--size`` bytes (default 1 GiB) from a generator, GETs it back, checks its MD5 on both sides,
and reports the server's peak resident set size (``VmHWM`` from ``/proc/PID/status``) and the
throughput of each direction. Neither side ever holds the object: the client streams 1 MiB
blocks with a fixed Content-Length, and the server must stream too.

As a baseline, the same bytes are written to and read back from a plain file in the same
directory (fsynced like the filesystem backend does by default); the report gives post3's
throughput as a fraction of it.

Exit status: 0 when the server's peak RSS stayed below ``--limit-mb`` (default 150 MB, 10^6
bytes), 1 when it did not, 2 when the transfer itself failed.

    python benchmarks/rss_put_get.py                       # 1 GiB through the filesystem backend
    python benchmarks/rss_put_get.py --size 256MiB --backend memory
    python benchmarks/rss_put_get.py --backend postgres -o dsn=postgresql://... -o auto_migrate=true
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

BLOCK = 1024 * 1024
UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9,
         "kib": 2**10, "mib": 2**20, "gib": 2**30}
SERVING_LINE = re.compile(r"^post3 serving (http://\S+) \(backend: (\S+)\)$")


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1GiB, 512MiB, 1000000)")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


def generated_blocks(size: int) -> Iterator[bytes]:
    """Deterministic, non-repeating-looking blocks: a random 1 MiB pattern, each block stamped
    with its index so no two blocks are equal (a store that deduplicates cannot cheat)."""
    pattern = hashlib.shake_256(b"post3-benchmark").digest(BLOCK)
    sent = 0
    index = 0
    while sent < size:
        stamp = index.to_bytes(8, "big")
        block = (stamp + pattern[len(stamp):])[: size - sent]
        yield block
        sent += len(block)
        index += 1


# --------------------------------------------------------------------------- server


@dataclass
class Server:
    process: subprocess.Popen[str]
    endpoint: str
    stderr_path: Path

    def peak_rss_bytes(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"^VmHWM:\s+(\d+) kB$", status, re.MULTILINE)
        if not match:
            raise RuntimeError("VmHWM not found in /proc/PID/status (Linux only)")
        return int(match.group(1)) * 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def post3_command() -> list[str]:
    script = Path(sys.executable).with_name("post3")
    return [str(script)] if script.exists() else [sys.executable, "-m", "post3"]


def start_server(backend: str, options: list[str], workdir: Path, timeout: float = 30) -> Server:
    command = [*post3_command(), "run", "--backend", backend, "--host", "127.0.0.1",
               "--port", "0"]
    for option in options:
        command += ["-o", option]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POST3_")}
    # The server verifies signatures: its root key is the one the client signs with.
    env["POST3_ACCESS_KEY"] = env["POST3_SECRET_KEY"] = "testing"
    stderr_path = workdir / "server.stderr"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                   stdin=subprocess.DEVNULL, cwd=workdir, env=env)
    first_line: list[str] = []

    def read_first_line() -> None:
        assert process.stdout is not None
        first_line.append(process.stdout.readline())
        for _ in process.stdout:  # keep the pipe drained
            pass

    reader = threading.Thread(target=read_first_line, daemon=True)
    reader.start()
    reader_deadline = time.monotonic() + timeout
    while not first_line and time.monotonic() < reader_deadline and process.poll() is None:
        time.sleep(0.05)
    match = SERVING_LINE.match(first_line[0].strip()) if first_line else None
    if match is None:
        server = Server(process, "", stderr_path)
        server.stop()
        sys.exit(f"post3 did not start: {' '.join(command)}\n{stderr_path.read_text()}")
    return Server(process, match.group(1), stderr_path)


# --------------------------------------------------------------------------- client


def signed_headers(method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
    """SigV4 with ``UNSIGNED-PAYLOAD``: the body is streamed, so it is not hashed up front."""
    request = AWSRequest(method=method, url=url, headers=headers)
    request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    S3SigV4Auth(Credentials("testing", "testing"), "s3", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def call(endpoint: str, method: str, path: str, headers: dict[str, str] | None = None,
         body=None) -> http.client.HTTPResponse:
    url = endpoint + path
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    connection.request(method, path, body=body,
                       headers=signed_headers(method, url, dict(headers or {})))
    return connection.getresponse()


def put_object(endpoint: str, path: str, size: int) -> tuple[float, str]:
    digest = hashlib.md5()

    def body() -> Iterator[bytes]:
        for block in generated_blocks(size):
            digest.update(block)
            yield block

    start = time.perf_counter()
    response = call(endpoint, "PUT", path, {"Content-Length": str(size)}, body())
    reply = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"PUT {path}: {response.status} {reply[:500]!r}")
    etag = response.getheader("ETag", "").strip('"')
    if etag != digest.hexdigest():
        raise RuntimeError(f"PUT {path}: ETag {etag} but the sent bytes have MD5 "
                           f"{digest.hexdigest()}")
    return elapsed, digest.hexdigest()


def get_object(endpoint: str, path: str) -> tuple[float, str, int]:
    digest = hashlib.md5()
    received = 0
    start = time.perf_counter()
    response = call(endpoint, "GET", path)
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {response.read()[:500]!r}")
    while block := response.read(BLOCK):
        digest.update(block)
        received += len(block)
    return time.perf_counter() - start, digest.hexdigest(), received


# --------------------------------------------------------------------------- baseline


def baseline(directory: Path, size: int, fsync: bool) -> tuple[float, float]:
    """Seconds to write (and fsync) then read back the same bytes as a plain file."""
    path = directory / "baseline.bin"
    start = time.perf_counter()
    with open(path, "wb") as handle:
        for block in generated_blocks(size):
            hashlib.md5(block)  # the client hashes what it sends; so does this side
            handle.write(block)
        if fsync:
            handle.flush()
            os.fsync(handle.fileno())
    write = time.perf_counter() - start
    start = time.perf_counter()
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    read = time.perf_counter() - start
    path.unlink()
    return write, read


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="filesystem")
    parser.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                        help="backend option, passed on as post3 run -o KEY=VALUE")
    parser.add_argument("--size", type=parse_size, default=parse_size("1GiB"))
    parser.add_argument("--limit-mb", type=float, default=150.0,
                        help="fail when the server's peak RSS reaches this many MB (10^6 bytes)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where data and the baseline file go (default: a temporary dir)")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="post3-bench-", dir=args.workdir))
    options = list(args.option)
    fsync = True
    if args.backend == "filesystem":
        if not any(o.startswith("root=") for o in options):
            options.append(f"root={workdir / 'data'}")
        fsync = not any(o.replace(" ", "") in ("fsync=false", "fsync=0", "fsync=no", "fsync=off")
                        for o in options)
    server = start_server(args.backend, options, workdir)
    bucket, key = "benchmark", "large/object.bin"
    path = f"/{bucket}/{key}"
    mib = args.size / 2**20
    try:
        idle_rss = server.peak_rss_bytes()
        response = call(server.endpoint, "PUT", f"/{bucket}")
        response.read()
        if response.status not in (200, 409):
            raise RuntimeError(f"CreateBucket: {response.status}")
        put_seconds, sent_md5 = put_object(server.endpoint, path, args.size)
        after_put_rss = server.peak_rss_bytes()
        get_seconds, got_md5, received = get_object(server.endpoint, path)
        peak = server.peak_rss_bytes()
        call(server.endpoint, "DELETE", path).read()
    except (RuntimeError, OSError, http.client.HTTPException) as exc:
        print(f"transfer failed: {exc}", file=sys.stderr)
        print(server.stderr_path.read_text()[-4000:], file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
        return 2
    finally:
        server.stop()

    ok_bytes = received == args.size and got_md5 == sent_md5
    print(f"backend            {args.backend} ({' '.join(options) or 'defaults'})")
    print(f"object             {args.size} bytes ({mib:.0f} MiB), md5 {sent_md5}")
    print(f"GET matches PUT    {'yes' if ok_bytes else f'NO ({received} bytes, md5 {got_md5})'}")
    print(f"PUT                {put_seconds:7.2f} s  {mib / put_seconds:8.1f} MiB/s")
    print(f"GET                {get_seconds:7.2f} s  {mib / get_seconds:8.1f} MiB/s")
    if not args.no_baseline:
        write_seconds, read_seconds = baseline(workdir, args.size, fsync)
        print(f"baseline write     {write_seconds:7.2f} s  {mib / write_seconds:8.1f} MiB/s"
              f"  (plain file{', fsync' if fsync else ''}; post3 PUT at "
              f"{write_seconds / put_seconds:.0%} of it)")
        print(f"baseline read      {read_seconds:7.2f} s  {mib / read_seconds:8.1f} MiB/s"
              f"  (plain file; post3 GET at {read_seconds / get_seconds:.0%} of it)")
    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"server RSS         idle {idle_rss / 1e6:.1f} MB,"
          f" after PUT {after_put_rss / 1e6:.1f} MB, peak {peak / 1e6:.1f} MB"
          f" (limit {args.limit_mb:.0f} MB)")
    print(f"client peak RSS    {client_peak / 1e6:.1f} MB")
    shutil.rmtree(workdir, ignore_errors=True)
    if not ok_bytes:
        return 2
    if peak >= args.limit_mb * 1e6:
        print(f"FAIL: server peak RSS {peak / 1e6:.1f} MB >= {args.limit_mb:.0f} MB")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
