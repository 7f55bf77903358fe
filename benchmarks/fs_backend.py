"""The filesystem backend alone, in-process: small PUTs and LIST pages, against an earlier
revision in the same run.

    python benchmarks/fs_backend.py [--rounds 3] [--baseline-rev REV] [--counts 1000,10000]

No HTTP, no signatures, no XML: ``FilesystemBackend`` called directly, as the server's
handlers call it, so the figures are the backend's own cost, steadier than a whole server's
on a shared machine. Each round runs every revision in a fresh process, the revisions
alternating:

- 4 KiB PUT: 16 tasks putting 4 KiB bodies for ``--duration`` seconds (fsync on, the
  default); PUTs/s and the process's CPU (user + system, every thread) per PUT;
- LIST: one walk page by page (1,000 keys, continuation by ``start_after``) through buckets
  of ``--counts`` keys under one prefix, filled once before the rounds (by the current
  revision, fsync off; both revisions read the same data format) and left a second to
  settle; pages/s and CPU per page, for the first walk of a fresh process and for walks
  again and again after it for 1.5 s.

``--baseline-rev`` extracts the ``post3`` package and the filesystem plugin's package of that
revision with ``git archive`` and puts them first on ``PYTHONPATH``. Figures are the median
of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SMALL = 4096
CLIENTS = 16
PAGE = 1000


def cpu() -> float:
    """The process's CPU time, every thread, user and system (microsecond resolution)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def child_put(root: str, duration: float) -> dict[str, float]:
    from post3_filesystem import FilesystemBackend

    from post3.backend import ObjectAttributes
    from post3.payload import PayloadStream

    backend = FilesystemBackend(root=root)
    await backend.open()
    await backend.create_bucket("put")
    body = os.urandom(SMALL)

    async def one(name: str) -> None:
        async def source():  # type: ignore[no-untyped-def]
            yield body
        await backend.put_object("put", name, PayloadStream.from_iterable(source(), size=SMALL),
                                 attributes=ObjectAttributes())

    count = 0

    async def worker(number: int, deadline: float) -> None:
        nonlocal count
        index = 0
        while time.perf_counter() < deadline:
            await one(f"small/{number}-{index}")
            index += 1
            count += 1

    await asyncio.gather(*(worker(n, time.perf_counter() + 0.3) for n in range(CLIENTS)))
    count = 0
    wall, used = time.perf_counter(), cpu()
    await asyncio.gather(*(worker(n, time.perf_counter() + duration) for n in range(CLIENTS)))
    wall, used = time.perf_counter() - wall, cpu() - used
    await backend.close()
    return {"4 KiB PUT/s, 16 tasks": count / wall, "4 KiB PUT, CPU µs/PUT": used / count * 1e6}


async def child_list(root: str, counts: list[int]) -> dict[str, float]:
    from post3_filesystem import FilesystemBackend

    backend = FilesystemBackend(root=root)
    await backend.open()
    figures = {}
    for count in counts:
        # first: the directory as a new process finds it; then: walks again for a while
        for walk, seconds in (("first walk", 0.0), ("walks again", 1.5)):
            pages, start = 0, ""
            wall, used = time.perf_counter(), cpu()
            while True:
                page = await backend.list_objects_page(f"list-{count}", prefix="obj/",
                                                       start_after=start, limit=PAGE)
                if page:
                    pages += 1
                    start = page[-1].key
                elif time.perf_counter() - wall >= seconds:
                    break
                else:
                    start = ""
            wall, used = time.perf_counter() - wall, cpu() - used
            figures[f"LIST {count:,} keys, {walk}, pages/s"] = pages / wall
            figures[f"LIST {count:,} keys, {walk}, CPU ms/page"] = used / pages * 1e3
    await backend.close()
    return figures


async def fill(root: str, counts: list[int]) -> None:
    from post3_filesystem import FilesystemBackend

    from post3.backend import ObjectAttributes
    from post3.payload import PayloadStream

    backend = FilesystemBackend(root=root, fsync=False)
    await backend.open()

    async def put(bucket: str, key: str) -> None:
        async def source():  # type: ignore[no-untyped-def]
            yield b"x" * 100
        await backend.put_object(bucket, key, PayloadStream.from_iterable(source(), size=100),
                                 attributes=ObjectAttributes())

    for count in counts:
        await backend.create_bucket(f"list-{count}")
        keys = [f"obj/{i:07d}" for i in range(count)]
        for start in range(0, count, 64):
            await asyncio.gather(*(put(f"list-{count}", key) for key in keys[start:start + 64]))
    await backend.close()


def extract(revision: str, into: Path) -> Path:
    paths = ["post3", "plugins/post3-filesystem/post3_filesystem"]
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", revision, *paths],
                             check=True, capture_output=True).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "plugins" / "post3-filesystem" / "post3_filesystem").rename(into / "post3_filesystem")
    return into


def run_child(source: Path | None, *args: str) -> dict[str, float]:
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    result = subprocess.run([sys.executable, __file__, "--child", *args], env=env, check=True,
                            capture_output=True, text=True, cwd=tempfile.gettempdir())
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of PUTs a round")
    parser.add_argument("--counts", default="1000,10000,100000",
                        help="bucket sizes to list, comma-separated")
    parser.add_argument("--baseline-rev", help="also time this revision")
    parser.add_argument("--dir", default=None, help="where the data roots go (default: TMPDIR)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",") if c]
    if args.child:
        kind, root, *rest = args.child
        if kind == "put":
            print(json.dumps(asyncio.run(child_put(root, float(rest[0])))))
        elif kind == "fill":
            asyncio.run(fill(root, counts))
            print("{}")
        else:
            print(json.dumps(asyncio.run(child_list(root, counts))))
        return 0
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        variants: dict[str, Path | None] = {"now": None}
        if args.baseline_rev:
            variants[args.baseline_rev] = extract(args.baseline_rev, Path(scratch) / "src")
        list_root = str(Path(scratch) / "list")
        run_child(None, "fill", list_root, "--counts", args.counts)
        time.sleep(1.5)  # older than a second: a listing of it may be kept
        seen: dict[str, dict[str, list[float]]] = {name: {} for name in variants}
        for number in range(args.rounds):
            for name, source in variants.items():
                put_root = str(Path(scratch) / f"put-{name}-{number}")
                figures = run_child(source, "put", put_root, str(args.duration))
                shutil.rmtree(put_root, ignore_errors=True)
                figures |= run_child(source, "list", list_root, "--counts", args.counts)
                for piece, value in figures.items():
                    seen[name].setdefault(piece, []).append(value)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, median of {args.rounds} "
          f"rounds, load average at end {os.getloadavg()[0]:.2f}\n")
    names = list(variants)
    print("| | " + " | ".join(names) + (" | now / before |" if len(names) > 1 else " |"))
    print("|---|" + "---:|" * (len(names) + (len(names) > 1)))
    for piece in seen["now"]:
        medians = [statistics.median(seen[name][piece]) for name in names]
        cells = [f"{value:,.1f}" for value in medians]
        if len(names) > 1:
            cells.append(f"{medians[0] / medians[1]:.2f}×")
        print(f"| {piece} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
