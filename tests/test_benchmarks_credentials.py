"""The credential benchmarks run: ``python -m benchmarks.subjects`` and ``python -m benchmarks.rotation``.

Only that they run and print their tables; the figures are the benchmarks' to show.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(module: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=170, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.timeout(180)
def test_subjects_benchmark_prints_rss_per_tenth() -> None:
    output = run("benchmarks.subjects", "--subjects", "20000", "--max-subjects", "1000")
    assert output.count("| ") >= 10
    assert "token exchanges: 20,000" in output


@pytest.mark.timeout(180)
def test_rotation_benchmark_prints_both_phases() -> None:
    output = run("benchmarks.rotation", "--quick")
    assert "| assertion file replaced every 1 s for 6 s |" in output
    assert "| secret file rotated and revoked every 1 s" in output
