"""Upload and download one large object through post3.client, with a progress bar.

The bytes are generated on the fly and hashed on both ways, so neither side ever holds the
object: run it with a size larger than your memory to see post3 stream.

    POST3_ENDPOINT_URL=http://127.0.0.1:9000 POST3_ACCESS_KEY=post3 POST3_SECRET_KEY=post3 \\
        python examples/stress_large_file.py --size 5GiB [--bucket NAME] [--part-size 64MiB]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import sys
import time
from collections.abc import AsyncIterator

import post3.client

UNITS = {"": 1, "B": 1, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4,
         "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4}


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    if not match or match.group(2).upper() not in UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 100MiB, 5GiB)")
    return int(float(match.group(1)) * UNITS[match.group(2).upper()])


class ProgressBar:
    """A one-line bar on stderr: percentage, bytes, throughput."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label, self.width, self.started = label, width, time.monotonic()
        self.shown = -1

    def __call__(self, done: int, total: int | None) -> None:
        total = total or done or 1
        percent = 100 * done // total
        if percent == self.shown:
            return  # redraw once per percent, not once per chunk
        self.shown = percent
        filled = self.width * done // total
        rate = done / max(time.monotonic() - self.started, 1e-9) / 1024**2
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{percent:3d}% {done / 1024**2:,.1f} MiB {rate:,.1f} MiB/s"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


async def generated(size: int, digest: hashlib._Hash, block: int = 1024**2) -> AsyncIterator[bytes]:
    """``size`` pseudo-random bytes (a SHA-256 counter stream), hashed as they are produced."""
    seed = hashlib.sha256(b"post3-stress").digest() * (block // 32)
    sent, counter = 0, 0
    while sent < size:
        chunk = bytes(b ^ (counter & 0xFF) for b in seed[:16]) + seed[16:min(block, size - sent)]
        chunk = chunk[: size - sent]
        digest.update(chunk)
        sent += len(chunk)
        counter += 1
        yield chunk


async def main(size: int, bucket: str, part_size: int) -> None:
    async with post3.client.connect() as s3:
        await s3.ensure_bucket(bucket)
        sent_hash = hashlib.sha256()
        started = time.monotonic()
        await s3.upload_stream(bucket, "stress.bin", generated(size, sent_hash), size=size,
                               part_size=part_size, multipart_threshold=part_size,
                               progress=ProgressBar("upload  "))
        upload_seconds = time.monotonic() - started

        received_hash = hashlib.sha256()
        received = 0
        started = time.monotonic()
        async for chunk in s3.download_stream(bucket, "stress.bin", part_size=part_size,
                                              progress=ProgressBar("download")):
            received_hash.update(chunk)
            received += len(chunk)
        download_seconds = time.monotonic() - started

        await s3.delete_object(Bucket=bucket, Key="stress.bin")
        await s3.delete_bucket(Bucket=bucket)

    if received != size or received_hash.digest() != sent_hash.digest():
        sys.exit(f"MISMATCH: sent {size} bytes, received {received}")
    mib = size / 1024**2
    print(f"verified {size} bytes (sha256 {sent_hash.hexdigest()[:16]}...)")
    print(f"upload {mib / max(upload_seconds, 1e-9):,.1f} MiB/s, "
          f"download {mib / max(download_seconds, 1e-9):,.1f} MiB/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("1GiB"))
    parser.add_argument("--bucket", default="stress-test")
    parser.add_argument("--part-size", type=parse_size, default=parse_size("16MiB"))
    args = parser.parse_args()
    asyncio.run(main(args.size, args.bucket, args.part_size))
