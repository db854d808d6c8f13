"""Before/after of the wrapper's own cost: ``python benchmarks/compare.py [REV]``.

Measures, without a network and interleaved in one process, raw AsyncHTTPClient,
the tornado_alf of git revision REV (default HEAD) and the one in the working
tree: thread CPU nanoseconds per fetch, medians of paired repetitions. This is
the figure each hot-path commit message quotes.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._phases import FORMS, ns_per_call
from benchmarks._report import ROOT
from tornado_alf import TornadoClient


def load_revision(revision: str, into: Path) -> type:
    """``TornadoClient`` of ``revision``, imported as package ``tornado_alf_before`` from ``into``."""
    archive = subprocess.run(  # noqa: S603 - no shell; the revision is passed to git as one argument
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision, "tornado_alf"],  # noqa: S607 - git from PATH
        capture_output=True, check=True, timeout=30,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        # Our own repository's files; the "data" filter where this Python has it.
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, filter="data")
        else:
            tar.extractall(into)  # noqa: S202
    (into / "tornado_alf").rename(into / "tornado_alf_before")
    sys.path.insert(0, str(into))
    client_class: type = importlib.import_module("tornado_alf_before").TornadoClient
    return client_class


def main() -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/compare.py", description=__doc__)
    parser.add_argument("revision", nargs="?", default="HEAD")
    parser.add_argument("--repetitions", type=int, default=41)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alf-compare-") as workdir:
        before = load_revision(args.revision, Path(workdir))
        variants = {"raw": None, "before": before, "after": TornadoClient}
        print(f"thread CPU ns per call, medians of {args.repetitions} repetitions of {args.calls:,} calls; "
              f"before = {args.revision}, after = working tree")
        for as_request, form in FORMS:
            ns = ns_per_call(variants, as_request, args.repetitions, args.calls)
            median = {name: statistics.median(values) for name, values in ns.items()}

            def paired(a: str, b: str, ns: dict[str, list[float]] = ns) -> float:
                return statistics.median(x - y for x, y in zip(ns[a], ns[b]))

            print(f"{form:<20} raw {median['raw']:>7,.0f}   before {median['before']:>7,.0f} "
                  f"(raw {paired('before', 'raw'):+,.0f})   after {median['after']:>7,.0f} "
                  f"(raw {paired('after', 'raw'):+,.0f})   after - before {paired('after', 'before'):+,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
