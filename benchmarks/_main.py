"""The run: start the servers, measure, print the table, write the JSON."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable, Optional

from ._dpop import dpop_rows
from ._fleet import FleetSize, fleet_rows
from ._load import configure_http
from ._phases import FULL, QUICK, Sizes, no_network_rows, throughput_rows
from ._procs import auth_server
from ._report import FAIL, ROOT, Row, command_line, describe, machine, table
from ._scenarios import herd_rows, memory_rows, steady_rows, storm_rows
from ._transport import curl_rows, queue_rows

TOKEN_LATENCY = 0.05
PHASES = ["throughput", "curl", "queue", "no-network", "dpop", "herd", "steady", "memory", "storm", "fleet"]

NOTES = [
    "raw = Tornado's shared AsyncHTTPClient.fetch(url, headers={'Authorization': 'Bearer ...'}); "
    "tornado_alf = TornadoClient.fetch(url) with default options. raw A and raw B are the same code, "
    "measured twice in every repetition: the A/A control.",
    "Each repetition runs raw A, tornado_alf and raw B once, in an order that rotates between repetitions. "
    "Paired figures are medians over repetitions of (variant - raw A), or of raw A's time / the variant's "
    "time for throughput ratios.",
    "A/A spread = the 95 % bootstrap interval of the A/A median (raw B against raw A): where a median of "
    "no difference lands by chance in this run. A median inside it is not a finding.",
]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/run.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: small counts, under ~30 s")
    parser.add_argument("--json", type=Path, help="results file (default: benchmarks/results.json)")
    parser.add_argument("--only", type=lambda text: text.split(","), default=PHASES,
                        help=f"comma-separated phases to run, of: {','.join(PHASES)} (default: all)")
    parser.add_argument("--fleet-rounds", type=int, help="cold fleet rounds (default: 5, --quick 2)")
    parser.add_argument("--fleet-latency", type=float, default=TOKEN_LATENCY,
                        help=f"token endpoint latency for the fleet, seconds (default {TOKEN_LATENCY})")
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    sizes = QUICK if args.quick else FULL
    output = args.json or ROOT / "benchmarks" / ("results-quick.json" if args.quick else "results.json")
    info = machine()
    started = time.monotonic()
    configure_http(None)
    rows: list[Row] = []
    with auth_server(TOKEN_LATENCY) as server:
        phases: dict[str, Callable[[], list[Row]]] = {
            "throughput": lambda: throughput_rows(server, sizes),
            "curl": lambda: curl_rows(server, sizes),
            "queue": lambda: queue_rows(server, TOKEN_LATENCY),
            "no-network": lambda: no_network_rows(sizes),
            "dpop": lambda: dpop_rows(sizes),
            "herd": lambda: herd_rows(server, sizes),
            "steady": lambda: steady_rows(server, sizes),
            "memory": lambda: memory_rows(server, sizes),
            "storm": lambda: storm_rows(server, sizes),  # revokes every token issued so far: late
            "fleet": lambda: fleet_rows(fleet_size(sizes, args)),
        }
        for name in PHASES:
            if name in args.only:
                rows += phases[name]()
    seconds = time.monotonic() - started
    print(f"Machine: {describe(info)}")
    print(f"Command: {command_line()}  ({seconds:.0f} s)\n")
    print(table(rows))
    print()
    for note in NOTES:
        print(f"- {note}")
    document = {
        "command": command_line(), "quick": args.quick, "machine": info, "seconds": seconds,
        "notes": NOTES,
        "rows": [row.__dict__ for row in rows],
        "missed": [row.figure for row in rows if row.result == FAIL],
    }
    output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nWrote {output}")
    return 0


def fleet_size(sizes: Sizes, args: argparse.Namespace) -> FleetSize:
    rounds = args.fleet_rounds or sizes.fleet_rounds
    return FleetSize(sizes.fleet_processes, sizes.fleet_cold, sizes.fleet_warm, rounds, args.fleet_latency)
