"""Peak server memory while boto3's transfer manager moves one very large file through post3.

Starts ``post3 run`` (filesystem backend by default) on an ephemeral port, writes a generated
file of ``--size`` bytes (default 5 GiB) to disk in 1 MiB blocks, uploads it with
``upload_file`` and downloads it with ``download_file``, both with boto3's default transfer
settings (multipart above 8 MiB, 8 MiB parts, 10 threads, ranged parallel GETs), then checks
the object's multipart ETag and the MD5 of the downloaded file. It reports the throughput of
each direction and the server's peak resident set size (``VmHWM`` from ``/proc/PID/status``).
Neither the client nor the server ever holds the object.

Exit status: 0 when the server's peak RSS stayed below ``--limit-mb`` (default 150 MB, 10^6
bytes), 1 when it did not, 2 when the transfer failed or the bytes differ.

    python benchmarks/rss_multipart.py                       # 5 GiB, filesystem backend
    python benchmarks/rss_multipart.py --size 1GiB --backend postgres \\
        -o dsn=postgresql://postgres@127.0.0.1/scratch -o auto_migrate=true
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from rss_put_get import BLOCK, generated_blocks, parse_size, start_server

#: boto3's default multipart_chunksize: the ETag the server must compute depends on it.
PART_SIZE = TransferConfig().multipart_chunksize


def write_source(path: Path, size: int) -> tuple[str, str, float]:
    """Write the generated file; its MD5, the ETag of its multipart upload, and seconds taken."""
    whole = hashlib.md5()
    part_digests = []
    part = hashlib.md5()
    in_part = 0
    start = time.perf_counter()
    with open(path, "wb") as handle:
        for block in generated_blocks(size):
            handle.write(block)
            whole.update(block)
            # PART_SIZE is a multiple of the block size: a block never straddles two parts.
            part.update(block)
            in_part += len(block)
            if in_part == PART_SIZE:
                part_digests.append(part.digest())
                part, in_part = hashlib.md5(), 0
    if in_part:
        part_digests.append(part.digest())
    elapsed = time.perf_counter() - start
    etag = f"{hashlib.md5(b''.join(part_digests)).hexdigest()}-{len(part_digests)}"
    return whole.hexdigest(), etag, elapsed


def md5_of_file(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="filesystem")
    parser.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                        help="backend option, passed on as post3 run -o KEY=VALUE")
    parser.add_argument("--size", type=parse_size, default=parse_size("5GiB"))
    parser.add_argument("--limit-mb", type=float, default=150.0,
                        help="fail when the server's peak RSS reaches this many MB (10^6 bytes)")
    parser.add_argument("--max-concurrency", type=int, default=TransferConfig().max_concurrency,
                        help="boto3 transfer threads (default: boto3's own default)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the files and the filesystem backend's data go "
                             "(default: a temporary dir); needs about 3x --size free")
    args = parser.parse_args(argv)
    if PART_SIZE % BLOCK:
        parser.error(f"boto3's part size {PART_SIZE} is not a multiple of {BLOCK}")

    workdir = Path(tempfile.mkdtemp(prefix="post3-bench-mpu-", dir=args.workdir))
    options = list(args.option)
    if args.backend == "filesystem" and not any(o.startswith("root=") for o in options):
        options.append(f"root={workdir / 'data'}")
    source, target = workdir / "source.bin", workdir / "download.bin"
    mib = args.size / 2**20

    sent_md5, expected_etag, write_seconds = write_source(source, args.size)
    server = start_server(args.backend, options, workdir)
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id="testing",  # the root key start_server gives the server
        aws_secret_access_key="testing",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"},
                      max_pool_connections=max(10, args.max_concurrency)),
    )
    transfer = TransferConfig(max_concurrency=args.max_concurrency)
    bucket, key = "benchmark", "large/multipart.bin"
    try:
        idle_rss = server.peak_rss_bytes()
        client.create_bucket(Bucket=bucket)
        start = time.perf_counter()
        client.upload_file(str(source), bucket, key, Config=transfer)
        upload_seconds = time.perf_counter() - start
        after_upload_rss = server.peak_rss_bytes()
        head = client.head_object(Bucket=bucket, Key=key)
        source.unlink()  # its MD5 is known; the download needs the space
        start = time.perf_counter()
        client.download_file(bucket, key, str(target), Config=transfer)
        download_seconds = time.perf_counter() - start
        peak = server.peak_rss_bytes()
        got_md5 = md5_of_file(target)
        client.delete_object(Bucket=bucket, Key=key)
        client.delete_bucket(Bucket=bucket)
    except (BotoCoreError, ClientError, OSError) as exc:
        print(f"transfer failed: {exc}", file=sys.stderr)
        print(server.stderr_path.read_text()[-4000:], file=sys.stderr)
        return 2
    finally:
        client.close()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    etag = head["ETag"].strip('"')
    ok_bytes = head["ContentLength"] == args.size and got_md5 == sent_md5
    ok_etag = etag == expected_etag
    print(f"backend            {args.backend} ({' '.join(options)})")
    print(f"client             boto3 {boto3.__version__}, {args.max_concurrency} threads,"
          f" {PART_SIZE // 2**20} MiB parts")
    print(f"object             {args.size} bytes ({mib:.0f} MiB), md5 {sent_md5}")
    print(f"ETag               {etag} ({'as expected' if ok_etag else f'NOT {expected_etag}'})")
    print(f"download matches   {'yes' if ok_bytes else f'NO (md5 {got_md5})'}")
    print(f"source file write  {write_seconds:7.2f} s  {mib / write_seconds:8.1f} MiB/s"
          f"  (plain file, with MD5s)")
    print(f"upload_file        {upload_seconds:7.2f} s  {mib / upload_seconds:8.1f} MiB/s")
    print(f"download_file      {download_seconds:7.2f} s  {mib / download_seconds:8.1f} MiB/s")
    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"server RSS         idle {idle_rss / 1e6:.1f} MB,"
          f" after upload {after_upload_rss / 1e6:.1f} MB, peak {peak / 1e6:.1f} MB"
          f" (limit {args.limit_mb:.0f} MB)")
    print(f"client peak RSS    {client_peak / 1e6:.1f} MB")
    if not (ok_bytes and ok_etag):
        return 2
    if peak >= args.limit_mb * 1e6:
        print(f"FAIL: server peak RSS {peak / 1e6:.1f} MB >= {args.limit_mb:.0f} MB")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
