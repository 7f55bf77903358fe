"""The benchmark matrix runs and writes every cell: a check that the tool works, never a speed.

``benchmarks/matrix.py --quick --tiny`` against the null servers and the memory backend only
(tiny objects, a 30-object bucket, 0.1 s per cell). post3 runs with authentication on, so a
cell also fails when the matrix's own SigV4 signing is wrong. The PostgreSQL ceiling server
(``null-postgres``) is run in the matrix too, and checked to store what it serves.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = {"put_small", "get_small", "head", "delete", "put_medium", "get_medium",
             "put_large", "get_large", "multipart", "list_10_of_30"}


def test_quick_matrix_writes_every_cell(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "matrix.py"), "--quick", "--tiny",
         "--servers", "null,null-disk,memory", "--no-install", "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]

    report = json.loads((tmp_path / "matrix.json").read_text())
    assert report["servers"] == ["null", "null-disk", "post3-memory"]
    assert report["machine"]["cores"] >= 1 and report["machine"]["memory_gb"] > 0
    assert "post3" in report["versions"] and "aiohttp" in report["versions"]
    cells = {(c["workload"], c["server"]): c for c in report["cells"]}
    assert set(cells) == {(w, s) for w in WORKLOADS
                          for s in ("null", "null-disk", "post3-memory")}
    for (workload, server), cell in cells.items():
        assert cell["error"] is None, (workload, server, cell["error"])
        assert cell["value"] > 0 and cell["ops"] > 0, (workload, server)
        assert cell["client_cpu"] is not None and cell["server_cpu"] is not None
        assert cell["ratio_to_null"] is not None
    assert cells[("put_small", "null")]["ratio_to_null"] == 1.0

    table = (tmp_path / "matrix.md").read_text()
    assert "| workload | unit | null | null-disk | post3-memory |" in table
    assert "LIST, 10-key pages of a 30-object bucket" in table
    assert table in result.stdout  # printed as well as written


@pytest.mark.postgres
def test_quick_matrix_runs_null_postgres(tmp_path: Path, _fresh_postgres_database: str) -> None:
    """The PostgreSQL ceiling server stores and serves every object workload; LIST and
    multipart stay the null server's."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "matrix.py"), "--quick", "--tiny",
         "--servers", "null,null-postgres", "--no-install", "--output", str(tmp_path),
         "--dsn", _fresh_postgres_database],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]

    report = json.loads((tmp_path / "matrix.json").read_text())
    assert report["servers"] == ["null", "null-postgres"]
    cells = {(c["workload"], c["server"]): c for c in report["cells"]}
    assert set(cells) == {(w, s) for w in WORKLOADS for s in ("null", "null-postgres")}
    for (workload, server), cell in cells.items():
        assert cell["error"] is None, (workload, server, cell["error"])
        assert cell["value"] > 0 and cell["ops"] > 0, (workload, server)


@pytest.mark.postgres
def test_null_postgres_stores_what_it_serves(_fresh_postgres_database: str) -> None:
    """A ceiling that stored nothing would prove nothing: objects of one row and of several
    come back byte for byte, HEAD gives their size, a smaller PUT replaces a larger object's
    rows and DELETE removes them."""
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "null_server.py"), "--postgres",
         _fresh_postgres_database], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("null-postgres serving http://"), line
        base = line.split()[-1] + "/bucket/"

        def call(method: str, key: str, body: bytes | None = None) -> tuple[int, bytes, dict]:
            request = urllib.request.Request(base + key, data=body, method=method)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, response.read(), dict(response.headers)
            except urllib.error.HTTPError as error:
                return error.code, error.read(), dict(error.headers)

        small, large = os.urandom(4096), os.urandom(5 * 1024 * 1024 + 17)
        assert call("PUT", "small", small)[0] == 200
        status, _, headers = call("PUT", "large", large)
        assert status == 200 and headers["ETag"] == f'"{hashlib.md5(large).hexdigest()}"'
        assert call("GET", "small")[1] == small
        assert call("GET", "large")[1] == large
        assert call("HEAD", "large")[2]["Content-Length"] == str(len(large))
        assert call("PUT", "large", small)[0] == 200  # replaces all five rows
        assert call("GET", "large")[1] == small
        assert call("DELETE", "large")[0] == 204
        assert call("GET", "large")[0] == 404
        assert call("HEAD", "small")[2]["Content-Length"] == "4096"
    finally:
        server.terminate()
        server.wait(15)
