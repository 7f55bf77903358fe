"""Request metrics, kept in memory and written in the Prometheus text exposition format.

The format is small enough to write by hand (a dependency would buy nothing here): one
``# HELP`` and ``# TYPE`` line per family, then one sample per line, label values escaped.
See https://prometheus.io/docs/instrumenting/exposition_formats/.

With ``post3 run --workers N`` every worker counts its own requests and a scrape reaches one
of them, so workers share their counts through snapshot files (:meth:`Metrics.share`): a
scrape answers with the sum over the workers, the others' part at most
``SHARE_INTERVAL`` seconds old.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Latency buckets, in seconds: from a cached HEAD to a multi-gigabyte upload.
DURATION_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)

#: How often a worker writes its snapshot for the others, in seconds.
SHARE_INTERVAL = 1.0

Labels = tuple[tuple[str, str], ...]


class Histogram:
    """Cumulative buckets, a sum and a count, per label set."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts: dict[Labels, list[int]] = {}
        self.sums: dict[Labels, float] = defaultdict(float)

    def observe(self, labels: Labels, value: float) -> None:
        counts = self.counts.setdefault(labels, [0] * (len(self.bounds) + 1))
        counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sums[labels] += value


class Metrics:
    """Everything ``GET /_post3/metrics`` reports for one process."""

    def __init__(self, duration_buckets: tuple[float, ...] = DURATION_BUCKETS) -> None:
        self.requests: dict[Labels, int] = defaultdict(int)
        self.duration = Histogram(duration_buckets)
        self.received_bytes: dict[Labels, int] = defaultdict(int)
        self.sent_bytes: dict[Labels, int] = defaultdict(int)
        self.in_flight = 0
        # CreateMultipartUpload minus Complete/Abort seen by this process: an approximation
        # (uploads abandoned, or begun before a restart, are not known to it).
        self.uploads_started = 0
        self.uploads_finished = 0
        self.started_at = time.time()
        #: lifecycle passes run by this process: counters by name, and the last pass's length
        self.lifecycle: dict[str, float] = defaultdict(float)
        self._share_dir: Path | None = None
        self._changed = False

    def observe(self, operation: str, status: int, seconds: float, received: int,
                sent: int) -> None:
        """Record one answered S3 request."""
        op = (("operation", operation),)
        self._changed = True
        self.requests[(*op, ("status", str(status)))] += 1
        self.duration.observe(op, seconds)
        self.received_bytes[op] += received
        self.sent_bytes[op] += sent
        if operation == "CreateMultipartUpload" and status == 200:
            self.uploads_started += 1
        elif (operation == "CompleteMultipartUpload" and status == 200) or (
            operation == "AbortMultipartUpload" and status == 204
        ):
            self.uploads_finished += 1

    def observe_lifecycle(self, expired: dict[str, int], bytes_freed: int,
                          seconds: float) -> None:
        """Record one lifecycle pass: what it expired, by kind, the bytes it freed, its
        length."""
        self._changed = True
        for kind, count in expired.items():
            self.lifecycle[f"expired:{kind}"] += count
        self.lifecycle["bytes_freed"] += bytes_freed
        self.lifecycle["passes"] += 1
        self.lifecycle["last_pass_seconds"] = seconds
        self.lifecycle["last_pass_end"] = time.time()

    # sharing between workers ---------------------------------------------------------------

    def share(self, directory: str | os.PathLike[str]) -> None:
        """Publish this process's counts under ``directory`` and add the other files found
        there to what :meth:`render` reports."""
        self._share_dir = Path(directory)
        self.publish()

    def publish(self) -> None:
        if self._share_dir is None:
            return
        path = self._share_dir / f"worker-{os.getpid()}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.snapshot()))
        os.replace(temporary, path)  # a reader never sees half a file
        self._changed = False

    @property
    def shared(self) -> bool:
        return self._share_dir is not None

    async def publish_periodically(self) -> None:
        """Publish every ``SHARE_INTERVAL`` seconds while there is something new."""
        while True:
            await asyncio.sleep(SHARE_INTERVAL)
            if self._changed:
                self.publish()

    def snapshot(self) -> dict[str, object]:
        def rows(table: dict[Labels, int] | dict[Labels, float]) -> list[list[object]]:
            return [[list(map(list, labels)), value] for labels, value in table.items()]

        return {
            "requests": rows(self.requests),
            "duration_counts": [[list(map(list, k)), v] for k, v in self.duration.counts.items()],
            "duration_sums": rows(self.duration.sums),
            "received_bytes": rows(self.received_bytes),
            "sent_bytes": rows(self.sent_bytes),
            "in_flight": self.in_flight,
            "uploads": self.uploads_started - self.uploads_finished,
            "lifecycle": dict(self.lifecycle),
        }

    def _others(self) -> Iterator[dict[str, Any]]:
        if self._share_dir is None:
            return
        own = f"worker-{os.getpid()}.json"
        for path in sorted(self._share_dir.glob("worker-*.json")):
            if path.name == own:
                continue
            try:
                yield json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # a worker that stopped; its counts go with it

    def combined(self) -> Metrics:
        """This process's counts plus the other workers' last snapshots."""
        total = Metrics(self.duration.bounds)
        snapshots = [self.snapshot(), *self._others()]
        for snap in snapshots:
            for table in ("requests", "received_bytes", "sent_bytes"):
                target = getattr(total, table)
                for labels, value in snap[table]:
                    target[_labels(labels)] += value
            for labels, counts in snap["duration_counts"]:
                mine = total.duration.counts.setdefault(_labels(labels), [0] * len(counts))
                for i, count in enumerate(counts):
                    mine[i] += count
            for labels, value in snap["duration_sums"]:
                total.duration.sums[_labels(labels)] += value
            total.in_flight += snap["in_flight"]
            total.uploads_started += snap["uploads"]
            lifecycle = snap.get("lifecycle", {})
            for name, value in lifecycle.items():
                if not name.startswith("last_pass"):
                    total.lifecycle[name] += value
            # the last pass is the one that ended last, whichever worker ran it
            if lifecycle.get("last_pass_end", 0) > total.lifecycle.get("last_pass_end", 0):
                total.lifecycle["last_pass_end"] = lifecycle["last_pass_end"]
                total.lifecycle["last_pass_seconds"] = lifecycle.get("last_pass_seconds", 0)
        total.started_at = self.started_at
        return total

    # exposition ----------------------------------------------------------------------------

    def render(self) -> str:
        """The Prometheus text exposition of every worker's counts."""
        self.publish()
        metrics = self.combined() if self._share_dir is not None else self
        lines: list[str] = []
        family(lines, "post3_requests_total", "counter",
               "S3 requests answered, by operation and HTTP status.", metrics.requests.items())
        lines += [
            "# HELP post3_request_duration_seconds Time to answer an S3 request, by operation.",
            "# TYPE post3_request_duration_seconds histogram",
        ]
        for labels in sorted(metrics.duration.counts):
            cumulative = 0
            counts = metrics.duration.counts[labels]
            bounds = [*map(_number, metrics.duration.bounds), "+Inf"]
            for bound, count in zip(bounds, counts, strict=True):
                cumulative += count
                lines.append(sample("post3_request_duration_seconds_bucket",
                                    (*labels, ("le", bound)), cumulative))
            lines.append(sample("post3_request_duration_seconds_sum", labels,
                                metrics.duration.sums[labels]))
            lines.append(sample("post3_request_duration_seconds_count", labels, cumulative))
        family(lines, "post3_received_bytes_total", "counter",
               "Request body bytes received, by operation.", metrics.received_bytes.items())
        family(lines, "post3_sent_bytes_total", "counter",
               "Response body bytes sent, by operation.", metrics.sent_bytes.items())
        family(lines, "post3_requests_in_flight", "gauge",
               "S3 requests being answered now.", [((), metrics.in_flight)])
        family(lines, "post3_multipart_uploads_open", "gauge",
               "Multipart uploads created and not yet completed or aborted through this "
               "server since it started.",
               [((), max(0, metrics.uploads_started - metrics.uploads_finished))])
        expired = [((("kind", name.partition(":")[2]),), value)
                   for name, value in metrics.lifecycle.items() if name.startswith("expired:")]
        family(lines, "post3_lifecycle_expired_total", "counter",
               "Versions, delete markers and uploads lifecycle passes removed, by kind "
               "(current, noncurrent, delete_marker, upload).", expired)
        family(lines, "post3_lifecycle_freed_bytes_total", "counter",
               "Bytes lifecycle passes freed.",
               [((), metrics.lifecycle.get("bytes_freed", 0))])
        family(lines, "post3_lifecycle_passes_total", "counter",
               "Lifecycle passes run.", [((), metrics.lifecycle.get("passes", 0))])
        family(lines, "post3_lifecycle_last_pass_seconds", "gauge",
               "How long the last lifecycle pass took.",
               [((), metrics.lifecycle.get("last_pass_seconds", 0))])
        family(lines, "post3_start_time_seconds", "gauge",
               "When the server started, in seconds since the epoch.",
               [((), metrics.started_at)])
        return "\n".join(lines) + "\n"


def family(lines: list[str], name: str, kind: str, help_text: str,
           samples: Iterable[tuple[Labels, float]]) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    lines.extend(sample(name, labels, value) for labels, value in sorted(samples))


def sample(name: str, labels: Labels, value: float) -> str:
    if not labels:
        return f"{name} {_number(value)}"
    rendered = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
    return f"{name}{{{rendered}}} {_number(value)}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _labels(rows: list[list[str]]) -> Labels:
    return tuple((key, value) for key, value in rows)
