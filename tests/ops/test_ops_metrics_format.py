"""The Prometheus exposition written by post3.ops.metrics, read back line by line."""

from __future__ import annotations

import json

from post3.ops.metrics import Metrics


def samples(text: str) -> dict[str, str]:
    return {line.rpartition(" ")[0]: line.rpartition(" ")[2]
            for line in text.splitlines() if line and not line.startswith("#")}


def test_histogram_buckets_are_cumulative_and_bounds_inclusive() -> None:
    metrics = Metrics(duration_buckets=(0.1, 1.0))
    for seconds in (0.05, 0.1, 0.5, 3.0):
        metrics.observe("GetObject", 200, seconds, 0, 10)
    got = samples(metrics.render())
    bucket = 'post3_request_duration_seconds_bucket{operation="GetObject",le="%s"}'
    assert [got[bucket % le] for le in ("0.1", "1", "+Inf")] == ["2", "3", "4"]
    assert got['post3_request_duration_seconds_count{operation="GetObject"}'] == "4"
    assert float(got['post3_request_duration_seconds_sum{operation="GetObject"}']) == 3.65
    assert got['post3_sent_bytes_total{operation="GetObject"}'] == "40"


def test_every_family_is_declared_once_before_its_samples() -> None:
    metrics = Metrics()
    metrics.observe("PutObject", 200, 0.01, 5, 0)
    lines = metrics.render().splitlines()
    declared: list[str] = []
    for line in lines:
        if line.startswith("# TYPE "):
            declared.append(line.split()[2])
        elif not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0]
            family = next(f for f in declared if name == f or name.startswith(f + "_"))
            assert family == declared[-1], f"{name} outside its family block"
    assert len(declared) == len(set(declared))


def test_label_values_are_escaped() -> None:
    metrics = Metrics()
    metrics.observe('odd"op\\\n', 200, 0.0, 0, 0)
    assert 'operation="odd\\"op\\\\\\n"' in metrics.render()


def test_shared_snapshots_of_other_workers_are_added(tmp_path) -> None:
    other = Metrics()
    other.observe("PutObject", 200, 0.2, 100, 0)
    other.uploads_started = 2
    (tmp_path / "worker-999999.json").write_text(json.dumps(other.snapshot()))
    mine = Metrics()
    mine.share(tmp_path)
    mine.observe("PutObject", 200, 0.3, 50, 0)
    got = samples(mine.render())
    assert got['post3_requests_total{operation="PutObject",status="200"}'] == "2"
    assert got['post3_received_bytes_total{operation="PutObject"}'] == "150"
    assert got["post3_multipart_uploads_open"] == "2"
