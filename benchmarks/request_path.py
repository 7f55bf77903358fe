"""The core's per-request work, timed in-process, against an earlier revision in the same run.

    python benchmarks/request_path.py [--rounds 7] [--baseline-rev REV]

What every request or every upload pays in the core, whatever the backend: SigV4 verification
of a signed GET (parse and verify, the view built from its headers), a whole HeadObject through
the dispatcher on the memory backend (everything post3 does for a small request but the
access log; aiohttp's parsing and the socket are not in it), one access-log line (the
handler ``configure_logging`` installs, writing to /dev/null), the XML of a 1,000-key
ListObjectsV2 page, and a 64 MiB body through ``PayloadStream`` (MD5 and CRC32, as 64 KiB
pieces, the size aiohttp hands over) with the event loop thread's own CPU time beside the
wall time: what the loop thread spends is what it cannot spend serving other requests.

Each round runs every piece in a fresh process per revision, the revisions alternating; each
figure is the fastest batch of calls (about 2 ms each) over all rounds: on a shared machine
the minimum is the figure least disturbed by other work. ``--baseline-rev`` extracts the
``post3`` package of that revision with ``git archive`` and runs it through ``PYTHONPATH``
(the plugins are not involved).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BODY = 64 << 20
PIECE = 64 << 10


def child() -> dict[str, float]:
    """Runs in the revision under test: every figure in microseconds."""
    import asyncio
    import hashlib
    import hmac
    from datetime import UTC, datetime

    from post3 import xml
    from post3.auth.authenticate import parse_request, verify_request
    from post3.auth.request_view import RequestView
    from post3.ops import logs
    from post3.payload import PayloadStream

    def per_call(function, seconds: float = 0.5) -> float:  # type: ignore[no-untyped-def]
        """The fastest of many short batches: a batch another process interrupted is slow,
        so the minimum is the closest to the undisturbed cost."""
        function()
        started = time.perf_counter()
        function()
        count = max(1, int(0.002 / max(time.perf_counter() - started, 1e-7)))  # ~2 ms
        best, deadline = float("inf"), time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            for _ in range(count):
                function()
            best = min(best, (time.perf_counter() - started) / count)
        return best * 1e6

    figures: dict[str, float] = {}
    # SigV4: a GET signed as the benchmark client signs it, with an SDK's usual headers
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    scope = f"{stamp[:8]}/us-east-1/s3/aws4_request"
    path = "/bench/small/r0/3-17"
    headers = {"host": "127.0.0.1:9000", "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
               "x-amz-date": stamp}
    names = sorted(headers)
    canonical = "\n".join(["GET", path, "", "".join(f"{n}:{headers[n]}\n" for n in names),
                           ";".join(names), "UNSIGNED-PAYLOAD"])
    key = b"AWS4secret"
    for part in (stamp[:8], "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential=AKID/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    headers.update({"user-agent": "Boto3/1.43 md/Botocore#1.43", "accept-encoding": "identity",
                    "amz-sdk-invocation-id": "0b7a6f3e", "amz-sdk-request": "attempt=1"})
    now = datetime.now(UTC)

    def verify() -> None:
        verify_request(parse_request(RequestView("GET", path, "", headers, now)), "secret")

    figures["SigV4 verification of a GET"] = per_call(verify)

    # HeadObject through the dispatcher: addressing, routing, SigV4, authorization, the handler
    # and its headers, on the memory backend (no socket and no HTTP parsing: aiohttp's part)
    figures["HeadObject through the dispatcher"] = asyncio.run(head_object(stamp, scope, key))

    # The access log, through the handler post3 run installs
    saved = sys.stderr
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  # the handler keeps it
    try:
        logs.configure_logging("text")
        fields = {"request_id": "0123456789ABCDEF", "remote": "127.0.0.1", "method": "GET",
                  "operation": "GetObject", "bucket": "bench", "key": "small/r0/3-17",
                  "status": 200, "bytes_in": 0, "bytes_out": 4096, "duration_ms": 0.412}
        figures["access log line"] = per_call(lambda: logs.log_access(fields))
    finally:
        sys.stderr = saved

    # A 1,000-key ListObjectsV2 page, shaped as the handler shapes it
    modified = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    children = [("Name", "bench"), ("Prefix", ""), ("MaxKeys", 1000), ("KeyCount", 1000),
                ("IsTruncated", True), ("NextContinuationToken", "x" * 40)]
    children += [("Contents", [("Key", f"list/10000/{i:06d}"), ("LastModified", modified),
                               ("ETag", '"0f343b0931126a20f133d67c2b018a3b"'), ("Size", 4096),
                               ("StorageClass", "STANDARD")]) for i in range(1000)]
    figures["XML of a 1,000-key listing"] = per_call(
        lambda: xml.render("ListBucketResult", children), 1.0)

    # A 64 MiB body: wall time and the loop thread's CPU time, per MiB
    data = os.urandom(PIECE)

    async def source():  # type: ignore[no-untyped-def]
        for _ in range(BODY // PIECE):
            yield data
            await asyncio.sleep(0)  # a socket read in between

    async def upload() -> tuple[float, float]:
        stream = PayloadStream.from_iterable(source(), size=BODY, checksum_algorithms=["crc32"])
        wall, cpu = time.perf_counter(), time.thread_time()
        async for _ in stream:
            pass
        return time.perf_counter() - wall, time.thread_time() - cpu

    wall, cpu = min(asyncio.run(upload()) for _ in range(3))
    figures["64 MiB body, wall per MiB"] = wall / (BODY >> 20) * 1e6
    figures["64 MiB body, loop thread CPU per MiB"] = cpu / (BODY >> 20) * 1e6
    return figures


async def head_object(stamp: str, scope: str, key: bytes) -> float:
    """Microseconds per HeadObject of a 4 KiB object, the fastest of many short batches."""
    import hashlib
    import hmac

    from aiohttp.test_utils import make_mocked_request

    from post3.api import dispatch
    from post3.app import create_app
    from post3.backends.memory import MemoryBackend
    from post3.config import Settings
    from post3.objects import ObjectAttributes
    from post3.payload import PayloadStream
    from post3.versioning import new_version

    backend = MemoryBackend()
    app = create_app(Settings(backend="memory", access_key="AKID", secret_key="secret"),
                     backend=backend)
    await backend.open()
    await backend.create_bucket("bench")

    async def body():  # type: ignore[no-untyped-def]
        yield bytes(4096)

    await backend.put_object("bench", "small/k", PayloadStream.from_iterable(body(), size=4096),
                             attributes=ObjectAttributes(), version=new_version())
    path = "/bench/small/k"
    headers = {"host": "127.0.0.1:9000", "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
               "x-amz-date": stamp}
    names = sorted(headers)
    canonical = "\n".join(["HEAD", path, "", "".join(f"{n}:{headers[n]}\n" for n in names),
                           ";".join(names), "UNSIGNED-PAYLOAD"])
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential=AKID/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    headers.update({"user-agent": "Boto3/1.43 md/Botocore#1.43", "accept-encoding": "identity"})
    request = make_mocked_request("HEAD", path, headers=headers, app=app)
    response = await dispatch.handle_s3_request(request)
    assert response.status == 200, response.status
    best, deadline = float("inf"), time.perf_counter() + 0.5
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        for _ in range(50):
            await dispatch.handle_s3_request(request)
        best = min(best, (time.perf_counter() - started) / 50)
    return best * 1e6


def extract(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", revision, "post3"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_child(source: Path | None) -> dict[str, float]:
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    result = subprocess.run([sys.executable, __file__, "--child"], env=env, check=True,
                            capture_output=True, text=True, cwd=tempfile.gettempdir())
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--baseline-rev", help="also time the post3 package of this revision")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child()))
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        variants: dict[str, Path | None] = {"now": None}
        if args.baseline_rev:
            variants[args.baseline_rev] = extract(args.baseline_rev, Path(scratch))
        best: dict[str, dict[str, float]] = {name: {} for name in variants}
        for _ in range(args.rounds):
            for name, source in variants.items():
                for piece, value in run_child(source).items():
                    best[name][piece] = min(value, best[name].get(piece, value))
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, fastest of {args.rounds} "
          f"rounds, load average at end {os.getloadavg()[0]:.2f}\n")
    names = list(variants)
    print("| µs | " + " | ".join(names) + (" | now / before |" if len(names) > 1 else " |"))
    print("|---|" + "---:|" * (len(names) + (len(names) > 1)))
    for piece in best["now"]:
        cells = [f"{best[name][piece]:,.1f}" for name in names]
        if len(names) > 1:
            cells.append(f"{best['now'][piece] / best[names[1]][piece]:.2f}×")
        print(f"| {piece} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
