"""The benchmark runs: ``benchmarks/run.py --quick`` prints its table and writes its JSON.

Only that it runs; no figure is asserted (timings belong to the benchmark, not to tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(180)
def test_quick_benchmark_runs_and_prints_the_table(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=170, check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "| figure" in run.stdout
    assert "| pass/fail |" in run.stdout
    document = json.loads(results.read_text())
    figures = [row["figure"] for row in document["rows"]]
    assert any("herd" in figure for figure in figures)
    assert any("Fleet" in figure for figure in figures)
    assert all(row["result"] in {"pass", "FAIL", "info", "not run"} for row in document["rows"])
