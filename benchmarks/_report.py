"""Figures, targets and verdicts: the table the run prints and the JSON it writes."""

from __future__ import annotations

import dataclasses
import os
import platform
import random
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tornado

ROOT = Path(__file__).resolve().parent.parent

PASS, FAIL, INFO, NOT_RUN = "pass", "FAIL", "info", "not run"


@dataclasses.dataclass
class Row:
    figure: str
    value: str
    target: str
    result: str
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Paired:
    """One figure per repetition for a variant and for the A/A control."""

    values: Sequence[float]   # the variant against raw A, one per repetition
    control: Sequence[float]  # raw B against raw A, one per repetition
    neutral: float            # what "no difference" reads as: 0 for differences, 1 for ratios

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def control_median(self) -> float:
        return statistics.median(self.control)

    @property
    def spread(self) -> tuple[float, float]:
        """The A/A spread: where the median of the control lands 95 % of the time (bootstrap)."""
        return _bootstrap_interval(self.control)

    def within_noise(self) -> bool:
        """Whether the variant's median lies inside the A/A spread: then it is not a finding."""
        low, high = self.spread
        return low <= self.median <= high

    def as_data(self) -> dict[str, Any]:
        first, _, third = statistics.quantiles(self.control, n=4, method="inclusive")
        return {
            "median": self.median,
            "repetitions": list(self.values),
            "aa_median": self.control_median,
            "aa_repetitions": list(self.control),
            "aa_spread_95": list(self.spread),
            "aa_repetitions_q1_q3": [first, third],
            "within_aa_spread": self.within_noise(),
        }


def _bootstrap_interval(values: Sequence[float], resamples: int = 1000) -> tuple[float, float]:
    """2.5th and 97.5th percentiles of the median of ``values`` resampled with replacement."""
    rng = random.Random(5)  # noqa: S311 - statistics, not secrets; a fixed seed so the same data reads the same
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def verdict(ok: bool) -> str:
    return PASS if ok else FAIL


def noise_note(paired: Paired, fmt: str) -> str:
    """The A/A control beside a median, for the value column."""
    first, third = (format(value, fmt) for value in paired.spread)
    note = f"A/A median {format(paired.control_median, fmt)}, spread {first} .. {third}"
    return note + (": within it, not a finding" if paired.within_noise() else "")


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "tornado": tornado.version,
        "platform": platform.platform(),
        "commit": _commit(),
    }


def _commit() -> str:
    try:
        head = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],  # noqa: S607 - git from PATH
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head


def table(rows: Sequence[Row]) -> str:
    header = ("figure", "value", "target", "pass/fail")
    lines = [header] + [(row.figure, row.value, row.target, row.result) for row in rows]
    widths = [max(len(line[column]) for line in lines) for column in range(4)]
    out = []
    for index, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths)) + " |")
        if index == 0:
            out.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(out)


def describe(info: dict[str, Any]) -> str:
    return (
        f"{info['nproc']} x {info['cpu']}, Python {info['python']}, Tornado {info['tornado']}, "
        f"tornado_alf {info['commit']}"
    )


def command_line() -> str:
    return " ".join(["python", "benchmarks/run.py", *sys.argv[1:]])
