"""Figures, targets and verdicts: the table the run prints and the JSON it writes."""

from __future__ import annotations

import dataclasses
import os
import platform
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
    def spread(self) -> float:
        """The A/A spread: the largest distance of a control repetition from "no difference"."""
        return max(abs(value - self.neutral) for value in self.control)

    def within_noise(self) -> bool:
        return abs(self.median - self.neutral) <= self.spread

    def as_data(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "repetitions": list(self.values),
            "aa_median": self.control_median,
            "aa_repetitions": list(self.control),
            "aa_spread": self.spread,
            "within_aa_spread": self.within_noise(),
        }


def verdict(ok: bool) -> str:
    return PASS if ok else FAIL


def noise_note(paired: Paired, fmt: str) -> str:
    """How the median compares with the A/A control, for the value column."""
    spread = format(paired.spread, fmt)
    if paired.within_noise():
        return f"A/A spread {spread}: not a finding, within noise"
    return f"A/A spread {spread}"


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
