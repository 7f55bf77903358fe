"""The benchmark matrix runs and writes every cell: a check that the tool works, never a speed.

``benchmarks/matrix.py --quick --tiny`` against the null servers and the memory backend only
(tiny objects, a 30-object bucket, 0.1 s per cell). post3 runs with authentication on, so a
cell also fails when the matrix's own SigV4 signing is wrong.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
